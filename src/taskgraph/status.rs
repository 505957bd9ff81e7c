//! A task's status and the transitions between statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a task is in its life.
///
/// The transitions [`Taskgraphs::transition`](super::Taskgraphs::transition) accepts:
///
/// | from | to |
/// |---|---|
/// | pending | ready (once every dependency is done), cancelled |
/// | ready | running, cancelled |
/// | running | done, failed, cancelled |
/// | failed | pending (a retry), cancelled |
/// | done, cancelled | — (final) |
///
/// Two more happen only as consequences: ready → pending when the task
/// gains a dependency that is not done, and running → ready when a worker
/// [fails](super::Dispatch::fail) an attempt and attempts remain.
///
/// # Example
///
/// ```
/// use alknet_graphs::taskgraph::Status;
/// assert!(Status::Failed.can_become(Status::Pending));
/// assert!(!Status::Done.can_become(Status::Running));
/// assert_eq!("running".parse::<Status>(), Ok(Status::Running));
/// assert_eq!(Status::Cancelled.to_string(), "cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for a dependency to be done.
    Pending,
    /// Every dependency is done; waiting for a worker.
    Ready,
    /// A worker is running it.
    Running,
    /// Finished successfully (final).
    Done,
    /// The last attempt failed; can be retried.
    Failed,
    /// Will not run (final).
    Cancelled,
}

impl Status {
    /// Every status, in the order of a task's life.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Ready,
        Status::Running,
        Status::Done,
        Status::Failed,
        Status::Cancelled,
    ];

    /// The name stored in the task's `status` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Ready => "ready",
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Whether no transition leaves it.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Done | Status::Cancelled)
    }

    /// The statuses [`Taskgraphs::transition`](super::Taskgraphs::transition) may move a task to from this one.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Pending => &[Status::Ready, Status::Cancelled],
            Status::Ready => &[Status::Running, Status::Cancelled],
            Status::Running => &[Status::Done, Status::Failed, Status::Cancelled],
            Status::Failed => &[Status::Pending, Status::Cancelled],
            Status::Done | Status::Cancelled => &[],
        }
    }

    /// Whether [`Taskgraphs::transition`](super::Taskgraphs::transition) may move a task from this status to `to`.
    pub fn can_become(self, to: Status) -> bool {
        self.next().contains(&to)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Status`] from text that names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a task status (pending, ready, running, done, failed, cancelled)",
            self.0
        )
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Status, UnknownStatus> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}
