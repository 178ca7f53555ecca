//! FIPA date-times (SC00070 `DateTimeToken`): `YYYYMMDDTHHMMSSmmm` with an optional type designator letter
//! (`Z` for UTC; none for local time) and an optional sign that makes it relative (`+` later than now, `-`
//! earlier), in which case the fields are an offset, not a calendar date.

use crate::error::Error;

/// A date-time as written in a message, kept field by field so it prints back as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// `Some('+')` or `Some('-')` for a relative time.
    pub sign: Option<char>,
    /// Year, 0–9999.
    pub year: u16,
    /// Month 1–12 (for a relative time, 0–99).
    pub month: u8,
    /// Day 1–31 (for a relative time, 0–99).
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–59 (60 for a leap second).
    pub second: u8,
    /// Milliseconds 0–999.
    pub millisecond: u16,
    /// The type designator letter: `Z` is UTC; `None` is local time.
    pub designator: Option<char>,
}

impl DateTime {
    /// A UTC date-time.
    pub fn utc(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        millisecond: u16,
    ) -> DateTime {
        DateTime {
            sign: None,
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
            designator: Some('Z'),
        }
    }

    /// The relative date-time `offset` after now (`+0000000DTHHMMSSmmm`); `None` beyond 99 days.
    pub fn relative(offset: idea_proto::Duration) -> Option<DateTime> {
        let ms = offset.as_ms();
        let day = u8::try_from(ms / 86_400_000).ok().filter(|d| *d <= 99)?;
        let narrow = |v: u64| u8::try_from(v).unwrap_or_default();
        Some(DateTime {
            sign: Some('+'),
            year: 0,
            month: 0,
            day,
            hour: narrow(ms / 3_600_000 % 24),
            minute: narrow(ms / 60_000 % 60),
            second: narrow(ms / 1_000 % 60),
            millisecond: u16::try_from(ms % 1_000).unwrap_or_default(),
            designator: None,
        })
    }

    /// The UTC date-time of `t`, with designator `Z`.
    pub fn from_timestamp(t: idea_proto::Timestamp) -> DateTime {
        // RFC 3339 in UTC from idea-proto: `YYYY-MM-DDTHH:MM:SS[.mmm]Z`.
        let text = t.to_string();
        let field = |from: usize, to: usize| -> u16 {
            text.get(from..to)
                .and_then(|s| s.parse().ok())
                .unwrap_or_default()
        };
        let narrow = |n: u16| u8::try_from(n).unwrap_or_default();
        DateTime::utc(
            field(0, 4),
            narrow(field(5, 7)),
            narrow(field(8, 10)),
            narrow(field(11, 13)),
            narrow(field(14, 16)),
            narrow(field(17, 19)),
            field(20, 23),
        )
    }

    /// The instant this date-time names, given the current time `now`: an absolute time in UTC (designator
    /// `Z`) or local time (no designator, taken as UTC: IDEA agents keep UTC clocks), or `now` plus or minus a
    /// relative one. `None` for another designator (a time zone this crate does not know) and for a relative
    /// time with years or months, which have no fixed length.
    pub fn to_timestamp(&self, now: idea_proto::Timestamp) -> Option<idea_proto::Timestamp> {
        match self.sign {
            None => {
                if self
                    .designator
                    .is_some_and(|d| !d.eq_ignore_ascii_case(&'Z'))
                {
                    return None;
                }
                let text = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                    self.year,
                    self.month,
                    self.day,
                    self.hour,
                    self.minute,
                    self.second,
                    self.millisecond
                );
                text.parse().ok()
            }
            Some(sign) => {
                if self.year != 0 || self.month != 0 {
                    return None;
                }
                let ms = u64::from(self.day)
                    .checked_mul(86_400_000)?
                    .checked_add(u64::from(self.hour).checked_mul(3_600_000)?)?
                    .checked_add(u64::from(self.minute).checked_mul(60_000)?)?
                    .checked_add(u64::from(self.second).checked_mul(1_000)?)?
                    .checked_add(u64::from(self.millisecond))?;
                let offset = idea_proto::Duration::from_ms(ms);
                if sign == '-' {
                    now.checked_sub(offset).ok()
                } else {
                    now.checked_add(offset).ok()
                }
            }
        }
    }

    /// Whether `text` has the shape of a date-time token (used to tell one from a word).
    pub fn looks_like(text: &[u8]) -> bool {
        let body = match text.first() {
            Some(b'+' | b'-') => text.get(1..).unwrap_or_default(),
            _ => text,
        };
        // SC00070: the `T` and the type designator are case-insensitive.
        matches!(body.len(), 18 | 19)
            && matches!(body.get(8), Some(b'T' | b't'))
            && body.iter().enumerate().all(|(i, b)| match i {
                8 => true,
                18 => b.is_ascii_alphabetic(),
                _ => b.is_ascii_digit(),
            })
    }

    /// Parses a token; `offset` is where it starts in the input, for the error.
    pub fn parse(text: &[u8], offset: usize) -> Result<DateTime, Error> {
        let bad = |reason: &str| Error::Decode {
            offset,
            field: "date-time",
            reason: reason.to_owned(),
        };
        if !DateTime::looks_like(text) {
            return Err(bad("expected [+|-]YYYYMMDDTHHMMSSmmm[designator]"));
        }
        let (sign, body) = match text.first() {
            Some(&c @ (b'+' | b'-')) => (Some(char::from(c)), text.get(1..).unwrap_or_default()),
            _ => (None, text),
        };
        let number = |from: usize, to: usize| -> u16 {
            body.get(from..to)
                .unwrap_or_default()
                .iter()
                .fold(0u16, |n, d| {
                    n.saturating_mul(10)
                        .saturating_add(u16::from(d.saturating_sub(b'0')))
                })
        };
        let narrow = |n: u16| u8::try_from(n).unwrap_or(u8::MAX);
        let t = DateTime {
            sign,
            year: number(0, 4),
            month: narrow(number(4, 6)),
            day: narrow(number(6, 8)),
            hour: narrow(number(9, 11)),
            minute: narrow(number(11, 13)),
            second: narrow(number(13, 15)),
            millisecond: number(15, 18),
            designator: body.get(18).map(|&c| char::from(c)),
        };
        t.check(offset)?;
        Ok(t)
    }

    /// Checks the fields' ranges (a relative time may have month and day 0); `offset` is for the error.
    pub(crate) fn check(&self, offset: usize) -> Result<(), Error> {
        let reason = if self.sign.is_none()
            && !((1..=12).contains(&self.month) && (1..=31).contains(&self.day))
        {
            "month or day out of range"
        } else if self.hour > 23 || self.minute > 59 || self.second > 60 || self.millisecond > 999 {
            "hour, minute, second or millisecond out of range"
        } else {
            return Ok(());
        };
        Err(Error::Decode {
            offset,
            field: "date-time",
            reason: reason.to_owned(),
        })
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = self.sign {
            write!(f, "{s}")?;
        }
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )?;
        if let Some(d) = self.designator {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_relative_and_local_forms() {
        let t = DateTime::parse(b"20020314T091400500Z", 0).unwrap();
        assert_eq!(t, DateTime::utc(2002, 3, 14, 9, 14, 0, 500));
        assert_eq!(t.to_string(), "20020314T091400500Z");
        let local = DateTime::parse(b"20261124T235959999", 0).unwrap();
        assert_eq!(local.designator, None);
        let later = DateTime::parse(b"+00000000T000130000", 0).unwrap();
        assert_eq!((later.sign, later.minute, later.second), (Some('+'), 1, 30));
        assert_eq!(later.to_string(), "+00000000T000130000");
        // The `T` and the designator in either case (SC00070): `z` is UTC too; the designator is kept as
        // written.
        let lower = DateTime::parse(b"20020314t091400500z", 0).unwrap();
        assert_eq!((lower.hour, lower.designator), (9, Some('z')));
        assert_eq!(lower.to_string(), "20020314T091400500z");
        let now = idea_proto::Timestamp::from_unix_ms(0).unwrap();
        assert_eq!(lower.to_timestamp(now), t.to_timestamp(now));
        assert!(DateTime::parse(b"20021314T091400500Z", 3).is_err());
        assert!(DateTime::parse(b"2002-03-14", 3).is_err());
    }
}
