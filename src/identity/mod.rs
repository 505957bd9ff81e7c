//! The identity registry: peers, API keys and credentials in plain tables,
//! resolved synchronously and lock-free from an in-memory snapshot.
//!
//! Table-shaped data lives in typed tables (`peers`, `peer_fingerprints`,
//! `api_keys`, `credentials`), not in the metagraph: a lookup is an index
//! hit, never a traversal. What a peer may do is its own scopes and
//! resources **plus** the effective ACL grant of the principal whose
//! `identity_id` is its peer id, if that principal is an account or a
//! service (see [`crate::acl`]; an org or a role is reached through
//! memberships only), resolved when the snapshot is built, so the access
//! check stays a flat set match. An API key holds its own grant ∩ its
//! owner's (see [`NewApiKey`]).
//!
//! [`SqliteIdentityProvider`] serves [`IdentityProvider`] reads from an
//! `ArcSwap` snapshot: no SQLite, no lock, no `.await`. It follows the
//! change feed and rebuilds only what changed: the peers, keys and
//! providers named by each committed batch, and the peers whose principal
//! is downstream of a changed ACL node or edge. Writes made in this process
//! are visible to the next read once the write call returns; writes from
//! other processes within a poll interval of the watcher. A grant whose
//! `valid_until` passes is recomputed before it is served. When the store
//! cannot be followed the provider fails closed rather than serve an older
//! snapshot: see [`SqliteIdentityProvider::status`].
//!
//! Every write made through the provider is recorded in the hash-chained audit log
//! ([`Reader::audit_log`](crate::Reader::audit_log),
//! [`Reader::verify_audit_chain`](crate::Reader::verify_audit_chain)).
//!
//! The traits mirror, by signature, the auth contract this registry plugs
//! into: reads are sync, writes are `async` and run on a writer thread
//! owned by the provider, so they work under any executor (tokio, a
//! minimal `block_on`, …) and never block it.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal};
//! use alknet_graphs::identity::{AuthToken, IdentityProvider, PeerEntry, SqliteIdentityProvider};
//! use alknet_graphs::Store;
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("ids.db"))?;
//! let provider = SqliteIdentityProvider::open(&store)?;
//!
//! let fp = "ed25519:".to_owned() + &"ab".repeat(32);
//! let mut peer = PeerEntry::new("build-01").fingerprint(&fp).scopes(["ci"]);
//! let token = peer.generate_token(); // shown once; the store keeps its hash
//! provider.insert_peer(peer)?;
//!
//! // The ACL grants the peer's principal more.
//! let mut acl = Acl::open(&store)?;
//! acl.add_principal(&Principal::new("ops", IdentityType::Role).scopes(["deploy", "ci"]))?;
//! acl.add_principal(&Principal::new("build-01", IdentityType::Service))?;
//! acl.delegate(&Delegation::new("ops", "build-01").scopes(["deploy"]))?;
//!
//! // Any hex case resolves; the ACL grant is part of the identity.
//! let identity = provider.resolve_from_fingerprint(&fp.to_uppercase()).unwrap();
//! assert_eq!(identity.id, "build-01");
//! assert_eq!(identity.scopes, ["ci", "deploy"]);
//! assert_eq!(provider.resolve_from_token(&token).unwrap().id, "build-01");
//! assert!(provider.resolve_from_token(&AuthToken::new("wrong")).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod executor;
mod provider;
mod snapshot;
pub(crate) mod tables;
mod validate;
pub(crate) mod verify;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::acl::Identity;
pub(crate) use provider::attenuate;
pub use provider::{IdentityTxn, ProviderBuilder, SqliteIdentityProvider, Subjects};
pub use validate::{normalize_fingerprint, normalize_token_hash};

/// Resolves the caller of a connection or request to an [`Identity`],
/// synchronously: it is called in accept loops, with no `.await`.
pub trait IdentityProvider: Send + Sync {
    /// The identity owning this key fingerprint (`ed25519:<hex>` or
    /// `SHA256:<hex>`, any hex case), or `None` for an unknown or
    /// malformed one.
    fn resolve_from_fingerprint(&self, fingerprint: &str) -> Option<Identity>;

    /// The identity this bearer token stands for (a peer's token or an API
    /// key), or `None` for an unknown, disabled, revoked or expired one.
    fn resolve_from_token(&self, token: &AuthToken) -> Option<Identity>;
}

/// Peer writes, asynchronous.
pub trait IdentityStore: IdentityProvider {
    /// Adds a peer; [`StoreError::Duplicate`] if its id, a fingerprint or
    /// its token hash is taken.
    fn put_peer(&self, peer: PeerEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces a peer; [`StoreError::NotFound`] if it does not exist.
    fn update_peer(&self, peer: PeerEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a peer; [`StoreError::NotFound`] if it does not exist.
    fn remove_peer(&self, peer_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Encrypted provider credentials, stored opaque (never decrypted here).
pub trait CredentialStore: Send + Sync {
    /// The credential stored for `provider`, from memory.
    fn get(&self, provider: &str) -> Option<EncryptedData>;

    /// Stores (or replaces) the credential for `provider`.
    fn put(
        &self,
        provider: &str,
        data: EncryptedData,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the credential for `provider`; [`StoreError::NotFound`] if
    /// there is none.
    fn delete(&self, provider: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Why an identity or credential write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The entity, or a unique part of it, exists already.
    #[error("{0}")]
    Duplicate(String),
    /// The entity does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The input is malformed; the message names the offending value.
    #[error("{0}")]
    Invalid(String),
    /// An API key for more than its owner holds: every missing permission
    /// is named. Its [`kind`](StoreError::kind) is `invalid`.
    #[error(
        "API key {key:?}: owner {owner:?} does not hold {}",
        crate::acl::Permission::list(missing)
    )]
    NotHeld {
        /// The key's name.
        key: String,
        /// Its owner.
        owner: String,
        /// What the owner does not hold, scopes first.
        missing: Vec<crate::acl::Permission>,
    },
    /// The storage layer failed.
    #[error("storage failure: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The store's error behind it, when there was one (see
        /// [`backend_cause`](StoreError::backend_cause)); `message` states
        /// it, so it is not also this error's `source`.
        cause: Option<BackendCause>,
    },
    /// The write committed at `revision`, but the provider's snapshot could
    /// not apply it (its `cause` is the source); `health` says what is
    /// served until it can (see [`SqliteIdentityProvider::status`]).
    #[error(
        "the write committed at revision {revision}, but the identity snapshot could not apply it; until it can, {}",
        .health.serving()
    )]
    Unapplied {
        /// The revision the write committed.
        revision: u64,
        /// What the provider serves meanwhile.
        health: ProviderHealth,
        /// Why the snapshot could not apply it.
        #[source]
        cause: Box<StoreError>,
    },
}

impl StoreError {
    /// A short, stable name of the variant (`duplicate`, `not_found`,
    /// `invalid`, `backend`, `unapplied`).
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Duplicate(_) => "duplicate",
            StoreError::NotFound(_) => "not_found",
            StoreError::Invalid(_) | StoreError::NotHeld { .. } => "invalid",
            StoreError::Backend { .. } => "backend",
            StoreError::Unapplied { .. } => "unapplied",
        }
    }

    /// A storage failure with no error of the store's behind it.
    pub(crate) fn backend(message: impl Into<String>) -> Self {
        StoreError::Backend {
            message: message.into(),
            cause: None,
        }
    }

    /// A storage failure caused by the store's `error`.
    pub(crate) fn backend_of(error: crate::Error) -> Self {
        StoreError::Backend {
            message: error.to_string(),
            cause: Some(BackendCause(Arc::new(error))),
        }
    }

    /// The store's error behind a [`StoreError::Backend`], when there was
    /// one: branch on it as on any [`Error`](crate::Error) (`kind()`,
    /// `is_read_only()`, …).
    pub fn backend_cause(&self) -> Option<&crate::Error> {
        match self {
            StoreError::Backend {
                cause: Some(cause), ..
            } => Some(&cause.0),
            _ => None,
        }
    }

    /// The message without the variant's prefix: what went wrong, to be
    /// wrapped by another error without saying "storage failure" twice.
    pub(crate) fn detail(&self) -> String {
        match self {
            StoreError::Backend { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// The store's error behind a [`StoreError::Backend`]: shared, so that the
/// error stays `Clone`; two are equal when their messages are.
#[derive(Debug, Clone)]
pub struct BackendCause(Arc<crate::Error>);

impl BackendCause {
    /// The store's error.
    pub fn error(&self) -> &crate::Error {
        &self.0
    }
}

impl PartialEq for BackendCause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for BackendCause {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        let message = error.to_string();
        StoreError::Backend {
            message,
            cause: Some(BackendCause(Arc::new(crate::Error::Sqlite(error)))),
        }
    }
}

/// How a [`SqliteIdentityProvider`] is serving, as of one snapshot: see
/// [`SqliteIdentityProvider::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderStatus {
    /// The store revision the snapshot reflects.
    pub revision: u64,
    /// What it serves.
    pub health: ProviderHealth,
}

/// What a [`SqliteIdentityProvider`] serves; every state but `Healthy`
/// fails closed (see [`SqliteIdentityProvider::status`]).
///
/// ```
/// use alknet_graphs::identity::ProviderHealth;
/// let health = ProviderHealth::AclUnavailable { reason: "bad row".into() };
/// assert!(!health.is_healthy());
/// assert_eq!(health.reason(), Some("bad row"));
/// assert_eq!(health.to_string(), "the ACL is unavailable: bad row");
/// assert_eq!(ProviderHealth::Healthy.reason(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderHealth {
    /// Everything is served: the registry and the ACL as of the revision.
    Healthy,
    /// The ACL could not be read: peers resolve to their own grants only,
    /// and API keys to key ∩ their owner's grant without the ACL (nothing
    /// for an owner that is not a peer).
    AclUnavailable {
        /// Why.
        reason: String,
    },
    /// The registry could not be read: nothing resolves.
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl ProviderHealth {
    /// Whether everything is served.
    pub fn is_healthy(&self) -> bool {
        *self == ProviderHealth::Healthy
    }

    /// Why it is not healthy.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ProviderHealth::Healthy => None,
            ProviderHealth::AclUnavailable { reason } | ProviderHealth::Unavailable { reason } => {
                Some(reason)
            }
        }
    }

    /// A short, stable name of the state (`healthy`, `acl_unavailable`,
    /// `unavailable`).
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderHealth::Healthy => "healthy",
            ProviderHealth::AclUnavailable { .. } => "acl_unavailable",
            ProviderHealth::Unavailable { .. } => "unavailable",
        }
    }

    /// What is served in this state, as a sentence fragment.
    pub fn serving(&self) -> &'static str {
        match self {
            ProviderHealth::Healthy => "every grant is served",
            ProviderHealth::AclUnavailable { .. } => {
                "no ACL grant is served: peers resolve to their own scopes and resources only, \
                 and API keys of owners that are not peers resolve to nothing"
            }
            ProviderHealth::Unavailable { .. } => "nothing resolves",
        }
    }
}

impl fmt::Display for ProviderHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderHealth::Healthy => f.write_str("healthy"),
            ProviderHealth::AclUnavailable { reason } => {
                write!(f, "the ACL is unavailable: {reason}")
            }
            ProviderHealth::Unavailable { reason } => {
                write!(f, "the identity registry is unavailable: {reason}")
            }
        }
    }
}

impl From<crate::Error> for StoreError {
    fn from(error: crate::Error) -> Self {
        use crate::Error;
        match error {
            Error::NotFound { .. } => StoreError::NotFound(error.to_string()),
            Error::AlreadyExists { .. } => StoreError::Duplicate(error.to_string()),
            Error::Invalid { .. }
            | Error::Rule { .. }
            | Error::Task { .. }
            | Error::Flow { .. }
            | Error::NotHeld { .. }
            | Error::TooLarge { .. } => StoreError::Invalid(error.to_string()),
            other => StoreError::backend_of(other),
        }
    }
}

/// A bearer token as presented by a caller. Only its SHA-256 is ever
/// stored; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// Wraps a presented token.
    pub fn new(token: impl Into<String>) -> Self {
        AuthToken(token.into())
    }

    /// A new random token (`alk_` and 64 hex digits: 244 random bits).
    pub fn generate() -> Self {
        let a = uuid::Uuid::new_v4().simple().to_string();
        let b = uuid::Uuid::new_v4().simple().to_string();
        AuthToken(format!("alk_{a}{b}"))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, lowercase hex: what the store keeps.
    ///
    /// ```
    /// use alknet_graphs::identity::AuthToken;
    /// assert_eq!(
    ///     AuthToken::new("abc").hash(),
    ///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// );
    /// ```
    pub fn hash(&self) -> String {
        validate::sha256_hex(self.0.as_bytes())
    }

    /// SHA-256 of the token, as bytes: what [`hash`](Self::hash) spells.
    pub(crate) fn hash_bytes(&self) -> [u8; 32] {
        validate::sha256(self.0.as_bytes())
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// The shortest bearer token a peer may be given, in bytes: shorter ones
/// are refused when they are set with [`PeerEntry::token`]. A generated
/// token ([`AuthToken::generate`], [`PeerEntry::generate_token`]) has 68.
pub const MIN_TOKEN_BYTES: usize = 32;

/// A peer: a stable logical id, the key fingerprints and token it
/// authenticates with, and what it may do on its own.
///
/// Its token is kept only as a hash. Set one with
/// [`generate_token`](PeerEntry::generate_token) (a new random token,
/// returned once), or with [`token`](PeerEntry::token) for a token the
/// caller holds, which must be at least [`MIN_TOKEN_BYTES`] long: the
/// provider refuses a shorter one when the peer is written. A hash set
/// directly in [`auth_token_hash`](PeerEntry::auth_token_hash) (one
/// copied from another registry) is taken as it is.
///
/// Two entries are equal when their public fields are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PeerEntry {
    /// The stable id; the resolved [`Identity::id`].
    pub peer_id: String,
    /// Key fingerprints, `ed25519:<64 hex>` or `SHA256:<64 hex>`; each
    /// belongs to one peer at most.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// SHA-256 (hex) of the peer's bearer token, if it has one.
    #[serde(default)]
    pub auth_token_hash: Option<String>,
    /// Scopes the peer holds itself.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resource actions the peer holds itself, by resource type.
    #[serde(default)]
    pub resources: HashMap<String, Vec<String>>,
    /// The hash [`token`](PeerEntry::token) set and the length in bytes of
    /// its token, for the provider's length rule (the hash alone cannot
    /// tell); it applies while `auth_token_hash` is still that hash.
    #[serde(skip)]
    given_token: Option<(String, usize)>,
}

impl PartialEq for PeerEntry {
    fn eq(&self, other: &Self) -> bool {
        let PeerEntry {
            peer_id,
            fingerprints,
            auth_token_hash,
            scopes,
            resources,
            given_token: _,
        } = self;
        *peer_id == other.peer_id
            && *fingerprints == other.fingerprints
            && *auth_token_hash == other.auth_token_hash
            && *scopes == other.scopes
            && *resources == other.resources
    }
}

impl Eq for PeerEntry {}

impl PeerEntry {
    /// A peer with no credentials and no grants.
    pub fn new(peer_id: impl Into<String>) -> Self {
        PeerEntry {
            peer_id: peer_id.into(),
            ..PeerEntry::default()
        }
    }

    /// Adds a key fingerprint.
    pub fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprints.push(fingerprint.into());
        self
    }

    /// Sets the bearer token (its hash is what is kept). A token shorter
    /// than [`MIN_TOKEN_BYTES`] is refused when the peer is written
    /// ([`SqliteIdentityProvider::insert_peer`] and
    /// [`replace_peer`](SqliteIdentityProvider::replace_peer) return
    /// [`StoreError::Invalid`]); [`generate_token`](Self::generate_token)
    /// makes one that is long enough.
    ///
    /// ```
    /// use alknet_graphs::identity::{AuthToken, PeerEntry, SqliteIdentityProvider};
    /// # let dir = tempfile::tempdir()?;
    /// # let store = alknet_graphs::Store::open(dir.path().join("ids.db"))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// let err = provider
    ///     .insert_peer(PeerEntry::new("ci-bot").token(&AuthToken::new("hunter2")))
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"peer "ci-bot": a token must be at least 32 bytes (got 7); generate one with PeerEntry::generate_token"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token(mut self, token: &AuthToken) -> Self {
        let hash = token.hash();
        self.given_token = Some((hash.clone(), token.as_str().len()));
        self.auth_token_hash = Some(hash);
        self
    }

    /// Gives the peer a new random token ([`AuthToken::generate`]) and
    /// returns it: the only time it exists outside the caller, since only
    /// its hash is kept. Replaces a token set before.
    ///
    /// ```
    /// use alknet_graphs::identity::{IdentityProvider, PeerEntry, SqliteIdentityProvider};
    /// # let dir = tempfile::tempdir()?;
    /// # let store = alknet_graphs::Store::open(dir.path().join("ids.db"))?;
    /// let provider = SqliteIdentityProvider::open(&store)?;
    /// let mut peer = PeerEntry::new("ci-bot").scopes(["ci"]);
    /// let token = peer.generate_token();
    /// provider.insert_peer(peer)?;
    /// assert_eq!(provider.resolve_from_token(&token).unwrap().id, "ci-bot");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate_token(&mut self) -> AuthToken {
        let token = AuthToken::generate();
        let hash = token.hash();
        self.given_token = Some((hash.clone(), token.as_str().len()));
        self.auth_token_hash = Some(hash);
        token
    }

    /// The length of the token given to [`token`](Self::token), if the
    /// entry still holds its hash.
    pub(crate) fn given_token_len(&self) -> Option<usize> {
        match (&self.given_token, &self.auth_token_hash) {
            (Some((given, len)), Some(hash)) if given == hash => Some(*len),
            _ => None,
        }
    }

    /// Adds scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds actions on a resource type.
    pub fn resource<S: Into<String>>(
        mut self,
        resource: impl Into<String>,
        actions: impl IntoIterator<Item = S>,
    ) -> Self {
        self.resources
            .entry(resource.into())
            .or_default()
            .extend(actions.into_iter().map(Into::into));
        self
    }
}

/// What kind of credential a [`CredentialRecord`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CredentialKind {
    /// A key fingerprint.
    Fingerprint,
    /// A bearer token.
    Token,
}

impl CredentialKind {
    /// Its stored name: `fingerprint` or `token`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Fingerprint => "fingerprint",
            CredentialKind::Token => "token",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "fingerprint" => Some(CredentialKind::Fingerprint),
            "token" => Some(CredentialKind::Token),
            _ => None,
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fingerprint or token a peer has held: when it was added and
/// removed, and who did each (the writer's actor, see
/// [`SqliteIdentityProvider::acting_as`]). Written in the transaction of
/// the peer write that made the change; read with
/// [`SqliteIdentityProvider::history`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// A fingerprint or a token.
    pub kind: CredentialKind,
    /// The fingerprint (canonical); for a token its ordinal among the
    /// tokens the peer id has held (`#1`, `#2`, …), never the token or
    /// its hash.
    pub value: String,
    /// When it was added, unix milliseconds; `None` for a credential the
    /// peer already held when the store began keeping this history.
    pub added_at: Option<i64>,
    /// Who added it, when the writer said.
    pub added_by: Option<String>,
    /// When it was removed (replaced, dropped, or the peer removed);
    /// `None` while the peer holds it.
    pub removed_at: Option<i64>,
    /// Who removed it, when the writer said.
    pub removed_by: Option<String>,
}

impl CredentialRecord {
    /// Whether the peer holds it now.
    pub fn is_current(&self) -> bool {
        self.removed_at.is_none()
    }
}

/// An API key to create: a token that *is* an identity (its owner's id,
/// with the key's own scopes and resources, narrowed to its owner's).
///
/// A key is attenuated like a delegation (UCAN-style):
///
/// - **At creation** its owner must exist — a peer, or an ACL principal —
///   and hold every scope and resource action the key grants: a peer owner
///   its own grant ∪ the effective grant of the account or service
///   principal it binds to; a principal owner its effective grant.
///   Otherwise [`SqliteIdentityProvider::create_api_key`] refuses, naming
///   what is missing (`API key "deploy": owner "ci-bot" does not hold
///   "deploy:prod"`) or the owner (`API key "k": owner "root" is neither a
///   peer nor an ACL principal`).
/// - **At resolution** the key holds key ∩ what its owner holds *then*: an
///   owner who loses a scope (a peer row replaced, a delegation revoked or
///   expired, a principal narrowed) narrows the key, and an owner removed
///   (no peer and no principal of that id left) kills it, with no write to
///   the key. The intersection is computed when the snapshot is (re)built,
///   never per lookup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewApiKey {
    /// A human name (`deploy script`).
    pub name: String,
    /// The id the key resolves to.
    pub owner_id: String,
    /// Scopes it grants.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resource actions it grants, by resource type.
    #[serde(default)]
    pub resources: HashMap<String, Vec<String>>,
    /// When it stops working, unix milliseconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl NewApiKey {
    /// A key named `name` resolving to `owner_id`, granting nothing yet.
    pub fn new(name: impl Into<String>, owner_id: impl Into<String>) -> Self {
        NewApiKey {
            name: name.into(),
            owner_id: owner_id.into(),
            ..NewApiKey::default()
        }
    }

    /// Adds scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds actions on a resource type.
    pub fn resource<S: Into<String>>(
        mut self,
        resource: impl Into<String>,
        actions: impl IntoIterator<Item = S>,
    ) -> Self {
        self.resources
            .entry(resource.into())
            .or_default()
            .extend(actions.into_iter().map(Into::into));
        self
    }

    /// Sets the expiry, unix milliseconds.
    pub fn expires_at(mut self, t: i64) -> Self {
        self.expires_at = Some(t);
        self
    }
}

/// A stored API key (its token is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Its id (UUIDv7).
    pub id: String,
    /// Its human name.
    pub name: String,
    /// The id it resolves to.
    pub owner_id: String,
    /// Scopes it grants.
    pub scopes: Vec<String>,
    /// Resource actions it grants.
    pub resources: HashMap<String, Vec<String>>,
    /// Whether it may be used (a disabled key resolves to nothing).
    pub enabled: bool,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// When it was revoked (a revoked key resolves to nothing).
    pub revoked_at: Option<i64>,
    /// When it was created.
    pub created_at: i64,
}

impl ApiKey {
    /// Whether it resolves at `t` (enabled, not revoked, not expired).
    pub fn is_usable_at(&self, t: i64) -> bool {
        self.enabled && self.revoked_at.is_none() && self.expires_at.is_none_or(|e| t < e)
    }
}

/// An encrypted credential blob, in the shared wire shape; this crate
/// stores it and never decrypts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedData {
    /// Version of the key that encrypted it.
    pub key_version: u32,
    /// Key-derivation salt.
    pub salt: Vec<u8>,
    /// Nonce.
    pub iv: Vec<u8>,
    /// The ciphertext (with its tag).
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for EncryptedData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedData")
            .field("key_version", &self.key_version)
            .field("salt", &format_args!("{} bytes", self.salt.len()))
            .field("iv", &format_args!("{} bytes", self.iv.len()))
            .field(
                "ciphertext",
                &format_args!("{} bytes", self.ciphertext.len()),
            )
            .finish()
    }
}
