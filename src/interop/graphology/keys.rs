//! Numeric keys: graphology stringifies a node or edge key (and an edge's
//! source and target) that is a number, as JavaScript's `String()` does.

use serde_json::Number;

/// The key graphology makes of a number: what JavaScript's
/// `String(Number(text))` gives for it.
///
/// The number is read as an IEEE double, as JavaScript reads it, and
/// written the shortest way that reads back as the same double:
/// integers as digits (`1` → `"1"`, `-0` → `"0"`, `1e3` → `"1000"`),
/// fractions with a point and no trailing zeros (`1.50` → `"1.5"`,
/// `5e-7` → `"5e-7"`), and an exponent (`e+` or `e-`, the way JavaScript
/// writes it) once the number is 10²¹ or more, or under 10⁻⁶ in
/// magnitude (`1e21` → `"1e+21"`, `1.5e-7` → `"1.5e-7"`). Like JavaScript,
/// an integer past 2⁵³ keeps only the precision of a double
/// (`12345678901234567891` → `"12345678901234567000"`), and a number too
/// large for a double is `"Infinity"` (or `"-Infinity"`).
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::number_key;
/// let key = |text: &str| number_key(&serde_json::from_str(text).unwrap());
/// assert_eq!(key("1"), "1");
/// assert_eq!(key("1.5"), "1.5");
/// assert_eq!(key("2.50"), "2.5");
/// assert_eq!(key("-0"), "0");
/// assert_eq!(key("1e3"), "1000");
/// assert_eq!(key("1e21"), "1e+21");
/// assert_eq!(key("0.000001"), "0.000001");
/// assert_eq!(key("1.5e-7"), "1.5e-7");
/// ```
pub fn number_key(number: &Number) -> String {
    let value: f64 = number.to_string().parse().unwrap_or(f64::NAN);
    js_string(value)
}

/// ECMAScript's Number::toString(10) for a double.
fn js_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    // Rust's `{:e}` writes the shortest digits that round-trip, as
    // ECMAScript requires: `d.ddde<exp>`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i64;
    // The decimal point sits after `n` digits: value = 0.digits × 10^n.
    let n = exponent + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let exp_sign = if n > 0 { "+" } else { "-" };
        let rest = if k == 1 {
            String::new()
        } else {
            format!(".{}", &digits[1..])
        };
        format!("{}{rest}e{exp_sign}{}", &digits[..1], (n - 1).abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> String {
        number_key(&serde_json::from_str(text).expect("a number"))
    }

    #[test]
    fn numbers_become_what_javascript_string_gives() {
        for (text, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("7", "7"),
            ("-12", "-12"),
            ("1.0", "1"),
            ("0.1", "0.1"),
            ("-1.25", "-1.25"),
            ("123456789012345680000", "123456789012345680000"),
            ("1e21", "1e+21"),
            ("1.5e300", "1.5e+300"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("12345678901234567891", "12345678901234567000"),
            ("9007199254740993", "9007199254740992"),
            ("1e400", "Infinity"),
            ("-1e400", "-Infinity"),
            ("100", "100"),
            ("1E2", "100"),
        ] {
            assert_eq!(key(text), expected, "{text}");
        }
    }
}
