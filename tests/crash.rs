//! Crash safety: a writer process killed with SIGKILL at random moments
//! leaves a store that opens and verifies clean, in which every batch (one
//! write transaction) is wholly present or wholly absent, every batch the
//! writer saw commit is present, and the revision and the change stream
//! agree with the batches present.
//!
//! `ALKNET_CRASH_TRIALS` sets the number of kills (default 20) and
//! `ALKNET_CRASH_SEED` replays a run's batch sizes and kill schedule (the
//! seed is printed on failure; where the writer is when a kill lands still
//! depends on timing).

#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alknet_graphs::{verify, ChangeBatch, ChangeOp, EntityKind, GraphConfig, NewEdge, Store};
use common::Rng;
use serde_json::json;

const GRAPH: &str = "crash";
/// Batch numbers of trial `t` start at `t * TRIAL_STRIDE`.
const TRIAL_STRIDE: u64 = 100_000;
/// What the writer prints after each commit, followed by the batch number.
const COMMITTED: &str = "alknet-crash-committed ";
/// What the writer prints when it begins a batch, followed by the number.
const BEGUN: &str = "alknet-crash-begun ";
/// What the writer prints once the store is open.
const READY: &str = "alknet-crash-ready";

/// Nodes in batch `batch`: 200 to 2000, fixed by the seed.
fn batch_size(seed: u64, batch: u64) -> u64 {
    200 + Rng::new(seed ^ batch.wrapping_mul(0x9E37_79B9_7F4A_7C15)).below(1801)
}

/// Edges in a batch: a backward chain over its first nodes, plus a link to
/// the writer's previous batch unless it is the writer's first.
fn edge_count(seed: u64, batch: u64) -> u64 {
    batch_size(seed, batch) / 4 + u64::from(batch % TRIAL_STRIDE > 0)
}

fn setup(store: &Store) {
    store
        .write(|tx| {
            tx.define_graph_type("dag", GraphConfig::directed().acyclic(true))?;
            tx.define_node_type(
                "dag",
                "item",
                &json!({
                    "type": "object",
                    "properties": {"batch": {"type": "integer"}, "i": {"type": "integer"}},
                    "required": ["batch", "i"],
                    "additionalProperties": false
                }),
            )?;
            tx.define_edge_type(
                "dag",
                "next",
                &json!({"type": "object"}),
                &Default::default(),
            )?;
            tx.create_graph(GRAPH, "dag")?;
            Ok(())
        })
        .expect("setup");
}

/// The writer: commits batches starting at `ALKNET_CRASH_FIRST` until it is
/// killed (or a minute has passed, which the parent reports as a failure).
#[test]
#[ignore = "run as a child process by killed_writers_leave_whole_batches"]
fn crash_writer() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let seed: u64 = var("ALKNET_CRASH_SEED").parse().expect("seed");
    let first: u64 = var("ALKNET_CRASH_FIRST").parse().expect("first batch");
    let store = Store::open(var("ALKNET_CRASH_DB")).expect("open");
    println!("{READY}");
    let started = Instant::now();
    for batch in first.. {
        if started.elapsed() > Duration::from_secs(60) {
            return;
        }
        let size = batch_size(seed, batch);
        let node = |i: u64| format!("b{batch}-{i}");
        let mut tx = store.begin_write().expect("begin");
        println!("{BEGUN}{batch}");
        for i in 0..size {
            tx.add_node(GRAPH, &node(i), "item", &json!({"batch": batch, "i": i}))
                .expect("add node");
        }
        // Each edge points back at an older node, so the kept order moves.
        for j in 0..size / 4 {
            let key = format!("b{batch}-e{j}");
            tx.add_edge(
                GRAPH,
                NewEdge::new("next", &node(j + 1), &node(j)).key(&key),
            )
            .expect("add edge");
        }
        if batch > first {
            let previous = format!("b{}-0", batch - 1);
            let key = format!("b{batch}-link");
            tx.add_edge(GRAPH, NewEdge::new("next", &node(0), &previous).key(&key))
                .expect("add link");
        }
        tx.commit().expect("commit");
        println!("{COMMITTED}{batch}");
    }
}

/// When a trial kills the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kill {
    /// Between the spawn and the longest time a writer took to open the
    /// store: while it starts or opens the store.
    DuringOpen,
    /// At 20–300 ms after the store is open.
    AfterReady,
    /// At 20–300 ms after its first commit.
    AfterFirstCommit,
}

/// Kills the child if the test panics before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Nodes and edges per batch number, read from the file.
fn batches_in(store: &Store) -> BTreeMap<u64, (u64, u64)> {
    let conn = rusqlite::Connection::open(store.path()).expect("open raw");
    let mut found: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (table, column) in [("nodes", 0), ("edges", 1)] {
        let sql =
            format!("SELECT substr(key, 2, instr(key, '-') - 2), count(*) FROM {table} GROUP BY 1");
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .unwrap();
        for row in rows {
            let (batch, count) = row.unwrap();
            let batch: u64 = batch.parse().expect("keys are b{batch}-…");
            let entry = found.entry(batch).or_default();
            if column == 0 {
                entry.0 = count;
            } else {
                entry.1 = count;
            }
        }
    }
    found
}

/// One change batch of the stream, as this test reads it.
struct Streamed {
    revision: u64,
    /// The crash batch it records, with the nodes and edges it created;
    /// `None` for the setup transaction.
    crash: Option<(u64, (u64, u64))>,
}

/// The change stream, decoded, in offset order.
fn stream_batches(store: &Store) -> Vec<Streamed> {
    let conn = rusqlite::Connection::open(store.path()).expect("open raw");
    let mut stmt = conn
        .prepare("SELECT payload FROM _honker_stream WHERE topic = ?1 ORDER BY offset")
        .unwrap();
    let payloads: Vec<String> = stmt
        .query_map([alknet_graphs::CHANGE_TOPIC], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    payloads
        .iter()
        .map(|payload| {
            let batch = ChangeBatch::from_payload(payload).expect("a change batch");
            let mut numbers = BTreeSet::new();
            let (mut nodes, mut edges) = (0, 0);
            for event in &batch.events {
                if event.graph.as_deref() != Some(GRAPH) {
                    continue;
                }
                assert_eq!(event.op, ChangeOp::Create, "{event:?}");
                match event.entity {
                    EntityKind::Node => nodes += 1,
                    EntityKind::Edge => edges += 1,
                    other => panic!("unexpected {other:?} event"),
                }
                let number = event.key[1..].split('-').next().unwrap_or_default();
                numbers.insert(number.parse::<u64>().expect("b{batch}-…"));
            }
            assert!(
                numbers.len() <= 1,
                "one transaction, one batch: {numbers:?}"
            );
            Streamed {
                revision: batch.revision,
                crash: numbers.first().map(|&n| (n, (nodes, edges))),
            }
        })
        .collect()
}

fn trials() -> u64 {
    std::env::var("ALKNET_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[test]
fn killed_writers_leave_whole_batches() {
    let seed = std::env::var("ALKNET_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(common::clock_seed);
    eprintln!("crash test seed: {seed} (replay with ALKNET_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let (_dir, store) = common::store();
    setup(&store);
    let setup_revision = store.revision().unwrap();
    let path = store.path().to_path_buf();
    drop(store);

    let mut present: BTreeSet<u64> = BTreeSet::new();
    let mut kills: BTreeMap<Kill, u64> = BTreeMap::new();
    // How long a writer took from spawn to an open store, at most (µs).
    let mut slowest_start: u64 = 10_000;
    // Trials whose kill interrupted an open transaction.
    let mut rolled_back = 0;
    for trial in 0..trials() {
        let context = format!("seed {seed}, trial {trial}");
        let first = trial * TRIAL_STRIDE;
        let spawned = Instant::now();
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe().unwrap())
                .args(["crash_writer", "--exact", "--ignored", "--nocapture"])
                .env("ALKNET_CRASH_DB", &path)
                .env("ALKNET_CRASH_SEED", seed.to_string())
                .env("ALKNET_CRASH_FIRST", first.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut stderr = child.0.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let stdout = child.0.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // A kill lands while the writer starts and opens the store (one
        // trial in four), after it is ready, or after its first commit (so
        // that some batches surely commit and the kill hits a later one).
        let mode = match rng.below(8) {
            0 | 1 => Kill::DuringOpen,
            2..=4 => Kill::AfterReady,
            _ => Kill::AfterFirstCommit,
        };
        let mut seen = Vec::new();
        let delay = match mode {
            // Anywhere up to the longest start seen so far.
            Kill::DuringOpen => Duration::from_micros(rng.below(slowest_start + 1)),
            Kill::AfterReady | Kill::AfterFirstCommit => {
                let awaited = if mode == Kill::AfterReady {
                    READY
                } else {
                    COMMITTED
                };
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let line = lines.recv_timeout(left).unwrap_or_else(|e| {
                        panic!("{context}: the writer never printed {awaited:?}: {e}")
                    });
                    if line.contains(READY) {
                        let micros = spawned.elapsed().as_micros() as u64;
                        slowest_start = slowest_start.max(micros);
                    }
                    let found = line.contains(awaited);
                    seen.push(line);
                    if found {
                        break;
                    }
                }
                Duration::from_millis(20 + rng.below(281))
            }
        };
        std::thread::sleep(delay);
        child.0.kill().unwrap();
        let status = child.0.wait().unwrap();
        let errors = errors.join().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "{context}: the writer ended before it was killed ({status}):\n{errors}"
        );
        reader.join().unwrap();
        seen.extend(lines.try_iter());
        let numbers = |marker: &str| -> Vec<u64> {
            seen.iter()
                .filter_map(|line| {
                    let at = line.find(marker)?;
                    line[at + marker.len()..].trim().parse().ok()
                })
                .collect()
        };
        let reported = numbers(COMMITTED);
        let last_begun = numbers(BEGUN).last().copied();
        *kills.entry(mode).or_insert(0) += 1;

        let store = Store::open(&path).unwrap_or_else(|e| panic!("{context}: open: {e}"));
        let report = verify(&store).unwrap();
        assert!(report.is_clean(), "{context}: {:#?}", report.problems());

        let found = batches_in(&store);
        for (&batch, &(nodes, edges)) in &found {
            assert_eq!(
                (nodes, edges),
                (batch_size(seed, batch), edge_count(seed, batch)),
                "{context}: batch {batch} is partly present"
            );
        }
        let now: BTreeSet<u64> = found.keys().copied().collect();
        for batch in &reported {
            assert!(
                now.contains(batch),
                "{context}: committed batch {batch} is missing"
            );
        }
        assert!(
            now.is_superset(&present),
            "{context}: batches of earlier trials vanished: {:?}",
            present.difference(&now).collect::<Vec<_>>()
        );
        // Batches of this trial are consecutive from its first.
        let this_trial: Vec<u64> = now.range(first..first + TRIAL_STRIDE).copied().collect();
        let expected: Vec<u64> = (first..first + this_trial.len() as u64).collect();
        assert_eq!(this_trial, expected, "{context}: a gap in the batches");
        if last_begun.is_some_and(|batch| !now.contains(&batch)) {
            rolled_back += 1;
        }
        present = now;

        let revision = store.revision().unwrap();
        assert_eq!(
            revision,
            setup_revision + present.len() as u64,
            "{context}: one revision per committed transaction"
        );
        let stream = stream_batches(&store);
        let revisions: Vec<u64> = stream.iter().map(|s| s.revision).collect();
        assert_eq!(
            revisions,
            (1..=revision).collect::<Vec<_>>(),
            "{context}: the stream holds one batch per revision"
        );
        let streamed: BTreeMap<u64, (u64, u64)> = stream.iter().filter_map(|s| s.crash).collect();
        assert_eq!(
            streamed.len(),
            stream.len() - setup_revision as usize,
            "{context}: a crash batch appears twice on the stream"
        );
        assert_eq!(
            streamed, found,
            "{context}: the stream disagrees with the store"
        );
    }
    eprintln!(
        "{} trials, kills {kills:?}, {rolled_back} open transactions interrupted, {} batches committed",
        trials(),
        present.len()
    );
    assert!(
        trials() < 10 || rolled_back > 0,
        "seed {seed}: no kill interrupted an open transaction"
    );
    // Each kill after a first commit leaves at least that batch.
    let after_commit = kills.get(&Kill::AfterFirstCommit).copied().unwrap_or(0);
    assert!(
        present.len() as u64 >= after_commit,
        "seed {seed}: {} batches for {after_commit} trials that saw a commit",
        present.len()
    );
}
