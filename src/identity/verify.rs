//! The identity registry's rows, checked for [`verify`](crate::verify()):
//! every peer, API key and credential decodes as the registry reads it;
//! peers' fingerprints are canonical, indexed to their peer and open in the
//! credential history, their token hashes well formed; API key hashes are
//! well formed, and every usable key has an owner.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::{normalize_fingerprint, normalize_token_hash, tables};
use crate::error::{Entity, Result};
use crate::verify::report::{ProblemKind, Verifier, VerifyReport};

/// Every peer, API key and credential row decodes as the identity
/// registry reads it (a row that does not keeps the registry from
/// serving anything); then peers: fingerprints canonical and indexed to
/// their peer (and nothing else indexed), token hashes well formed; API
/// key hashes well formed.
pub(crate) fn registry(v: &mut Verifier<'_>) -> Result<()> {
    let ids = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = v.conn.prepare(sql)?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    for id in ids("SELECT peer_id FROM peers ORDER BY peer_id")? {
        if let Err(e) = tables::peer(v.reader, &id) {
            v.report
                .about(ProblemKind::Identity, &Entity::Peer(id), e.detail());
        }
    }
    for id in ids("SELECT uid FROM api_keys ORDER BY uid")? {
        if let Err(e) = tables::api_key(v.reader, &id) {
            v.report
                .about(ProblemKind::Identity, &Entity::ApiKey(id), e.detail());
        }
    }
    for provider in ids("SELECT provider FROM credentials ORDER BY provider")? {
        if let Err(e) = tables::credential(v.reader, &provider) {
            v.report.about(
                ProblemKind::Identity,
                &Entity::Credential(provider),
                e.detail(),
            );
        }
    }
    identity_rules(v)
}

/// Peers: fingerprints canonical and indexed to their peer (and nothing
/// else indexed), token hashes well formed, each current fingerprint and
/// token open in the credential history; API key hashes well formed.
fn identity_rules(v: &mut Verifier<'_>) -> Result<()> {
    let credentials = Credentials::load(v.conn)?;
    let listed = peer_credentials(v, &credentials)?;
    if credentials.indexed.len() > listed {
        stray_fingerprints(v)?;
    }
    api_key_hashes(v)
}

/// What the credential history and the fingerprint index hold.
struct Credentials {
    /// The fingerprints the history has open, with their peers.
    open_fingerprints: HashSet<(String, String)>,
    /// The peers with a token open in the history.
    open_tokens: HashSet<String>,
    /// The fingerprint index: fingerprint → peer.
    indexed: HashMap<String, String>,
}

impl Credentials {
    fn load(conn: &Connection) -> Result<Credentials> {
        let mut open_fingerprints: HashSet<(String, String)> = HashSet::new();
        let mut open_tokens: HashSet<String> = HashSet::new();
        {
            let mut stmt = conn.prepare(
                "SELECT peer_id, kind, value FROM peer_credentials_history WHERE removed_at IS NULL",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (peer, kind, value) = row?;
                if kind == "token" {
                    open_tokens.insert(peer);
                } else {
                    open_fingerprints.insert((peer, value));
                }
            }
        }
        let mut indexed: HashMap<String, String> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT f.fingerprint, p.peer_id FROM peer_fingerprints f JOIN peers p ON p.id = f.peer",
        )?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        for row in rows {
            let (fingerprint, peer): (String, String) = row?;
            indexed.insert(fingerprint, peer);
        }
        Ok(Credentials {
            open_fingerprints,
            open_tokens,
            indexed,
        })
    }

    /// A fingerprint `peer` lists: canonical, open in the history, and
    /// indexed to it.
    fn check_fingerprint(
        &self,
        report: &mut VerifyReport,
        entity: &Entity,
        peer: &str,
        fingerprint: &str,
    ) {
        if normalize_fingerprint(fingerprint).ok().as_deref() != Some(fingerprint) {
            report.add(
                ProblemKind::Identity,
                format!("{entity}: fingerprint {fingerprint:?} is not in canonical form"),
            );
        }
        if !self
            .open_fingerprints
            .contains(&(peer.to_owned(), fingerprint.to_owned()))
        {
            report.add(
                ProblemKind::Identity,
                format!("{entity}: fingerprint {fingerprint:?} has no open record in the credential history"),
            );
        }
        match self.indexed.get(fingerprint) {
            Some(owner) if owner == peer => {}
            Some(owner) => report.add(
                ProblemKind::Identity,
                format!("{entity}: fingerprint {fingerprint:?} is indexed to peer {owner:?}"),
            ),
            None => report.add(
                ProblemKind::Identity,
                format!(
                    "{entity}: fingerprint {fingerprint:?} is missing from the fingerprint index"
                ),
            ),
        }
    }

    /// The token hash of `peer`: open in the history, and well formed.
    fn check_token(&self, report: &mut VerifyReport, entity: &Entity, peer: &str, hash: &str) {
        if !self.open_tokens.contains(peer) {
            report.add(
                ProblemKind::Identity,
                format!("{entity}: its token has no open record in the credential history"),
            );
        }
        if normalize_token_hash(hash).ok().as_deref() != Some(hash) {
            report.add(
                ProblemKind::Identity,
                format!("{entity}: auth_token_hash {hash:?} is not a lowercase SHA-256 in hex"),
            );
        }
    }
}

/// Checks every peer's fingerprints and token hash; returns how many
/// fingerprints the peers list.
fn peer_credentials(v: &mut Verifier<'_>, credentials: &Credentials) -> Result<usize> {
    let mut stmt = v
        .conn
        .prepare("SELECT peer_id, fingerprints, auth_token_hash FROM peers ORDER BY peer_id")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut listed = 0usize;
    for row in rows {
        let (peer, fingerprints, hash) = row?;
        let entity = Entity::Peer(peer.clone());
        match serde_json::from_str::<Vec<String>>(&fingerprints) {
            Err(e) => v.report.add(
                ProblemKind::Identity,
                format!("{entity}: fingerprints are not a JSON array of strings: {e}"),
            ),
            Ok(fingerprints) => {
                for fingerprint in fingerprints {
                    listed += 1;
                    credentials.check_fingerprint(&mut v.report, &entity, &peer, &fingerprint);
                }
            }
        }
        if let Some(hash) = hash {
            credentials.check_token(&mut v.report, &entity, &peer, &hash);
        }
    }
    Ok(listed)
}

/// Fingerprints in the index that their peer does not list.
fn stray_fingerprints(v: &mut Verifier<'_>) -> Result<()> {
    let mut stray = Vec::new();
    let mut stmt = v.conn.prepare(
        "SELECT f.fingerprint, p.peer_id FROM peer_fingerprints f JOIN peers p ON p.id = f.peer
         WHERE NOT EXISTS (SELECT 1 FROM json_each(p.fingerprints) j WHERE j.value = f.fingerprint)",
    )?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    for row in rows {
        let (fingerprint, peer): (String, String) = row?;
        stray.push(format!(
            "{}: the fingerprint index holds {fingerprint:?}, which the peer does not list",
            Entity::Peer(peer)
        ));
    }
    for message in stray {
        v.report.add(ProblemKind::Identity, message);
    }
    Ok(())
}

/// Every API key's hash is a lowercase SHA-256 in hex.
fn api_key_hashes(v: &mut Verifier<'_>) -> Result<()> {
    let mut stmt = v
        .conn
        .prepare("SELECT uid, key_hash FROM api_keys ORDER BY uid")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (id, hash) = row?;
        if normalize_token_hash(&hash).ok().as_ref() != Some(&hash) {
            v.report.add(
                ProblemKind::Identity,
                format!(
                    "{}: key_hash {hash:?} is not a lowercase SHA-256 in hex",
                    Entity::ApiKey(id)
                ),
            );
        }
    }
    Ok(())
}

/// Every usable API key has an owner: a peer, or one of the ACL's
/// `principals` (their identity ids), so that it resolves to someone.
pub(crate) fn key_owners(v: &mut Verifier<'_>, principals: &HashSet<String>) -> Result<()> {
    let now = crate::time::now_ms();
    let mut stmt = v.conn.prepare(
        "SELECT k.uid, k.owner_id FROM api_keys k
          WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?1)
            AND NOT EXISTS (SELECT 1 FROM peers p WHERE p.peer_id = k.owner_id)
          ORDER BY k.uid",
    )?;
    let rows = stmt.query_map([now], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (id, owner) = row?;
        if !principals.contains(&owner) {
            v.report.about(
                ProblemKind::Domain,
                &Entity::ApiKey(id),
                format!("owner {owner:?} is neither a peer nor an ACL principal, so the key resolves to nothing; revoke it"),
            );
        }
    }
    Ok(())
}
