//! Proleptic Gregorian calendar arithmetic (H. Hinnant's days-from-civil algorithms) and RFC 3339 text,
//! for instants in the years 0000–9999. Every input is range-checked before the arithmetic, whose
//! intermediate values then stay far below `i64` limits.
#![allow(clippy::arithmetic_side_effects)]

const MS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01T00:00:00.000Z in ms since the Unix epoch.
pub(super) const MIN_UNIX_MS: i64 = -719_528 * MS_PER_DAY;
/// 9999-12-31T23:59:59.999Z in ms since the Unix epoch.
pub(super) const MAX_UNIX_MS: i64 = 2_932_897 * MS_PER_DAY - 1;

/// Days since 1970-01-01 of a civil date (month 1–12, day 1–31).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// RFC 3339 in UTC for `ms` within `MIN_UNIX_MS..=MAX_UNIX_MS`.
pub(super) fn format_rfc3339(ms: i64) -> String {
    let ms = ms.clamp(MIN_UNIX_MS, MAX_UNIX_MS);
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    if milli == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }
}

/// Reads `n` ASCII digits at `pos`.
fn digits(b: &[u8], pos: usize, n: usize) -> Result<i64, String> {
    let field = b
        .get(pos..pos + n)
        .ok_or_else(|| format!("ends at byte {} where {n} digits were expected", b.len()))?;
    field.iter().try_fold(0i64, |acc, c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + i64::from(c - b'0'))
        } else {
            Err(format!("byte {pos}: expected a digit"))
        }
    })
}

fn expect(b: &[u8], pos: usize, allowed: &[u8]) -> Result<(), String> {
    match b.get(pos) {
        Some(c) if allowed.contains(c) => Ok(()),
        _ => Err(format!(
            "byte {pos}: expected one of {:?}",
            String::from_utf8_lossy(allowed)
        )),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` into ms since the Unix epoch.
pub(super) fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    if b.len() > 64 {
        return Err("longer than any RFC 3339 timestamp".into());
    }
    let year = digits(b, 0, 4)?;
    expect(b, 4, b"-")?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b"-")?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b"Tt")?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b":")?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b":")?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!(
            "{year:04}-{month:02}-{day:02} is not a calendar date"
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "{hour:02}:{minute:02}:{second:02} is not a time of day (leap seconds are refused)"
        ));
    }
    let mut pos = 19;
    let mut milli = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        let fraction = b.get(start..pos).unwrap_or_default();
        if fraction.is_empty() {
            return Err(format!("byte {start}: a decimal point needs digits"));
        }
        if fraction.iter().skip(3).any(|c| *c != b'0') {
            return Err("sub-millisecond precision is not representable".into());
        }
        for (c, scale) in fraction.iter().zip([100, 10, 1]) {
            milli += i64::from(c - b'0') * scale;
        }
    }
    let offset_min = match b.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let oh = digits(b, pos + 1, 2)?;
            expect(b, pos + 3, b":")?;
            let om = digits(b, pos + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err("the UTC offset is out of range".into());
            }
            let value = oh * 60 + om;
            pos += 6;
            if *sign == b'-' { -value } else { value }
        }
        _ => return Err(format!("byte {pos}: expected Z or a UTC offset")),
    };
    if pos != b.len() {
        return Err(format!("byte {pos}: unexpected trailing characters"));
    }
    let days = days_from_civil(year, month, day);
    let ms = days * MS_PER_DAY + ((hour * 60 + minute - offset_min) * 60 + second) * 1000 + milli;
    if (MIN_UNIX_MS..=MAX_UNIX_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err("the instant is outside the years 0000-9999 in UTC".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(MIN_UNIX_MS, days_from_civil(0, 1, 1) * MS_PER_DAY);
        assert_eq!(MAX_UNIX_MS, days_from_civil(10_000, 1, 1) * MS_PER_DAY - 1);
        assert_eq!(parse_rfc3339("2026-11-24T10:15:00Z"), Ok(1_795_515_300_000));
        assert_eq!(format_rfc3339(1_795_515_300_000), "2026-11-24T10:15:00Z");
    }

    #[test]
    fn offsets_and_fractions() {
        let utc = parse_rfc3339("2026-11-24T10:15:00.250Z").unwrap();
        assert_eq!(parse_rfc3339("2026-11-24T13:15:00.25+03:00"), Ok(utc));
        assert_eq!(parse_rfc3339("2026-11-24t07:15:00.250000-03:00"), Ok(utc));
        assert!(parse_rfc3339("2026-11-24T10:15:00.2501Z").is_err());
        assert!(parse_rfc3339("2026-11-24T10:15:00.Z").is_err());
    }

    #[test]
    fn invalid_text_is_refused() {
        for bad in [
            "",
            "2026-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T23:59:60Z",
            "2026-11-24 10:15:00Z",
            "2026-11-24T10:15:00",
            "2026-11-24T10:15:00Zjunk",
            "2026-11-24T10:15:00+3:00",
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
    }
}
