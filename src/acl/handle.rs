//! [`Acl`]: the ACL graph of a store, its writes, and its resolved grants
//! kept in memory.

use std::fmt;
use std::time::Duration;

use super::explain::Explanation;
use super::follow::AclFollower;
use super::model::{Action, Delegation, Membership, Permission, Principal, Resource};
use super::ops::{self, apply_to, audit_record, Mutation, Op};
use super::resolve::{EffectiveGrant, Resolution, DEFAULT_MAX_DEPTH};
use super::snapshot::AclGraph;
use super::{check::Identity, schema};
use crate::time::now_ms;
use crate::{Result, Store};

/// How often [`Acl::refresh`] runs the automatic prune of an ACL opened
/// with a retention (see [`AclBuilder::retention`]).
pub const AUTO_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Options for opening an [`Acl`].
///
/// Default: a maximum chain depth of [`DEFAULT_MAX_DEPTH`] (32) edges, and
/// no automatic pruning.
#[derive(Debug, Clone)]
pub struct AclBuilder {
    max_depth: u32,
    retention: Option<Duration>,
}

impl Default for AclBuilder {
    fn default() -> Self {
        AclBuilder {
            max_depth: DEFAULT_MAX_DEPTH,
            retention: None,
        }
    }
}

impl AclBuilder {
    /// Chains of more than `max_depth` edges do not contribute.
    pub fn max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Prunes automatically what expired more than `retention` ago:
    /// [`Acl::prune_expired`] with `now - retention`, run when the ACL is
    /// opened (on a writable store) and then by [`Acl::refresh`] at most
    /// once every [`AUTO_PRUNE_INTERVAL`]. A
    /// run that finds nothing to remove writes nothing. Default: off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use alknet_graphs::acl::Acl;
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let acl = Acl::builder().retention(Duration::from_secs(30 * 86_400)).open(&store)?;
    /// assert_eq!(acl.retention(), Some(Duration::from_secs(30 * 86_400)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Ensures the ACL's types and graph in `store`, loads the graph into
    /// memory and resolves every principal at the current time. A
    /// read-only store is loaded as it is, without ensuring anything.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) if a graph named `acl` exists with another graph
    /// type, or a stored principal or resource breaks the key rule;
    /// [`Error::Revalidation`](crate::Error::Revalidation) if stored ACL data fails an updated schema;
    /// [`Error::NotFound`](crate::Error::NotFound) if the store is read-only and holds no `acl`
    /// graph; [`Error::Sqlite`](crate::Error::Sqlite) on a storage failure; with a retention
    /// set, the errors of [`Acl::prune_expired`].
    pub fn open(self, store: &Store) -> Result<Acl> {
        // A read-only store is served as it is.
        if !store.is_read_only() {
            store.write(schema::ensure)?;
        }
        let now = now_ms();
        let mut state = AclFollower::new(self.max_depth, now);
        let read = store.begin_read()?;
        state.catch_up(&read, now)?;
        drop(read);
        let mut acl = Acl {
            store: store.clone(),
            actor: None,
            max_depth: self.max_depth,
            retention: self.retention,
            last_auto_prune: None,
            state,
        };
        acl.auto_prune(now)?;
        Ok(acl)
    }
}

/// The ACL of a store: principals, resources, delegations, memberships and
/// resource grants in the built-in graph `acl`, with every principal's
/// effective grant resolved in memory.
///
/// Writes go through the metagraph, so they are schema-validated, atomic,
/// and published on the change feed; each one is a transaction of its own,
/// returns the store revision it committed, and updates the resolved grants
/// incrementally (only principals downstream of the change are recomputed).
/// Reads never touch SQLite: a grant whose `valid_until` has not passed is
/// served from memory, any other instant is resolved on demand.
///
/// Writes by other handles or processes are picked up by
/// [`refresh`](Acl::refresh), and before every write of this handle (so the
/// write-time checks always see the committed state). Share an `Acl`
/// between threads behind a lock.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{Acl, Delegation, IdentityType, Permission, Principal};
/// use alknet_graphs::Store;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("acl.db"))?;
/// let mut acl = Acl::open(&store)?;
/// acl.add_principal(&Principal::new("alice", IdentityType::Account).scopes(["repo:read", "repo:write"]))?;
/// acl.add_principal(&Principal::new("ci-bot", IdentityType::Service))?;
/// acl.delegate(&Delegation::new("alice", "ci-bot").scopes(["repo:read"]))?;
///
/// let ci = acl.effective("ci-bot").expect("ci-bot exists");
/// assert!(ci.has_scope("repo:read") && !ci.has_scope("repo:write"));
///
/// // Delegating what the delegator does not hold is refused, naming it.
/// let err = acl.delegate(&Delegation::new("ci-bot", "alice").scopes(["deploy"])).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"edge "delegates ci-bot alice" in graph "acl": delegator "ci-bot" does not hold "deploy""#
/// );
///
/// let why = acl.explain("ci-bot", &Permission::scope("repo:write")).unwrap();
/// assert_eq!(why.to_string(), "denied: dropped at hop 1: not in narrowed_scopes of alice→ci-bot");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Acl {
    store: Store,
    actor: Option<String>,
    max_depth: u32,
    retention: Option<Duration>,
    /// When the last automatic prune ran (unix ms).
    last_auto_prune: Option<i64>,
    state: AclFollower,
}

/// What a write's checks read: the graph in memory, caught up with the
/// write transaction.
impl fmt::Debug for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acl")
            .field("path", &self.store.path())
            .field("revision", &self.state.revision())
            .field("principals", &self.state.graph().principal_count())
            .field("edges", &self.state.graph().edge_count())
            .field("error", &self.state.error())
            .field("max_depth", &self.max_depth)
            .finish()
    }
}

impl Acl {
    /// Opens the ACL of `store` with the default options; see
    /// [`AclBuilder::open`].
    ///
    /// # Errors
    ///
    /// As [`AclBuilder::open`].
    pub fn open(store: &Store) -> Result<Acl> {
        AclBuilder::default().open(store)
    }

    /// Options for opening an ACL.
    pub fn builder() -> AclBuilder {
        AclBuilder::default()
    }

    /// Names who makes the writes that follow, for the audit log (`None`:
    /// not recorded).
    pub fn set_actor(&mut self, actor: Option<&str>) {
        self.actor = actor.map(str::to_owned);
    }

    /// The store this ACL lives in.
    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// The ACL in memory, as of the last catch-up.
    pub(super) fn state(&self) -> &AclFollower {
        &self.state
    }

    /// Who the audit log names for this handle's writes.
    pub(super) fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The maximum chain depth.
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// The automatic pruning's retention, if set (see
    /// [`AclBuilder::retention`]).
    pub fn retention(&self) -> Option<Duration> {
        self.retention
    }

    /// Runs the automatic prune if a retention is set, the store is
    /// writable and the last run was at least [`AUTO_PRUNE_INTERVAL`] ago.
    fn auto_prune(&mut self, now: i64) -> Result<()> {
        let Some(retention) = self.retention else {
            return Ok(());
        };
        if self.store.is_read_only() {
            return Ok(());
        }
        let interval = AUTO_PRUNE_INTERVAL.as_millis() as i64;
        if self
            .last_auto_prune
            .is_some_and(|last| now.saturating_sub(last) < interval)
        {
            return Ok(());
        }
        self.last_auto_prune = Some(now);
        let retention = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        self.prune_expired_at(now.saturating_sub(retention), now)?;
        Ok(())
    }

    /// The store revision the graph in memory reflects.
    pub fn revision(&self) -> u64 {
        self.state.revision()
    }

    /// The graph in memory: empty while [`last_error`](Acl::last_error)
    /// is set.
    pub fn graph(&self) -> &AclGraph {
        self.state.graph()
    }

    /// Every principal's effective grant at [`Resolution::at`], as kept up
    /// to date by writes and [`refresh`](Acl::refresh).
    pub fn resolution(&self) -> &Resolution {
        self.state.resolution()
    }

    /// Why the last catch-up with the store failed, if it did. Until a
    /// later [`refresh`](Acl::refresh) or write catches up, the handle
    /// **fails closed**: its graph is empty, so every read
    /// ([`effective`](Acl::effective), [`identity`](Acl::identity),
    /// [`explain`](Acl::explain), …) answers as for an unknown principal,
    /// and never with a grant the store may no longer hold.
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, IdentityType, Principal};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("alice", IdentityType::Account).scopes(["s"]))?;
    /// assert_eq!(acl.last_error(), None);
    /// assert!(acl.refresh().is_ok());
    /// assert!(acl.effective("alice").unwrap().has_scope("s"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn last_error(&self) -> Option<&str> {
        self.state.error()
    }

    /// Catches up with writes made by other handles or processes and moves
    /// the resolution to the current time. It applies the ACL nodes and
    /// edges the change stream names since the last catch-up, re-resolving
    /// only the principals downstream of them, and loads the whole graph
    /// when the stream cannot be followed (pruned or undecodable batches,
    /// a change to the ACL's graph or types) or the named rows do not
    /// apply. With a retention set (see [`AclBuilder::retention`]) it
    /// then runs the automatic prune when it is due. Returns whether the
    /// store had moved on.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) or [`Error::Corrupt`](crate::Error::Corrupt) for a stored ACL row that
    /// does not decode (a principal whose `identity_id` is not its key, a
    /// resource whose key is not `resource <type>[/<id>]`, …);
    /// [`Error::Sqlite`](crate::Error::Sqlite) on a storage failure. The handle then fails
    /// closed (see [`last_error`](Acl::last_error)) until a later catch-up
    /// succeeds.
    pub fn refresh(&mut self) -> Result<bool> {
        let before = self.state.revision();
        let now = now_ms();
        let read = self.store.begin_read()?;
        self.state.catch_up(&read, now)?;
        drop(read);
        self.auto_prune(now)?;
        Ok(self.state.revision() != before)
    }

    // -- reads ---------------------------------------------------------------

    /// The principal's effective grant now, or `None` if there is no such
    /// principal.
    pub fn effective(&self, identity_id: &str) -> Option<EffectiveGrant> {
        self.effective_at(identity_id, now_ms())
    }

    /// The principal's effective grant at `t` (unix milliseconds), or `None`
    /// if there is no such principal. Served from memory when the resolved
    /// grant is still valid at `t`, resolved on demand otherwise.
    ///
    /// # Complexity
    ///
    /// O(g) for a grant of g entries when served from memory; otherwise as
    /// [`Resolver::effective_at`](super::Resolver::effective_at).
    pub fn effective_at(&self, identity_id: &str, t: i64) -> Option<EffectiveGrant> {
        self.state.effective_at(identity_id, t)
    }

    /// The principal's effective grant now as the flat [`Identity`] the
    /// access check reads, or `None` if there is no such principal.
    pub fn identity(&self, identity_id: &str) -> Option<Identity> {
        self.state.identity_at(identity_id, now_ms())
    }

    /// Why the principal holds `permission` now, or why not; `None` if
    /// there is no such principal.
    pub fn explain(&self, identity_id: &str, permission: &Permission) -> Option<Explanation> {
        self.explain_at(identity_id, permission, now_ms())
    }

    /// Why the principal holds `permission` at `t`, or why not; see
    /// [`Resolver::explain_at`](super::Resolver::explain_at).
    pub fn explain_at(
        &self,
        identity_id: &str,
        permission: &Permission,
        t: i64,
    ) -> Option<Explanation> {
        self.state
            .graph()
            .resolver()
            .max_depth(self.max_depth)
            .explain_at(identity_id, permission, t)
    }

    // -- principals and resources ----------------------------------------------

    /// Adds a principal.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad identity id, scope, resource name or
    /// action, or for an org or a role whose identity id is a peer's (a
    /// peer binds only to an account or service principal);
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the identity id is taken.
    pub fn add_principal(&mut self, principal: &Principal) -> Result<u64> {
        self.write(ops::add_principal(principal)?)
    }

    /// Replaces a principal's type, scopes and resources; its edges stay.
    /// What it delegated is still intersected with what it holds at
    /// resolution time, so narrowing it narrows its delegates too.
    ///
    /// # Errors
    ///
    /// As [`add_principal`](Acl::add_principal); [`Error::NotFound`](crate::Error::NotFound) if
    /// there is no such principal; [`Error::Invalid`](crate::Error::Invalid) if it has members and
    /// would no longer be an org or a role, or if it would be an org or a
    /// role while a peer has its identity id.
    pub fn update_principal(&mut self, principal: &Principal) -> Result<u64> {
        self.write(ops::update_principal(principal)?)
    }

    /// Removes a principal with every edge that touches it. Its API keys
    /// (which hold at most what it holds) are revoked in the same
    /// transaction, unless a peer of the same id still owns them.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such principal.
    pub fn remove_principal(&mut self, identity_id: &str) -> Result<u64> {
        let actor = self.actor.clone();
        let op = ops::remove_principal(identity_id, actor.as_deref())?;
        self.write(op)
    }

    /// Adds a resource (a type, or one instance of it) that `can_*` edges
    /// can point at.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad resource type or id;
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if it exists.
    pub fn add_resource(&mut self, resource: &Resource) -> Result<u64> {
        self.write(ops::add_resource(resource)?)
    }

    /// Removes a resource (by name, `type` or `type/id`) with the `can_*`
    /// edges to it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such resource.
    pub fn remove_resource(&mut self, name: &str) -> Result<u64> {
        self.write(ops::remove_resource(name)?)
    }

    // -- delegation ------------------------------------------------------------

    /// Adds a delegation from `delegation.from` to `delegation.to`.
    ///
    /// Write-time check: the delegator must hold, now, every scope and
    /// resource action it passes on. (Resolution still intersects with
    /// what it holds at each instant, so a delegator that later loses a
    /// scope stops passing it on.)
    ///
    /// # Errors
    ///
    /// [`Error::NotHeld`](crate::Error::NotHeld) naming what the delegator does not hold;
    /// [`Error::Invalid`](crate::Error::Invalid) for a bad token, for a validity that is never in force, or for a self-delegation;
    /// [`Error::NotFound`](crate::Error::NotFound) if either principal does not exist;
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if a delegation between them exists (revoked
    /// or not; see [`update_delegation`](Acl::update_delegation)).
    pub fn delegate(&mut self, delegation: &Delegation) -> Result<u64> {
        self.write(ops::delegate(delegation)?)
    }

    /// Replaces an existing delegation's narrowed sets and validity (which
    /// also lifts a revocation), with the write-time check of
    /// [`delegate`](Acl::delegate).
    ///
    /// # Errors
    ///
    /// As [`delegate`](Acl::delegate); [`Error::NotFound`](crate::Error::NotFound) if there is no
    /// delegation between them.
    ///
    /// The delegation's budgets are kept as they are (its `budgets` field
    /// is ignored): they change only through
    /// [`set_budget`](Acl::set_budget) and
    /// [`remove_budget`](Acl::remove_budget).
    pub fn update_delegation(&mut self, delegation: &Delegation) -> Result<u64> {
        self.write(ops::update_delegation(delegation)?)
    }

    /// Revokes the delegation from `from` to `to` as of now: the edge stays,
    /// with `revoked_at` set, so resolution at an earlier instant still
    /// shows what it granted then. Revoking a revoked delegation changes
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no delegation between them.
    pub fn revoke(&mut self, from: &str, to: &str) -> Result<u64> {
        self.write(ops::revoke(from, to)?)
    }

    // -- membership --------------------------------------------------------------

    /// Makes `membership.member` a member of `membership.group`, an org or
    /// a role, whose effective grant it then inherits.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if either principal does not exist;
    /// [`Error::Invalid`](crate::Error::Invalid) if the group is not an org or a role, or for a
    /// self-membership; [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the membership exists.
    pub fn add_membership(&mut self, membership: &Membership) -> Result<u64> {
        self.write(ops::add_membership(membership)?)
    }

    /// Ends `member`'s membership of `group` (the edge is removed).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such membership.
    pub fn remove_membership(&mut self, member: &str, group: &str) -> Result<u64> {
        self.write(ops::remove_membership(member, group)?)
    }

    // -- resource actions --------------------------------------------------------

    /// Grants `action` on the resource named `resource` (`type` or
    /// `type/id`) to a principal: a `can_read`, `can_write` or `can_execute`
    /// edge.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if the principal or the resource does not exist;
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the grant exists.
    pub fn grant(&mut self, identity_id: &str, action: Action, resource: &str) -> Result<u64> {
        self.write(ops::grant(identity_id, action, resource)?)
    }

    /// Takes back a grant made with [`grant`](Acl::grant) (the edge is removed).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such grant.
    pub fn revoke_grant(
        &mut self,
        identity_id: &str,
        action: Action,
        resource: &str,
    ) -> Result<u64> {
        self.write(ops::revoke_grant(identity_id, action, resource)?)
    }

    // -- the write path ----------------------------------------------------------

    /// Runs one write in its own transaction: catches up with the store
    /// first (so checks see the committed state), lets `op` check and write
    /// through the metagraph, commits, and applies the change in memory.
    /// A catch-up that fails refuses the write (nothing is committed).
    pub(super) fn write(&mut self, op: impl Op) -> Result<u64> {
        self.write_at(now_ms(), op)
    }

    /// [`write`](Acl::write), with `op` (and its audit entry) seeing `now`
    /// as the current time; the catch-up still uses the clock.
    pub(super) fn write_at(&mut self, now: i64, op: impl Op) -> Result<u64> {
        let store = self.store.clone();
        let mut tx = store.begin_write()?;
        self.state.catch_up(&tx, now_ms())?;
        let state = &self.state;
        let mutation = tx.as_domain(|tx| op(tx, state, now))?;
        if let Some(record) =
            audit_record(self.state.graph(), &mutation, now, self.actor.as_deref())?
        {
            crate::audit::append(tx.conn(), record)?;
        }
        let revision = tx.commit()?;
        self.apply(mutation, revision);
        Ok(revision)
    }

    fn apply(&mut self, mutation: Mutation, revision: u64) {
        // The endpoints of an edge were checked in the committed
        // transaction, so inserting it cannot fail; if it did, the next
        // write or refresh loads the whole graph from the store.
        self.state
            .apply_local(revision, |graph| apply_to(graph, mutation));
    }
}
