//! The state every handle on a provider shares, and how it follows the
//! store: a catch-up reads the change stream since the model's offset,
//! re-reads the registry rows it names (everything, when the stream cannot
//! be followed) and has the model apply them, then serves the snapshot that
//! follows. Writes of this process catch up through the commit hook
//! ([`Follower`]); writes of other processes through the listener.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use super::model::{Changes, Model, Registry};
use crate::acl::follow::Changed;
use crate::feed::follow::Follower;
use crate::identity::executor::Worker;
use crate::identity::snapshot::{Lookup, Resolved, Snapshot};
use crate::identity::tables::{self, PeerRows};
use crate::identity::{Identity, NewApiKey, PeerEntry, ProviderHealth, StoreError};
use crate::outbox::{ChangeEvent, EntityKind};
use crate::time::now_ms;
use crate::{Reader, Store};

/// What the handles on one provider share: the store, the snapshot reads
/// are served from, and the model it is built from.
pub(super) struct Shared {
    pub(super) store: Store,
    pub(super) snapshot: ArcSwap<Snapshot>,
    /// The registry and ACL in memory and how far they follow the store;
    /// held by catch-ups (which read the store) and by the in-memory
    /// [`advance`](Shared::advance), never by a lookup that finds a valid
    /// entry.
    model: Mutex<Model>,
    /// The writer thread the async trait methods' writes run on.
    pub(super) worker: Worker,
}

impl Shared {
    /// The shared state of a provider of `store` that has loaded nothing
    /// yet, resolving ACL delegation chains up to `max_depth`; the first
    /// [`catch_up`](Self::catch_up) loads everything.
    pub(super) fn new(store: Store, max_depth: u32) -> Self {
        Shared {
            store,
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            model: Mutex::new(Model::new(max_depth)),
            worker: Worker::default(),
        }
    }

    /// The model, locked; a lock poisoned by a panic is taken over.
    pub(super) fn lock_model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Brings the snapshot up to the store's current revision (at least
    /// `known`, a revision this process committed) and returns the health
    /// it is served with.
    pub(super) fn catch_up(&self, known: u64) -> ProviderHealth {
        let mut model = self.lock_model();
        match self.store.begin_read() {
            Ok(read) => self.catch_up_with(&mut model, &read, known),
            Err(e) => self.unavailable(&mut model, known, e.to_string()),
        }
        self.snapshot.load().health.clone()
    }

    /// The catch-up, reading through `read` (a read transaction, or the
    /// write transaction of a write that needs the committed state).
    ///
    /// One pass over the change stream serves both halves: the ACL
    /// follower applies the ACL rows it names, and the registry re-reads
    /// the peers, keys and credentials it names (everything, when the
    /// stream could not be followed). Then only the entries those changes
    /// reach are rebuilt: changed peers and keys, the peers and keys whose
    /// owner's ACL grant changed, and the keys of changed peers.
    fn catch_up_with(&self, model: &mut Model, read: &Reader, known: u64) {
        let now = now_ms();
        let mut named = Named::default();
        let registry_dirty = model.registry_dirty;
        // Reloading everything, the peer rows are read first, in the same
        // read transaction, and decoded on a thread of their own while the
        // ACL follower loads.
        let peer_rows = if registry_dirty {
            match tables::peer_rows(read) {
                Ok(rows) => Some(rows),
                Err(e) => return self.unavailable(model, known, e.detail()),
            }
        } else {
            None
        };
        let (followed, peers) = std::thread::scope(|scope| {
            let decoding = peer_rows.as_ref().map(|rows| {
                if rows.len() < DECODE_APART_FROM {
                    Decoding::Here(rows)
                } else {
                    Decoding::Apart(scope.spawn(|| rows.decode()))
                }
            });
            let mut on_event = |event: &ChangeEvent| named.add(event);
            let events: Option<&mut dyn FnMut(&ChangeEvent)> = if registry_dirty {
                None
            } else {
                Some(&mut on_event)
            };
            let followed = model.acl.follow(read, now, events);
            (followed, decoding.map(Decoding::finish))
        });
        let followed = match followed {
            Ok(followed) => followed,
            Err(e) => return self.unavailable(model, known, e.to_string()),
        };
        let revision = followed.revision.max(known);
        let (health, changed) = match followed.acl {
            Ok(changed) => (ProviderHealth::Healthy, changed),
            // The follower holds its graph empty; a first failure changes
            // the health, which rebuilds everything below.
            Err(e) => (
                ProviderHealth::AclUnavailable {
                    reason: e.to_string(),
                },
                Changed::none(),
            ),
        };
        let current = self.snapshot.load_full();
        let health_changed = current.health != health;
        if registry_dirty || !followed.continuous {
            let registry = match read_registry(read, peers) {
                Ok(registry) => registry,
                Err(e) => return self.unavailable(model, revision, e.detail()),
            };
            let next = model.load(registry, revision, health);
            self.snapshot.store(Arc::new(next));
            return;
        }
        if revision == current.revision && !health_changed && changed.is_empty() {
            return;
        }
        let changes = match named.read(read) {
            Ok(changes) => changes,
            Err(e) => return self.unavailable(model, revision, e.detail()),
        };
        let rebuild_everything = health_changed || changed == Changed::All;
        let mut next = model.apply(&current, changes, changed, rebuild_everything);
        next.revision = revision;
        next.health = health;
        self.snapshot.store(Arc::new(next));
    }

    /// Serves nothing: the registry could not be read, so no answer can be
    /// shown to hold. The revision still moves to the one seen, and the
    /// next catch-up reloads everything.
    fn unavailable(&self, model: &mut Model, revision: u64, reason: String) {
        model.set_unavailable();
        let mut next = Snapshot::empty();
        next.revision = self.snapshot.load().revision.max(revision);
        next.health = ProviderHealth::Unavailable { reason };
        self.snapshot.store(Arc::new(next));
    }

    /// Moves the ACL resolution to `now` and re-serves the peers and keys
    /// whose grant it recomputed: reads that found a grant past its
    /// `valid_until` call this, and so does the listener when the next
    /// bound passes. Pure memory work: no store access.
    pub(super) fn advance(&self, now: i64) {
        let mut model = self.lock_model();
        let current = self.snapshot.load_full();
        if let Some(next) = model.advance(now, &current) {
            self.snapshot.store(Arc::new(next));
        }
    }

    /// Makes the next catch-up reload the registry and the ACL whole, for
    /// when changes may have gone unseen (the file watcher restarted).
    pub(super) fn invalidate(&self) {
        self.lock_model().invalidate();
    }

    /// The next instant a served grant may change with no write.
    pub(super) fn next_expiry(&self) -> Option<i64> {
        self.lock_model().next_expiry()
    }

    /// Makes sure the snapshot reflects `revision`, which a write of this
    /// process just committed (the follower hook normally has done it),
    /// and that it is served healthy.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unapplied`] when the snapshot is not healthy: the
    /// write committed, but what is served meanwhile is less than the
    /// store holds (or nothing).
    pub(super) fn ensure(&self, revision: u64) -> Result<(), StoreError> {
        if self.snapshot.load().revision < revision {
            self.catch_up(revision);
        }
        let health = self.snapshot.load().health.clone();
        match health.reason() {
            None => Ok(()),
            Some(reason) => Err(StoreError::Unapplied {
                revision,
                cause: Box::new(StoreError::backend(reason.to_owned())),
                health,
            }),
        }
    }

    /// What `owner` holds now, read against the committed state `read`
    /// sees (the write transaction of the key being created).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the registry or the ACL cannot be read
    /// (a grant that cannot be computed is never assumed).
    pub(super) fn owner_grant_in(
        &self,
        read: &Reader,
        key: &NewApiKey,
    ) -> Result<Option<Resolved>, StoreError> {
        let mut model = self.lock_model();
        self.catch_up_with(&mut model, read, 0);
        if let Some(reason) = self.snapshot.load().health.reason() {
            return Err(StoreError::backend(format!(
                "API key {:?}: cannot compute what owner {:?} holds: {reason}",
                key.name, key.owner_id
            )));
        }
        Ok(model.owner_grant(&key.owner_id))
    }

    /// What `find` finds in the snapshot. A grant found past its
    /// `valid_until` is recomputed ([`advance`](Self::advance)) and looked
    /// up once more; if it is still stale, nothing is served.
    pub(super) fn lookup(&self, find: impl Fn(&Snapshot) -> Lookup) -> Option<Identity> {
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
            // A failure is recorded in the snapshot's health, which the
            // write that committed reports (see `ensure`), and which the
            // listener retries.
            self.catch_up(revision);
        }
    }
}

/// The registry keys a run of change batches names.
#[derive(Default)]
struct Named {
    peers: BTreeSet<String>,
    keys: BTreeSet<String>,
    credentials: BTreeSet<String>,
}

impl Named {
    /// Notes the registry row `event` names, if it names one.
    fn add(&mut self, event: &ChangeEvent) {
        match event.entity {
            EntityKind::Peer => {
                self.peers.insert(event.key.clone());
            }
            EntityKind::ApiKey => {
                self.keys.insert(event.key.clone());
            }
            EntityKind::Credential => {
                self.credentials.insert(event.key.clone());
            }
            _ => {}
        }
    }

    /// The current rows of what was named, read through `read`.
    fn read(self, read: &Reader) -> Result<Changes, StoreError> {
        let mut peers = Vec::with_capacity(self.peers.len());
        for id in self.peers {
            let row = tables::peer(read, &id)?;
            peers.push((id, row));
        }
        let mut keys = Vec::with_capacity(self.keys.len());
        for id in self.keys {
            let row = tables::api_key(read, &id)?;
            keys.push((id, row));
        }
        let mut credentials = Vec::with_capacity(self.credentials.len());
        for provider in self.credentials {
            let row = tables::credential(read, &provider)?;
            credentials.push((provider, row));
        }
        Ok(Changes {
            peers,
            keys,
            credentials,
        })
    }
}

/// A peer table under 4,096 rows is decoded on the thread that read it.
const DECODE_APART_FROM: usize = 4_096;

/// Peer rows being decoded.
enum Decoding<'scope, 'rows> {
    Here(&'rows PeerRows),
    Apart(std::thread::ScopedJoinHandle<'scope, Result<Vec<PeerEntry>, StoreError>>),
}

impl Decoding<'_, '_> {
    fn finish(self) -> Result<Vec<PeerEntry>, StoreError> {
        match self {
            Decoding::Here(rows) => rows.decode(),
            Decoding::Apart(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        }
    }
}

/// Every row of the registry tables, read through `read`; the peers
/// already read and decoded, if `peers` holds them.
fn read_registry(
    read: &Reader,
    peers: Option<Result<Vec<PeerEntry>, StoreError>>,
) -> Result<Registry, StoreError> {
    let peers = match peers {
        Some(peers) => peers?,
        None => tables::peer_rows(read)?.decode()?,
    };
    Ok(Registry {
        peers,
        keys: tables::api_keys(read)?,
        credentials: tables::credentials(read)?,
    })
}
