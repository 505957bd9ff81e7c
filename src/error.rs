//! The crate's error type: every rejection names the entity and the reason.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::acl::Permission;
use crate::metagraph::RuleBreak;
use crate::taskgraph::TaskRule;
use crate::workflow::BrokenFlow;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The entity an error is about, displayed the way a user would name it:
/// `node "build" in graph "release-7"`.
///
/// Names and keys are displayed quoted and escaped, so a key holding
/// control characters or quotes still reads unambiguously.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entity {
    /// A graph type, by name.
    GraphType(String),
    /// A node type of a graph type.
    NodeType {
        /// The graph type the node type belongs to.
        graph_type: String,
        /// The node type's name.
        name: String,
    },
    /// An edge type of a graph type.
    EdgeType {
        /// The graph type the edge type belongs to.
        graph_type: String,
        /// The edge type's name.
        name: String,
    },
    /// A graph, by name.
    Graph(String),
    /// A node of a graph.
    Node {
        /// The graph holding the node.
        graph: String,
        /// The node's key.
        key: String,
    },
    /// An edge of a graph.
    Edge {
        /// The graph holding the edge.
        graph: String,
        /// The edge's key.
        key: String,
    },
    /// A durable consumer of the change stream, by name.
    Consumer(String),
    /// A peer of the identity registry, by peer id.
    Peer(String),
    /// An API key of the identity registry, by id.
    ApiKey(String),
    /// A stored credential, by provider.
    Credential(String),
    /// An entry of the audit log, by sequence number.
    AuditEntry(u64),
    /// A signed checkpoint of the audit log, by checkpoint number.
    Checkpoint(u64),
    /// A reservation against delegation budgets, by id.
    Reservation(String),
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::GraphType(name) => write!(f, "graph type {name:?}"),
            Entity::NodeType { graph_type, name } => {
                write!(f, "node type {name:?} of graph type {graph_type:?}")
            }
            Entity::EdgeType { graph_type, name } => {
                write!(f, "edge type {name:?} of graph type {graph_type:?}")
            }
            Entity::Graph(name) => write!(f, "graph {name:?}"),
            Entity::Node { graph, key } => write!(f, "node {key:?} in graph {graph:?}"),
            Entity::Edge { graph, key } => write!(f, "edge {key:?} in graph {graph:?}"),
            Entity::Consumer(name) => write!(f, "consumer {name:?}"),
            Entity::Peer(id) => write!(f, "peer {id:?}"),
            Entity::ApiKey(id) => write!(f, "API key {id:?}"),
            Entity::Credential(provider) => write!(f, "credential {provider:?}"),
            Entity::AuditEntry(seq) => write!(f, "audit entry {seq}"),
            Entity::Checkpoint(seq) => write!(f, "checkpoint {seq}"),
            Entity::Reservation(id) => write!(f, "reservation {id:?}"),
        }
    }
}

/// One JSON Schema violation: where in the document, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the offending value; empty for the root.
    pub instance_path: String,
    /// The validator's message, e.g. `"finished" is not one of ["pending","done"]`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.instance_path.is_empty() {
            write!(f, "attributes: {}", self.message)
        } else {
            write!(f, "attribute {}: {}", self.instance_path, self.message)
        }
    }
}

/// Why a file is not a store of this library (see [`Error::NotAStore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotAStoreReason {
    /// A file of zero bytes. [`StoreBuilder::initialize_empty`](crate::StoreBuilder::initialize_empty)
    /// turns it into a store.
    EmptyFile,
    /// A SQLite database without any table. `initialize_empty` turns it
    /// into a store.
    EmptyDatabase,
    /// A SQLite database of some other application.
    ForeignDatabase,
    /// Not a SQLite database at all.
    NotSqlite,
}

impl NotAStoreReason {
    /// Whether [`StoreBuilder::initialize_empty`](crate::StoreBuilder::initialize_empty)
    /// would make a store of the file.
    pub fn is_empty(self) -> bool {
        matches!(
            self,
            NotAStoreReason::EmptyFile | NotAStoreReason::EmptyDatabase
        )
    }
}

impl fmt::Display for NotAStoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotAStoreReason::EmptyFile => {
                "is an empty file, not an alknet-graphs store; run `alknet-graphs init` to initialise it"
            }
            NotAStoreReason::EmptyDatabase => {
                "is an empty SQLite database, not an alknet-graphs store; run `alknet-graphs init` to initialise it"
            }
            NotAStoreReason::ForeignDatabase => {
                "is not an alknet-graphs store (a SQLite database without the alknet-graphs schema)"
            }
            NotAStoreReason::NotSqlite => "is not a SQLite database",
        })
    }
}

/// Everything that can go wrong in this crate.
///
/// Rejections of user input name the entity and the reason; a rejected write
/// leaves the store unchanged. Prefer the predicates (`is_not_found`,
/// `is_cycle`, …) and the typed fields over matching message text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entity an operation needs does not exist.
    #[error("{entity} does not exist")]
    NotFound {
        /// What was looked for.
        entity: Entity,
    },
    /// An entity with that name or key exists already.
    #[error("{entity} already exists")]
    AlreadyExists {
        /// What already exists.
        entity: Entity,
    },
    /// A JSON Schema that does not compile, or that refers outside itself.
    #[error("{entity}: invalid JSON Schema: {reason}")]
    InvalidSchema {
        /// The type whose schema was rejected.
        entity: Entity,
        /// The schema compiler's message.
        reason: String,
    },
    /// Attributes that fail their type's JSON Schema; lists every violation.
    #[error("{entity}: {}", join(violations))]
    SchemaViolation {
        /// The node or edge being written.
        entity: Entity,
        /// Each violation with its JSON-pointer instance path.
        violations: Vec<Violation>,
    },
    /// An edge that would close a directed cycle in an acyclic graph, or a
    /// graph whose directed cycle leaves an algorithm that needs none (a
    /// topological order) without an answer.
    #[error("{entity}: {} {}", cycle_verb(entity), quoted_path(cycle))]
    Cycle {
        /// The edge being written, or the graph.
        entity: Entity,
        /// Node keys in order around the cycle; the first key is repeated at the end.
        cycle: Vec<String>,
    },
    /// A type that still has instances was dropped without cascade.
    #[error("{entity}: still has {count} instance(s); drop it with cascade to remove them too")]
    InUse {
        /// The type (or graph type) being dropped.
        entity: Entity,
        /// How many instances (graphs, nodes or edges) still use it.
        count: u64,
    },
    /// A schema change that existing instances of the type do not satisfy.
    #[error(
        "{entity}: the new schema rejects {count} existing instance(s): {}{}",
        quoted_list(failing),
        if *count as usize > failing.len() { ", …" } else { "" }
    )]
    Revalidation {
        /// The type whose schema was being changed.
        entity: Entity,
        /// Keys of the first failing instances (at most 20), as `graph/key`.
        failing: Vec<String>,
        /// How many instances fail in all.
        count: u64,
    },
    /// A value past one of the store's [`Limits`](crate::Limits).
    #[error("{entity}: {what} is {actual} bytes, over the limit of {limit}")]
    TooLarge {
        /// The entity being written.
        entity: Entity,
        /// What is too large (`attributes`, `key`, `name`, `schema`).
        what: &'static str,
        /// Its size.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// Input that breaks one of the store's rules (a bad name, a refused
    /// delegation, …) other than the structural ones of [`Error::Rule`].
    #[error("{entity}: {reason}")]
    Invalid {
        /// The entity being written.
        entity: Entity,
        /// Why it was rejected.
        reason: String,
    },
    /// An edge that breaks a structural rule of its graph type (direction,
    /// self-loop, parallel edge, endpoint): refused when written, and when a
    /// graph type's new config would make an existing edge break it. Its
    /// [`kind`](Error::kind) is `invalid`.
    #[error("{entity}: {rule}")]
    Rule {
        /// The edge.
        entity: Entity,
        /// The rule it breaks.
        rule: Box<RuleBreak>,
    },
    /// A task write, an imported task or a stored one that breaks a rule of
    /// the task lifecycle: a status change it does not allow, a task made
    /// ready before its dependencies are done, a status written as an
    /// attribute, … Its [`kind`](Error::kind) is `invalid`.
    #[error("{entity}: {rule}")]
    Task {
        /// The task.
        entity: Entity,
        /// The rule it breaks.
        rule: Box<TaskRule>,
    },
    /// A `flows_to` edge of a workflow whose source operation's output
    /// does not give what its target's input requires, written, imported
    /// or stored: the edge with every missing or mismatched property. Its
    /// [`kind`](Error::kind) is `invalid`.
    #[error("{entity}: {flow}")]
    Flow {
        /// The edge.
        entity: Entity,
        /// The operations it joins and what the source's output lacks.
        flow: Box<BrokenFlow>,
    },
    /// A delegation of what its delegator does not hold at the instant it
    /// is written: every missing permission is named. Its
    /// [`kind`](Error::kind) is `invalid`.
    #[error(
        "{entity}: delegator {delegator:?} does not hold {}",
        Permission::list(missing)
    )]
    NotHeld {
        /// The delegation.
        entity: Entity,
        /// Who would pass on what it does not hold.
        delegator: String,
        /// What it does not hold, scopes first, each once.
        missing: Vec<Permission>,
    },
    /// An operation that needs an entity in one status found it in another:
    /// a compare-and-set of a task's status, or a worker's claim settling a
    /// task that is no longer running. Its [`kind`](Error::kind) is
    /// `invalid`.
    #[error("{entity}: status is {current:?}, not the expected {expected:?}")]
    StatusConflict {
        /// The task.
        entity: Entity,
        /// The status it has.
        current: String,
        /// The status the operation needed.
        expected: String,
    },
    /// A worker's claim on a dispatched job that lapsed (its lease ran out)
    /// or was taken over by another worker. Its [`kind`](Error::kind) is
    /// `invalid`.
    #[error("{entity}: the claim of worker {worker:?} on job {job} has lapsed or was taken over")]
    ClaimLapsed {
        /// The task the job runs.
        entity: Entity,
        /// The worker that held the claim.
        worker: String,
        /// The job.
        job: i64,
    },
    /// A graphology document that an import rejected: where in the document
    /// (a JSON pointer), what is wrong, and, when the store refused one of
    /// its items, that refusal as `cause`. [`kind`](Error::kind) and the
    /// predicates and data accessors ([`cycle`](Error::cycle),
    /// [`violations`](Error::violations), [`is_already_exists`](Error::is_already_exists), …)
    /// answer for the cause, so a rejected import reads like the write it
    /// contained; a problem of the document itself has kind `invalid`.
    #[error("{}", import_text(entity, pointer, reason))]
    Import {
        /// The graph being imported.
        entity: Entity,
        /// JSON pointer (RFC 6901) into the document; empty for the whole
        /// document.
        pointer: String,
        /// What is wrong there.
        reason: String,
        /// The store's refusal of the item at `pointer`, when there was one;
        /// `reason` restates it, so it is not also this error's
        /// [`source`](std::error::Error::source).
        cause: Option<Box<Error>>,
    },
    /// A generic metagraph write to a graph or type of a built-in graph type
    /// (`acl`, `taskgraph`, `workflow`): those are written only through
    /// their domain handle, which keeps the rules named here.
    #[error("{entity}: {rule}; use {instead} instead")]
    Protected {
        /// The graph or type the write was aimed at.
        entity: Entity,
        /// The rule the write would have bypassed.
        rule: &'static str,
        /// The command or API that keeps the rule.
        instead: &'static str,
    },
    /// The file was written by a newer version of this library.
    #[error(
        "database schema version {found} is newer than this library supports ({supported}); upgrade alknet-graphs"
    )]
    SchemaTooNew {
        /// The version recorded in the file.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// A file that is not a store of this library. Opening it changed
    /// nothing.
    #[error("store {} {reason}", path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        reason: NotAStoreReason,
        /// SQLite's error, when SQLite could not read the file.
        #[source]
        source: Option<rusqlite::Error>,
    },
    /// A write to a store opened read-only (asked for, or because the file
    /// or its directory is not writable).
    #[error("store {} is read-only", path.display())]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// A store opened read-only whose schema is older than this library's:
    /// it must be opened writable once, which migrates it.
    #[error("store {} must be migrated ({reason}); open it writable once to migrate it", path.display())]
    NeedsMigration {
        /// The file.
        path: PathBuf,
        /// What is out of date.
        reason: String,
    },
    /// The store file cannot be created, opened or read.
    #[error("cannot {action} store {}: {}", path.display(), io_reason(source))]
    StoreFile {
        /// The file.
        path: PathBuf,
        /// What was being done: `create`, `open` or `read`.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A durable consumer whose position is behind the change stream's
    /// retention: batches it never read were pruned.
    #[error(
        "consumer {consumer:?} is at offset {offset}, but the change stream is pruned through offset {pruned_through}; rebuild from the store and skip ahead"
    )]
    ConsumerBehind {
        /// The consumer's name.
        consumer: String,
        /// The offset it has read through.
        offset: i64,
        /// The last offset the stream's retention removed.
        pruned_through: i64,
    },
    /// `begin_write` on a thread that already holds this store's write transaction.
    #[error(
        "a write transaction is already open on this thread; use it instead of starting another"
    )]
    WriteInProgress,
    /// Stored data that does not parse (the file was modified outside this
    /// library). The parser's error is in the message, so it is not also
    /// this error's [`source`](std::error::Error::source).
    #[error("corrupt {what} in the store: {cause}")]
    Corrupt {
        /// Which stored value failed to parse.
        what: String,
        /// The parser's error.
        cause: serde_json::Error,
    },
    /// A checkpoint document that does not decode (malformed JSON, a
    /// missing or unknown field, a hash or key that is not lowercase hex of
    /// the right length).
    #[error("invalid checkpoint: {reason}")]
    InvalidCheckpoint {
        /// What is wrong with it.
        reason: String,
    },
    /// An audit signing or verifying key that does not decode.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system's random source failed while generating a key.
    #[error("cannot generate a signing key: {reason}")]
    KeyGeneration {
        /// The random source's error.
        reason: String,
    },
    /// An error from SQLite, whose message is in this one's (so it is not
    /// also its [`source`](std::error::Error::source)).
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        Error::Sqlite(error)
    }
}

impl Error {
    /// The store's refusal behind an [`Error::Import`], or `self`: what the
    /// predicates and data accessors look at.
    fn underlying(&self) -> &Error {
        match self {
            Error::Import {
                cause: Some(cause), ..
            } => cause.underlying(),
            _ => self,
        }
    }

    /// The JSON pointer into a graphology document, when this is an import
    /// rejection ([`Error::Import`]).
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Error::Import { pointer, .. } => Some(pointer),
            _ => None,
        }
    }

    /// True when the operation needed an entity that does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self.underlying(), Error::NotFound { .. })
    }

    /// True when the name or key is taken.
    pub fn is_already_exists(&self) -> bool {
        matches!(self.underlying(), Error::AlreadyExists { .. })
    }

    /// True when attributes failed their type's JSON Schema.
    pub fn is_schema_violation(&self) -> bool {
        matches!(self.underlying(), Error::SchemaViolation { .. })
    }

    /// True when an edge would have closed a cycle in an acyclic graph.
    pub fn is_cycle(&self) -> bool {
        matches!(self.underlying(), Error::Cycle { .. })
    }

    /// The structural rule an edge breaks, when that is why it was refused.
    pub fn rule(&self) -> Option<&RuleBreak> {
        match self.underlying() {
            Error::Rule { rule, .. } => Some(rule.as_ref()),
            _ => None,
        }
    }

    /// The rule of the task lifecycle a task breaks, when that is why it
    /// was refused (or, from `verify`, reported).
    pub fn task_rule(&self) -> Option<&TaskRule> {
        match self.underlying() {
            Error::Task { rule, .. } => Some(rule.as_ref()),
            _ => None,
        }
    }

    /// The broken flow, when a workflow edge was refused (or, from
    /// `verify`, reported) for joining incompatible operations.
    pub fn broken_flow(&self) -> Option<&BrokenFlow> {
        match self.underlying() {
            Error::Flow { flow, .. } => Some(flow.as_ref()),
            _ => None,
        }
    }

    /// What a delegator does not hold, when that is why its delegation was
    /// refused.
    pub fn not_held(&self) -> Option<&[Permission]> {
        match self.underlying() {
            Error::NotHeld { missing, .. } => Some(missing),
            _ => None,
        }
    }

    /// The status found and the status expected, when an operation found
    /// its entity in the wrong one.
    pub fn status_conflict(&self) -> Option<(&str, &str)> {
        match self.underlying() {
            Error::StatusConflict {
                current, expected, ..
            } => Some((current, expected)),
            _ => None,
        }
    }

    /// True when a worker's claim lapsed or was taken over.
    pub fn is_claim_lapsed(&self) -> bool {
        matches!(self.underlying(), Error::ClaimLapsed { .. })
    }

    /// True when a generic write to a built-in graph or type was refused.
    pub fn is_protected(&self) -> bool {
        matches!(self, Error::Protected { .. })
    }

    /// True when the file is not a store of this library (empty, another
    /// application's database, or not a database).
    pub fn is_not_a_store(&self) -> bool {
        matches!(self, Error::NotAStore { .. })
    }

    /// Why the file is not a store, when this is a [`Error::NotAStore`].
    pub fn not_a_store_reason(&self) -> Option<NotAStoreReason> {
        match self {
            Error::NotAStore { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// True when a write was refused because the store is read-only.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Error::ReadOnly { .. })
    }

    /// The store file this error is about, when it is about the file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::NotAStore { path, .. }
            | Error::ReadOnly { path }
            | Error::NeedsMigration { path, .. }
            | Error::StoreFile { path, .. } => Some(path),
            _ => None,
        }
    }

    /// True when a durable consumer fell behind the stream's retention.
    pub fn is_consumer_behind(&self) -> bool {
        matches!(self, Error::ConsumerBehind { .. })
    }

    /// The keys around the cycle, when this is a cycle rejection.
    pub fn cycle(&self) -> Option<&[String]> {
        match self.underlying() {
            Error::Cycle { cycle, .. } => Some(cycle),
            _ => None,
        }
    }

    /// The schema violations, when this is a schema rejection.
    pub fn violations(&self) -> &[Violation] {
        match self.underlying() {
            Error::SchemaViolation { violations, .. } => violations,
            _ => &[],
        }
    }

    /// The variant's name in snake case (`"not_found"`, `"already_exists"`,
    /// `"schema_violation"`, …): a stable, machine-readable label, e.g. for
    /// the `kind` of a JSON error report. Match on the variant in Rust code.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{Entity, Error};
    /// let err = Error::NotFound { entity: Entity::Graph("release-7".into()) };
    /// assert_eq!(err.kind(), "not_found");
    /// assert_eq!(Error::WriteInProgress.kind(), "write_in_progress");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Import {
                cause: Some(cause), ..
            } => cause.kind(),
            Error::Import { .. } => "invalid",
            Error::NotFound { .. } => "not_found",
            Error::AlreadyExists { .. } => "already_exists",
            Error::InvalidSchema { .. } => "invalid_schema",
            Error::SchemaViolation { .. } => "schema_violation",
            Error::Cycle { .. } => "cycle",
            Error::InUse { .. } => "in_use",
            Error::Revalidation { .. } => "revalidation",
            Error::TooLarge { .. } => "too_large",
            Error::Invalid { .. }
            | Error::Rule { .. }
            | Error::Task { .. }
            | Error::Flow { .. }
            | Error::NotHeld { .. }
            | Error::StatusConflict { .. }
            | Error::ClaimLapsed { .. } => "invalid",
            Error::Protected { .. } => "protected",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::NotAStore { .. } => "not_a_store",
            Error::ReadOnly { .. } => "read_only",
            Error::NeedsMigration { .. } => "needs_migration",
            Error::StoreFile { .. } => "io",
            Error::ConsumerBehind { .. } => "consumer_behind",
            Error::WriteInProgress => "write_in_progress",
            Error::Corrupt { .. } => "corrupt",
            Error::InvalidCheckpoint { .. } => "invalid_checkpoint",
            Error::InvalidKey { .. } => "invalid_key",
            Error::KeyGeneration { .. } => "key_generation",
            Error::Sqlite(_) => "sqlite",
        }
    }

    /// The entity this error is about, when it is about one.
    pub fn entity(&self) -> Option<&Entity> {
        match self {
            Error::NotFound { entity }
            | Error::AlreadyExists { entity }
            | Error::InvalidSchema { entity, .. }
            | Error::SchemaViolation { entity, .. }
            | Error::Cycle { entity, .. }
            | Error::InUse { entity, .. }
            | Error::Revalidation { entity, .. }
            | Error::TooLarge { entity, .. }
            | Error::Invalid { entity, .. }
            | Error::Rule { entity, .. }
            | Error::Task { entity, .. }
            | Error::Flow { entity, .. }
            | Error::NotHeld { entity, .. }
            | Error::StatusConflict { entity, .. }
            | Error::ClaimLapsed { entity, .. }
            | Error::Import { entity, .. }
            | Error::Protected { entity, .. } => Some(entity),
            _ => None,
        }
    }

    pub(crate) fn rule_break(entity: Entity, rule: RuleBreak) -> Self {
        Error::Rule {
            entity,
            rule: Box::new(rule),
        }
    }

    pub(crate) fn task(entity: Entity, rule: TaskRule) -> Self {
        Error::Task {
            entity,
            rule: Box::new(rule),
        }
    }

    pub(crate) fn invalid(entity: Entity, reason: impl Into<String>) -> Self {
        Error::Invalid {
            entity,
            reason: reason.into(),
        }
    }

    pub(crate) fn store_file(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Error::StoreFile {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, cause: serde_json::Error) -> Self {
        Error::Corrupt {
            what: what.into(),
            cause,
        }
    }
}

/// An I/O error's reason as a few lowercase words, without the
/// `(os error N)` suffix.
fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => "no such file or directory".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        ErrorKind::ReadOnlyFilesystem => "read-only file system".to_owned(),
        ErrorKind::AlreadyExists => "file exists".to_owned(),
        _ => {
            let text = err.to_string();
            let text = match text.find(" (os error") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            text.to_lowercase()
        }
    }
}

fn import_text(entity: &Entity, pointer: &str, reason: &str) -> String {
    if pointer.is_empty() {
        format!("{entity}: graphology document: {reason}")
    } else {
        format!("{entity}: graphology document at {pointer}: {reason}")
    }
}

fn join(violations: &[Violation]) -> String {
    let parts: Vec<String> = violations.iter().map(Violation::to_string).collect();
    parts.join("; ")
}

/// How a cycle relates to the entity a [`Error::Cycle`] names.
fn cycle_verb(entity: &Entity) -> &'static str {
    match entity {
        Entity::Graph(_) => "has the cycle",
        _ => "would close the cycle",
    }
}

fn quoted_path(keys: &[String]) -> String {
    let parts: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    parts.join(" -> ")
}

fn quoted_list(keys: &[String]) -> String {
    let parts: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message appears once in an error chain: what an error prints
    /// of its cause is not also its `source`.
    #[test]
    fn a_chain_prints_each_message_once() {
        use std::error::Error as _;
        let chain = |err: &Error| {
            let mut parts = vec![err.to_string()];
            let mut next = err.source();
            while let Some(cause) = next {
                parts.push(cause.to_string());
                next = cause.source();
            }
            parts
        };
        let sqlite = Error::from(rusqlite::Error::InvalidQuery);
        let corrupt = Error::corrupt(
            "attributes",
            serde_json::from_str::<serde_json::Value>("{").unwrap_err(),
        );
        let import = Error::Import {
            entity: Entity::Graph("g".into()),
            pointer: "/edges/0".into(),
            reason: "edge \"e\" already exists".into(),
            cause: Some(Box::new(Error::AlreadyExists {
                entity: Entity::Edge {
                    graph: "g".into(),
                    key: "e".into(),
                },
            })),
        };
        for err in [sqlite, corrupt, import] {
            let parts = chain(&err);
            assert_eq!(parts.len(), 1, "{parts:?}");
        }
        let err = Error::Import {
            entity: Entity::Graph("g".into()),
            pointer: "/edges/0".into(),
            reason: "x".into(),
            cause: Some(Box::new(Error::AlreadyExists {
                entity: Entity::Graph("g".into()),
            })),
        };
        assert!(err.is_already_exists(), "the cause still answers");
    }

    #[test]
    fn messages_name_the_entity_and_the_reason() {
        let err = Error::SchemaViolation {
            entity: Entity::Node {
                graph: "release-7".into(),
                key: "build".into(),
            },
            violations: vec![Violation {
                instance_path: "/status".into(),
                message: r#""finished" is not one of ["pending","done"]"#.into(),
            }],
        };
        assert_eq!(
            err.to_string(),
            r#"node "build" in graph "release-7": attribute /status: "finished" is not one of ["pending","done"]"#
        );
        let err = Error::Cycle {
            entity: Entity::Edge {
                graph: "g".into(),
                key: "c-a".into(),
            },
            cycle: vec!["a".into(), "b".into(), "c".into(), "a".into()],
        };
        assert_eq!(
            err.to_string(),
            r#"edge "c-a" in graph "g": would close the cycle "a" -> "b" -> "c" -> "a""#
        );
        assert!(err.is_cycle());
    }

    #[test]
    fn control_characters_in_keys_are_escaped() {
        let entity = Entity::Node {
            graph: "g".into(),
            key: "a\nb\"".into(),
        };
        assert_eq!(entity.to_string(), r#"node "a\nb\"" in graph "g""#);
    }
}
