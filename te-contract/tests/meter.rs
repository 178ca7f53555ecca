//! Meter readings to delivery tokens: validation, interpolation of gaps up to 2 hours (marked estimated),
//! longer gaps left open.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, later};
use idea_proto::Duration;
use te_contract::meter::{DeliveryToken, MeterConfig, MeterReading, MeterSeries};
use te_contract::{Error, Signed};

const CONFIG: MeterConfig = MeterConfig {
    max_power_w: 10_000,
    reading_interval: Duration::from_mins(15),
    period_s: 900,
};

struct Meter {
    w: World,
    series: MeterSeries,
    sequence: u64,
}

impl Meter {
    fn new() -> Meter {
        let w = World::new("idea-test", 2);
        let series = MeterSeries::new(w.deployment.clone(), w.ids[0], CONFIG).unwrap();
        Meter {
            w,
            series,
            sequence: 0,
        }
    }

    fn reading(&mut self, minutes: u64, import_wh: i64, export_wh: i64) -> Signed<MeterReading> {
        self.sequence += 1;
        let mut r = Signed::new(
            self.w.deployment.clone(),
            MeterReading {
                meter: self.w.ids[0],
                sequence: self.sequence,
                at: later(minutes),
                import_wh,
                export_wh,
            },
        );
        r.sign(self.w.ids[0], 0, &self.w.keys[0]).unwrap();
        r
    }

    fn read(
        &mut self,
        minutes: u64,
        import_wh: i64,
        export_wh: i64,
    ) -> te_contract::Result<Vec<DeliveryToken>> {
        let r = self.reading(minutes, import_wh, export_wh);
        self.series.accept(&r, &self.w.registry, later(minutes))
    }
}

/// (start minute, import, export, estimated) of tokens.
fn summary(tokens: &[DeliveryToken]) -> Vec<(i64, i64, i64, bool)> {
    tokens
        .iter()
        .map(|t| {
            (
                (t.start.unix_ms() - later(0).unix_ms()) / 60_000,
                t.import_wh,
                t.export_wh,
                t.estimated,
            )
        })
        .collect()
}

#[test]
fn readings_at_every_boundary_make_measured_tokens() {
    let mut m = Meter::new();
    assert!(m.read(0, 1_000, 50).unwrap().is_empty());
    assert_eq!(
        summary(&m.read(15, 1_400, 50).unwrap()),
        [(0, 400, 0, false)]
    );
    assert_eq!(
        summary(&m.read(30, 1_400, 300).unwrap()),
        [(15, 0, 250, false)]
    );
    // Readings between boundaries: the boundary is on the straight line between the readings around it,
    // measured since they are within the reading interval.
    assert!(m.read(40, 1_500, 300).unwrap().is_empty());
    assert_eq!(
        summary(&m.read(50, 1_600, 300).unwrap()),
        [(30, 150, 0, false)]
    );
}

#[test]
fn a_missing_reading_is_interpolated_and_marked_estimated() {
    let mut m = Meter::new();
    m.read(0, 0, 0).unwrap();
    m.read(15, 100, 0).unwrap();
    // 15..75 min missing; 75 brings 700 more Wh: 175 per quarter hour on the line.
    let tokens = m.read(75, 800, 0).unwrap();
    assert_eq!(
        summary(&tokens),
        [
            (15, 175, 0, true),
            (30, 175, 0, true),
            (45, 175, 0, true),
            (60, 175, 0, true)
        ]
    );
    // Ids are one per meter and interval.
    let mut ids: Vec<_> = tokens.iter().map(|t| t.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[test]
fn a_gap_of_two_hours_is_filled_and_a_longer_one_left_open() {
    let mut m = Meter::new();
    m.read(0, 0, 0).unwrap();
    let tokens = m.read(120, 8_000, 0).unwrap();
    assert_eq!(tokens.len(), 8);
    assert!(tokens.iter().all(|t| t.estimated && t.import_wh == 1_000));
    let tokens = m.read(255, 9_000, 0).unwrap();
    assert!(
        tokens.is_empty(),
        "135 min: no interval between 120 and 255 is settled"
    );
    assert_eq!(m.series.next_interval(), Some(later(255)));
    let tokens = m.read(270, 9_300, 0).unwrap();
    assert_eq!(summary(&tokens), [(255, 300, 0, false)]);
}

#[test]
fn bad_readings_are_refused() {
    let mut m = Meter::new();
    m.read(0, 1_000, 0).unwrap();
    m.read(15, 1_500, 0).unwrap();
    assert!(
        m.read(30, 1_400, 0)
            .unwrap_err()
            .to_string()
            .contains("went down")
    );
    assert!(m.read(15, 1_600, 0).is_err(), "not after the last");
    // 10 kW for 15 minutes is 2,500 Wh at most.
    assert!(
        m.read(30, 1_500 + 2_600, 0)
            .unwrap_err()
            .to_string()
            .contains("10000 W")
    );
    m.read(30, 1_500 + 2_500, 0).unwrap();
    // A replayed reading (same sequence number) is a duplicate, even re-signed at a later time.
    let replay = m.reading(45, 4_100, 0);
    m.series.accept(&replay, &m.w.registry, later(45)).unwrap();
    assert!(matches!(
        m.series.accept(&replay, &m.w.registry, later(46)),
        Err(Error::Duplicate {
            what: "meter reading",
            ..
        })
    ));
    // Another avatar's signature, or another meter's reading.
    let mut forged = Signed::new(
        m.w.deployment.clone(),
        m.reading(60, 4_200, 0).body().clone(),
    );
    forged.sign(m.w.ids[0], 0, &m.w.keys[1]).unwrap();
    assert!(matches!(
        m.series.accept(&forged, &m.w.registry, later(60)),
        Err(Error::BadSignature { .. })
    ));
    let mut other = Signed::new(
        m.w.deployment.clone(),
        MeterReading {
            meter: m.w.ids[1],
            ..m.reading(60, 4_200, 0).body().clone()
        },
    );
    other.sign(m.w.ids[1], 0, &m.w.keys[1]).unwrap();
    assert!(m.series.accept(&other, &m.w.registry, later(60)).is_err());
}
