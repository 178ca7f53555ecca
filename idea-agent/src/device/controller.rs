//! The connection controller: local automation that holds the cell's net export at the agent's setpoint with
//! the cell's storage (an energy hub's battery), by integral control on the connection meter's power.

use idea_proto::{SetpointCommand, Timestamp};
use std::collections::BTreeMap;

/// The most setpoints kept ahead (older ones are dropped as they lapse).
pub const MAX_SETPOINTS: usize = 1024;
/// The fraction of the error corrected per control step.
pub const CONTROL_GAIN: f64 = 0.25;

/// Holds the connection at the setpoint in force.
#[derive(Debug, Clone)]
pub struct ConnectionController {
    /// Setpoints by the instant they take effect: (until, net export W).
    setpoints: BTreeMap<Timestamp, (Timestamp, f64)>,
    /// The storage power asked for now, W (positive discharges).
    storage_w: f64,
    max_charge_w: f64,
    max_discharge_w: f64,
}

impl ConnectionController {
    /// A controller over storage that charges at most `max_charge_w` and discharges at most
    /// `max_discharge_w`.
    pub fn new(max_charge_w: f64, max_discharge_w: f64) -> ConnectionController {
        ConnectionController {
            setpoints: BTreeMap::new(),
            storage_w: 0.0,
            max_charge_w: max_charge_w.max(0.0),
            max_discharge_w: max_discharge_w.max(0.0),
        }
    }

    /// Takes a setpoint; a later one for the same start replaces it.
    pub fn command(&mut self, c: &SetpointCommand) {
        if self.setpoints.len() >= MAX_SETPOINTS
            && !self.setpoints.contains_key(&c.from)
            && let Some(first) = self.setpoints.keys().next().copied()
        {
            self.setpoints.remove(&first);
        }
        // Whole watts fit an f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        let w = c.setpoint.active.w() as f64;
        self.setpoints.insert(c.from, (c.until, w));
    }

    /// The net export asked for at `now`, W: the latest setpoint that has started and not lapsed.
    pub fn target(&self, now: Timestamp) -> Option<f64> {
        self.setpoints
            .range(..=now)
            .next_back()
            .filter(|(_, (until, _))| *until > now)
            .map(|(_, (_, w))| *w)
    }

    /// Drops the setpoints that lapsed by `now`.
    pub fn lapse(&mut self, now: Timestamp) {
        while let Some((&from, &(until, _))) = self.setpoints.iter().next() {
            if until <= now {
                self.setpoints.remove(&from);
            } else {
                break;
            }
        }
    }

    /// One control step at `now` with the connection meter's power `import_w` (positive into the cell):
    /// the storage power to ask for, W (positive discharges). Without a setpoint in force the storage is left
    /// at rest.
    pub fn update(&mut self, now: Timestamp, import_w: f64) -> f64 {
        self.lapse(now);
        self.storage_w = match self.target(now) {
            Some(export_w) if import_w.is_finite() => {
                let error = export_w + import_w;
                (self.storage_w + CONTROL_GAIN * error)
                    .clamp(-self.max_charge_w, self.max_discharge_w)
            }
            Some(_) => self.storage_w,
            None => 0.0,
        };
        self.storage_w
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::float_cmp,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use idea_proto::{
        ActivePower, CellId, CommandKind, PowerLevel, ReactivePower, SetpointCommandFields,
        TransactionId,
    };

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn setpoint(from: &str, until: &str, w: i64) -> SetpointCommand {
        SetpointCommand::new(SetpointCommandFields {
            transaction_id: TransactionId::from_bytes([1; 16]),
            cell: CellId::new("cell-1").unwrap(),
            kind: CommandKind::Start,
            setpoint: PowerLevel::new(ActivePower::from_w(w), ReactivePower::from_var(0)),
            from: t(from),
            until: t(until),
        })
        .unwrap()
    }

    #[test]
    fn the_storage_brings_the_connection_to_the_setpoint_and_rests_after_it() {
        let mut c = ConnectionController::new(5000.0, 5000.0);
        c.command(&setpoint(
            "2026-12-02T12:00:00Z",
            "2026-12-02T12:15:00Z",
            2000,
        ));
        assert_eq!(c.update(t("2026-12-02T11:59:59Z"), 800.0), 0.0, "not yet");
        // A cell importing 800 W of load: the storage must give 2.8 kW for a 2 kW export.
        let mut storage = 0.0;
        let mut now = t("2026-12-02T12:00:00Z");
        for _ in 0..30 {
            storage = c.update(now, 800.0 - storage);
            now = now.checked_add(idea_proto::Duration::from_secs(2)).unwrap();
        }
        assert!((storage - 2800.0).abs() < 1.0, "{storage}");
        assert_eq!(c.update(t("2026-12-02T12:15:00Z"), 0.0), 0.0, "lapsed");
    }

    #[test]
    fn the_storage_never_goes_beyond_its_limits() {
        let mut c = ConnectionController::new(1000.0, 3000.0);
        c.command(&setpoint(
            "2026-12-02T12:00:00Z",
            "2026-12-02T12:15:00Z",
            9000,
        ));
        let now = t("2026-12-02T12:01:00Z");
        let mut w = 0.0;
        for _ in 0..50 {
            w = c.update(now, 0.0);
        }
        assert_eq!(w, 3000.0);
        c.command(&setpoint(
            "2026-12-02T12:01:00Z",
            "2026-12-02T12:15:00Z",
            -9000,
        ));
        for _ in 0..50 {
            w = c.update(now, 0.0);
        }
        assert_eq!(w, -1000.0);
        assert_eq!(
            c.target(now),
            Some(-9000.0),
            "the later setpoint replaced the first"
        );
    }
}
