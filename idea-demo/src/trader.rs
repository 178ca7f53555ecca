//! The owners' trading policy in the complex: before each settlement period every cell's agent orders on the
//! P2P market what it expects to have spare or to lack, from what its own devices measured over their
//! protocols in the period just ended (a persistence forecast) and the state of its storage. The policy is
//! the owner's, not the SDK's; it lives here, outside the agent, and reaches the agent through its
//! behaviours API as an owner's order would.

use idea_proto::Side;

/// Storage is not drawn below this share of its capacity for a sale.
pub const RESERVE_SOC: f64 = 0.35;
/// Storage is not charged above this share for a purchase.
pub const FULL_SOC: f64 = 0.9;
/// The smallest order, Wh (smaller needs are left to the network or the hub).
pub const MIN_ORDER_WH: i64 = 50;
/// The share of the forecast surplus or deficit ordered (the rest is the forecast's margin).
pub const ORDER_SHARE: f64 = 0.8;
/// The hub power a sale may lean on, W (a share of the 5 kW converter, kept for the unforeseen).
pub const STORAGE_LEAN_W: f64 = 1500.0;

/// What a cell knows of itself at a period boundary, from its meter and its hub.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// The cell's net import over the period just ended, Wh (negative: export).
    pub import_wh: f64,
    /// The energy its storage gave over that period, Wh (negative: it charged).
    pub storage_wh: f64,
    /// The energy stored now, Wh.
    pub stored_wh: f64,
    /// The storage's usable capacity, Wh.
    pub capacity_wh: f64,
    /// The settlement period, s.
    pub period_s: u32,
}

/// The order for the next period, if any: the side and the energy, Wh (a multiple of 10).
pub fn order(m: &Measured) -> Option<(Side, i64)> {
    if m.period_s == 0 || m.capacity_wh <= 0.0 {
        return None;
    }
    let hours = f64::from(m.period_s) / 3600.0;
    // What the cell would have imported with its storage at rest: the forecast for the next period.
    let uncontrolled_wh = m.import_wh + m.storage_wh;
    let soc = m.stored_wh / m.capacity_wh;
    let spare_storage_wh = if soc > RESERVE_SOC + 0.2 {
        (STORAGE_LEAN_W * hours).min(m.stored_wh - RESERVE_SOC * m.capacity_wh)
    } else {
        0.0
    };
    let (side, wh) = if uncontrolled_wh < 0.0 {
        (
            Side::Seller,
            -uncontrolled_wh * ORDER_SHARE + spare_storage_wh,
        )
    } else if soc < FULL_SOC {
        let lean = spare_storage_wh.min(uncontrolled_wh * 0.5);
        (Side::Buyer, uncontrolled_wh * ORDER_SHARE - lean)
    } else {
        (
            Side::Buyer,
            uncontrolled_wh * ORDER_SHARE - spare_storage_wh,
        )
    };
    // An order of a cell's period is far inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let wh = ((wh / 10.0).floor() as i64).saturating_mul(10);
    (wh >= MIN_ORDER_WH).then_some((side, wh))
}

/// Below this share of its capacity a cell that cannot keep its balance asks the load-shedding service.
pub const SHED_SOC: f64 = 0.3;
/// Above this share again it asks for its loads back.
pub const RESTORE_SOC: f64 = 0.5;
/// The least a cell asks to shed, W.
pub const MIN_SHED_W: i64 = 500;

/// What a cell asks of the load-shedding service at a period boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shedding {
    /// Shed at least this much of its load, W.
    Shed(i64),
    /// Restore what was shed.
    Restore,
}

/// The owner's shedding policy (S2): with its storage low and still short, a cell sheds what it lacked over
/// the last period — again each period while that lasts; with its storage recovered, it takes its loads
/// back.
pub fn shedding(m: &Measured, shed: bool) -> Option<Shedding> {
    if m.capacity_wh <= 0.0 || m.period_s == 0 {
        return None;
    }
    let soc = m.stored_wh / m.capacity_wh;
    let hours = f64::from(m.period_s) / 3600.0;
    let lacking_w = (m.import_wh + m.storage_wh) / hours;
    if soc < SHED_SOC && lacking_w > 0.0 {
        // A cell's power: far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        let w = ((lacking_w / 100.0).ceil() as i64).saturating_mul(100);
        return Some(Shedding::Shed(w.max(MIN_SHED_W)));
    }
    (shed && soc > RESTORE_SOC).then_some(Shedding::Restore)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn measured(import_wh: f64, storage_wh: f64, soc: f64) -> Measured {
        Measured {
            import_wh,
            storage_wh,
            stored_wh: soc * 10_000.0,
            capacity_wh: 10_000.0,
            period_s: 900,
        }
    }

    #[test]
    fn a_cell_with_surplus_sells_most_of_it_and_leans_on_full_storage() {
        // 1 kWh exported in the period with the storage at rest, storage at 40 %: 800 Wh.
        assert_eq!(
            order(&measured(-1000.0, 0.0, 0.4)),
            Some((Side::Seller, 800))
        );
        // The same at 80 %: another 375 Wh from storage (1.5 kW for a quarter hour).
        assert_eq!(
            order(&measured(-1000.0, 0.0, 0.8)),
            Some((Side::Seller, 1170))
        );
    }

    #[test]
    fn what_the_storage_gave_counts_as_the_cells_own_need() {
        // Exported 200 Wh only because the hub gave 700: the cell itself lacked 500 Wh.
        assert_eq!(
            order(&measured(-200.0, 700.0, 0.4)),
            Some((Side::Buyer, 400))
        );
    }

    #[test]
    fn a_cell_short_with_low_storage_sheds_what_it_lacked_and_restores_once_recovered() {
        // 750 Wh imported in the period, the storage gave 250: it lacked 1 kWh, 4 kW over a quarter hour.
        assert_eq!(
            shedding(&measured(750.0, 250.0, 0.2), false),
            Some(Shedding::Shed(4000))
        );
        assert_eq!(
            shedding(&measured(750.0, 250.0, 0.2), true),
            Some(Shedding::Shed(4000)),
            "again while still short"
        );
        assert_eq!(shedding(&measured(750.0, 250.0, 0.4), false), None);
        assert_eq!(
            shedding(&measured(0.0, 0.0, 0.6), true),
            Some(Shedding::Restore)
        );
        assert_eq!(
            shedding(&measured(-500.0, 0.0, 0.1), false),
            None,
            "not short"
        );
    }

    #[test]
    fn small_needs_and_empty_periods_order_nothing() {
        assert_eq!(order(&measured(40.0, 0.0, 0.5)), None);
        assert_eq!(
            order(&Measured {
                period_s: 0,
                ..measured(-1000.0, 0.0, 0.5)
            }),
            None
        );
    }
}
