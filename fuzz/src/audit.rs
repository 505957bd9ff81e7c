//! The property the `audit` target checks: untrusted checkpoint documents
//! (anchors read from files) and audit rows as raw SQL could leave them.
//!
//! Compiled twice, like `checks.rs`: by the fuzz crate and by the root
//! crate's `tests/fuzz_corpus.rs`. Uses only `alknet_graphs`, `serde_json`,
//! `rusqlite` and `tempfile`.
//!
//! An input is UTF-8 text. As a checkpoint document it must decode without
//! panicking, round-trip, and verify with the fixture's key only if it is
//! the genuine checkpoint. As a JSON object it is also a set of overrides:
//! of the genuine checkpoint's fields (the result, as an anchor, verifies
//! exactly when nothing changed) and of the columns of the genuine audit
//! entry 2, written raw (the log verifies exactly when the stored row is
//! the genuine one).

use std::sync::Mutex;

use alknet_graphs::audit::{Checkpoint, SigningKey};
use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
use alknet_graphs::Store;
use rusqlite::types::Value as Sql;
use serde_json::Value;
use tempfile::TempDir;

/// The columns of an entry an input may override (not `seq`: the row
/// stays in place).
const COLUMNS: &[&str] = &[
    "at",
    "actor",
    "action",
    "entity",
    "before",
    "after",
    "prev_hash",
    "hash",
    "format",
    "before_sha256",
    "after_sha256",
    "redacted_by",
];

/// A store with three entries and a checkpoint over them; a raw
/// connection with the guards dropped, to write rows as an attacker would.
pub struct AuditFixture {
    store: Store,
    key: SigningKey,
    genuine: Checkpoint,
    row: Vec<Sql>,
    /// Behind a lock: a connection is not `Sync`, and the fuzz crate
    /// keeps its fixture in a static.
    raw: Mutex<rusqlite::Connection>,
    // Declared last so that it is dropped after the store's connections.
    _dir: TempDir,
}

impl AuditFixture {
    /// Sets up the store in a new temporary directory, removed on drop.
    pub fn open() -> AuditFixture {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let store = Store::open(dir.path().join("audit.db")).expect("open the store");
        let ids = SqliteIdentityProvider::builder()
            .listen(false)
            .open(&store)
            .expect("open the provider");
        ids.insert_peer(PeerEntry::new("a").scopes(["ci"]))
            .expect("a");
        ids.replace_peer(PeerEntry::new("a").scopes(["ci", "deploy"]))
            .expect("update a");
        ids.insert_peer(PeerEntry::new("b")).expect("b");
        ids.erase_peer("b", "fuzz").expect("erase b");
        let key = SigningKey::from_bytes(&[7; 32]);
        let genuine = store.create_checkpoint(&key).expect("checkpoint");
        let raw = rusqlite::Connection::open(store.path()).expect("open raw");
        raw.execute_batch("DROP TRIGGER audit_log_no_update;")
            .expect("drop the guard");
        let row = read_row(&raw);
        AuditFixture {
            store,
            key,
            genuine,
            row,
            raw: Mutex::new(raw),
            _dir: dir,
        }
    }

    /// Checks one input; panics when a property fails.
    pub fn check_audit(&self, data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(checkpoint) = Checkpoint::from_json(text) {
            let again = Checkpoint::from_json(&checkpoint.to_json()).expect("round trip");
            assert_eq!(again, checkpoint);
            if checkpoint.verify(&self.key.verifying_key()).is_ok() {
                assert_eq!(checkpoint, self.genuine, "a forged checkpoint verified");
            }
        }
        let Ok(Value::Object(overrides)) = serde_json::from_str::<Value>(text) else {
            return;
        };
        self.check_anchor(&overrides);
        self.check_row(&overrides);
    }

    fn check_anchor(&self, overrides: &serde_json::Map<String, Value>) {
        let mut document = serde_json::to_value(&self.genuine).expect("encode");
        for (name, value) in overrides {
            if document.get(name).is_some() {
                document[name.as_str()] = value.clone();
            }
        }
        let Ok(anchor) = Checkpoint::from_value(document) else {
            return;
        };
        let report = self
            .store
            .begin_read()
            .expect("read")
            .verify_audit(&self.key.verifying_key(), std::slice::from_ref(&anchor))
            .expect("verify");
        assert_eq!(
            report.is_intact(),
            anchor == self.genuine,
            "anchor {anchor:?}: {:?}",
            report.problems()
        );
    }

    fn check_row(&self, overrides: &serde_json::Map<String, Value>) {
        let mut row = self.row.clone();
        let mut touched = false;
        for (i, column) in COLUMNS.iter().enumerate() {
            if let Some(value) = overrides.get(*column) {
                row[i] = sql(value);
                touched = true;
            }
        }
        if !touched {
            return;
        }
        let raw = self
            .raw
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        write_row(&raw, &row);
        let stored = read_row(&raw);
        let read = self.store.begin_read().expect("read");
        let report = read
            .verify_audit(&self.key.verifying_key(), &[])
            .expect("verify");
        let chain = read.verify_audit_chain().expect("walk");
        // A damaged row is an error of the listing, never a panic.
        let _ = read.audit_log(0, 10);
        drop(read);
        write_row(&raw, &self.row);
        drop(raw);
        let genuine = stored == self.row;
        assert_eq!(
            report.is_intact(),
            genuine,
            "{stored:?}: {:?}",
            report.problems()
        );
        if genuine {
            assert_eq!(chain, None);
        }
    }
}

fn sql(value: &Value) -> Sql {
    match value {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(text) => Sql::Text(text.clone()),
        other => Sql::Text(other.to_string()),
    }
}

fn read_row(raw: &rusqlite::Connection) -> Vec<Sql> {
    let sql = format!("SELECT {} FROM audit_log WHERE seq = 2", COLUMNS.join(", "));
    raw.query_row(&sql, [], |row| {
        (0..COLUMNS.len()).map(|i| row.get::<_, Sql>(i)).collect()
    })
    .expect("read entry 2")
}

fn write_row(raw: &rusqlite::Connection, row: &[Sql]) {
    let sets: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ?{}", i + 1))
        .collect();
    let sql = format!("UPDATE audit_log SET {} WHERE seq = 2", sets.join(", "));
    // A NOT NULL column refuses NULL: then the row is unchanged, which the
    // check reads back.
    let _ = raw.execute(&sql, rusqlite::params_from_iter(row.iter()));
}
