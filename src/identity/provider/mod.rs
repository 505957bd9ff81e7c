//! [`SqliteIdentityProvider`]: the registry's writes, and the snapshot its
//! reads are served from, kept up to date from the change feed.
//!
//! This file holds the public API: the provider, its builder, [`Subjects`]
//! and the trait impls. Behind it, `model` holds the registry and the ACL
//! in memory and what a change does to them and to the snapshot;
//! `catch_up` the state the provider's handles share and how it follows
//! the store; `listener` the thread that follows writes of other
//! processes.

mod catch_up;
mod listener;
mod model;
mod txn;

pub(crate) use self::model::attenuate;
pub use self::txn::IdentityTxn;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use self::catch_up::Shared;
use self::model::{peer_grant, Model};
use super::snapshot::Digest;
use super::tables::{self, KeyChange};
use super::validate;
use super::{
    ApiKey, AuthToken, CredentialRecord, CredentialStore, EncryptedData, Identity,
    IdentityProvider, IdentityStore, NewApiKey, PeerEntry, ProviderHealth, ProviderStatus,
    StoreError,
};
use crate::acl::whatif::{GrantChange, GrantDelta};
use crate::acl::{Change, Permission, WhatIf, DEFAULT_MAX_DEPTH};
use crate::feed::follow::{self, Follower};
use crate::feed::Wake;
use crate::time::now_ms;
use crate::Store;

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
    /// An ACL that cannot be loaded does not keep the provider from
    /// opening: it opens [`ProviderHealth::AclUnavailable`], serving what
    /// holds without the ACL (see [`SqliteIdentityProvider::status`]),
    /// and the listener retries until the ACL loads.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the store cannot be read or the
    /// registry tables hold rows that do not decode (there is nothing it
    /// could serve).
    pub fn open(self, store: &Store) -> Result<SqliteIdentityProvider, StoreError> {
        // Subscribe before loading, so a commit in between is seen either by
        // the load or by a wake.
        // A store read as immutable cannot change: nothing to listen for.
        let wake = (self.listen && store.is_watchable())
            .then(|| Wake::new(store.canonical_path(), store.poll_interval()));
        let shared = Arc::new(Shared::new(store.clone(), self.max_depth));
        if let ProviderHealth::Unavailable { reason } = shared.catch_up(0) {
            return Err(StoreError::backend(reason));
        }
        let follower: Arc<dyn Follower> = shared.clone();
        follow::register(store.canonical_path(), Arc::downgrade(&follower));
        if let Some(wake) = wake {
            listener::spawn(Arc::downgrade(&shared), wake)
                .map_err(|e| StoreError::backend(format!("cannot start the listener: {e}")))?;
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
/// [module documentation](super) for an example, and
/// [`status`](SqliteIdentityProvider::status) for what it serves when the
/// store cannot be followed.
#[derive(Clone)]
pub struct SqliteIdentityProvider {
    shared: Arc<Shared>,
    actor: Option<Arc<str>>,
}

/// A storage failure, as a read of the provider reports it.
fn backend(e: crate::Error) -> StoreError {
    StoreError::backend_of(e)
}

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
    /// [`StoreError::Backend`] naming the reason when the provider is not
    /// [`ProviderHealth::Healthy`] after it (see
    /// [`status`](Self::status) for what is served then).
    pub fn refresh(&self) -> Result<(), StoreError> {
        let health = self.shared.catch_up(0);
        match health.reason() {
            None => Ok(()),
            Some(_) => Err(StoreError::backend(health.to_string())),
        }
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
            self.shared.catch_up(revision);
        }
        self.revision() >= revision
    }

    /// Why the latest catch-up left the provider not
    /// [`Healthy`](ProviderHealth::Healthy), if it did: the reason of
    /// [`status`](Self::status).
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .snapshot
            .load()
            .health
            .reason()
            .map(str::to_owned)
    }

    /// The revision the snapshot reflects and the health it is served
    /// with, read together from the snapshot.
    ///
    /// The provider **fails closed**: when the store cannot be followed it
    /// never keeps serving an older snapshot, since that may hold a grant a
    /// committed write removed (a revoked key, a removed peer). Instead:
    ///
    /// - [`ProviderHealth::AclUnavailable`]: the ACL could not be read (a
    ///   stored row the ACL codec rejects, …). Reads are served as if the
    ///   ACL were empty: a peer resolves to its own scopes and resources
    ///   from the `peers` table only; an API key to key ∩ its owner's grant
    ///   computed without the ACL, so a key whose owner is a peer keeps at
    ///   most that peer's own grant, and a key whose owner is only an ACL
    ///   principal resolves to nothing. This is a subset of every true
    ///   answer: the ACL only ever adds to a peer's own grant, and a key
    ///   never holds more than its owner.
    /// - [`ProviderHealth::Unavailable`]: the registry tables themselves
    ///   could not be read or decoded; nothing resolves, and
    ///   [`CredentialStore::get`] returns nothing.
    ///
    /// In both cases the revision still moves to the revision seen, so a
    /// grant removed by a committed write is never served once the
    /// provider has seen that revision; a write of this process whose
    /// catch-up ends unhealthy returns [`StoreError::Unapplied`]. The
    /// listener retries (backing off up to a second) and serves everything
    /// again, [`Healthy`](ProviderHealth::Healthy), once the file is
    /// repaired.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{PeerEntry, ProviderHealth, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("ids.db"))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// provider.insert_peer(PeerEntry::new("build-01"))?;
    /// let status = provider.status();
    /// assert_eq!(status.health, ProviderHealth::Healthy);
    /// assert_eq!(status.revision, store.revision()?);
    /// assert!(status.health.is_healthy());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> ProviderStatus {
        let snapshot = self.shared.snapshot.load();
        ProviderStatus {
            revision: snapshot.revision,
            health: snapshot.health.clone(),
        }
    }

    /// Runs one write in a transaction of its own, commits it, and makes
    /// sure the snapshot applied it.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut IdentityTxn<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.shared.store.begin_write().map_err(StoreError::from)?;
        let value = f(&mut IdentityTxn::new(&mut tx, self))?;
        let revision = tx.commit().map_err(StoreError::from)?;
        self.shared.ensure(revision)?;
        Ok(value)
    }

    /// The store this provider serves.
    fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Who the audit log names for this provider's writes.
    fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// Adds a peer, synchronously; once it returns, reads see it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] for a malformed id, fingerprint, token hash,
    /// scope or action (naming it), a token shorter than
    /// [`MIN_TOKEN_BYTES`](super::MIN_TOKEN_BYTES) (`peer "ci-bot": a
    /// token must be at least 32 bytes (got 7); …`), or when the ACL
    /// principal of the same id is an org or a role (a peer binds only to
    /// an account or service principal); [`StoreError::Duplicate`] when the
    /// peer exists or a fingerprint or the token belongs to another (`peer
    /// "b": the token is already in use by another peer`; the owner is not
    /// named);
    /// [`StoreError::Unapplied`] when the peer was added but the snapshot
    /// is not healthy (see [`status`](Self::status)). The same
    /// [`StoreError::Unapplied`] applies to every write of the provider.
    pub fn insert_peer(&self, peer: PeerEntry) -> Result<(), StoreError> {
        let peer = validate::peer(peer)?;
        self.write(|ids| ids.insert_valid_peer(&peer))
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
        self.write(|ids| {
            for peer in &peers {
                ids.insert_valid_peer(peer)?;
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
        self.write(|ids| ids.replace_valid_peer(&peer))
    }

    /// Removes a peer, synchronously. Its API keys (which hold at most
    /// what it holds) are revoked in the same transaction, unless an ACL
    /// principal of the same id still owns them.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such peer.
    pub fn delete_peer(&self, peer_id: &str) -> Result<(), StoreError> {
        self.write(|ids| ids.delete_peer(peer_id))
    }

    /// Erases a peer's personal data in one transaction: removes the peer
    /// if it exists, deletes its credential history (see
    /// [`history`](Self::history)), then redacts every audit entry about
    /// it (its fingerprints and other fields in their payloads), as
    /// [`WriteTxn::redact_audit_entity`](crate::WriteTxn::redact_audit_entity) does; returns the redacted
    /// entries. The entries themselves stay, naming the peer's id: use ids
    /// that are not personal data. Call [`Store::scrub`](crate::Store::scrub)
    /// afterwards to drop older page versions from the write-ahead log.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] when an entry about the peer cannot be
    /// redacted (it was written before schema version 4, or does not match
    /// its hash), or the reason is empty or too long; then nothing is
    /// changed.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("ids.db"))?;
    /// let ids = SqliteIdentityProvider::open(&store)?;
    /// ids.insert_peer(PeerEntry::new("laptop").fingerprint(format!("ed25519:{}", "ab".repeat(32))))?;
    ///
    /// assert_eq!(ids.erase_peer("laptop", "erasure request 42")?, [1, 2]);
    /// assert!(ids.peer("laptop")?.is_none());
    /// assert!(store.begin_read()?.verify_audit_chain()?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn erase_peer(&self, peer_id: &str, reason: &str) -> Result<Vec<u64>, StoreError> {
        self.write(|ids| {
            let (tx, actor, now) = ids.parts();
            if tables::peer(tx, peer_id)?.is_some() {
                tables::remove_peer(tx, peer_id, actor, now)?;
            }
            // The history lists every fingerprint it held: erased too.
            tables::erase_history(tx.conn(), peer_id)?;
            let entity = crate::Entity::Peer(peer_id.to_owned()).to_string();
            tx.redact_audit_entity(&entity, reason, actor)
                .map_err(StoreError::from)
        })
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

    /// Every fingerprint and token the peer `peer_id` has held, in the
    /// order they were added: when each was added and removed, and by
    /// whom. Each peer write records what it changes in its own
    /// transaction; removing a peer closes its open records, and the
    /// history outlives it. A token is recorded by its ordinal (`#1`,
    /// `#2`, …), never by its hash. Empty for an id that never held a
    /// credential.
    ///
    /// A credential that is no longer current resolves to nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] on a storage failure.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{CredentialKind, IdentityProvider, PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("ids.db"))?;
    /// let ops = SqliteIdentityProvider::open(&store)?.acting_as("ops");
    /// let old_key = "ed25519:".to_owned() + &"ab".repeat(32);
    /// let new_key = "ed25519:".to_owned() + &"cd".repeat(32);
    /// let mut peer = PeerEntry::new("build-01").fingerprint(&old_key);
    /// let first = peer.generate_token();
    /// ops.insert_peer(peer)?;
    ///
    /// // Rotate both.
    /// let mut peer = PeerEntry::new("build-01").fingerprint(&new_key);
    /// let second = peer.generate_token();
    /// ops.replace_peer(peer)?;
    ///
    /// let history = ops.history("build-01")?;
    /// let held: Vec<_> = history
    ///     .iter()
    ///     .map(|r| (r.kind, r.value.as_str(), r.is_current()))
    ///     .collect();
    /// assert_eq!(held, [
    ///     (CredentialKind::Fingerprint, old_key.as_str(), false),
    ///     (CredentialKind::Token, "#1", false),
    ///     (CredentialKind::Fingerprint, new_key.as_str(), true),
    ///     (CredentialKind::Token, "#2", true),
    /// ]);
    /// assert_eq!(history[0].removed_by.as_deref(), Some("ops"));
    /// // What was rotated out resolves to nothing.
    /// assert!(ops.resolve_from_fingerprint(&old_key).is_none());
    /// assert!(ops.resolve_from_token(&first).is_none());
    /// assert_eq!(ops.resolve_from_token(&second).unwrap().id, "build-01");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn history(&self, peer_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
        let read = self.shared.store.begin_read().map_err(backend)?;
        tables::history(&read, peer_id)
    }

    /// Creates an API key and returns it with its token: the only time the
    /// token exists outside the caller (the store keeps its hash).
    ///
    /// The key is attenuated like a delegation (see [`NewApiKey`]): its
    /// owner must exist, as a peer or an ACL principal, and hold now every
    /// scope and resource action the key grants; at resolution the key
    /// holds key ∩ what its owner holds then.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] for a malformed name, owner, scope or
    /// action; [`StoreError::NotHeld`] naming what the owner does not hold
    /// (`API key "deploy": owner "ci-bot" does not hold "deploy:prod"`);
    /// [`StoreError::NotFound`] when the owner is neither a peer nor an ACL
    /// principal; [`StoreError::Backend`] when what the owner holds cannot
    /// be computed (the ACL cannot be read).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::identity::{
    ///     AuthToken, IdentityProvider, NewApiKey, PeerEntry, SqliteIdentityProvider,
    /// };
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("ids.db"))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// provider.insert_peer(PeerEntry::new("ci-bot").scopes(["deploy:staging", "ci"]))?;
    ///
    /// let err = provider
    ///     .create_api_key(NewApiKey::new("deploy", "ci-bot").scopes(["deploy:prod"]))
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), r#"API key "deploy": owner "ci-bot" does not hold "deploy:prod""#);
    ///
    /// let (_, token) =
    ///     provider.create_api_key(NewApiKey::new("deploy", "ci-bot").scopes(["deploy:staging", "ci"]))?;
    /// // The owner loses a scope: so does the key, with no write to it.
    /// provider.replace_peer(PeerEntry::new("ci-bot").scopes(["ci"]))?;
    /// assert_eq!(provider.resolve_from_token(&token).unwrap().scopes, ["ci"]);
    /// // The owner is removed: the key resolves to nothing.
    /// provider.delete_peer("ci-bot")?;
    /// assert!(provider.resolve_from_token(&token).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_api_key(&self, key: NewApiKey) -> Result<(ApiKey, AuthToken), StoreError> {
        let key = validate::api_key(key)?;
        self.write(|ids| ids.create_valid_api_key(&key))
    }

    /// Revokes an API key for good; it resolves to nothing from then on.
    /// Revoking a revoked key changes nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such key.
    pub fn revoke_api_key(&self, id: &str) -> Result<ApiKey, StoreError> {
        self.write(|ids| ids.change_api_key(id, KeyChange::Revoke))
    }

    /// Enables or disables an API key (a disabled key resolves to nothing).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such key;
    /// [`StoreError::Invalid`] when it is revoked (`API key "…": is
    /// revoked; a revoked key cannot be enabled or disabled`), and then
    /// nothing changes.
    pub fn set_api_key_enabled(&self, id: &str, enabled: bool) -> Result<ApiKey, StoreError> {
        self.write(|ids| ids.change_api_key(id, KeyChange::Enable(enabled)))
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
        self.write(|ids| {
            let (tx, actor, now) = ids.parts();
            tables::put_credential(tx, provider, data, actor, now)
        })
    }

    /// Removes a credential, synchronously.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is none for `provider`.
    pub fn delete_credential(&self, provider: &str) -> Result<(), StoreError> {
        self.write(|ids| {
            let (tx, actor, now) = ids.parts();
            tables::delete_credential(tx, provider, actor, now)
        })
    }
}

/// Who holds a permission: the ACL principals and the peers.
///
/// Returned by [`SqliteIdentityProvider::subjects`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    /// Principals holding it, sorted by identity id.
    pub principals: Vec<String>,
    /// Peers holding it (itself, or through the principal of its id),
    /// sorted by peer id.
    pub peers: Vec<String>,
}

impl SqliteIdentityProvider {
    /// The model, if what is served is healthy; reads of the lookups below
    /// fail closed otherwise (an answer from a graph that cannot be
    /// followed would be wrong in either direction).
    fn healthy_model(&self) -> Result<MutexGuard<'_, Model>, StoreError> {
        let model = self.shared.lock_model();
        match self.shared.snapshot.load().health.reason() {
            None => Ok(model),
            Some(reason) => Err(StoreError::backend(reason.to_owned())),
        }
    }

    /// Every principal and every peer holding `permission` now; see
    /// [`subjects_at`](Self::subjects_at).
    ///
    /// # Errors
    ///
    /// As [`subjects_at`](Self::subjects_at).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, IdentityType, Permission, Principal};
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("id.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("ci", IdentityType::Service).scopes(["deploy"]))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// provider.insert_peer(PeerEntry::new("ci"))?;                         // bound to principal ci
    /// provider.insert_peer(PeerEntry::new("ops").scopes(["deploy"]))?;     // holds it itself
    /// provider.insert_peer(PeerEntry::new("guest"))?;
    /// let who = provider.subjects(&Permission::scope("deploy"))?;
    /// assert_eq!(who.principals, ["ci"]);
    /// assert_eq!(who.peers, ["ci", "ops"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subjects(&self, permission: &Permission) -> Result<Subjects, StoreError> {
        self.subjects_at(permission, now_ms())
    }

    /// Every principal and every peer holding `permission` at `t` (unix
    /// milliseconds). A peer holds what it holds itself and the effective
    /// grant of the account or service principal of its id, as it
    /// resolves.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] naming the reason while the provider is not
    /// healthy (see [`status`](Self::status)).
    ///
    /// # Complexity
    ///
    /// The principals as [`Acl::subjects_at`](crate::acl::Acl::subjects_at),
    /// then O(P) over the P peers.
    pub fn subjects_at(&self, permission: &Permission, t: i64) -> Result<Subjects, StoreError> {
        let model = self.healthy_model()?;
        let graph = model.acl.graph();
        let principals =
            crate::acl::lookup::subjects_at(graph, model.acl.resolution(), permission, t);
        let bound: HashSet<&str> = principals
            .iter()
            .map(String::as_str)
            .filter(|id| model.binds(id))
            .collect();
        let mut peers: Vec<String> = model
            .peers
            .values()
            .filter(|peer| holds_itself(peer, permission) || bound.contains(peer.peer_id.as_str()))
            .map(|peer| peer.peer_id.clone())
            .collect();
        peers.sort_unstable();
        Ok(Subjects { principals, peers })
    }

    /// The resource actions a peer's identity holds at `t` (its own ∪ its
    /// principal's), by resource name; `None` if there is no such peer.
    ///
    /// # Errors
    ///
    /// As [`subjects_at`](Self::subjects_at).
    pub fn resources_at(
        &self,
        peer_id: &str,
        t: i64,
    ) -> Result<Option<crate::acl::Resources>, StoreError> {
        Ok(self.identity_at(peer_id, t)?.map(|identity| {
            identity
                .resources
                .into_iter()
                .map(|(resource, actions)| (resource, actions.into_iter().collect()))
                .collect()
        }))
    }

    /// The identity a peer resolves to at `t` (its own grant ∪ the
    /// effective grant of the principal it binds to, at `t`); `None` if
    /// there is no such peer. [`resolve_from_fingerprint`](IdentityProvider::resolve_from_fingerprint)
    /// answers the same for now.
    ///
    /// # Errors
    ///
    /// As [`subjects_at`](Self::subjects_at).
    pub fn identity_at(&self, peer_id: &str, t: i64) -> Result<Option<Identity>, StoreError> {
        let model = self.healthy_model()?;
        let Some(peer) = model.peers.get(peer_id) else {
            return Ok(None);
        };
        let bound = model
            .binds(peer_id)
            .then(|| model.acl.effective_at(peer_id, t))
            .flatten();
        Ok(Some(peer_grant(peer, bound).into_identity(&peer.peer_id)))
    }

    /// What `change` would do now, as [`Acl::what_if`](crate::acl::Acl::what_if),
    /// with the peers whose resolved identity would change as well (a
    /// peer's own scopes hide what its principal gains or loses of them).
    /// Nothing is written. It also makes the write's registry check: an
    /// org or role principal whose id is a peer's is refused.
    ///
    /// # Errors
    ///
    /// The error the write would be refused with, as a [`StoreError`];
    /// [`StoreError::Backend`] while the provider is not healthy.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, Change, IdentityType, Principal};
    /// use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("id.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("ci", IdentityType::Service).scopes(["deploy", "build"]))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// provider.insert_peer(PeerEntry::new("ci").scopes(["build"]))?;
    ///
    /// let answer = provider.what_if(&Change::RemovePrincipal("ci".into()))?;
    /// assert_eq!(answer.principals[0].id, "ci");
    /// // The peer keeps the scope it holds itself.
    /// assert_eq!(answer.peers[0].lost.scopes.iter().collect::<Vec<_>>(), ["deploy"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn what_if(&self, change: &Change) -> Result<WhatIf, StoreError> {
        let model = self.healthy_model()?;
        let fork =
            crate::acl::whatif::fork(model.acl.graph(), model.acl.resolution(), change, now_ms())?;
        // After the ACL's own checks, as the write makes it.
        if let Change::UpdatePrincipal(principal) = change {
            if model.peers.contains_key(&principal.identity_id) {
                if let Some(reason) = crate::acl::binding::binding_problem(
                    &principal.identity_id,
                    principal.identity_type,
                ) {
                    return Err(StoreError::Invalid(format!(
                        "node {:?} in graph \"acl\": {reason}",
                        principal.identity_id
                    )));
                }
            }
        }
        let mut peers = Vec::new();
        for changed in &fork.changes {
            let Some(peer) = model.peers.get(&changed.id) else {
                continue;
            };
            let (before, after) = fork.grants(&peer.peer_id);
            let bound_in = |graph: &crate::acl::AclGraph| {
                graph.principal(&peer.peer_id).is_some_and(|p| {
                    crate::acl::binding::binding_problem(&p.identity_id, p.identity_type).is_none()
                })
            };
            let old = peer_grant(peer, bound_in(fork.before_graph).then_some(before));
            let new = peer_grant(peer, bound_in(&fork.after_graph).then_some(after));
            let gained =
                GrantDelta::between(&new.scopes, &new.resources, &old.scopes, &old.resources);
            let lost =
                GrantDelta::between(&old.scopes, &old.resources, &new.scopes, &new.resources);
            if !gained.is_empty() || !lost.is_empty() {
                peers.push(GrantChange {
                    id: peer.peer_id.clone(),
                    gained,
                    lost,
                });
            }
        }
        Ok(WhatIf {
            at: fork.at,
            principals: fork.changes,
            peers,
        })
    }
}

fn holds_itself(peer: &PeerEntry, permission: &Permission) -> bool {
    match permission {
        Permission::Scope(scope) => peer.scopes.contains(scope),
        Permission::Resource { resource, action } => peer
            .resources
            .get(resource)
            .is_some_and(|actions| actions.contains(action)),
    }
}

impl IdentityProvider for SqliteIdentityProvider {
    fn resolve_from_fingerprint(&self, fingerprint: &str) -> Option<Identity> {
        self.shared
            .lookup(|snapshot| snapshot.by_fingerprint(fingerprint))
    }

    fn resolve_from_token(&self, token: &AuthToken) -> Option<Identity> {
        let hash = Digest::of_token_bytes(token.hash_bytes());
        self.shared.lookup(|snapshot| snapshot.by_token(&hash))
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
