//! Schema migrations: additive only, versioned in `_alknet_meta`.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};

/// Creates the meta table; safe to run on every open.
const META_DDL: &str = "CREATE TABLE IF NOT EXISTS _alknet_meta (
    key TEXT PRIMARY KEY,
    value NOT NULL
)";

/// Migration `i` takes the file from schema version `i` to `i + 1`.
/// Never edit a migration that has shipped; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the metagraph.
    "
    CREATE TABLE graph_types (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        config TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE node_types (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        graph_type_id INTEGER NOT NULL REFERENCES graph_types(id),
        name TEXT NOT NULL,
        schema TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (graph_type_id, name)
    );
    CREATE TABLE edge_types (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        graph_type_id INTEGER NOT NULL REFERENCES graph_types(id),
        name TEXT NOT NULL,
        schema TEXT NOT NULL,
        allowed_source TEXT,
        allowed_target TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (graph_type_id, name)
    );
    CREATE TABLE graphs (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        graph_type_id INTEGER NOT NULL REFERENCES graph_types(id),
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX graphs_by_type ON graphs (graph_type_id);
    CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        graph_id INTEGER NOT NULL REFERENCES graphs(id),
        key TEXT NOT NULL,
        node_type_id INTEGER NOT NULL REFERENCES node_types(id),
        attributes TEXT NOT NULL,
        -- Order value in an acyclic graph (NULL: the row id); see graph/order.rs.
        topo INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (graph_id, key)
    );
    CREATE TABLE edges (
        id INTEGER PRIMARY KEY,
        graph_id INTEGER NOT NULL REFERENCES graphs(id),
        key TEXT NOT NULL,
        edge_type_id INTEGER NOT NULL REFERENCES edge_types(id),
        source INTEGER NOT NULL REFERENCES nodes(id),
        target INTEGER NOT NULL REFERENCES nodes(id),
        undirected INTEGER NOT NULL DEFAULT 0,
        attributes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (graph_id, key)
    );
    CREATE INDEX edges_out ON edges (source, target);
    CREATE INDEX edges_in ON edges (target, source);
    INSERT INTO _alknet_meta (key, value) VALUES ('revision', 0);
    ",
    // 2: the identity registry and the audit log.
    "
    CREATE TABLE peers (
        id INTEGER PRIMARY KEY,
        peer_id TEXT NOT NULL UNIQUE,
        fingerprints TEXT NOT NULL,
        auth_token_hash TEXT UNIQUE,
        scopes TEXT NOT NULL,
        resources TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    -- One fingerprint, one peer: the primary key is the constraint and the
    -- lookup.
    CREATE TABLE peer_fingerprints (
        fingerprint TEXT PRIMARY KEY,
        peer INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX peer_fingerprints_by_peer ON peer_fingerprints (peer);
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        key_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        resources TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        expires_at INTEGER,
        revoked_at INTEGER,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX api_keys_by_owner ON api_keys (owner_id);
    CREATE TABLE credentials (
        provider TEXT PRIMARY KEY,
        key_version INTEGER NOT NULL,
        salt BLOB NOT NULL,
        iv BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,
        entity TEXT NOT NULL,
        before TEXT,
        after TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    ",
    // 3: the write epoch. Every update or deletion of a row that grants
    // access (the identity tables, the graphs, the ACL's nodes and edges)
    // bumps `epoch`, whoever makes it; every engine commit records the
    // epoch it left as `published_epoch`. A difference is a write made
    // around the engine, which readers of the change feed cannot see: they
    // reload. Inserts are not counted: a row added unseen can only add a
    // grant that is then not served (grants are monotone in the rows), and
    // bulk inserts stay free of trigger work.
    "
    INSERT INTO _alknet_meta (key, value) VALUES ('epoch', 0), ('published_epoch', 0);
    CREATE TRIGGER peers_epoch_update AFTER UPDATE ON peers
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER peers_epoch_delete AFTER DELETE ON peers
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER peer_fingerprints_epoch_update AFTER UPDATE ON peer_fingerprints
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER peer_fingerprints_epoch_delete AFTER DELETE ON peer_fingerprints
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER api_keys_epoch_update AFTER UPDATE ON api_keys
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER api_keys_epoch_delete AFTER DELETE ON api_keys
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER credentials_epoch_update AFTER UPDATE ON credentials
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER credentials_epoch_delete AFTER DELETE ON credentials
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER graphs_epoch_update AFTER UPDATE ON graphs
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER graphs_epoch_delete AFTER DELETE ON graphs
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER nodes_epoch_update AFTER UPDATE ON nodes
        WHEN NEW.graph_id = (SELECT id FROM graphs WHERE name = 'acl')
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER nodes_epoch_delete AFTER DELETE ON nodes
        WHEN OLD.graph_id = (SELECT id FROM graphs WHERE name = 'acl')
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER edges_epoch_update AFTER UPDATE ON edges
        WHEN NEW.graph_id = (SELECT id FROM graphs WHERE name = 'acl')
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER edges_epoch_delete AFTER DELETE ON edges
        WHEN OLD.graph_id = (SELECT id FROM graphs WHERE name = 'acl')
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    ",
    // 4: signed checkpoints of the audit log, and redaction. Entries
    // written from here on are of hash format 2: their hash covers the
    // SHA-256 of each payload (`before_sha256`, `after_sha256`), not the
    // payload, so a payload can be erased and the chain still verifies.
    // Older entries keep format 1 (their hash covers the payload itself)
    // and cannot be redacted. The update guard is replaced by one that
    // allows exactly one change: erasing both payloads of a format-2 entry
    // not yet redacted, pointing `redacted_by` at the `audit.redact` entry
    // that records it; every other column must stay as it is.
    "
    ALTER TABLE audit_log ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE audit_log ADD COLUMN before_sha256 TEXT;
    ALTER TABLE audit_log ADD COLUMN after_sha256 TEXT;
    ALTER TABLE audit_log ADD COLUMN redacted_by INTEGER;
    DROP TRIGGER audit_log_no_update;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        WHEN NOT (
            OLD.format = 2 AND OLD.redacted_by IS NULL AND OLD.action <> 'audit.redact'
            AND NEW.seq IS OLD.seq AND NEW.at IS OLD.at AND NEW.actor IS OLD.actor
            AND NEW.action IS OLD.action AND NEW.entity IS OLD.entity
            AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
            AND NEW.format IS OLD.format
            AND NEW.before_sha256 IS OLD.before_sha256
            AND NEW.after_sha256 IS OLD.after_sha256
            AND NEW.before IS NULL AND NEW.after IS NULL
            AND typeof(NEW.redacted_by) = 'integer' AND NEW.redacted_by > OLD.seq
            AND EXISTS (SELECT 1 FROM audit_log AS r
                        WHERE r.seq = NEW.redacted_by AND r.action = 'audit.redact'
                          AND r.entity = 'audit entry ' || OLD.seq)
        )
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        audit_seq INTEGER NOT NULL,
        audit_hash TEXT NOT NULL,
        entries_root TEXT NOT NULL,
        revision INTEGER NOT NULL,
        at INTEGER NOT NULL,
        prev_hash TEXT NOT NULL,
        public_key TEXT NOT NULL,
        signature TEXT NOT NULL,
        hash TEXT NOT NULL,
        -- The 32-byte hash of every entry the checkpoint covers past the
        -- previous one, in order: signed through entries_root, so that a
        -- rewritten chain is caught at its first altered entry.
        entry_hashes BLOB NOT NULL
    );
    CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
    ",
    // 5: peer credential history. Every fingerprint and token a peer has
    // held, when it was added and removed and by whom, written in the
    // transaction of the peer write that changed it. Keyed by the peer's
    // id, not its row, so it outlives the peer. A token is recorded by its
    // ordinal among the peer's tokens (`#1`, `#2`, …), never by its hash.
    // The credentials held when the history begins are recorded with no
    // added_at.
    "
    CREATE TABLE peer_credentials_history (
        id INTEGER PRIMARY KEY,
        peer_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('fingerprint', 'token')),
        value TEXT NOT NULL,
        added_at INTEGER,
        added_by TEXT,
        removed_at INTEGER,
        removed_by TEXT
    );
    CREATE INDEX peer_credentials_history_by_peer ON peer_credentials_history (peer_id, id);
    -- A peer holds a credential once at a time.
    CREATE UNIQUE INDEX peer_credentials_history_open
        ON peer_credentials_history (peer_id, kind, value) WHERE removed_at IS NULL;
    INSERT INTO peer_credentials_history (peer_id, kind, value)
        SELECT p.peer_id, 'fingerprint', f.fingerprint
        FROM peer_fingerprints f JOIN peers p ON p.id = f.peer
        ORDER BY p.peer_id, f.fingerprint;
    INSERT INTO peer_credentials_history (peer_id, kind, value)
        SELECT peer_id, 'token', '#1' FROM peers WHERE auth_token_hash IS NOT NULL
        ORDER BY peer_id;
    ",
    // 6: spend against delegation budgets (src/acl/budget.rs). A
    // reservation holds `amount` of `unit` for `principal` until
    // `expires_at`, then counts for nothing (no write needed); committing
    // turns it into spend, releasing returns it. Its draws name the
    // `delegates` edges (by row) whose budgets it counts against, with
    // each budget as it was then; deleting an edge deletes its draws.
    // Updates and deletions bump the write epoch, as for the other tables
    // that decide what may be done. It only creates what is missing, so it
    // is safe to run again.
    "
    CREATE TABLE IF NOT EXISTS acl_reservations (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        principal TEXT NOT NULL,
        unit TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
        settled_at INTEGER,
        CHECK ((state = 'reserved') = (settled_at IS NULL))
    );
    CREATE INDEX IF NOT EXISTS acl_reservations_by_principal ON acl_reservations (principal, id);
    CREATE INDEX IF NOT EXISTS acl_reservations_open ON acl_reservations (expires_at) WHERE state = 'reserved';
    CREATE TABLE IF NOT EXISTS acl_reservation_draws (
        reservation INTEGER NOT NULL REFERENCES acl_reservations(id) ON DELETE CASCADE,
        edge INTEGER NOT NULL REFERENCES edges(id) ON DELETE CASCADE,
        -- The edge's budget in the reservation's unit when it was drawn on.
        budget INTEGER NOT NULL,
        PRIMARY KEY (edge, reservation)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS acl_reservation_draws_by_reservation ON acl_reservation_draws (reservation);
    CREATE TRIGGER IF NOT EXISTS acl_reservations_epoch_update AFTER UPDATE ON acl_reservations
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER IF NOT EXISTS acl_reservations_epoch_delete AFTER DELETE ON acl_reservations
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER IF NOT EXISTS acl_reservation_draws_epoch_update AFTER UPDATE ON acl_reservation_draws
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    CREATE TRIGGER IF NOT EXISTS acl_reservation_draws_epoch_delete AFTER DELETE ON acl_reservation_draws
        BEGIN UPDATE _alknet_meta SET value = value + 1 WHERE key = 'epoch'; END;
    ",
];

/// The newest schema version this library knows.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version recorded in the file (0 for a new file).
pub(crate) fn schema_version(conn: &Connection) -> Result<i64> {
    let version: Option<i64> = conn
        .query_row(
            "SELECT value FROM _alknet_meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(version.unwrap_or(0))
}

/// Brings the file up to [`SCHEMA_VERSION`] in one `BEGIN IMMEDIATE`
/// transaction, or refuses a file newer than this library.
pub(crate) fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(META_DDL)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let outcome = apply_pending(conn);
    match outcome {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    outcome
}

fn apply_pending(conn: &Connection) -> Result<()> {
    let found = schema_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for sql in &MIGRATIONS[found as usize..] {
        conn.execute_batch(sql)?;
    }
    conn.execute(
        "INSERT INTO _alknet_meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [SCHEMA_VERSION],
    )?;
    Ok(())
}
