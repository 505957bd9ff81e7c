//! The registry and the ACL in memory, and what a change does to them and to
//! the snapshot reads are served from.
//!
//! Nothing here reads the store: the catch-up reads the rows and hands them
//! over as a [`Registry`] (everything) or as [`Changes`] (what a run of
//! change batches named). A peer resolves to its own grant ∪ the effective
//! grant of the principal it binds to; an API key to key ∩ what its owner
//! holds. Each is indexed in the snapshot under its fingerprints and token
//! hash, computed when indexed, so a lookup stays a map read.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use crate::acl::follow::{AclFollower, Changed};
use crate::acl::{AddAction, EffectiveGrant, Permission, ScopeSet};
use crate::identity::snapshot::{Digest, Resolved, Snapshot, TokenEntry};
use crate::identity::tables::KeyRow;
use crate::identity::{ApiKey, EncryptedData, Identity, NewApiKey, PeerEntry, ProviderHealth};
use crate::time::now_ms;

/// The registry and the ACL in memory, as far as they follow the store.
pub(super) struct Model {
    /// The ACL, following the change stream; its offset is the one the
    /// registry follows too.
    pub(super) acl: AclFollower,
    /// Whether the next catch-up must reload the registry tables.
    pub(super) registry_dirty: bool,
    /// The peers, by id.
    pub(super) peers: HashMap<String, PeerEntry>,
    /// The API keys, by id.
    keys: HashMap<String, KeyRow>,
    /// Key ids by owner id: the keys to re-index when an owner's grant
    /// changes.
    keys_by_owner: HashMap<String, BTreeSet<String>>,
    /// `valid_until` of served grants (peers' and keys'), earliest first;
    /// may hold outdated instants. Only wakes the listener.
    expiries: BinaryHeap<Reverse<i64>>,
}

/// The registry tables, read whole.
pub(super) struct Registry {
    pub(super) peers: Vec<PeerEntry>,
    pub(super) keys: Vec<KeyRow>,
    pub(super) credentials: HashMap<String, EncryptedData>,
}

/// The current rows of what a run of change batches named (`None`:
/// removed).
pub(super) struct Changes {
    pub(super) peers: Vec<(String, Option<PeerEntry>)>,
    pub(super) keys: Vec<(String, Option<KeyRow>)>,
    pub(super) credentials: Vec<(String, Option<EncryptedData>)>,
}

impl Changes {
    /// No changed row.
    pub(super) fn none() -> Self {
        Changes {
            peers: Vec::new(),
            keys: Vec::new(),
            credentials: Vec::new(),
        }
    }
}

impl Model {
    /// An empty model, with an empty ACL resolving delegation chains up to
    /// `max_depth`; its first catch-up loads the registry.
    pub(super) fn new(max_depth: u32) -> Self {
        Model {
            acl: AclFollower::new(max_depth, now_ms()),
            registry_dirty: true,
            peers: HashMap::new(),
            keys: HashMap::new(),
            keys_by_owner: HashMap::new(),
            expiries: BinaryHeap::new(),
        }
    }

    /// Makes the next catch-up reload the registry and the ACL whole, for
    /// when changes may have gone unseen.
    pub(super) fn invalidate(&mut self) {
        self.registry_dirty = true;
        self.acl.invalidate();
    }

    /// Records that the registry could not be read: nothing is served, so
    /// no grant's expiry is awaited, and the next catch-up reloads the
    /// registry whole.
    pub(super) fn set_unavailable(&mut self) {
        self.registry_dirty = true;
        self.expiries.clear();
    }

    /// The next instant a served grant may change with no write.
    pub(super) fn next_expiry(&self) -> Option<i64> {
        self.expiries.peek().map(|Reverse(t)| *t)
    }

    /// Replaces the registry with `registry` and builds a snapshot of
    /// everything, as of `revision`, served with `health`.
    pub(super) fn load(
        &mut self,
        registry: Registry,
        revision: u64,
        health: ProviderHealth,
    ) -> Snapshot {
        self.peers = registry
            .peers
            .into_iter()
            .map(|p| (p.peer_id.clone(), p))
            .collect();
        self.keys.clear();
        self.keys_by_owner.clear();
        for row in registry.keys {
            self.insert_key(row);
        }
        self.registry_dirty = false;
        self.rebuild_all(Arc::new(registry.credentials), revision, health)
    }

    /// Moves the ACL resolution to `now` and returns the snapshot that
    /// follows `current` with the peers and keys whose grant that
    /// recomputed re-served; `None` when no grant changed, or when
    /// `current` serves nothing.
    pub(super) fn advance(&mut self, now: i64, current: &Snapshot) -> Option<Snapshot> {
        while self.expiries.peek().is_some_and(|Reverse(t)| *t <= now) {
            self.expiries.pop();
        }
        let changed = self.acl.advance(now);
        if changed.is_empty() || matches!(current.health, ProviderHealth::Unavailable { .. }) {
            return None;
        }
        let all = changed == Changed::All;
        Some(self.apply(current, Changes::none(), changed, all))
    }

    /// Applies changed rows to the model and builds the next snapshot from
    /// `current`, re-indexing only the peers and keys they reach (or
    /// everything, when `everything`): changed peers and keys, the peers of
    /// principals in `changed`, and the keys owned by any of those.
    pub(super) fn apply(
        &mut self,
        current: &Snapshot,
        changes: Changes,
        changed: Changed,
        everything: bool,
    ) -> Snapshot {
        let Changes {
            peers,
            keys,
            credentials,
        } = changes;
        let mut next = Snapshot::clone(current);
        if !credentials.is_empty() {
            let map = Arc::make_mut(&mut next.credentials);
            for (provider, data) in credentials {
                match data {
                    Some(data) => map.insert(provider, data),
                    None => map.remove(&provider),
                };
            }
        }
        // Unindex what changed peers and keys resolved through before, all
        // of it before anything new is indexed: a token hash may move from
        // one owner to another within the run.
        let mut owners: BTreeSet<String> = BTreeSet::new();
        for (id, row) in peers {
            if let Some(old) = self.peers.get(&id) {
                unindex_peer(&mut next, old);
            }
            match row {
                Some(peer) => self.peers.insert(id.clone(), peer),
                None => self.peers.remove(&id),
            };
            owners.insert(id);
        }
        let mut key_ids: BTreeSet<String> = BTreeSet::new();
        for (id, row) in keys {
            if let Some(old) = self.keys.get(&id) {
                unindex_key(&mut next, old);
            }
            match row {
                Some(row) => self.insert_key(row),
                None => {
                    self.remove_key(&id);
                }
            }
            key_ids.insert(id);
        }
        if everything {
            let health = next.health.clone();
            return self.rebuild_all(next.credentials, next.revision, health);
        }
        if let Changed::Principals(ids) = changed {
            owners.extend(ids);
        }
        key_ids.extend(self.keys_of(&owners));
        for id in &owners {
            if let Some(peer) = self.peers.get(id) {
                let resolved = self.resolve_peer(peer);
                if let Some(t) = resolved.valid_until {
                    self.expiries.push(Reverse(t));
                }
                index_peer(&mut next, peer, resolved);
            }
        }
        for id in &key_ids {
            if let Some(row) = self.keys.get(id) {
                let valid_until = index_key(&mut next, self, row);
                if let Some(t) = valid_until {
                    self.expiries.push(Reverse(t));
                }
            }
        }
        next
    }

    /// Builds a snapshot of everything in the model.
    fn rebuild_all(
        &mut self,
        credentials: Arc<HashMap<String, EncryptedData>>,
        revision: u64,
        health: ProviderHealth,
    ) -> Snapshot {
        let mut next = Snapshot::empty();
        next.revision = revision;
        next.credentials = credentials;
        next.health = health;
        let mut expiries = Vec::new();
        // Every peer's principal first, in a pass of its own: looked up
        // between resolving one peer and the next, each lookup would find
        // the name index evicted from the cache. Then the peers in the
        // order of their principals' slots, which the resolution reads.
        let mut peers: Vec<(Option<u32>, &PeerEntry)> = self
            .peers
            .values()
            .map(|peer| (self.bound_principal(&peer.peer_id), peer))
            .collect();
        peers.sort_unstable_by_key(|&(bound, _)| bound);
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = threads.min(peers.len() / PEERS_PER_THREAD).max(1);
        for ((_, peer), resolved) in peers.iter().zip(self.resolve_all(&peers, threads)) {
            expiries.extend(resolved.valid_until);
            index_peer(&mut next, peer, resolved);
        }
        for row in self.keys.values() {
            expiries.extend(index_key(&mut next, self, row));
        }
        self.expiries = expiries.into_iter().map(Reverse).collect();
        next
    }

    /// [`resolve_bound`](Self::resolve_bound) of every one of `peers`, in
    /// order: pure memory work over a graph nothing writes meanwhile, so
    /// a large registry is split between `threads` threads.
    fn resolve_all(&self, peers: &[(Option<u32>, &PeerEntry)], threads: usize) -> Vec<Resolved> {
        let resolve_run = |run: &[(Option<u32>, &PeerEntry)]| -> Vec<Resolved> {
            run.iter()
                .map(|&(bound, peer)| self.resolve_bound(peer, bound))
                .collect()
        };
        if threads <= 1 || peers.is_empty() {
            return resolve_run(peers);
        }
        let chunk = peers.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let runs: Vec<_> = peers
                .chunks(chunk)
                .skip(1)
                .map(|run| scope.spawn(move || resolve_run(run)))
                .collect();
            let mut resolved = resolve_run(&peers[..chunk]);
            for run in runs {
                match run.join() {
                    Ok(more) => resolved.extend(more),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            resolved
        })
    }

    fn insert_key(&mut self, row: KeyRow) {
        self.keys_by_owner
            .entry(row.key.owner_id.clone())
            .or_default()
            .insert(row.key.id.clone());
        if let Some(old) = self.keys.insert(row.key.id.clone(), row) {
            self.unlink_key(&old);
        }
    }

    fn remove_key(&mut self, id: &str) -> Option<KeyRow> {
        let old = self.keys.remove(id)?;
        self.unlink_key(&old);
        Some(old)
    }

    /// Drops `old` from the owner index unless the current row of its id
    /// still has that owner.
    fn unlink_key(&mut self, old: &KeyRow) {
        let same_owner = self
            .keys
            .get(&old.key.id)
            .is_some_and(|row| row.key.owner_id == old.key.owner_id);
        if same_owner {
            return;
        }
        if let Some(ids) = self.keys_by_owner.get_mut(&old.key.owner_id) {
            ids.remove(&old.key.id);
            if ids.is_empty() {
                self.keys_by_owner.remove(&old.key.owner_id);
            }
        }
    }

    /// The keys owned by any of `owners`.
    fn keys_of<'a>(&self, owners: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
        owners
            .into_iter()
            .filter_map(|owner| self.keys_by_owner.get(owner))
            .flatten()
            .cloned()
            .collect()
    }

    /// Whether the principal `id` is one a peer of that id binds to (an
    /// account or a service).
    pub(super) fn binds(&self, id: &str) -> bool {
        self.bound_principal(id).is_some()
    }

    /// The slot of the principal a peer of id `id` binds to, if any.
    fn bound_principal(&self, id: &str) -> Option<u32> {
        let graph = self.acl.graph();
        graph.index_of(id).filter(|&ix| {
            graph.slot(ix).is_some_and(|slot| {
                let p = &slot.principal;
                crate::acl::binding::binding_problem(&p.identity_id, p.identity_type).is_none()
            })
        })
    }

    /// The peer's own grant ∪ the effective ACL grant of the principal it
    /// binds to: the principal whose `identity_id` is the peer id, if that
    /// is an account or a service (an org or a role is reached only through
    /// memberships, never by a name match). With the ACL unavailable the
    /// follower's graph is empty, and this is the peer's own grant.
    fn resolve_peer(&self, peer: &PeerEntry) -> Resolved {
        self.resolve_bound(peer, self.bound_principal(&peer.peer_id))
    }

    /// [`resolve_peer`](Self::resolve_peer), given the slot of the
    /// principal the peer binds to.
    fn resolve_bound(&self, peer: &PeerEntry, bound: Option<u32>) -> Resolved {
        let mut scopes: ScopeSet = peer.scopes.iter().collect();
        let mut resources = peer.resources.clone();
        for actions in resources.values_mut() {
            actions.sort_unstable();
            actions.dedup();
        }
        let mut valid_until = None;
        let graph = self.acl.graph();
        if let Some(ix) = bound {
            let resolution = self.acl.resolution();
            match resolution.add_held(graph, ix, &mut scopes, &mut resources) {
                Some(until) => valid_until = until,
                None => {
                    if let Some(grant) = resolution.effective(graph, &peer.peer_id) {
                        scopes.extend(&grant.scopes);
                        for (resource, actions) in &grant.resources {
                            for action in actions {
                                resources.add_action(resource, action);
                            }
                        }
                        valid_until = grant.valid_until;
                    }
                }
            }
        }
        Resolved {
            identity: Identity {
                id: peer.peer_id.clone(),
                scopes,
                resources,
            },
            valid_until,
        }
    }

    /// What an API key's owner holds now: a peer's grant as
    /// [`resolve_peer`](Self::resolve_peer) computes it; otherwise an ACL
    /// principal's effective grant; `None` for an owner that is neither.
    pub(super) fn owner_grant(&self, owner: &str) -> Option<Resolved> {
        if let Some(peer) = self.peers.get(owner) {
            return Some(self.resolve_peer(peer));
        }
        let graph = self.acl.graph();
        graph.principal(owner)?;
        let grant = self.acl.resolution().effective(graph, owner)?;
        let valid_until = grant.valid_until;
        Some(Resolved {
            identity: grant.into_identity(owner),
            valid_until,
        })
    }
}

/// Fewer peers than this a thread are resolved on the calling thread
/// alone: starting a thread costs what resolving some thousands does.
const PEERS_PER_THREAD: usize = 8_192;

/// The peer's own grant ∪ `bound`, the effective grant of the principal
/// it binds to (`None`: it binds to none, or that principal holds
/// nothing), as one grant.
pub(super) fn peer_grant(peer: &PeerEntry, bound: Option<EffectiveGrant>) -> EffectiveGrant {
    let mut grant = EffectiveGrant {
        scopes: peer.scopes.iter().cloned().collect(),
        resources: peer
            .resources
            .iter()
            .map(|(resource, actions)| (resource.clone(), actions.iter().cloned().collect()))
            .collect(),
        valid_until: None,
    };
    if let Some(bound) = bound {
        grant.scopes.extend(bound.scopes);
        for (resource, actions) in bound.resources {
            grant.resources.entry(resource).or_default().extend(actions);
        }
        grant.valid_until = bound.valid_until;
    }
    grant
}

/// What a key holds within what its owner holds: key ∩ owner.
pub(crate) fn attenuate(key: &ApiKey, owner: &Identity) -> Identity {
    let scopes = key
        .scopes
        .iter()
        .filter(|scope| owner.scopes.contains(scope))
        .cloned()
        .collect();
    let resources = key
        .resources
        .iter()
        .filter_map(|(resource, actions)| {
            let held = owner.resources.get(resource)?;
            let kept: Vec<String> = actions
                .iter()
                .filter(|action| held.contains(action))
                .cloned()
                .collect();
            (!kept.is_empty()).then(|| (resource.clone(), kept))
        })
        .collect();
    Identity {
        id: key.owner_id.clone(),
        scopes,
        resources,
    }
}

/// What of `key` its owner does not hold, as `acl delegate` names it:
/// `"deploy:prod"`, `write on "repo"`.
pub(super) fn not_held(key: &NewApiKey, owner: &Identity) -> Vec<Permission> {
    let mut missing: Vec<Permission> = key
        .scopes
        .iter()
        .filter(|scope| !owner.scopes.contains(scope))
        .map(Permission::scope)
        .collect();
    let mut resources: Vec<_> = key.resources.iter().collect();
    resources.sort();
    for (resource, actions) in resources {
        let held = owner.resources.get(resource);
        missing.extend(
            actions
                .iter()
                .filter(|action| !held.is_some_and(|held| held.contains(action)))
                .map(|action| Permission::resource(resource, action)),
        );
    }
    missing
}

/// The snapshot's keys of the peer's fingerprints. A stored fingerprint
/// that is not one (a file edited by hand) has none, and is never served.
fn fingerprint_keys(peer: &PeerEntry) -> impl Iterator<Item = Digest> + '_ {
    peer.fingerprints
        .iter()
        .filter_map(|fingerprint| Digest::of_fingerprint(fingerprint))
}

/// The snapshot's key of the peer's token hash, if it has one.
fn token_key(peer: &PeerEntry) -> Option<Digest> {
    peer.auth_token_hash
        .as_deref()
        .and_then(Digest::of_token_hash)
}

/// Drops the peer's fingerprints and token hash from `next`.
fn unindex_peer(next: &mut Snapshot, peer: &PeerEntry) {
    for key in fingerprint_keys(peer) {
        next.fingerprints.remove(&key);
    }
    if let Some(key) = token_key(peer) {
        next.tokens.remove(&key);
    }
}

/// Serves `resolved` under each of the peer's fingerprints and its token
/// hash.
fn index_peer(next: &mut Snapshot, peer: &PeerEntry, resolved: Resolved) {
    let token = token_key(peer);
    let mut fingerprints = fingerprint_keys(peer).peekable();
    while let Some(key) = fingerprints.next() {
        if fingerprints.peek().is_none() && token.is_none() {
            next.fingerprints.insert(key, resolved);
            return;
        }
        next.fingerprints.insert(key, resolved.clone());
    }
    if let Some(key) = token {
        next.tokens.insert(key, TokenEntry::Peer(resolved));
    }
}

/// Drops the key's token hash from `next`, unless it serves a peer now.
fn unindex_key(next: &mut Snapshot, row: &KeyRow) {
    let Some(key) = Digest::of_token_hash(&row.hash) else {
        return;
    };
    if matches!(next.tokens.get(&key), Some(TokenEntry::Key { .. })) {
        next.tokens.remove(&key);
    }
}

/// Serves a key as key ∩ its owner's current grant, computed now so the
/// lookup stays a map read; an unusable key, or one whose owner is gone,
/// is not served. Returns the owner grant's `valid_until`.
fn index_key(next: &mut Snapshot, model: &Model, row: &KeyRow) -> Option<i64> {
    let key = &row.key;
    let owner = (key.enabled && key.revoked_at.is_none())
        .then(|| model.owner_grant(&key.owner_id))
        .flatten();
    let (Some(owner), Some(hash)) = (owner, Digest::of_token_hash(&row.hash)) else {
        unindex_key(next, row);
        return None;
    };
    next.tokens.insert(
        hash,
        TokenEntry::Key {
            identity: attenuate(key, &owner.identity),
            expires_at: key.expires_at,
            valid_until: owner.valid_until,
        },
    );
    owner.valid_until
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::acl::{Acl, IdentityType, Principal};
    use crate::identity::snapshot::Lookup;
    use crate::identity::AuthToken;
    use crate::Store;

    const MAX_DEPTH: u32 = 32;

    fn fingerprint(n: usize) -> String {
        format!("ed25519:{}", format!("{n:02x}").repeat(32))
    }

    fn token_hash(label: &str) -> String {
        AuthToken::new(label).hash()
    }

    fn key(id: &str, owner: &str) -> KeyRow {
        KeyRow {
            key: ApiKey {
                id: id.to_owned(),
                name: id.to_owned(),
                owner_id: owner.to_owned(),
                scopes: Vec::new(),
                resources: HashMap::new(),
                enabled: true,
                expires_at: None,
                revoked_at: None,
                created_at: 0,
            },
            hash: token_hash(id),
        }
    }

    fn scoped(mut row: KeyRow, scopes: &[&str]) -> KeyRow {
        row.key.scopes = scopes.iter().map(|s| s.to_string()).collect();
        row
    }

    /// A model holding `peers` and `keys`, and the snapshot it serves.
    fn loaded(peers: Vec<PeerEntry>, keys: Vec<KeyRow>) -> (Model, Snapshot) {
        let mut model = Model::new(MAX_DEPTH);
        let registry = Registry {
            peers,
            keys,
            credentials: HashMap::new(),
        };
        let snapshot = model.load(registry, 1, ProviderHealth::Healthy);
        (model, snapshot)
    }

    /// The snapshot after a run changing only the rows of `peers`.
    fn with_peers(
        model: &mut Model,
        current: &Snapshot,
        peers: Vec<(&str, Option<PeerEntry>)>,
    ) -> Snapshot {
        let changes = Changes {
            peers: peers
                .into_iter()
                .map(|(id, row)| (id.to_owned(), row))
                .collect(),
            ..Changes::none()
        };
        model.apply(current, changes, Changed::none(), false)
    }

    /// The snapshot after a run changing only the row of key `id`.
    fn with_key(model: &mut Model, current: &Snapshot, id: &str, row: Option<KeyRow>) -> Snapshot {
        let changes = Changes {
            keys: vec![(id.to_owned(), row)],
            ..Changes::none()
        };
        model.apply(current, changes, Changed::none(), false)
    }

    /// What a lookup serves; none of these grants has a time bound, so
    /// none is ever stale.
    fn served(lookup: Lookup) -> Option<Identity> {
        match lookup {
            Lookup::Found(identity) => Some(identity),
            Lookup::Missing => None,
            Lookup::Stale => panic!("a grant with no time bound is stale"),
        }
    }

    fn scopes_by_fingerprint(snapshot: &Snapshot, n: usize) -> Option<Vec<String>> {
        served(snapshot.by_fingerprint(&fingerprint(n)))
            .map(|identity| identity.scopes.into_iter().collect())
    }

    fn by_token(snapshot: &Snapshot, hash: &str) -> Option<Identity> {
        served(snapshot.by_token_hash(hash))
    }

    fn ci(fingerprints: &[usize], token: &str, scopes: &[&str]) -> PeerEntry {
        let mut peer = PeerEntry::new("ci").scopes(scopes.iter().copied());
        for &n in fingerprints {
            peer = peer.fingerprint(fingerprint(n));
        }
        peer.auth_token_hash = Some(token_hash(token));
        peer
    }

    #[test]
    fn a_peer_insert_indexes_its_fingerprints_and_token_hash() {
        let (mut model, empty) = loaded(Vec::new(), Vec::new());
        let next = with_peers(
            &mut model,
            &empty,
            vec![("ci", Some(ci(&[1, 2], "first", &["build"])))],
        );
        assert_eq!(scopes_by_fingerprint(&next, 1), Some(vec!["build".into()]));
        assert_eq!(scopes_by_fingerprint(&next, 2), Some(vec!["build".into()]));
        assert_eq!(by_token(&next, &token_hash("first")).unwrap().id, "ci");
        assert_eq!((next.fingerprints.len(), next.tokens.len()), (2, 1));
        // The snapshot it was built from is left as it was.
        assert_eq!(scopes_by_fingerprint(&empty, 1), None);
        assert_eq!((empty.fingerprints.len(), empty.tokens.len()), (0, 0));
    }

    #[test]
    fn a_peer_update_unindexes_what_it_no_longer_holds() {
        let (mut model, before) = loaded(vec![ci(&[1, 2], "first", &["build"])], Vec::new());
        let next = with_peers(
            &mut model,
            &before,
            vec![("ci", Some(ci(&[2, 3], "second", &["deploy"])))],
        );
        assert_eq!(scopes_by_fingerprint(&next, 1), None);
        assert_eq!(scopes_by_fingerprint(&next, 2), Some(vec!["deploy".into()]));
        assert_eq!(scopes_by_fingerprint(&next, 3), Some(vec!["deploy".into()]));
        assert_eq!(by_token(&next, &token_hash("first")), None);
        assert_eq!(
            by_token(&next, &token_hash("second")).unwrap().scopes,
            ["deploy"]
        );
        assert_eq!((next.fingerprints.len(), next.tokens.len()), (2, 1));
    }

    #[test]
    fn a_peer_remove_unindexes_its_fingerprints_and_token_hash() {
        let (mut model, before) = loaded(vec![ci(&[1, 2], "first", &["build"])], Vec::new());
        let next = with_peers(&mut model, &before, vec![("ci", None)]);
        assert_eq!(scopes_by_fingerprint(&next, 1), None);
        assert_eq!(scopes_by_fingerprint(&next, 2), None);
        assert_eq!(by_token(&next, &token_hash("first")), None);
        assert_eq!((next.fingerprints.len(), next.tokens.len()), (0, 0));
        assert!(model.peers.is_empty());
    }

    #[test]
    fn a_token_hash_moving_to_another_peer_within_a_run_is_served_for_it() {
        let mut b = PeerEntry::new("b");
        b.auth_token_hash = Some(token_hash("shared"));
        let (mut model, before) = loaded(vec![PeerEntry::new("a"), b], Vec::new());
        let mut a = PeerEntry::new("a");
        a.auth_token_hash = Some(token_hash("shared"));
        // In id order, as a run names them: "a" takes the hash before "b"
        // gives it up.
        let next = with_peers(
            &mut model,
            &before,
            vec![("a", Some(a)), ("b", Some(PeerEntry::new("b")))],
        );
        assert_eq!(by_token(&next, &token_hash("shared")).unwrap().id, "a");
        assert_eq!(next.tokens.len(), 1);
    }

    #[test]
    fn an_api_key_is_attenuated_to_what_its_owner_holds() {
        let owner = ci(&[1], "peer", &["build", "test"]).resource("repo", ["read"]);
        let mut row = scoped(key("k", "ci"), &["build", "deploy"]);
        row.key.resources = HashMap::from([
            (
                "repo".to_owned(),
                vec!["read".to_owned(), "write".to_owned()],
            ),
            ("wiki".to_owned(), vec!["edit".to_owned()]),
        ]);
        let (mut model, snapshot) = loaded(vec![owner], vec![row.clone()]);
        let held = by_token(&snapshot, &row.hash).expect("the key is served");
        assert_eq!(held.id, "ci");
        assert_eq!(held.scopes, ["build"]);
        assert_eq!(
            held.resources,
            HashMap::from([("repo".to_owned(), vec!["read".to_owned()])])
        );

        // The owner changes and the key, unchanged, follows it.
        let next = with_peers(
            &mut model,
            &snapshot,
            vec![("ci", Some(ci(&[1], "peer", &["deploy"])))],
        );
        let held = by_token(&next, &row.hash).expect("the key is served");
        assert_eq!(held.scopes, ["deploy"]);
        assert!(held.resources.is_empty());

        // The owner is gone: so is the key.
        let next = with_peers(&mut model, &next, vec![("ci", None)]);
        assert_eq!(by_token(&next, &row.hash), None);
        assert_eq!(next.tokens.len(), 0);
    }

    #[test]
    fn a_disabled_or_revoked_key_is_not_served() {
        let owner = ci(&[1], "peer", &["build"]);
        let row = scoped(key("k", "ci"), &["build"]);
        let (mut model, snapshot) = loaded(vec![owner], vec![row.clone()]);
        assert_eq!(by_token(&snapshot, &row.hash).unwrap().scopes, ["build"]);

        let mut disabled = row.clone();
        disabled.key.enabled = false;
        let next = with_key(&mut model, &snapshot, "k", Some(disabled));
        assert_eq!(by_token(&next, &row.hash), None);

        let next = with_key(&mut model, &next, "k", Some(row.clone()));
        assert_eq!(by_token(&next, &row.hash).unwrap().scopes, ["build"]);

        let mut revoked = row.clone();
        revoked.key.revoked_at = Some(5);
        let next = with_key(&mut model, &next, "k", Some(revoked));
        assert_eq!(by_token(&next, &row.hash), None);
        // The owner's own token is still served.
        assert_eq!(by_token(&next, &token_hash("peer")).unwrap().id, "ci");
    }

    #[test]
    fn a_key_moving_to_another_owner_follows_the_new_owner_only() {
        let first = PeerEntry::new("first").scopes(["a"]);
        let second = PeerEntry::new("second").scopes(["b"]);
        let row = scoped(key("k", "first"), &["a", "b"]);
        let (mut model, snapshot) = loaded(vec![first, second], vec![row.clone()]);
        assert_eq!(by_token(&snapshot, &row.hash).unwrap().scopes, ["a"]);

        let next = with_key(
            &mut model,
            &snapshot,
            "k",
            Some(scoped(key("k", "second"), &["a", "b"])),
        );
        assert_eq!(by_token(&next, &row.hash).unwrap().scopes, ["b"]);
        // Removing the old owner leaves the key as it is.
        let next = with_peers(&mut model, &next, vec![("first", None)]);
        assert_eq!(by_token(&next, &row.hash).unwrap().id, "second");
        assert_eq!(model.keys_of([&"first".to_owned()]), BTreeSet::new());
    }

    #[test]
    fn a_key_of_an_acl_principal_holds_within_its_effective_grant() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("model.db")).unwrap();
        let mut acl = Acl::open(&store).unwrap();
        let principal = Principal::new("svc", IdentityType::Service).scopes(["deploy", "build"]);
        acl.add_principal(&principal).unwrap();

        let mut model = Model::new(MAX_DEPTH);
        let read = store.begin_read().unwrap();
        model.acl.catch_up(&read, now_ms()).unwrap();
        drop(read);
        let row = scoped(key("k", "svc"), &["deploy", "admin"]);
        let registry = Registry {
            peers: Vec::new(),
            keys: vec![row.clone()],
            credentials: HashMap::new(),
        };
        let snapshot = model.load(registry, 1, ProviderHealth::Healthy);
        assert_eq!(by_token(&snapshot, &row.hash).unwrap().scopes, ["deploy"]);
        assert!(model.owner_grant("nobody").is_none());

        // The principal loses the scope: the catch-up names it, and the key
        // it owns is re-served without it.
        acl.update_principal(&Principal::new("svc", IdentityType::Service).scopes(["build"]))
            .unwrap();
        let read = store.begin_read().unwrap();
        let changed = model.acl.catch_up(&read, now_ms()).unwrap();
        assert_eq!(
            changed,
            Changed::Principals(BTreeSet::from(["svc".to_owned()]))
        );
        let next = model.apply(&snapshot, Changes::none(), changed, false);
        assert!(by_token(&next, &row.hash).unwrap().scopes.is_empty());
    }

    /// A model whose ACL follower has caught up with a store holding
    /// `principals`.
    fn following(principals: impl IntoIterator<Item = Principal>) -> Model {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("model.db")).unwrap();
        let mut acl = Acl::open(&store).unwrap();
        for principal in principals {
            acl.add_principal(&principal).unwrap();
        }
        let mut model = Model::new(MAX_DEPTH);
        model
            .acl
            .catch_up(&store.begin_read().unwrap(), now_ms())
            .unwrap();
        model
    }

    #[test]
    fn a_peer_holds_its_own_grant_and_that_of_the_account_or_service_of_its_id() {
        let mut model = following(
            [("ci", IdentityType::Service), ("team", IdentityType::Org)].map(
                |(id, identity_type)| {
                    Principal::new(id, identity_type)
                        .scopes(["deploy"])
                        .resource("repo", ["read", "admin"])
                        .resource("job", ["run"])
                },
            ),
        );
        let registry = Registry {
            peers: vec![
                PeerEntry::new("ci")
                    .fingerprint(fingerprint(1))
                    .scopes(["build"])
                    .resource("repo", ["write", "read", "write"]),
                PeerEntry::new("team")
                    .fingerprint(fingerprint(2))
                    .scopes(["x"]),
            ],
            keys: Vec::new(),
            credentials: HashMap::new(),
        };
        let snapshot = model.load(registry, 1, ProviderHealth::Healthy);
        assert_eq!(
            scopes_by_fingerprint(&snapshot, 1),
            Some(vec!["build".into(), "deploy".into()])
        );
        // The peer's own actions and the principal's, each once, sorted.
        let ci = served(snapshot.by_fingerprint(&fingerprint(1))).unwrap();
        let resources: BTreeMap<&str, Vec<&str>> = ci
            .resources
            .iter()
            .map(|(r, actions)| (r.as_str(), actions.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            resources,
            BTreeMap::from([
                ("job", vec!["run"]),
                ("repo", vec!["admin", "read", "write"])
            ])
        );
        // An org is reached through memberships, never by a name match.
        assert_eq!(scopes_by_fingerprint(&snapshot, 2), Some(vec!["x".into()]));
        assert!(model.binds("ci"));
        assert!(!model.binds("team"));
    }

    #[test]
    fn resolving_on_several_threads_answers_as_one_peer_at_a_time() {
        let model = following((0..40).step_by(3).map(|i| {
            Principal::new(format!("p{i}"), IdentityType::Service)
                .scopes([format!("s{i}")])
                .resource("repo", [format!("a{}", i % 4)])
        }));
        let peers: Vec<PeerEntry> = (0..40)
            .map(|i| {
                PeerEntry::new(format!("p{i}"))
                    .fingerprint(fingerprint(i))
                    .scopes([format!("own{}", i % 5)])
                    .resource("repo", [format!("a{}", i % 3)])
            })
            .collect();
        let bound: Vec<(Option<u32>, &PeerEntry)> = peers
            .iter()
            .map(|peer| (model.bound_principal(&peer.peer_id), peer))
            .collect();
        let one_by_one: Vec<Identity> = peers
            .iter()
            .map(|peer| model.resolve_peer(peer).identity)
            .collect();
        for threads in [1, 2, 3, 7, 40, 64] {
            let resolved: Vec<Identity> = model
                .resolve_all(&bound, threads)
                .into_iter()
                .map(|resolved| resolved.identity)
                .collect();
            assert_eq!(resolved, one_by_one, "{threads} threads");
        }
        assert!(model.resolve_all(&[], 4).is_empty());
    }

    #[test]
    fn attenuate_keeps_what_both_the_key_and_its_owner_hold() {
        let mut row = scoped(key("k", "ci"), &["a", "b"]);
        row.key.resources = HashMap::from([
            (
                "repo".to_owned(),
                vec!["read".to_owned(), "write".to_owned()],
            ),
            ("docs".to_owned(), vec!["edit".to_owned()]),
            ("wiki".to_owned(), vec!["view".to_owned()]),
        ]);
        let owner = Identity::new("ci")
            .scopes(["b", "c"])
            .resource("repo", ["write", "admin"])
            .resource("docs", ["view"]);
        let held = attenuate(&row.key, &owner);
        assert_eq!(held.id, "ci");
        assert_eq!(held.scopes, ["b"]);
        assert_eq!(
            held.resources,
            HashMap::from([("repo".to_owned(), vec!["write".to_owned()])])
        );
    }

    #[test]
    fn not_held_names_exactly_what_the_owner_lacks() {
        let owner = Identity::new("ci")
            .scopes(["ci"])
            .resource("repo", ["read"]);
        let key = NewApiKey::new("deploy", "ci")
            .scopes(["ci", "deploy:prod"])
            .resource("repo", ["read", "write"])
            .resource("zeta", ["x"])
            .resource("alpha", ["y"]);
        let named: Vec<String> = not_held(&key, &owner)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            named,
            [
                r#""deploy:prod""#,
                r#"y on "alpha""#,
                r#"write on "repo""#,
                r#"x on "zeta""#,
            ]
        );
        let within = NewApiKey::new("read", "ci")
            .scopes(["ci"])
            .resource("repo", ["read"]);
        assert!(not_held(&within, &owner).is_empty());
    }

    /// A registry state over small pools of ids, fingerprints and token
    /// hashes: peer `i` holds fingerprints and tokens of its own only, so
    /// every state is one the store could hold.
    #[derive(Debug, Clone)]
    enum Write {
        Peer(
            usize,
            Option<(Vec<usize>, Option<usize>, Vec<&'static str>)>,
        ),
        Key(usize, Option<(usize, Vec<&'static str>, bool, usize)>),
    }

    const PEERS: usize = 3;
    const KEYS: usize = 3;
    const SCOPES: [&str; 3] = ["a", "b", "c"];

    fn peer_id(i: usize) -> String {
        format!("p{i}")
    }

    fn key_id(j: usize) -> String {
        format!("k{j}")
    }

    fn peer_row(
        i: usize,
        fingerprints: &[usize],
        token: Option<usize>,
        scopes: &[&str],
    ) -> PeerEntry {
        let mut peer = PeerEntry::new(peer_id(i)).scopes(scopes.iter().copied());
        for &n in fingerprints {
            peer = peer.fingerprint(fingerprint(i * 10 + n));
        }
        peer.auth_token_hash = token.map(|t| token_hash(&format!("p{i}-{t}")));
        peer
    }

    /// Key `j` is owned by peer `owner`, or by no one when `owner` is
    /// [`PEERS`].
    fn key_row(j: usize, owner: usize, scopes: &[&str], enabled: bool, token: usize) -> KeyRow {
        let mut row = scoped(key(&key_id(j), &peer_id(owner)), scopes);
        row.key.enabled = enabled;
        row.hash = token_hash(&format!("k{j}-{token}"));
        row
    }

    fn write() -> impl Strategy<Value = Write> {
        let scopes = proptest::sample::subsequence(SCOPES.to_vec(), 0..=SCOPES.len());
        let peer = (
            proptest::sample::subsequence(vec![0, 1, 2], 0..=3),
            proptest::option::of(0..2usize),
            scopes.clone(),
        );
        let key = (0..=PEERS, scopes, any::<bool>(), 0..2usize);
        prop_oneof![
            (0..PEERS, proptest::option::of(peer)).prop_map(|(i, row)| Write::Peer(i, row)),
            (0..KEYS, proptest::option::of(key)).prop_map(|(j, row)| Write::Key(j, row)),
        ]
    }

    /// Every fingerprint and token hash a state of the pools can hold.
    fn every_credential() -> (Vec<String>, Vec<String>) {
        let fingerprints = (0..PEERS)
            .flat_map(|i| (0..3).map(move |n| fingerprint(i * 10 + n)))
            .collect();
        let peer_tokens = (0..PEERS).flat_map(|i| (0..2).map(move |t| format!("p{i}-{t}")));
        let key_tokens = (0..KEYS).flat_map(|j| (0..2).map(move |t| format!("k{j}-{t}")));
        let tokens = peer_tokens
            .chain(key_tokens)
            .map(|t| token_hash(&t))
            .collect();
        (fingerprints, tokens)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
        ))]

        /// Applying writes one run at a time serves exactly what loading
        /// the final registry from scratch serves.
        #[test]
        fn rebuilding_from_scratch_equals_applying_changes_one_by_one(
            writes in proptest::collection::vec(write(), 0..40),
        ) {
            let (mut model, mut snapshot) = loaded(Vec::new(), Vec::new());
            let mut peers: BTreeMap<String, PeerEntry> = BTreeMap::new();
            let mut keys: BTreeMap<String, KeyRow> = BTreeMap::new();
            for write in writes {
                let changes = match write {
                    Write::Peer(i, row) => {
                        let row = row.map(|(fps, token, scopes)| peer_row(i, &fps, token, &scopes));
                        match &row {
                            Some(peer) => peers.insert(peer_id(i), peer.clone()),
                            None => peers.remove(&peer_id(i)),
                        };
                        Changes { peers: vec![(peer_id(i), row)], ..Changes::none() }
                    }
                    Write::Key(j, row) => {
                        let row = row.map(|(owner, scopes, enabled, token)| {
                            key_row(j, owner, &scopes, enabled, token)
                        });
                        match &row {
                            Some(row) => keys.insert(key_id(j), row.clone()),
                            None => keys.remove(&key_id(j)),
                        };
                        Changes { keys: vec![(key_id(j), row)], ..Changes::none() }
                    }
                };
                snapshot = model.apply(&snapshot, changes, Changed::none(), false);
            }
            let (_, rebuilt) = loaded(peers.into_values().collect(), keys.into_values().collect());

            let (fingerprints, tokens) = every_credential();
            for fingerprint in &fingerprints {
                prop_assert_eq!(
                    served(snapshot.by_fingerprint(fingerprint)),
                    served(rebuilt.by_fingerprint(fingerprint)),
                    "fingerprint {}", fingerprint
                );
            }
            for hash in &tokens {
                prop_assert_eq!(
                    served(snapshot.by_token_hash(hash)),
                    served(rebuilt.by_token_hash(hash)),
                    "token hash {}", hash
                );
            }
            prop_assert_eq!(snapshot.fingerprints.len(), rebuilt.fingerprints.len());
            prop_assert_eq!(snapshot.tokens.len(), rebuilt.tokens.len());
        }
    }
}
