//! [`AclTxn`]: the ACL's writes inside a write transaction the caller
//! composes with others, so that an ACL change, the peer it binds and the
//! graph or taskgraph writes it goes with commit or roll back together.

use std::fmt;
use std::time::Duration;

use super::budget::{self, Reservation, ReservationState};
use super::handle::Acl;
use super::model::{Action, Delegation, Membership, Principal, Resource};
use super::ops::{self, apply_to, audit_record, Op, State};
use super::prune::{self, PruneCounts};
use super::resolve::EffectiveGrant;
use super::snapshot::node_entity;
use super::GRAPH;
use crate::time::now_ms;
use crate::{Entity, Error, Result, WriteTxn};

/// The ACL's writes inside a write transaction of the caller's, made by
/// [`Acl::within`].
///
/// Each write is checked as [`Acl`]'s own write is (the same checks, in
/// the same order, with the same refusals), against the ACL as of the
/// transaction together with the writes made through this `AclTxn` so far,
/// and is audited in the transaction. Nothing is visible to anyone until
/// the transaction commits; dropping it uncommitted rolls back every write,
/// ACL or not.
///
/// An `AclTxn` works on its own copy of the ACL in memory (made in
/// O(principals + edges)), so the [`Acl`] it came from serves what was
/// committed until it catches up: on [`refresh`](Acl::refresh), or at the
/// start of its next write.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal};
/// use alknet_graphs::Store;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("acl.db"))?;
/// let mut acl = Acl::open(&store)?;
///
/// // A principal and its delegate, written together.
/// let mut tx = store.begin_write()?;
/// let mut writes = acl.within(&mut tx)?;
/// writes.add_principal(&Principal::new("ci", IdentityType::Service).scopes(["deploy"]))?;
/// writes.add_principal(&Principal::new("bot", IdentityType::Service))?;
/// writes.delegate(&Delegation::new("ci", "bot").scopes(["deploy"]))?;
/// assert!(writes.effective("bot").unwrap().has_scope("deploy"));
/// drop(writes);
/// tx.commit()?;
///
/// acl.refresh()?;
/// assert!(acl.effective("bot").unwrap().has_scope("deploy"));
///
/// // A refused write leaves the transaction to the caller: here it rolls
/// // back, and the principal written before it in the same transaction
/// // is gone with it.
/// let mut tx = store.begin_write()?;
/// let mut writes = acl.within(&mut tx)?;
/// writes.add_principal(&Principal::new("eve", IdentityType::Account))?;
/// let err = writes.delegate(&Delegation::new("eve", "bot").scopes(["deploy"])).unwrap_err();
/// assert!(err.not_held().is_some());
/// drop(writes);
/// drop(tx);
/// acl.refresh()?;
/// assert!(acl.effective("eve").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AclTxn<'t, 's> {
    tx: &'t mut WriteTxn<'s>,
    state: State,
    actor: Option<String>,
}

impl fmt::Debug for AclTxn<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AclTxn")
            .field("actor", &self.actor)
            .field("principals", &self.state.graph().principal_count())
            .finish_non_exhaustive()
    }
}

impl Acl {
    /// The ACL's writes inside `tx`, composed with whatever else `tx`
    /// writes (graph, taskgraph, identity writes): all of them commit, or
    /// roll back, together. See [`AclTxn`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if `tx` writes another store than this ACL's;
    /// what [`refresh`](Acl::refresh) reports when the ACL cannot be read
    /// as of `tx` (no write is then possible through it).
    pub fn within<'t, 's>(&self, tx: &'t mut WriteTxn<'s>) -> Result<AclTxn<'t, 's>> {
        if !tx.is_of(self.store()) {
            return Err(Error::invalid(
                Entity::Graph(GRAPH.to_owned()),
                "the transaction writes another store than this ACL's",
            ));
        }
        let mut state = self.state().clone();
        state.catch_up(tx, now_ms())?;
        Ok(AclTxn {
            tx,
            state,
            actor: self.actor().map(str::to_owned),
        })
    }
}

impl AclTxn<'_, '_> {
    /// The principal's effective grant now, with this transaction's
    /// writes so far, or `None` if there is no such principal.
    pub fn effective(&self, identity_id: &str) -> Option<EffectiveGrant> {
        self.state.effective_at(identity_id, now_ms())
    }

    /// As [`Acl::add_principal`].
    ///
    /// # Errors
    ///
    /// As [`Acl::add_principal`].
    pub fn add_principal(&mut self, principal: &Principal) -> Result<()> {
        self.run(ops::add_principal(principal)?)
    }

    /// As [`Acl::update_principal`].
    ///
    /// # Errors
    ///
    /// As [`Acl::update_principal`].
    pub fn update_principal(&mut self, principal: &Principal) -> Result<()> {
        self.run(ops::update_principal(principal)?)
    }

    /// As [`Acl::remove_principal`], revoking its API keys in the same
    /// transaction.
    ///
    /// # Errors
    ///
    /// As [`Acl::remove_principal`].
    pub fn remove_principal(&mut self, identity_id: &str) -> Result<()> {
        let actor = self.actor.clone();
        let op = ops::remove_principal(identity_id, actor.as_deref())?;
        self.run(op)
    }

    /// As [`Acl::prune_expired`]: removes, in the transaction, every
    /// delegation and membership that expired before `expired_before` and
    /// every reservation that no longer counts, audited as one
    /// `acl.prune` entry. The counts' `revision` is the store's as the
    /// transaction sees it; [`WriteTxn::commit`] returns the one after.
    ///
    /// # Errors
    ///
    /// As [`Acl::prune_expired`].
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("alice", IdentityType::Account).scopes(["s"]))?;
    /// acl.add_principal(&Principal::new("bot", IdentityType::Service))?;
    /// acl.delegate(&Delegation::new("alice", "bot").scopes(["s"]).expires_at(1_000))?;
    ///
    /// // The expired delegation goes, and a new one comes, in one commit.
    /// let mut tx = store.begin_write()?;
    /// let mut writes = acl.within(&mut tx)?;
    /// assert_eq!(writes.prune_expired(2_000)?.delegations, 1);
    /// writes.delegate(&Delegation::new("alice", "bot").scopes(["s"]))?;
    /// drop(writes);
    /// tx.commit()?;
    ///
    /// acl.refresh()?;
    /// assert!(acl.graph().edge("delegates alice bot").unwrap().validity().expires_at.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prune_expired(&mut self, expired_before: i64) -> Result<PruneCounts> {
        let now = now_ms();
        let actor = self.actor.clone();
        let mut counts = PruneCounts::default();
        let op = prune::prune(expired_before, now, actor.as_deref(), &mut counts)?;
        self.run_at(now, op)?;
        counts.revision = self.tx.revision()?;
        Ok(counts)
    }

    /// As [`Acl::add_resource`].
    ///
    /// # Errors
    ///
    /// As [`Acl::add_resource`].
    pub fn add_resource(&mut self, resource: &Resource) -> Result<()> {
        self.run(ops::add_resource(resource)?)
    }

    /// As [`Acl::remove_resource`].
    ///
    /// # Errors
    ///
    /// As [`Acl::remove_resource`].
    pub fn remove_resource(&mut self, name: &str) -> Result<()> {
        self.run(ops::remove_resource(name)?)
    }

    /// As [`Acl::delegate`]: the delegator must hold, with this
    /// transaction's writes so far, what it passes on.
    ///
    /// # Errors
    ///
    /// As [`Acl::delegate`].
    pub fn delegate(&mut self, delegation: &Delegation) -> Result<()> {
        self.run(ops::delegate(delegation)?)
    }

    /// As [`Acl::update_delegation`].
    ///
    /// # Errors
    ///
    /// As [`Acl::update_delegation`].
    pub fn update_delegation(&mut self, delegation: &Delegation) -> Result<()> {
        self.run(ops::update_delegation(delegation)?)
    }

    /// As [`Acl::revoke`].
    ///
    /// # Errors
    ///
    /// As [`Acl::revoke`].
    pub fn revoke(&mut self, from: &str, to: &str) -> Result<()> {
        self.run(ops::revoke(from, to)?)
    }

    /// As [`Acl::add_membership`].
    ///
    /// # Errors
    ///
    /// As [`Acl::add_membership`].
    pub fn add_membership(&mut self, membership: &Membership) -> Result<()> {
        self.run(ops::add_membership(membership)?)
    }

    /// As [`Acl::remove_membership`].
    ///
    /// # Errors
    ///
    /// As [`Acl::remove_membership`].
    pub fn remove_membership(&mut self, member: &str, group: &str) -> Result<()> {
        self.run(ops::remove_membership(member, group)?)
    }

    /// As [`Acl::grant`].
    ///
    /// # Errors
    ///
    /// As [`Acl::grant`].
    pub fn grant(&mut self, identity_id: &str, action: Action, resource: &str) -> Result<()> {
        self.run(ops::grant(identity_id, action, resource)?)
    }

    /// As [`Acl::revoke_grant`].
    ///
    /// # Errors
    ///
    /// As [`Acl::revoke_grant`].
    pub fn revoke_grant(
        &mut self,
        identity_id: &str,
        action: Action,
        resource: &str,
    ) -> Result<()> {
        self.run(ops::revoke_grant(identity_id, action, resource)?)
    }

    /// As [`Acl::set_budget`].
    ///
    /// # Errors
    ///
    /// As [`Acl::set_budget`].
    pub fn set_budget(&mut self, from: &str, to: &str, unit: &str, amount: u64) -> Result<()> {
        let actor = self.actor.clone();
        let op = budget::change_budget(from, to, unit, Some(amount), actor.as_deref())?;
        self.run(op)
    }

    /// As [`Acl::remove_budget`].
    ///
    /// # Errors
    ///
    /// As [`Acl::remove_budget`].
    pub fn remove_budget(&mut self, from: &str, to: &str, unit: &str) -> Result<()> {
        let actor = self.actor.clone();
        let op = budget::change_budget(from, to, unit, None, actor.as_deref())?;
        self.run(op)
    }

    /// As [`Acl::reserve`]: the budgets on the chains into `principal`, with
    /// this transaction's writes so far, and the reservations committed or
    /// made in it.
    ///
    /// # Errors
    ///
    /// As [`Acl::reserve`].
    pub fn reserve(
        &mut self,
        principal: &str,
        unit: &str,
        amount: u64,
        ttl: Duration,
    ) -> Result<Reservation> {
        let now = now_ms();
        let expires_at = budget::check_reservation(principal, unit, amount, ttl, now)?;
        let actor = self.actor.clone();
        let mut made = None;
        let op = budget::reserve(
            principal,
            unit,
            amount,
            expires_at,
            self.state.max_depth(),
            actor.as_deref(),
            &mut made,
        );
        self.run_at(now, op)?;
        made.ok_or_else(|| Error::NotFound {
            entity: node_entity(principal),
        })
    }

    /// As [`Acl::commit`]: spends a live reservation.
    ///
    /// # Errors
    ///
    /// As [`Acl::commit`].
    pub fn commit_reservation(&mut self, id: &str) -> Result<Reservation> {
        self.settle(id, ReservationState::Committed)
    }

    /// As [`Acl::release`]: returns a live reservation's amount.
    ///
    /// # Errors
    ///
    /// As [`Acl::release`].
    pub fn release_reservation(&mut self, id: &str) -> Result<Reservation> {
        self.settle(id, ReservationState::Released)
    }

    fn settle(&mut self, id: &str, to: ReservationState) -> Result<Reservation> {
        let actor = self.actor.clone();
        let mut settled = None;
        self.run(budget::settle(id, to, actor.as_deref(), &mut settled))?;
        settled.ok_or_else(|| Error::NotFound {
            entity: Entity::Reservation(id.to_owned()),
        })
    }

    /// [`run_at`](Self::run_at) now.
    fn run(&mut self, op: impl Op) -> Result<()> {
        self.run_at(now_ms(), op)
    }

    /// Checks and writes `op` in the transaction as of `now`, audits it,
    /// and applies it to this copy of the ACL, so the writes after it see
    /// it. A change the copy cannot apply refuses every write after it: the
    /// caller must roll back rather than commit what could not be checked.
    fn run_at(&mut self, now: i64, op: impl Op) -> Result<()> {
        if self.state.needs_reload() {
            return Err(unchecked());
        }
        let state = &self.state;
        let mutation = self.tx.as_domain(|tx| op(tx, state, now))?;
        if let Some(record) = audit_record(state.graph(), &mutation, now, self.actor.as_deref())? {
            crate::audit::append(self.tx.conn(), record)?;
        }
        let revision = self.state.revision();
        self.state
            .apply_local(revision, |graph| apply_to(graph, mutation));
        if self.state.needs_reload() {
            return Err(unchecked());
        }
        Ok(())
    }
}

/// The refusal once the copy of the ACL could not apply a write.
fn unchecked() -> Error {
    Error::invalid(
        Entity::Graph(GRAPH.to_owned()),
        "the ACL in memory could not apply a write of this transaction; roll it back",
    )
}
