//! Change-feed wake latency and idle cost, each next to bare honker-core
//! measured in the same run, so the figures read as ratios.
//!
//! - **P4, commit → subscriber wake latency.** A writer commits one change
//!   at a time, 2–5 ms apart (jittered, so wakes do not coalesce and writes
//!   do not fall into step with the watcher's 1 ms poll). A listener thread
//!   blocked on the feed records when it holds each decoded batch. Latency
//!   runs from the moment the writer's commit returns to that moment. Four
//!   series, all at the default 1 ms poll:
//!   - *alknet_graphs, same process*: `Store::subscribe` and
//!     `Subscription::recv_timeout` on the listener thread; `begin_write`,
//!     `add_node` and `commit` on the writer thread.
//!   - *raw honker, same process*: a separate file set up with
//!     `honker_core::apply_default_pragmas` and `attach_notify`; the writer
//!     runs `BEGIN IMMEDIATE; SELECT notify('c', 'x'); COMMIT`; the listener
//!     subscribes to a `honker_core::SharedUpdateWatcher` of the file and
//!     runs the query-then-block loop: read the rows with an id above the
//!     last one seen, and block on the watcher only when there are none.
//!   - *both again, cross process*: the writer is a child process (this
//!     bench binary run again with `ALKNET_FEED_BENCH_CHILD` set). Both
//!     processes read the wall clock (unix nanoseconds); the child prints
//!     its commit-return times when it is done and the parent matches them
//!     to its receive times by revision (ours) or notification id (raw).
//!     Within one process the times come from a monotonic clock.
//!
//!   Each series takes 2,000 samples in 4 rounds of 500 (after 10 warm-up
//!   writes per round, not counted). The rounds alternate which side goes
//!   first, so a change in machine load during the run falls on both
//!   sides. Goal: ours ≤ 2× raw at p99.
//! - **P9, idle CPU.** The process's CPU time (utime + stime from
//!   `/proc/self/stat`) over 10 s while nothing writes: a store with no
//!   subscription, a store with one subscription blocked in
//!   `recv_timeout`, and a bare `SharedUpdateWatcher` with one subscriber
//!   blocked on its channel. Goal: ≤ 3% of a core with one subscription.
//!
//! Wake latency depends on what else the machine runs, so the report also
//! gives the load average and how busy all CPUs were (from `/proc/stat`)
//! during each latency series. The `/proc` figures are Linux only.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench feed
//! ```
//!
//! It takes about a minute. Run without `--bench` (as
//! `cargo test --benches` does), it makes a short smoke run instead.

use std::collections::HashMap;
use std::hint::black_box;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alknet_graphs::{FeedMessage, GraphConfig, Store};
use honker_core::SharedUpdateWatcher;
use rusqlite::{params, Connection};
use serde_json::json;

const GRAPH_TYPE: &str = "bench";
const NODE_TYPE: &str = "tick";
const GRAPH: &str = "feed";

const RAW_CHANNEL: &str = "c";
const RAW_NOTIFY: &str = "SELECT notify(?1, 'x')";
const RAW_LAST: &str = "SELECT coalesce(max(id), 0) FROM _honker_notifications WHERE channel = ?1";
const RAW_READ: &str = "SELECT id, payload FROM _honker_notifications
     WHERE channel = ?1 AND id > ?2 ORDER BY id";

/// Set in a child writer process: which side it writes (`ours` or `raw`).
const CHILD_ENV: &str = "ALKNET_FEED_BENCH_CHILD";
const CHILD_DB: &str = "ALKNET_FEED_BENCH_DB";
const CHILD_WRITES: &str = "ALKNET_FEED_BENCH_WRITES";
const CHILD_ROUND: &str = "ALKNET_FEED_BENCH_ROUND";
const CHILD_SEED: &str = "ALKNET_FEED_BENCH_SEED";

/// Pause before each write, drawn uniformly from this range.
const PACE_MIN_US: u64 = 2_000;
const PACE_MAX_US: u64 = 5_000;

/// How long a child waits after opening the file before its first write.
const CHILD_SETTLE: Duration = Duration::from_millis(20);

/// How long a listener waits for one batch before giving up.
const PATIENCE: Duration = Duration::from_secs(30);

/// Time for the watcher threads of a finished phase to exit.
const SETTLE: Duration = Duration::from_millis(300);

const P99_GOAL: f64 = 2.0;
const IDLE_GOAL_PERCENT: f64 = 3.0;

/// Clock ticks per second in `/proc` CPU times (`USER_HZ`, fixed by the
/// Linux ABI).
const USER_HZ: f64 = 100.0;

/// How much to measure.
struct Plan {
    rounds: usize,
    samples_per_round: usize,
    warmup: usize,
    idle_window: Duration,
    /// Whether there are enough samples to judge the goals.
    full: bool,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            rounds: 4,
            samples_per_round: 500,
            warmup: 10,
            idle_window: Duration::from_secs(10),
            full: true,
        }
    }

    fn smoke() -> Plan {
        Plan {
            rounds: 2,
            samples_per_round: 10,
            warmup: 2,
            idle_window: Duration::from_millis(200),
            full: false,
        }
    }

    fn verdict(&self, meets: bool) -> &'static str {
        match (self.full, meets) {
            (false, _) => "too few samples to judge",
            (true, true) => "meets",
            (true, false) => "misses",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Raw,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Ours => "alknet_graphs",
            Side::Raw => "raw honker",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    SameProcess,
    CrossProcess,
}

impl Place {
    fn label(self) -> &'static str {
        match self {
            Place::SameProcess => "same process",
            Place::CrossProcess => "cross process",
        }
    }

    fn clock(self) -> Clock {
        match self {
            Place::SameProcess => Clock::Monotonic,
            Place::CrossProcess => Clock::Wall,
        }
    }
}

/// Timestamps in nanoseconds: since a process-wide origin, or since the
/// unix epoch when two processes must agree.
#[derive(Debug, Clone, Copy)]
enum Clock {
    Monotonic,
    Wall,
}

impl Clock {
    fn now(self) -> i128 {
        match self {
            Clock::Monotonic => {
                static ORIGIN: OnceLock<Instant> = OnceLock::new();
                ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as i128
            }
            Clock::Wall => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128),
        }
    }
}

/// Jittered pauses between writes (xorshift64).
struct Pacer(u64);

impl Pacer {
    fn new(seed: u64) -> Pacer {
        Pacer(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn pause(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_micros(PACE_MIN_US + self.0 % (PACE_MAX_US - PACE_MIN_US + 1))
    }
}

/// Commits `n` writes, paced, and returns each one's id (revision or
/// notification id) with the time its commit returned.
fn paced_writes(
    n: usize,
    seed: u64,
    clock: Clock,
    mut write: impl FnMut(usize) -> i64,
) -> Vec<(i64, i128)> {
    let mut pacer = Pacer::new(seed);
    (0..n)
        .map(|i| {
            thread::sleep(pacer.pause());
            let id = write(i);
            (id, clock.now())
        })
        .collect()
}

/// One write transaction adding one node; returns the revision.
fn commit_ours(store: &Store, key: &str) -> i64 {
    let mut tx = store.begin_write().expect("begin write");
    tx.add_node(GRAPH, key, NODE_TYPE, &json!({}))
        .expect("add node");
    tx.commit().expect("commit") as i64
}

/// `BEGIN IMMEDIATE; SELECT notify('c', 'x'); COMMIT`; returns the
/// notification id.
fn commit_raw(conn: &Connection) -> i64 {
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    let id = conn
        .prepare_cached(RAW_NOTIFY)
        .expect("prepare notify")
        .query_row([RAW_CHANNEL], |row| row.get(0))
        .expect("notify");
    conn.execute_batch("COMMIT").expect("commit");
    id
}

fn open_raw_writer(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open raw file");
    honker_core::apply_default_pragmas(&conn).expect("pragmas");
    honker_core::attach_notify(&conn).expect("attach notify");
    conn
}

/// Receives `n` batches from a new subscription; returns each revision
/// with the time the batch was in hand.
fn listen_ours(store: Store, n: usize, clock: Clock, ready: mpsc::Sender<()>) -> Vec<(i64, i128)> {
    let mut feed = store.subscribe().expect("subscribe");
    ready.send(()).expect("signal ready");
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match feed.recv_timeout(PATIENCE).expect("receive") {
            Some(FeedMessage::Batch(batch)) => {
                let at = clock.now();
                got.push((batch.revision as i64, at));
                black_box(batch);
            }
            other => panic!("expected a batch, got {other:?}"),
        }
    }
    got
}

/// Receives `n` notifications on a bare honker watcher with the
/// query-then-block loop; returns each id with the time its row was read.
fn listen_raw(path: PathBuf, n: usize, clock: Clock, ready: mpsc::Sender<()>) -> Vec<(i64, i128)> {
    let conn = Connection::open(&path).expect("open raw file");
    honker_core::apply_default_pragmas(&conn).expect("pragmas");
    let watcher = SharedUpdateWatcher::new(path);
    let (subscriber, wake) = watcher.subscribe();
    let mut last: i64 = conn
        .query_row(RAW_LAST, [RAW_CHANNEL], |row| row.get(0))
        .expect("last notification");
    ready.send(()).expect("signal ready");
    let mut read = conn.prepare_cached(RAW_READ).expect("prepare read");
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let rows: Vec<(i64, String)> = read
            .query_map(params![RAW_CHANNEL, last], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .expect("read notifications")
            .collect::<rusqlite::Result<_>>()
            .expect("notification rows");
        if rows.is_empty() {
            wake.recv_timeout(PATIENCE)
                .expect("a wake from the watcher");
            while wake.try_recv().is_ok() {}
            continue;
        }
        let at = clock.now();
        for (id, payload) in rows {
            last = id;
            black_box(payload);
            got.push((id, at));
        }
    }
    watcher.unsubscribe(subscriber);
    watcher.close().expect("the watcher thread stops cleanly");
    got
}

/// The files both sides write, and this process's handles on them.
struct Files {
    _dir: tempfile::TempDir,
    store: Store,
    raw_path: PathBuf,
    raw_writer: Connection,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("ours.db")).expect("open store");
        store
            .write(|tx| {
                tx.define_graph_type(GRAPH_TYPE, GraphConfig::directed())?;
                tx.define_node_type(GRAPH_TYPE, NODE_TYPE, &json!({"type": "object"}))?;
                tx.create_graph(GRAPH, GRAPH_TYPE)?;
                Ok(())
            })
            .expect("define the graph");
        let raw_path = dir.path().join("raw.db");
        let raw_writer = open_raw_writer(&raw_path);
        Files {
            _dir: dir,
            store,
            raw_path,
            raw_writer,
        }
    }
}

/// Runs the writer as a child process; returns its commit-return times.
fn child_writes(side: Side, db: &Path, n: usize, round: usize, seed: u64) -> Vec<(i64, i128)> {
    let exe = std::env::current_exe().expect("bench executable");
    let output = Command::new(exe)
        .env(CHILD_ENV, side.tag())
        .env(CHILD_DB, db)
        .env(CHILD_WRITES, n.to_string())
        .env(CHILD_ROUND, round.to_string())
        .env(CHILD_SEED, seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .expect("run the child writer");
    assert!(
        output.status.success(),
        "child writer failed: {}",
        output.status
    );
    let text = String::from_utf8(output.stdout).expect("child output is text");
    text.lines()
        .map(|line| {
            let (id, at) = line.split_once(' ').expect("`id time` lines");
            (id.parse().expect("an id"), at.parse().expect("a timestamp"))
        })
        .collect()
}

/// The child writer: commits, then prints `id unix_nanos` per write.
fn child(side: &str) {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let db = PathBuf::from(var(CHILD_DB));
    let n: usize = var(CHILD_WRITES).parse().expect("a write count");
    let round: usize = var(CHILD_ROUND).parse().expect("a round");
    let seed: u64 = var(CHILD_SEED).parse().expect("a seed");
    let commits = match side {
        "ours" => {
            let store = Store::open(&db).expect("open store");
            thread::sleep(CHILD_SETTLE);
            paced_writes(n, seed, Clock::Wall, |i| {
                commit_ours(&store, &format!("x{round}-{i}"))
            })
        }
        "raw" => {
            let conn = open_raw_writer(&db);
            thread::sleep(CHILD_SETTLE);
            paced_writes(n, seed, Clock::Wall, |_| commit_raw(&conn))
        }
        other => panic!("unknown child writer {other:?}"),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (id, at) in commits {
        writeln!(out, "{id} {at}").expect("write to the parent");
    }
    out.flush().expect("flush to the parent");
}

/// Latencies of one series, with how busy the machine was meanwhile.
struct Series {
    side: Side,
    place: Place,
    latencies: Vec<i128>,
    machine: CpuTimes,
}

/// One round of one series: returns the latencies after warm-up.
fn run_round(files: &Files, side: Side, place: Place, round: usize, plan: &Plan) -> Vec<i128> {
    let n = plan.warmup + plan.samples_per_round;
    let clock = place.clock();
    let seed = (round * 4 + side as usize * 2 + place as usize + 1) as u64;
    let (ready_tx, ready_rx) = mpsc::channel();
    let listener = match side {
        Side::Ours => {
            let store = files.store.clone();
            thread::spawn(move || listen_ours(store, n, clock, ready_tx))
        }
        Side::Raw => {
            let path = files.raw_path.clone();
            thread::spawn(move || listen_raw(path, n, clock, ready_tx))
        }
    };
    ready_rx.recv().expect("the listener is ready");
    let commits = match (place, side) {
        (Place::SameProcess, Side::Ours) => paced_writes(n, seed, clock, |i| {
            commit_ours(&files.store, &format!("s{round}-{i}"))
        }),
        (Place::SameProcess, Side::Raw) => {
            paced_writes(n, seed, clock, |_| commit_raw(&files.raw_writer))
        }
        (Place::CrossProcess, Side::Ours) => child_writes(side, files.store.path(), n, round, seed),
        (Place::CrossProcess, Side::Raw) => child_writes(side, &files.raw_path, n, round, seed),
    };
    let received: HashMap<i64, i128> = listener
        .join()
        .expect("the listener finished")
        .into_iter()
        .collect();
    assert_eq!(commits.len(), n, "every write committed");
    commits
        .iter()
        .skip(plan.warmup)
        .map(|(id, committed)| {
            let at = received.get(id).expect("every commit was received");
            at - committed
        })
        .collect()
}

fn latency_series(files: &Files, plan: &Plan) -> Vec<Series> {
    let mut series: Vec<Series> = [Place::SameProcess, Place::CrossProcess]
        .into_iter()
        .flat_map(|place| {
            [Side::Ours, Side::Raw].map(|side| Series {
                side,
                place,
                latencies: Vec::new(),
                machine: CpuTimes::default(),
            })
        })
        .collect();
    for round in 0..plan.rounds {
        for place in [Place::SameProcess, Place::CrossProcess] {
            let order = if round % 2 == 0 {
                [Side::Ours, Side::Raw]
            } else {
                [Side::Raw, Side::Ours]
            };
            for side in order {
                let before = machine_cpu();
                let latencies = run_round(files, side, place, round, plan);
                let busy = machine_cpu().zip(before).map(|(a, b)| a.since(b));
                let entry = series
                    .iter_mut()
                    .find(|s| s.side == side && s.place == place)
                    .expect("a series per side and place");
                entry.latencies.extend(latencies);
                if let Some(busy) = busy {
                    entry.machine.add(busy);
                }
            }
        }
    }
    series
}

/// Nearest-rank percentiles of a series, in nanoseconds.
struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    /// Samples where the listener had the batch before the writer's
    /// commit call returned (counted as zero).
    early: usize,
}

impl Stats {
    fn of(latencies: &[i128]) -> Stats {
        let mut sorted: Vec<i128> = latencies.iter().map(|&l| l.max(0)).collect();
        sorted.sort_unstable();
        let at = |p: f64| {
            let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1] as f64
        };
        Stats {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
            early: latencies.iter().filter(|&&l| l < 0).count(),
        }
    }
}

fn ms(nanos: f64) -> String {
    format!("{:.3} ms", nanos / 1e6)
}

fn print_latency(series: &[Series], plan: &Plan) {
    println!(
        "P4  commit -> subscriber wake latency: default 1 ms poll, writes paced {}-{} ms, \
         {} samples per series ({} rounds of {})",
        PACE_MIN_US / 1000,
        PACE_MAX_US / 1000,
        plan.rounds * plan.samples_per_round,
        plan.rounds,
        plan.samples_per_round,
    );
    println!(
        "  {:<14} {:<14} {:>10} {:>10} {:>10} {:>6} {:>14}",
        "", "", "p50", "p99", "max", "early", "machine busy"
    );
    for s in series {
        let stats = Stats::of(&s.latencies);
        println!(
            "  {:<14} {:<14} {:>10} {:>10} {:>10} {:>6} {:>13}",
            s.place.label(),
            s.side.label(),
            ms(stats.p50),
            ms(stats.p99),
            ms(stats.max),
            stats.early,
            s.machine.percent(),
        );
    }
    for place in [Place::SameProcess, Place::CrossProcess] {
        let stats = |side: Side| {
            series
                .iter()
                .find(|s| s.side == side && s.place == place)
                .map(|s| Stats::of(&s.latencies))
                .expect("a series per side and place")
        };
        let (ours, raw) = (stats(Side::Ours), stats(Side::Raw));
        let p99 = ours.p99 / raw.p99;
        let verdict = plan.verdict(p99 <= P99_GOAL);
        println!(
            "  ours / raw, {:<13}  p50 {:.2}x  p99 {:.2}x  max {:.2}x  ({verdict} the goal of <= {P99_GOAL:.0}x at p99)",
            place.label(),
            ours.p50 / raw.p50,
            p99,
            ours.max / raw.max,
        );
    }
    println!(
        "  (machine busy: all CPUs, from /proc/stat, while the series ran, this process included)"
    );
}

/// CPU time of the whole machine, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTimes {
    busy: u64,
    total: u64,
}

impl CpuTimes {
    fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            busy: self.busy.saturating_sub(earlier.busy),
            total: self.total.saturating_sub(earlier.total),
        }
    }

    fn add(&mut self, other: CpuTimes) {
        self.busy += other.busy;
        self.total += other.total;
    }

    fn percent(self) -> String {
        if self.total == 0 {
            return "n/a".to_owned();
        }
        format!("{:.0}%", self.busy as f64 * 100.0 / self.total as f64)
    }
}

/// The aggregate line of `/proc/stat`: busy is everything but idle and
/// iowait.
fn machine_cpu() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total - idle,
        total,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "n/a".to_owned())
}

/// This process's CPU time (all threads, user + system), in clock ticks.
fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces), from field 3
    // (state): utime is field 14, stime field 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn thread_count() -> Option<usize> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))?
        .trim()
        .parse()
        .ok()
}

/// CPU used while idle: percent of one core, and the process's threads.
struct Idle {
    label: &'static str,
    percent: Option<f64>,
    threads: Option<usize>,
}

/// Measures this process's CPU time while `wait` blocks for `window`.
fn idle(label: &'static str, window: Duration, wait: impl FnOnce(Duration)) -> Idle {
    let threads = thread_count();
    let before = process_cpu_ticks();
    let start = Instant::now();
    wait(window);
    let wall = start.elapsed().as_secs_f64();
    let percent = process_cpu_ticks()
        .zip(before)
        .map(|(after, before)| (after - before) as f64 / USER_HZ / wall * 100.0);
    Idle {
        label,
        percent,
        threads,
    }
}

fn idle_series(files: &Files, plan: &Plan) -> Vec<Idle> {
    let window = plan.idle_window;
    let mut out = Vec::new();

    thread::sleep(SETTLE);
    assert!(
        !files.store.watcher_running(),
        "no watcher without subscribers"
    );
    out.push(idle("store, no subscription", window, thread::sleep));

    thread::sleep(SETTLE);
    let mut feed = files.store.subscribe().expect("subscribe");
    assert!(
        files.store.watcher_running(),
        "a subscription starts a watcher"
    );
    out.push(idle("store, one subscription", window, |window| {
        let message = feed.recv_timeout(window).expect("receive");
        assert_eq!(message, None, "nothing writes");
    }));
    drop(feed);

    thread::sleep(SETTLE);
    let watcher = SharedUpdateWatcher::new(files.raw_path.clone());
    let (subscriber, wake) = watcher.subscribe();
    out.push(idle(
        "raw SharedUpdateWatcher, one subscriber",
        window,
        |window| {
            let woken = wake.recv_timeout(window);
            assert!(woken.is_err(), "nothing writes");
        },
    ));
    watcher.unsubscribe(subscriber);
    watcher.close().expect("the watcher thread stops cleanly");
    out
}

fn print_idle(figures: &[Idle], plan: &Plan) {
    println!(
        "P9  idle CPU over {:.1} s at the default 1 ms poll: process CPU time (utime + stime, \
         /proc/self/stat, 10 ms ticks)",
        plan.idle_window.as_secs_f64()
    );
    let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |p| format!("{p:.2}% of a core"));
    for figure in figures {
        let threads = figure.threads.map_or("n/a".to_owned(), |n| n.to_string());
        println!(
            "  {:<42} {:>18}   threads: {threads}",
            figure.label,
            show(figure.percent)
        );
    }
    let percent = |label: &str| {
        figures
            .iter()
            .find(|f| f.label == label)
            .and_then(|f| f.percent)
    };
    if let Some(ours) = percent("store, one subscription") {
        let verdict = plan.verdict(ours <= IDLE_GOAL_PERCENT);
        let ratio = percent("raw SharedUpdateWatcher, one subscriber")
            .filter(|raw| *raw > 0.0)
            .map_or("n/a".to_owned(), |raw| format!("{:.2}x", ours / raw));
        println!(
            "  one subscription: {verdict} the goal of <= {IDLE_GOAL_PERCENT:.0}% of a core; ours / raw watcher {ratio}"
        );
    }
}

fn main() {
    if let Ok(side) = std::env::var(CHILD_ENV) {
        child(&side);
        return;
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let plan = if full { Plan::full() } else { Plan::smoke() };
    Clock::Monotonic.now();
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "feed benchmarks{}: {cores} CPUs, load average {} at start",
        if full {
            ""
        } else {
            " (smoke run; pass --bench for the full run)"
        },
        load_average()
    );
    let started = Instant::now();
    let files = Files::new();
    let series = latency_series(&files, &plan);
    let figures = idle_series(&files, &plan);
    print_latency(&series, &plan);
    print_idle(&figures, &plan);
    println!(
        "load average {} at the end; {:.0} s in all",
        load_average(),
        started.elapsed().as_secs_f64()
    );
}
