//! What a committed write costs the file: the pages (write-ahead log
//! frames) a one-node transaction writes, by b-tree. The outbox's share is
//! the revision, the stream row and the notification row with their
//! indexes and honker's AUTOINCREMENT counter; a page more per commit is a
//! throughput regression (P2 in the README), so it fails here first.
//!
//! And what a rolled-back write costs: nothing at all, so no watcher of the
//! file (which polls `PRAGMA data_version`) even wakes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use alknet_graphs::{GraphConfig, Store};
use common::{people, store};
use serde_json::json;

const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// The b-trees a one-node commit writes, each at least once.
const ONE_NODE_COMMIT: [&str; 8] = [
    // The node: its row and its key index, as a bare insert writes.
    "nodes",
    "sqlite_autoindex_nodes_1",
    // The revision and the published write epoch (one page).
    "_alknet_meta",
    // The change batch on the stream.
    "_honker_stream",
    "_honker_stream_topic",
    // The notification on the change channel.
    "_honker_notifications",
    "_honker_notifications_recent",
    // honker's AUTOINCREMENT counter of both tables (one page).
    "sqlite_sequence",
];

/// The database pages in the write-ahead log, grouped by commit, in order.
fn commits_in_wal(store: &Store) -> Vec<Vec<u32>> {
    let wal = std::fs::read(store.path().with_extension("db-wal")).unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let frame = FRAME_HEADER + page_size as usize;
    let mut commits = Vec::new();
    let mut pages = Vec::new();
    for at in (WAL_HEADER..wal.len()).step_by(frame) {
        let word = |i: usize| u32::from_be_bytes(wal[at + i..at + i + 4].try_into().unwrap());
        pages.push(word(0));
        // A frame whose "database size after commit" is set ends a commit.
        if word(4) != 0 {
            commits.push(std::mem::take(&mut pages));
        }
    }
    assert!(pages.is_empty(), "a commit is cut short in the log");
    commits
}

/// The b-tree (table or index) each page of the file belongs to.
fn owners(store: &Store) -> BTreeMap<u32, String> {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mut stmt = conn.prepare("SELECT pageno, name FROM dbstat").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn add_person(store: &Store, key: &str) {
    store
        .write(|tx| tx.add_node("acme", key, "person", &json!({"name": key})))
        .unwrap();
}

#[test]
fn a_one_node_commit_writes_the_node_the_revision_the_batch_and_the_notification() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    for i in 0..200 {
        add_person(&store, &format!("warm{i:04}"));
    }
    // Empty the log, so that it holds exactly the commits below.
    store.scrub().unwrap();
    let n = 400;
    for i in 0..n {
        add_person(&store, &format!("p{i:04}"));
    }
    let commits = commits_in_wal(&store);
    assert_eq!(commits.len(), n);
    let owners = owners(&store);
    let expected: BTreeSet<&str> = ONE_NODE_COMMIT.into();
    let mut frames = 0;
    for (i, pages) in commits.iter().enumerate() {
        frames += pages.len();
        let written: BTreeSet<&str> = pages
            .iter()
            .map(|page| owners.get(page).map_or("?", String::as_str))
            // Page 1 (the schema's root) carries the file's size in pages.
            .filter(|name| *name != "sqlite_schema")
            .collect();
        assert_eq!(written, expected, "commit {i} wrote {pages:?}");
    }
    // 8 pages, and a split now and then (8.7 on average when measured).
    let per_commit = frames as f64 / n as f64;
    assert!(
        (8.0..9.5).contains(&per_commit),
        "{per_commit:.2} pages per one-node commit"
    );
}

#[test]
fn a_rolled_back_write_leaves_the_file_untouched_and_wakes_no_watcher() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    add_person(&store, "ann");
    let watcher = rusqlite::Connection::open(store.path()).unwrap();
    let data_version = || -> i64 {
        watcher
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .unwrap()
    };
    let wal = || {
        std::fs::metadata(store.path().with_extension("db-wal"))
            .unwrap()
            .len()
    };
    let (version, size) = (data_version(), wal());

    // Dropped, failed in the closure, rolled back by hand: three writes
    // that each made rows (a node, its change batch) before ending.
    {
        let mut tx = store.begin_write().unwrap();
        tx.add_node("acme", "ben", "person", &json!({"name": "Ben"}))
            .unwrap();
    }
    store
        .write(|tx| {
            tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))?;
            tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
        })
        .unwrap_err();
    let mut tx = store.begin_write().unwrap();
    tx.add_node("acme", "dee", "person", &json!({"name": "Dee"}))
        .unwrap();
    tx.rollback().unwrap();

    assert_eq!(
        wal(),
        size,
        "a rolled-back write appends nothing to the log"
    );
    assert_eq!(data_version(), version, "no watcher sees a change");
    add_person(&store, "eve");
    assert_ne!(data_version(), version, "a commit is seen");
}
