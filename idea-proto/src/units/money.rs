//! Money as integer minor units of a currency, and prices per kWh.

use super::{Energy, div_round_half_even};
use crate::Error;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A currency: a three-letter upper-case code (ISO 4217, or a deployment's own token such as `XTK`) and how
/// many decimal digits its minor unit has (EUR: 2, JPY: 0, a token: up to 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "CurrencyFields", into = "CurrencyFields")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

#[derive(Serialize, Deserialize)]
struct CurrencyFields {
    code: String,
    exponent: u32,
}

impl Currency {
    /// The most minor-unit digits a currency may have.
    pub const MAX_EXPONENT: u32 = 18;

    /// A currency from its code and minor-unit digits; the code must be three ASCII upper-case letters.
    pub fn new(code: &str, exponent: u32) -> Result<Currency> {
        let bytes: [u8; 3] = code.as_bytes().try_into().map_err(|_| {
            Error::invalid(
                "code",
                format!("{code:?} is not a three-letter currency code"),
            )
        })?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(Error::invalid(
                "code",
                format!("{code:?} is not upper-case ASCII letters"),
            ));
        }
        let exponent = u8::try_from(exponent)
            .ok()
            .filter(|e| u32::from(*e) <= Currency::MAX_EXPONENT)
            .ok_or_else(|| {
                Error::invalid(
                    "exponent",
                    format!("{exponent} minor-unit digits is more than 18"),
                )
            })?;
        Ok(Currency {
            code: bytes,
            exponent,
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Decimal digits of the minor unit.
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<CurrencyFields> for Currency {
    type Error = Error;
    fn try_from(f: CurrencyFields) -> Result<Currency> {
        Currency::new(&f.code, f.exponent)
    }
}

impl From<Currency> for CurrencyFields {
    fn from(c: Currency) -> CurrencyFields {
        CurrencyFields {
            code: c.code().to_owned(),
            exponent: c.exponent(),
        }
    }
}

/// An amount of money: a signed count of minor units (cents for EUR) in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Count of minor units.
    pub minor_units: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `minor_units` of `currency`.
    pub const fn new(minor_units: i64, currency: Currency) -> Money {
        Money {
            minor_units,
            currency,
        }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    fn same_currency(self, other: Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other` in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        let sum = self.minor_units.checked_add(other.minor_units);
        sum.map(|m| Money::new(m, self.currency))
            .ok_or(Error::Overflow {
                operation: "Money + Money",
            })
    }

    /// `self - other` in the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        let diff = self.minor_units.checked_sub(other.minor_units);
        diff.map(|m| Money::new(m, self.currency))
            .ok_or(Error::Overflow {
                operation: "Money - Money",
            })
    }

    /// `-self`.
    pub fn checked_neg(self) -> Result<Money> {
        let neg = self.minor_units.checked_neg();
        neg.map(|m| Money::new(m, self.currency))
            .ok_or(Error::Overflow {
                operation: "-Money",
            })
    }
}

impl fmt::Display for Money {
    /// `12.34 EUR`: the minor units placed after the decimal point the currency defines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.exponent() as usize;
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let magnitude = self.minor_units.unsigned_abs().to_string();
        if digits == 0 {
            return write!(f, "{sign}{magnitude} {}", self.currency);
        }
        let padded = format!("{magnitude:0>width$}", width = digits.saturating_add(1));
        let (whole, fraction) = padded.split_at(padded.len().saturating_sub(digits));
        write!(f, "{sign}{whole}.{fraction} {}", self.currency)
    }
}

/// A price in minor units per kWh. For energy it is the price of a delivered kWh; for power and flexibility
/// the price of one kW held available for one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnergyPrice {
    /// Minor units per kWh.
    pub minor_units_per_kwh: i64,
    /// The currency.
    pub currency: Currency,
}

impl EnergyPrice {
    /// `minor_units_per_kwh` of `currency` per kWh.
    pub const fn new(minor_units_per_kwh: i64, currency: Currency) -> EnergyPrice {
        EnergyPrice {
            minor_units_per_kwh,
            currency,
        }
    }

    /// The cost of `energy` at this price, rounded half to even to the minor unit.
    pub fn cost_of(&self, energy: Energy) -> Result<Money> {
        let minor = i128::from(self.minor_units_per_kwh)
            .checked_mul(i128::from(energy.wh()))
            .and_then(|x| div_round_half_even(x, 1000))
            .and_then(|x| i64::try_from(x).ok());
        minor
            .map(|m| Money::new(m, self.currency))
            .ok_or(Error::Overflow {
                operation: "EnergyPrice × Energy",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::new("EUR", 2).unwrap()
    }

    #[test]
    fn currency_codes_are_checked() {
        assert!(Currency::new("EU", 2).is_err());
        assert!(Currency::new("eur", 2).is_err());
        assert!(Currency::new("EUR", 19).is_err());
        assert_eq!(eur().to_string(), "EUR");
    }

    #[test]
    fn money_arithmetic_keeps_currency() {
        let usd = Currency::new("USD", 2).unwrap();
        let a = Money::new(150, eur());
        assert_eq!(
            a.checked_add(Money::new(-50, eur())),
            Ok(Money::new(100, eur()))
        );
        assert!(matches!(
            a.checked_add(Money::new(1, usd)),
            Err(Error::CurrencyMismatch { .. })
        ));
        assert!(
            Money::new(i64::MAX, eur())
                .checked_add(Money::new(1, eur()))
                .is_err()
        );
        assert_eq!(Money::new(-5, eur()).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(123_456, eur()).to_string(), "1234.56 EUR");
        assert_eq!(
            Money::new(7, Currency::new("JPY", 0).unwrap()).to_string(),
            "7 JPY"
        );
    }

    #[test]
    fn price_times_energy_rounds_half_even() {
        let p = EnergyPrice::new(25, eur()); // 0.25 EUR/kWh
        assert_eq!(p.cost_of(Energy::from_wh(2000)), Ok(Money::new(50, eur())));
        assert_eq!(p.cost_of(Energy::from_wh(20)), Ok(Money::new(0, eur()))); // 0.5 → 0
        assert_eq!(p.cost_of(Energy::from_wh(60)), Ok(Money::new(2, eur()))); // 1.5 → 2
        assert!(
            EnergyPrice::new(i64::MAX, eur())
                .cost_of(Energy::from_wh(i64::MAX))
                .is_err()
        );
    }
}
