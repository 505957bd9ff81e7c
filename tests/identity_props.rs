//! Property: after any sequence of registry and ACL writes, the provider's
//! incrementally maintained snapshot answers every lookup exactly as a
//! naive model does: a plain map of peers with the uniqueness rules, plus
//! the ACL grant as a freshly opened `Acl` (a full reload) resolves it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal};
use alknet_graphs::identity::{AuthToken, IdentityProvider, PeerEntry, SqliteIdentityProvider};
use proptest::prelude::*;

const PEERS: usize = 4;
const FINGERPRINTS: u8 = 5;
const TOKENS: u8 = 3;
const SCOPES: [&str; 4] = ["a", "b", "c", "d"];

fn fp(i: u8) -> String {
    format!("ed25519:{}", format!("{i:02x}").repeat(32))
}

fn token(i: u8) -> AuthToken {
    AuthToken::new(format!("token-{i}-0123456789abcdef0123456789"))
}

fn scopes(mask: u8) -> Vec<String> {
    SCOPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| s.to_string())
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        peer: usize,
        fps: u8,
        token: Option<u8>,
        scopes: u8,
    },
    Replace {
        peer: usize,
        fps: u8,
        token: Option<u8>,
        scopes: u8,
    },
    Delete(usize),
    /// `root` delegates `scopes` to the peer's principal.
    Delegate {
        peer: usize,
        scopes: u8,
    },
    /// One peer's principal delegates to another's.
    Chain {
        from: usize,
        to: usize,
        scopes: u8,
    },
    Revoke {
        peer: usize,
    },
    RootScopes(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 0..PEERS;
    let fps = 0u8..(1 << FINGERPRINTS);
    let tok = proptest::option::of(0..TOKENS);
    prop_oneof![
        3 => (peer.clone(), fps.clone(), tok.clone(), 0u8..16)
            .prop_map(|(peer, fps, token, scopes)| Op::Insert { peer, fps, token, scopes }),
        2 => (peer.clone(), fps, tok, 0u8..16)
            .prop_map(|(peer, fps, token, scopes)| Op::Replace { peer, fps, token, scopes }),
        1 => peer.clone().prop_map(Op::Delete),
        2 => (peer.clone(), 0u8..16).prop_map(|(peer, scopes)| Op::Delegate { peer, scopes }),
        1 => (peer.clone(), peer.clone(), 0u8..16)
            .prop_map(|(from, to, scopes)| Op::Chain { from, to, scopes }),
        1 => peer.prop_map(|peer| Op::Revoke { peer }),
        1 => (0u8..16).prop_map(Op::RootScopes),
    ]
}

fn entry(peer: usize, fps: u8, token_ix: Option<u8>, mask: u8) -> PeerEntry {
    let mut entry = PeerEntry::new(format!("peer{peer}"));
    for i in 0..FINGERPRINTS {
        if fps & (1 << i) != 0 {
            entry = entry.fingerprint(fp(i));
        }
    }
    if let Some(t) = token_ix {
        entry = entry.token(&token(t));
    }
    entry.scopes(scopes(mask))
}

/// The naive peer table: refuses what the registry must refuse.
#[derive(Default)]
struct Model {
    peers: BTreeMap<String, PeerEntry>,
}

impl Model {
    fn conflicts(&self, peer: &PeerEntry) -> bool {
        self.peers.values().any(|other| {
            other.peer_id != peer.peer_id
                && (other
                    .fingerprints
                    .iter()
                    .any(|f| peer.fingerprints.contains(f))
                    || (peer.auth_token_hash.is_some()
                        && other.auth_token_hash == peer.auth_token_hash))
        })
    }

    fn insert(&mut self, peer: PeerEntry) -> bool {
        if self.peers.contains_key(&peer.peer_id) || self.conflicts(&peer) {
            return false;
        }
        self.peers.insert(peer.peer_id.clone(), peer);
        true
    }

    fn replace(&mut self, peer: PeerEntry) -> bool {
        if !self.peers.contains_key(&peer.peer_id) || self.conflicts(&peer) {
            return false;
        }
        self.peers.insert(peer.peer_id.clone(), peer);
        true
    }
}

fn expected(acl: &Acl, peer: &PeerEntry) -> (String, Vec<String>) {
    let mut all: BTreeSet<String> = peer.scopes.iter().cloned().collect();
    if let Some(grant) = acl.effective(&peer.peer_id) {
        all.extend(grant.scopes);
    }
    (peer.peer_id.clone(), all.into_iter().collect())
}

proptest! {
    #![proptest_config(common::proptest_config(
        "identity_props.txt",
        common::cases_or(24),
    ))]

    #[test]
    fn the_snapshot_matches_the_naive_model(ops in proptest::collection::vec(op(), 1..24)) {
        let (_dir, store) = common::store();
        let ids = SqliteIdentityProvider::builder().listen(false).open(&store).unwrap();
        let mut acl = Acl::open(&store).unwrap();
        acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(SCOPES)).unwrap();
        for p in 0..PEERS {
            acl.add_principal(&Principal::new(format!("peer{p}"), IdentityType::Service)).unwrap();
        }
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Insert { peer, fps, token, scopes } => {
                    let e = entry(peer, fps, token, scopes);
                    prop_assert_eq!(ids.insert_peer(e.clone()).is_ok(), model.insert(e));
                }
                Op::Replace { peer, fps, token, scopes } => {
                    let e = entry(peer, fps, token, scopes);
                    prop_assert_eq!(ids.replace_peer(e.clone()).is_ok(), model.replace(e));
                }
                Op::Delete(peer) => {
                    let id = format!("peer{peer}");
                    prop_assert_eq!(ids.delete_peer(&id).is_ok(), model.peers.remove(&id).is_some());
                }
                Op::Delegate { peer, scopes: mask } => {
                    // Refused when root no longer holds a scope; the store
                    // is then unchanged.
                    let d = Delegation::new("root", format!("peer{peer}")).scopes(scopes(mask));
                    if acl.delegate(&d).is_err() {
                        let _ = acl.update_delegation(&d);
                    }
                }
                Op::Chain { from, to, scopes: mask } => {
                    // Refused when the delegator lacks a scope or it is a
                    // self-delegation; either way the store is unchanged.
                    let d = Delegation::new(format!("peer{from}"), format!("peer{to}")).scopes(scopes(mask));
                    if acl.delegate(&d).is_err() {
                        let _ = acl.update_delegation(&d);
                    }
                }
                Op::Revoke { peer } => {
                    let _ = acl.revoke("root", &format!("peer{peer}"));
                }
                Op::RootScopes(mask) => {
                    acl.update_principal(&Principal::new("root", IdentityType::Account).scopes(scopes(mask))).unwrap();
                }
            }
            // The reference grant: a fresh full load of the ACL.
            let reference = Acl::open(&store).unwrap();
            for f in 0..FINGERPRINTS {
                let want = model
                    .peers
                    .values()
                    .find(|p| p.fingerprints.contains(&fp(f)))
                    .map(|p| expected(&reference, p));
                let got = ids.resolve_from_fingerprint(&fp(f)).map(|i| (i.id, i.scopes.into_iter().collect()));
                prop_assert_eq!(got, want, "fingerprint {}", f);
            }
            for t in 0..TOKENS {
                let hash = token(t).hash();
                let want = model
                    .peers
                    .values()
                    .find(|p| p.auth_token_hash.as_deref() == Some(hash.as_str()))
                    .map(|p| expected(&reference, p));
                let got = ids.resolve_from_token(&token(t)).map(|i| (i.id, i.scopes.into_iter().collect()));
                prop_assert_eq!(got, want, "token {}", t);
            }
        }
        prop_assert_eq!(store.begin_read().unwrap().verify_audit_chain().unwrap(), None);
    }
}
