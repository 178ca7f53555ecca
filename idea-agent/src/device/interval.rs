//! The agent's own measurement of each commanded interval (UC-08): the connection meter's cumulative import
//! and export registers, read now and then, give the energy of each interval a setpoint covered —
//! interpolated linearly at the interval's boundaries between the readings around them.

use idea_proto::{
    ActivePower, CellId, Duration, Energy, MeasurementReport, MeasurementReportFields, MeterId,
    PowerLevel, ReactivePower, SetpointCommand, Timestamp, TransactionId,
};

/// The most intervals waiting for their end.
pub const MAX_OPEN_INTERVALS: usize = 4096;

#[derive(Debug, Clone)]
struct Open {
    transaction: TransactionId,
    from: Timestamp,
    until: Timestamp,
    /// Net export (export − import) counted at `from`, Wh.
    start: Option<f64>,
}

/// Turns cumulative readings into measurement reports for the commanded intervals.
#[derive(Debug, Clone)]
pub struct IntervalMeter {
    cell: CellId,
    meter: MeterId,
    last: Option<(Timestamp, f64)>,
    open: Vec<Open>,
}

fn at(ts: Timestamp) -> f64 {
    // Milliseconds since 1970 fit an f64 exactly far beyond 9999.
    #[allow(clippy::cast_precision_loss)]
    let ms = ts.unix_ms() as f64;
    ms
}

impl IntervalMeter {
    /// The meter `meter` at `cell`'s connection.
    pub fn new(cell: CellId, meter: MeterId) -> IntervalMeter {
        IntervalMeter {
            cell,
            meter,
            last: None,
            open: Vec::new(),
        }
    }

    /// Expects the interval a setpoint covers (once per transaction and start).
    pub fn expect(&mut self, c: &SetpointCommand) {
        if self
            .open
            .iter()
            .any(|o| o.transaction == c.transaction_id && o.from == c.from)
            || self.open.len() >= MAX_OPEN_INTERVALS
        {
            return;
        }
        self.open.push(Open {
            transaction: c.transaction_id,
            from: c.from,
            until: c.until,
            start: None,
        });
    }

    /// A reading of the registers at `now`: Wh imported and exported since the meter began. Returns the
    /// reports of the intervals that ended by then.
    pub fn reading(
        &mut self,
        now: Timestamp,
        import_wh: f64,
        export_wh: f64,
    ) -> Vec<MeasurementReport> {
        let net = export_wh - import_wh;
        let Some((then, before)) = self.last.replace((now, net)) else {
            return Vec::new();
        };
        if now <= then {
            return Vec::new();
        }
        let span = at(now) - at(then);
        let value_at = |ts: Timestamp| before + (net - before) * ((at(ts) - at(then)) / span);
        let mut reports = Vec::new();
        let cell = &self.cell;
        let meter = &self.meter;
        self.open.retain_mut(|o| {
            if o.start.is_none() && o.from <= now {
                // A boundary before the first reading after it is known only from then on.
                o.start = Some(if o.from >= then {
                    value_at(o.from)
                } else {
                    before
                });
            }
            if o.until > now {
                return true;
            }
            let end = value_at(o.until);
            let Some(start) = o.start else { return false };
            // Energies of a settlement interval are far inside i64.
            #[allow(clippy::cast_possible_truncation)]
            let wh = (end - start).round() as i64;
            let Some(length) = o.until.duration_since(o.from) else {
                return false;
            };
            let energy = Energy::from_wh(wh);
            let average = energy
                .average_power(length)
                .unwrap_or(ActivePower::from_w(0));
            if let Ok(r) = MeasurementReport::new(MeasurementReportFields {
                transaction_id: o.transaction,
                cell: cell.clone(),
                meter: meter.clone(),
                interval_start: o.from,
                interval: Duration::from_ms(length.as_ms()),
                energy,
                average: PowerLevel::new(average, ReactivePower::from_var(0)),
            }) {
                reports.push(r);
            }
            false
        });
        reports
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;
    use idea_proto::{CommandKind, SetpointCommandFields};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_interval_is_measured_between_interpolated_boundaries() {
        let mut m = IntervalMeter::new(CellId::new("cell-1").unwrap(), MeterId::new("m").unwrap());
        m.expect(
            &SetpointCommand::new(SetpointCommandFields {
                transaction_id: TransactionId::from_bytes([3; 16]),
                cell: CellId::new("cell-1").unwrap(),
                kind: CommandKind::Start,
                setpoint: PowerLevel::new(ActivePower::from_w(2000), ReactivePower::from_var(0)),
                from: t("2026-12-02T12:00:00Z"),
                until: t("2026-12-02T12:15:00Z"),
            })
            .unwrap(),
        );
        // Readings every 10 minutes: 2 kW exported throughout, 100 Wh imported before.
        assert!(m.reading(t("2026-12-02T11:55:00Z"), 100.0, 0.0).is_empty());
        assert!(
            m.reading(t("2026-12-02T12:05:00Z"), 100.0, 333.333)
                .is_empty()
        );
        assert!(
            m.reading(t("2026-12-02T12:10:00Z"), 100.0, 500.0)
                .is_empty()
        );
        let reports = m.reading(t("2026-12-02T12:20:00Z"), 100.0, 833.333);
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!(r.energy.wh(), 500);
        assert_eq!(r.average.active.w(), 2000);
        assert_eq!(r.interval_start, t("2026-12-02T12:00:00Z"));
        assert!(
            m.reading(t("2026-12-02T12:30:00Z"), 100.0, 900.0)
                .is_empty(),
            "once"
        );
    }
}
