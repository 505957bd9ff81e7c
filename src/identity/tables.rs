//! SQL for the identity tables: `peers`, `peer_fingerprints`,
//! `peer_credentials_history`, `api_keys`, `credentials`. Every write
//! records its change event and its audit entry in the same transaction,
//! and a peer write the credentials it adds and removes.

use std::collections::HashMap;
use std::ops::Range;

use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::{
    ApiKey, CredentialKind, CredentialRecord, EncryptedData, NewApiKey, PeerEntry, StoreError,
};
use crate::audit::{self, Record};
use crate::outbox::{ChangeOp, EntityKind};
use crate::{Entity, Reader, WriteTxn};

type Result<T> = std::result::Result<T, StoreError>;

/// A stored API key with the hash its token resolves through.
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    pub(crate) key: ApiKey,
    pub(crate) hash: String,
}

const PEER_COLUMNS: &str = "peer_id, fingerprints, auth_token_hash, scopes, resources";
const KEY_COLUMNS: &str =
    "uid, name, owner_id, scopes, resources, enabled, expires_at, revoked_at, created_at, key_hash";

fn sql(e: rusqlite::Error) -> StoreError {
    match e {
        // A stored value that does not decode: say which, and why, only.
        rusqlite::Error::FromSqlConversionFailure(_, _, cause) => {
            StoreError::backend(format!("corrupt {cause}"))
        }
        other => StoreError::from(other),
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    // Vectors and maps of strings always serialize.
    serde_json::to_string(value).unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{what}: {e}").into(),
        )
    })
}

fn peer_from(row: &Row<'_>) -> rusqlite::Result<PeerEntry> {
    peer_of(
        text(row, 0)?,
        text(row, 1)?,
        text_or_null(row, 2)?,
        text(row, 3)?,
        text(row, 4)?,
    )
}

/// A peer from the text of its stored columns, in `PEER_COLUMNS` order.
fn peer_of(
    peer_id: &str,
    fingerprints: &str,
    auth_token_hash: Option<&str>,
    scopes: &str,
    resources: &str,
) -> rusqlite::Result<PeerEntry> {
    Ok(PeerEntry {
        peer_id: peer_id.to_owned(),
        fingerprints: decode("peers.fingerprints", fingerprints)?,
        auth_token_hash: auth_token_hash.map(str::to_owned),
        scopes: decode("peers.scopes", scopes)?,
        resources: decode("peers.resources", resources)?,
        given_token: None,
    })
}

/// Column `i` of `row` as text, borrowed from the row.
fn text<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    let value = row.get_ref(i)?;
    value
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), Box::new(e)))
}

/// Column `i` of `row` as text or NULL, borrowed from the row.
fn text_or_null<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    let value = row.get_ref(i)?;
    value
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), Box::new(e)))
}

fn key_from(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        key: ApiKey {
            id: row.get(0)?,
            name: row.get(1)?,
            owner_id: row.get(2)?,
            scopes: decode("api_keys.scopes", text(row, 3)?)?,
            resources: decode("api_keys.resources", text(row, 4)?)?,
            enabled: row.get(5)?,
            expires_at: row.get(6)?,
            revoked_at: row.get(7)?,
            created_at: row.get(8)?,
        },
        hash: row.get(9)?,
    })
}

fn credential_from(row: &Row<'_>) -> rusqlite::Result<(String, EncryptedData)> {
    Ok((
        row.get(0)?,
        EncryptedData {
            key_version: row.get(1)?,
            salt: row.get(2)?,
            iv: row.get(3)?,
            ciphertext: row.get(4)?,
        },
    ))
}

// -- reads ------------------------------------------------------------------

pub(crate) fn peer(reader: &Reader, peer_id: &str) -> Result<Option<PeerEntry>> {
    reader
        .conn()
        .prepare_cached(&format!(
            "SELECT {PEER_COLUMNS} FROM peers WHERE peer_id = ?1"
        ))
        .map_err(sql)?
        .query_row([peer_id], peer_from)
        .optional()
        .map_err(sql)
}

/// Every peer, by id.
pub(crate) fn peers(reader: &Reader) -> Result<Vec<PeerEntry>> {
    let mut stmt = reader
        .conn()
        .prepare_cached(&format!(
            "SELECT {PEER_COLUMNS} FROM peers ORDER BY peer_id"
        ))
        .map_err(sql)?;
    let rows = stmt.query_map([], peer_from).map_err(sql)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql)
}

/// The stored text of every peer, in the order the table keeps them (one
/// pass over the table, no index to follow), to be decoded by
/// [`PeerRows::decode`] on any thread.
pub(crate) fn peer_rows(reader: &Reader) -> Result<PeerRows> {
    let mut stmt = reader
        .conn()
        .prepare_cached(&format!("SELECT {PEER_COLUMNS} FROM peers"))
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut peers = PeerRows::default();
    while let Some(row) = rows.next().map_err(sql)? {
        let mut keep = |value: &str| {
            let start = peers.text.len();
            peers.text.push_str(value);
            start..peers.text.len()
        };
        let kept = PeerText {
            peer_id: keep(text(row, 0).map_err(sql)?),
            fingerprints: keep(text(row, 1).map_err(sql)?),
            auth_token_hash: text_or_null(row, 2).map_err(sql)?.map(&mut keep),
            scopes: keep(text(row, 3).map_err(sql)?),
            resources: keep(text(row, 4).map_err(sql)?),
        };
        peers.rows.push(kept);
    }
    Ok(peers)
}

/// Peer rows as stored: every column's text in one buffer.
#[derive(Debug, Default)]
pub(crate) struct PeerRows {
    text: String,
    rows: Vec<PeerText>,
}

/// Where one peer row's columns are in [`PeerRows::text`].
#[derive(Debug)]
struct PeerText {
    peer_id: Range<usize>,
    fingerprints: Range<usize>,
    auth_token_hash: Option<Range<usize>>,
    scopes: Range<usize>,
    resources: Range<usize>,
}

impl PeerRows {
    /// How many rows were read.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The peers the rows hold; the error names the first column that
    /// does not decode.
    pub(crate) fn decode(&self) -> Result<Vec<PeerEntry>> {
        let text = |range: &Range<usize>| &self.text[range.clone()];
        self.rows
            .iter()
            .map(|row| {
                peer_of(
                    text(&row.peer_id),
                    text(&row.fingerprints),
                    row.auth_token_hash.as_ref().map(text),
                    text(&row.scopes),
                    text(&row.resources),
                )
            })
            .collect::<rusqlite::Result<_>>()
            .map_err(sql)
    }
}

pub(crate) fn api_key(reader: &Reader, id: &str) -> Result<Option<KeyRow>> {
    reader
        .conn()
        .prepare_cached(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE uid = ?1"
        ))
        .map_err(sql)?
        .query_row([id], key_from)
        .optional()
        .map_err(sql)
}

pub(crate) fn api_keys(reader: &Reader) -> Result<Vec<KeyRow>> {
    let mut stmt = reader
        .conn()
        .prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY uid"))
        .map_err(sql)?;
    let rows = stmt.query_map([], key_from).map_err(sql)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql)
}

pub(crate) fn credential(reader: &Reader, provider: &str) -> Result<Option<EncryptedData>> {
    reader
        .conn()
        .prepare_cached(
            "SELECT provider, key_version, salt, iv, ciphertext FROM credentials WHERE provider = ?1",
        )
        .map_err(sql)?
        .query_row([provider], credential_from)
        .optional()
        .map(|found| found.map(|(_, data)| data))
        .map_err(sql)
}

pub(crate) fn credentials(reader: &Reader) -> Result<HashMap<String, EncryptedData>> {
    let mut stmt = reader
        .conn()
        .prepare_cached("SELECT provider, key_version, salt, iv, ciphertext FROM credentials")
        .map_err(sql)?;
    let rows = stmt.query_map([], credential_from).map_err(sql)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql)
}

// -- uniqueness ---------------------------------------------------------------

/// Refuses fingerprints or a token hash that belong to another peer (or,
/// for the hash, to an API key).
fn check_unique(conn: &Connection, peer: &PeerEntry) -> Result<()> {
    for fingerprint in &peer.fingerprints {
        let owner: Option<String> = conn
            .prepare_cached(
                "SELECT p.peer_id FROM peer_fingerprints f JOIN peers p ON p.id = f.peer
                 WHERE f.fingerprint = ?1",
            )
            .map_err(sql)?
            .query_row([fingerprint], |row| row.get(0))
            .optional()
            .map_err(sql)?;
        // The owner is not named: whoever presents a fingerprint or a token
        // learns only that it is taken.
        if owner.is_some_and(|owner| owner != peer.peer_id) {
            return Err(StoreError::Duplicate(format!(
                "peer {:?}: fingerprint {fingerprint:?} is already registered to another peer",
                peer.peer_id
            )));
        }
    }
    if let Some(hash) = &peer.auth_token_hash {
        check_token_free(conn, hash, Some(&peer.peer_id))
            .map_err(|e| StoreError::Duplicate(format!("peer {:?}: {e}", peer.peer_id)))?;
    }
    Ok(())
}

/// Refuses a token hash some peer other than `except` or any API key
/// resolves through, without naming which.
fn check_token_free(conn: &Connection, hash: &str, except: Option<&str>) -> Result<()> {
    let peer: Option<String> = conn
        .prepare_cached("SELECT peer_id FROM peers WHERE auth_token_hash = ?1")
        .map_err(sql)?
        .query_row([hash], |row| row.get(0))
        .optional()
        .map_err(sql)?;
    if peer.is_some_and(|owner| Some(owner.as_str()) != except) {
        return Err(StoreError::Duplicate(
            "the token is already in use by another peer".into(),
        ));
    }
    let key: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM api_keys WHERE key_hash = ?1")
        .map_err(sql)?
        .query_row([hash], |row| row.get(0))
        .optional()
        .map_err(sql)?;
    if key.is_some() {
        return Err(StoreError::Duplicate(
            "the token is already in use by an API key".into(),
        ));
    }
    Ok(())
}

// -- binding ------------------------------------------------------------------

/// Refuses a peer whose id is the identity id of an org or role principal
/// (the rule is [`crate::acl::binding::binding_problem`]).
fn check_binding(reader: &Reader, peer_id: &str) -> Result<()> {
    let principal = crate::acl::codec::principal_type(reader, peer_id).map_err(StoreError::from)?;
    match principal.and_then(|t| crate::acl::binding::binding_problem(peer_id, t)) {
        Some(reason) => Err(StoreError::Invalid(reason)),
        None => Ok(()),
    }
}

// -- writes -------------------------------------------------------------------

fn audit(
    tx: &WriteTxn<'_>,
    actor: Option<&str>,
    action: &str,
    entity: Entity,
    before: Option<Value>,
    after: Option<Value>,
    at: i64,
) -> Result<()> {
    audit::append(
        tx.conn(),
        Record {
            at,
            actor,
            action,
            entity: entity.to_string(),
            before,
            after,
        },
    )
    .map_err(StoreError::from)
}

/// What the audit log keeps of a peer: never its token hash, only whether
/// it has a token (`"set"`, or `null`) and, after an update, whether the
/// token differs from the one it had before (`"changed"`).
fn peer_value(peer: &PeerEntry, before: Option<&PeerEntry>) -> Value {
    let token = match (&peer.auth_token_hash, before) {
        (None, _) => Value::Null,
        (Some(hash), Some(before))
            if before
                .auth_token_hash
                .as_ref()
                .is_some_and(|old| old != hash) =>
        {
            json!("changed")
        }
        (Some(_), _) => json!("set"),
    };
    json!({
        "peer_id": peer.peer_id,
        "fingerprints": peer.fingerprints,
        "token": token,
        "scopes": peer.scopes,
        "resources": peer.resources,
    })
}

// -- credential history ---------------------------------------------------------

const HISTORY_COLUMNS: &str = "kind, value, added_at, added_by, removed_at, removed_by";

fn record_from(row: &Row<'_>) -> rusqlite::Result<CredentialRecord> {
    let kind: String = row.get(0)?;
    let kind = CredentialKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("peer_credentials_history.kind {kind:?} is not fingerprint or token").into(),
        )
    })?;
    Ok(CredentialRecord {
        kind,
        value: row.get(1)?,
        added_at: row.get(2)?,
        added_by: row.get(3)?,
        removed_at: row.get(4)?,
        removed_by: row.get(5)?,
    })
}

/// Every credential `peer_id` has held, oldest first.
pub(crate) fn history(reader: &Reader, peer_id: &str) -> Result<Vec<CredentialRecord>> {
    let mut stmt = reader
        .conn()
        .prepare_cached(&format!(
            "SELECT {HISTORY_COLUMNS} FROM peer_credentials_history WHERE peer_id = ?1 ORDER BY id"
        ))
        .map_err(sql)?;
    let rows = stmt.query_map([peer_id], record_from).map_err(sql)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql)
}

/// Who makes a change and when, for the history rows it opens or closes.
#[derive(Clone, Copy)]
struct Change<'a> {
    actor: Option<&'a str>,
    now: i64,
}

fn open_credential(
    conn: &Connection,
    peer_id: &str,
    kind: CredentialKind,
    value: &str,
    change: Change<'_>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO peer_credentials_history (peer_id, kind, value, added_at, added_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(sql)?
    .execute(rusqlite::params![
        peer_id,
        kind.as_str(),
        value,
        change.now,
        change.actor
    ])
    .map_err(sql)?;
    Ok(())
}

/// Closes the open rows of `peer_id` of `kind` (with `value`, or all of
/// them).
fn close_credentials(
    conn: &Connection,
    peer_id: &str,
    kind: Option<CredentialKind>,
    value: Option<&str>,
    change: Change<'_>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE peer_credentials_history SET removed_at = ?4, removed_by = ?5
         WHERE peer_id = ?1 AND removed_at IS NULL
           AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR value = ?3)",
    )
    .map_err(sql)?
    .execute(rusqlite::params![
        peer_id,
        kind.map(CredentialKind::as_str),
        value,
        change.now,
        change.actor
    ])
    .map_err(sql)?;
    Ok(())
}

/// Records in the history what changes from `before` to `after` (one of
/// them set): fingerprints added and removed, a token set, replaced or
/// dropped.
fn record_history(
    conn: &Connection,
    before: Option<&PeerEntry>,
    after: Option<&PeerEntry>,
    change: Change<'_>,
) -> Result<()> {
    let Some(peer_id) = after.or(before).map(|p| p.peer_id.as_str()) else {
        return Ok(());
    };
    let Some(after) = after else {
        return close_credentials(conn, peer_id, None, None, change);
    };
    let held: &[String] = before.map_or(&[], |b| &b.fingerprints);
    for gone in held.iter().filter(|f| !after.fingerprints.contains(f)) {
        close_credentials(
            conn,
            peer_id,
            Some(CredentialKind::Fingerprint),
            Some(gone),
            change,
        )?;
    }
    for new in after.fingerprints.iter().filter(|f| !held.contains(f)) {
        open_credential(conn, peer_id, CredentialKind::Fingerprint, new, change)?;
    }
    let old_hash = before.and_then(|b| b.auth_token_hash.as_ref());
    if old_hash == after.auth_token_hash.as_ref() {
        return Ok(());
    }
    if old_hash.is_some() {
        close_credentials(conn, peer_id, Some(CredentialKind::Token), None, change)?;
    }
    if after.auth_token_hash.is_some() {
        let held: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM peer_credentials_history WHERE peer_id = ?1 AND kind = 'token'",
            )
            .map_err(sql)?
            .query_row([peer_id], |row| row.get(0))
            .map_err(sql)?;
        let ordinal = format!("#{}", held + 1);
        open_credential(conn, peer_id, CredentialKind::Token, &ordinal, change)?;
    }
    Ok(())
}

const INSERT_PEER: &str =
    "INSERT INTO peers (peer_id, fingerprints, auth_token_hash, scopes, resources, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
const UPDATE_PEER: &str =
    "UPDATE peers SET fingerprints = ?2, auth_token_hash = ?3, scopes = ?4, resources = ?5,
         updated_at = ?6
     WHERE peer_id = ?1";

/// Writes the peer's row with `statement` ([`INSERT_PEER`] or
/// [`UPDATE_PEER`]), then indexes its fingerprints.
/// Deletes the credential history of `peer_id` (its fingerprints are
/// personal data): for an erasure, which the audit log records.
pub(crate) fn erase_history(conn: &Connection, peer_id: &str) -> Result<usize> {
    conn.prepare_cached("DELETE FROM peer_credentials_history WHERE peer_id = ?1")
        .map_err(sql)?
        .execute([peer_id])
        .map_err(sql)
}

fn write_peer(conn: &Connection, statement: &str, peer: &PeerEntry, now: i64) -> Result<()> {
    conn.prepare_cached(statement)
        .map_err(sql)?
        .execute(rusqlite::params![
            peer.peer_id,
            json_text(&peer.fingerprints),
            peer.auth_token_hash,
            json_text(&peer.scopes),
            json_text(&peer.resources),
            now,
        ])
        .map_err(sql)?;
    write_fingerprints(conn, &peer.peer_id, &peer.fingerprints)
}

fn clear_fingerprints(conn: &Connection, peer_id: &str) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM peer_fingerprints WHERE peer = (SELECT id FROM peers WHERE peer_id = ?1)",
    )
    .map_err(sql)?
    .execute([peer_id])
    .map_err(sql)?;
    Ok(())
}

fn write_fingerprints(conn: &Connection, peer_id: &str, fingerprints: &[String]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO peer_fingerprints (fingerprint, peer)
             SELECT ?1, id FROM peers WHERE peer_id = ?2",
        )
        .map_err(sql)?;
    for fingerprint in fingerprints {
        stmt.execute([fingerprint.as_str(), peer_id]).map_err(sql)?;
    }
    Ok(())
}

/// Adds a checked peer.
pub(crate) fn insert_peer(
    tx: &mut WriteTxn<'_>,
    peer: &PeerEntry,
    actor: Option<&str>,
    now: i64,
) -> Result<()> {
    if self::peer(tx, &peer.peer_id)?.is_some() {
        return Err(StoreError::Duplicate(format!(
            "{} already exists",
            Entity::Peer(peer.peer_id.clone())
        )));
    }
    check_binding(tx, &peer.peer_id)?;
    check_unique(tx.conn(), peer)?;
    write_peer(tx.conn(), INSERT_PEER, peer, now)?;
    record_history(tx.conn(), None, Some(peer), Change { actor, now })?;
    tx.outbox
        .record(EntityKind::Peer, ChangeOp::Create, &peer.peer_id);
    audit(
        tx,
        actor,
        "peer.create",
        Entity::Peer(peer.peer_id.clone()),
        None,
        Some(peer_value(peer, None)),
        now,
    )
}

/// Replaces a checked peer.
pub(crate) fn update_peer(
    tx: &mut WriteTxn<'_>,
    peer: &PeerEntry,
    actor: Option<&str>,
    now: i64,
) -> Result<()> {
    let Some(before) = self::peer(tx, &peer.peer_id)? else {
        return Err(not_found(Entity::Peer(peer.peer_id.clone())));
    };
    check_binding(tx, &peer.peer_id)?;
    check_unique(tx.conn(), peer)?;
    clear_fingerprints(tx.conn(), &peer.peer_id)?;
    write_peer(tx.conn(), UPDATE_PEER, peer, now)?;
    record_history(tx.conn(), Some(&before), Some(peer), Change { actor, now })?;
    tx.outbox
        .record(EntityKind::Peer, ChangeOp::Update, &peer.peer_id);
    audit(
        tx,
        actor,
        "peer.update",
        Entity::Peer(peer.peer_id.clone()),
        Some(peer_value(&before, None)),
        Some(peer_value(peer, Some(&before))),
        now,
    )
}

/// Removes a peer and its fingerprints.
pub(crate) fn remove_peer(
    tx: &mut WriteTxn<'_>,
    peer_id: &str,
    actor: Option<&str>,
    now: i64,
) -> Result<()> {
    let Some(before) = self::peer(tx, peer_id)? else {
        return Err(not_found(Entity::Peer(peer_id.to_owned())));
    };
    clear_fingerprints(tx.conn(), peer_id)?;
    tx.conn()
        .prepare_cached("DELETE FROM peers WHERE peer_id = ?1")
        .map_err(sql)?
        .execute([peer_id])
        .map_err(sql)?;
    record_history(tx.conn(), Some(&before), None, Change { actor, now })?;
    tx.outbox
        .record(EntityKind::Peer, ChangeOp::Delete, peer_id);
    audit(
        tx,
        actor,
        "peer.delete",
        Entity::Peer(peer_id.to_owned()),
        Some(peer_value(&before, None)),
        None,
        now,
    )?;
    revoke_orphaned_keys(tx, peer_id, actor, now).map(drop)
}

/// Revokes every unrevoked API key of `owner` once `owner` is neither a
/// peer nor an ACL principal, in the transaction that removed it: such a
/// key already resolves to nothing (a key holds at most what its owner
/// holds), and revoking it says so in the store and the audit log, so a
/// key can never come back to life under a new owner of the same id.
/// Returns the keys revoked.
pub(crate) fn revoke_orphaned_keys(
    tx: &mut WriteTxn<'_>,
    owner: &str,
    actor: Option<&str>,
    now: i64,
) -> Result<Vec<String>> {
    let principal: bool = tx
        .conn()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM nodes n
               JOIN graphs g ON g.id = n.graph_id
               JOIN node_types t ON t.id = n.node_type_id
              WHERE g.name = ?1 AND t.name = ?2 AND n.key = ?3)",
        )
        .map_err(sql)?
        .query_row(
            rusqlite::params![crate::acl::GRAPH, crate::acl::PRINCIPAL, owner],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if principal || crate::acl::binding::peer_exists(tx.conn(), owner).map_err(sql)? {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = tx
        .conn()
        .prepare_cached(
            "SELECT uid FROM api_keys WHERE owner_id = ?1 AND revoked_at IS NULL ORDER BY uid",
        )
        .map_err(sql)?
        .query_map([owner], |row| row.get(0))
        .map_err(sql)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql)?;
    for key in &keys {
        change_api_key(tx, key, KeyChange::Revoke, actor, now)?;
    }
    Ok(keys)
}

/// [`revoke_orphaned_keys`] for the ACL, whose writes speak the crate's
/// [`Error`](crate::Error): after a principal is removed.
pub(crate) fn revoke_keys_of_removed_principal(
    tx: &mut WriteTxn<'_>,
    identity_id: &str,
    actor: Option<&str>,
    now: i64,
) -> crate::Result<()> {
    revoke_orphaned_keys(tx, identity_id, actor, now)
        .map(drop)
        .map_err(|e| {
            crate::Error::invalid(
                Entity::Node {
                    graph: crate::acl::GRAPH.to_owned(),
                    key: identity_id.to_owned(),
                },
                format!("cannot revoke its API keys: {}", e.detail()),
            )
        })
}

fn not_found(entity: Entity) -> StoreError {
    StoreError::NotFound(format!("{entity} does not exist"))
}

fn key_value(key: &ApiKey) -> Value {
    serde_json::to_value(key).unwrap_or(Value::Null)
}

/// Creates an API key resolving through `hash`.
pub(crate) fn insert_api_key(
    tx: &mut WriteTxn<'_>,
    key: &NewApiKey,
    hash: &str,
    actor: Option<&str>,
    now: i64,
) -> Result<ApiKey> {
    check_token_free(tx.conn(), hash, None)
        .map_err(|e| StoreError::Duplicate(format!("API key {:?}: {e}", key.name)))?;
    let stored = ApiKey {
        id: uuid::Uuid::now_v7().to_string(),
        name: key.name.clone(),
        owner_id: key.owner_id.clone(),
        scopes: key.scopes.clone(),
        resources: key.resources.clone(),
        enabled: true,
        expires_at: key.expires_at,
        revoked_at: None,
        created_at: now,
    };
    tx.conn()
        .prepare_cached(
            "INSERT INTO api_keys (uid, key_hash, name, owner_id, scopes, resources, enabled,
                 expires_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?8)",
        )
        .map_err(sql)?
        .execute(rusqlite::params![
            stored.id,
            hash,
            stored.name,
            stored.owner_id,
            json_text(&stored.scopes),
            json_text(&stored.resources),
            stored.expires_at,
            now,
        ])
        .map_err(sql)?;
    tx.outbox
        .record(EntityKind::ApiKey, ChangeOp::Create, &stored.id);
    audit(
        tx,
        actor,
        "api_key.create",
        Entity::ApiKey(stored.id.clone()),
        None,
        Some(key_value(&stored)),
        now,
    )?;
    Ok(stored)
}

/// How an existing API key changes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyChange {
    Revoke,
    Enable(bool),
}

/// Revokes, disables or enables an API key; returns it as it is after.
pub(crate) fn change_api_key(
    tx: &mut WriteTxn<'_>,
    id: &str,
    change: KeyChange,
    actor: Option<&str>,
    now: i64,
) -> Result<ApiKey> {
    let Some(row) = api_key(tx, id)? else {
        return Err(not_found(Entity::ApiKey(id.to_owned())));
    };
    let mut after = row.key.clone();
    let action = match change {
        KeyChange::Revoke => {
            if after.revoked_at.is_some() {
                return Ok(after);
            }
            after.revoked_at = Some(now);
            "api_key.revoke"
        }
        KeyChange::Enable(_) if after.revoked_at.is_some() => {
            return Err(StoreError::Invalid(format!(
                "{}: is revoked; a revoked key cannot be enabled or disabled",
                Entity::ApiKey(id.to_owned())
            )));
        }
        KeyChange::Enable(enabled) => {
            if after.enabled == enabled {
                return Ok(after);
            }
            after.enabled = enabled;
            if enabled {
                "api_key.enable"
            } else {
                "api_key.disable"
            }
        }
    };
    tx.conn()
        .prepare_cached(
            "UPDATE api_keys SET enabled = ?2, revoked_at = ?3, updated_at = ?4 WHERE uid = ?1",
        )
        .map_err(sql)?
        .execute(rusqlite::params![id, after.enabled, after.revoked_at, now])
        .map_err(sql)?;
    tx.outbox.record(EntityKind::ApiKey, ChangeOp::Update, id);
    audit(
        tx,
        actor,
        action,
        Entity::ApiKey(id.to_owned()),
        Some(key_value(&row.key)),
        Some(key_value(&after)),
        now,
    )?;
    Ok(after)
}

/// What the audit log keeps of a credential: never the blob.
fn credential_value(provider: &str, data: &EncryptedData) -> Value {
    json!({ "provider": provider, "key_version": data.key_version })
}

/// Stores or replaces a credential.
pub(crate) fn put_credential(
    tx: &mut WriteTxn<'_>,
    provider: &str,
    data: &EncryptedData,
    actor: Option<&str>,
    now: i64,
) -> Result<()> {
    let before = credential(tx, provider)?;
    tx.conn()
        .prepare_cached(
            "INSERT INTO credentials (provider, key_version, salt, iv, ciphertext, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (provider) DO UPDATE SET key_version = excluded.key_version,
                 salt = excluded.salt, iv = excluded.iv, ciphertext = excluded.ciphertext,
                 updated_at = excluded.updated_at",
        )
        .map_err(sql)?
        .execute(rusqlite::params![
            provider,
            data.key_version,
            data.salt,
            data.iv,
            data.ciphertext,
            now
        ])
        .map_err(sql)?;
    let op = if before.is_some() {
        ChangeOp::Update
    } else {
        ChangeOp::Create
    };
    tx.outbox.record(EntityKind::Credential, op, provider);
    audit(
        tx,
        actor,
        "credential.put",
        Entity::Credential(provider.to_owned()),
        before.map(|b| credential_value(provider, &b)),
        Some(credential_value(provider, data)),
        now,
    )
}

/// Removes a credential.
pub(crate) fn delete_credential(
    tx: &mut WriteTxn<'_>,
    provider: &str,
    actor: Option<&str>,
    now: i64,
) -> Result<()> {
    let Some(before) = credential(tx, provider)? else {
        return Err(not_found(Entity::Credential(provider.to_owned())));
    };
    tx.conn()
        .prepare_cached("DELETE FROM credentials WHERE provider = ?1")
        .map_err(sql)?
        .execute([provider])
        .map_err(sql)?;
    tx.outbox
        .record(EntityKind::Credential, ChangeOp::Delete, provider);
    audit(
        tx,
        actor,
        "credential.delete",
        Entity::Credential(provider.to_owned()),
        Some(credential_value(provider, &before)),
        None,
        now,
    )
}
