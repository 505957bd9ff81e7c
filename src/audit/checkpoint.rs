//! Signed checkpoints of the audit log: creating them, the keys, and the
//! document kept elsewhere as an anchor.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{hex, is_digest, unhex, walk, Start, GENESIS};
use crate::error::{Entity, Error, Result};
use crate::store::{CommitHook, Store, WriteTxn};

/// What the signature covers is led by this, so that a signature over a
/// checkpoint means nothing as a signature over anything else.
const DOMAIN: &[u8] = b"alknet-graphs audit checkpoint v1\n";

const LAST: &str = "SELECT seq, audit_seq, audit_hash, entries_root, revision, at, prev_hash,
     public_key, signature, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";
pub(super) const PAGE: &str =
    "SELECT seq, audit_seq, audit_hash, entries_root, revision, at, prev_hash,
     public_key, signature, hash FROM audit_checkpoints WHERE seq > ?1 ORDER BY seq LIMIT ?2";
pub(super) const HASHES: &str = "SELECT entry_hashes FROM audit_checkpoints WHERE seq = ?1";
const INSERT: &str = "INSERT INTO audit_checkpoints
     (seq, audit_seq, audit_hash, entries_root, revision, at, prev_hash, public_key, signature, hash, entry_hashes)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
const LAST_ENTRY: &str = "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1";
const ENTRY_HASH: &str = "SELECT hash FROM audit_log WHERE seq = ?1";
const ENTRY_AT: &str = "SELECT at FROM audit_log WHERE seq = ?1";

/// A signed statement about the audit log: "entry `audit_seq` hashes to
/// `audit_hash`, the store is at `revision`, at time `at`", linked to the
/// checkpoint before it.
///
/// Checkpoints are numbered from 1 without gaps (`seq`); each one's
/// `prev_hash` is the previous one's `hash` (64 zeros for the first), so a
/// missing, reordered or swapped checkpoint breaks the link.
/// `entries_root` covers the hash of every entry after the previous
/// checkpoint's `audit_seq` up to this one's, which lets verification name
/// the first altered entry rather than only the range.
///
/// The JSON form ([`to_json`](Checkpoint::to_json),
/// [`from_json`](Checkpoint::from_json)) is what is kept elsewhere as an
/// anchor. Hashes and keys are lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The checkpoint's number, from 1, without gaps.
    pub seq: u64,
    /// The last audit entry it covers (0 when the log was empty).
    pub audit_seq: u64,
    /// The hash of entry `audit_seq` (64 zeros when the log was empty).
    pub audit_hash: String,
    /// SHA-256 over the previous checkpoint's `audit_seq` and the hashes of
    /// the entries after it, up to `audit_seq`.
    pub entries_root: String,
    /// The store's revision when it was made.
    pub revision: u64,
    /// When it was made, unix milliseconds.
    pub at: i64,
    /// The previous checkpoint's `hash` (64 zeros for the first).
    pub prev_hash: String,
    /// The Ed25519 public key that signed it.
    pub public_key: String,
    /// The Ed25519 signature over the fields above.
    pub signature: String,
    /// SHA-256 of the signed fields: what the next checkpoint links to.
    pub hash: String,
}

impl Checkpoint {
    /// The checkpoint as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain integers and strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes a checkpoint from its JSON form, checking its shape (every
    /// field present and no other, hashes and keys lowercase hex of the
    /// right length). The signature is not checked: see
    /// [`verify`](Checkpoint::verify).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCheckpoint`] naming what is wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::audit::Checkpoint;
    /// let err = Checkpoint::from_json(r#"{"seq": 1}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid checkpoint: missing field `audit_seq` at line 1 column 10");
    /// ```
    pub fn from_json(text: &str) -> Result<Checkpoint> {
        let checkpoint: Checkpoint =
            serde_json::from_str(text).map_err(|e| Error::InvalidCheckpoint {
                reason: e.to_string(),
            })?;
        checkpoint.check_shape()?;
        Ok(checkpoint)
    }

    /// Decodes a checkpoint from a JSON value; see
    /// [`from_json`](Checkpoint::from_json).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCheckpoint`] naming what is wrong.
    pub fn from_value(value: serde_json::Value) -> Result<Checkpoint> {
        let checkpoint: Checkpoint =
            serde_json::from_value(value).map_err(|e| Error::InvalidCheckpoint {
                reason: e.to_string(),
            })?;
        checkpoint.check_shape()?;
        Ok(checkpoint)
    }

    fn check_shape(&self) -> Result<()> {
        for (name, value, len) in [
            ("audit_hash", &self.audit_hash, 32),
            ("entries_root", &self.entries_root, 32),
            ("prev_hash", &self.prev_hash, 32),
            ("public_key", &self.public_key, 32),
            ("signature", &self.signature, 64),
            ("hash", &self.hash, 32),
        ] {
            if unhex(value, len).is_none() {
                return Err(Error::InvalidCheckpoint {
                    reason: format!(
                        "checkpoint {}: {name} is not {} lowercase hex digits",
                        self.seq,
                        len * 2
                    ),
                });
            }
        }
        if self.seq == 0 {
            return Err(Error::InvalidCheckpoint {
                reason: "checkpoint numbers start at 1".into(),
            });
        }
        Ok(())
    }

    /// The bytes the signature covers.
    fn message(&self) -> Vec<u8> {
        fn part(out: &mut Vec<u8>, text: &str) {
            out.extend_from_slice(&(text.len() as u64).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let mut out = DOMAIN.to_vec();
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.audit_seq.to_le_bytes());
        part(&mut out, &self.audit_hash);
        part(&mut out, &self.entries_root);
        out.extend_from_slice(&self.revision.to_le_bytes());
        out.extend_from_slice(&self.at.to_le_bytes());
        part(&mut out, &self.prev_hash);
        part(&mut out, &self.public_key);
        out
    }

    /// The hash of the signed fields, as [`hash`](Checkpoint::hash) should
    /// hold it.
    pub fn computed_hash(&self) -> String {
        hex(&Sha256::digest(self.message()))
    }

    /// What is wrong with this checkpoint on its own against `key`, or
    /// `None`.
    pub(super) fn problem(&self, key: Option<&VerifyingKey>) -> Option<String> {
        if self.computed_hash() != self.hash {
            return Some("does not match its hash (the checkpoint was altered)".into());
        }
        let key = key?;
        if self.public_key != verifying_key_hex(key) {
            return Some(format!(
                "is signed by key {}, not the trusted key {}",
                self.public_key,
                verifying_key_hex(key)
            ));
        }
        let signature = unhex(&self.signature, 64)
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
            .map(|bytes| Signature::from_bytes(&bytes));
        match signature {
            Some(signature) if key.verify_strict(&self.message(), &signature).is_ok() => None,
            _ => Some("its signature does not verify with the trusted key".into()),
        }
    }

    /// Checks the checkpoint's hash and its signature by `key`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCheckpoint`] when its hash does not match its fields,
    /// it was signed by another key, or its signature does not verify.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        match self.problem(Some(key)) {
            None => Ok(()),
            Some(problem) => Err(Error::InvalidCheckpoint {
                reason: format!("checkpoint {}: {problem}", self.seq),
            }),
        }
    }
}

/// A new signing key from the operating system's random source.
///
/// Keep it off the machine that holds the store (or at least out of the
/// store's reach): whoever has it can sign a rewritten log.
///
/// # Errors
///
/// [`Error::KeyGeneration`] when the random source fails.
///
/// # Example
///
/// ```
/// use alknet_graphs::audit;
/// let key = audit::generate_signing_key()?;
/// let again = audit::signing_key_from_hex(&audit::signing_key_hex(&key))?;
/// assert_eq!(again.verifying_key(), key.verifying_key());
/// assert_eq!(audit::verifying_key_hex(&key.verifying_key()).len(), 64);
/// # Ok::<(), alknet_graphs::Error>(())
/// ```
pub fn generate_signing_key() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::KeyGeneration {
        reason: e.to_string(),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The signing key's secret, as 64 lowercase hex digits.
pub fn signing_key_hex(key: &SigningKey) -> String {
    hex(&key.to_bytes())
}

/// A signing key from its secret as 64 hex digits (surrounding whitespace
/// is ignored, either case accepted).
///
/// # Errors
///
/// [`Error::InvalidKey`] when it is not 64 hex digits.
pub fn signing_key_from_hex(text: &str) -> Result<SigningKey> {
    let bytes = key_bytes(text, "signing key")?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The public key as 64 lowercase hex digits.
pub fn verifying_key_hex(key: &VerifyingKey) -> String {
    hex(key.as_bytes())
}

/// A public key from 64 hex digits (surrounding whitespace is ignored,
/// either case accepted).
///
/// # Errors
///
/// [`Error::InvalidKey`] when it is not 64 hex digits or not a valid
/// Ed25519 public key.
pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey> {
    let bytes = key_bytes(text, "public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| Error::InvalidKey {
        reason: "the public key is not a valid Ed25519 point".into(),
    })
}

fn key_bytes(text: &str, what: &str) -> Result<[u8; 32]> {
    let text = text.trim().to_ascii_lowercase();
    unhex(&text, 32)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| Error::InvalidKey {
            reason: format!("a {what} is 64 hex digits"),
        })
}

fn checkpoint_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        seq: row.get::<_, i64>(0)? as u64,
        audit_seq: row.get::<_, i64>(1)? as u64,
        audit_hash: row.get(2)?,
        entries_root: row.get(3)?,
        revision: row.get::<_, i64>(4)? as u64,
        at: row.get(5)?,
        prev_hash: row.get(6)?,
        public_key: row.get(7)?,
        signature: row.get(8)?,
        hash: row.get(9)?,
    })
}

/// Up to `limit` stored checkpoints after `after`, in order.
pub(super) fn page(conn: &Connection, after: u64, limit: i64) -> rusqlite::Result<Vec<Checkpoint>> {
    let mut stmt = conn.prepare_cached(PAGE)?;
    let rows = stmt.query_map(rusqlite::params![after as i64, limit], checkpoint_from)?;
    rows.collect()
}

/// The root over the hashes of the entries after `after_seq`.
pub(super) fn entries_root(after_seq: u64, hashes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(after_seq.to_le_bytes());
    hasher.update(hashes);
    hex(&hasher.finalize())
}

fn last(conn: &Connection) -> Result<Option<Checkpoint>> {
    conn.prepare_cached(LAST)?
        .query_row([], checkpoint_from)
        .optional()
        .map_err(|e| refused(None, format!("the last checkpoint is unreadable: {e}")))
}

fn refused(seq: Option<u64>, reason: String) -> Error {
    Error::invalid(
        Entity::Checkpoint(seq.unwrap_or(1)),
        format!("refusing to sign: {reason}"),
    )
}

/// Signs a checkpoint of the log as `conn` sees it, inside the caller's
/// write transaction, after checking the entries since the last checkpoint
/// (and that checkpoint's signature by this key).
pub(crate) fn create(conn: &Connection, key: &SigningKey, now: i64) -> Result<Checkpoint> {
    let public = verifying_key_hex(&key.verifying_key());
    let previous = last(conn)?;
    let seq = previous.as_ref().map_or(1, |p| p.seq + 1);
    let start = match &previous {
        Some(previous) => start_after(conn, previous, key, seq)?,
        None => Start::genesis(),
    };
    let after_seq = start.after;
    let uncovered = uncovered(conn, start, seq)?;
    let mut checkpoint = Checkpoint {
        seq,
        audit_seq: uncovered.last,
        audit_hash: uncovered.head_hash,
        entries_root: entries_root(after_seq, &uncovered.hashes),
        revision: crate::outbox::revision(conn)?,
        at: now,
        prev_hash: previous.map_or_else(|| GENESIS.to_owned(), |p| p.hash),
        public_key: public,
        signature: String::new(),
        hash: String::new(),
    };
    let message = checkpoint.message();
    checkpoint.signature = hex(&key.sign(&message).to_bytes());
    checkpoint.hash = hex(&Sha256::digest(&message));
    debug_assert!(is_digest(&checkpoint.hash));
    insert(conn, &checkpoint, &uncovered.hashes)?;
    Ok(checkpoint)
}

/// Where checkpoint `seq` starts: after `previous`, once it is shown to be
/// signed by `key` and to still match its entry.
fn start_after(
    conn: &Connection,
    previous: &Checkpoint,
    key: &SigningKey,
    seq: u64,
) -> Result<Start> {
    let public = verifying_key_hex(&key.verifying_key());
    if previous.public_key != public {
        return Err(refused(
            Some(seq),
            format!(
                "checkpoint {} is signed by key {}, not by this key {public}",
                previous.seq, previous.public_key
            ),
        ));
    }
    if let Some(problem) = previous.problem(Some(&key.verifying_key())) {
        return Err(refused(
            Some(seq),
            format!("checkpoint {} {problem}", previous.seq),
        ));
    }
    let at_previous: Option<String> = conn
        .prepare_cached(ENTRY_HASH)?
        .query_row([previous.audit_seq as i64], |row| row.get(0))
        .optional()?;
    let expected = (previous.audit_seq == 0).then(|| GENESIS.to_owned());
    if at_previous.or(expected).as_deref() != Some(previous.audit_hash.as_str()) {
        return Err(refused(
            Some(seq),
            format!(
                "audit entry {} no longer matches checkpoint {} (it was altered or removed)",
                previous.audit_seq, previous.seq
            ),
        ));
    }
    Ok(Start {
        after: previous.audit_seq,
        prev_hash: previous.audit_hash.clone(),
    })
}

/// The entries a new checkpoint covers.
struct Uncovered {
    /// The last entry.
    last: u64,
    /// Its hash (the start's when there are none).
    head_hash: String,
    /// Their hashes, concatenated.
    hashes: Vec<u8>,
}

/// Walks the entries after `start`, refusing checkpoint `seq` when the
/// chain is broken.
fn uncovered(conn: &Connection, start: Start, seq: u64) -> Result<Uncovered> {
    let mut head_hash = start.prev_hash.clone();
    let mut hashes = Vec::new();
    let walked = walk(conn, start, |entry| {
        match unhex(&entry.hash, 32) {
            Some(bytes) => hashes.extend_from_slice(&bytes),
            None => {
                return Some(super::AuditBreak {
                    seq: entry.seq,
                    reason: "its hash is not a SHA-256".into(),
                })
            }
        }
        head_hash.clone_from(&entry.hash);
        None
    })?;
    if let Some(broken) = walked.broken {
        return Err(refused(Some(seq), broken.to_string()));
    }
    Ok(Uncovered {
        last: walked.last,
        head_hash,
        hashes,
    })
}

/// Stores `checkpoint` with the entry hashes it covers.
fn insert(conn: &Connection, checkpoint: &Checkpoint, hashes: &[u8]) -> Result<()> {
    conn.prepare_cached(INSERT)?.execute(rusqlite::params![
        checkpoint.seq as i64,
        checkpoint.audit_seq as i64,
        checkpoint.audit_hash,
        checkpoint.entries_root,
        checkpoint.revision as i64,
        checkpoint.at,
        checkpoint.prev_hash,
        checkpoint.public_key,
        checkpoint.signature,
        checkpoint.hash,
        hashes,
    ])?;
    Ok(())
}

/// When a store with a key makes checkpoints by itself.
#[derive(Clone)]
pub(crate) struct AutoCheckpoint {
    pub(crate) key: SigningKey,
    pub(crate) every: u64,
    pub(crate) interval: Duration,
}

impl std::fmt::Debug for AutoCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoCheckpoint")
            .field("public_key", &verifying_key_hex(&self.key.verifying_key()))
            .field("every", &self.every)
            .field("interval", &self.interval)
            .finish()
    }
}

impl AutoCheckpoint {
    /// Whether a checkpoint is due: `every` entries are not covered yet, or
    /// the oldest entry not covered was written `interval` ago.
    pub(crate) fn due(&self, conn: &Connection, now: i64) -> Result<bool> {
        let head: Option<i64> = conn
            .prepare_cached(LAST_ENTRY)?
            .query_row([], |row| row.get(0))
            .optional()?;
        let head = head.unwrap_or(0) as u64;
        let covered: Option<i64> = conn
            .prepare_cached("SELECT audit_seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")?
            .query_row([], |row| row.get(0))
            .optional()?;
        let covered = covered.unwrap_or(0) as u64;
        if head <= covered {
            return Ok(false);
        }
        if head - covered >= self.every {
            return Ok(true);
        }
        let oldest: Option<i64> = conn
            .prepare_cached(ENTRY_AT)?
            .query_row([covered as i64 + 1], |row| row.get(0))
            .optional()?;
        let waited = now.saturating_sub(oldest.unwrap_or(now));
        Ok(u128::try_from(waited).unwrap_or(0) >= self.interval.as_millis())
    }
}

/// A callback run after each checkpoint commits.
type Callback = Arc<dyn Fn(&Checkpoint) + Send + Sync>;

/// The commit hook of the audit log's checkpoints: it makes the automatic
/// ones, and keeps the callbacks run once a checkpoint commits.
pub(crate) struct Checkpoints {
    auto: Option<AutoCheckpoint>,
    callbacks: Arc<Mutex<Vec<Callback>>>,
}

impl Checkpoints {
    pub(crate) fn new(auto: Option<AutoCheckpoint>) -> Self {
        Checkpoints {
            auto,
            callbacks: Arc::default(),
        }
    }

    /// Has the callbacks registered when `tx` commits run for
    /// `checkpoint`, made in it.
    fn announce(&self, tx: &mut WriteTxn<'_>, checkpoint: Checkpoint) {
        let callbacks = Arc::clone(&self.callbacks);
        tx.on_commit(move || {
            let callbacks = callbacks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for callback in &callbacks {
                callback(&checkpoint);
            }
        });
    }
}

impl CommitHook for Checkpoints {
    /// Makes an automatic checkpoint in the committing transaction if one
    /// is due.
    fn before_commit(&self, tx: &mut WriteTxn<'_>) -> Result<()> {
        let Some(auto) = &self.auto else {
            return Ok(());
        };
        let now = crate::time::now_ms();
        if auto.due(tx.conn(), now)? {
            let checkpoint = create(tx.conn(), &auto.key, now)?;
            self.announce(tx, checkpoint);
        }
        Ok(())
    }
}

impl Store {
    /// Signs a checkpoint of the audit log with `key` and commits it;
    /// returns it (keep a copy elsewhere as an anchor, e.g.
    /// [`to_json`](Checkpoint::to_json)). Callbacks registered with
    /// [`on_checkpoint`](Store::on_checkpoint) run once it is committed.
    ///
    /// Before signing, the entries written since the last checkpoint are
    /// checked (and that checkpoint's signature by this key): a key never
    /// signs a chain that does not extend what it signed before. The first
    /// checkpoint checks the whole chain. A checkpoint changes no entity,
    /// so the store's revision does not move.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] on a read-only store; [`Error::Invalid`] naming
    /// the checkpoint when the last checkpoint was signed by another key or
    /// does not verify, or an entry since it does not verify (the message
    /// names the entry); [`Error::WriteInProgress`] and [`Error::Sqlite`] as
    /// [`Store::begin_write`].
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::audit::{self, Checkpoint};
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("audit.db"))?;
    /// SqliteIdentityProvider::open(&store)?.insert_peer(PeerEntry::new("build-01"))?;
    ///
    /// let key = audit::generate_signing_key()?; // keep it off this machine
    /// let checkpoint = store.create_checkpoint(&key)?;
    /// assert_eq!((checkpoint.seq, checkpoint.audit_seq), (1, 1));
    /// let anchor = Checkpoint::from_json(&checkpoint.to_json())?;
    ///
    /// let report = store.begin_read()?.verify_audit(&key.verifying_key(), &[anchor])?;
    /// assert!(report.is_intact(), "{:?}", report.problems());
    /// assert_eq!(report.covered_through(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_checkpoint(&self, key: &SigningKey) -> Result<Checkpoint> {
        let mut tx = self.begin_write()?;
        let checkpoint = create(tx.conn(), key, crate::time::now_ms())?;
        if let Some(hook) = self.hook::<Checkpoints>() {
            hook.announce(&mut tx, checkpoint.clone());
        }
        tx.commit()?;
        Ok(checkpoint)
    }

    /// Registers `callback` to run once for every checkpoint this store
    /// (or a clone of it) commits, by [`create_checkpoint`](Store::create_checkpoint)
    /// or automatically ([`StoreBuilder::checkpoint_key`](crate::StoreBuilder::checkpoint_key)):
    /// use it to anchor checkpoints elsewhere.
    ///
    /// It runs after the commit, on the committing thread, outside any
    /// write transaction (it may itself write to the store), in the order
    /// the callbacks were registered. Checkpoints made by other processes
    /// are not seen. A panic in a callback reaches the writer that made the
    /// checkpoint, which is committed by then.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use alknet_graphs::{audit, Store};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("audit.db"))?;
    /// let anchored = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&anchored);
    /// store.on_checkpoint(move |checkpoint| sink.lock().unwrap().push(checkpoint.to_json()));
    ///
    /// store.create_checkpoint(&audit::generate_signing_key()?)?;
    /// assert_eq!(anchored.lock().unwrap().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_checkpoint(&self, callback: impl Fn(&Checkpoint) + Send + Sync + 'static) {
        if let Some(hook) = self.hook::<Checkpoints>() {
            hook.callbacks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Arc::new(callback));
        }
    }
}

impl crate::Reader {
    /// Up to `limit` stored checkpoints after checkpoint `after_seq` (0 for
    /// the first), in order: what to copy elsewhere as anchors.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure, or a checkpoint row with a
    /// column of the wrong type.
    pub fn audit_checkpoints(&self, after_seq: u64, limit: usize) -> Result<Vec<Checkpoint>> {
        page(self.conn(), after_seq, limit.min(i64::MAX as usize) as i64).map_err(Error::from)
    }
}
