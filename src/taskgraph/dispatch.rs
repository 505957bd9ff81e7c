//! Durable dispatch: a honker job per ready task, enqueued in the
//! transaction that makes it ready, and the worker side (claim, heartbeat,
//! ack, fail).
//!
//! This module owns the SQL that speaks to honker's queue functions
//! (`honker_enqueue`, `honker_claim_batch`, `honker_heartbeat`,
//! `honker_ack`, `honker_retry`, `honker_fail`, `honker_cancel`) and the
//! read-only queries of honker's `_honker_live` table. Honker counts time
//! in whole seconds.

use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::lifecycle::{promote_dependents, set_status, task_entity, try_status, Queue};
use super::{Status, GRAPH_TYPE};
use crate::{Error, Reader, Result, WriteTxn};

/// How many times a task's job is claimed before the task fails, unless
/// [`Dispatch::max_attempts`] says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The job payload: which task to run.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    graph: String,
    task: String,
}

fn payload(graph: &str, task: &str) -> String {
    // Serializing two strings cannot fail.
    serde_json::to_string(&Payload {
        graph: graph.to_owned(),
        task: task.to_owned(),
    })
    .unwrap_or_default()
}

/// A row of `honker_claim_batch`'s answer.
#[derive(Debug, Deserialize)]
struct Claimed {
    id: i64,
    payload: String,
    attempts: i64,
    claim_expires_at: i64,
}

/// Whole seconds, rounded up, at least `min`.
fn seconds(duration: Duration, min: u64) -> i64 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.clamp(min, i64::MAX as u64) as i64
}

/// A task claimed by a worker: run it, then [`ack`](Dispatch::ack) or
/// [`fail`](Dispatch::fail) it before [`expires_at`](Claim::expires_at)
/// (or extend the claim with [`heartbeat`](Dispatch::heartbeat)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The honker job id.
    pub job: i64,
    /// The worker holding the claim.
    pub worker: String,
    /// The taskgraph.
    pub graph: String,
    /// The task's key.
    pub task: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// When the claim lapses, in unix seconds, unless extended.
    pub expires_at: i64,
}

/// What [`Dispatch::fail`] did with a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Attempts remain: the task is ready again and its job requeued (after
    /// [`Dispatch::retry_delay`]).
    Retrying {
        /// The attempt that failed.
        attempt: u32,
        /// The attempts allowed in all.
        max_attempts: u32,
    },
    /// No attempts remain: the task is failed and its job dead-lettered.
    Failed {
        /// The attempts made.
        attempts: u32,
    },
}

/// A job in the queue, as [`Dispatch::jobs`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    /// The honker job id.
    pub job: i64,
    /// The taskgraph.
    pub graph: String,
    /// The task's key.
    pub task: String,
    /// `"pending"` (waiting for a worker) or `"processing"` (claimed).
    pub state: String,
    /// Claims so far.
    pub attempts: u32,
}

/// Durable dispatch of ready tasks through a honker queue, and the worker
/// side of it.
///
/// Defaults: [`DEFAULT_MAX_ATTEMPTS`] attempts per task, no delay before a
/// retry.
///
/// Guarantees: a task's job is enqueued in the same transaction that makes
/// the task ready (rolled back together); a claim makes the task running;
/// an ack makes it done and deletes the job in one transaction, so an acked
/// task is never claimed again; a claim that is neither acked nor extended
/// lapses after its timeout, and the job becomes claimable by another
/// worker (the task stays running meanwhile); after the last allowed
/// attempt lapses or fails, the task is failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    queue: String,
    max_attempts: u32,
    retry_delay: Duration,
}

impl Dispatch {
    /// Dispatch through the honker queue `queue`.
    pub fn new(queue: impl Into<String>) -> Self {
        Dispatch {
            queue: queue.into(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_delay: Duration::ZERO,
        }
    }

    /// How many claims a task's job gets before the task fails (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How long a failed attempt waits before its job is claimable again
    /// (whole seconds, rounded up).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// The queue's name.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Enqueues the job of task `key`, with the task's priority.
    pub(crate) fn enqueue(&self, tx: &mut WriteTxn<'_>, graph: &str, key: &str) -> Result<i64> {
        let priority = tx
            .node(graph, key)?
            .and_then(|n| n.attributes.get("priority").and_then(|p| p.as_i64()))
            .unwrap_or(0);
        let id = tx
            .conn()
            .prepare_cached("SELECT honker_enqueue(?1, ?2, NULL, NULL, ?3, ?4, NULL)")?
            .query_row(
                params![self.queue, payload(graph, key), priority, self.max_attempts],
                |row| row.get(0),
            )?;
        Ok(id)
    }

    /// Cancels any live job of task `key` (queued or claimed).
    pub(crate) fn cancel(&self, tx: &mut WriteTxn<'_>, graph: &str, key: &str) -> Result<()> {
        let mut stmt = tx.conn().prepare_cached(
            "SELECT honker_cancel(id) FROM _honker_live WHERE queue = ?1 AND payload = ?2",
        )?;
        let mut rows = stmt.query(params![self.queue, payload(graph, key)])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    /// The live jobs of the queue, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn jobs(&self, reader: &Reader) -> Result<Vec<QueuedJob>> {
        let mut stmt = reader.conn().prepare_cached(
            "SELECT id, payload, state, attempts FROM _honker_live WHERE queue = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([&self.queue], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(job, text, state, attempts)| {
                let payload: Payload = serde_json::from_str(&text).ok()?;
                Some(QueuedJob {
                    job,
                    graph: payload.graph,
                    task: payload.task,
                    state,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                })
            })
            .collect())
    }

    /// Claims up to `n` ready tasks for `worker`, each for `timeout` (whole
    /// seconds, rounded up, at least 1). Each claimed task becomes running.
    ///
    /// A job whose earlier claim lapsed is claimed again (its task is still
    /// running: the earlier worker presumably died); a lapsed job with no
    /// attempts left fails its task instead. Jobs whose task was removed,
    /// finished or cancelled meanwhile are discarded.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::taskgraph::{Dispatch, Failure, Status, Task, Taskgraphs};
    /// use alknet_graphs::Store;
    /// use std::time::Duration;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("t.db"))?;
    /// let dispatch = Dispatch::new("jobs").max_attempts(2);
    /// let tasks = Taskgraphs::builder().dispatch(dispatch.clone()).open(&store)?;
    /// store.write(|tx| {
    ///     tasks.create(tx, "g")?;
    ///     tasks.add_task(tx, "g", "flaky", &Task::new())
    /// })?;
    /// let minute = Duration::from_secs(60);
    /// let first = store.write(|tx| dispatch.claim(tx, "w1", 1, minute))?.remove(0);
    /// assert_eq!(store.write(|tx| dispatch.fail(tx, &first, "timeout"))?,
    ///            Failure::Retrying { attempt: 1, max_attempts: 2 });
    /// let second = store.write(|tx| dispatch.claim(tx, "w2", 1, minute))?.remove(0);
    /// assert_eq!(second.attempt, 2);
    /// assert_eq!(store.write(|tx| dispatch.fail(tx, &second, "timeout again"))?,
    ///            Failure::Failed { attempts: 2 });
    /// assert_eq!(store.read(|r| tasks.status(r, "g", "flaky"))?, Status::Failed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claim(
        &self,
        tx: &mut WriteTxn<'_>,
        worker: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Claim>> {
        self.fail_exhausted(tx)?;
        let text: String = tx
            .conn()
            .prepare_cached("SELECT honker_claim_batch(?1, ?2, ?3, ?4)")?
            .query_row(
                params![
                    self.queue,
                    worker,
                    i64::try_from(n).unwrap_or(i64::MAX),
                    seconds(timeout, 1)
                ],
                |row| row.get(0),
            )?;
        let claimed: Vec<Claimed> = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt("honker_claim_batch answer", e))?;
        let mut claims = Vec::with_capacity(claimed.len());
        for job in claimed {
            let Ok(task) = serde_json::from_str::<Payload>(&job.payload) else {
                self.honker(
                    tx,
                    "SELECT honker_fail(?1, ?2, 'not a taskgraph job')",
                    job.id,
                    worker,
                )?;
                continue;
            };
            // A job whose task is gone, or that names something other than
            // a task, is discarded rather than wedging the queue.
            let status = match tx.graph(&task.graph)? {
                Some(graph) if graph.graph_type == GRAPH_TYPE => {
                    match try_status(tx, &task.graph, &task.task) {
                        Ok(status) => status,
                        Err(e) if e.task_rule().is_some() => None,
                        Err(other) => return Err(other),
                    }
                }
                _ => None,
            };
            match status {
                Some(Status::Ready) => {
                    set_status(tx, &task.graph, &task.task, Status::Running, None)?;
                }
                Some(Status::Running) => {}
                _ => {
                    self.honker(tx, "SELECT honker_ack(?1, ?2)", job.id, worker)?;
                    continue;
                }
            }
            claims.push(Claim {
                job: job.id,
                worker: worker.to_owned(),
                graph: task.graph,
                task: task.task,
                attempt: u32::try_from(job.attempts).unwrap_or(u32::MAX),
                expires_at: job.claim_expires_at,
            });
        }
        Ok(claims)
    }

    /// Fails the tasks of lapsed claims that used their last attempt (the
    /// claim below dead-letters their jobs).
    fn fail_exhausted(&self, tx: &mut WriteTxn<'_>) -> Result<()> {
        let lapsed: Vec<(String, i64)> = tx
            .conn()
            .prepare_cached(
                "SELECT payload, attempts FROM _honker_live
                  WHERE queue = ?1 AND state = 'processing' AND attempts >= max_attempts
                    AND claim_expires_at < unixepoch()",
            )?
            .query_map([&self.queue], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (text, attempts) in lapsed {
            let Ok(task) = serde_json::from_str::<Payload>(&text) else {
                continue;
            };
            if tx.graph(&task.graph)?.is_some()
                && try_status(tx, &task.graph, &task.task)? == Some(Status::Running)
            {
                let error = format!("the worker's claim lapsed on the last attempt ({attempts})");
                set_status(tx, &task.graph, &task.task, Status::Failed, Some(&error))?;
            }
        }
        Ok(())
    }

    /// Runs a honker function of (job id, worker) and returns its answer.
    fn honker(&self, tx: &mut WriteTxn<'_>, sql: &str, job: i64, worker: &str) -> Result<i64> {
        Ok(tx
            .conn()
            .prepare_cached(sql)?
            .query_row(params![job, worker], |row| row.get(0))?)
    }

    fn lost(claim: &Claim) -> Error {
        Error::ClaimLapsed {
            entity: task_entity(&claim.graph, &claim.task),
            worker: claim.worker.clone(),
            job: claim.job,
        }
    }

    /// Extends `claim` by `extend` from now (whole seconds, rounded up, at
    /// least 1). Returns `false` if the claim had already lapsed or been
    /// taken over: the worker should stop.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn heartbeat(
        &self,
        tx: &mut WriteTxn<'_>,
        claim: &Claim,
        extend: Duration,
    ) -> Result<bool> {
        let extended: i64 = tx
            .conn()
            .prepare_cached("SELECT honker_heartbeat(?1, ?2, ?3)")?
            .query_row(
                params![claim.job, claim.worker, seconds(extend, 1)],
                |row| row.get(0),
            )?;
        Ok(extended == 1)
    }

    /// Completes `claim`: deletes the job and marks the task done, in one
    /// transaction; returns the dependents that became ready.
    ///
    /// # Errors
    ///
    /// [`Error::ClaimLapsed`] naming the task if the claim has lapsed or was
    /// taken over (nothing changes: the task is someone else's now), or
    /// [`Error::StatusConflict`] if the task is no longer running (it was
    /// cancelled or changed by hand).
    pub fn ack(&self, tx: &mut WriteTxn<'_>, claim: &Claim) -> Result<Vec<String>> {
        if self.honker(tx, "SELECT honker_ack(?1, ?2)", claim.job, &claim.worker)? != 1 {
            return Err(Self::lost(claim));
        }
        let graph = claim.graph.as_str();
        if tx.graph(graph)?.is_none() {
            return Ok(Vec::new());
        }
        match try_status(tx, graph, &claim.task)? {
            None => Ok(Vec::new()),
            Some(Status::Running) => {
                set_status(tx, graph, &claim.task, Status::Done, None)?;
                promote_dependents(tx, Some(self as &dyn Queue), graph, &claim.task)
            }
            Some(other) => Err(Error::StatusConflict {
                entity: task_entity(graph, &claim.task),
                current: other.as_str().to_owned(),
                expected: Status::Running.as_str().to_owned(),
            }),
        }
    }

    /// Records a failed attempt of `claim`: with attempts left, the job is
    /// requeued (after [`Dispatch::retry_delay`]) and the task is ready
    /// again; otherwise the job is dead-lettered and the task failed. The
    /// task's `last_error` is set to `error` either way.
    ///
    /// # Errors
    ///
    /// [`Error::ClaimLapsed`] naming the task if the claim has lapsed or was
    /// taken over, or [`Error::StatusConflict`] if the task is no longer
    /// running.
    pub fn fail(&self, tx: &mut WriteTxn<'_>, claim: &Claim, error: &str) -> Result<Failure> {
        let counts: Option<(i64, i64)> = tx
            .conn()
            .prepare_cached(
                "SELECT attempts, max_attempts FROM _honker_live
                  WHERE id = ?1 AND worker_id = ?2 AND state = 'processing'
                    AND claim_expires_at >= unixepoch()",
            )?
            .query_row(params![claim.job, claim.worker], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some((attempts, max_attempts)) = counts else {
            return Err(Self::lost(claim));
        };
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        let max_attempts = u32::try_from(max_attempts).unwrap_or(u32::MAX);
        let (outcome, status) = if attempts < max_attempts {
            let retried: i64 = tx
                .conn()
                .prepare_cached("SELECT honker_retry(?1, ?2, ?3, ?4)")?
                .query_row(
                    params![claim.job, claim.worker, seconds(self.retry_delay, 0), error],
                    |row| row.get(0),
                )?;
            if retried != 1 {
                return Err(Self::lost(claim));
            }
            (
                Failure::Retrying {
                    attempt: attempts,
                    max_attempts,
                },
                Status::Ready,
            )
        } else {
            let failed: i64 = tx
                .conn()
                .prepare_cached("SELECT honker_fail(?1, ?2, ?3)")?
                .query_row(params![claim.job, claim.worker, error], |row| row.get(0))?;
            if failed != 1 {
                return Err(Self::lost(claim));
            }
            (Failure::Failed { attempts }, Status::Failed)
        };
        let graph = claim.graph.as_str();
        if tx.graph(graph)?.is_none() {
            return Ok(outcome);
        }
        match try_status(tx, graph, &claim.task)? {
            None => {}
            Some(Status::Running) => {
                set_status(tx, graph, &claim.task, status, Some(error))?;
            }
            Some(other) => {
                return Err(Error::StatusConflict {
                    entity: task_entity(graph, &claim.task),
                    current: other.as_str().to_owned(),
                    expected: Status::Running.as_str().to_owned(),
                })
            }
        }
        Ok(outcome)
    }
}

impl Queue for Dispatch {
    fn enqueue(&self, tx: &mut WriteTxn<'_>, graph: &str, key: &str) -> Result<()> {
        Dispatch::enqueue(self, tx, graph, key).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_whole_seconds_rounded_up() {
        assert_eq!(seconds(Duration::from_millis(1), 1), 1);
        assert_eq!(seconds(Duration::from_millis(1500), 1), 2);
        assert_eq!(seconds(Duration::ZERO, 1), 1);
        assert_eq!(seconds(Duration::ZERO, 0), 0);
        assert_eq!(seconds(Duration::from_secs(30), 1), 30);
    }

    #[test]
    fn payloads_are_deterministic_text() {
        assert_eq!(payload("g", "a\"b"), r#"{"graph":"g","task":"a\"b"}"#);
    }
}
