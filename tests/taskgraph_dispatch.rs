//! Durable dispatch: a job per ready task in the same transaction, claims,
//! heartbeats, acks and failures, and crash resume after a lapsed claim.
//! Honker counts whole seconds, so the tests that wait for a claim to lapse
//! use 1-second timeouts and take 2–3 seconds.

mod common;

use std::thread::sleep;
use std::time::{Duration, Instant};

use alknet_graphs::taskgraph::{Claim, Dispatch, Failure, Status, Task, Taskgraphs};
use alknet_graphs::Store;
use common::{rejected, store};

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

fn open(store: &Store, dispatch: Dispatch) -> (Taskgraphs, Dispatch) {
    let tasks = Taskgraphs::builder()
        .dispatch(dispatch.clone())
        .open(store)
        .unwrap();
    (tasks, dispatch)
}

/// `b` depends on `a`.
fn chain(store: &Store, tasks: &Taskgraphs) {
    store
        .write(|tx| {
            tasks.create(tx, "g")?;
            tasks.add_task(tx, "g", "a", &Task::new())?;
            tasks.add_task(tx, "g", "b", &Task::new())?;
            tasks.add_dependency(tx, "g", "b", "a")?;
            Ok(())
        })
        .unwrap();
}

fn queued(store: &Store, dispatch: &Dispatch) -> Vec<(String, String)> {
    store
        .read(|r| dispatch.jobs(r))
        .unwrap()
        .into_iter()
        .map(|j| (j.task, j.state))
        .collect()
}

fn status(store: &Store, tasks: &Taskgraphs, key: &str) -> Status {
    store.read(|r| tasks.status(r, "g", key)).unwrap()
}

/// Claims until something is claimed or `limit` passes.
fn claim_within(
    store: &Store,
    dispatch: &Dispatch,
    worker: &str,
    timeout: Duration,
    limit: Duration,
) -> Vec<Claim> {
    let start = Instant::now();
    loop {
        let claims = store
            .write(|tx| dispatch.claim(tx, worker, 10, timeout))
            .unwrap();
        if !claims.is_empty() || start.elapsed() > limit {
            return claims;
        }
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_job_is_enqueued_in_the_transaction_that_makes_the_task_ready() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    let mut tx = store.begin_write().unwrap();
    tasks.create(&mut tx, "g").unwrap();
    tasks.add_task(&mut tx, "g", "a", &Task::new()).unwrap();
    let inside: Vec<String> = dispatch
        .jobs(&tx)
        .unwrap()
        .into_iter()
        .map(|j| j.task)
        .collect();
    assert_eq!(inside, ["a"], "visible inside the transaction");
    drop(tx);
    assert!(queued(&store, &dispatch).is_empty(), "rolled back together");
    assert!(store.read(|r| r.graph("g")).unwrap().is_none());

    chain(&store, &tasks);
    assert_eq!(queued(&store, &dispatch), [("a".into(), "pending".into())]);
}

#[test]
fn claim_then_ack_completes_the_task_and_dispatches_its_dependents() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    chain(&store, &tasks);
    let claims = store
        .write(|tx| dispatch.claim(tx, "w1", 10, MINUTE))
        .unwrap();
    assert_eq!(claims.len(), 1);
    let claim = &claims[0];
    assert_eq!(
        (claim.task.as_str(), claim.worker.as_str(), claim.attempt),
        ("a", "w1", 1)
    );
    assert_eq!(status(&store, &tasks, "a"), Status::Running);
    assert_eq!(
        queued(&store, &dispatch),
        [("a".into(), "processing".into())]
    );
    // Nothing else is claimable while a runs.
    assert!(store
        .write(|tx| dispatch.claim(tx, "w2", 10, MINUTE))
        .unwrap()
        .is_empty());

    assert!(store
        .write(|tx| dispatch.heartbeat(tx, claim, MINUTE))
        .unwrap());
    let promoted = store.write(|tx| dispatch.ack(tx, claim)).unwrap();
    assert_eq!(promoted, ["b"]);
    assert_eq!(status(&store, &tasks, "a"), Status::Done);
    assert_eq!(queued(&store, &dispatch), [("b".into(), "pending".into())]);

    // Acking twice changes nothing: the job is gone.
    let err = rejected(&store, |tx| dispatch.ack(tx, claim));
    assert_eq!(
        err.to_string(),
        format!(
            r#"node "a" in graph "g": the claim of worker "w1" on job {} has lapsed or was taken over"#,
            claim.job
        )
    );
    assert!(err.is_claim_lapsed());
    assert!(!store
        .write(|tx| dispatch.heartbeat(tx, claim, MINUTE))
        .unwrap());

    let next = store
        .write(|tx| dispatch.claim(tx, "w2", 10, MINUTE))
        .unwrap();
    assert_eq!(next[0].task, "b");
    store.write(|tx| dispatch.ack(tx, &next[0])).unwrap();
    assert!(queued(&store, &dispatch).is_empty());
    assert!(store
        .write(|tx| dispatch.claim(tx, "w3", 10, MINUTE))
        .unwrap()
        .is_empty());
}

#[test]
fn an_unacked_claim_becomes_claimable_after_its_timeout() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    chain(&store, &tasks);
    // w1 claims for one second, then "crashes".
    let lost = store
        .write(|tx| dispatch.claim(tx, "w1", 10, SECOND))
        .unwrap()
        .remove(0);
    assert!(store
        .write(|tx| dispatch.claim(tx, "w2", 10, SECOND))
        .unwrap()
        .is_empty());
    let resumed = claim_within(&store, &dispatch, "w2", MINUTE, Duration::from_secs(5));
    assert_eq!(resumed.len(), 1, "claimable again after the timeout");
    let resumed = &resumed[0];
    assert_eq!((resumed.task.as_str(), resumed.attempt), ("a", 2));
    assert_eq!(resumed.job, lost.job);
    assert_eq!(status(&store, &tasks, "a"), Status::Running);

    // The crashed worker comes back: its ack and its failure are refused.
    let err = rejected(&store, |tx| dispatch.ack(tx, &lost));
    assert!(
        err.to_string().contains("has lapsed or was taken over"),
        "{err}"
    );
    let err = rejected(&store, |tx| dispatch.fail(tx, &lost, "late"));
    assert!(
        err.to_string().contains("has lapsed or was taken over"),
        "{err}"
    );
    assert!(!store
        .write(|tx| dispatch.heartbeat(tx, &lost, MINUTE))
        .unwrap());

    // The new claim completes it exactly once.
    assert_eq!(store.write(|tx| dispatch.ack(tx, resumed)).unwrap(), ["b"]);
    assert_eq!(status(&store, &tasks, "a"), Status::Done);
    let rest = store
        .write(|tx| dispatch.claim(tx, "w3", 10, MINUTE))
        .unwrap();
    let keys: Vec<&str> = rest.iter().map(|c| c.task.as_str()).collect();
    assert_eq!(keys, ["b"], "a is never handed out again");
}

#[test]
fn a_heartbeat_keeps_the_claim() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    chain(&store, &tasks);
    let claim = store
        .write(|tx| dispatch.claim(tx, "w1", 1, SECOND))
        .unwrap()
        .remove(0);
    assert!(store
        .write(|tx| dispatch.heartbeat(tx, &claim, Duration::from_secs(10)))
        .unwrap());
    sleep(Duration::from_millis(2100));
    assert!(store
        .write(|tx| dispatch.claim(tx, "w2", 10, MINUTE))
        .unwrap()
        .is_empty());
    store.write(|tx| dispatch.ack(tx, &claim)).unwrap();
}

#[test]
fn failures_retry_until_the_attempts_run_out() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds").max_attempts(2));
    chain(&store, &tasks);
    let first = store
        .write(|tx| dispatch.claim(tx, "w1", 1, MINUTE))
        .unwrap()
        .remove(0);
    assert_eq!(
        store
            .write(|tx| dispatch.fail(tx, &first, "disk full"))
            .unwrap(),
        Failure::Retrying {
            attempt: 1,
            max_attempts: 2
        }
    );
    assert_eq!(status(&store, &tasks, "a"), Status::Ready);
    let a = store.read(|r| r.node("g", "a")).unwrap().unwrap();
    assert_eq!(a.attributes["last_error"], "disk full");

    let second = store
        .write(|tx| dispatch.claim(tx, "w2", 1, MINUTE))
        .unwrap()
        .remove(0);
    assert_eq!(second.attempt, 2);
    assert_eq!(
        store
            .write(|tx| dispatch.fail(tx, &second, "disk still full"))
            .unwrap(),
        Failure::Failed { attempts: 2 }
    );
    assert_eq!(status(&store, &tasks, "a"), Status::Failed);
    assert!(queued(&store, &dispatch).is_empty(), "dead-lettered");

    // A retry by hand makes it ready again, with a new job.
    let promoted = store
        .write(|tx| tasks.transition(tx, "g", "a", Status::Failed, Status::Pending))
        .unwrap();
    assert_eq!(promoted, ["a"]);
    assert_eq!(queued(&store, &dispatch), [("a".into(), "pending".into())]);
}

#[test]
fn a_lapsed_last_attempt_fails_the_task() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds").max_attempts(1));
    chain(&store, &tasks);
    let lost = store
        .write(|tx| dispatch.claim(tx, "w1", 1, SECOND))
        .unwrap()
        .remove(0);
    sleep(Duration::from_millis(2100));
    assert!(store
        .write(|tx| dispatch.claim(tx, "w2", 10, MINUTE))
        .unwrap()
        .is_empty());
    assert_eq!(status(&store, &tasks, "a"), Status::Failed);
    let a = store.read(|r| r.node("g", "a")).unwrap().unwrap();
    assert_eq!(
        a.attributes["last_error"],
        "the worker's claim lapsed on the last attempt (1)"
    );
    assert!(queued(&store, &dispatch).is_empty());
    assert!(store.write(|tx| dispatch.ack(tx, &lost)).is_err());
}

#[test]
fn cancelled_and_demoted_tasks_lose_their_jobs() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    chain(&store, &tasks);
    store
        .write(|tx| {
            tasks.add_task(tx, "g", "c", &Task::new())?;
            tasks.add_task(tx, "g", "d", &Task::new())
        })
        .unwrap();
    let tasks_queued = |store: &Store| -> Vec<String> {
        queued(store, &dispatch)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    };
    assert_eq!(tasks_queued(&store), ["a", "c", "d"]);
    // c cancelled, d gains a dependency on b (not done): both jobs go.
    store
        .write(|tx| {
            tasks.transition(tx, "g", "c", Status::Ready, Status::Cancelled)?;
            tasks.add_dependency(tx, "g", "d", "b")
        })
        .unwrap();
    assert_eq!(tasks_queued(&store), ["a"]);
    assert_eq!(status(&store, &tasks, "d"), Status::Pending);

    // A running task cancelled by hand: its worker can no longer ack.
    let claim = store
        .write(|tx| dispatch.claim(tx, "w1", 1, MINUTE))
        .unwrap()
        .remove(0);
    store
        .write(|tx| tasks.transition(tx, "g", "a", Status::Running, Status::Cancelled))
        .unwrap();
    assert!(store.write(|tx| dispatch.ack(tx, &claim)).is_err());
    assert!(tasks_queued(&store).is_empty());
}

#[test]
fn higher_priority_is_claimed_first_and_queues_are_separate() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    store
        .write(|tx| {
            tasks.create(tx, "g")?;
            tasks.add_task(tx, "g", "low", &Task::new().priority(-5))?;
            tasks.add_task(tx, "g", "high", &Task::new().priority(50))?;
            tasks.add_task(tx, "g", "normal", &Task::new())
        })
        .unwrap();
    let claims = store
        .write(|tx| dispatch.claim(tx, "w1", 2, MINUTE))
        .unwrap();
    let keys: Vec<&str> = claims.iter().map(|c| c.task.as_str()).collect();
    assert_eq!(keys, ["high", "normal"]);
    let other = Dispatch::new("elsewhere");
    assert!(store
        .write(|tx| other.claim(tx, "w2", 10, MINUTE))
        .unwrap()
        .is_empty());
}

#[test]
fn foreign_and_stale_jobs_are_discarded_without_wedging_the_queue() {
    let (_dir, store) = store();
    let (tasks, dispatch) = open(&store, Dispatch::new("builds"));
    chain(&store, &tasks);
    common::people(&store, alknet_graphs::GraphConfig::directed());
    // Jobs some other program put on the same queue, at a higher priority.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    honker_core::attach_honker_functions(&conn).unwrap();
    for payload in [
        "not json",
        r#"{"graph":"acme","task":"ada"}"#,
        r#"{"graph":"gone","task":"a"}"#,
        r#"{"graph":"g","task":"missing"}"#,
    ] {
        conn.query_row(
            "SELECT honker_enqueue('builds', ?1, NULL, NULL, 100, 3, NULL)",
            [payload],
            |row| row.get::<_, i64>(0),
        )
        .unwrap();
    }
    drop(conn);
    let claims = store
        .write(|tx| dispatch.claim(tx, "w1", 10, MINUTE))
        .unwrap();
    let keys: Vec<&str> = claims.iter().map(|c| c.task.as_str()).collect();
    assert_eq!(keys, ["a"]);
    let left: Vec<String> = store
        .read(|r| dispatch.jobs(r))
        .unwrap()
        .into_iter()
        .map(|j| j.task)
        .collect();
    assert_eq!(left, ["a"], "only the claimed task's job is left");
}
