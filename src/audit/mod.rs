//! The audit log: an append-only, hash-chained record of every identity and
//! ACL mutation, signed checkpoints of it, and redaction of its payloads.
//!
//! # The chain
//!
//! Each entry is written inside the transaction that makes the mutation, so
//! an entry exists exactly when its mutation committed. Entry `n` stores the
//! hash of entry `n - 1` (`prev_hash`) and its own `hash`. Changing,
//! removing or reordering any entry breaks the chain at that entry;
//! [`Reader::verify_audit_chain`] finds the first break. Triggers refuse
//! `UPDATE` and `DELETE` on the table (but for redaction, below), and
//! `_alknet_meta.audit_head` records the last entry, so a truncated tail is
//! detected too.
//!
//! Entries have a hash *format*. Format 2 (every entry written by schema
//! version 4 and later) hashes, each length-prefixed: the format byte,
//! `prev_hash`, `seq`, `at`, `actor`, `action`, `entity`, and the SHA-256
//! of each payload (`before_sha256`, `after_sha256`) rather than the
//! payload itself. Format 1 (entries written before) hashes the payloads'
//! text; those still verify, but cannot be redacted.
//!
//! # Checkpoints
//!
//! The chain has no key: whoever can write the file can rewrite every entry
//! and recompute every hash. A [`Checkpoint`] closes that gap: it signs
//! (Ed25519) the chain's head at an entry, the store's revision, the time,
//! the previous checkpoint's hash, and a root over the hashes of the
//! entries it covers. With the signing key kept off the machine, a rewrite
//! of any covered entry is caught by [`Reader::verify_audit`], which names
//! the first entry that no longer matches. A forger who also deletes the
//! checkpoint rows is caught by checkpoints kept elsewhere ("anchors"):
//! every checkpoint is handed to [`Store::on_checkpoint`] callbacks after
//! it commits, and `alknet-graphs audit checkpoint` prints it, so it can be
//! copied to another machine, a transparency log, or a ticket.
//!
//! # Redaction
//!
//! [`WriteTxn::redact_audit_entry`] erases the payloads of a format-2
//! entry and keeps their digests, so the chain and every checkpoint still
//! verify; the redaction itself is appended as an `audit.redact` entry that
//! names the entry, the reason and the digests.
//! [`SqliteIdentityProvider::erase_peer`](crate::identity::SqliteIdentityProvider::erase_peer)
//! removes a peer and redacts every entry about it in one transaction.
//! The entry's other fields (who, what, which entity, when) stay: they are
//! what the log is for, so keep personal data out of ids, actors and
//! reasons.

mod check;
mod checkpoint;
mod redact;
pub(crate) mod verify;

pub use check::{AuditProblem, AuditProblemKind, AuditReport};
pub use checkpoint::{
    generate_signing_key, signing_key_from_hex, signing_key_hex, verifying_key_from_hex,
    verifying_key_hex, Checkpoint,
};
pub use ed25519_dalek::{SigningKey, VerifyingKey};

pub(crate) use check::check;
pub(crate) use checkpoint::{AutoCheckpoint, Checkpoints};

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::error::{Error, Result};
use crate::store::Reader;
#[cfg(doc)]
use crate::store::{Store, WriteTxn};

/// `prev_hash` of the first entry, and of the first checkpoint.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash format of the entries this version writes.
pub(crate) const FORMAT: u32 = 2;

/// The action of the entry that records a redaction.
pub(crate) const REDACT_ACTION: &str = "audit.redact";

const LAST: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
const INSERT: &str = "INSERT INTO audit_log
     (seq, at, actor, action, entity, before, after, prev_hash, hash, format, before_sha256, after_sha256)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
const SAVE_HEAD: &str = "INSERT INTO _alknet_meta (key, value) VALUES ('audit_head', ?1)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const READ_HEAD: &str = "SELECT value FROM _alknet_meta WHERE key = 'audit_head'";
const PAGE: &str = "SELECT seq, at, actor, action, entity, before, after, prev_hash, hash, format,
     before_sha256, after_sha256, redacted_by
     FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2";
const ONE: &str = "SELECT seq, at, actor, action, entity, before, after, prev_hash, hash, format,
     before_sha256, after_sha256, redacted_by
     FROM audit_log WHERE seq = ?1";

/// One mutation, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it was committed, unix milliseconds.
    pub at: i64,
    /// Who made it, when the writer said.
    pub actor: Option<String>,
    /// What was done, e.g. `peer.create`, `acl.delegate`, `audit.redact`.
    pub action: String,
    /// What it was done to, e.g. `peer "build-01"`.
    pub entity: String,
    /// The entity before, as JSON text; `None` when it was created, or when
    /// the entry was redacted.
    pub before: Option<String>,
    /// The entity after, as JSON text; `None` when it was removed, or when
    /// the entry was redacted.
    pub after: Option<String>,
    /// The hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of the entry, computed as its `format` says.
    pub hash: String,
    /// The hash format: 1 for entries written before schema version 4
    /// (the hash covers the payloads), 2 after (it covers their digests).
    pub format: u32,
    /// Format 2: SHA-256 (hex) of `before` as written; kept when the entry
    /// is redacted.
    pub before_sha256: Option<String>,
    /// Format 2: SHA-256 (hex) of `after` as written; kept when the entry
    /// is redacted.
    pub after_sha256: Option<String>,
    /// The `audit.redact` entry that erased this entry's payloads, if any.
    pub redacted_by: Option<u64>,
}

impl AuditEntry {
    /// Whether the entry's payloads were erased by a redaction.
    pub fn is_redacted(&self) -> bool {
        self.redacted_by.is_some()
    }

    /// The hash recomputed from the entry's fields, as its format says
    /// (the stored digests for format 2, the payloads for format 1);
    /// `None` for a format this version does not know.
    ///
    /// An entry is intact when this equals [`hash`](AuditEntry::hash) and
    /// each payload present matches its digest; see
    /// [`Reader::verify_audit_chain`].
    pub fn computed_hash(&self) -> Option<String> {
        let fields = Fields {
            seq: self.seq,
            at: self.at,
            actor: self.actor.as_deref(),
            action: &self.action,
            entity: &self.entity,
        };
        match self.format {
            1 => Some(hash_v1(
                &self.prev_hash,
                &fields,
                self.before.as_deref(),
                self.after.as_deref(),
            )),
            2 => Some(hash_v2(
                &self.prev_hash,
                &fields,
                self.before_sha256.as_deref(),
                self.after_sha256.as_deref(),
            )),
            _ => None,
        }
    }
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
        write!(f, "audit entry {}: {}", self.seq, self.reason)
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
    append_entry(conn, record).map(|_| ())
}

/// Appends `record` after the current last entry and returns its `seq`.
pub(crate) fn append_entry(conn: &Connection, record: Record<'_>) -> Result<u64> {
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
    let before_sha256 = before.as_deref().map(payload_digest);
    let after_sha256 = after.as_deref().map(payload_digest);
    let hash = hash_v2(
        &prev_hash,
        &Fields {
            seq,
            at: record.at,
            actor: record.actor,
            action: record.action,
            entity: &record.entity,
        },
        before_sha256.as_deref(),
        after_sha256.as_deref(),
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
        FORMAT,
        before_sha256,
        after_sha256,
    ])?;
    conn.prepare_cached(SAVE_HEAD)?
        .execute([format!("{seq} {hash}")])?;
    Ok(seq)
}

struct Fields<'a> {
    seq: u64,
    at: i64,
    actor: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
}

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

fn common(hasher: &mut Sha256, prev_hash: &str, fields: &Fields<'_>) {
    part(hasher, prev_hash.as_bytes());
    hasher.update(fields.seq.to_le_bytes());
    hasher.update(fields.at.to_le_bytes());
    optional(hasher, fields.actor);
    part(hasher, fields.action.as_bytes());
    part(hasher, fields.entity.as_bytes());
}

/// Format 1: SHA-256 over `prev_hash`, the fields and the payloads, each
/// length-prefixed (and optional ones tagged), so no two different entries
/// hash the same input.
fn hash_v1(
    prev_hash: &str,
    fields: &Fields<'_>,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    common(&mut hasher, prev_hash, fields);
    optional(&mut hasher, before);
    optional(&mut hasher, after);
    hex(&hasher.finalize())
}

/// Format 2: as format 1 but led by the format byte (a format-1 input
/// starts with the length of `prev_hash`, 64, so the two never collide),
/// and over the payloads' digests instead of the payloads.
fn hash_v2(
    prev_hash: &str,
    fields: &Fields<'_>,
    before_sha256: Option<&str>,
    after_sha256: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update([2u8]);
    common(&mut hasher, prev_hash, fields);
    optional(&mut hasher, before_sha256);
    optional(&mut hasher, after_sha256);
    hex(&hasher.finalize())
}

/// The SHA-256 (hex) of a payload's text.
pub(crate) fn payload_digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
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

/// The bytes of lowercase hex text of exactly `len` bytes, or `None`.
pub(crate) fn unhex(text: &str, len: usize) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() != len * 2 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Whether `text` is a SHA-256 as this module writes it: 64 lowercase hex.
pub(crate) fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn entry_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let format: i64 = row.get(9)?;
    let redacted_by: Option<i64> = row.get(12)?;
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
        // A value out of range reads as a format no version knows.
        format: u32::try_from(format).unwrap_or(u32::MAX),
        before_sha256: row.get(10)?,
        after_sha256: row.get(11)?,
        redacted_by: redacted_by.map(|seq| seq as u64),
    })
}

/// The entry `seq`, if there is one.
pub(crate) fn entry(conn: &Connection, seq: u64) -> Result<Option<AuditEntry>> {
    conn.prepare_cached(ONE)?
        .query_row([seq as i64], entry_from)
        .optional()
        .map_err(Error::from)
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

    /// The audit entry `seq`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn audit_entry(&self, seq: u64) -> Result<Option<AuditEntry>> {
        entry(self.conn(), seq)
    }

    /// Walks the whole audit chain and returns its first break, or `None`
    /// when every entry verifies: sequence numbers from 1 without gaps,
    /// each `prev_hash` equal to the previous entry's `hash`, each `hash`
    /// recomputed from the entry as stored, each payload matching its
    /// digest, each redaction recorded by the `audit.redact` entry it names,
    /// and the last entry the one `_alknet_meta` records as the head.
    ///
    /// The chain alone does not protect against someone who can rewrite
    /// the file: they can recompute every hash. Check signed checkpoints
    /// with [`verify_audit`](Reader::verify_audit) for that.
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
        Ok(walk(self.conn(), Start::genesis(), |_| None)?.broken)
    }
}

/// Where a walk of the chain starts: after entry `after`, whose hash is
/// `prev_hash`.
pub(crate) struct Start {
    pub(crate) after: u64,
    pub(crate) prev_hash: String,
}

impl Start {
    pub(crate) fn genesis() -> Start {
        Start {
            after: 0,
            prev_hash: GENESIS.to_owned(),
        }
    }
}

/// What a walk of the chain found.
pub(crate) struct Walked {
    /// The last entry that verified (the start's `after` if none did).
    pub(crate) last: u64,
    /// Entries that verified, from the start.
    pub(crate) entries: u64,
    /// Redacted entries among them.
    pub(crate) redacted: Vec<u64>,
    /// The first break, if any; the walk stops there.
    pub(crate) broken: Option<AuditBreak>,
}

/// Walks the chain on `conn` from `start` to the recorded head, checking
/// every entry (see [`Reader::verify_audit_chain`]) and then handing it to
/// `visit`, which may report a break of its own (a checkpoint mismatch).
pub(crate) fn walk(
    conn: &Connection,
    start: Start,
    mut visit: impl FnMut(&AuditEntry) -> Option<AuditBreak>,
) -> Result<Walked> {
    let mut walked = Walked {
        last: start.after,
        entries: 0,
        redacted: Vec::new(),
        broken: None,
    };
    let mut prev_hash = start.prev_hash;
    let mut newest_format = 0u32;
    loop {
        let page = match audit_page_raw(conn, walked.last) {
            Ok(page) => page,
            Err(broken) => {
                walked.broken = Some(broken);
                return Ok(walked);
            }
        };
        let done = (page.len() as i64) < WALK_PAGE;
        for entry in page {
            let expected_seq = walked.last + 1;
            if entry.seq != expected_seq {
                walked.broken = Some(AuditBreak {
                    seq: expected_seq,
                    reason: format!("missing (the next entry is {})", entry.seq),
                });
                return Ok(walked);
            }
            let problem = check_entry(conn, &entry, &prev_hash, newest_format)?
                .or_else(|| visit(&entry).map(|b| b.reason));
            if let Some(reason) = problem {
                walked.broken = Some(AuditBreak {
                    seq: entry.seq,
                    reason,
                });
                return Ok(walked);
            }
            if entry.is_redacted() {
                walked.redacted.push(entry.seq);
            }
            newest_format = newest_format.max(entry.format);
            walked.last = entry.seq;
            walked.entries += 1;
            prev_hash = entry.hash;
        }
        if done {
            break;
        }
    }
    walked.broken = check_head(conn, walked.last, &prev_hash)?;
    Ok(walked)
}

/// Whether the recorded head is the last entry.
fn check_head(conn: &Connection, last: u64, last_hash: &str) -> Result<Option<AuditBreak>> {
    let head: Option<String> = conn
        .query_row(READ_HEAD, [], |row| row.get(0))
        .optional()
        .unwrap_or(None);
    let recorded = head.as_deref().map(|h| {
        let (seq, hash) = h.split_once(' ').unwrap_or((h, ""));
        (seq.parse::<u64>().unwrap_or(0), hash.to_owned())
    });
    Ok(match recorded {
        None if last == 0 => None,
        None => Some(AuditBreak {
            seq: last,
            reason: "the recorded head of the log is missing".into(),
        }),
        Some((seq, _)) if seq > last => Some(AuditBreak {
            seq: last + 1,
            reason: format!("missing: the log ends at {last} but its head is {seq}"),
        }),
        Some((seq, hash)) if seq != last || hash != last_hash => Some(AuditBreak {
            seq: last,
            reason: format!("the recorded head is entry {seq}, not this one"),
        }),
        Some(_) => None,
    })
}

/// What is wrong with `entry` on its own, given the previous entry's hash
/// and the newest format seen before it; `None` when it verifies.
pub(crate) fn check_entry(
    conn: &Connection,
    entry: &AuditEntry,
    prev_hash: &str,
    newest_format: u32,
) -> Result<Option<String>> {
    if entry.prev_hash != prev_hash {
        return Ok(Some(
            "prev_hash does not match the previous entry's hash".into(),
        ));
    }
    let altered = "contents do not match its hash (the entry was altered)";
    match entry.format {
        1 if newest_format > 1 => {
            return Ok(Some(format!(
                "hash format 1 after entries of format {newest_format} (the entry was altered)"
            )))
        }
        1 => {
            if entry.before_sha256.is_some()
                || entry.after_sha256.is_some()
                || entry.redacted_by.is_some()
            {
                return Ok(Some(
                    "a format-1 entry with digests or a redaction (the entry was altered)".into(),
                ));
            }
        }
        2 => {
            for (name, payload, digest) in [
                ("before", &entry.before, &entry.before_sha256),
                ("after", &entry.after, &entry.after_sha256),
            ] {
                match (payload, digest) {
                    (_, Some(digest)) if !is_digest(digest) => {
                        return Ok(Some(format!(
                            "{name}_sha256 is not a SHA-256 (the entry was altered)"
                        )))
                    }
                    (Some(text), Some(digest)) if payload_digest(text) != *digest => {
                        return Ok(Some(format!(
                            "{name} does not match its digest (the entry was altered)"
                        )))
                    }
                    (Some(_), None) => {
                        return Ok(Some(format!(
                            "{name} has no digest (the entry was altered)"
                        )))
                    }
                    (None, Some(_)) if entry.redacted_by.is_none() => {
                        return Ok(Some(format!(
                        "{name} is missing but the entry is not redacted (the entry was altered)"
                    )))
                    }
                    _ => {}
                }
            }
        }
        other => return Ok(Some(format!("unknown hash format {other}"))),
    }
    if entry.computed_hash().as_deref() != Some(entry.hash.as_str()) {
        return Ok(Some(altered.into()));
    }
    if let Some(by) = entry.redacted_by {
        if let Some(reason) = redact::check_redacted(conn, entry, by)? {
            return Ok(Some(reason));
        }
    }
    if entry.action == REDACT_ACTION {
        if let Some(reason) = redact::check_redaction_record(conn, entry)? {
            return Ok(Some(reason));
        }
    }
    Ok(None)
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
        };
        let b = Fields {
            actor: Some("a"),
            action: "bc",
            ..a
        };
        let c = Fields { actor: None, ..a };
        let (ha, hb, hc) = (
            hash_v1(GENESIS, &a, None, None),
            hash_v1(GENESIS, &b, None, None),
            hash_v1(GENESIS, &c, None, None),
        );
        assert_ne!(ha, hb);
        assert_ne!(ha, hc);
        assert_ne!(ha, hash_v2(GENESIS, &a, None, None), "formats differ");
        assert_eq!(ha.len(), 64);
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
        assert_eq!(unhex("0fa0", 2), Some(vec![0x0f, 0xa0]));
        assert_eq!(unhex("0FA0", 2), None, "lowercase only");
        assert_eq!(unhex("0fa", 2), None);
    }
}
