//! Concurrency across processes: four writer processes open one file at the
//! same moment and each commits 500 one-node transactions. Every write
//! lands, none fails with SQLITE_BUSY ("database is locked"), the revision
//! advances by exactly one per transaction, and the store verifies clean.

#![cfg(unix)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alknet_graphs::{verify, ChangeBatch, GraphConfig, Store};
use serde_json::json;

const WRITERS: u64 = 4;
const WRITES: u64 = 500;
const GRAPH: &str = "shared";
/// What a writer prints once it waits at the barrier.
const WAITING: &str = "alknet-concurrency-waiting";

/// One writer: waits for the start file, opens the store and commits
/// `ALKNET_CONC_WRITES` transactions of one node each.
#[test]
#[ignore = "run as a child process by four_processes_write_at_once"]
fn concurrent_writer() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let id: u64 = var("ALKNET_CONC_ID").parse().expect("id");
    let writes: u64 = var("ALKNET_CONC_WRITES").parse().expect("writes");
    let start = std::path::PathBuf::from(var("ALKNET_CONC_START"));
    println!("{WAITING}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !start.exists() {
        assert!(Instant::now() < deadline, "the start file never appeared");
        std::thread::sleep(Duration::from_micros(200));
    }
    let store = Store::open(var("ALKNET_CONC_DB")).unwrap_or_else(|e| panic!("open: {e}"));
    for i in 0..writes {
        let key = format!("w{id}-{i}");
        store
            .write(|tx| tx.add_node(GRAPH, &key, "item", &json!({"writer": id, "i": i})))
            .unwrap_or_else(|e| panic!("writer {id}, write {i}: {e}"));
    }
}

/// Kills the child if the test panics before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn four_processes_write_at_once() {
    let (dir, store) = common::store();
    store
        .write(|tx| {
            tx.define_graph_type("plain", GraphConfig::directed())?;
            tx.define_node_type(
                "plain",
                "item",
                &json!({
                    "type": "object",
                    "properties": {"writer": {"type": "integer"}, "i": {"type": "integer"}},
                    "required": ["writer", "i"]
                }),
            )?;
            tx.create_graph(GRAPH, "plain")?;
            Ok(())
        })
        .unwrap();
    let before = store.revision().unwrap();
    let start = dir.path().join("start");

    let (waiting_tx, waiting) = mpsc::channel();
    let mut children = Vec::new();
    for id in 0..WRITERS {
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe().unwrap())
                .args(["concurrent_writer", "--exact", "--ignored", "--nocapture"])
                .env("ALKNET_CONC_DB", store.path())
                .env("ALKNET_CONC_ID", id.to_string())
                .env("ALKNET_CONC_WRITES", WRITES.to_string())
                .env("ALKNET_CONC_START", &start)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let waiting_tx = waiting_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains(WAITING) {
                    let _ = waiting_tx.send(id);
                }
            }
        });
        let mut stderr = child.0.stderr.take().unwrap();
        let output = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        children.push((child, output));
    }
    for _ in 0..WRITERS {
        waiting
            .recv_timeout(Duration::from_secs(60))
            .expect("every writer reaches the barrier");
    }
    let started = Instant::now();
    std::fs::write(&start, b"go").unwrap();

    let mut failures = Vec::new();
    for (id, (mut child, output)) in children.into_iter().enumerate() {
        let status = child.0.wait().unwrap();
        let stderr = output.join().unwrap();
        if !status.success() {
            failures.push(format!("writer {id} exited with {status}:\n{stderr}"));
        }
        let lowered = stderr.to_lowercase();
        assert!(
            !lowered.contains("locked") && !lowered.contains("busy"),
            "writer {id} surfaced a busy error:\n{stderr}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "{} transactions from {WRITERS} processes in {:?}",
        WRITERS * WRITES,
        started.elapsed()
    );

    let read = store.begin_read().unwrap();
    assert_eq!(read.node_count(GRAPH).unwrap(), WRITERS * WRITES);
    for id in 0..WRITERS {
        for i in 0..WRITES {
            let key = format!("w{id}-{i}");
            let node = read
                .node(GRAPH, &key)
                .unwrap()
                .unwrap_or_else(|| panic!("{key} is missing"));
            assert_eq!(node.attributes["writer"], json!(id));
            assert_eq!(node.attributes["i"], json!(i));
        }
    }
    let revision = read.revision().unwrap();
    drop(read);
    assert_eq!(revision, before + WRITERS * WRITES);

    // One change batch per transaction, with revisions in commit order.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT payload FROM _honker_stream WHERE topic = ?1 ORDER BY offset")
        .unwrap();
    let batches: Vec<ChangeBatch> = stmt
        .query_map([alknet_graphs::CHANGE_TOPIC], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|payload| ChangeBatch::from_payload(&payload.unwrap()).unwrap())
        .collect();
    let revisions: Vec<u64> = batches.iter().map(|b| b.revision).collect();
    assert_eq!(revisions, (1..=revision).collect::<Vec<_>>());
    let keys: BTreeSet<&str> = batches[before as usize..]
        .iter()
        .map(|b| {
            assert_eq!(b.events.len(), 1);
            b.events[0].key.as_str()
        })
        .collect();
    assert_eq!(keys.len() as u64, WRITERS * WRITES);

    let report = verify(&store).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems());
    assert_eq!(report.nodes_checked(), WRITERS * WRITES);
}
