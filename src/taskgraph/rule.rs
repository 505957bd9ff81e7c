//! The rules of a task's lifecycle that a write, an import or a stored
//! graph can break, each with one wording, used wherever the rule is
//! checked: by the taskgraph's writes, by an import and by
//! [`verify`](crate::verify()).

use std::fmt;

use super::status::Status;

/// A rule of the task lifecycle that a task breaks; carried by
/// [`Error::Task`](crate::Error::Task) together with the task.
///
/// # Example
///
/// ```
/// use alknet_graphs::taskgraph::{Status, Task, TaskRule, Taskgraphs};
/// use alknet_graphs::Store;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("tasks.db"))?;
/// let tasks = Taskgraphs::open(&store)?;
/// store.write(|tx| {
///     tasks.create(tx, "release")?;
///     tasks.add_task(tx, "release", "build", &Task::new()) // ready: no dependencies
/// })?;
/// let err = store
///     .write(|tx| tasks.transition(tx, "release", "build", Status::Ready, Status::Done))
///     .unwrap_err();
/// assert_eq!(
///     err.task_rule(),
///     Some(&TaskRule::Transition { from: Status::Ready, to: Status::Done })
/// );
/// assert_eq!(err.task_rule().unwrap().name(), "transition");
/// assert_eq!(
///     err.to_string(),
///     r#"node "build" in graph "release": cannot change status from "ready" to "done"; from "ready" it can become "running" or "cancelled""#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskRule {
    /// A new task's attributes name a status: the taskgraph sets it.
    StatusGiven,
    /// A task's attributes rewritten with a status: only a transition
    /// changes it.
    StatusRewritten,
    /// A status change the lifecycle does not allow ([`Status::next`]).
    Transition {
        /// The task's status.
        from: Status,
        /// The status asked for.
        to: Status,
    },
    /// A task asked to become ready while tasks it depends on are not done.
    DependenciesNotDone {
        /// Those tasks, each once.
        open: Vec<String>,
    },
    /// A dependency added to a task already started (`running`, `done`,
    /// `failed`) on a task not done: the started task would depend on
    /// work after it.
    StartedOnUnfinished {
        /// The task's status.
        status: Status,
        /// The task it would depend on.
        on: String,
        /// That task's status.
        on_status: Status,
    },
    /// A dependency to remove that is not there.
    NotADependency {
        /// The task named as the dependency.
        on: String,
    },
    /// A node of a taskgraph with no `status` attribute that names a
    /// status.
    NoStatus {
        /// What the attribute holds, as JSON text; `None` when it is
        /// absent.
        found: Option<String>,
    },
    /// A stored `pending` task whose dependencies are all done: it should
    /// be ready.
    ShouldBeReady,
    /// A stored `ready` or started task with a dependency not done.
    DependsOnUnfinished {
        /// The task's status.
        status: Status,
        /// The dependency.
        on: String,
        /// The dependency's status as stored; `None` when it has none.
        on_status: Option<String>,
    },
}

impl TaskRule {
    /// The rule's name in snake case (`"transition"`,
    /// `"dependencies_not_done"`, …): a stable, machine-readable label, as
    /// the CLI's `--json` error reports carry it.
    pub fn name(&self) -> &'static str {
        match self {
            TaskRule::StatusGiven => "status_given",
            TaskRule::StatusRewritten => "status_rewritten",
            TaskRule::Transition { .. } => "transition",
            TaskRule::DependenciesNotDone { .. } => "dependencies_not_done",
            TaskRule::StartedOnUnfinished { .. } => "started_on_unfinished",
            TaskRule::NotADependency { .. } => "not_a_dependency",
            TaskRule::NoStatus { .. } => "no_status",
            TaskRule::ShouldBeReady => "should_be_ready",
            TaskRule::DependsOnUnfinished { .. } => "depends_on_unfinished",
        }
    }
}

impl fmt::Display for TaskRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskRule::StatusGiven => f.write_str(
                "the taskgraph sets a task's status; leave \"status\" out of its attributes",
            ),
            TaskRule::StatusRewritten => f.write_str(
                "the taskgraph sets a task's status; change it with a status transition",
            ),
            TaskRule::Transition { from, to } if from.is_final() => write!(
                f,
                "cannot change status from {:?} to {:?}; {:?} is final",
                from.as_str(),
                to.as_str(),
                from.as_str()
            ),
            TaskRule::Transition { from, to } => write!(
                f,
                "cannot change status from {:?} to {:?}; from {:?} it can become {}",
                from.as_str(),
                to.as_str(),
                from.as_str(),
                either(from.next())
            ),
            TaskRule::DependenciesNotDone { open } => {
                f.write_str("cannot become \"ready\": it depends on ")?;
                for (i, key) in open.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key:?}")?;
                }
                f.write_str(", not done yet")
            }
            TaskRule::StartedOnUnfinished {
                status,
                on,
                on_status,
            } => write!(
                f,
                "is {status}; it cannot depend on {on:?}, which is {on_status}, not done"
            ),
            TaskRule::NotADependency { on } => write!(f, "does not depend on {on:?}"),
            TaskRule::NoStatus { found: None } => f.write_str("has no task status; is it a task?"),
            TaskRule::NoStatus { found: Some(found) } => {
                write!(f, "has no valid status ({found})")
            }
            TaskRule::ShouldBeReady => {
                f.write_str("is pending, but every task it depends on is done; it should be ready")
            }
            TaskRule::DependsOnUnfinished {
                status,
                on,
                on_status,
            } => write!(
                f,
                "is {status}, but it depends on {on:?}, which is {}, not done",
                on_status.as_deref().unwrap_or("without a status")
            ),
        }
    }
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn either(list: &[Status]) -> String {
    let parts: Vec<String> = list.iter().map(|s| format!("{:?}", s.as_str())).collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
