//! `test FILE…`: runs policy test files (JSON or TOML) against scratch
//! stores of their own; exit 0 when every assertion holds, 1 naming each
//! failed assertion and its line, 2 for a malformed file (with its line).

use std::path::PathBuf;

use alknet_graphs::policy::{Format, Policy, PolicyError};
use clap::Args;
use serde_json::json;

use super::{read_text, CliError, CliResult, Ctx, Output};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Policy test files, `.json` or `.toml` (see docs/policy-tests.md)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(_ctx: &Ctx, args: TestArgs) -> CliResult {
    let mut files = Vec::new();
    let mut text = String::new();
    let mut failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        let format = Format::from_path(path).ok_or_else(|| {
            CliError::Usage(format!("{name}: a policy test file is .json or .toml"))
        })?;
        let source = read_text(path)?;
        let report = Policy::parse(&source, format)
            .and_then(|policy| policy.run())
            .map_err(|err| match err {
                PolicyError::Malformed { .. } => CliError::Usage(format!("{name}: {err}")),
                other => CliError::io(format!("{name}: {other}")),
            })?;
        for failure in &report.failures {
            text.push_str(&format!(
                "{name}:{}: {}: {}\n",
                failure.line, failure.assertion, failure.message
            ));
        }
        let summary = report.to_string();
        let summary = summary.lines().last().unwrap_or_default();
        text.push_str(&format!("{name}: {summary}\n"));
        failed |= !report.passed();
        files.push(json!({
            "file": name,
            "assertions": report.assertions,
            "failed": report.failures.iter().map(|f| json!({
                "line": f.line,
                "assertion": f.assertion,
                "message": f.message,
            })).collect::<Vec<_>>(),
        }));
    }
    let output = Output::new(json!({"passed": !failed, "files": files}), text);
    Ok(if failed { output.failed() } else { output })
}
