//! Active, reactive and apparent power, and energy.

use super::{Duration, div_round_half_even, quantity};
use crate::Error;
use crate::error::Result;

const MS_PER_HOUR: i128 = 3_600_000;

quantity!(
    /// Active power in watts. Positive values flow out of a cell (export, generation) unless a field says
    /// otherwise.
    ActivePower, from_w, w, "W", 1000
);
quantity!(
    /// Reactive power in var. Positive values are injected (capacitive, "export").
    ReactivePower, from_var, var, "var", 1000
);
quantity!(
    /// Apparent power in VA.
    ApparentPower, from_va, va, "VA", 1000
);
quantity!(
    /// Energy in watt-hours: the unit meters count and contracts settle.
    Energy, from_wh, wh, "Wh", 1000
);

impl ActivePower {
    /// The energy this power delivers when held for `duration`, rounded half to even to the watt-hour.
    pub fn energy_over(self, duration: Duration) -> Result<Energy> {
        let wh = i128::from(self.w())
            .checked_mul(i128::from(duration.as_ms()))
            .and_then(|x| div_round_half_even(x, MS_PER_HOUR))
            .and_then(|x| i64::try_from(x).ok());
        wh.map(Energy::from_wh).ok_or(Error::Overflow {
            operation: "ActivePower × Duration",
        })
    }
}

impl Energy {
    /// The constant power that delivers this energy over `duration`, rounded half to even to the watt.
    /// A zero duration is an error.
    pub fn average_power(self, duration: Duration) -> Result<ActivePower> {
        if duration.as_ms() == 0 {
            return Err(Error::invalid(
                "duration",
                "an average over zero time is undefined",
            ));
        }
        let w = i128::from(self.wh())
            .checked_mul(MS_PER_HOUR)
            .and_then(|x| div_round_half_even(x, i128::from(duration.as_ms())))
            .and_then(|x| i64::try_from(x).ok());
        w.map(ActivePower::from_w).ok_or(Error::Overflow {
            operation: "Energy ÷ Duration",
        })
    }
}

impl ApparentPower {
    /// `√(P² + Q²)`, rounded down to the volt-ampere.
    pub fn from_pq(p: ActivePower, q: ReactivePower) -> Result<ApparentPower> {
        let p2 = u128::from(p.w().unsigned_abs()).pow(2);
        let q2 = u128::from(q.var().unsigned_abs()).pow(2);
        // Both squares are below 2^126, so the sum cannot overflow.
        let s = p2.saturating_add(q2).isqrt();
        i64::try_from(s)
            .map(ApparentPower::from_va)
            .map_err(|_| Error::Overflow {
                operation: "√(P² + Q²)",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_over_time_is_energy() {
        let quarter = Duration::from_mins(15);
        assert_eq!(
            ActivePower::from_w(4000).energy_over(quarter),
            Ok(Energy::from_wh(1000))
        );
        // 2 W for 15 min = 0.5 Wh → rounds to even 0; 6 W → 1.5 Wh → 2.
        assert_eq!(
            ActivePower::from_w(2).energy_over(quarter),
            Ok(Energy::from_wh(0))
        );
        assert_eq!(
            ActivePower::from_w(6).energy_over(quarter),
            Ok(Energy::from_wh(2))
        );
        assert_eq!(
            ActivePower::from_w(-6).energy_over(quarter),
            Ok(Energy::from_wh(-2))
        );
        assert!(
            ActivePower::from_w(i64::MAX)
                .energy_over(Duration::from_ms(u64::MAX))
                .is_err()
        );
        assert_eq!(
            Energy::from_wh(1000).average_power(quarter),
            Ok(ActivePower::from_w(4000))
        );
        assert!(Energy::from_wh(1).average_power(Duration::ZERO).is_err());
    }

    #[test]
    fn apparent_power_and_overflow() {
        let s = ApparentPower::from_pq(ActivePower::from_w(3000), ReactivePower::from_var(-4000));
        assert_eq!(s, Ok(ApparentPower::from_va(5000)));
        assert!(
            ApparentPower::from_pq(
                ActivePower::from_w(i64::MIN),
                ReactivePower::from_var(i64::MIN)
            )
            .is_err()
        );
        assert!(
            Energy::from_wh(i64::MAX)
                .checked_add(Energy::from_wh(1))
                .is_err()
        );
        assert!(Energy::from_wh(i64::MIN).checked_neg().is_err());
        assert_eq!(
            Energy::checked_sum([Energy::from_wh(1), Energy::from_wh(2)]),
            Ok(Energy::from_wh(3))
        );
        assert_eq!(ActivePower::from_w(1500).to_string(), "1500 W");
    }
}
