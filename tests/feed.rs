//! The change feed: subscriptions (same process and across processes),
//! durable consumers, revisions, watcher restarts and retention.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use alknet_graphs::{
    ChangeOp, EntityKind, Error, FeedMessage, GraphConfig, ResyncReason, Retention, Store,
    CHANGE_CHANNEL,
};
use common::{people, store};
use serde_json::json;

/// Generous: these tests check correctness, not latency.
const PATIENCE: Duration = Duration::from_secs(20);

fn next_batch(feed: &mut alknet_graphs::Subscription) -> alknet_graphs::ChangeBatch {
    match feed.recv_timeout(PATIENCE).unwrap() {
        Some(FeedMessage::Batch(batch)) => batch,
        other => panic!("expected a batch, got {other:?}"),
    }
}

fn add_team(store: &Store, key: &str) -> u64 {
    let mut tx = store.begin_write().unwrap();
    tx.add_node("acme", key, "team", &json!({})).unwrap();
    tx.commit().unwrap()
}

#[test]
fn a_subscription_receives_exactly_the_committed_batch() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    assert_eq!(feed.revision(), 1);
    assert_eq!(
        feed.try_recv().unwrap(),
        None,
        "nothing before the next commit"
    );

    let revision = add_team(&store, "ops");
    let batch = next_batch(&mut feed);
    assert_eq!(batch.revision, revision);
    assert_eq!(batch.events.len(), 1);
    let event = &batch.events[0];
    assert_eq!(
        (event.entity, event.op),
        (EntityKind::Node, ChangeOp::Create)
    );
    assert_eq!(
        (event.graph.as_deref(), event.key.as_str()),
        (Some("acme"), "ops")
    );
    assert_eq!(feed.revision(), revision);
}

#[test]
fn a_rolled_back_transaction_is_never_delivered() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    {
        let mut tx = store.begin_write().unwrap();
        tx.add_node("acme", "ghost", "team", &json!({})).unwrap();
    }
    store
        .write(|tx| tx.add_node("acme", "bad", "person", &json!({})))
        .unwrap_err();
    assert_eq!(feed.recv_timeout(Duration::from_millis(200)).unwrap(), None);
    add_team(&store, "real");
    assert_eq!(next_batch(&mut feed).events[0].key, "real");
}

#[test]
fn many_transactions_arrive_in_commit_order() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    let writer = store.clone();
    let handle = std::thread::spawn(move || {
        for i in 0..300 {
            add_team(&writer, &format!("t{i:03}"));
        }
    });
    for i in 0..300 {
        let batch = next_batch(&mut feed);
        assert_eq!(batch.revision, 2 + i);
        assert_eq!(batch.events[0].key, format!("t{i:03}"));
    }
    handle.join().unwrap();
}

#[test]
fn large_batches_are_delivered_whole() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    store
        .write(|tx| {
            for i in 0..1000 {
                tx.add_node("acme", &format!("t{i:04}"), "team", &json!({}))?;
            }
            Ok(())
        })
        .unwrap();
    let batch = next_batch(&mut feed);
    assert_eq!(batch.events.len(), 1000);
    assert_eq!(batch.events[999].key, "t0999");
}

/// The writer half of the cross-process test: run by the parent as a child
/// process, it commits `ALKNET_CHILD_WRITES` transactions to the store at
/// `ALKNET_CHILD_DB`.
#[test]
#[ignore = "run as a child process by writes_from_another_process_are_delivered"]
fn child_writer() {
    let path = std::env::var("ALKNET_CHILD_DB").expect("ALKNET_CHILD_DB");
    let writes: usize = std::env::var("ALKNET_CHILD_WRITES")
        .expect("count")
        .parse()
        .unwrap();
    let store = Store::open(path).unwrap();
    for i in 0..writes {
        add_team(&store, &format!("child-{i}"));
    }
}

#[test]
fn writes_from_another_process_are_delivered() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["child_writer", "--exact", "--ignored", "--quiet"])
        .env("ALKNET_CHILD_DB", store.path())
        .env("ALKNET_CHILD_WRITES", "25")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for i in 0..25 {
        let batch = next_batch(&mut feed);
        assert_eq!(batch.revision, 2 + i);
        assert_eq!(batch.events[0].key, format!("child-{i}"));
    }
    assert!(store.wait_for_revision(26, Duration::ZERO).unwrap());
}

#[test]
fn a_durable_consumer_resumes_after_its_last_ack() {
    let (dir, store) = store();
    people(&store, GraphConfig::directed());
    for i in 0..5 {
        add_team(&store, &format!("t{i}"));
    }
    let mut consumer = store.consumer("indexer").unwrap();
    let mut revisions = Vec::new();
    for _ in 0..4 {
        let delivery = consumer.try_next().unwrap().unwrap();
        revisions.push(delivery.batch.revision);
        if delivery.batch.revision == 3 {
            consumer.ack(delivery.offset).unwrap();
        }
    }
    assert_eq!(revisions, [1, 2, 3, 4]);
    drop(consumer);
    drop(store);

    // A restart: revision 4 was delivered but not acknowledged.
    let store = Store::open(dir.path().join("test.db")).unwrap();
    let mut consumer = store.consumer("indexer").unwrap();
    let again: Vec<u64> = std::iter::from_fn(|| consumer.try_next().unwrap())
        .map(|d| d.batch.revision)
        .collect();
    assert_eq!(again, [4, 5, 6]);

    // Acknowledging never moves back.
    let acked = consumer.acked().unwrap();
    consumer.ack(1).unwrap();
    assert_eq!(consumer.acked().unwrap(), acked);

    // Another name has its own position.
    let mut other = store.consumer("auditor").unwrap();
    assert_eq!(other.try_next().unwrap().unwrap().batch.revision, 1);
}

#[test]
fn a_consumer_waits_for_the_next_batch() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut consumer = store.consumer("c").unwrap();
    consumer.try_next().unwrap().unwrap();
    assert_eq!(
        consumer.next_timeout(Duration::from_millis(50)).unwrap(),
        None
    );
    let writer = store.clone();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        add_team(&writer, "late")
    });
    let delivery = consumer.next_timeout(PATIENCE).unwrap().unwrap();
    assert_eq!(delivery.batch.events[0].key, "late");
    handle.join().unwrap();
}

#[test]
fn a_restarted_watcher_asks_subscribers_to_resync_and_they_keep_receiving() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    store.restart_watcher();
    assert_eq!(
        feed.recv_timeout(PATIENCE).unwrap(),
        Some(FeedMessage::Resync(ResyncReason::WatcherRestarted))
    );
    let revision = add_team(&store, "after");
    let batch = next_batch(&mut feed);
    assert_eq!(
        (batch.revision, batch.events[0].key.as_str()),
        (revision, "after")
    );

    // A second subscription shares the new watcher and sees the same.
    let mut second = store.subscribe().unwrap();
    store.restart_watcher();
    for feed in [&mut feed, &mut second] {
        assert_eq!(
            feed.recv_timeout(PATIENCE).unwrap(),
            Some(FeedMessage::Resync(ResyncReason::WatcherRestarted))
        );
    }
    add_team(&store, "again");
    assert_eq!(next_batch(&mut feed).events[0].key, "again");
    assert_eq!(next_batch(&mut second).events[0].key, "again");
}

#[test]
fn a_watcher_runs_only_while_someone_subscribes() {
    let (_dir, store) = store();
    assert!(!store.watcher_running());
    let first = store.subscribe().unwrap();
    let second = store.subscribe().unwrap();
    assert!(store.watcher_running());
    drop(first);
    assert!(store.watcher_running());
    drop(second);
    assert!(!store.watcher_running());
}

#[test]
fn pruning_removes_old_notifications_and_a_consumer_behind_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        notifications_max_count: 3,
        stream_max_count: 4,
        ..Retention::default()
    };
    let store = Store::builder()
        .retention(retention)
        .open(dir.path().join("test.db"))
        .unwrap();
    people(&store, GraphConfig::directed());
    let mut consumer = store.consumer("slow").unwrap();
    let first = consumer.try_next().unwrap().unwrap();
    consumer.ack(first.offset).unwrap();
    let mut feed = store.subscribe().unwrap();
    for i in 0..9 {
        add_team(&store, &format!("t{i}"));
    }
    let report = store.prune().unwrap();
    assert!(
        report.notifications > 0 && report.stream_batches > 0,
        "{report:?}"
    );
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM _honker_notifications WHERE channel = ?1",
            [CHANGE_CHANNEL],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 3);

    // The subscription slept through pruning: it is told what it missed.
    assert_eq!(
        feed.recv_timeout(PATIENCE).unwrap(),
        Some(FeedMessage::Resync(ResyncReason::Gap {
            expected: 2,
            found: 8
        }))
    );
    assert_eq!(next_batch(&mut feed).revision, 8);

    let err = consumer.try_next().unwrap_err();
    assert!(err.is_consumer_behind(), "{err}");
    assert!(
        err.to_string()
            .starts_with(r#"consumer "slow" is at offset"#),
        "{err}"
    );
    consumer.skip_pruned().unwrap();
    let resumed: Vec<u64> = std::iter::from_fn(|| consumer.try_next().unwrap())
        .map(|d| d.batch.revision)
        .collect();
    assert_eq!(resumed, [7, 8, 9, 10]);
}

#[test]
fn committing_writes_prune_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        notifications_max_count: 2,
        interval: Duration::ZERO,
        ..Retention::default()
    };
    let store = Store::builder()
        .retention(retention)
        .open(dir.path().join("test.db"))
        .unwrap();
    people(&store, GraphConfig::directed());
    for i in 0..6 {
        add_team(&store, &format!("t{i}"));
    }
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM _honker_notifications", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(kept <= 3, "{kept} notifications kept");
}

#[test]
fn an_undecodable_notification_is_reported_not_dropped() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut feed = store.subscribe().unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.execute(
        "INSERT INTO _honker_notifications (channel, payload) VALUES (?1, 'not json')",
        [CHANGE_CHANNEL],
    )
    .unwrap();
    match feed.recv_timeout(PATIENCE).unwrap() {
        Some(FeedMessage::Undecodable { reason, .. }) => {
            assert!(reason.starts_with("not a change notification"), "{reason}")
        }
        other => panic!("expected an undecodable notice, got {other:?}"),
    }
    add_team(&store, "next");
    assert_eq!(next_batch(&mut feed).events[0].key, "next");
}

#[test]
fn waiting_for_a_revision_times_out_or_returns_once_reached() {
    let (_dir, store) = store();
    assert!(store.wait_for_revision(0, Duration::ZERO).unwrap());
    assert!(!store
        .wait_for_revision(1, Duration::from_millis(30))
        .unwrap());
    let other = Store::open(store.path()).unwrap();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        other.write(|tx| tx.define_graph_type("t", GraphConfig::default()))
    });
    assert!(store.wait_for_revision(1, PATIENCE).unwrap());
    handle.join().unwrap().unwrap();
    let err = Store::open(store.path())
        .unwrap()
        .consumer("")
        .err()
        .expect("an empty name is refused");
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
}
