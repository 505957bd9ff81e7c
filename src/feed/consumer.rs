//! Durable consumers of the change stream.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::watcher::{Wake, Woken};
use crate::error::{Entity, Error, Result};
use crate::outbox::{stream, ChangeBatch};
use crate::store::Store;

/// One change batch read from the durable stream, with the offset to
/// acknowledge once it has been processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The batch's stream offset; pass it to [`Consumer::ack`].
    pub offset: i64,
    /// The batch.
    pub batch: ChangeBatch,
}

/// A named, durable reader of the change stream.
///
/// It delivers every committed batch after its last acknowledged offset, in
/// commit order. [`ack`](Consumer::ack) records progress in the file (the
/// offset never moves back). After a crash or restart, a consumer of the
/// same name resumes after the last acknowledged batch: batches delivered
/// but not acknowledged are delivered again; acknowledged ones never are.
///
/// # Example
///
/// ```
/// use alknet_graphs::{GraphConfig, Store};
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("c.db"))?;
/// store.write(|tx| tx.define_graph_type("a", GraphConfig::default()))?;
/// store.write(|tx| tx.define_graph_type("b", GraphConfig::default()))?;
///
/// let mut indexer = store.consumer("indexer")?;
/// let first = indexer.try_next()?.expect("revision 1");
/// indexer.ack(first.offset)?;
/// drop(indexer);
///
/// let mut indexer = store.consumer("indexer")?;
/// assert_eq!(indexer.try_next()?.expect("revision 2").batch.revision, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Consumer {
    store: Store,
    name: String,
    delivered: i64,
    buffered: VecDeque<Delivery>,
    wake: Option<Wake>,
}

/// Stream rows read per query.
const READ_BATCH: i64 = 64;

impl Store {
    /// The durable consumer `name`, positioned after its last acknowledged
    /// batch (at the start of the stream for a new name).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty or over-long name;
    /// [`Error::Sqlite`] if the store cannot be read.
    pub fn consumer(&self, name: &str) -> Result<Consumer> {
        self.limits()
            .check_name(|| Entity::Consumer(name.to_owned()), name)?;
        let acked = acked_offset(self, name)?;
        Ok(Consumer {
            store: self.clone(),
            name: name.to_owned(),
            delivered: acked,
            buffered: VecDeque::new(),
            wake: None,
        })
    }
}

fn acked_offset(store: &Store, name: &str) -> Result<i64> {
    store.read(|r| stream::consumer_offset(r.conn(), name))
}

impl Consumer {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last offset acknowledged, as recorded in the file.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the store cannot be read.
    pub fn acked(&self) -> Result<i64> {
        acked_offset(&self.store, &self.name)
    }

    /// The next batch if one has been committed, without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::ConsumerBehind`] when batches after this consumer's position
    /// were pruned by the stream's retention before it read them (see
    /// [`skip_pruned`](Consumer::skip_pruned)); [`Error::Corrupt`] for a
    /// batch that does not decode (the consumer moves past it, so the next
    /// call continues with the following batch).
    pub fn try_next(&mut self) -> Result<Option<Delivery>> {
        if self.buffered.is_empty() {
            self.fill()?;
        }
        Ok(self.buffered.pop_front())
    }

    /// The next batch, waiting up to `timeout` for one to be committed.
    ///
    /// # Errors
    ///
    /// As [`try_next`](Consumer::try_next).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Delivery>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(delivery) = self.try_next()? {
                return Ok(Some(delivery));
            }
            if !self.store.is_watchable() {
                // Read as immutable: no batch can be committed.
                return Ok(None);
            }
            let Some(wake) = self.wake.as_mut() else {
                // Subscribe, then read once more before blocking: a batch
                // committed between the read above and the subscription
                // woke nobody.
                self.wake = Some(Wake::new(
                    self.store.canonical_path(),
                    self.store.poll_interval(),
                ));
                continue;
            };
            if wake.wait(Some(deadline)) == Woken::TimedOut {
                return self.try_next();
            }
        }
    }

    /// Records that every batch up to and including `offset` has been
    /// processed. The recorded offset never moves back.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the write fails.
    pub fn ack(&mut self, offset: i64) -> Result<()> {
        self.store
            .write(|tx| stream::save_consumer_offset(tx.conn(), &self.name, offset))
    }

    /// After [`Error::ConsumerBehind`]: acknowledges everything the stream's
    /// retention has pruned and continues with the oldest batch still
    /// stored. Returns the new acknowledged offset. Whatever the consumer
    /// derives from the feed must be rebuilt from the store.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the store cannot be read or written.
    pub fn skip_pruned(&mut self) -> Result<i64> {
        let pruned = self.store.read(|r| stream::pruned_through(r.conn()))?;
        if pruned > self.delivered {
            self.ack(pruned)?;
            self.delivered = pruned;
            self.buffered.clear();
        }
        self.acked()
    }

    fn fill(&mut self) -> Result<()> {
        let (pruned, rows) = self.store.read(|r| {
            let pruned = stream::pruned_through(r.conn())?;
            Ok((pruned, stream::since(r.conn(), self.delivered, READ_BATCH)?))
        })?;
        if self.delivered < pruned {
            return Err(Error::ConsumerBehind {
                consumer: self.name.clone(),
                offset: self.delivered,
                pruned_through: pruned,
            });
        }
        for (offset, payload) in rows {
            self.delivered = offset;
            match ChangeBatch::from_payload(&payload) {
                Ok(batch) => self.buffered.push_back(Delivery { offset, batch }),
                Err(e) if self.buffered.is_empty() => return Err(e),
                // Deliver what decoded first; the bad row is reported on
                // the next call.
                Err(_) => {
                    self.delivered = offset - 1;
                    break;
                }
            }
        }
        Ok(())
    }
}
