//! `alknet-graphs`: the command line of the metagraph store.
//!
//! `alknet-graphs --help` lists the commands; `alknet-graphs demo` builds a
//! sample store and walks through it. Exit codes: 0 ok, 1 error (or
//! problems found by `verify` / `audit verify`), 2 usage, 3 access denied
//! (`acl check`).

mod cli;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use cli::{print_cli_error, print_error, print_output, Cli, Status};

fn main() -> ExitCode {
    let parsed = match Cli::try_parse() {
        Ok(parsed) => parsed,
        Err(err) => return usage_error(err),
    };
    let json = parsed.json;
    match cli::run(parsed) {
        Ok(output) => {
            print_output(&output, json);
            match output.status {
                Status::Ok => ExitCode::SUCCESS,
                Status::Denied => ExitCode::from(3),
                Status::Failed => ExitCode::from(1),
            }
        }
        Err(err) => {
            print_cli_error(&err, json);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Help and version go to stdout with exit 0; any other parse error is a
/// usage error (exit 2), reported as JSON when `--json` was asked for.
fn usage_error(err: clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let json = std::env::args_os().skip(1).any(|arg| arg == "--json");
    if json {
        let rendered = err.render().to_string();
        let message = rendered
            .lines()
            .map(|line| line.trim_start_matches("error: ").trim())
            .find(|line| !line.is_empty())
            .unwrap_or("invalid usage")
            .to_owned();
        print_error("usage", &message, true);
    } else {
        let _ = err.print();
    }
    ExitCode::from(2)
}
