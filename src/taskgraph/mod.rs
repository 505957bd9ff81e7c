//! Taskgraphs: tasks and their dependencies on the metagraph, with
//! validated status changes and durable dispatch to workers.
//!
//! - The built-in graph type `taskgraph` (directed, acyclic, no parallel
//!   edges, no self-loops) has one node type, `task`, and one edge type,
//!   `depends_on`: an edge *a → b* says task *a* depends on task *b*, which
//!   must be done first. [`Taskgraphs::open`] ensures the types; their JSON
//!   Schemas live in `schemas/taskgraph/`. A dependency that would close a
//!   cycle is rejected, naming the cycle.
//! - A task's [`Status`] changes by compare-and-set along the transitions
//!   of [`Status::can_become`]. The taskgraph keeps one invariant itself: **a
//!   task is `ready` exactly when it has not started and every task it
//!   depends on is `done`**. Adding a task with nothing to wait for makes it
//!   ready at once; a task becoming done promotes its dependents; a
//!   dependency on an unfinished task sends a ready task back to `pending`.
//! - With [`Dispatch`] configured, a task that becomes ready gets a honker
//!   job in the same transaction, so a rolled-back write enqueues nothing.
//!   Workers [`claim`](Dispatch::claim) jobs (the task becomes `running`),
//!   [`heartbeat`](Dispatch::heartbeat), and [`ack`](Dispatch::ack) (the task
//!   becomes `done`) or [`fail`](Dispatch::fail) (the task is retried or
//!   becomes `failed`). A worker that dies without acking loses its claim
//!   when it times out, and the task is claimable again.
//! - Queries run in memory on one read of the graph: [topological
//!   order](Taskgraphs::topological_order), [generations](Taskgraphs::generations),
//!   the [ready set](Taskgraphs::ready), the [critical path](Taskgraphs::critical_path);
//!   neighbourhoods ([`dependencies`](Taskgraphs::dependencies),
//!   [`dependents`](Taskgraphs::dependents)) walk the edge indexes.
//!
//! Every operation takes the transaction (or read snapshot) to run in, so a
//! caller can combine several in one atomic write. A taskgraph is written
//! only through this API: a generic [`WriteTxn`](crate::WriteTxn) write to
//! one (or to the `taskgraph` types) is refused with
//! [`Error::Protected`](crate::Error::Protected), and
//! [`Taskgraphs::import_graphology`] holds a whole document to the status
//! rules. [`Taskgraphs::promote`] restores the ready invariant after rows
//! changed around the engine.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::taskgraph::{Dispatch, Status, Task, Taskgraphs};
//! use alknet_graphs::Store;
//! use std::time::Duration;
//!
//! # let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("tasks.db"))?;
//! let tasks = Taskgraphs::builder().dispatch(Dispatch::new("builds")).open(&store)?;
//! store.write(|tx| {
//!     tasks.create(tx, "release")?;
//!     tasks.add_task(tx, "release", "compile", &Task::new().duration(5.0))?;
//!     tasks.add_task(tx, "release", "test", &Task::new().duration(3.0))?;
//!     tasks.add_dependency(tx, "release", "test", "compile")?;
//!     Ok(())
//! })?;
//! assert_eq!(store.read(|r| tasks.ready(r, "release"))?, ["compile"]);
//!
//! // A worker claims the ready task, runs it, and acks it.
//! let dispatch = tasks.dispatch().expect("configured");
//! let claims = store.write(|tx| dispatch.claim(tx, "worker-1", 10, Duration::from_secs(30)))?;
//! assert_eq!(claims[0].task, "compile");
//! assert_eq!(store.read(|r| tasks.status(r, "release", "compile"))?, Status::Running);
//! let promoted = store.write(|tx| dispatch.ack(tx, &claims[0]))?;
//! assert_eq!(promoted, ["test"]);
//! assert_eq!(store.read(|r| tasks.critical_path(r, "release"))?.duration, 8.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dag;
mod dispatch;
mod lifecycle;
mod ops;
mod rule;
pub(crate) mod schema;
mod status;

use serde_json::{Map, Value};

pub use dispatch::{Claim, Dispatch, Failure, QueuedJob, DEFAULT_MAX_ATTEMPTS};
pub(crate) use lifecycle::status_problems;
pub use ops::CriticalPath;
pub use rule::TaskRule;
pub use status::{Status, UnknownStatus};

pub(crate) use dag::{Dag, First};

use crate::{Result, Store};

/// The name of the taskgraph graph type.
pub const GRAPH_TYPE: &str = "taskgraph";

/// The node type of tasks.
pub const TASK: &str = "task";

/// The edge type of dependencies: the source depends on the target.
pub const DEPENDS_ON: &str = "depends_on";

/// A task to add: its expected duration, dispatch priority, payload and any
/// further attributes. Its status is set by the taskgraph.
///
/// # Example
///
/// ```
/// use alknet_graphs::taskgraph::Task;
/// use serde_json::json;
/// let task = Task::new()
///     .duration(2.5)
///     .priority(10)
///     .payload(json!({"cmd": "cargo test"}))
///     .attribute("owner", json!("ada"));
/// assert_eq!(task.attributes()["priority"], 10);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Task {
    attributes: Map<String, Value>,
}

impl Task {
    /// A task with no attributes but its status.
    pub fn new() -> Self {
        Task::default()
    }

    /// Its expected duration (any unit, used consistently), which weighs
    /// the critical path. Must be finite and not negative.
    pub fn duration(self, duration: f64) -> Self {
        let value = serde_json::Number::from_f64(duration).map_or(Value::Null, Value::Number);
        self.attribute("duration", value)
    }

    /// Its dispatch priority: higher is claimed first (default 0).
    pub fn priority(self, priority: i64) -> Self {
        self.attribute("priority", Value::from(priority))
    }

    /// What a worker needs to run it.
    pub fn payload(self, payload: Value) -> Self {
        self.attribute("payload", payload)
    }

    /// Any other attribute the task schema allows.
    pub fn attribute(mut self, name: impl Into<String>, value: Value) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// The attributes set so far.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }
}

/// Options for opening [`Taskgraphs`].
///
/// Default: no dispatch (tasks still become ready, but no jobs are
/// enqueued).
#[derive(Debug, Clone, Default)]
pub struct TaskgraphsBuilder {
    dispatch: Option<Dispatch>,
}

impl TaskgraphsBuilder {
    /// Enqueue a honker job on this queue whenever a task becomes ready.
    pub fn dispatch(mut self, dispatch: Dispatch) -> Self {
        self.dispatch = Some(dispatch);
        self
    }

    /// Ensures the `taskgraph` graph type and its node and edge types in
    /// `store` (creating or updating them to the embedded schemas; a no-op
    /// when they are up to date, and skipped on a read-only store).
    ///
    /// # Errors
    ///
    /// [`Error::Revalidation`](crate::Error::Revalidation) if stored tasks
    /// fail an updated schema; [`Error::Sqlite`](crate::Error::Sqlite) on a
    /// storage failure.
    pub fn open(self, store: &Store) -> Result<Taskgraphs> {
        // A read-only store is served as it is.
        if !store.is_read_only() {
            store.write(schema::ensure)?;
        }
        Ok(Taskgraphs {
            dispatch: self.dispatch,
        })
    }
}

/// The taskgraph operations, with the dispatch configuration they use.
/// Cheap to clone; holds no connection (every operation takes the
/// transaction or snapshot to run in).
#[derive(Debug, Clone)]
pub struct Taskgraphs {
    dispatch: Option<Dispatch>,
}

impl Taskgraphs {
    /// Ensures the taskgraph types in `store`, without dispatch; see
    /// [`TaskgraphsBuilder::open`].
    ///
    /// # Errors
    ///
    /// As [`TaskgraphsBuilder::open`].
    pub fn open(store: &Store) -> Result<Taskgraphs> {
        TaskgraphsBuilder::default().open(store)
    }

    /// Options for opening.
    pub fn builder() -> TaskgraphsBuilder {
        TaskgraphsBuilder::default()
    }

    /// The dispatch configuration, whose methods are the worker side.
    pub fn dispatch(&self) -> Option<&Dispatch> {
        self.dispatch.as_ref()
    }
}
