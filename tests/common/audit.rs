//! Rewriting the audit log as a forger with write access to the file would.

use std::path::Path;

use alknet_graphs::{AuditEntry, Store};

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sql_text(value: &Option<String>) -> String {
    match value {
        None => "NULL".into(),
        Some(text) => format!("'{}'", text.replace('\'', "''")),
    }
}

/// Rewrites the whole audit log as a forger with the file would: drop the
/// guards, replace every row with `forged`, recompute every hash (when
/// `rehash`) and the recorded head, and put the guards back.
pub fn rewrite_log(db: &Path, mut forged: Vec<AuditEntry>, rehash: bool) {
    if rehash {
        let mut prev = "0".repeat(64);
        for entry in &mut forged {
            entry.prev_hash.clone_from(&prev);
            entry.hash = entry.computed_hash().expect("known format");
            prev.clone_from(&entry.hash);
        }
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut sql = String::from(
        "BEGIN; DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log;",
    );
    for e in &forged {
        sql.push_str(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, entity, before, after, prev_hash, hash, format, before_sha256, after_sha256, redacted_by)
             VALUES ({}, {}, {}, {}, {}, {}, {}, '{}', '{}', {}, {}, {}, {});",
            e.seq,
            e.at,
            sql_text(&e.actor),
            sql_text(&Some(e.action.clone())),
            sql_text(&Some(e.entity.clone())),
            sql_text(&e.before),
            sql_text(&e.after),
            e.prev_hash,
            e.hash,
            e.format,
            sql_text(&e.before_sha256),
            sql_text(&e.after_sha256),
            e.redacted_by.map_or("NULL".into(), |by| by.to_string()),
        ));
    }
    if let Some(last) = forged.last() {
        sql.push_str(&format!(
            "UPDATE _alknet_meta SET value = '{} {}' WHERE key = 'audit_head';",
            last.seq, last.hash
        ));
    }
    for trigger in triggers {
        sql.push_str(&trigger);
        sql.push(';');
    }
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql).expect("forge");
}

/// The forging attack: remove the `api_key.create` entry, make entry 2's
/// actor `mallory`, renumber, and recompute every hash and the head.
pub fn forge_history(db: &Path) {
    let entries = {
        let store = Store::open_read_only(db).expect("open");
        let read = store.begin_read().expect("read");
        read.audit_log(0, 100_000).expect("entries")
    };
    let mut forged: Vec<AuditEntry> = entries
        .into_iter()
        .filter(|e| e.action != "api_key.create")
        .collect();
    for (i, entry) in forged.iter_mut().enumerate() {
        entry.seq = i as u64 + 1;
    }
    forged[1].actor = Some("mallory".into());
    rewrite_log(db, forged, true);
}
