//! Instants in UTC and non-negative durations, both in milliseconds.

use super::calendar;
use crate::Error;
use crate::error::Result;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An instant in UTC, in milliseconds since 1970-01-01T00:00:00Z, within the years 0000–9999 so that it
/// always has an RFC 3339 form. Its JSON form is that RFC 3339 string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);
    /// The earliest representable instant, 0000-01-01T00:00:00.000Z.
    pub const MIN: Timestamp = Timestamp(calendar::MIN_UNIX_MS);
    /// The latest representable instant, 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(calendar::MAX_UNIX_MS);

    /// From milliseconds since the Unix epoch; outside the years 0000–9999 is an error.
    pub fn from_unix_ms(ms: i64) -> Result<Timestamp> {
        if (calendar::MIN_UNIX_MS..=calendar::MAX_UNIX_MS).contains(&ms) {
            Ok(Timestamp(ms))
        } else {
            Err(Error::invalid(
                "",
                format!("{ms} ms since the epoch is outside the years 0000-9999"),
            ))
        }
    }

    /// From whole seconds since the Unix epoch.
    pub fn from_unix_secs(secs: i64) -> Result<Timestamp> {
        let ms = secs.checked_mul(1000).ok_or_else(|| {
            Error::invalid("", format!("{secs} s since the epoch is out of range"))
        })?;
        Timestamp::from_unix_ms(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// `self + d`, or an error past 9999-12-31.
    pub fn checked_add(self, d: Duration) -> Result<Timestamp> {
        i64::try_from(d.as_ms())
            .ok()
            .and_then(|d| self.0.checked_add(d))
            .and_then(|ms| Timestamp::from_unix_ms(ms).ok())
            .ok_or(Error::Overflow {
                operation: "Timestamp + Duration",
            })
    }

    /// `self - d`, or an error before year 0000.
    pub fn checked_sub(self, d: Duration) -> Result<Timestamp> {
        i64::try_from(d.as_ms())
            .ok()
            .and_then(|d| self.0.checked_sub(d))
            .and_then(|ms| Timestamp::from_unix_ms(ms).ok())
            .ok_or(Error::Overflow {
                operation: "Timestamp - Duration",
            })
    }

    /// The time from `earlier` to `self`; `None` if `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        let ms = self.0.checked_sub(earlier.0)?;
        u64::try_from(ms).ok().map(Duration::from_ms)
    }

    /// Whether this instant starts a period of length `period` counted from the Unix epoch (UTC), as
    /// settlement periods are: a 15-minute period starts at :00, :15, :30 and :45.
    pub fn is_aligned_to(self, period: Duration) -> bool {
        match i64::try_from(period.as_ms()) {
            Ok(p) if p > 0 => self.0.rem_euclid(p) == 0,
            _ => false,
        }
    }

    /// The start of the period of length `period` (from the Unix epoch, UTC) that contains this instant.
    pub fn floor_to(self, period: Duration) -> Timestamp {
        match i64::try_from(period.as_ms()) {
            // Flooring moves toward MIN but stays ≥ MIN - p; clamp keeps it representable.
            Ok(p) if p > 0 => Timestamp(
                self.0
                    .saturating_sub(self.0.rem_euclid(p))
                    .max(calendar::MIN_UNIX_MS),
            ),
            _ => self,
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC: `2026-11-24T10:15:00Z`, with `.mmm` when the milliseconds are not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&calendar::format_rfc3339(self.0))
    }
}

impl FromStr for Timestamp {
    type Err = Error;
    /// Parses RFC 3339 (`2026-11-24T10:15:00Z`, `2026-11-24T13:15:00.250+03:00`); sub-millisecond digits are
    /// refused rather than rounded.
    fn from_str(s: &str) -> Result<Timestamp> {
        let ms = calendar::parse_rfc3339(s)
            .map_err(|reason| Error::invalid("", format!("{s:?}: {reason}")))?;
        Timestamp::from_unix_ms(ms)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A non-negative span of time in milliseconds. Its JSON form is the integer count of milliseconds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Duration(u64);

impl Duration {
    /// No time.
    pub const ZERO: Duration = Duration(0);

    /// From milliseconds.
    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms)
    }

    /// From seconds (saturating at the largest duration).
    pub const fn from_secs(secs: u64) -> Duration {
        Duration(secs.saturating_mul(1000))
    }

    /// From minutes (saturating at the largest duration).
    pub const fn from_mins(mins: u64) -> Duration {
        Duration(mins.saturating_mul(60_000))
    }

    /// In milliseconds.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// In whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// `self × n`, or an overflow error.
    pub fn checked_mul(self, n: u64) -> Result<Duration> {
        self.0.checked_mul(n).map(Duration).ok_or(Error::Overflow {
            operation: "Duration × integer",
        })
    }

    /// `self + other`, or an overflow error.
    pub fn checked_add(self, other: Duration) -> Result<Duration> {
        self.0
            .checked_add(other.0)
            .map(Duration)
            .ok_or(Error::Overflow {
                operation: "Duration + Duration",
            })
    }
}

impl From<std::time::Duration> for Duration {
    /// Saturates at the largest duration; sub-millisecond parts are dropped.
    fn from(d: std::time::Duration) -> Duration {
        Duration(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> std::time::Duration {
        std::time::Duration::from_millis(d.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{} s", self.0 / 1000)
        } else {
            write!(f, "{} ms", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_to_settlement_periods() {
        let t: Timestamp = "2026-11-24T10:15:00Z".parse().unwrap();
        let q = Duration::from_mins(15);
        assert!(t.is_aligned_to(q));
        assert!(
            !t.checked_add(Duration::from_secs(1))
                .unwrap()
                .is_aligned_to(q)
        );
        assert_eq!(
            t.checked_add(Duration::from_mins(7)).unwrap().floor_to(q),
            t
        );
        assert!(!t.is_aligned_to(Duration::ZERO));
        let before_epoch: Timestamp = "1969-12-31T23:50:00Z".parse().unwrap();
        assert_eq!(before_epoch.floor_to(q).to_string(), "1969-12-31T23:45:00Z");
    }

    #[test]
    fn range_is_years_0000_to_9999() {
        assert!(Timestamp::from_unix_ms(i64::MAX).is_err());
        assert!(Timestamp::MAX.checked_add(Duration::from_ms(1)).is_err());
        assert!(Timestamp::MIN.checked_sub(Duration::from_ms(1)).is_err());
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::MIN.floor_to(Duration::from_mins(7)),
            Timestamp::MIN
        );
    }

    #[test]
    fn json_form_is_rfc3339() {
        let t = Timestamp::from_unix_ms(1_795_000_000_250).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-18T11:06:40.250Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
