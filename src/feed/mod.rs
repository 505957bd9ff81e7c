//! The change feed: committed change batches delivered to subscribers in
//! commit order, from this process and from any other process on the file.
//!
//! Three ways to follow the store:
//! - [`Subscription`] ([`Store::subscribe`]): live batches from the moment
//!   of subscribing, read from honker's notification table, woken by the
//!   process's shared watcher of the file. When events may have been missed
//!   (the watcher died and was restarted, or notifications were pruned
//!   before they were read) it says so with [`FeedMessage::Resync`].
//! - [`Consumer`] ([`Store::consumer`]): a named, durable reader of the
//!   change stream that resumes from its last acknowledged offset after a
//!   crash or restart.
//! - [`Store::wait_for_revision`]: block until the store has reached a
//!   revision, for read-your-writes across processes.

mod consumer;
pub(crate) mod follow;
mod retention;
mod watcher;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use consumer::{Consumer, Delivery};
pub(crate) use follow::Followers;
pub(crate) use retention::Pruner;
pub use retention::{PruneReport, Retention};
pub(crate) use watcher::{Wake, Woken};

use crate::error::Result;
use crate::outbox::{stream, ChangeBatch, NotificationHead};
use crate::store::{Reader, Store};

/// What a [`Subscription`] delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedMessage {
    /// The change events of one committed write transaction.
    Batch(ChangeBatch),
    /// Events may have been missed: reload whatever you derive from the
    /// store, then carry on with the batches that follow.
    Resync(ResyncReason),
    /// A notification on the change channel whose payload could not be
    /// decoded. It is skipped; a [`Resync`](FeedMessage::Resync) follows if
    /// a revision went missing with it.
    Undecodable {
        /// The notification's row id.
        id: i64,
        /// Why it could not be decoded.
        reason: String,
    },
}

/// Why a [`Subscription`] asks for a resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncReason {
    /// The file watcher stopped (file replaced, I/O error, thread gone) and
    /// was restarted; commits made meanwhile woke nobody.
    WatcherRestarted,
    /// Revisions between the last delivered batch and this one were not
    /// delivered (their notifications were pruned before they were read).
    Gap {
        /// The revision that should have come next.
        expected: u64,
        /// The revision that came.
        found: u64,
    },
}

/// Notifications read per query.
const READ_BATCH: i64 = 256;

/// A live feed of committed change batches, in commit order.
///
/// Created by [`Store::subscribe`]; it sees every write transaction that
/// commits after it was created, by this process or any other on the same
/// file. All subscriptions of a file in a process share one watcher thread,
/// which runs only while there are subscriptions.
///
/// # Example
///
/// ```
/// use alknet_graphs::{FeedMessage, GraphConfig, Store};
/// use std::time::Duration;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("feed.db"))?;
/// let mut feed = store.subscribe()?;
/// store.write(|tx| tx.define_graph_type("plain", GraphConfig::default()))?;
/// match feed.recv_timeout(Duration::from_secs(10))? {
///     Some(FeedMessage::Batch(batch)) => assert_eq!(batch.revision, 1),
///     other => panic!("expected a batch, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Subscription {
    store: Store,
    wake: Wake,
    last_id: i64,
    last_revision: u64,
    pending: VecDeque<FeedMessage>,
}

impl Subscription {
    /// The next message, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::Error::Sqlite) if the store cannot be read.
    pub fn recv(&mut self) -> Result<FeedMessage> {
        loop {
            if let Some(message) = self.next_within(None)? {
                return Ok(message);
            }
        }
    }

    /// The next message, or `None` if none arrives within `timeout`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Subscription::recv).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<FeedMessage>> {
        self.next_within(Some(Instant::now() + timeout))
    }

    /// The next message if one is ready, without waiting.
    ///
    /// # Errors
    ///
    /// As [`recv`](Subscription::recv).
    pub fn try_recv(&mut self) -> Result<Option<FeedMessage>> {
        if self.wake.poll_restart() {
            self.pending
                .push_back(FeedMessage::Resync(ResyncReason::WatcherRestarted));
        }
        if self.pending.is_empty() {
            self.fetch()?;
        }
        Ok(self.pending.pop_front())
    }

    /// The revision of the last batch delivered (or the store's revision
    /// when subscribing, before any batch).
    pub fn revision(&self) -> u64 {
        self.last_revision
    }

    fn next_within(&mut self, deadline: Option<Instant>) -> Result<Option<FeedMessage>> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Ok(Some(message));
            }
            // Query first, then block: a commit between the two still
            // leaves a wake in the channel.
            self.fetch()?;
            if !self.pending.is_empty() {
                continue;
            }
            match self.wake.wait(deadline) {
                Woken::Changed => {}
                Woken::TimedOut => return Ok(None),
                Woken::Restarted => self
                    .pending
                    .push_back(FeedMessage::Resync(ResyncReason::WatcherRestarted)),
            }
        }
    }

    /// Reads the notifications committed since the last one read.
    fn fetch(&mut self) -> Result<()> {
        let store = self.store.clone();
        let read = store.begin_read()?;
        let rows = stream::notifications_since(read.conn(), self.last_id, READ_BATCH)?;
        for (id, payload) in rows {
            self.last_id = id;
            match decode(&read, &payload) {
                Ok(Some(batch)) => self.deliver(batch),
                Ok(None) => {}
                Err(reason) => self
                    .pending
                    .push_back(FeedMessage::Undecodable { id, reason }),
            }
        }
        Ok(())
    }

    fn deliver(&mut self, batch: ChangeBatch) {
        let expected = self.last_revision + 1;
        if batch.revision > expected {
            self.pending
                .push_back(FeedMessage::Resync(ResyncReason::Gap {
                    expected,
                    found: batch.revision,
                }));
        }
        self.last_revision = self.last_revision.max(batch.revision);
        self.pending.push_back(FeedMessage::Batch(batch));
    }
}

/// Decodes one notification: the batch inline, or from the stream row it
/// points to. `Ok(None)` when that row has been pruned (the gap check then
/// asks for a resync).
fn decode(read: &Reader, payload: &str) -> std::result::Result<Option<ChangeBatch>, String> {
    let notification = NotificationHead::decode(payload)?;
    if notification.is_inline() {
        return ChangeBatch::from_payload(payload)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let stream_payload = stream::at(read.conn(), notification.offset).map_err(|e| e.to_string())?;
    match stream_payload {
        None => Ok(None),
        Some(text) => {
            let batch = ChangeBatch::from_payload(&text).map_err(|e| e.to_string())?;
            if batch.revision != notification.revision {
                return Err(format!(
                    "notification for revision {} points at the batch of revision {}",
                    notification.revision, batch.revision
                ));
            }
            Ok(Some(batch))
        }
    }
}

impl Store {
    /// A live feed of every write transaction that commits from now on, in
    /// this process or any other.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`](crate::Error::ReadOnly) for a read-only store
    /// read as immutable (see [`Store::open_read_only`]), which nothing can
    /// change; [`Error::Sqlite`](crate::Error::Sqlite) if the store cannot
    /// be read.
    pub fn subscribe(&self) -> Result<Subscription> {
        if !self.is_watchable() {
            return Err(crate::Error::ReadOnly {
                path: self.path().to_path_buf(),
            });
        }
        // Subscribe to the watcher before reading the starting point, so a
        // commit in between is seen either by the read or by a wake.
        let wake = Wake::new(self.canonical_path(), self.poll_interval());
        let read = self.begin_read()?;
        let last_id = stream::last_notification(read.conn())?;
        let last_revision = read.revision()?;
        drop(read);
        Ok(Subscription {
            store: self.clone(),
            wake,
            last_id,
            last_revision,
            pending: VecDeque::new(),
        })
    }

    /// Waits until the store has reached at least `revision` (a write by any
    /// process), or `timeout` passes. Returns whether it was reached.
    ///
    /// This is read-your-writes across processes: pass the revision a
    /// writer's [`commit`](crate::WriteTxn::commit) returned.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::Error::Sqlite) if the store cannot be read.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, Store};
    /// # use std::time::Duration;
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("r.db"))?;
    /// let writer = store.clone();
    /// let handle = std::thread::spawn(move || {
    ///     writer.write(|tx| tx.define_graph_type("t", GraphConfig::default()))
    /// });
    /// assert!(store.wait_for_revision(1, Duration::from_secs(10))?);
    /// # handle.join().unwrap()?;
    /// assert!(!store.wait_for_revision(2, Duration::from_millis(20))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_revision(&self, revision: u64, timeout: Duration) -> Result<bool> {
        if self.revision()? >= revision {
            return Ok(true);
        }
        if !self.is_watchable() {
            // Read as immutable: nothing can move the revision.
            return Ok(false);
        }
        let deadline = Instant::now() + timeout;
        let mut wake = Wake::new(self.canonical_path(), self.poll_interval());
        loop {
            if self.revision()? >= revision {
                return Ok(true);
            }
            if wake.wait(Some(deadline)) == Woken::TimedOut {
                return Ok(self.revision()? >= revision);
            }
        }
    }

    /// Stops this process's watcher of the file. Subscriptions, consumers
    /// and waiters start a new one and subscriptions receive
    /// [`ResyncReason::WatcherRestarted`]. Useful after restoring the file
    /// underneath a running process; a watcher that dies on its own is
    /// restarted the same way.
    pub fn restart_watcher(&self) {
        watcher::restart(self.canonical_path());
    }

    /// Whether this process runs a watcher of this store's file (it does
    /// only while something subscribes or waits).
    pub fn watcher_running(&self) -> bool {
        watcher::is_running(self.canonical_path())
    }
}
