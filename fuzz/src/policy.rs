//! The property the `policy` target checks: untrusted policy test files.
//!
//! Compiled twice, like `checks.rs`: by the fuzz crate and by the root
//! crate's `tests/fuzz_corpus.rs`. Uses only `alknet_graphs`.
//!
//! Any text, read as JSON and as TOML, parses or is refused as malformed
//! with a line inside the text, never a panic; every entry of a parsed
//! file starts on a line of the text that holds something; and a small
//! parsed file runs (building it may be refused, with an entry's line),
//! reporting only failures on the lines of its assertions.

use alknet_graphs::policy::{Format, Policy, PolicyError};

/// Files with more entries than this are parsed but not run (a run builds
/// a store).
const MAX_RUN_ENTRIES: usize = 24;

pub fn check_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    let line_holds_something = |line: usize| {
        text.split('\n')
            .nth(line - 1)
            .is_some_and(|l| !l.trim().is_empty())
    };
    for format in [Format::Json, Format::Toml] {
        let policy = match Policy::parse(text, format) {
            Ok(policy) => policy,
            Err(PolicyError::Malformed { line, message }) => {
                assert!(
                    (1..=lines).contains(&line),
                    "{format:?}: line {line} of {lines}: {message}"
                );
                assert!(!message.is_empty());
                continue;
            }
            Err(other) => panic!("{format:?}: parsing is not a store error: {other}"),
        };
        let entry_lines: Vec<usize> = policy
            .principals
            .iter()
            .map(|e| e.line)
            .chain(policy.memberships.iter().map(|e| e.line))
            .chain(policy.delegations.iter().map(|e| e.line))
            .chain(policy.peers.iter().map(|e| e.line))
            .chain(policy.api_keys.iter().map(|e| e.line))
            .chain(policy.assertions.iter().map(|e| e.line))
            .collect();
        for &line in &entry_lines {
            assert!(
                (1..=lines).contains(&line) && line_holds_something(line),
                "{format:?}: an entry on line {line}, which is empty or past {lines}"
            );
        }
        if entry_lines.len() > MAX_RUN_ENTRIES {
            continue;
        }
        match policy.run() {
            Ok(report) => {
                assert_eq!(report.assertions, policy.assertions.len());
                for failure in &report.failures {
                    assert!(
                        policy.assertions.iter().any(|a| a.line == failure.line),
                        "{format:?}: a failure on line {}, where no assertion is",
                        failure.line
                    );
                }
            }
            Err(PolicyError::Malformed { line, .. }) => {
                assert!(
                    entry_lines.contains(&line),
                    "{format:?}: refused at line {line}, no entry there"
                );
            }
            Err(other) => panic!("{format:?}: the scratch store failed: {other}"),
        }
    }
}
