//! Retention of honker's notification table and of the change stream.
//!
//! honker never prunes. The store prunes its own channel and topic inside a
//! committing write transaction, at most once per [`Retention::interval`],
//! so the tables stay bounded without a background thread.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::Result;
use crate::outbox::stream;
use crate::store::{CommitHook, Store, WriteTxn};

/// How long change notifications and stream batches are kept.
///
/// Defaults: notifications for 1 hour and at most 10,000; stream batches
/// for 7 days and at most 1,000,000; pruning at most once a minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Notifications older than this are pruned.
    pub notifications_max_age: Duration,
    /// At most this many notifications are kept.
    pub notifications_max_count: u64,
    /// Stream batches older than this are pruned.
    pub stream_max_age: Duration,
    /// At most this many stream batches are kept.
    pub stream_max_count: u64,
    /// Pruning runs at most this often (inside a committing write).
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            notifications_max_age: Duration::from_secs(3600),
            notifications_max_count: 10_000,
            stream_max_age: Duration::from_secs(7 * 24 * 3600),
            stream_max_count: 1_000_000,
            interval: Duration::from_secs(60),
        }
    }
}

/// What one pruning pass removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// Notification rows removed.
    pub notifications: u64,
    /// Stream rows removed.
    pub stream_batches: u64,
}

/// Prunes this store's notifications and stream batches past `retention`,
/// inside the caller's write transaction.
pub(crate) fn prune(conn: &Connection, retention: &Retention) -> Result<PruneReport> {
    let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let notifications = stream::prune_notifications(
        conn,
        seconds(retention.notifications_max_age),
        count(retention.notifications_max_count),
    )?;
    let stream_batches = stream::prune_stream(
        conn,
        seconds(retention.stream_max_age),
        count(retention.stream_max_count),
    )?;
    Ok(PruneReport {
        notifications: notifications as u64,
        stream_batches: stream_batches as u64,
    })
}

/// The commit hook that prunes: inside a committing write that changes
/// something, at most once per [`Retention::interval`].
#[derive(Debug)]
pub(crate) struct Pruner {
    retention: Retention,
    last: Mutex<Option<Instant>>,
}

impl Pruner {
    pub(crate) fn new(retention: Retention) -> Self {
        Pruner {
            retention,
            last: Mutex::new(None),
        }
    }

    /// Whether a pruning pass is due, claiming it if so.
    fn due(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|at| at.elapsed() >= self.retention.interval);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

impl CommitHook for Pruner {
    fn before_commit(&self, tx: &mut WriteTxn<'_>) -> Result<()> {
        if tx.has_changes() && self.due() {
            prune(tx.conn(), &self.retention)?;
        }
        Ok(())
    }
}

impl Store {
    /// Prunes change notifications and stream batches past the store's
    /// [`Retention`] now. Committing writes also do this, at most once per
    /// [`Retention::interval`].
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`](crate::Error::ReadOnly) on a read-only store;
    /// [`Error::Sqlite`](crate::Error::Sqlite) if the write fails.
    pub fn prune(&self) -> Result<PruneReport> {
        let default = Pruner::new(Retention::default());
        let pruner = self.hook::<Pruner>().unwrap_or(&default);
        let tx = self.begin_write()?;
        let report = prune(tx.conn(), &pruner.retention)?;
        *pruner.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        tx.commit()?;
        Ok(report)
    }
}
