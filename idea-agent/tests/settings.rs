//! AUX-03: the owner's settings file, and each refusal naming the key at fault.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use idea_agent::{Error, OwnerSettings};
use idea_proto::{ServiceId, Side, Subject};

fn refusal(edit: impl Fn(String) -> String) -> (String, String) {
    match OwnerSettings::from_toml(&edit(common::PROSUMER.to_owned())) {
        Err(Error::Settings { field, reason }) => (field, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_shipped_settings_read_as_written() {
    let s = OwnerSettings::from_toml(common::PROSUMER).unwrap();
    assert_eq!(s.cell.id.as_str(), "cell-1");
    assert_eq!(s.settlement_period_s, 900);
    assert!(s.profile().trades(Subject::Energy, Side::Seller));
    assert!(!s.profile().trades(Subject::Flexibility, Side::Buyer));
    assert_eq!(s.prices.limit(Subject::Energy, Side::Buyer), Some(30));
    assert_eq!(s.prices.limit(Subject::Power, Side::Seller), None);
    assert_eq!(s.priority(&ServiceId::new("load-shedding").unwrap()), 0);
    assert_eq!(s.priority(&ServiceId::new("p2p-market").unwrap()), 2);
    assert_eq!(s.priority(&ServiceId::new("unlisted").unwrap()), 3);
    assert_eq!(s.comfort(&"heat-pump".parse().unwrap()).unwrap().min_w, 500);
}

#[test]
fn each_broken_rule_names_its_key() {
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "participation = \"active\"",
            "participation = \"eco\"",
            "participation",
            "no profile \"eco\"",
        ),
        (
            "buy = [\"energy\"]",
            "buy = [\"flexibility\"]",
            "profiles.active.buy",
            "may not be the buyer of flexibility",
        ),
        (
            "energy = 30",
            "energy = -1",
            "prices.buy_max.energy",
            "negative",
        ),
        (
            "\"p2p-market\"]\ncurrency",
            "\"p2p-market\", \"load-shedding\"]\ncurrency",
            "priorities[3]",
            "listed twice",
        ),
        (
            "unit = \"heat-pump\"",
            "unit = \"house\"",
            "comfort[0].unit",
            "not a controllable load",
        ),
        ("max_w = 3000", "max_w = 3500", "comfort[0]", "rated 3000 W"),
        (
            "settlement_period_s = 900",
            "settlement_period_s = 1800",
            "settlement_period_s",
            "TE-06",
        ),
    ];
    for (from, to, field, reason) in cases {
        assert!(common::PROSUMER.contains(from), "{from}");
        let (f, r) = refusal(|s| s.replacen(from, to, 1));
        assert_eq!(f, field, "{to}: {r}");
        assert!(r.contains(reason), "{to}: {r}");
    }
    // Unknown keys and bad TOML name their line.
    let (f, r) = refusal(|s| s.replace("settlement_period_s = 900", "settlement_period = 900"));
    assert_eq!(f, "line 2", "{r}");
    assert!(r.contains("unknown field"), "{r}");
    // The cell is validated as idea-proto validates it: the declared type must fit its units (Table 1).
    let (_, r) = refusal(|s| {
        s.replace(
            "cell_type = \"prosumer\"",
            "cell_type = \"passive-consumer\"",
        )
    });
    assert!(r.contains("Table 1") || r.contains("type"), "{r}");
}
