//! Checking a store file end to end: SQLite's own checks, then every rule
//! the library enforces when it writes.
//!
//! [`verify`] runs a list of small checks ([`CHECKS`]) inside one read
//! transaction. Each check scans what it is about and records every problem
//! it finds; none stops at the first. A check that cannot finish because the
//! file is damaged (a malformed page, a missing table) records that as a
//! problem too, and the next check runs. Adding a check is one function in
//! the list and, if it finds a new kind of damage, one [`ProblemKind`].
//!
//! This module is the runner. Each check lives with the rules it checks:
//! the file's own in `verify/file.rs`, the metagraph's in
//! `graph/verify.rs`, the built-in graphs' in `verify/builtin.rs` (which
//! calls into the ACL, taskgraph and workflow modules), the identity
//! registry's in `identity/verify.rs`, the ACL's in `acl/verify.rs` and the
//! audit log's in `audit/verify.rs`. They all build on [`report`], which
//! holds the report and the context a check works with.

mod builtin;
pub(crate) mod catalog;
mod file;
pub(crate) mod report;

use crate::error::Result;
use crate::store::Store;
use crate::{acl, audit, identity, metagraph};
use report::{is_environmental, Verifier};
pub use report::{Problem, ProblemKind, VerifyReport};

/// Checks a store for damage and for data that breaks the library's rules.
///
/// Everything is read in one read transaction, so the result describes one
/// committed state even while other connections write. Checked, in order:
///
/// 1. SQLite's `PRAGMA integrity_check` (each line that is not `ok`; SQLite
///    stops listing at 100);
/// 2. `PRAGMA foreign_key_check` (each row that refers to a missing row);
/// 3. the schema version in the file is the one this build expects;
/// 4. graph type configs parse; node and edge type schemas parse and compile;
///    allowed endpoint lists name node types of the same graph type;
/// 5. every node's and edge's attributes are a JSON object valid against its
///    type's current schema, and the type belongs to the graph's type;
/// 6. every edge's endpoints exist, are in the edge's graph, and are of node
///    types its edge type allows; direction and self-loops follow the graph
///    type;
/// 7. no parallel edges in a graph whose type is not `multi`;
/// 8. every graph of an `acyclic` type has no directed cycle (one cycle is
///    named per graph), and its kept topological order agrees with its edges;
/// 9. the built-in graphs keep their own rules, checked by the same code
///    their writes and loaders use: every row of the ACL loads (key
///    conventions, `identity_id` = key, edges between the right kinds of
///    node) and keeps the ACL's write rules (well-formed tokens,
///    memberships only into orgs and roles, validities that can be in
///    force); every taskgraph keeps its status invariant; every workflow's
///    operations have compiling schemas and its flows join compatible ones;
///    every usable API key has an owner (a peer or an ACL principal);
/// 10. the identity tables' rules, the audit log's hash chain, and its
///     stored checkpoints: numbered, linked, and agreeing with the chain
///     (their signatures need the trusted key, which `verify` does not
///     have: see [`Reader::verify_audit`](crate::Reader::verify_audit)).
///
/// Damage in one place can show up under more than one kind: an edge whose
/// endpoint row was deleted is both a [`ProblemKind::ForeignKey`] and a
/// [`ProblemKind::DanglingEndpoint`]. Rows whose graph or type row is missing
/// are reported by the foreign-key check and otherwise skipped.
///
/// # Errors
///
/// [`Error::Sqlite`](crate::Error::Sqlite) only when the file cannot be
/// read at all (a reader cannot be opened, the disk fails, the database is
/// locked). Damage found in the file is reported in the [`VerifyReport`],
/// never as an error.
///
/// # Example
///
/// ```
/// use alknet_graphs::{verify, GraphConfig, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("graphs.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("org", GraphConfig::directed())?;
///     tx.define_node_type("org", "person", &json!({"type": "object"}))?;
///     tx.create_graph("acme", "org")?;
///     tx.add_node("acme", "ada", "person", &json!({"name": "Ada"}))?;
///     Ok(())
/// })?;
///
/// let report = verify(&store)?;
/// assert!(report.is_clean(), "{:?}", report.problems());
/// assert_eq!((report.graphs_checked(), report.nodes_checked()), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(store: &Store) -> Result<VerifyReport> {
    verify_with_progress(store, &mut |_, _| {})
}

/// [`verify`], calling `progress(done, total)` as it goes: how many of the
/// store's nodes and edges (`total`) have been checked, every few thousand
/// and at the end.
///
/// # Errors
///
/// As [`verify`].
///
/// # Example
///
/// ```
/// use alknet_graphs::{verify_with_progress, Store};
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("graphs.db"))?;
/// let mut last = None;
/// let report = verify_with_progress(&store, &mut |done, total| last = Some((done, total)))?;
/// assert!(report.is_clean());
/// assert_eq!(last, Some((0, 0)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_with_progress(
    store: &Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    let tx = store.begin_read()?;
    // Only for the progress report: a store missing a table is the
    // checks' to report, so a failed count counts nothing.
    let total: i64 = tx
        .conn()
        .query_row(
            "SELECT (SELECT COUNT(*) FROM nodes) + (SELECT COUNT(*) FROM edges)",
            [],
            |row| row.get(0),
        )
        .unwrap_or(0);
    let mut verifier = Verifier::new(&tx, progress, total.max(0) as u64);
    for check in CHECKS {
        if let Err(err) = (check.run)(&mut verifier) {
            if is_environmental(&err) {
                return Err(err);
            }
            verifier.report.add(
                ProblemKind::Integrity,
                format!("the {} check could not finish: {err}", check.name),
            );
        }
    }
    Ok(verifier.finish())
}

/// One check: a name for the message when it cannot finish, and the function.
struct Check {
    name: &'static str,
    run: fn(&mut Verifier<'_>) -> Result<()>,
}

/// The checks, in the order they run. The node, edge and graph checks use
/// the catalog that the type and graph checks before them load.
const CHECKS: &[Check] = &[
    Check {
        name: "integrity",
        run: file::integrity,
    },
    Check {
        name: "foreign key",
        run: file::foreign_keys,
    },
    Check {
        name: "schema version",
        run: file::schema_version,
    },
    Check {
        name: "graph type",
        run: metagraph::verify::graph_types,
    },
    Check {
        name: "node and edge type",
        run: metagraph::verify::item_types,
    },
    Check {
        name: "endpoint type",
        run: metagraph::verify::endpoint_types,
    },
    Check {
        name: "graph",
        run: metagraph::verify::graphs,
    },
    Check {
        name: "node",
        run: metagraph::verify::nodes,
    },
    Check {
        name: "edge",
        run: metagraph::verify::edges,
    },
    Check {
        name: "parallel edge",
        run: metagraph::verify::parallel_edges,
    },
    Check {
        name: "acyclic graph",
        run: metagraph::verify::acyclic_graphs,
    },
    Check {
        name: "built-in graph",
        run: builtin::graphs,
    },
    Check {
        name: "identity",
        run: identity::verify::registry,
    },
    Check {
        name: "reservation",
        run: acl::verify::reservations,
    },
    Check {
        name: "audit chain",
        run: audit::verify::chain,
    },
];
