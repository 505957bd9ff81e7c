//! Verifying the audit log against its signed checkpoints and anchors.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::VerifyingKey;
use rusqlite::{Connection, OptionalExtension};

use super::checkpoint::{entries_root, page, Checkpoint, HASHES};
use super::{unhex, walk, AuditBreak, Start, Walked, GENESIS};
use crate::error::Result;
use crate::store::Reader;

/// Checkpoints read per query.
const CHECKPOINT_PAGE: i64 = 256;

/// What a problem found by [`Reader::verify_audit`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditProblemKind {
    /// An audit entry that is altered, missing, or no longer matches a
    /// checkpoint.
    Entry,
    /// A stored checkpoint that is altered, missing, out of order, not
    /// linked to the one before it, or not signed by the trusted key.
    Checkpoint,
    /// A checkpoint kept elsewhere that the store no longer holds, or
    /// holds differently.
    Anchor,
}

/// One problem found by [`Reader::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// What it is about.
    pub kind: AuditProblemKind,
    /// The entry's or checkpoint's number.
    pub seq: u64,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            AuditProblemKind::Entry => "audit entry",
            AuditProblemKind::Checkpoint => "checkpoint",
            AuditProblemKind::Anchor => "anchored checkpoint",
        };
        write!(f, "{what} {}: {}", self.seq, self.reason)
    }
}

/// What [`Reader::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditReport {
    entries: u64,
    redacted: Vec<u64>,
    checkpoints: u64,
    anchors: usize,
    covered_through: u64,
    signatures_checked: bool,
    problems: Vec<AuditProblem>,
}

impl AuditReport {
    /// Whether nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem: checkpoint problems first, then anchors, then the
    /// first entry that does not verify (the walk stops there).
    pub fn problems(&self) -> &[AuditProblem] {
        &self.problems
    }

    /// The first problem, if any.
    pub fn first_problem(&self) -> Option<&AuditProblem> {
        self.problems.first()
    }

    /// How many entries verified.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The redacted entries among them (intact: their digests still
    /// verify).
    pub fn redacted(&self) -> &[u64] {
        &self.redacted
    }

    /// How many stored checkpoints verified.
    pub fn checkpoints(&self) -> u64 {
        self.checkpoints
    }

    /// How many anchors matched the store.
    pub fn anchors(&self) -> usize {
        self.anchors
    }

    /// The last entry covered by a checkpoint that verified (0 for none):
    /// entries after it are protected by the keyless chain only.
    pub fn covered_through(&self) -> u64 {
        self.covered_through
    }

    /// Whether checkpoint signatures were checked against a trusted key.
    pub fn signatures_checked(&self) -> bool {
        self.signatures_checked
    }
}

impl Reader {
    /// Verifies the audit log against `key`: the hash chain (as
    /// [`verify_audit_chain`](Reader::verify_audit_chain)), and every stored
    /// checkpoint: numbered from 1 without gaps, each linked to the
    /// previous one's hash, each signed by `key`, each one's entry hashes
    /// those it signed, and each covered entry's hash, recomputed from the
    /// entry, equal to the one its checkpoint signed. A rewrite of any
    /// covered entry is caught even when every hash in the chain was
    /// recomputed, and the report names the first entry that no longer
    /// matches. Every anchor (a checkpoint kept elsewhere) must be signed
    /// by `key` and equal the stored checkpoint of its number, and its head
    /// must match the chain: this catches a forger who also deleted or
    /// rewrote the checkpoint rows.
    ///
    /// Redacted entries verify (their digests are kept) and are listed in
    /// [`AuditReport::redacted`]. Entries after the last checkpoint are
    /// protected by the keyless chain only
    /// ([`AuditReport::covered_through`]).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::Error::Sqlite) on a storage failure; damage
    /// is reported in the [`AuditReport`], never as an error.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::audit;
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("audit.db"))?;
    /// SqliteIdentityProvider::open(&store)?.insert_peer(PeerEntry::new("build-01"))?;
    /// let key = audit::generate_signing_key()?;
    /// store.create_checkpoint(&key)?;
    ///
    /// let report = store.begin_read()?.verify_audit(&key.verifying_key(), &[])?;
    /// assert!(report.is_intact());
    /// let stranger = audit::generate_signing_key()?.verifying_key();
    /// let report = store.begin_read()?.verify_audit(&stranger, &[])?;
    /// assert!(report.first_problem().unwrap().to_string().starts_with("checkpoint 1: is signed by key"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_audit(&self, key: &VerifyingKey, anchors: &[Checkpoint]) -> Result<AuditReport> {
        check(self.conn(), Some(key), anchors)
    }

    /// Everything [`verify_audit`](Reader::verify_audit) checks but the
    /// signatures: the chain, and that the stored checkpoints are numbered,
    /// linked and agree with the chain. Without a trusted key this cannot
    /// tell a genuine checkpoint from one a forger made, so it does not
    /// protect against someone who can rewrite the file; it does catch a
    /// forger who rewrote the chain but not the checkpoints.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::Error::Sqlite) on a storage failure.
    pub fn verify_audit_unsigned(&self) -> Result<AuditReport> {
        check(self.conn(), None, &[])
    }
}

/// A checkpoint that verified, with the entry hashes it covers (none for an
/// anchor whose stored copy is missing).
struct Covered {
    seq: u64,
    kind: AuditProblemKind,
    from: u64,
    to: u64,
    audit_hash: String,
    hashes: Option<Vec<u8>>,
}

impl Covered {
    /// What it is, as a problem names it.
    fn what(&self) -> &'static str {
        match self.kind {
            AuditProblemKind::Anchor => "anchored checkpoint",
            _ => "checkpoint",
        }
    }
}

impl AuditReport {
    fn push_problem(&mut self, kind: AuditProblemKind, seq: u64, reason: String) {
        self.problems.push(AuditProblem { kind, seq, reason });
    }
}

pub(crate) fn check(
    conn: &Connection,
    key: Option<&VerifyingKey>,
    anchors: &[Checkpoint],
) -> Result<AuditReport> {
    let mut report = AuditReport {
        entries: 0,
        redacted: Vec::new(),
        checkpoints: 0,
        anchors: 0,
        covered_through: 0,
        signatures_checked: key.is_some(),
        problems: Vec::new(),
    };
    let (stored, mut covered) = stored_checkpoints(conn, key, &mut report)?;
    report.checkpoints = covered.len() as u64;
    check_anchors(anchors, key, &stored, &mut covered, &mut report);
    let walked = walk_covered(conn, &covered)?;
    report.entries = walked.entries;
    report.redacted = walked.redacted;
    let broken = walked
        .broken
        .or_else(|| beyond_the_log(&covered, walked.last));
    match broken {
        Some(broken) => {
            report.covered_through = covered
                .iter()
                .map(|c| c.to)
                .filter(|&to| to < broken.seq)
                .max()
                .unwrap_or(0);
            report.push_problem(AuditProblemKind::Entry, broken.seq, broken.reason);
        }
        None => report.covered_through = covered.iter().map(|c| c.to).max().unwrap_or(0),
    }
    Ok(report)
}

/// Checks each anchor against `key` and the `stored` checkpoint of its
/// number; an anchor the store no longer holds still covers the chain up
/// to its head.
fn check_anchors(
    anchors: &[Checkpoint],
    key: Option<&VerifyingKey>,
    stored: &BTreeMap<u64, Checkpoint>,
    covered: &mut Vec<Covered>,
    report: &mut AuditReport,
) {
    let kind = AuditProblemKind::Anchor;
    for anchor in anchors {
        if let Some(reason) = anchor.problem(key) {
            report.push_problem(kind, anchor.seq, reason);
            continue;
        }
        match stored.get(&anchor.seq) {
            Some(kept) if kept == anchor => report.anchors += 1,
            Some(_) => report.push_problem(
                kind,
                anchor.seq,
                "does not match the store's checkpoint of that number (the checkpoint was replaced)"
                    .into(),
            ),
            None => {
                let last = stored.keys().next_back().copied().unwrap_or(0);
                report.push_problem(
                    kind,
                    anchor.seq,
                    format!(
                        "is missing from the store (its checkpoints end at {last}; they were removed)"
                    ),
                );
                covered.push(Covered {
                    seq: anchor.seq,
                    kind,
                    from: 0,
                    to: anchor.audit_seq,
                    audit_hash: anchor.audit_hash.clone(),
                    hashes: None,
                });
            }
        }
    }
}

/// Walks the chain, checking each covered entry's hash against the one its
/// checkpoint signed, and each checkpoint's head against its entry.
fn walk_covered(conn: &Connection, covered: &[Covered]) -> Result<Walked> {
    // The ranges with hashes are consecutive; walk them alongside the chain.
    let ranges: Vec<&Covered> = covered.iter().filter(|c| c.hashes.is_some()).collect();
    let mut heads: BTreeMap<u64, Vec<&Covered>> = BTreeMap::new();
    for c in covered {
        heads.entry(c.to).or_default().push(c);
    }
    let mut range = 0usize;
    walk(conn, Start::genesis(), |entry| {
        while range < ranges.len() && ranges[range].to < entry.seq {
            range += 1;
        }
        if let Some(r) = ranges.get(range).filter(|r| r.from <= entry.seq) {
            let at = ((entry.seq - r.from) * 32) as usize;
            let signed = r.hashes.as_ref().and_then(|h| h.get(at..at + 32));
            if signed != unhex(&entry.hash, 32).as_deref() {
                return Some(AuditBreak {
                    seq: entry.seq,
                    reason: format!(
                        "does not match checkpoint {}, which covers entries {} to {} (the entry was altered or removed, or one was inserted before it)",
                        r.seq, r.from, r.to
                    ),
                });
            }
        }
        let head = heads
            .get(&entry.seq)
            .into_iter()
            .flatten()
            .find(|head| head.audit_hash != entry.hash)?;
        Some(AuditBreak {
            seq: entry.seq,
            reason: format!(
                "does not match the head signed by {} {} (an entry up to this one was altered, removed or inserted)",
                head.what(),
                head.seq
            ),
        })
    })
}

/// The break when a checkpoint covers entries past `last`, the end of the
/// log: the one reaching furthest.
fn beyond_the_log(covered: &[Covered], last: u64) -> Option<AuditBreak> {
    let beyond = covered
        .iter()
        .filter(|c| c.to > last)
        .max_by_key(|c| c.to)?;
    Some(AuditBreak {
        seq: last + 1,
        reason: format!(
            "missing: {} {} covers entries up to {}, but the log ends at {last}",
            beyond.what(),
            beyond.seq,
            beyond.to
        ),
    })
}

/// Every stored checkpoint by number, and those that verified, in order up
/// to the first that does not (its problem is added to the report).
fn stored_checkpoints(
    conn: &Connection,
    key: Option<&VerifyingKey>,
    report: &mut AuditReport,
) -> Result<(BTreeMap<u64, Checkpoint>, Vec<Covered>)> {
    let all = read_checkpoints(conn, report);
    let mut covered = Vec::new();
    let mut next = NextCheckpoint {
        seq: 1,
        prev_hash: GENESIS.to_owned(),
        prev_audit_seq: 0,
    };
    for checkpoint in all.values() {
        match next.verify(conn, key, checkpoint)? {
            Ok(verified) => covered.push(verified),
            Err(problem) => {
                report.problems.push(problem);
                break;
            }
        }
        next = NextCheckpoint {
            seq: next.seq + 1,
            prev_hash: checkpoint.hash.clone(),
            prev_audit_seq: checkpoint.audit_seq,
        };
    }
    Ok((all, covered))
}

/// Every stored checkpoint by number, a page at a time; a page that cannot
/// be read ends the reading, its problem added to the report.
fn read_checkpoints(conn: &Connection, report: &mut AuditReport) -> BTreeMap<u64, Checkpoint> {
    let mut all = BTreeMap::new();
    let mut after = 0u64;
    loop {
        let batch = match page(conn, after, CHECKPOINT_PAGE) {
            Ok(batch) => batch,
            Err(e) => {
                report.push_problem(
                    AuditProblemKind::Checkpoint,
                    after + 1,
                    format!("unreadable: {e}"),
                );
                break;
            }
        };
        let done = (batch.len() as i64) < CHECKPOINT_PAGE;
        for checkpoint in batch {
            after = checkpoint.seq;
            all.insert(checkpoint.seq, checkpoint);
        }
        if done {
            break;
        }
    }
    all
}

/// What the next stored checkpoint must be: its number, the hash it links
/// to, and where the entries it covers start after.
struct NextCheckpoint {
    seq: u64,
    prev_hash: String,
    prev_audit_seq: u64,
}

impl NextCheckpoint {
    /// What `checkpoint` covers when it verifies as the next one, else its
    /// problem.
    fn verify(
        &self,
        conn: &Connection,
        key: Option<&VerifyingKey>,
        checkpoint: &Checkpoint,
    ) -> Result<std::result::Result<Covered, AuditProblem>> {
        let kind = AuditProblemKind::Checkpoint;
        let (expected, prev_audit_seq) = (self.seq, self.prev_audit_seq);
        let fail = |reason: String| -> std::result::Result<Covered, AuditProblem> {
            Err(AuditProblem {
                kind,
                seq: checkpoint.seq.min(expected),
                reason,
            })
        };
        if checkpoint.seq != expected {
            return Ok(fail(format!(
                "missing (the next checkpoint is {})",
                checkpoint.seq
            )));
        }
        if checkpoint.prev_hash != self.prev_hash {
            return Ok(fail(format!(
                "does not link to checkpoint {} (its prev_hash is not that checkpoint's hash)",
                expected - 1
            )));
        }
        if checkpoint.audit_seq < prev_audit_seq {
            return Ok(fail(format!(
                "covers entries up to {}, before checkpoint {}'s {prev_audit_seq}",
                checkpoint.audit_seq,
                expected - 1
            )));
        }
        if let Some(reason) = checkpoint.problem(key) {
            return Ok(fail(reason));
        }
        Ok(match entry_hashes(conn, checkpoint.seq)? {
            Some(hashes)
                if hashes.len() as u64 == (checkpoint.audit_seq - prev_audit_seq) * 32
                    && entries_root(prev_audit_seq, &hashes) == checkpoint.entries_root =>
            {
                Ok(Covered {
                    seq: checkpoint.seq,
                    kind,
                    from: prev_audit_seq + 1,
                    to: checkpoint.audit_seq,
                    audit_hash: checkpoint.audit_hash.clone(),
                    hashes: Some(hashes),
                })
            }
            _ => fail(
                "its stored entry hashes do not match its signed root (the checkpoint was altered)"
                    .into(),
            ),
        })
    }
}

fn entry_hashes(conn: &Connection, seq: u64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached(HASHES)?
        .query_row([seq as i64], |row| row.get::<_, Vec<u8>>(0))
        .optional()
        .unwrap_or(None))
}
