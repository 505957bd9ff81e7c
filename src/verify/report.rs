//! What [`verify`](crate::verify()) reports, and what every check works
//! with: the [`Verifier`] (the read transaction, the [`Catalog`], the
//! report so far, the progress callback) and the readers that take a
//! damaged column as it is. Every domain's checks build on this module; it
//! imports nothing above the store.

use std::fmt;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

use super::catalog::Catalog;
use crate::error::{Entity, Error};
use crate::store::Reader;

/// What [`verify`](crate::verify()) found: every problem, and how much it checked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyReport {
    problems: Vec<Problem>,
    pub(crate) nodes: u64,
    pub(crate) edges: u64,
    pub(crate) graphs: u64,
}

impl VerifyReport {
    pub(crate) fn new() -> Self {
        VerifyReport {
            problems: Vec::new(),
            nodes: 0,
            edges: 0,
            graphs: 0,
        }
    }

    /// True when no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem found, in the order the checks ran.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How many node rows were checked.
    pub fn nodes_checked(&self) -> u64 {
        self.nodes
    }

    /// How many edge rows were checked.
    pub fn edges_checked(&self) -> u64 {
        self.edges
    }

    /// How many graphs were checked.
    pub fn graphs_checked(&self) -> u64 {
        self.graphs
    }

    pub(crate) fn add(&mut self, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(Problem {
            kind,
            message: message.into(),
        });
    }

    /// Records a problem about `entity`: `{entity}: {reason}`.
    pub(crate) fn about(&mut self, kind: ProblemKind, entity: &Entity, reason: impl fmt::Display) {
        self.add(kind, format!("{entity}: {reason}"));
    }
}

/// One problem [`verify`](crate::verify()) found: its kind, and a message naming the entity
/// (graph, type, key or table row) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// What is wrong, and where, e.g. `node "ada" in graph "acme": attribute
    /// /age: "x" is not of type "integer"`.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of problem [`verify`](crate::verify()) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// SQLite's integrity check failed, or the file is damaged so that a
    /// check could not finish.
    Integrity,
    /// A row refers to a row that does not exist.
    ForeignKey,
    /// The file's schema version is not the one this build expects.
    SchemaVersion,
    /// Attributes that are not a JSON object valid against their type's
    /// current schema, or a type schema that does not parse or compile.
    SchemaViolation,
    /// A directed cycle in a graph whose type is acyclic.
    Cycle,
    /// An edge endpoint that does not exist or is in another graph.
    DanglingEndpoint,
    /// A structural rule broken: parallel edges where `multi` is false, a
    /// self-loop where not allowed, a disallowed endpoint node type, an edge
    /// against the graph's direction, a type of another graph type, an
    /// unreadable graph config, or a kept topological order out of step.
    Structure,
    /// An identity-registry row that breaks its rules: a malformed
    /// fingerprint or token hash, or a fingerprint index out of step with
    /// its peer.
    Identity,
    /// A built-in graph (or a row that refers to one) that breaks the rules
    /// its domain keeps: an ACL row the ACL cannot load or that breaks its
    /// write rules, a task whose status breaks the taskgraph's invariant, a
    /// workflow operation or flow that breaks the workflow's rules, a usable
    /// API key whose owner is gone, a reservation that draws on what is not
    /// a delegation or held more than a budget allowed.
    Domain,
    /// The audit log's hash chain is broken (an entry altered, removed or
    /// reordered, or the tail truncated, or an entry no longer matches the
    /// checkpoint that covers it); names the first broken entry. A redacted
    /// entry is not a problem.
    AuditChain,
    /// A stored audit checkpoint that is missing, out of order, not linked
    /// to the one before it, or altered. [`verify`](crate::verify()) has no trusted key, so
    /// it cannot check signatures: use
    /// [`Reader::verify_audit`](crate::Reader::verify_audit) for that.
    AuditCheckpoint,
}

impl ProblemKind {
    /// A stable snake_case name, as used in JSON output.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::ProblemKind;
    /// assert_eq!(ProblemKind::DanglingEndpoint.as_str(), "dangling_endpoint");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            ProblemKind::Integrity => "integrity",
            ProblemKind::ForeignKey => "foreign_key",
            ProblemKind::SchemaVersion => "schema_version",
            ProblemKind::SchemaViolation => "schema_violation",
            ProblemKind::Cycle => "cycle",
            ProblemKind::DanglingEndpoint => "dangling_endpoint",
            ProblemKind::Structure => "structure",
            ProblemKind::Identity => "identity",
            ProblemKind::Domain => "domain",
            ProblemKind::AuditChain => "audit_chain",
            ProblemKind::AuditCheckpoint => "audit_checkpoint",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every check works with: the read transaction, the catalog the
/// checks before it loaded, the report so far, and where progress goes.
pub(crate) struct Verifier<'c> {
    pub(crate) reader: &'c Reader,
    pub(crate) conn: &'c Connection,
    pub(crate) catalog: Catalog,
    pub(crate) report: VerifyReport,
    pub(crate) progress: Progress<'c>,
}

impl<'c> Verifier<'c> {
    /// A verifier reading `reader`, reporting progress out of `total` rows.
    pub(crate) fn new(
        reader: &'c Reader,
        progress: &'c mut dyn FnMut(u64, u64),
        total: u64,
    ) -> Self {
        Verifier {
            reader,
            conn: reader.conn(),
            catalog: Catalog::default(),
            report: VerifyReport::new(),
            progress: Progress {
                report: progress,
                total,
            },
        }
    }

    /// The report, once progress has been reported at the end.
    pub(crate) fn finish(self) -> VerifyReport {
        let done = self.report.nodes + self.report.edges;
        (self.progress.report)(done, self.progress.total.max(done));
        self.report
    }
}

/// Where [`verify_with_progress`](crate::verify_with_progress) reports the
/// rows checked.
pub(crate) struct Progress<'c> {
    report: &'c mut dyn FnMut(u64, u64),
    total: u64,
}

impl Progress<'_> {
    /// Reports every 4096 rows.
    pub(crate) fn row(&mut self, report: &VerifyReport) {
        let done = report.nodes + report.edges;
        if done % 4096 == 0 {
            (self.report)(done, self.total.max(done));
        }
    }
}

/// A column read as text whatever it holds, so a damaged value shows up in a
/// message instead of stopping a check.
pub(crate) fn text(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    Ok(opt_text(row, idx)?.unwrap_or_else(|| "NULL".to_owned()))
}

pub(crate) fn opt_text(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<String>> {
    Ok(match row.get_ref(idx)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Null => None,
    })
}

/// A column that should hold a row id; anything else reads as `None`.
pub(crate) fn int(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<i64>> {
    Ok(match row.get_ref(idx)? {
        ValueRef::Integer(n) => Some(n),
        _ => None,
    })
}

/// Errors that say the file could not be read now (locked, out of memory,
/// I/O), as opposed to the file holding damaged data.
pub(crate) fn is_environmental(err: &Error) -> bool {
    use rusqlite::ErrorCode as Code;
    match err {
        Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
            e.code,
            Code::DatabaseBusy
                | Code::DatabaseLocked
                | Code::OutOfMemory
                | Code::SystemIoFailure
                | Code::OperationInterrupted
                | Code::CannotOpen
                | Code::PermissionDenied
                | Code::DiskFull
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_stable() {
        let names: Vec<&str> = [
            ProblemKind::Integrity,
            ProblemKind::ForeignKey,
            ProblemKind::SchemaVersion,
            ProblemKind::SchemaViolation,
            ProblemKind::Cycle,
            ProblemKind::DanglingEndpoint,
            ProblemKind::Structure,
        ]
        .iter()
        .map(ProblemKind::as_str)
        .collect();
        assert_eq!(
            names,
            [
                "integrity",
                "foreign_key",
                "schema_version",
                "schema_violation",
                "cycle",
                "dangling_endpoint",
                "structure"
            ]
        );
    }
}
