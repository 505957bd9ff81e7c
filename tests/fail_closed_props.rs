//! Property: whichever way a write arrives — the domain handles, generic
//! metagraph writes, a graphology import, or plain SQL on the file around
//! the engine — with revocations, expiries and removals, every fingerprint
//! and token the provider resolves afterwards gets at most what a naive
//! model of the committed rows gives, and exactly that while the ACL loads.
//! Never a grant the model does not give.
//!
//! The model reads the committed rows with a plain SQLite connection and
//! resolves them with the reference fixed point of `acl_model`: a peer
//! holds its own scopes plus the grant of the account or service principal
//! of its id; an enabled, unrevoked, unexpired API key holds its scopes
//! intersected with its owner's grant, and nothing once its owner is gone.

mod acl_model;
mod common;

use std::collections::{BTreeMap, BTreeSet};

use alknet_graphs::acl::{
    Acl, AclEdge, Delegation, IdentityType, Membership, Principal, Validity, DEFAULT_MAX_DEPTH,
};
use alknet_graphs::identity::{
    AuthToken, IdentityProvider, NewApiKey, PeerEntry, SqliteIdentityProvider,
};
use alknet_graphs::interop::export_graphology;
use alknet_graphs::{NewEdge, Store};
use proptest::prelude::*;
use rusqlite::OptionalExtension;
use serde_json::{json, Value};

const IDS: [&str; 4] = ["p0", "p1", "p2", "p3"];
const SCOPES: [&str; 3] = ["s0", "s1", "s2"];

fn fp(i: usize) -> String {
    common::fp(i as u8 + 1)
}

fn peer_token(i: usize) -> AuthToken {
    AuthToken::new(format!(
        "alk_peer_token_{i}_0123456789abcdef0123456789abcdef"
    ))
}

fn scopes(mask: u8) -> Vec<String> {
    SCOPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// When a delegation, membership or key stops: never, already, or soon.
#[derive(Debug, Clone, Copy)]
enum Until {
    Never,
    Past,
    Soon,
}

impl Until {
    fn at(self, now: i64) -> Option<i64> {
        match self {
            Until::Never => None,
            Until::Past => Some(now - 1),
            Until::Soon => Some(now + 40),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    // The domain handles.
    Principal {
        id: usize,
        kind: u8,
        scopes: u8,
    },
    RemovePrincipal(usize),
    Delegate {
        from: Option<usize>,
        to: usize,
        scopes: u8,
        until: Until,
    },
    Revoke {
        from: Option<usize>,
        to: usize,
    },
    Member {
        member: usize,
        group: usize,
        until: Until,
    },
    Unmember {
        member: usize,
        group: usize,
    },
    Peer {
        id: usize,
        scopes: u8,
    },
    RemovePeer(usize),
    Key {
        owner: usize,
        scopes: u8,
        until: Until,
    },
    RevokeKey(usize),
    EnableKey(usize, bool),
    // Generic metagraph writes to the ACL graph: always refused.
    Generic(u8),
    // Imports: a faithful copy of the ACL, or one with a forged delegation.
    Reimport,
    ForgedImport(usize),
    // Plain SQL around the engine.
    RawMalformed,
    RawRepair,
    RawRevoke {
        from: Option<usize>,
        to: usize,
    },
    RawLower(usize),
    RawRemovePeer(usize),
}

fn who() -> impl Strategy<Value = usize> {
    0..IDS.len()
}

fn until() -> impl Strategy<Value = Until> {
    prop_oneof![2 => Just(Until::Never), 1 => Just(Until::Past), 1 => Just(Until::Soon)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (who(), 0u8..4, 0u8..8).prop_map(|(id, kind, scopes)| Op::Principal { id, kind, scopes }),
        1 => who().prop_map(Op::RemovePrincipal),
        4 => (proptest::option::of(who()), who(), 0u8..8, until())
            .prop_map(|(from, to, scopes, until)| Op::Delegate { from, to, scopes, until }),
        2 => (proptest::option::of(who()), who()).prop_map(|(from, to)| Op::Revoke { from, to }),
        2 => (who(), who(), until()).prop_map(|(member, group, until)| Op::Member { member, group, until }),
        1 => (who(), who()).prop_map(|(member, group)| Op::Unmember { member, group }),
        3 => (who(), 0u8..8).prop_map(|(id, scopes)| Op::Peer { id, scopes }),
        1 => who().prop_map(Op::RemovePeer),
        3 => (who(), 0u8..8, until()).prop_map(|(owner, scopes, until)| Op::Key { owner, scopes, until }),
        1 => (0usize..8).prop_map(Op::RevokeKey),
        1 => (0usize..8, any::<bool>()).prop_map(|(k, on)| Op::EnableKey(k, on)),
        2 => (0u8..5).prop_map(Op::Generic),
        1 => Just(Op::Reimport),
        1 => who().prop_map(Op::ForgedImport),
        1 => Just(Op::RawMalformed),
        1 => Just(Op::RawRepair),
        1 => (proptest::option::of(who()), who()).prop_map(|(from, to)| Op::RawRevoke { from, to }),
        1 => who().prop_map(Op::RawLower),
        1 => who().prop_map(Op::RawRemovePeer),
    ]
}

fn name(ix: Option<usize>) -> &'static str {
    ix.map_or("root", |i| IDS[i])
}

fn kind(k: u8) -> IdentityType {
    match k {
        0 => IdentityType::Account,
        1 => IdentityType::Service,
        2 => IdentityType::Role,
        _ => IdentityType::Org,
    }
}

fn now() -> i64 {
    common::now_ms()
}

// ---------------------------------------------------------------------------
// The naive model of the committed rows

/// A peer's own scopes, fingerprints and token hash.
type PeerRow = (BTreeSet<String>, Vec<String>, Option<String>);

/// An API key's hash, owner, scopes, `enabled`, `expires_at`, `revoked_at`.
type KeyRow = (String, String, String, bool, Option<i64>, Option<i64>);

struct Committed {
    acl: acl_model::Model,
    /// Whether every ACL row decodes (otherwise the provider may serve less).
    acl_loads: bool,
    /// peer id → (own scopes, fingerprints, token hash).
    peers: BTreeMap<String, PeerRow>,
    /// key hash → (owner, scopes, usable).
    keys: BTreeMap<String, (String, BTreeSet<String>, bool)>,
}

fn strings(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn validity(attributes: &Value) -> Validity {
    let at = |k: &str| attributes.get(k).and_then(Value::as_i64);
    Validity {
        not_before: at("not_before"),
        expires_at: at("expires_at"),
        revoked_at: at("revoked_at"),
    }
}

fn committed(store: &Store, t: i64) -> Committed {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mut acl = acl_model::Model::default();
    let mut acl_loads = true;
    let mut stmt = conn
        .prepare(
            "SELECT n.key, t.name, n.attributes FROM nodes n
               JOIN node_types t ON t.id = n.node_type_id
               JOIN graphs g ON g.id = n.graph_id WHERE g.name = 'acl'",
        )
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (key, node_type, text) in rows {
        let attributes: Value = serde_json::from_str(&text).unwrap();
        match node_type.as_str() {
            "principal" if attributes["identity_id"] == key.as_str() => {
                let kind = match attributes["identity_type"].as_str() {
                    Some("account") => IdentityType::Account,
                    Some("service") => IdentityType::Service,
                    Some("role") => IdentityType::Role,
                    _ => IdentityType::Org,
                };
                let mut principal = Principal::new(key.clone(), kind);
                principal.scopes = strings(attributes.get("scopes"));
                acl.principals.insert(key, principal);
            }
            "resource" if key.starts_with("resource ") => {}
            _ => acl_loads = false,
        }
    }
    let mut stmt = conn
        .prepare(
            "SELECT e.key, t.name, s.key, d.key, e.attributes FROM edges e
               JOIN edge_types t ON t.id = e.edge_type_id
               JOIN nodes s ON s.id = e.source JOIN nodes d ON d.id = e.target
               JOIN graphs g ON g.id = e.graph_id WHERE g.name = 'acl'",
        )
        .unwrap();
    let rows: Vec<(String, String, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (key, edge_type, from, to, text) in rows {
        let attributes: Value = serde_json::from_str(&text).unwrap();
        let edge = match edge_type.as_str() {
            "delegates" => AclEdge::Delegates(
                Delegation::new(from, to)
                    .scopes(strings(attributes.get("narrowed_scopes")))
                    .validity(validity(&attributes)),
            ),
            "belongs_to" => {
                let mut membership = Membership::new(from, to);
                membership.validity = validity(&attributes);
                AclEdge::BelongsTo(membership)
            }
            _ => continue,
        };
        acl.edges.insert(key, edge);
    }

    let mut peers = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT peer_id, scopes, fingerprints, auth_token_hash FROM peers")
        .unwrap();
    let rows: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, own, fps, hash) in rows {
        let own = strings(Some(&serde_json::from_str(&own).unwrap()));
        let fps: Vec<String> = serde_json::from_str(&fps).unwrap();
        peers.insert(id, (own, fps, hash));
    }
    let mut keys = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT key_hash, owner_id, scopes, enabled, expires_at, revoked_at FROM api_keys")
        .unwrap();
    let rows: Vec<KeyRow> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (hash, owner, own, enabled, expires_at, revoked_at) in rows {
        let own = strings(Some(&serde_json::from_str(&own).unwrap()));
        let usable = enabled && revoked_at.is_none() && expires_at.is_none_or(|e| t < e);
        keys.insert(hash, (owner, own, usable));
    }
    Committed {
        acl,
        acl_loads,
        peers,
        keys,
    }
}

impl Committed {
    /// The effective ACL grant of principal `id` at `t`.
    fn principal(&self, id: &str, t: i64) -> Option<BTreeSet<String>> {
        self.acl.principals.get(id)?;
        Some(self.acl.grant(id, t, DEFAULT_MAX_DEPTH).scopes)
    }

    /// A peer's grant: its own scopes plus its account or service principal's.
    fn peer(&self, id: &str, t: i64) -> Option<BTreeSet<String>> {
        let (own, _, _) = self.peers.get(id)?;
        let mut all = own.clone();
        let binds = self.acl.principals.get(id).is_some_and(|p| {
            matches!(
                p.identity_type,
                IdentityType::Account | IdentityType::Service
            )
        });
        if binds {
            all.extend(self.principal(id, t).unwrap_or_default());
        }
        Some(all)
    }

    fn by_fingerprint(&self, fingerprint: &str, t: i64) -> Option<(String, BTreeSet<String>)> {
        let (id, _) = self
            .peers
            .iter()
            .find(|(_, (_, fps, _))| fps.iter().any(|f| f == fingerprint))?;
        Some((id.clone(), self.peer(id, t)?))
    }

    fn by_token(&self, token: &AuthToken, t: i64) -> Option<(String, BTreeSet<String>)> {
        let hash = token.hash();
        if let Some((id, _)) = self
            .peers
            .iter()
            .find(|(_, (_, _, h))| h.as_deref() == Some(hash.as_str()))
        {
            return Some((id.clone(), self.peer(id, t)?));
        }
        let (owner, scopes, usable) = self.keys.get(&hash)?;
        if !usable {
            return None;
        }
        let held = self.peer(owner, t).or_else(|| self.principal(owner, t))?;
        Some((owner.clone(), scopes.intersection(&held).cloned().collect()))
    }
}

/// The provider's answer is within the model's at the start of the check
/// (grants only shrink as time passes here: nothing starts later), and,
/// while every ACL row loads, covers the model's at its end.
fn check(
    what: &str,
    got: Option<alknet_graphs::identity::Identity>,
    before: Option<(String, BTreeSet<String>)>,
    after: Option<(String, BTreeSet<String>)>,
    exact: bool,
) -> Result<(), TestCaseError> {
    let got = got.map(|i| (i.id, i.scopes.into_iter().collect::<BTreeSet<String>>()));
    if let Some((id, scopes)) = &got {
        let Some((want_id, allowed)) = &before else {
            return Err(TestCaseError::fail(format!(
                "{what}: resolved {id} {scopes:?}; the model grants nothing"
            )));
        };
        prop_assert_eq!(id, want_id, "{}", what);
        prop_assert!(
            scopes.is_subset(allowed),
            "{}: {:?} is more than the model's {:?}",
            what,
            scopes,
            allowed
        );
    }
    if exact {
        if let Some((want_id, floor)) = &after {
            let Some((id, scopes)) = &got else {
                return Err(TestCaseError::fail(format!(
                    "{what}: resolved nothing; the model grants {want_id} {floor:?}"
                )));
            };
            prop_assert_eq!(id, want_id, "{}", what);
            prop_assert!(
                floor.is_subset(scopes),
                "{}: {:?} is less than the model's {:?}",
                what,
                scopes,
                floor
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The run

fn raw(store: &Store, sql: &str, params: impl rusqlite::Params) {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.execute(sql, params).unwrap();
}

fn forged(doc: &Value, to: &str) -> Value {
    let mut doc = doc.clone();
    doc["edges"].as_array_mut().unwrap().push(json!({
        "key": format!("forged {to}"), "source": to, "target": "root",
        "attributes": {"@type": "delegates", "narrowed_scopes": ["admin"]}
    }));
    doc
}

fn apply(
    op: &Op,
    store: &Store,
    acl: &mut Acl,
    ids: &SqliteIdentityProvider,
    tokens: &mut Vec<AuthToken>,
) -> Result<(), TestCaseError> {
    let now = now();
    match op {
        Op::Principal { id, kind: k, scopes: mask } => {
            let principal = Principal::new(IDS[*id], kind(*k)).scopes(scopes(*mask));
            if acl.add_principal(&principal).is_err() {
                let _ = acl.update_principal(&principal);
            }
        }
        Op::RemovePrincipal(id) => {
            let _ = acl.remove_principal(IDS[*id]);
        }
        Op::Delegate { from, to, scopes: mask, until } => {
            let mut delegation = Delegation::new(name(*from), IDS[*to]).scopes(scopes(*mask));
            if let Some(t) = until.at(now) {
                delegation = delegation.expires_at(t);
            }
            if acl.delegate(&delegation).is_err() {
                let _ = acl.update_delegation(&delegation);
            }
        }
        Op::Revoke { from, to } => {
            let _ = acl.revoke(name(*from), IDS[*to]);
        }
        Op::Member { member, group, until } => {
            let mut membership = Membership::new(IDS[*member], IDS[*group]);
            membership.validity.expires_at = until.at(now);
            let _ = acl.add_membership(&membership);
        }
        Op::Unmember { member, group } => {
            let _ = acl.remove_membership(IDS[*member], IDS[*group]);
        }
        Op::Peer { id, scopes: mask } => {
            let peer = PeerEntry::new(IDS[*id])
                .fingerprint(fp(*id))
                .token(&peer_token(*id))
                .scopes(scopes(*mask));
            if ids.insert_peer(peer.clone()).is_err() {
                let _ = ids.replace_peer(peer);
            }
        }
        Op::RemovePeer(id) => {
            let _ = ids.delete_peer(IDS[*id]);
        }
        Op::Key { owner, scopes: mask, until } => {
            let mut key = NewApiKey::new("k", IDS[*owner]).scopes(scopes(*mask));
            if let Some(t) = until.at(now) {
                key = key.expires_at(t);
            }
            if let Ok((_, token)) = ids.create_api_key(key) {
                tokens.push(token);
            }
        }
        Op::RevokeKey(k) | Op::EnableKey(k, _) => {
            let keys = ids.api_keys().unwrap();
            if let Some(key) = keys.get(*k) {
                let _ = match op {
                    Op::EnableKey(_, on) => ids.set_api_key_enabled(&key.id, *on),
                    _ => ids.revoke_api_key(&key.id),
                };
            }
        }
        Op::Generic(which) => {
            let before = common::snapshot(store);
            let err = store
                .write(|tx| match which {
                    0 => tx.patch_node("acl", "root", &json!({"scopes": ["admin"]})).map(drop),
                    1 => tx.add_node("acl", "repo", "resource", &json!({"resource_type": "repo"})),
                    2 => tx
                        .add_edge("acl", NewEdge::new("delegates", "root", "p0").key("g").attributes(&json!({"narrowed_scopes": ["admin"]})))
                        .map(drop),
                    3 => tx.drop_graph("acl"),
                    _ => tx.remove_node("acl", "root"),
                })
                .expect_err("a generic write to the ACL is refused");
            prop_assert!(err.is_protected(), "{}", err);
            prop_assert_eq!(common::snapshot(store), before);
        }
        Op::Reimport | Op::ForgedImport(_) => {
            let doc = store.read(|r| export_graphology(r, "acl")).unwrap();
            match op {
                Op::ForgedImport(to) if acl.graph().principal(IDS[*to]).is_some() => {
                    let before = common::snapshot(store);
                    prop_assert!(acl.import_graphology(&forged(&doc, IDS[*to]), true).is_err());
                    prop_assert_eq!(common::snapshot(store), before);
                }
                Op::ForgedImport(_) => {}
                // A faithful copy of a loadable ACL imports; one holding a
                // row written around the engine is refused.
                _ => {
                    let _ = acl.import_graphology(&doc, true);
                }
            }
        }
        Op::RawMalformed => raw(
            store,
            "INSERT OR IGNORE INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
               SELECT g.id, 'repo', t.id, '{\"resource_type\": \"repo\"}', 0, 0
                 FROM graphs g JOIN node_types t ON t.graph_type_id = g.graph_type_id
                WHERE g.name = 'acl' AND t.name = 'resource'",
            [],
        ),
        Op::RawRepair => raw(store, "DELETE FROM nodes WHERE key = 'repo'", []),
        Op::RawRevoke { from, to } => raw(
            store,
            "UPDATE edges SET attributes = json_set(attributes, '$.revoked_at', ?1) WHERE key = ?2",
            rusqlite::params![now, format!("delegates {} {}", name(*from), IDS[*to])],
        ),
        Op::RawLower(id) => raw(
            store,
            "UPDATE nodes SET attributes = json_set(attributes, '$.scopes', json('[]')) WHERE key = ?1",
            [IDS[*id]],
        ),
        Op::RawRemovePeer(id) => {
            let conn = rusqlite::Connection::open(store.path()).unwrap();
            let row: Option<i64> = conn
                .query_row("SELECT id FROM peers WHERE peer_id = ?1", [IDS[*id]], |r| r.get(0))
                .optional()
                .unwrap();
            if let Some(row) = row {
                conn.execute("DELETE FROM peer_fingerprints WHERE peer = ?1", [row]).unwrap();
                conn.execute("DELETE FROM peers WHERE id = ?1", [row]).unwrap();
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(
        "fail_closed_props.txt",
        common::cases_or(24),
    ))]

    #[test]
    fn no_path_serves_a_grant_the_committed_rows_do_not_give(ops in proptest::collection::vec(op(), 1..28)) {
        let (_dir, store) = common::store();
        let mut acl = Acl::open(&store).unwrap();
        acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(SCOPES)).unwrap();
        let ids = SqliteIdentityProvider::builder().listen(false).open(&store).unwrap();
        let mut tokens: Vec<AuthToken> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            apply(op, &store, &mut acl, &ids, &mut tokens)?;
            let _ = ids.refresh();
            let t0 = now();
            let before = committed(&store, t0);
            let answers: Vec<_> = (0..IDS.len())
                .map(|i| ids.resolve_from_fingerprint(&fp(i)))
                .chain((0..IDS.len()).map(|i| ids.resolve_from_token(&peer_token(i))))
                .chain(tokens.iter().map(|t| ids.resolve_from_token(t)))
                .collect();
            let t1 = now();
            let after = committed(&store, t1);
            let exact = before.acl_loads;
            let mut answers = answers.into_iter();
            for (i, id) in IDS.iter().enumerate() {
                let what = format!("step {step} ({op:?}): fingerprint of {id}");
                check(&what, answers.next().flatten(), before.by_fingerprint(&fp(i), t0), after.by_fingerprint(&fp(i), t1), exact)?;
            }
            for (i, id) in IDS.iter().enumerate() {
                let what = format!("step {step} ({op:?}): token of peer {id}");
                check(&what, answers.next().flatten(), before.by_token(&peer_token(i), t0), after.by_token(&peer_token(i), t1), exact)?;
            }
            for (k, token) in tokens.iter().enumerate() {
                let what = format!("step {step} ({op:?}): API key {k}");
                check(&what, answers.next().flatten(), before.by_token(token, t0), after.by_token(token, t1), exact)?;
            }
        }
    }
}
