//! The audit log: an append-only, hash-chained record of every identity and
//! ACL mutation.
//!
//! Each entry is written inside the transaction that makes the mutation, so
//! an entry exists exactly when its mutation committed. Entry `n` stores the
//! hash of entry `n - 1` (`prev_hash`) and its own `hash`, the SHA-256 of
//! `prev_hash` and every field of the entry as stored. Changing, removing
//! or reordering any entry breaks the chain at that entry;
//! [`Reader::verify_audit_chain`] finds the first break. Triggers refuse
//! `UPDATE` and `DELETE` on the table, and `_alknet_meta.audit_head`
//! records the last entry, so a truncated tail is detected too.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::error::{Error, Result};
use crate::store::Reader;

/// `prev_hash` of the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const LAST: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
const INSERT: &str =
    "INSERT INTO audit_log (seq, at, actor, action, entity, before, after, prev_hash, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const SAVE_HEAD: &str = "INSERT INTO _alknet_meta (key, value) VALUES ('audit_head', ?1)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const READ_HEAD: &str = "SELECT value FROM _alknet_meta WHERE key = 'audit_head'";
const PAGE: &str = "SELECT seq, at, actor, action, entity, before, after, prev_hash, hash
     FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/// One mutation, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it was committed, unix milliseconds.
    pub at: i64,
    /// Who made it, when the writer said.
    pub actor: Option<String>,
    /// What was done, e.g. `peer.create`, `acl.delegate`.
    pub action: String,
    /// What it was done to, e.g. `peer "build-01"`.
    pub entity: String,
    /// The entity before, as JSON text; `None` when it was created.
    pub before: Option<String>,
    /// The entity after, as JSON text; `None` when it was removed.
    pub after: Option<String>,
    /// The hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of `prev_hash` and every field above.
    pub hash: String,
}

/// The first place the audit chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// The first entry that does not verify (for a truncated tail, the
    /// first missing one).
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit log entry {}: {}", self.seq, self.reason)
    }
}

/// A mutation to record, inside its own write transaction.
pub(crate) struct Record<'a> {
    pub(crate) at: i64,
    pub(crate) actor: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) entity: String,
    pub(crate) before: Option<Value>,
    pub(crate) after: Option<Value>,
}

/// Appends `record` after the current last entry.
pub(crate) fn append(conn: &Connection, record: Record<'_>) -> Result<()> {
    let last: Option<(i64, String)> = conn
        .prepare_cached(LAST)?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq as u64 + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let before = record.before.as_ref().map(Value::to_string);
    let after = record.after.as_ref().map(Value::to_string);
    let hash = link_hash(
        &prev_hash,
        &Fields {
            seq,
            at: record.at,
            actor: record.actor,
            action: record.action,
            entity: &record.entity,
            before: before.as_deref(),
            after: after.as_deref(),
        },
    );
    conn.prepare_cached(INSERT)?.execute(rusqlite::params![
        seq as i64,
        record.at,
        record.actor,
        record.action,
        record.entity,
        before,
        after,
        prev_hash,
        hash,
    ])?;
    conn.prepare_cached(SAVE_HEAD)?
        .execute([format!("{seq} {hash}")])?;
    Ok(())
}

struct Fields<'a> {
    seq: u64,
    at: i64,
    actor: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    before: Option<&'a str>,
    after: Option<&'a str>,
}

/// SHA-256 over `prev_hash` and the fields, each length-prefixed (and
/// optional ones tagged), so no two different entries hash the same input.
fn link_hash(prev_hash: &str, fields: &Fields<'_>) -> String {
    fn part(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    fn optional(hasher: &mut Sha256, value: Option<&str>) {
        match value {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                part(hasher, text.as_bytes());
            }
        }
    }
    let mut hasher = Sha256::new();
    part(&mut hasher, prev_hash.as_bytes());
    hasher.update(fields.seq.to_le_bytes());
    hasher.update(fields.at.to_le_bytes());
    optional(&mut hasher, fields.actor);
    part(&mut hasher, fields.action.as_bytes());
    part(&mut hasher, fields.entity.as_bytes());
    optional(&mut hasher, fields.before);
    optional(&mut hasher, fields.after);
    hex(&hasher.finalize())
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn entry_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.get::<_, i64>(0)? as u64,
        at: row.get(1)?,
        actor: row.get(2)?,
        action: row.get(3)?,
        entity: row.get(4)?,
        before: row.get(5)?,
        after: row.get(6)?,
        prev_hash: row.get(7)?,
        hash: row.get(8)?,
    })
}

/// Entries read per query while walking the log.
const WALK_PAGE: i64 = 1024;

impl Reader {
    /// Up to `limit` audit entries after `after_seq` (0 for the first), in
    /// order.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn audit_log(&self, after_seq: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn().prepare_cached(PAGE)?;
        let rows = stmt.query_map(
            rusqlite::params![after_seq as i64, limit.min(i64::MAX as usize) as i64],
            entry_from,
        )?;
        rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
    }

    /// Walks the whole audit chain and returns its first break, or `None`
    /// when every entry verifies: sequence numbers from 1 without gaps,
    /// each `prev_hash` equal to the previous entry's `hash`, each `hash`
    /// recomputed from the entry as stored, and the last entry the one
    /// `_alknet_meta` records as the head.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure (a column of the wrong type
    /// is reported as a break, not an error).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("audit.db"))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// provider.insert_peer(PeerEntry::new("build-01").scopes(["ci"]))?;
    ///
    /// let read = store.begin_read()?;
    /// assert_eq!(read.audit_log(0, 10)?[0].action, "peer.create");
    /// assert_eq!(read.verify_audit_chain()?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_audit_chain(&self) -> Result<Option<AuditBreak>> {
        verify_chain(self.conn())
    }
}

/// Walks the chain on `conn`; see [`Reader::verify_audit_chain`].
pub(crate) fn verify_chain(conn: &Connection) -> Result<Option<AuditBreak>> {
    let mut expected_seq = 1u64;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let page = match audit_page_raw(conn, expected_seq - 1) {
            Ok(page) => page,
            Err(broken) => return Ok(Some(broken)),
        };
        let done = (page.len() as i64) < WALK_PAGE;
        for entry in page {
            if entry.seq != expected_seq {
                return Ok(Some(AuditBreak {
                    seq: expected_seq,
                    reason: format!("missing (the next entry is {})", entry.seq),
                }));
            }
            if entry.prev_hash != prev_hash {
                return Ok(Some(AuditBreak {
                    seq: entry.seq,
                    reason: "prev_hash does not match the previous entry's hash".into(),
                }));
            }
            let recomputed = link_hash(
                &entry.prev_hash,
                &Fields {
                    seq: entry.seq,
                    at: entry.at,
                    actor: entry.actor.as_deref(),
                    action: &entry.action,
                    entity: &entry.entity,
                    before: entry.before.as_deref(),
                    after: entry.after.as_deref(),
                },
            );
            if recomputed != entry.hash {
                return Ok(Some(AuditBreak {
                    seq: entry.seq,
                    reason: "contents do not match its hash (the entry was altered)".into(),
                }));
            }
            prev_hash = entry.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let last = expected_seq - 1;
    let head: Option<String> = conn
        .query_row(READ_HEAD, [], |row| row.get(0))
        .optional()
        .unwrap_or(None);
    let recorded = head.as_deref().map(|h| {
        let (seq, hash) = h.split_once(' ').unwrap_or((h, ""));
        (seq.parse::<u64>().unwrap_or(0), hash.to_owned())
    });
    match recorded {
        None if last == 0 => Ok(None),
        None => Ok(Some(AuditBreak {
            seq: last,
            reason: "the recorded head of the log is missing".into(),
        })),
        Some((seq, _)) if seq > last => Ok(Some(AuditBreak {
            seq: last + 1,
            reason: format!("missing: the log ends at {last} but its head is {seq}"),
        })),
        Some((seq, hash)) if seq != last || hash != prev_hash => Ok(Some(AuditBreak {
            seq: last,
            reason: format!("the recorded head is entry {seq}, not this one"),
        })),
        Some(_) => Ok(None),
    }
}

/// One page of entries for the walk; a value of the wrong type is a break
/// at that entry.
fn audit_page_raw(
    conn: &Connection,
    after: u64,
) -> std::result::Result<Vec<AuditEntry>, AuditBreak> {
    let broken = |e: rusqlite::Error| AuditBreak {
        seq: after + 1,
        reason: format!("unreadable: {e}"),
    };
    let mut stmt = conn.prepare_cached(PAGE).map_err(broken)?;
    let rows = stmt
        .query_map(rusqlite::params![after as i64, WALK_PAGE], entry_from)
        .map_err(broken)?;
    rows.collect::<rusqlite::Result<_>>().map_err(broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_separate_fields() {
        let a = Fields {
            seq: 1,
            at: 0,
            actor: Some("ab"),
            action: "c",
            entity: "e",
            before: None,
            after: None,
        };
        let b = Fields {
            actor: Some("a"),
            action: "bc",
            ..a
        };
        let c = Fields { actor: None, ..a };
        let (ha, hb, hc) = (
            link_hash(GENESIS, &a),
            link_hash(GENESIS, &b),
            link_hash(GENESIS, &c),
        );
        assert_ne!(ha, hb);
        assert_ne!(ha, hc);
        assert_eq!(ha.len(), 64);
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
    }
}
