//! [`IdentityTxn`]: the registry's writes inside a write transaction the
//! caller composes with others, so that a peer and the ACL principal it
//! binds to, or a peer and the graph writes it goes with, commit or roll
//! back together.

use std::fmt;

use super::model::not_held;
use super::SqliteIdentityProvider;
use crate::identity::tables::{self, KeyChange};
use crate::identity::validate;
use crate::identity::{ApiKey, AuthToken, NewApiKey, PeerEntry, StoreError};
use crate::time::now_ms;
use crate::WriteTxn;

/// The identity registry's writes inside a write transaction of the
/// caller's, made by [`SqliteIdentityProvider::within`].
///
/// Each write is checked and audited as the provider's own write is, in
/// the transaction: the checks that read the store (a duplicate
/// fingerprint, a peer binding to an org principal) see the transaction's
/// writes so far, ACL writes through [`AclTxn`](crate::acl::AclTxn)
/// included. Nothing is visible until the transaction commits; the
/// provider's snapshot then catches up by itself, before `commit` returns.
/// Dropping the transaction uncommitted rolls back every write in it.
///
/// An API key's owner is looked up as committed before the transaction
/// (what the owner holds is computed from the snapshot's model), so a key
/// for an owner written in the same transaction is refused as ownerless.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{Acl, IdentityType, Principal};
/// use alknet_graphs::identity::{IdentityProvider, PeerEntry, SqliteIdentityProvider};
/// use alknet_graphs::Store;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("ids.db"))?;
/// let acl = Acl::open(&store)?;
/// let ids = SqliteIdentityProvider::open(&store)?;
/// let fingerprint = format!("ed25519:{}", "ab".repeat(32));
///
/// // A service principal and the peer bound to it, in one transaction.
/// let mut tx = store.begin_write()?;
/// acl.within(&mut tx)?
///     .add_principal(&Principal::new("ci", IdentityType::Service).scopes(["deploy"]))?;
/// ids.within(&mut tx)?.insert_peer(PeerEntry::new("ci").fingerprint(fingerprint.clone()))?;
/// tx.commit()?;
///
/// let identity = ids.resolve_from_fingerprint(&fingerprint).expect("bound");
/// assert_eq!(identity.scopes, ["deploy"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IdentityTxn<'t, 's> {
    tx: &'t mut WriteTxn<'s>,
    provider: &'t SqliteIdentityProvider,
    now: i64,
}

impl fmt::Debug for IdentityTxn<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityTxn")
            .field("actor", &self.provider.actor())
            .finish_non_exhaustive()
    }
}

impl SqliteIdentityProvider {
    /// The registry's writes inside `tx`, composed with whatever else `tx`
    /// writes (ACL, graph, taskgraph writes): all of them commit, or roll
    /// back, together. See [`IdentityTxn`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] if `tx` writes another store than this
    /// provider's.
    pub fn within<'t, 's>(
        &'t self,
        tx: &'t mut WriteTxn<'s>,
    ) -> Result<IdentityTxn<'t, 's>, StoreError> {
        if !tx.is_of(self.store()) {
            return Err(StoreError::Invalid(
                "the transaction writes another store than this provider's".to_owned(),
            ));
        }
        Ok(IdentityTxn::new(tx, self))
    }
}

impl<'t, 's> IdentityTxn<'t, 's> {
    pub(super) fn new(tx: &'t mut WriteTxn<'s>, provider: &'t SqliteIdentityProvider) -> Self {
        IdentityTxn {
            tx,
            provider,
            now: now_ms(),
        }
    }

    /// The transaction, who writes, and when: for the provider's writes
    /// that are not the registry's own (credentials, erasure).
    pub(super) fn parts(&mut self) -> (&mut WriteTxn<'s>, Option<&str>, i64) {
        (self.tx, self.provider.actor(), self.now)
    }

    /// As [`SqliteIdentityProvider::insert_peer`].
    ///
    /// # Errors
    ///
    /// As [`SqliteIdentityProvider::insert_peer`], but for
    /// [`StoreError::Unapplied`] (nothing is applied before the commit).
    pub fn insert_peer(&mut self, peer: PeerEntry) -> Result<(), StoreError> {
        self.insert_valid_peer(&validate::peer(peer)?)
    }

    /// As [`SqliteIdentityProvider::replace_peer`].
    ///
    /// # Errors
    ///
    /// As [`SqliteIdentityProvider::replace_peer`], but for
    /// [`StoreError::Unapplied`].
    pub fn replace_peer(&mut self, peer: PeerEntry) -> Result<(), StoreError> {
        self.replace_valid_peer(&validate::peer(peer)?)
    }

    /// As [`SqliteIdentityProvider::delete_peer`], revoking its API keys in
    /// the same transaction.
    ///
    /// # Errors
    ///
    /// As [`SqliteIdentityProvider::delete_peer`], but for
    /// [`StoreError::Unapplied`].
    pub fn delete_peer(&mut self, peer_id: &str) -> Result<(), StoreError> {
        tables::remove_peer(self.tx, peer_id, self.provider.actor(), self.now)
    }

    /// As [`SqliteIdentityProvider::create_api_key`]; the owner is looked
    /// up as committed before the transaction.
    ///
    /// # Errors
    ///
    /// As [`SqliteIdentityProvider::create_api_key`], but for
    /// [`StoreError::Unapplied`].
    pub fn create_api_key(&mut self, key: NewApiKey) -> Result<(ApiKey, AuthToken), StoreError> {
        let key = validate::api_key(key)?;
        self.create_valid_api_key(&key)
    }

    /// As [`SqliteIdentityProvider::revoke_api_key`].
    ///
    /// # Errors
    ///
    /// As [`SqliteIdentityProvider::revoke_api_key`], but for
    /// [`StoreError::Unapplied`].
    pub fn revoke_api_key(&mut self, id: &str) -> Result<ApiKey, StoreError> {
        self.change_api_key(id, KeyChange::Revoke)
    }

    /// As [`SqliteIdentityProvider::set_api_key_enabled`].
    ///
    /// # Errors
    ///
    /// As [`SqliteIdentityProvider::set_api_key_enabled`], but for
    /// [`StoreError::Unapplied`].
    pub fn set_api_key_enabled(&mut self, id: &str, enabled: bool) -> Result<ApiKey, StoreError> {
        self.change_api_key(id, KeyChange::Enable(enabled))
    }

    pub(super) fn insert_valid_peer(&mut self, peer: &PeerEntry) -> Result<(), StoreError> {
        tables::insert_peer(self.tx, peer, self.provider.actor(), self.now)
    }

    pub(super) fn replace_valid_peer(&mut self, peer: &PeerEntry) -> Result<(), StoreError> {
        tables::update_peer(self.tx, peer, self.provider.actor(), self.now)
    }

    pub(super) fn change_api_key(
        &mut self,
        id: &str,
        change: KeyChange,
    ) -> Result<ApiKey, StoreError> {
        tables::change_api_key(self.tx, id, change, self.provider.actor(), self.now)
    }

    /// Creates a checked key: its owner exists and holds all of it.
    pub(super) fn create_valid_api_key(
        &mut self,
        key: &NewApiKey,
    ) -> Result<(ApiKey, AuthToken), StoreError> {
        let Some(owner) = self.provider.shared.owner_grant_in(self.tx, key)? else {
            return Err(StoreError::NotFound(format!(
                "API key {:?}: owner {:?} is neither a peer nor an ACL principal",
                key.name, key.owner_id
            )));
        };
        let missing = not_held(key, &owner.identity);
        if !missing.is_empty() {
            return Err(StoreError::NotHeld {
                key: key.name.clone(),
                owner: key.owner_id.clone(),
                missing,
            });
        }
        let token = AuthToken::generate();
        let stored =
            tables::insert_api_key(self.tx, key, &token.hash(), self.provider.actor(), self.now)?;
        Ok((stored, token))
    }
}
