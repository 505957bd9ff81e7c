//! What a command prints: a JSON document with `--json`, text otherwise;
//! errors as `error: …` on stderr, or `{"error": {"kind", "message"}}`.

use std::fmt;
use std::io::Write;

use serde_json::{json, Value};

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// An access check said no: exit 3.
    Denied,
    /// A check found problems, reported as the output: exit 1.
    Failed,
}

/// A command's result, in both forms.
#[derive(Debug)]
pub struct Output {
    pub json: Value,
    pub text: String,
    pub status: Status,
}

impl Output {
    pub fn new(json: Value, text: impl Into<String>) -> Self {
        Output {
            json,
            text: text.into(),
            status: Status::Ok,
        }
    }

    /// Nothing more to print (a command that streamed its output).
    pub fn streamed() -> Self {
        Output {
            json: Value::Null,
            text: String::new(),
            status: Status::Ok,
        }
    }

    pub fn denied(mut self) -> Self {
        self.status = Status::Denied;
        self
    }

    pub fn failed(mut self) -> Self {
        self.status = Status::Failed;
        self
    }
}

/// Everything a command can fail with, and its exit code.
#[derive(Debug)]
pub enum CliError {
    /// The library refused or failed (exit 1).
    Store(alknet_graphs::Error),
    /// Arguments that parse but make no sense together (exit 2).
    Usage(String),
    /// Bad input or I/O outside the library (exit 1): `kind` is one of
    /// `io`, `invalid_json`, `invalid_input`, `timeout`, or an identity
    /// registry refusal (`duplicate`, `not_found`, `invalid`, `backend`).
    Input { kind: &'static str, message: String },
}

impl CliError {
    pub fn io(message: impl Into<String>) -> Self {
        CliError::Input {
            kind: "io",
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::Input {
            kind: "invalid_input",
            message: message.into(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Store(err) => err.kind(),
            CliError::Usage(_) => "usage",
            CliError::Input { kind, .. } => kind,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Store(err) => write!(f, "{err}"),
            CliError::Usage(message) | CliError::Input { message, .. } => f.write_str(message),
        }
    }
}

impl From<alknet_graphs::Error> for CliError {
    fn from(err: alknet_graphs::Error) -> Self {
        CliError::Store(err)
    }
}

impl From<alknet_graphs::identity::StoreError> for CliError {
    /// One line for the whole chain: the error, then each cause, so a
    /// write that committed but could not be applied also says why.
    fn from(err: alknet_graphs::identity::StoreError) -> Self {
        let mut message = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(inner) = cause {
            message.push_str("; caused by: ");
            message.push_str(&inner.to_string());
            cause = inner.source();
        }
        CliError::Input {
            kind: err.kind(),
            message,
        }
    }
}

pub type CliResult<T = Output> = Result<T, CliError>;

/// The JSON error report.
pub fn error_json(kind: &str, message: &str) -> Value {
    json!({"error": {"kind": kind, "message": message}})
}

/// Prints one line on stdout, ignoring a closed pipe (`| head`).
pub fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints a JSON value as one line on stdout.
pub fn print_json(value: &Value) {
    print_line(&value.to_string());
}

/// Prints a result: its JSON document, or its text (if any).
pub fn print_output(output: &Output, json_mode: bool) {
    if json_mode {
        if !output.json.is_null() {
            print_json(&output.json);
        }
    } else if !output.text.is_empty() {
        print_line(output.text.trim_end_matches('\n'));
    }
}

/// The typed data of a library error for its JSON report: the cycle, the
/// schema violations, the document pointer of a rejected import, and the
/// structural rule an edge breaks.
pub fn error_details(err: &CliError) -> Value {
    let mut details = serde_json::Map::new();
    if let CliError::Store(err) = err {
        if let Some(cycle) = err.cycle() {
            details.insert("cycle".into(), json!(cycle));
        }
        let violations = err.violations();
        if !violations.is_empty() {
            let list: Vec<Value> = violations
                .iter()
                .map(|v| json!({"instance_path": v.instance_path, "message": v.message}))
                .collect();
            details.insert("violations".into(), Value::Array(list));
        }
        if let Some(pointer) = err.pointer() {
            details.insert("pointer".into(), json!(pointer));
        }
        if let Some(rule) = err.rule() {
            details.insert("rule".into(), json!(rule.name()));
        }
        if let Some(rule) = err.task_rule() {
            details.insert("rule".into(), json!(rule.name()));
        }
        if let Some(entity) = err.entity() {
            details.insert("entity".into(), json!(entity.to_string()));
        }
    }
    Value::Object(details)
}

/// Prints an error with its typed data (see [`error_details`]).
pub fn print_cli_error(err: &CliError, json_mode: bool) {
    if json_mode {
        let mut report = error_json(err.kind(), &err.to_string());
        if let (Some(slot), Value::Object(details)) = (
            report.get_mut("error").and_then(Value::as_object_mut),
            error_details(err),
        ) {
            slot.extend(details);
        }
        print_json(&report);
    } else {
        print_error(err.kind(), &err.to_string(), false);
    }
}

/// Prints an error where it belongs for the mode.
pub fn print_error(kind: &str, message: &str, json_mode: bool) {
    if json_mode {
        print_json(&error_json(kind, message));
    } else {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {message}");
    }
}

/// A key or name as it reads best in text: bare when it is a plain word,
/// quoted and escaped otherwise (empty, spaces, quotes, control characters).
pub fn show(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\\');
    if plain {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// Items joined by ", ", or "(none)".
pub fn list_or_none<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let parts: Vec<String> = items.into_iter().map(|s| show(s.as_ref())).collect();
    if parts.is_empty() {
        "(none)".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(show("ci-bot"), "ci-bot");
        assert_eq!(show("repo:read"), "repo:read");
        assert_eq!(show("a b"), r#""a b""#);
        assert_eq!(show(""), r#""""#);
        assert_eq!(show("a\nb"), r#""a\nb""#);
        assert_eq!(list_or_none(Vec::<String>::new()), "(none)");
        assert_eq!(list_or_none(["a", "b c"]), r#"a, "b c""#);
    }

    #[test]
    fn errors_have_a_kind_and_an_exit_code() {
        let err = CliError::Usage("nothing to check".into());
        assert_eq!((err.kind(), err.exit_code()), ("usage", 2));
        let err = CliError::io("cannot read x.json: no such file");
        assert_eq!((err.kind(), err.exit_code()), ("io", 1));
        let err = CliError::from(alknet_graphs::Error::ReadOnly {
            path: "a.db".into(),
        });
        assert_eq!((err.kind(), err.exit_code()), ("read_only", 1));
        assert_eq!(err.to_string(), "store a.db is read-only");
        assert_eq!(
            error_json("io", "m"),
            json!({"error": {"kind": "io", "message": "m"}})
        );
    }
}
