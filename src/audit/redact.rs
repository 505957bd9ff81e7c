//! Redaction: erasing an entry's payloads while its hash, and every
//! checkpoint over it, still verify.
//!
//! A redaction is two writes in one transaction: an `audit.redact` entry is
//! appended (entity `audit entry N`, payload `{"seq", "reason",
//! "before_sha256", "after_sha256"}`), then entry `N`'s `before` and `after`
//! are set to NULL and its `redacted_by` to the new entry. The table's
//! update trigger allows exactly that change and no other (see migration 4),
//! so raw SQL cannot alter another field through it, and verification
//! checks that every redaction is recorded by the entry it names.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::{append_entry, entry, AuditEntry, Record, FORMAT, REDACT_ACTION};
use crate::error::{Entity, Error, Result};
use crate::store::WriteTxn;

/// The longest redaction reason accepted, in bytes.
pub const MAX_REASON: usize = 1024;

const ERASE: &str =
    "UPDATE audit_log SET before = NULL, after = NULL, redacted_by = ?2 WHERE seq = ?1";
const ABOUT: &str = "SELECT seq FROM audit_log WHERE entity = ?1 ORDER BY seq";

impl WriteTxn<'_> {
    /// Redacts audit entry `seq`: erases its `before` and `after` payloads,
    /// keeping their SHA-256 digests, so that the chain and every
    /// checkpoint still verify, and appends an `audit.redact` entry naming
    /// it, the reason and the digests. Returns the `audit.redact` entry's
    /// `seq`.
    ///
    /// Only an intact entry is redacted (an altered entry is not laundered
    /// by erasing the evidence). The writer connection runs with
    /// `secure_delete`, so the erased bytes are zeroed in the file; call
    /// [`Store::scrub`](crate::Store::scrub) after committing to drop the
    /// older page versions from the write-ahead log too.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such entry; [`Error::Invalid`]
    /// naming the entry when it was written before schema version 4 (hash
    /// format 1, whose hash covers the payloads themselves), is already
    /// redacted, is itself an `audit.redact` entry, holds no payload, or
    /// does not match its hash; or when the reason is empty or longer than
    /// 1024 bytes; [`Error::Sqlite`] on a storage failure.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("audit.db"))?;
    /// let ids = SqliteIdentityProvider::open(&store)?;
    /// ids.insert_peer(PeerEntry::new("laptop").fingerprint(format!("ed25519:{}", "ab".repeat(32))))?;
    ///
    /// let by = store.write(|tx| tx.redact_audit_entry(1, "erasure request 42", Some("dpo")))?;
    /// let read = store.begin_read()?;
    /// let entry = read.audit_entry(1)?.expect("kept");
    /// assert_eq!((entry.after, entry.redacted_by), (None, Some(by)));
    /// assert_eq!(read.audit_entry(by)?.expect("recorded").action, "audit.redact");
    /// assert_eq!(read.verify_audit_chain()?, None, "still verifies");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_audit_entry(
        &mut self,
        seq: u64,
        reason: &str,
        actor: Option<&str>,
    ) -> Result<u64> {
        check_reason(seq, reason)?;
        let Some(target) = entry(self.conn(), seq)? else {
            return Err(Error::NotFound {
                entity: Entity::AuditEntry(seq),
            });
        };
        if let Some(problem) = unredactable(self.conn(), &target)? {
            return Err(Error::invalid(Entity::AuditEntry(seq), problem));
        }
        redact(self.conn(), &target, reason, actor)
    }

    /// Redacts every entry about `entity` (named as the log names it, e.g.
    /// `peer "build-01"`, which is `Entity::Peer("build-01".into())`
    /// displayed) that still holds a payload, as
    /// [`redact_audit_entry`](WriteTxn::redact_audit_entry) does; returns
    /// the redacted entries' `seq`s (none when nothing is left to redact).
    /// All or nothing: an entry that cannot be redacted fails the call.
    ///
    /// # Errors
    ///
    /// As [`redact_audit_entry`](WriteTxn::redact_audit_entry), for the
    /// first entry about `entity` that cannot be redacted (one written
    /// before schema version 4, or one that does not match its hash).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::{Entity, Store};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("audit.db"))?;
    /// let ids = SqliteIdentityProvider::open(&store)?;
    /// ids.insert_peer(PeerEntry::new("laptop").scopes(["ci"]))?;
    /// ids.replace_peer(PeerEntry::new("laptop").scopes(["ci", "deploy"]))?;
    ///
    /// let about = Entity::Peer("laptop".into()).to_string();
    /// let redacted = store.write(|tx| tx.redact_audit_entity(&about, "erasure request", None))?;
    /// assert_eq!(redacted, [1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_audit_entity(
        &mut self,
        entity: &str,
        reason: &str,
        actor: Option<&str>,
    ) -> Result<Vec<u64>> {
        let seqs: Vec<u64> = {
            let mut stmt = self.conn().prepare_cached(ABOUT)?;
            let rows = stmt.query_map([entity], |row| row.get::<_, i64>(0))?;
            rows.map(|seq| seq.map(|seq| seq as u64))
                .collect::<rusqlite::Result<_>>()?
        };
        let mut redacted = Vec::new();
        for seq in seqs {
            let Some(target) = entry(self.conn(), seq)? else {
                continue;
            };
            let nothing_left = target.is_redacted()
                || target.action == REDACT_ACTION
                || (target.before.is_none() && target.after.is_none());
            if nothing_left {
                continue;
            }
            check_reason(seq, reason)?;
            if let Some(problem) = unredactable(self.conn(), &target)? {
                return Err(Error::invalid(Entity::AuditEntry(seq), problem));
            }
            redact(self.conn(), &target, reason, actor)?;
            redacted.push(seq);
        }
        Ok(redacted)
    }
}

fn check_reason(seq: u64, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            Entity::AuditEntry(seq),
            "a redaction needs a reason",
        ));
    }
    if reason.len() > MAX_REASON {
        return Err(Error::invalid(
            Entity::AuditEntry(seq),
            format!(
                "the redaction reason is {} bytes, over the limit of {MAX_REASON}",
                reason.len()
            ),
        ));
    }
    Ok(())
}

/// Why `target` cannot be redacted, or `None`.
fn unredactable(conn: &Connection, target: &AuditEntry) -> Result<Option<String>> {
    if let Some(by) = target.redacted_by {
        return Ok(Some(format!("is already redacted (by audit entry {by})")));
    }
    if target.format != FORMAT {
        return Ok(Some(format!(
            "was written before schema version 4 (hash format {}), whose hash covers the payloads themselves; it cannot be redacted",
            target.format
        )));
    }
    if target.action == REDACT_ACTION {
        return Ok(Some(
            "records a redaction; it cannot itself be redacted".into(),
        ));
    }
    if target.before.is_none() && target.after.is_none() {
        return Ok(Some("holds no payload to redact".into()));
    }
    // The entry must be intact on its own: its link is checked by the
    // walk, its contents here.
    let prev_hash = target.prev_hash.clone();
    if let Some(problem) = super::check_entry(conn, target, &prev_hash, FORMAT)? {
        return Ok(Some(format!("{problem}; refusing to redact it")));
    }
    Ok(None)
}

fn redact(
    conn: &Connection,
    target: &AuditEntry,
    reason: &str,
    actor: Option<&str>,
) -> Result<u64> {
    let by = append_entry(
        conn,
        Record {
            at: crate::time::now_ms(),
            actor,
            action: REDACT_ACTION,
            entity: Entity::AuditEntry(target.seq).to_string(),
            before: None,
            after: Some(json!({
                "seq": target.seq,
                "reason": reason,
                "before_sha256": target.before_sha256,
                "after_sha256": target.after_sha256,
            })),
        },
    )?;
    let changed = conn
        .prepare_cached(ERASE)?
        .execute([target.seq as i64, by as i64])?;
    if changed != 1 {
        return Err(Error::NotFound {
            entity: Entity::AuditEntry(target.seq),
        });
    }
    Ok(by)
}

/// What an `audit.redact` entry's payload says.
struct Recorded {
    seq: u64,
    before_sha256: Option<String>,
    after_sha256: Option<String>,
}

fn recorded(entry: &AuditEntry) -> Option<Recorded> {
    let value: Value = serde_json::from_str(entry.after.as_deref()?).ok()?;
    let digest = |name: &str| -> Option<Option<String>> {
        match value.get(name)? {
            Value::Null => Some(None),
            Value::String(text) => Some(Some(text.clone())),
            _ => None,
        }
    };
    Some(Recorded {
        seq: value.get("seq")?.as_u64()?,
        before_sha256: digest("before_sha256")?,
        after_sha256: digest("after_sha256")?,
    })
}

/// Whether the redacted `entry` is recorded by entry `by`: an
/// `audit.redact` entry after it, about it, with its digests.
pub(super) fn check_redacted(
    conn: &Connection,
    entry: &AuditEntry,
    by: u64,
) -> Result<Option<String>> {
    if entry.before.is_some() || entry.after.is_some() {
        return Ok(Some(
            "is marked redacted but still holds a payload (the entry was altered)".into(),
        ));
    }
    let record = if by > entry.seq {
        super::entry(conn, by)?
    } else {
        None
    };
    let matches = record.as_ref().is_some_and(|record| {
        record.action == REDACT_ACTION
            && record.entity == Entity::AuditEntry(entry.seq).to_string()
            && recorded(record).is_some_and(|r| {
                r.seq == entry.seq
                    && r.before_sha256 == entry.before_sha256
                    && r.after_sha256 == entry.after_sha256
            })
    });
    Ok((!matches).then(|| {
        format!("is marked redacted by audit entry {by}, which does not record that redaction")
    }))
}

/// Whether the `audit.redact` entry `record` names an earlier entry that
/// it redacted.
pub(super) fn check_redaction_record(
    conn: &Connection,
    record: &AuditEntry,
) -> Result<Option<String>> {
    let Some(said) = recorded(record) else {
        return Ok(Some(
            "records a redaction it does not describe (the entry was altered)".into(),
        ));
    };
    let target = if said.seq < record.seq {
        entry(conn, said.seq)?
    } else {
        None
    };
    Ok(match target {
        Some(target) if target.redacted_by == Some(record.seq) => None,
        _ => Some(format!(
            "records the redaction of audit entry {}, which it did not redact (the payloads are back, or the entry was replaced)",
            said.seq
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::payload_digest;

    #[test]
    fn a_recorded_redaction_reads_back() {
        let entry = AuditEntry {
            seq: 9,
            at: 0,
            actor: None,
            action: REDACT_ACTION.into(),
            entity: "audit entry 3".into(),
            before: None,
            after: Some(
                json!({"seq": 3, "reason": "r", "before_sha256": null, "after_sha256": payload_digest("{}")})
                    .to_string(),
            ),
            prev_hash: String::new(),
            hash: String::new(),
            format: 2,
            before_sha256: None,
            after_sha256: None,
            redacted_by: None,
        };
        let said = recorded(&entry).expect("decodes");
        assert_eq!((said.seq, said.before_sha256), (3, None));
        assert_eq!(
            said.after_sha256.as_deref(),
            Some(payload_digest("{}").as_str())
        );
    }
}
