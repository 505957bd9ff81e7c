//! [`SqliteIdentityProvider`]: the registry's writes, and the snapshot its
//! reads are served from, kept up to date from the change feed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rusqlite::OptionalExtension;

use super::executor::Worker;
use super::snapshot::{Lookup, Resolved, Snapshot, TokenEntry};
use super::tables::{self, KeyChange, KeyRow};
use super::validate::{self, canonical_fingerprint};
use super::{
    ApiKey, AuthToken, CredentialStore, EncryptedData, Identity, IdentityProvider, IdentityStore,
    NewApiKey, PeerEntry, StoreError,
};
use crate::acl::codec::{self, AclRows};
use crate::acl::resolve::Touched;
use crate::acl::{AclGraph, Resolution, DEFAULT_MAX_DEPTH};
use crate::feed::follow::{self, Follower};
use crate::feed::{Wake, Woken};
use crate::outbox::{ChangeBatch, EntityKind, CHANGE_TOPIC};
use crate::time::now_ms;
use crate::{Reader, Store, WriteTxn};

/// The longest the listener sleeps between checks that its provider is
/// still alive.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// How soon the listener retries after a failed catch-up.
const RETRY: Duration = Duration::from_millis(100);

/// Stream rows read per query while catching up.
const STREAM_PAGE: i64 = 256;

/// Options for opening a [`SqliteIdentityProvider`].
#[derive(Debug, Clone)]
pub struct ProviderBuilder {
    max_depth: u32,
    listen: bool,
}

impl Default for ProviderBuilder {
    fn default() -> Self {
        ProviderBuilder {
            max_depth: DEFAULT_MAX_DEPTH,
            listen: true,
        }
    }
}

impl ProviderBuilder {
    /// The maximum ACL delegation chain depth (default 32).
    pub fn max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Whether to follow writes made by other processes with a listener
    /// thread (default `true`). Without it, writes of this process are
    /// still seen at once, and [`SqliteIdentityProvider::refresh`] catches
    /// up on demand; a short-lived command needs no thread.
    pub fn listen(mut self, listen: bool) -> Self {
        self.listen = listen;
        self
    }

    /// Loads the registry and the ACL of `store` into memory and starts
    /// following its changes.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the store cannot be read or holds rows
    /// that do not decode.
    pub fn open(self, store: &Store) -> Result<SqliteIdentityProvider, StoreError> {
        // Subscribe before loading, so a commit in between is seen either by
        // the load or by a wake.
        // A store read as immutable cannot change: nothing to listen for.
        let wake = (self.listen && store.is_watchable())
            .then(|| Wake::new(store.canonical_path(), store.poll_interval()));
        let shared = Arc::new(Shared {
            store: store.clone(),
            max_depth: self.max_depth,
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            model: Mutex::new(Model::new(self.max_depth)),
            cursor: Mutex::new(Cursor {
                offset: 0,
                revision: 0,
                dirty: true,
            }),
            worker: Worker::default(),
            last_error: Mutex::new(None),
        });
        shared.catch_up()?;
        let follower: Arc<dyn Follower> = shared.clone();
        follow::register(store.canonical_path(), Arc::downgrade(&follower));
        if let Some(wake) = wake {
            let weak = Arc::downgrade(&shared);
            thread::Builder::new()
                .name("alknet-identity-listener".into())
                .spawn(move || listen(weak, wake))
                .map_err(|e| StoreError::Backend(format!("cannot start the listener: {e}")))?;
        }
        Ok(SqliteIdentityProvider {
            shared,
            actor: None,
        })
    }
}

/// The identity registry of a store, serving [`IdentityProvider`] and
/// [`CredentialStore::get`] from memory and writing through the store.
///
/// Cloning is cheap and shares the snapshot. See the
/// [module documentation](super) for an example.
#[derive(Clone)]
pub struct SqliteIdentityProvider {
    shared: Arc<Shared>,
    actor: Option<Arc<str>>,
}

struct Shared {
    store: Store,
    max_depth: u32,
    snapshot: ArcSwap<Snapshot>,
    /// The registry and ACL in memory; held only for in-memory work.
    model: Mutex<Model>,
    /// Serializes catch-ups (which read the store).
    cursor: Mutex<Cursor>,
    worker: Worker,
    last_error: Mutex<Option<String>>,
}

/// How far the snapshot has followed the change stream.
struct Cursor {
    /// The last stream offset applied.
    offset: i64,
    /// The store revision applied.
    revision: u64,
    /// Whether the next catch-up must reload everything.
    dirty: bool,
}

struct Model {
    acl: AclGraph,
    resolution: Resolution,
    peers: HashMap<String, PeerEntry>,
    keys: HashMap<String, KeyRow>,
    /// `(valid_until, peer_id)` of served grants; may hold outdated pairs.
    expiries: BinaryHeap<Reverse<(i64, String)>>,
}

impl Model {
    fn new(max_depth: u32) -> Self {
        let acl = AclGraph::new();
        let resolution = acl.resolver().max_depth(max_depth).resolve_all(now_ms());
        Model {
            acl,
            resolution,
            peers: HashMap::new(),
            keys: HashMap::new(),
            expiries: BinaryHeap::new(),
        }
    }
}

/// What a catch-up read from the store.
enum Delta {
    Full(Box<FullLoad>),
    Changes(Changes),
}

/// The current rows of what a run of change batches named (`None`:
/// removed).
struct Changes {
    peers: Vec<(String, Option<PeerEntry>)>,
    keys: Vec<(String, Option<KeyRow>)>,
    credentials: Vec<(String, Option<EncryptedData>)>,
    acl: AclRows,
}

/// Everything the snapshot derives from.
struct FullLoad {
    acl: AclGraph,
    resolution: Resolution,
    peers: Vec<PeerEntry>,
    keys: Vec<KeyRow>,
    credentials: HashMap<String, EncryptedData>,
}

/// The keys a run of change batches names.
#[derive(Default)]
struct Named {
    peers: BTreeSet<String>,
    keys: BTreeSet<String>,
    credentials: BTreeSet<String>,
    acl_nodes: BTreeSet<String>,
    acl_edges: BTreeSet<String>,
    /// The ACL's graph or types changed: reload everything.
    acl_structure: bool,
}

impl Named {
    fn add(&mut self, batch: ChangeBatch) {
        use crate::acl::{GRAPH, GRAPH_TYPE};
        for event in batch.events {
            match event.entity {
                EntityKind::Peer => {
                    self.peers.insert(event.key);
                }
                EntityKind::ApiKey => {
                    self.keys.insert(event.key);
                }
                EntityKind::Credential => {
                    self.credentials.insert(event.key);
                }
                EntityKind::Node if event.graph.as_deref() == Some(GRAPH) => {
                    self.acl_nodes.insert(event.key);
                }
                EntityKind::Edge if event.graph.as_deref() == Some(GRAPH) => {
                    self.acl_edges.insert(event.key);
                }
                EntityKind::Graph => self.acl_structure |= event.key == GRAPH,
                EntityKind::GraphType => self.acl_structure |= event.key == GRAPH_TYPE,
                EntityKind::NodeType | EntityKind::EdgeType => {
                    self.acl_structure |= event.graph_type.as_deref() == Some(GRAPH_TYPE);
                }
                _ => {}
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn backend(e: crate::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Shared {
    /// Brings the snapshot up to the store's current revision.
    fn catch_up(&self) -> Result<(), StoreError> {
        let mut cursor = lock(&self.cursor);
        let outcome = self.catch_up_locked(&mut cursor);
        match &outcome {
            Ok(()) => *lock(&self.last_error) = None,
            Err(e) => {
                cursor.dirty = true;
                *lock(&self.last_error) = Some(e.to_string());
            }
        }
        outcome
    }

    fn catch_up_locked(&self, cursor: &mut Cursor) -> Result<(), StoreError> {
        let read = self.store.begin_read().map_err(backend)?;
        let revision = read.revision().map_err(backend)?;
        if !cursor.dirty && revision == cursor.revision {
            return Ok(());
        }
        let now = now_ms();
        let (delta, offset) = if cursor.dirty {
            self.read_full(&read, now)?
        } else {
            match self.read_changes(&read, cursor.offset)? {
                Some(found) => found,
                None => self.read_full(&read, now)?,
            }
        };
        drop(read);
        let mut model = lock(&self.model);
        let snapshot = match delta {
            Delta::Full(full) => {
                let FullLoad {
                    acl,
                    resolution,
                    peers,
                    keys,
                    credentials,
                } = *full;
                model.acl = acl;
                model.resolution = resolution;
                model.peers = peers.into_iter().map(|p| (p.peer_id.clone(), p)).collect();
                model.keys = keys.into_iter().map(|k| (k.key.id.clone(), k)).collect();
                rebuild_all(&mut model, credentials, revision)
            }
            Delta::Changes(changes) => match self.apply(&mut model, changes, revision, now) {
                Some(snapshot) => snapshot,
                None => {
                    // The rows did not fit the graph in memory (it missed a
                    // change): start over from the store.
                    drop(model);
                    cursor.dirty = true;
                    return self.catch_up_locked(cursor);
                }
            },
        };
        self.snapshot.store(Arc::new(snapshot));
        drop(model);
        *cursor = Cursor {
            offset,
            revision,
            dirty: false,
        };
        Ok(())
    }

    /// Everything, read in one transaction, with the stream offset it
    /// reflects.
    fn read_full(&self, read: &Reader, now: i64) -> Result<(Delta, i64), StoreError> {
        let offset: i64 = read
            .conn()
            .query_row(
                "SELECT coalesce(max(offset), 0) FROM _honker_stream WHERE topic = ?1",
                [CHANGE_TOPIC],
                |row| row.get(0),
            )
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let acl = match codec::load(read) {
            Ok(acl) => acl,
            Err(e) if e.is_not_found() => AclGraph::new(),
            Err(e) => return Err(backend(e)),
        };
        let resolution = acl.resolver().max_depth(self.max_depth).resolve_all(now);
        let delta = Delta::Full(Box::new(FullLoad {
            acl,
            resolution,
            peers: tables::peers(read)?,
            keys: tables::api_keys(read)?,
            credentials: tables::credentials(read)?,
        }));
        Ok((delta, offset))
    }

    /// The rows named by the change batches after `offset`, or `None` when
    /// only a full reload will do (batches pruned or undecodable, the ACL's
    /// structure changed).
    fn read_changes(&self, read: &Reader, offset: i64) -> Result<Option<(Delta, i64)>, StoreError> {
        let sql_error = |e: rusqlite::Error| StoreError::Backend(e.to_string());
        let pruned_through: i64 = read
            .conn()
            .query_row(crate::feed::PRUNED_THROUGH, [], |row| row.get(0))
            .optional()
            .map_err(sql_error)?
            .unwrap_or(0);
        if pruned_through > offset {
            return Ok(None);
        }
        let mut named = Named::default();
        let mut last = offset;
        let mut stmt = read
            .conn()
            .prepare_cached(
                "SELECT offset, payload FROM _honker_stream
                 WHERE topic = ?1 AND offset > ?2 ORDER BY offset LIMIT ?3",
            )
            .map_err(sql_error)?;
        loop {
            let rows: Vec<(i64, String)> = stmt
                .query_map(rusqlite::params![CHANGE_TOPIC, last, STREAM_PAGE], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map_err(sql_error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql_error)?;
            let full_page = rows.len() as i64 == STREAM_PAGE;
            for (row_offset, payload) in rows {
                match ChangeBatch::from_payload(&payload) {
                    Ok(batch) => named.add(batch),
                    Err(_) => return Ok(None),
                }
                last = row_offset;
            }
            if !full_page {
                break;
            }
        }
        if named.acl_structure {
            return Ok(None);
        }
        let mut peers = Vec::with_capacity(named.peers.len());
        for id in named.peers {
            let row = tables::peer(read, &id)?;
            peers.push((id, row));
        }
        let mut keys = Vec::with_capacity(named.keys.len());
        for id in named.keys {
            let row = tables::api_key(read, &id)?;
            keys.push((id, row));
        }
        let mut credentials = Vec::with_capacity(named.credentials.len());
        for provider in named.credentials {
            let row = tables::credential(read, &provider)?;
            credentials.push((provider, row));
        }
        let acl = codec::read_rows(read, &named.acl_nodes, &named.acl_edges).map_err(backend)?;
        let delta = Delta::Changes(Changes {
            peers,
            keys,
            credentials,
            acl,
        });
        Ok(Some((delta, last)))
    }

    /// Applies changed rows to the model and builds the next snapshot from
    /// the current one, touching only what changed. `None` when the ACL
    /// rows do not fit the graph in memory.
    fn apply(
        &self,
        model: &mut Model,
        changes: Changes,
        revision: u64,
        now: i64,
    ) -> Option<Snapshot> {
        let Changes {
            peers,
            keys,
            credentials,
            acl,
        } = changes;
        let mut next = Snapshot::clone(&self.snapshot.load());
        next.revision = revision;
        let mut rebuild: BTreeSet<String> = BTreeSet::new();

        // Unindex what the changed peers and keys resolved through before,
        // all of it before anything new is indexed: a token hash may move
        // from one owner to another within the run.
        for (id, row) in &peers {
            if let Some(old) = model.peers.get(id) {
                unindex_peer(&mut next, old);
            }
            match row {
                Some(peer) => model.peers.insert(id.clone(), peer.clone()),
                None => model.peers.remove(id),
            };
            rebuild.insert(id.clone());
        }
        let mut new_keys = Vec::new();
        for (id, row) in keys {
            if let Some(old) = model.keys.get(&id) {
                next.tokens.remove(&old.hash);
            }
            match row {
                Some(row) => {
                    new_keys.push(row.clone());
                    model.keys.insert(id, row);
                }
                None => {
                    model.keys.remove(&id);
                }
            }
        }
        for row in &new_keys {
            index_key(&mut next, row);
        }
        if !credentials.is_empty() {
            let map = Arc::make_mut(&mut next.credentials);
            for (provider, data) in credentials {
                match data {
                    Some(data) => map.insert(provider, data),
                    None => map.remove(&provider),
                };
            }
        }

        // The ACL: move to now, apply the changed rows, and rebuild the
        // peers of every principal whose grant was recomputed.
        let Model {
            acl: graph,
            resolution,
            ..
        } = &mut *model;
        let mut all = false;
        let mut touched_ids =
            |touched: Touched, graph: &AclGraph, rebuild: &mut BTreeSet<String>| match touched {
                Touched::All => all = true,
                Touched::Some(region) => rebuild.extend(
                    region
                        .into_iter()
                        .map(|ix| graph.identity_of(ix).to_owned()),
                ),
            };
        let advanced = resolution.advance_touched(graph, now);
        touched_ids(advanced, graph, &mut rebuild);
        let changed_principals: Vec<String> = acl.node_keys().cloned().collect();
        let affected = codec::apply_rows(graph, acl).ok()?;
        let updated = resolution.update_touched(graph, &affected);
        touched_ids(updated, graph, &mut rebuild);
        rebuild.extend(changed_principals);

        if all {
            let credentials = Arc::clone(&next.credentials);
            let mut snapshot = rebuild_all(model, HashMap::new(), revision);
            snapshot.credentials = credentials;
            return Some(snapshot);
        }
        for id in &rebuild {
            if let Some(peer) = model.peers.get(id) {
                // Re-index under the same keys (replacing the old entries).
                let resolved = resolve_peer(model, peer);
                index_peer(&mut next, &mut model.expiries, peer, resolved);
            }
        }
        Some(next)
    }

    /// Moves the ACL resolution to `now` and re-serves the peers whose
    /// grant it recomputed: reads that found a grant past its
    /// `valid_until` call this, and so does the listener when the next
    /// bound passes. Pure memory work: no store access.
    fn advance(&self, now: i64) {
        let mut model = lock(&self.model);
        let model = &mut *model;
        let touched = model.resolution.advance_touched(&model.acl, now);
        while model
            .expiries
            .peek()
            .is_some_and(|Reverse((t, _))| *t <= now)
        {
            model.expiries.pop();
        }
        let ids: Vec<String> = match touched {
            Touched::All => model.peers.keys().cloned().collect(),
            Touched::Some(region) if region.is_empty() => return,
            Touched::Some(region) => region
                .into_iter()
                .map(|ix| model.acl.identity_of(ix).to_owned())
                .collect(),
        };
        let mut next = Snapshot::clone(&self.snapshot.load());
        for id in ids {
            if let Some(peer) = model.peers.get(&id) {
                let resolved = resolve_peer(model, peer);
                index_peer(&mut next, &mut model.expiries, peer, resolved);
            }
        }
        self.snapshot.store(Arc::new(next));
    }

    /// The next instant a served grant may change with no write.
    fn next_expiry(&self) -> Option<i64> {
        lock(&self.model).expiries.peek().map(|Reverse((t, _))| *t)
    }

    /// Makes sure the snapshot reflects `revision`, which a write of this
    /// process just committed (the follower hook normally has done it).
    fn ensure(&self, revision: u64) {
        if self.snapshot.load().revision < revision {
            let _ = self.catch_up();
        }
    }

    fn lookup(&self, find: impl Fn(&Snapshot) -> Lookup) -> Option<Identity> {
        match find(&self.snapshot.load()) {
            Lookup::Found(identity) => Some(identity),
            Lookup::Missing => None,
            Lookup::Stale => {
                self.advance(now_ms());
                match find(&self.snapshot.load()) {
                    Lookup::Found(identity) => Some(identity),
                    // Fail closed.
                    Lookup::Stale | Lookup::Missing => None,
                }
            }
        }
    }
}

impl Follower for Shared {
    fn committed(&self, revision: u64) {
        if self.snapshot.load().revision < revision {
            // On failure the cursor is marked for a full reload, which the
            // listener (or the next write) performs.
            let _ = self.catch_up();
        }
    }
}

/// Builds a snapshot of everything in the model.
fn rebuild_all(
    model: &mut Model,
    credentials: HashMap<String, EncryptedData>,
    revision: u64,
) -> Snapshot {
    let mut next = Snapshot::empty();
    next.revision = revision;
    next.credentials = Arc::new(credentials);
    model.expiries.clear();
    let Model {
        acl,
        resolution,
        peers,
        keys,
        expiries,
    } = &mut *model;
    for peer in peers.values() {
        let resolved = resolve_peer_in(acl, resolution, peer);
        index_peer(&mut next, expiries, peer, resolved);
    }
    for row in keys.values() {
        index_key(&mut next, row);
    }
    next
}

fn resolve_peer(model: &Model, peer: &PeerEntry) -> Resolved {
    resolve_peer_in(&model.acl, &model.resolution, peer)
}

/// The peer's own grant ∪ the effective ACL grant of its principal.
fn resolve_peer_in(acl: &AclGraph, resolution: &Resolution, peer: &PeerEntry) -> Resolved {
    let mut scopes: BTreeSet<String> = peer.scopes.iter().cloned().collect();
    let mut resources: BTreeMap<String, BTreeSet<String>> = peer
        .resources
        .iter()
        .map(|(r, actions)| (r.clone(), actions.iter().cloned().collect()))
        .collect();
    let mut valid_until = None;
    if let Some(grant) = resolution.effective(acl, &peer.peer_id) {
        scopes.extend(grant.scopes);
        for (resource, actions) in grant.resources {
            resources.entry(resource).or_default().extend(actions);
        }
        valid_until = grant.valid_until;
    }
    Resolved {
        identity: Identity {
            id: peer.peer_id.clone(),
            scopes: scopes.into_iter().collect(),
            resources: resources
                .into_iter()
                .map(|(r, actions)| (r, actions.into_iter().collect()))
                .collect(),
        },
        valid_until,
    }
}

fn unindex_peer(next: &mut Snapshot, peer: &PeerEntry) {
    for fingerprint in &peer.fingerprints {
        next.fingerprints.remove(fingerprint);
    }
    if let Some(hash) = &peer.auth_token_hash {
        next.tokens.remove(hash);
    }
}

fn index_peer(
    next: &mut Snapshot,
    expiries: &mut BinaryHeap<Reverse<(i64, String)>>,
    peer: &PeerEntry,
    resolved: Resolved,
) {
    if let Some(t) = resolved.valid_until {
        expiries.push(Reverse((t, peer.peer_id.clone())));
    }
    for fingerprint in &peer.fingerprints {
        next.fingerprints.insert(fingerprint, resolved.clone());
    }
    if let Some(hash) = &peer.auth_token_hash {
        next.tokens.insert(hash, TokenEntry::Peer(resolved));
    }
}

fn index_key(next: &mut Snapshot, row: &KeyRow) {
    let key = &row.key;
    if !key.enabled || key.revoked_at.is_some() {
        return;
    }
    let identity = Identity {
        id: key.owner_id.clone(),
        scopes: key.scopes.clone(),
        resources: key.resources.clone(),
    };
    next.tokens.insert(
        &row.hash,
        TokenEntry::Key {
            identity,
            expires_at: key.expires_at,
        },
    );
}

/// The listener thread: catches up on every commit to the file (from any
/// process), reloads everything after a watcher restart, and re-serves
/// grants whose `valid_until` passes. Exits once its provider is dropped.
fn listen(provider: Weak<Shared>, mut wake: Wake) {
    let mut retry_at: Option<Instant> = None;
    loop {
        let deadline = {
            let Some(shared) = provider.upgrade() else {
                return;
            };
            let mut deadline = Instant::now() + IDLE_CHECK;
            if let Some(t) = shared.next_expiry() {
                let wait = u64::try_from(t.saturating_sub(now_ms())).unwrap_or(0);
                deadline = deadline.min(Instant::now() + Duration::from_millis(wait));
            }
            if let Some(retry) = retry_at {
                deadline = deadline.min(retry);
            }
            deadline
        };
        let woken = wake.wait(Some(deadline));
        let Some(shared) = provider.upgrade() else {
            return;
        };
        let caught_up = match woken {
            Woken::Changed => shared.catch_up(),
            Woken::Restarted => {
                lock(&shared.cursor).dirty = true;
                shared.catch_up()
            }
            Woken::TimedOut => {
                if retry_at.is_some_and(|t| Instant::now() >= t) {
                    shared.catch_up()
                } else {
                    Ok(())
                }
            }
        };
        retry_at = caught_up.is_err().then(|| Instant::now() + RETRY);
        let now = now_ms();
        if shared.next_expiry().is_some_and(|t| t <= now) {
            shared.advance(now);
        }
    }
}

// ---------------------------------------------------------------------------
// The public API

impl fmt::Debug for SqliteIdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.shared.snapshot.load();
        f.debug_struct("SqliteIdentityProvider")
            .field("path", &self.shared.store.path())
            .field("revision", &snapshot.revision)
            .field("fingerprints", &snapshot.fingerprints.len())
            .field("tokens", &snapshot.tokens.len())
            .field("actor", &self.actor)
            .finish()
    }
}

impl SqliteIdentityProvider {
    /// Opens the registry of `store` with the default options; see
    /// [`ProviderBuilder::open`].
    ///
    /// # Errors
    ///
    /// As [`ProviderBuilder::open`].
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        ProviderBuilder::default().open(store)
    }

    /// Options for opening a provider.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder::default()
    }

    /// A handle on the same registry whose writes the audit log attributes
    /// to `actor`.
    pub fn acting_as(&self, actor: &str) -> Self {
        SqliteIdentityProvider {
            shared: Arc::clone(&self.shared),
            actor: Some(actor.into()),
        }
    }

    /// The store revision the snapshot reflects.
    pub fn revision(&self) -> u64 {
        self.shared.snapshot.load().revision
    }

    /// Catches up with the store now (writes of other processes the
    /// listener has not applied yet).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the store cannot be read.
    pub fn refresh(&self) -> Result<(), StoreError> {
        self.shared.catch_up()
    }

    /// Waits until the snapshot reflects at least `revision` (e.g. one an
    /// [`Acl`](crate::acl::Acl) write in another process returned);
    /// returns whether it does within `timeout`.
    pub fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool {
        if self.revision() < revision
            && self
                .shared
                .store
                .wait_for_revision(revision, timeout)
                .unwrap_or(false)
        {
            let _ = self.shared.catch_up();
        }
        self.revision() >= revision
    }

    /// The last error the background catch-up met, if the latest attempt
    /// failed (reads are then served from the last good snapshot).
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut WriteTxn<'_>, Option<&str>, i64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.shared.store.begin_write().map_err(StoreError::from)?;
        let value = f(&mut tx, self.actor.as_deref(), now_ms())?;
        let revision = tx.commit().map_err(StoreError::from)?;
        self.shared.ensure(revision);
        Ok(value)
    }

    /// Adds a peer, synchronously; once it returns, reads see it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] for a malformed id, fingerprint, token hash,
    /// scope or action (naming it); [`StoreError::Duplicate`] when the
    /// peer exists or a fingerprint or the token belongs to another.
    pub fn insert_peer(&self, peer: PeerEntry) -> Result<(), StoreError> {
        let peer = validate::peer(peer)?;
        self.write(|tx, actor, now| tables::insert_peer(tx, &peer, actor, now))
    }

    /// Adds many peers in one transaction (all or none); returns how many.
    ///
    /// # Errors
    ///
    /// As [`insert_peer`](Self::insert_peer), for the first peer refused;
    /// then none is added.
    pub fn insert_peers(
        &self,
        peers: impl IntoIterator<Item = PeerEntry>,
    ) -> Result<usize, StoreError> {
        let peers = peers
            .into_iter()
            .map(validate::peer)
            .collect::<Result<Vec<_>, _>>()?;
        self.write(|tx, actor, now| {
            for peer in &peers {
                tables::insert_peer(tx, peer, actor, now)?;
            }
            Ok(peers.len())
        })
    }

    /// Replaces a peer, synchronously.
    ///
    /// # Errors
    ///
    /// As [`insert_peer`](Self::insert_peer), and [`StoreError::NotFound`]
    /// when there is no such peer.
    pub fn replace_peer(&self, peer: PeerEntry) -> Result<(), StoreError> {
        let peer = validate::peer(peer)?;
        self.write(|tx, actor, now| tables::update_peer(tx, &peer, actor, now))
    }

    /// Removes a peer, synchronously.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such peer.
    pub fn delete_peer(&self, peer_id: &str) -> Result<(), StoreError> {
        self.write(|tx, actor, now| tables::remove_peer(tx, peer_id, actor, now))
    }

    /// The stored peer, read from the store.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] on a storage failure.
    pub fn peer(&self, peer_id: &str) -> Result<Option<PeerEntry>, StoreError> {
        let read = self.shared.store.begin_read().map_err(backend)?;
        tables::peer(&read, peer_id)
    }

    /// Every stored peer, by id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] on a storage failure.
    pub fn peers(&self) -> Result<Vec<PeerEntry>, StoreError> {
        let read = self.shared.store.begin_read().map_err(backend)?;
        tables::peers(&read)
    }

    /// Creates an API key and returns it with its token: the only time the
    /// token exists outside the caller (the store keeps its hash).
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] for a malformed name, owner, scope or
    /// action.
    pub fn create_api_key(&self, key: NewApiKey) -> Result<(ApiKey, AuthToken), StoreError> {
        let key = validate::api_key(key)?;
        let token = AuthToken::generate();
        let hash = token.hash();
        let stored =
            self.write(|tx, actor, now| tables::insert_api_key(tx, &key, &hash, actor, now))?;
        Ok((stored, token))
    }

    /// Revokes an API key for good; it resolves to nothing from then on.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such key.
    pub fn revoke_api_key(&self, id: &str) -> Result<ApiKey, StoreError> {
        self.write(|tx, actor, now| tables::change_api_key(tx, id, KeyChange::Revoke, actor, now))
    }

    /// Enables or disables an API key (a disabled key resolves to nothing).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such key.
    pub fn set_api_key_enabled(&self, id: &str, enabled: bool) -> Result<ApiKey, StoreError> {
        self.write(|tx, actor, now| {
            tables::change_api_key(tx, id, KeyChange::Enable(enabled), actor, now)
        })
    }

    /// Every API key (without tokens), by id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] on a storage failure.
    pub fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let read = self.shared.store.begin_read().map_err(backend)?;
        Ok(tables::api_keys(&read)?
            .into_iter()
            .map(|row| row.key)
            .collect())
    }

    /// Stores or replaces a credential, synchronously.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] for a malformed provider name.
    pub fn put_credential(&self, provider: &str, data: &EncryptedData) -> Result<(), StoreError> {
        validate::provider(provider)?;
        self.write(|tx, actor, now| tables::put_credential(tx, provider, data, actor, now))
    }

    /// Removes a credential, synchronously.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is none for `provider`.
    pub fn delete_credential(&self, provider: &str) -> Result<(), StoreError> {
        self.write(|tx, actor, now| tables::delete_credential(tx, provider, actor, now))
    }
}

impl IdentityProvider for SqliteIdentityProvider {
    fn resolve_from_fingerprint(&self, fingerprint: &str) -> Option<Identity> {
        let canonical = canonical_fingerprint(fingerprint)?;
        self.shared
            .lookup(|snapshot| snapshot.by_fingerprint(&canonical))
    }

    fn resolve_from_token(&self, token: &AuthToken) -> Option<Identity> {
        let hash = token.hash();
        self.shared.lookup(|snapshot| snapshot.by_token_hash(&hash))
    }
}

impl IdentityStore for SqliteIdentityProvider {
    fn put_peer(&self, peer: PeerEntry) -> impl Future<Output = Result<(), StoreError>> + Send {
        let this = self.clone();
        self.shared.worker.run(move || this.insert_peer(peer))
    }

    fn update_peer(&self, peer: PeerEntry) -> impl Future<Output = Result<(), StoreError>> + Send {
        let this = self.clone();
        self.shared.worker.run(move || this.replace_peer(peer))
    }

    fn remove_peer(&self, peer_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        let this = self.clone();
        let peer_id = peer_id.to_owned();
        self.shared.worker.run(move || this.delete_peer(&peer_id))
    }
}

impl CredentialStore for SqliteIdentityProvider {
    fn get(&self, provider: &str) -> Option<EncryptedData> {
        self.shared
            .snapshot
            .load()
            .credentials
            .get(provider)
            .cloned()
    }

    fn put(
        &self,
        provider: &str,
        data: EncryptedData,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let this = self.clone();
        let provider = provider.to_owned();
        self.shared
            .worker
            .run(move || this.put_credential(&provider, &data))
    }

    fn delete(&self, provider: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        let this = self.clone();
        let provider = provider.to_owned();
        self.shared
            .worker
            .run(move || this.delete_credential(&provider))
    }
}
