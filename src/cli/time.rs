//! Instants on the command line: unix milliseconds, RFC 3339, or an offset
//! from now; and RFC 3339 (UTC) for showing them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Parses an instant, relative to `now` for offsets:
///
/// - unix milliseconds: `1796083200000`;
/// - RFC 3339 with `Z` or a `±hh:mm` offset, optional fraction of a second:
///   `2026-12-01T00:00:00Z`, `2026-12-01T01:00:00.5+01:00`;
/// - `now`, or an offset from now: `+30s`, `+15m`, `+2h`, `+7d` (`-` for the past).
pub fn parse_instant(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let problem = |why: &str| {
        format!("{text:?} is not a time ({why}); use unix milliseconds, RFC 3339 such as 2026-12-01T00:00:00Z, or an offset such as +2h")
    };
    if text.is_empty() {
        return Err(problem("empty"));
    }
    if text == "now" {
        return Ok(now);
    }
    if let Some(sign) = text.chars().next().filter(|c| *c == '+' || *c == '-') {
        let body = &text[1..];
        let unit_at = body
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| problem("an offset needs a unit: s, m, h or d"))?;
        let (digits, unit) = body.split_at(unit_at);
        let amount: i64 = digits
            .parse()
            .map_err(|_| problem("the offset has no number"))?;
        let unit_ms: i64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(problem("an offset's unit is ms, s, m, h or d")),
        };
        let delta = amount
            .checked_mul(unit_ms)
            .ok_or_else(|| problem("out of range"))?;
        let at = if sign == '+' {
            now.checked_add(delta)
        } else {
            now.checked_sub(delta)
        };
        return at
            .filter(|t| *t >= 0)
            .ok_or_else(|| problem("out of range"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| problem("out of range"));
    }
    parse_rfc3339(text).map_err(problem)
}

fn parse_rfc3339(text: &str) -> Result<i64, &'static str> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return Err("too short for RFC 3339");
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        let part = text.get(range).ok_or("malformed")?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| "malformed")
        } else {
            Err("malformed date or time")
        }
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err("malformed date or time");
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err("date and time are separated by T");
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date");
    }
    // 60 is a leap second; it is read as the next second's start.
    if hour > 23 || minute > 59 || second > 60 {
        return Err("no such time");
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if digits == 0 {
            return Err("a fraction of a second needs digits");
        }
        for (i, c) in fraction[..digits].bytes().take(3).enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let ob = rest.as_bytes();
            if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
                return Err("the offset is Z or ±hh:mm");
            }
            let two_digits = |range: std::ops::Range<usize>| {
                rest.get(range)
                    .filter(|part| part.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|part| part.parse::<i64>().ok())
                    .ok_or("the offset is Z or ±hh:mm")
            };
            let hours = two_digits(1..3)?;
            let minutes = two_digits(4..6)?;
            if hours > 23 || minutes > 59 {
                return Err("the offset is out of range");
            }
            let total = hours * 60 + minutes;
            if ob[0] == b'-' {
                -total
            } else {
                total
            }
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    let ms = seconds * 1_000 + millis;
    if ms < 0 {
        return Err("before 1970");
    }
    Ok(ms)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `ms` as RFC 3339 in UTC, with milliseconds only when there are some:
/// `2026-12-01T00:00:00Z`.
pub fn format_instant(ms: i64) -> String {
    let seconds = ms.div_euclid(1_000);
    let millis = ms.rem_euclid(1_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    let (h, m, s) = (of_day / 3_600, of_day % 3_600 / 60, of_day % 60);
    if millis == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_milliseconds_and_rfc3339_agree() {
        assert_eq!(parse_instant("1796083200000", 0), Ok(1_796_083_200_000));
        assert_eq!(
            parse_instant("2026-12-01T00:00:00Z", 0),
            Ok(1_796_083_200_000)
        );
        assert_eq!(
            parse_instant("2026-12-01T01:30:00+01:30", 0),
            Ok(1_796_083_200_000)
        );
        assert_eq!(
            parse_instant("2026-11-30T23:00:00.250-01:00", 0),
            Ok(1_796_083_200_250)
        );
        assert_eq!(parse_instant("1970-01-01T00:00:00Z", 0), Ok(0));
        assert_eq!(
            parse_instant("2000-02-29T12:00:00Z", 0),
            Ok(951_825_600_000)
        );
    }

    #[test]
    fn offsets_are_relative_to_now() {
        assert_eq!(parse_instant("now", 5_000), Ok(5_000));
        assert_eq!(parse_instant("+2h", 1_000), Ok(7_201_000));
        assert_eq!(parse_instant("-30s", 60_000), Ok(30_000));
        assert!(parse_instant("-30s", 0).is_err());
        assert!(parse_instant("+2", 0).unwrap_err().contains("unit"));
        assert!(parse_instant("+2w", 0).unwrap_err().contains("unit"));
    }

    #[test]
    fn bad_times_are_rejected_with_the_reason() {
        for (text, why) in [
            ("", "empty"),
            ("2026-02-30T00:00:00Z", "no such date"),
            ("2026-12-01T24:00:00Z", "no such time"),
            ("2026-12-01T00:00:00", "too short"),
            ("2026-12-01T00:00:00+0100", "offset"),
            ("2026-12-01X00:00:00Z", "separated by T"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("yesterday", "too short"),
            ("99999999999999999999", "out of range"),
            ("2026-12-01T00:00:00.Z", "needs digits"),
            ("2026-1é-01T00:00:00Z", "malformed"),
        ] {
            let err = parse_instant(text, 0).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for ms in [0, 951_825_600_000, 1_796_083_200_000, 1_796_083_200_250] {
            assert_eq!(parse_instant(&format_instant(ms), 0), Ok(ms));
        }
        assert_eq!(format_instant(1_796_083_200_000), "2026-12-01T00:00:00Z");
        assert_eq!(
            format_instant(1_796_083_200_250),
            "2026-12-01T00:00:00.250Z"
        );
    }
}
