//! Physical and monetary quantities as integer newtypes.
//!
//! Every quantity is an `i64` in a fixed base unit, named in its constructor and getter: W, var, VA, Wh, mV, mA,
//! mHz, minor units of money, milliseconds. There is no floating point in anything that is settled; `as_f64`
//! getters exist for control algorithms that need them. Arithmetic that can overflow is checked and returns
//! [`Error::Overflow`](crate::Error::Overflow); divisions round half to even, the rounding settlement uses.

mod calendar;
mod electrical;
mod money;
mod power;
mod time;

pub use electrical::{Current, Frequency, Voltage};
pub use money::{Currency, EnergyPrice, Money};
pub use power::{ActivePower, ApparentPower, Energy, ReactivePower};
pub use time::{Duration, Timestamp};

/// `n / d` rounded half to even ("banker's rounding"); `None` when `d` is zero or the quotient overflows.
pub(crate) fn div_round_half_even(n: i128, d: i128) -> Option<i128> {
    if d == 0 {
        return None;
    }
    let q = n.checked_div(d)?;
    let r = n.checked_rem(d)?;
    if r == 0 {
        return Some(q);
    }
    // Compare 2|r| with |d| without overflow: |r| < |d| ≤ i128::MAX.
    let twice = r.unsigned_abs().checked_mul(2)?;
    let away = if (n < 0) == (d < 0) { 1 } else { -1 };
    match twice.cmp(&d.unsigned_abs()) {
        std::cmp::Ordering::Less => Some(q),
        std::cmp::Ordering::Greater => q.checked_add(away),
        std::cmp::Ordering::Equal if q % 2 == 0 => Some(q),
        std::cmp::Ordering::Equal => q.checked_add(away),
    }
}

/// Defines an integer quantity: constructor and getter in its base unit, checked arithmetic, `Display` with
/// the unit symbol, and a transparent serde form (the bare integer).
macro_rules! quantity {
    ($(#[$doc:meta])* $name:ident, $from:ident, $get:ident, $symbol:literal, $per_unit:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Zero.
            pub const ZERO: $name = $name(0);

            #[doc = concat!("From a count of ", $symbol, ".")]
            pub const fn $from(value: i64) -> $name {
                $name(value)
            }

            #[doc = concat!("The value in ", $symbol, ".")]
            pub const fn $get(self) -> i64 {
                self.0
            }

            #[doc = concat!("The value in units of ", $per_unit, " ", $symbol, ", as a float for control algorithms.")]
            #[allow(clippy::cast_precision_loss)]
            pub fn as_f64(self) -> f64 {
                self.0 as f64 / $per_unit as f64
            }

            /// `self + other`, or an overflow error.
            pub fn checked_add(self, other: $name) -> crate::error::Result<$name> {
                self.0.checked_add(other.0).map($name).ok_or(crate::Error::Overflow {
                    operation: concat!(stringify!($name), " + ", stringify!($name)),
                })
            }

            /// `self - other`, or an overflow error.
            pub fn checked_sub(self, other: $name) -> crate::error::Result<$name> {
                self.0.checked_sub(other.0).map($name).ok_or(crate::Error::Overflow {
                    operation: concat!(stringify!($name), " - ", stringify!($name)),
                })
            }

            /// `self × factor`, or an overflow error.
            pub fn checked_mul(self, factor: i64) -> crate::error::Result<$name> {
                self.0.checked_mul(factor).map($name).ok_or(crate::Error::Overflow {
                    operation: concat!(stringify!($name), " × integer"),
                })
            }

            /// `-self`, or an overflow error for the most negative value.
            pub fn checked_neg(self) -> crate::error::Result<$name> {
                self.0.checked_neg().map($name).ok_or(crate::Error::Overflow {
                    operation: concat!("-", stringify!($name)),
                })
            }

            /// The magnitude, or an overflow error for the most negative value.
            pub fn checked_abs(self) -> crate::error::Result<$name> {
                self.0.checked_abs().map($name).ok_or(crate::Error::Overflow {
                    operation: concat!("|", stringify!($name), "|"),
                })
            }

            /// The sum of all items, or an overflow error.
            pub fn checked_sum<I: IntoIterator<Item = $name>>(items: I) -> crate::error::Result<$name> {
                items.into_iter().try_fold($name::ZERO, $name::checked_add)
            }

            /// Whether the value is below zero.
            pub const fn is_negative(self) -> bool {
                self.0 < 0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {}", self.0, $symbol)
            }
        }
    };
}
pub(crate) use quantity;

#[cfg(test)]
mod tests {
    use super::div_round_half_even as r;

    #[test]
    fn rounds_half_to_even_in_every_sign() {
        assert_eq!(r(5, 2), Some(2));
        assert_eq!(r(7, 2), Some(4));
        assert_eq!(r(-5, 2), Some(-2));
        assert_eq!(r(-7, 2), Some(-4));
        assert_eq!(r(5, -2), Some(-2));
        assert_eq!(r(10, 3), Some(3));
        assert_eq!(r(11, 3), Some(4));
        assert_eq!(r(-11, 3), Some(-4));
        assert_eq!(r(1, 0), None);
        assert_eq!(r(i128::MIN, -1), None);
    }
}
