//! Write throughput of the store against raw SQLite, measured in the same
//! run so the figures read as ratios.
//!
//! - **P1, bulk insert**: 100,000 schema-validated nodes added in one write
//!   transaction (`begin_write`, `add_node` × 100,000, `commit`), against
//!   raw rusqlite inserting the same rows into a bare `nodes` table with the
//!   same `UNIQUE (graph_id, key)` constraint in one transaction. Goal: at
//!   least 0.75 of raw throughput.
//! - **P1-bulk**: the same 100,000 nodes through one `add_nodes` call, in
//!   the same group and against the same raw baseline.
//! - **Edges, bulk insert**: 300,000 schema-validated edges among 100,000
//!   existing nodes of a directed graph (not acyclic), through one
//!   `add_edges` call in one transaction, against raw rusqlite inserting the
//!   same rows (endpoints already resolved to row ids) into a bare `edges`
//!   table with the store's key constraint and adjacency indexes. The nodes
//!   are written outside the timed region on both sides.
//! - **P2, one node per transaction**: each iteration commits one write
//!   transaction adding one node (the commit also publishes the change
//!   events and bumps the revision), against one autocommit `INSERT` of the
//!   same row into the same bare table. Goal: at least 0.7 of raw.
//!   More sides price the outbox's parts with raw SQL on a store file:
//!   exactly the outbox's statements (node row, revision and write epoch,
//!   stream row, notification row, in one transaction: `raw_sqlite_outbox`);
//!   the same with a notification that carries no events
//!   (`raw_sqlite_lean_notification`), without the revision page
//!   (`raw_sqlite_no_revision`), or without the notification row
//!   (`raw_sqlite_no_notification`); the node row with a stream row and
//!   nothing else (`raw_sqlite_node_and_stream`: what any outbox on honker's
//!   stream can reach); and the node row with a row in a plain rowid table
//!   (`raw_sqlite_node_and_plain_log`).
//!
//! Every side writes a fresh file (created outside the timed region; in P2
//! one file per side, which each of its timed runs extends) opened with
//! honker-core's default pragmas (WAL, `synchronous = NORMAL`), gets the
//! same sequential keys (`n000123`) and the same attribute documents,
//! and stamp `created_at` / `updated_at` per row. Raw SQLite receives the
//! documents already serialized; the store serializes, size-checks and
//! validates them against the node type's JSON Schema.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench write
//! cargo bench --bench write -- p1_bulk     # one group
//! ```
//!
//! Criterion prints elements per second for each side; the run ends with a
//! summary of each side against raw, as a ratio, from every timed run, and,
//! when P2 ran, with P2's ratios once more from rounds in which each side
//! runs right after raw SQLite (criterion times the sides one after the
//! other, so on a shared machine a shift in load lands on one side only),
//! and the pages (write-ahead log frames) each side's commits write.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alknet_graphs::{
    Endpoints, GraphConfig, NewEdge, NewNode, Store, CHANGE_CHANNEL, CHANGE_TOPIC,
};
use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use tempfile::TempDir;

const GRAPH_TYPE: &str = "pipeline";
const NODE_TYPE: &str = "task";
const GRAPH: &str = "bench";

/// Nodes per P1 transaction.
const BULK_NODES: usize = 100_000;

/// Attribute documents are built once and reused round-robin, as a caller
/// building each document just before writing it would have it in cache.
const DISTINCT_DOCUMENTS: usize = 1024;

/// Edges per edge-bulk transaction, and the nodes they join.
const BULK_EDGES: usize = 300_000;
const EDGE_NODES: usize = 100_000;

const OURS: &str = "alknet_graphs";
const OURS_BULK: &str = "alknet_graphs_bulk";
const RAW: &str = "raw_sqlite";
const RAW_OUTBOX: &str = "raw_sqlite_outbox";
const RAW_LEAN_NOTIFICATION: &str = "raw_sqlite_lean_notification";
const RAW_NO_REVISION: &str = "raw_sqlite_no_revision";
const RAW_NO_NOTIFICATION: &str = "raw_sqlite_no_notification";
const RAW_NODE_AND_STREAM: &str = "raw_sqlite_node_and_stream";
const RAW_NODE_AND_LOG: &str = "raw_sqlite_node_and_plain_log";

/// The bare table raw SQLite writes: the store's `nodes` columns and key
/// constraint, without its foreign keys.
const RAW_DDL: &str = "CREATE TABLE nodes (
    id INTEGER PRIMARY KEY,
    graph_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    node_type_id INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (graph_id, key)
)";

const RAW_INSERT: &str = "INSERT INTO nodes
    (graph_id, key, node_type_id, attributes, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

/// The bare edge table raw SQLite writes: the store's `edges` columns, key
/// constraint and adjacency indexes, without its foreign keys.
const RAW_EDGE_DDL: &str = "CREATE TABLE edges (
    id INTEGER PRIMARY KEY,
    graph_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    edge_type_id INTEGER NOT NULL,
    source INTEGER NOT NULL,
    target INTEGER NOT NULL,
    undirected INTEGER NOT NULL DEFAULT 0,
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (graph_id, key)
);
CREATE INDEX edges_out ON edges (source, target);
CREATE INDEX edges_in ON edges (target, source)";

const RAW_EDGE_INSERT: &str = "INSERT INTO edges
    (graph_id, key, edge_type_id, source, target, undirected, attributes, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?7)";

const EDGE_TYPE: &str = "feeds";

fn edge_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"weight": {"type": "integer", "minimum": 0}},
        "required": ["weight"]
    })
}

fn node_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "status": {"enum": ["pending", "running", "done"]},
            "weight": {"type": "integer", "minimum": 0}
        },
        "required": ["name", "status"]
    })
}

/// The same inputs for both sides.
struct Inputs {
    documents: Vec<Value>,
    texts: Vec<String>,
}

impl Inputs {
    fn new() -> Self {
        let statuses = ["pending", "running", "done"];
        let documents: Vec<Value> = (0..DISTINCT_DOCUMENTS)
            .map(|i| {
                json!({
                    "name": format!("task-{i}"),
                    "status": statuses[i % statuses.len()],
                    "weight": i,
                })
            })
            .collect();
        let texts = documents.iter().map(Value::to_string).collect();
        Inputs { documents, texts }
    }

    fn document(&self, i: usize) -> &Value {
        &self.documents[i % DISTINCT_DOCUMENTS]
    }

    fn text(&self, i: usize) -> &str {
        &self.texts[i % DISTINCT_DOCUMENTS]
    }
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("n{i:06}")).collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A new store holding one graph whose node type has [`node_schema`].
fn fresh_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("graphs.db")).expect("open store");
    store
        .write(|tx| {
            tx.define_graph_type(GRAPH_TYPE, GraphConfig::directed())?;
            tx.define_node_type(GRAPH_TYPE, NODE_TYPE, &node_schema())?;
            tx.create_graph(GRAPH, GRAPH_TYPE)?;
            Ok(())
        })
        .expect("define the graph");
    (dir, store)
}

/// A new file with the bare table, opened with the store's pragmas.
fn fresh_raw() -> (TempDir, Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = Connection::open(dir.path().join("raw.db")).expect("open raw file");
    honker_core::apply_default_pragmas(&conn).expect("pragmas");
    conn.execute_batch(RAW_DDL).expect("create table");
    (dir, conn)
}

fn raw_count(conn: &Connection) -> usize {
    let count: i64 = conn
        .query_row("SELECT count(*) FROM nodes", [], |row| row.get(0))
        .expect("count rows");
    count as usize
}

/// Time spent and elements written, per (group, side).
type Tally = BTreeMap<(&'static str, &'static str), (Duration, u64)>;

/// Timed work per benchmark, to print ours against raw at the end.
static TALLY: Mutex<Tally> = Mutex::new(BTreeMap::new());

fn tally(group: &'static str, side: &'static str, elapsed: Duration, elements: u64) {
    let mut tally = TALLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = tally.entry((group, side)).or_default();
    entry.0 += elapsed;
    entry.1 += elements;
}

fn bulk_ours(inputs: &Inputs, keys: &[String]) -> Duration {
    let (dir, store) = fresh_store();
    let start = Instant::now();
    let mut tx = store.begin_write().expect("begin");
    for (i, key) in keys.iter().enumerate() {
        tx.add_node(GRAPH, key, NODE_TYPE, inputs.document(i))
            .expect("add node");
    }
    black_box(tx.commit().expect("commit"));
    let elapsed = start.elapsed();
    let count = store
        .begin_read()
        .and_then(|r| r.node_count(GRAPH))
        .expect("count nodes");
    assert_eq!(count as usize, keys.len());
    drop(store);
    drop(dir);
    elapsed
}

fn bulk_ours_batch(inputs: &Inputs, keys: &[String]) -> Duration {
    let (dir, store) = fresh_store();
    let start = Instant::now();
    let mut tx = store.begin_write().expect("begin");
    let nodes = keys
        .iter()
        .enumerate()
        .map(|(i, key)| NewNode::new(NODE_TYPE, key, inputs.document(i)));
    let added = tx.add_nodes(GRAPH, nodes).expect("add nodes");
    black_box(tx.commit().expect("commit"));
    let elapsed = start.elapsed();
    assert_eq!(added as usize, keys.len());
    let count = store
        .begin_read()
        .and_then(|r| r.node_count(GRAPH))
        .expect("count nodes");
    assert_eq!(count as usize, keys.len());
    drop(store);
    drop(dir);
    elapsed
}

fn bulk_raw(inputs: &Inputs, keys: &[String]) -> Duration {
    let (dir, conn) = fresh_raw();
    let start = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    {
        let mut insert = conn.prepare_cached(RAW_INSERT).expect("prepare");
        for (i, key) in keys.iter().enumerate() {
            insert
                .execute(params![1_i64, key, 1_i64, inputs.text(i), now_ms()])
                .expect("insert");
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
    let elapsed = start.elapsed();
    assert_eq!(raw_count(&conn), keys.len());
    drop(conn);
    drop(dir);
    elapsed
}

fn bulk_insert(c: &mut Criterion) {
    const GROUP: &str = "p1_bulk_insert_100k";
    let inputs = Inputs::new();
    let keys = keys(BULK_NODES);
    let mut group = c.benchmark_group(GROUP);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(BULK_NODES as u64));
    for side in [OURS, OURS_BULK, RAW] {
        group.bench_function(side, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += match side {
                        OURS => bulk_ours(&inputs, &keys),
                        OURS_BULK => bulk_ours_batch(&inputs, &keys),
                        _ => bulk_raw(&inputs, &keys),
                    };
                }
                tally(GROUP, side, total, iters * BULK_NODES as u64);
                total
            });
        });
    }
    group.finish();
}

/// The endpoints of edge `i`: each node gets three out-edges, to nodes
/// spread over the graph, never itself and never twice the same target.
fn edge_endpoints(i: usize) -> (usize, usize) {
    let source = i % EDGE_NODES;
    let hop = [1, 7919, 50_021][i / EDGE_NODES % 3];
    (source, (source + hop) % EDGE_NODES)
}

/// The edge inputs both sides share: keys and attribute documents.
struct EdgeInputs {
    keys: Vec<String>,
    documents: Vec<Value>,
    texts: Vec<String>,
}

impl EdgeInputs {
    fn new() -> Self {
        let documents: Vec<Value> = (0..DISTINCT_DOCUMENTS)
            .map(|i| json!({"weight": i}))
            .collect();
        EdgeInputs {
            keys: (0..BULK_EDGES).map(|i| format!("e{i:06}")).collect(),
            texts: documents.iter().map(Value::to_string).collect(),
            documents,
        }
    }
}

/// A new store whose graph has the edge type and [`EDGE_NODES`] nodes.
fn store_with_nodes(inputs: &Inputs, node_keys: &[String]) -> (TempDir, Store) {
    let (dir, store) = fresh_store();
    store
        .write(|tx| {
            tx.define_edge_type(GRAPH_TYPE, EDGE_TYPE, &edge_schema(), &Endpoints::any())?;
            let nodes = node_keys
                .iter()
                .enumerate()
                .map(|(i, key)| NewNode::new(NODE_TYPE, key, inputs.document(i)));
            tx.add_nodes(GRAPH, nodes)
        })
        .expect("add the nodes");
    (dir, store)
}

fn edges_ours(inputs: &Inputs, edges: &EdgeInputs, node_keys: &[String]) -> Duration {
    let (dir, store) = store_with_nodes(inputs, node_keys);
    let start = Instant::now();
    let mut tx = store.begin_write().expect("begin");
    let batch = edges.keys.iter().enumerate().map(|(i, key)| {
        let (source, target) = edge_endpoints(i);
        NewEdge::new(EDGE_TYPE, &node_keys[source], &node_keys[target])
            .key(key)
            .attributes(&edges.documents[i % DISTINCT_DOCUMENTS])
    });
    let added = tx.add_edges(GRAPH, batch).expect("add edges");
    black_box(tx.commit().expect("commit"));
    let elapsed = start.elapsed();
    assert_eq!(added.len(), BULK_EDGES);
    let count = store
        .begin_read()
        .and_then(|r| r.edge_count(GRAPH))
        .expect("count edges");
    assert_eq!(count as usize, BULK_EDGES);
    drop(store);
    drop(dir);
    elapsed
}

fn edges_raw(inputs: &Inputs, edges: &EdgeInputs, node_keys: &[String]) -> Duration {
    let (dir, conn) = fresh_raw();
    conn.execute_batch(RAW_EDGE_DDL).expect("create edge table");
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    {
        let mut insert = conn.prepare_cached(RAW_INSERT).expect("prepare");
        for (i, key) in node_keys.iter().enumerate() {
            insert
                .execute(params![1_i64, key, 1_i64, inputs.text(i), now_ms()])
                .expect("insert node");
        }
    }
    conn.execute_batch("COMMIT").expect("commit nodes");
    let start = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    {
        let mut insert = conn.prepare_cached(RAW_EDGE_INSERT).expect("prepare");
        for (i, key) in edges.keys.iter().enumerate() {
            let (source, target) = edge_endpoints(i);
            insert
                .execute(params![
                    1_i64,
                    key,
                    1_i64,
                    source as i64 + 1,
                    target as i64 + 1,
                    edges.texts[i % DISTINCT_DOCUMENTS],
                    now_ms()
                ])
                .expect("insert edge");
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
    let elapsed = start.elapsed();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM edges", [], |row| row.get(0))
        .expect("count edges");
    assert_eq!(count as usize, BULK_EDGES);
    drop(conn);
    drop(dir);
    elapsed
}

fn bulk_edges(c: &mut Criterion) {
    const GROUP: &str = "edges_bulk_insert_300k";
    let inputs = Inputs::new();
    let edges = EdgeInputs::new();
    let node_keys = keys(EDGE_NODES);
    let mut group = c.benchmark_group(GROUP);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(BULK_EDGES as u64));
    for side in [OURS_BULK, RAW] {
        group.bench_function(side, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += match side {
                        OURS_BULK => edges_ours(&inputs, &edges, &node_keys),
                        _ => edges_raw(&inputs, &edges, &node_keys),
                    };
                }
                tally(GROUP, side, total, iters * BULK_EDGES as u64);
                total
            });
        });
    }
    group.finish();
}

/// What the raw outbox sides write besides the node row, in one
/// transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RawOutbox {
    /// Everything the store's commit writes.
    Full,
    /// The same with a notification that carries no events (revision,
    /// offset and count only).
    LeanNotification,
    /// The same without writing the revision and write-epoch page (the
    /// revision counted here instead; the epochs are still read).
    NoRevision,
    /// The same without the notification row.
    NoNotification,
    /// A stream row only: no revision, no write epoch, no notification.
    StreamOnly,
    /// A row in a plain rowid table of the file, and nothing else: a
    /// change log outside honker's tables.
    PlainLog,
}

impl RawOutbox {
    /// Whether the transaction reads the data version and the write
    /// epochs first, as `begin_write` does.
    fn reads_epochs(self) -> bool {
        !matches!(self, RawOutbox::StreamOnly | RawOutbox::PlainLog)
    }

    /// Whether it bumps the revision and records the write epoch.
    fn bumps_revision(self) -> bool {
        matches!(
            self,
            RawOutbox::Full | RawOutbox::LeanNotification | RawOutbox::NoNotification
        )
    }

    /// Whether it notifies, and with the events inline.
    fn notification(self) -> Option<bool> {
        match self {
            RawOutbox::Full | RawOutbox::NoRevision => Some(true),
            RawOutbox::LeanNotification => Some(false),
            _ => None,
        }
    }
}

// The statements a one-node write transaction of the store runs (see
// src/store and src/outbox): `begin_write` reads the data version and the
// write epochs, the commit bumps the revision, records the epoch, and
// inserts the stream row and the notification row.
const OUTBOX_READ_EPOCHS: &str = "SELECT (SELECT value FROM _alknet_meta WHERE key = 'epoch'),
     (SELECT value FROM _alknet_meta WHERE key = 'published_epoch')";
const OUTBOX_BUMP_REVISION: &str =
    "UPDATE _alknet_meta SET value = value + 1 WHERE key = 'revision' RETURNING value";
const OUTBOX_PUBLISH_EPOCH: &str = "UPDATE _alknet_meta
     SET value = (SELECT value FROM _alknet_meta WHERE key = 'epoch')
     WHERE key = 'published_epoch'";
const OUTBOX_PUBLISH: &str =
    "INSERT INTO _honker_stream (topic, key, payload) VALUES (?1, NULL, ?2) RETURNING offset";
const OUTBOX_NOTIFY: &str = "INSERT INTO _honker_notifications (channel, payload) VALUES (?1, ?2)";

/// A plain change log for [`RawOutbox::PlainLog`].
const PLAIN_LOG_DDL: &str =
    "CREATE TABLE bench_change_log (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)";
const PLAIN_LOG_INSERT: &str = "INSERT INTO bench_change_log (payload) VALUES (?1)";

/// One write transaction adding node `key` and what `outbox` says, the
/// store's payloads byte for byte; `revision` is the revision before it.
fn raw_outbox_commit(conn: &Connection, outbox: RawOutbox, key: &str, text: &str, revision: i64) {
    let run = |sql: &str| {
        conn.prepare_cached(sql)
            .expect("prepare")
            .execute([])
            .expect(sql)
    };
    let read = |sql: &str| -> i64 {
        conn.prepare_cached(sql)
            .expect("prepare")
            .query_row([], |row| row.get(0))
            .expect(sql)
    };
    run("BEGIN IMMEDIATE");
    if outbox.reads_epochs() {
        read("PRAGMA data_version");
        read(OUTBOX_READ_EPOCHS);
    }
    conn.prepare_cached(RAW_INSERT)
        .expect("prepare")
        .execute(params![1_i64, key, 1_i64, text, now_ms()])
        .expect("insert node");
    let revision = if outbox.bumps_revision() {
        let bumped = read(OUTBOX_BUMP_REVISION);
        run(OUTBOX_PUBLISH_EPOCH);
        bumped
    } else {
        revision + 1
    };
    let events =
        format!(r#"[{{"entity":"node","op":"create","graph":"{GRAPH}","keys":["{key}"]}}]"#);
    let batch = format!(r#"{{"revision":{revision},"events":{events}}}"#);
    if outbox == RawOutbox::PlainLog {
        conn.prepare_cached(PLAIN_LOG_INSERT)
            .expect("prepare")
            .execute([batch])
            .expect("log");
        run("COMMIT");
        return;
    }
    let offset: i64 = conn
        .prepare_cached(OUTBOX_PUBLISH)
        .expect("prepare")
        .query_row(params![CHANGE_TOPIC, batch], |row| row.get(0))
        .expect("publish");
    if let Some(inline) = outbox.notification() {
        let head = format!(r#"{{"revision":{revision},"offset":{offset},"count":1"#);
        let notification = if inline {
            format!(r#"{head},"events":{events}}}"#)
        } else {
            format!("{head}}}")
        };
        conn.prepare_cached(OUTBOX_NOTIFY)
            .expect("prepare")
            .execute(params![CHANGE_CHANNEL, notification])
            .expect("notify");
    }
    run("COMMIT");
}

/// A store file written by a plain connection with the store writer's
/// pragmas, and the store's revision.
fn raw_store_file() -> (TempDir, Connection, i64) {
    let (dir, store) = fresh_store();
    let revision = store.revision().expect("revision") as i64;
    let conn = Connection::open(store.path()).expect("open the store file");
    conn.execute_batch(PLAIN_LOG_DDL)
        .expect("create the plain log");
    honker_core::apply_default_pragmas(&conn).expect("pragmas");
    conn.execute_batch("PRAGMA secure_delete = ON")
        .expect("the writer's pragmas");
    // The last connection to close a file removes its write-ahead log, and
    // the first commit to a new log syncs its header; reading while the
    // store closes keeps the log, so the first timed commit appends to it
    // as the store's own first commit does.
    conn.execute_batch("BEGIN; SELECT count(*) FROM nodes;")
        .expect("read");
    drop(store);
    conn.execute_batch("COMMIT").expect("end the read");
    // A new connection reads the schema at its first statement; the
    // store's writer has long done so.
    for sql in [
        "BEGIN IMMEDIATE",
        "PRAGMA data_version",
        OUTBOX_READ_EPOCHS,
        RAW_INSERT,
        OUTBOX_BUMP_REVISION,
        OUTBOX_PUBLISH_EPOCH,
        OUTBOX_PUBLISH,
        OUTBOX_NOTIFY,
        PLAIN_LOG_INSERT,
        "COMMIT",
    ] {
        conn.prepare_cached(sql).expect("prepare");
    }
    (dir, conn, revision)
}

const P2_GROUP: &str = "p2_one_node_per_txn";

const P2_SIDES: [&str; 8] = [
    OURS,
    RAW,
    RAW_OUTBOX,
    RAW_LEAN_NOTIFICATION,
    RAW_NO_REVISION,
    RAW_NO_NOTIFICATION,
    RAW_NODE_AND_STREAM,
    RAW_NODE_AND_LOG,
];

/// What a side of P2 writes to.
enum P2Target {
    Store(Store),
    Raw(Connection),
    Outbox(Connection, RawOutbox),
}

/// One side of P2 and the file it writes: each [`commit`](P2Writer::commit)
/// adds the next nodes, one write transaction each, to the same file.
struct P2Writer {
    target: P2Target,
    /// The file.
    path: PathBuf,
    /// Nodes committed so far.
    written: usize,
    /// The revision before the next commit (the raw outbox sides).
    revision: i64,
    _dir: TempDir,
}

impl P2Writer {
    /// A fresh file for `side`.
    fn new(side: &str) -> Self {
        let outbox = match side {
            OURS => {
                let (dir, store) = fresh_store();
                let path = store.path().to_path_buf();
                return P2Writer::on(dir, path, P2Target::Store(store), 1);
            }
            RAW => {
                let (dir, conn) = fresh_raw();
                let path = conn.path().map(PathBuf::from).expect("a file");
                return P2Writer::on(dir, path, P2Target::Raw(conn), 0);
            }
            RAW_OUTBOX => RawOutbox::Full,
            RAW_LEAN_NOTIFICATION => RawOutbox::LeanNotification,
            RAW_NO_REVISION => RawOutbox::NoRevision,
            RAW_NO_NOTIFICATION => RawOutbox::NoNotification,
            RAW_NODE_AND_STREAM => RawOutbox::StreamOnly,
            _ => RawOutbox::PlainLog,
        };
        let (dir, conn, revision) = raw_store_file();
        let path = conn.path().map(PathBuf::from).expect("a file");
        P2Writer::on(dir, path, P2Target::Outbox(conn, outbox), revision)
    }

    fn on(dir: TempDir, path: PathBuf, target: P2Target, revision: i64) -> Self {
        P2Writer {
            target,
            path,
            written: 0,
            revision,
            _dir: dir,
        }
    }

    /// Commits the next `n` nodes, one transaction each; returns the time
    /// they took.
    fn commit(&mut self, inputs: &Inputs, n: u64) -> Duration {
        let first = self.written;
        let keys: Vec<String> = (first..first + n as usize)
            .map(|i| format!("n{i:07}"))
            .collect();
        let start = Instant::now();
        for (i, key) in (first..).zip(&keys) {
            match &self.target {
                P2Target::Store(store) => {
                    let mut tx = store.begin_write().expect("begin");
                    tx.add_node(GRAPH, key, NODE_TYPE, inputs.document(i))
                        .expect("add node");
                    black_box(tx.commit().expect("commit"));
                }
                P2Target::Raw(conn) => {
                    conn.prepare_cached(RAW_INSERT)
                        .expect("prepare")
                        .execute(params![1_i64, key, 1_i64, inputs.text(i), now_ms()])
                        .expect("insert");
                }
                P2Target::Outbox(conn, outbox) => {
                    let revision = self.revision + (i - first) as i64;
                    raw_outbox_commit(conn, *outbox, key, inputs.text(i), revision);
                }
            }
        }
        let elapsed = start.elapsed();
        self.written += keys.len();
        self.revision += keys.len() as i64;
        self.check();
        elapsed
    }

    /// The pages (write-ahead log frames) each of the next `n` commits
    /// writes: the log is emptied first, and `n` commits stay below the
    /// automatic checkpoint, so it then holds exactly those commits.
    fn pages_per_commit(&mut self, inputs: &Inputs, n: u64) -> f64 {
        let conn = Connection::open(&self.path).expect("open the file");
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .expect("checkpoint");
        assert_eq!(busy, 0, "the log is emptied");
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("page size");
        self.commit(inputs, n);
        let wal = std::fs::metadata(self.path.with_extension("db-wal"))
            .expect("the log")
            .len();
        // The log's header, then one header and one page per frame.
        (wal - 32) as f64 / (page_size + 24) as f64 / n as f64
    }

    /// Every node committed is there (and, for the store, every revision).
    fn check(&self) {
        let last_node = |conn: &Connection| -> usize {
            let n: i64 = conn
                .query_row("SELECT coalesce(max(id), 0) FROM nodes", [], |row| {
                    row.get(0)
                })
                .expect("count nodes");
            n as usize
        };
        match &self.target {
            P2Target::Store(store) => {
                assert_eq!(store.revision().expect("revision"), self.revision as u64);
                let count = store
                    .begin_read()
                    .and_then(|r| r.node_count(GRAPH))
                    .expect("count nodes");
                assert_eq!(count as usize, self.written);
            }
            P2Target::Raw(conn) | P2Target::Outbox(conn, _) => {
                assert_eq!(last_node(conn), self.written);
            }
        }
    }
}

fn one_node_per_transaction(c: &mut Criterion) {
    let inputs = Inputs::new();
    let mut group = c.benchmark_group(P2_GROUP);
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(1));
    for side in P2_SIDES {
        // One file per side for all its runs: criterion sizes its samples
        // by the wall time of the warm-up runs, which would otherwise be
        // mostly the making of a new store.
        let mut writer = P2Writer::new(side);
        group.bench_function(side, |b| {
            b.iter_custom(|iters| {
                let elapsed = writer.commit(&inputs, iters);
                tally(P2_GROUP, side, elapsed, iters);
                elapsed
            });
        });
    }
    group.finish();
}

/// Commits per side in each paired round of P2, and the rounds.
const PAIRED_COMMITS: u64 = 5_000;
const PAIRED_ROUNDS: usize = 5;

/// Commits whose pages are counted per side: well below the automatic
/// checkpoint (10,000 pages) at nine pages each.
const PAGE_COMMITS: u64 = 1_000;

/// P2 once more, in rounds where every side runs right after raw SQLite,
/// so that the load of a shared machine, which shifts over seconds, weighs
/// on both halves of each ratio alike (criterion times one side after the
/// other, 12 s apart). Prints each side's median ratio and its range, and
/// the pages each side's commits write; run after the P2 group, when it
/// ran.
fn paired_p2() {
    let inputs = Inputs::new();
    let sides: Vec<&str> = P2_SIDES.into_iter().filter(|side| *side != RAW).collect();
    let mut ratios: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..PAIRED_ROUNDS {
        for k in 0..sides.len() {
            let side = sides[(k + round) % sides.len()];
            let elapsed = P2Writer::new(side).commit(&inputs, PAIRED_COMMITS);
            let raw = P2Writer::new(RAW).commit(&inputs, PAIRED_COMMITS);
            let ratio = raw.as_secs_f64() / elapsed.as_secs_f64();
            ratios.entry(side).or_default().push(ratio);
        }
    }
    for side in P2_SIDES {
        let pages = P2Writer::new(side).pages_per_commit(&inputs, PAGE_COMMITS);
        let mut ratios = ratios.remove(side).unwrap_or_default();
        ratios.sort_by(f64::total_cmp);
        let paired = match (ratios.first(), ratios.last()) {
            (Some(low), Some(high)) => format!(
                ", paired with raw: ratio {:.2} (median of {PAIRED_ROUNDS} rounds of \
                 {PAIRED_COMMITS} commits each; {low:.2}-{high:.2})",
                ratios[ratios.len() / 2]
            ),
            _ => String::new(),
        };
        println!("{P2_GROUP}/{side}: {pages:.2} pages per commit{paired}");
    }
}

/// Prints each side against raw for every group that ran both.
fn print_ratios() {
    let tally = TALLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rate = |group: &str, side: &str| {
        tally
            .get(&(group, side))
            .filter(|(elapsed, _)| !elapsed.is_zero())
            .map(|(elapsed, elements)| *elements as f64 / elapsed.as_secs_f64())
    };
    let figures = [
        ("p1_bulk_insert_100k", OURS, Some(0.75)),
        ("p1_bulk_insert_100k", OURS_BULK, Some(0.75)),
        ("edges_bulk_insert_300k", OURS_BULK, None),
        (P2_GROUP, OURS, Some(0.7)),
        (P2_GROUP, RAW_OUTBOX, None),
        (P2_GROUP, RAW_LEAN_NOTIFICATION, None),
        (P2_GROUP, RAW_NO_REVISION, None),
        (P2_GROUP, RAW_NO_NOTIFICATION, None),
        (P2_GROUP, RAW_NODE_AND_STREAM, None),
        (P2_GROUP, RAW_NODE_AND_LOG, None),
    ];
    for (group, side, goal) in figures {
        if let (Some(ours), Some(raw)) = (rate(group, side), rate(group, RAW)) {
            let ratio = ours / raw;
            let verdict = match goal {
                Some(goal) if ratio >= goal => format!("meets the goal of {goal:.2}; "),
                Some(goal) => format!("misses the goal of {goal:.2}; "),
                None => String::new(),
            };
            println!(
                "{group}/{side}: {ours:.0} elem/s, raw {raw:.0} elem/s, \
                 ratio {ratio:.2} ({verdict}mean over every timed run)"
            );
        }
    }
}

criterion_group!(benches, bulk_insert, bulk_edges, one_node_per_transaction);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
    let p2_ran = TALLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .contains_key(&(P2_GROUP, OURS));
    if p2_ran {
        paired_p2();
    }
}
