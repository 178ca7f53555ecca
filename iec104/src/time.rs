//! Binary time tags: CP16Time2a (milliseconds), CP24Time2a (ms and minutes), CP56Time2a (ms to years) of IEC
//! 60870-5-4 clause 6.8. The octets are kept as received, so an encode of a decode is byte-exact even when a
//! device sets reserved bits or sends an impossible date; the accessors read the fields and the conversions
//! check them.

use idea_proto::Timestamp;

/// Seven-octet binary time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cp56Time2a(pub [u8; 7]);

impl Cp56Time2a {
    /// Milliseconds within the minute (0–59 999).
    pub fn millis(&self) -> u16 {
        u16::from_le_bytes([self.0[0], self.0[1]])
    }
    /// Minutes (0–59).
    pub fn minute(&self) -> u8 {
        self.0[2] & 0x3f
    }
    /// The invalid flag (IV).
    pub fn invalid(&self) -> bool {
        self.0[2] & 0x80 != 0
    }
    /// Hours (0–23).
    pub fn hour(&self) -> u8 {
        self.0[3] & 0x1f
    }
    /// Summer time (SU).
    pub fn summer_time(&self) -> bool {
        self.0[3] & 0x80 != 0
    }
    /// Day of month (1–31).
    pub fn day(&self) -> u8 {
        self.0[4] & 0x1f
    }
    /// Day of week (1–7, 0 = not used).
    pub fn day_of_week(&self) -> u8 {
        self.0[4] >> 5
    }
    /// Month (1–12).
    pub fn month(&self) -> u8 {
        self.0[5] & 0x0f
    }
    /// Year within the century (0–99).
    pub fn year(&self) -> u8 {
        self.0[6] & 0x7f
    }

    /// The instant, reading the tag as UTC in the years 2000–2099; `None` when a field is out of range.
    pub fn to_timestamp(&self) -> Option<Timestamp> {
        let (ms, minute, hour, day, month, year) = (
            self.millis(),
            self.minute(),
            self.hour(),
            self.day(),
            self.month(),
            self.year(),
        );
        if ms > 59_999
            || minute > 59
            || hour > 23
            || !(1..=31).contains(&day)
            || !(1..=12).contains(&month)
            || year > 99
        {
            return None;
        }
        let text = format!(
            "20{year:02}-{month:02}-{day:02}T{hour:02}:{minute:02}:{:02}.{:03}Z",
            ms / 1000,
            ms % 1000
        );
        text.parse().ok()
    }

    /// The tag of an instant in the years 2000–2099 (UTC, no summer time, day of week filled in).
    pub fn from_timestamp(t: Timestamp) -> Option<Cp56Time2a> {
        let text = t.to_string();
        let b = text.as_bytes();
        let num = |from: usize, to: usize| text.get(from..to)?.parse::<u16>().ok();
        if b.len() < 20 || !text.starts_with("20") {
            return None;
        }
        let (year, month, day) = (num(2, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        let millis = if b.get(19) == Some(&b'.') {
            num(20, 23)?
        } else {
            0
        };
        let ms = second.checked_mul(1000)?.checked_add(millis)?;
        // 1970-01-01 was a Thursday; ISO day of week 1 = Monday.
        let days = t.unix_ms().div_euclid(86_400_000);
        let dow = u8::try_from(days.checked_add(3)?.rem_euclid(7).checked_add(1)?).ok()?;
        let [lo, hi] = ms.to_le_bytes();
        Some(Cp56Time2a([
            lo,
            hi,
            u8::try_from(minute).ok()?,
            u8::try_from(hour).ok()?,
            u8::try_from(day).ok()? | (dow << 5),
            u8::try_from(month).ok()?,
            u8::try_from(year).ok()?,
        ]))
    }
}

/// Three-octet binary time: milliseconds and minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cp24Time2a(pub [u8; 3]);

impl Cp24Time2a {
    /// Milliseconds within the minute.
    pub fn millis(&self) -> u16 {
        u16::from_le_bytes([self.0[0], self.0[1]])
    }
    /// Minutes (0–59).
    pub fn minute(&self) -> u8 {
        self.0[2] & 0x3f
    }
    /// The invalid flag (IV).
    pub fn invalid(&self) -> bool {
        self.0[2] & 0x80 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp56_round_trips_an_instant() {
        let t: Timestamp = "2026-11-24T10:15:30.250Z".parse().unwrap();
        let tag = Cp56Time2a::from_timestamp(t).unwrap();
        assert_eq!(tag.millis(), 30_250);
        assert_eq!(
            (tag.minute(), tag.hour(), tag.day(), tag.month(), tag.year()),
            (15, 10, 24, 11, 26)
        );
        assert_eq!(tag.day_of_week(), 2, "24 November 2026 is a Tuesday");
        assert_eq!(tag.to_timestamp(), Some(t));
        assert!(Cp56Time2a::from_timestamp("1999-12-31T23:59:59Z".parse().unwrap()).is_none());
        assert_eq!(
            Cp56Time2a([0xff, 0xff, 0, 0, 1, 1, 0]).to_timestamp(),
            None,
            "65535 ms is out of range"
        );
        assert_eq!(
            Cp56Time2a([0, 0, 0, 0, 31, 2, 24]).to_timestamp(),
            None,
            "31 February"
        );
    }
}
