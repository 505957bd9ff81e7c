//! `verify`: checks the whole store file for damage and for data that
//! breaks the library's rules; exit 1 when a problem is found.

use std::fmt::Write as _;

use serde_json::json;

use super::progress::{Reporter, Unit};
use super::{CliResult, Ctx, Output};

pub fn run(ctx: &Ctx) -> CliResult {
    let store = ctx.open()?;
    let progress = Reporter::new(
        ctx.progress,
        format!("verifying {}", ctx.db.display()),
        0,
        Unit::Items("rows"),
    );
    let verified = alknet_graphs::verify_with_progress(&store, &mut |done, total| {
        progress.set_total(total);
        progress.set(done);
    });
    progress.finish();
    let report = verified?;
    let mut text = String::new();
    for problem in report.problems() {
        let _ = writeln!(text, "{}: {}", problem.kind.as_str(), problem.message);
    }
    let checked = format!(
        "{}, {}, {} checked",
        counted(report.graphs_checked(), "graph"),
        counted(report.nodes_checked(), "node"),
        counted(report.edges_checked(), "edge")
    );
    if report.is_clean() {
        let _ = write!(text, "clean: {checked}");
    } else {
        let count = report.problems().len() as u64;
        let _ = write!(text, "{}: {checked}", counted(count, "problem"));
    }
    let output = Output::new(
        json!({
            "clean": report.is_clean(),
            "problems": report.problems().iter().map(|p| json!({
                "kind": p.kind.as_str(),
                "message": p.message,
            })).collect::<Vec<_>>(),
            "nodes_checked": report.nodes_checked(),
            "edges_checked": report.edges_checked(),
            "graphs_checked": report.graphs_checked(),
        }),
        text,
    );
    Ok(if report.is_clean() {
        output
    } else {
        output.failed()
    })
}

/// `1 node`, `3 nodes`.
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_the_singular_and_plural() {
        assert_eq!(counted(1, "edge"), "1 edge");
        assert_eq!(counted(0, "edge"), "0 edges");
        assert_eq!(counted(12, "problem"), "12 problems");
    }
}
