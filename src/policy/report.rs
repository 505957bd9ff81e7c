//! What a policy run found: each failed assertion with its line.

use std::fmt;

/// One assertion that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The line the assertion starts on (1-based).
    pub line: usize,
    /// The assertion, as a sentence (`"ci-bot" has "deploy" at …`).
    pub assertion: String,
    /// Why it does not hold.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.line, self.assertion, self.message
        )
    }
}

/// The outcome of [`Policy::run`](super::Policy::run).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// How many assertions were checked.
    pub assertions: usize,
    /// Those that did not hold, in file order.
    pub failures: Vec<Failure>,
}

impl Report {
    /// Whether every assertion held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Report {
    /// One line per failure, then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failures {
            writeln!(f, "{failure}")?;
        }
        let plural = if self.assertions == 1 { "" } else { "s" };
        if self.failures.is_empty() {
            match self.assertions {
                1 => f.write_str("1 assertion holds"),
                n => write!(f, "all {n} assertions hold"),
            }
        } else {
            write!(
                f,
                "{} of {} assertion{plural} failed",
                self.failures.len(),
                self.assertions
            )
        }
    }
}

/// Unix milliseconds as RFC 3339 in UTC (`2027-01-01T00:00:00Z`, with
/// milliseconds when there are any).
pub(crate) fn instant(ms: i64) -> String {
    let seconds = ms.div_euclid(1_000);
    let millis = ms.rem_euclid(1_000);
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // The civil date of a day count (proleptic Gregorian), after H. Hinnant.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3_600, rest % 3_600 / 60, rest % 60);
    if millis == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse::parse_rfc3339;

    #[test]
    fn instants_round_trip_through_rfc3339() {
        for ms in [
            0,
            1_798_761_600_000,
            1_709_208_000_123,
            -1_000,
            951_782_400_000,
        ] {
            assert_eq!(parse_rfc3339(&instant(ms)), Some(ms), "{ms}");
        }
        assert_eq!(instant(1_798_761_600_000), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn the_report_names_each_failure_and_counts() {
        let report = Report {
            assertions: 3,
            failures: vec![Failure {
                line: 7,
                assertion: r#""ada" has "deploy""#.into(),
                message: "it holds nothing".into(),
            }],
        };
        assert_eq!(
            report.to_string(),
            "line 7: \"ada\" has \"deploy\": it holds nothing\n1 of 3 assertions failed"
        );
        assert_eq!(
            Report {
                assertions: 1,
                failures: vec![]
            }
            .to_string(),
            "1 assertion holds"
        );
    }
}
