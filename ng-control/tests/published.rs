//! Power flow against the published results of the IEEE 33-bus (Baran & Wu) and 69-bus feeders, both methods,
//! and the errors a malformed or unsolvable case gives.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use ng_control::powerflow::{Method, Options, solve};
use ng_control::{Case, Error};
use std::path::PathBuf;

fn case(name: &str) -> Case {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/cases")
        .join(format!("{name}.m"));
    Case::from_matpower(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn with(method: Method) -> Options {
    Options {
        method,
        ..Options::default()
    }
}

#[test]
fn ieee_33_bus_losses_and_minimum_voltage() {
    let case = case("case33bw");
    for method in [Method::Sweep, Method::NewtonRaphson] {
        let r = solve(&case, &with(method)).unwrap();
        assert_eq!(r.method, method);
        // Published: 202.67 kW of losses, 0.9131 p.u. at bus 18.
        assert!(
            (r.losses_mw * 1000.0 - 202.677).abs() < 0.01,
            "{method:?}: {} kW",
            r.losses_mw * 1000.0
        );
        let min = r.min_voltage().unwrap();
        assert_eq!(min.bus, 18);
        assert!((min.vm_pu - 0.913_09).abs() < 1e-5, "{}", min.vm_pu);
        // The slack supplies the load plus the losses.
        let load: f64 = case.buses.iter().map(|b| b.pd_mw).sum();
        assert!((r.slack_p_mw - load - r.losses_mw).abs() < 1e-9);
        // The five tie switches stay open.
        assert_eq!(
            r.branches
                .iter()
                .filter(|b| !b.in_service && b.p_from_mw == 0.0)
                .count(),
            5
        );
    }
}

#[test]
fn ieee_69_bus_losses_and_minimum_voltage() {
    let r = solve(&case("case69"), &Options::default()).unwrap();
    assert_eq!(r.method, Method::Sweep);
    assert!(
        (r.losses_mw * 1000.0 - 224.99).abs() < 0.01,
        "{} kW",
        r.losses_mw * 1000.0
    );
    let min = r.min_voltage().unwrap();
    assert_eq!(min.bus, 65);
    assert!((min.vm_pu - 0.909_19).abs() < 1e-5, "{}", min.vm_pu);
}

#[test]
fn sweep_and_newton_agree_on_a_large_feeder() {
    let case = ng_control::synthetic::radial_feeder(400, 11);
    let a = solve(&case, &with(Method::Sweep)).unwrap();
    let b = solve(&case, &with(Method::NewtonRaphson)).unwrap();
    for (x, y) in a.buses.iter().zip(&b.buses) {
        assert!((x.vm_pu - y.vm_pu).abs() < 1e-8, "bus {}", x.bus);
        assert!((x.va_deg - y.va_deg).abs() < 1e-6, "bus {}", x.bus);
    }
    assert!((a.losses_mw - b.losses_mw).abs() < 1e-8);
    assert!(
        b.iterations <= 6,
        "Newton converges quadratically: {} iterations",
        b.iterations
    );
}

#[test]
fn closing_the_tie_switches_makes_a_mesh_for_newton() {
    let mut case = case("case33bw");
    case.branches.iter_mut().for_each(|b| b.in_service = true);
    let err = solve(&case, &with(Method::Sweep)).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    let r = solve(&case, &Options::default()).unwrap();
    assert_eq!(r.method, Method::NewtonRaphson);
    let radial = solve(&self::case("case33bw"), &Options::default()).unwrap();
    assert!(
        r.losses_mw < radial.losses_mw,
        "meshing lowers losses: {} vs {}",
        r.losses_mw,
        radial.losses_mw
    );
}

#[test]
fn unsolvable_cases_are_clear_errors() {
    let mut no_slack = case("case33bw");
    no_slack.buses[0].bus_type = ng_control::BusType::Pq;
    assert_eq!(
        solve(&no_slack, &Options::default()).unwrap_err(),
        Error::NoSlack
    );

    let mut island = case("case33bw");
    island.branches[17].in_service = false; // 2–19: buses 19–22 lose their supply
    assert_eq!(
        solve(&island, &Options::default()).unwrap_err(),
        Error::Island(vec![19, 20, 21, 22])
    );

    let mut overloaded = case("case33bw");
    overloaded.buses.iter_mut().for_each(|b| b.pd_mw *= 40.0);
    for method in [Method::Sweep, Method::NewtonRaphson] {
        let err = solve(
            &overloaded,
            &Options {
                method,
                max_iterations: 30,
                ..Options::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::NotConverged { .. } | Error::Singular { .. }),
            "{method:?}: {err}"
        );
    }

    let mut two_slacks = case("case33bw");
    two_slacks.buses[5].bus_type = ng_control::BusType::Reference;
    assert_eq!(
        solve(&two_slacks, &Options::default()).unwrap_err(),
        Error::SeveralSlacks(vec![1, 6])
    );
}

#[test]
fn the_original_case69_with_unit_conversion_code_is_refused() {
    let text = "mpc.baseMVA = 10;\nmpc.bus = [1 3 0 0 0 0 1 1 0 12.66 1 1 1];\nmpc.branch = [];\n\
                Vbase = mpc.bus(1, BASE_KV) * 1e3;\n";
    let err = Case::from_matpower(text).unwrap_err();
    assert!(matches!(err, Error::CaseSyntax { line: 4, .. }), "{err}");
}
