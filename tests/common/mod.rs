//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod audit;
pub mod cli;

use alknet_graphs::{Endpoints, GraphConfig, Store};
use serde_json::json;

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("test.db")).expect("open");
    (dir, store)
}

/// Every row of every table this crate and honker own, as text, plus the
/// revision: two equal snapshots mean the store did not change.
pub fn snapshot(store: &Store) -> Vec<String> {
    let conn = rusqlite::Connection::open(store.path()).expect("open raw");
    let mut out = Vec::new();
    for table in [
        "_alknet_meta",
        "graph_types",
        "node_types",
        "edge_types",
        "graphs",
        "nodes",
        "edges",
        "peers",
        "peer_fingerprints",
        "peer_credentials_history",
        "api_keys",
        "credentials",
        "audit_log",
        "acl_reservations",
        "acl_reservation_draws",
        "_honker_notifications",
        "_honker_stream",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .expect("prepare");
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                let mut cells = Vec::new();
                for i in 0..columns {
                    let value: rusqlite::types::Value = row.get(i)?;
                    cells.push(format!("{value:?}"));
                }
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .expect("query");
        for row in rows {
            out.push(row.expect("row"));
        }
    }
    out
}

/// Runs `write` in its own transaction and asserts that it fails and that
/// the store is exactly as it was. Returns the error.
pub fn rejected<T: std::fmt::Debug>(
    store: &Store,
    write: impl FnOnce(&mut alknet_graphs::WriteTxn<'_>) -> alknet_graphs::Result<T>,
) -> alknet_graphs::Error {
    let before = snapshot(store);
    let err = store
        .write(write)
        .expect_err("the write should be rejected");
    assert_eq!(
        snapshot(store),
        before,
        "a rejected write changed the store"
    );
    err
}

/// The `people` graph type: `person` and `team` nodes, `member_of`
/// (person → team) and `knows` (any → any) edges, and a graph `acme`.
pub fn people(store: &Store, config: GraphConfig) {
    store
        .write(|tx| {
            tx.define_graph_type("people", config)?;
            tx.define_node_type(
                "people",
                "person",
                &json!({
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "age": {"type": "integer", "minimum": 0}
                    },
                    "required": ["name"],
                    "additionalProperties": false
                }),
            )?;
            tx.define_node_type("people", "team", &json!({"type": "object"}))?;
            tx.define_edge_type(
                "people",
                "member_of",
                &json!({"type": "object", "properties": {"since": {"type": "integer"}}}),
                &Endpoints::between(&["person"], &["team"]),
            )?;
            tx.define_edge_type("people", "knows", &json!({}), &Endpoints::any())?;
            tx.create_graph("acme", "people")?;
            tx.add_node("acme", "ada", "person", &json!({"name": "Ada"}))?;
            tx.add_node("acme", "bob", "person", &json!({"name": "Bob", "age": 41}))?;
            tx.add_node("acme", "eng", "team", &json!({}))?;
            Ok(())
        })
        .expect("people fixture");
}

/// `default` unless the `PROPTEST_CASES` environment variable says otherwise.
pub fn cases_or(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A proptest configuration running `cases` cases, saving failures to
/// `proptest-regressions/{file}` (replayed first on the next run).
pub fn proptest_config(file: &str, cases: u32) -> proptest::test_runner::Config {
    let path = format!("{}/proptest-regressions/{file}", env!("CARGO_MANIFEST_DIR"));
    // The persistence wants a 'static path; one per test binary.
    let path: &'static str = Box::leak(path.into_boxed_str());
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(path),
        )),
        ..proptest::test_runner::Config::default()
    }
}

/// A small deterministic generator (xorshift64*) for tests that need
/// randomness they can replay from a printed seed.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds diverge at once and
        // the state is never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A seed from the clock, for runs that should differ unless replayed.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Runs `sql` on the store's file with a plain SQLite connection, around
/// the engine: what an operator or an attacker with the file can do.
pub fn raw_sql(store: &Store, sql: &str) {
    let conn = rusqlite::Connection::open(store.path()).expect("open raw");
    conn.execute_batch(sql).expect("raw sql");
}

/// A well-formed ed25519 fingerprint made of one repeated byte.
pub fn fp(byte: u8) -> String {
    format!("ed25519:{}", format!("{byte:02x}").repeat(32))
}

/// The wall clock in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// Every cell of every row of `audit_log` in the store file at `path`, as
/// text: what a search for a secret in the log has to look through.
pub fn audit_cells(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    let mut stmt = conn
        .prepare("SELECT * FROM audit_log ORDER BY seq")
        .expect("prepare");
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).expect("query");
    let mut cells = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        for i in 0..columns {
            let value: rusqlite::types::Value = row.get(i).expect("cell");
            cells.push(format!("{value:?}"));
        }
    }
    cells
}

/// Any kind of principal.
pub fn identity_type() -> impl proptest::strategy::Strategy<Value = alknet_graphs::acl::IdentityType>
{
    use alknet_graphs::acl::IdentityType;
    use proptest::prelude::Just;
    proptest::prop_oneof![
        Just(IdentityType::Account),
        Just(IdentityType::Org),
        Just(IdentityType::Service),
        Just(IdentityType::Role),
    ]
}
