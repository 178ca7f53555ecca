//! Properties of the DER event scheduler over random programs, events, cancellations and opt-outs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

use ieee2030_5::primitives::{HexBinary, Mrid};
use ieee2030_5::resources::{
    DERControl, DERControlBase, DERProgram, DateTimeInterval, EventStatus,
};
use ieee2030_5::scheduler::{DerMode, ModeSet, Scheduler, SchedulerConfig};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Spec {
    program: u8,
    created: i64,
    start: i64,
    duration: u32,
    randomize_start: i16,
    randomize_duration: i16,
    /// Bit 0: opModMaxLimW, bit 1: opModFixedW, bit 2: opModTargetW.
    modes: u8,
}

#[derive(Debug, Clone)]
enum Action {
    /// Cancel event `n` (with randomisation if the flag is set) at time `t`.
    Cancel(usize, bool, i64),
    /// Opt out of (true) or back in to (false) event `n` at time `t`.
    Opt(usize, bool, i64),
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..3,
        0i64..100,
        100i64..2000,
        1u32..900,
        -300i16..300,
        -300i16..300,
        1u8..8,
    )
        .prop_map(
            |(program, created, start, duration, randomize_start, randomize_duration, modes)| {
                Spec {
                    program,
                    created,
                    start,
                    duration,
                    randomize_start,
                    randomize_duration,
                    modes,
                }
            },
        )
}

fn control(n: usize, spec: &Spec, status: u8) -> DERControl {
    let base = DERControlBase {
        op_mod_max_lim_w: (spec.modes & 1 != 0).then_some(10),
        op_mod_fixed_w: (spec.modes & 2 != 0).then_some(20),
        op_mod_target_w: (spec.modes & 4 != 0).then(Default::default),
        ..Default::default()
    };
    DERControl {
        mrid: Mrid::from([n as u8; 16]),
        creation_time: spec.created,
        interval: DateTimeInterval {
            start: spec.start,
            duration: spec.duration,
            ..Default::default()
        },
        event_status: EventStatus {
            current_status: status,
            ..Default::default()
        },
        randomize_start: Some(spec.randomize_start),
        randomize_duration: Some(spec.randomize_duration),
        der_control_base: base,
        response_required: Some(HexBinary([0x07])),
        ..Default::default()
    }
}

const PRIMACY: [u8; 3] = [1, 1, 2];

/// Runs a scenario; `step` says whether to call `handle_timeout` at every timeout in between inputs.
fn run(specs: &[Spec], actions: &[Action], seed: u64, step: bool) -> Vec<(u8, u8, i64)> {
    let mut scheduler = Scheduler::new(SchedulerConfig {
        lfdi: HexBinary([1; 20]),
        device_category: None,
        supported: ModeSet::all(),
        seed,
    });
    let mut statuses = vec![0u8; specs.len()];
    let publish = |scheduler: &mut Scheduler, statuses: &[u8], t: i64| {
        for program in 0..3u8 {
            let controls: Vec<DERControl> = specs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.program == program)
                .map(|(n, s)| control(n, s, statuses[n]))
                .collect();
            let p = DERProgram {
                mrid: Mrid::from([100 + program; 16]),
                primacy: PRIMACY[usize::from(program)],
                ..Default::default()
            };
            scheduler.update_program("s", &p, &controls, None, t);
        }
    };
    let advance = |scheduler: &mut Scheduler, until: i64| {
        if step {
            while let Some(t) = scheduler.poll_timeout().filter(|t| *t <= until) {
                scheduler.handle_timeout(t);
            }
        }
    };
    publish(&mut scheduler, &statuses, 0);
    let mut actions = actions.to_vec();
    actions.sort_by_key(|a| match a {
        Action::Cancel(_, _, t) | Action::Opt(_, _, t) => *t,
    });
    for a in &actions {
        match *a {
            Action::Cancel(n, randomized, t) => {
                advance(&mut scheduler, t);
                statuses[n] = if randomized { 3 } else { 2 };
                publish(&mut scheduler, &statuses, t);
            }
            Action::Opt(n, out, t) => {
                advance(&mut scheduler, t);
                let mrid = Mrid::from([n as u8; 16]);
                if out {
                    scheduler.opt_out(&mrid, t);
                } else {
                    scheduler.opt_in(&mrid, t);
                }
            }
        }
    }
    advance(&mut scheduler, 10_000);
    scheduler.handle_timeout(10_000);
    assert_eq!(scheduler.poll_timeout(), None, "everything is over by then");
    for mode in [DerMode::MaxLimW, DerMode::FixedW, DerMode::TargetW] {
        assert!(scheduler.active().source(mode).is_none());
    }
    std::iter::from_fn(|| scheduler.poll_response())
        .map(|r| {
            (
                r.response.subject.0[0],
                r.response.status.unwrap(),
                r.response.created_date_time.unwrap(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn late_timeouts_give_the_same_responses_as_stepping(
        specs in prop::collection::vec(spec(), 1..7),
        raw_actions in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<bool>(), 0i64..3000), 0..4),
        seed in any::<u64>(),
    ) {
        let actions: Vec<Action> = raw_actions
            .into_iter()
            .map(|(i, cancel, flag, t)| {
                let n = i.index(specs.len());
                if cancel { Action::Cancel(n, flag, t) } else { Action::Opt(n, flag, t) }
            })
            .collect();
        let stepped = run(&specs, &actions, seed, true);
        let late = run(&specs, &actions, seed, false);
        prop_assert_eq!(&stepped, &late);

        // Per event: Received first, each status at most once, a start before any completion, at most one
        // final status, and times that never go back.
        let mut by_event: BTreeMap<u8, Vec<(u8, i64)>> = BTreeMap::new();
        for (n, status, t) in &stepped {
            by_event.entry(*n).or_default().push((*status, *t));
        }
        prop_assert!(stepped.windows(2).all(|w| w[0].2 <= w[1].2), "times in order: {:?}", stepped);
        for (n, responses) in by_event {
            let statuses: Vec<u8> = responses.iter().map(|r| r.0).collect();
            prop_assert_eq!(statuses[0], 1, "event {} {:?}", n, statuses);
            // The user may change their mind: opted out (4) and opted in (5) may recur, each change
            // reported once (never the same choice twice in a row); every other status at most once.
            let mut seen: Vec<u8> = statuses.iter().copied().filter(|s| ![4, 5].contains(s)).collect();
            let others = seen.len();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), others, "a status twice: {:?}", statuses);
            let choices: Vec<u8> = statuses.iter().copied().filter(|s| [4, 5].contains(s)).collect();
            prop_assert!(choices.windows(2).all(|w| w[0] != w[1]), "a choice reported twice: {:?}", statuses);
            let finals = statuses.iter().filter(|s| [3, 6, 7, 8, 9, 10, 13, 14].contains(*s)).count();
            // 13/14 may precede a resumption and a later completion.
            let hard_finals = statuses.iter().filter(|s| [3, 6, 7, 8, 9, 10].contains(*s)).count();
            prop_assert!(hard_finals <= 1 && finals <= 2, "{:?}", statuses);
            for completed in [3u8, 8, 9] {
                if let Some(at) = statuses.iter().position(|s| *s == completed) {
                    let started = statuses.iter().position(|s| *s == 2);
                    prop_assert!(started.is_some_and(|s| s < at), "{:?}", statuses);
                }
            }
            let spec = &specs[usize::from(n)];
            if let Some(&(_, t)) = responses.iter().find(|r| r.0 == 2) {
                let lo = spec.start + i64::from(spec.randomize_start.min(0));
                prop_assert!(t >= lo, "started at {} before {}", t, lo);
            }
        }
    }
}
