//! Pruning what has expired: delegations and memberships whose
//! `expires_at` has passed, and reservations that no longer count.

use rusqlite::params;
use serde_json::json;

use super::model::AclEdge;
use super::ops::{Mutation, Op, State};
use super::{Acl, GRAPH};
use crate::outbox::{ChangeOp, EntityKind};
use crate::time::now_ms;
use crate::{Entity, Error, Result, WriteTxn};

/// Reservations that count for nothing any more: unsettled ones that
/// expired before ?1, released ones released before ?1, and committed ones
/// none of whose delegations is left.
const PRUNE_RESERVATIONS: &str = "DELETE FROM acl_reservations
     WHERE (state = 'reserved' AND expires_at < ?1)
        OR (state = 'released' AND settled_at < ?1)
        OR (state = 'committed'
            AND NOT EXISTS (SELECT 1 FROM acl_reservation_draws d WHERE d.reservation = acl_reservations.id))
     RETURNING uid";

/// What one prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneCounts {
    /// Delegations removed.
    pub delegations: u64,
    /// Memberships removed.
    pub memberships: u64,
    /// Reservations removed.
    pub reservations: u64,
    /// The store revision after the prune (unchanged when it removed
    /// nothing).
    pub revision: u64,
}

impl PruneCounts {
    /// Whether it removed nothing.
    pub fn is_empty(&self) -> bool {
        self.delegations == 0 && self.memberships == 0 && self.reservations == 0
    }
}

impl Acl {
    /// Removes every delegation and membership whose `expires_at` is
    /// before `expired_before` (unix ms), and every reservation that no
    /// longer counts: unsettled ones that expired before it, released ones
    /// released before it, and committed ones whose delegations are all
    /// gone (a removed delegation takes its spend records with it).
    ///
    /// What expired before now grants nothing now or later, so pruning
    /// changes no effective grant from now on; resolution as of an instant
    /// before the expiry no longer sees the removed edges. One write
    /// transaction: audited as one `acl.prune` entry with the counts (none
    /// when nothing is removed, and then nothing is written), and each
    /// removal is on the change feed.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if `expired_before` is after now: a prune
    /// removes only what has already expired.
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
    /// let pruned = acl.prune_expired(2_000)?;
    /// assert_eq!((pruned.delegations, pruned.memberships), (1, 0));
    /// assert!(acl.graph().edge("delegates alice bot").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prune_expired(&mut self, expired_before: i64) -> Result<PruneCounts> {
        self.prune_expired_at(expired_before, now_ms())
    }

    /// [`prune_expired`](Acl::prune_expired) as of `now` (unix ms).
    ///
    /// # Errors
    ///
    /// As [`prune_expired`](Acl::prune_expired).
    pub fn prune_expired_at(&mut self, expired_before: i64, now: i64) -> Result<PruneCounts> {
        let actor = self.actor().map(str::to_owned);
        let mut counts = PruneCounts::default();
        let op = prune(expired_before, now, actor.as_deref(), &mut counts)?;
        let revision = self.write_at(now, op)?;
        counts.revision = revision;
        Ok(counts)
    }
}

/// The operation of a prune as of `now`, by `actor`: counts what it
/// removes in `counts` and audits it as one `acl.prune` entry. Refused up
/// front when `expired_before` is after `now`.
pub(super) fn prune<'a>(
    expired_before: i64,
    now: i64,
    actor: Option<&'a str>,
    counts: &'a mut PruneCounts,
) -> Result<impl Op + 'a> {
    if expired_before > now {
        return Err(Error::invalid(
            Entity::Graph(GRAPH.to_owned()),
            format!(
                "cannot prune what expires before {expired_before}: that is after now; a prune removes only what has already expired"
            ),
        ));
    }
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        let mut keys = Vec::new();
        for (key, edge) in state.graph().edges() {
            let expired = edge
                .validity()
                .expires_at
                .is_some_and(|at| at < expired_before);
            match edge {
                AclEdge::Delegates(_) if expired => counts.delegations += 1,
                AclEdge::BelongsTo(_) if expired => counts.memberships += 1,
                _ => continue,
            }
            keys.push(key.to_owned());
        }
        keys.sort();
        for key in &keys {
            tx.remove_edge(GRAPH, key)?;
        }
        let uids = {
            let mut stmt = tx.conn().prepare_cached(PRUNE_RESERVATIONS)?;
            let rows = stmt.query_map(params![expired_before], |row| row.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()?
        };
        for uid in &uids {
            tx.outbox
                .record(EntityKind::Reservation, ChangeOp::Delete, uid);
        }
        counts.reservations = uids.len() as u64;
        if counts.is_empty() {
            return Ok(Mutation::Nothing);
        }
        crate::audit::append(
            tx.conn(),
            crate::audit::Record {
                at: now,
                actor,
                action: "acl.prune",
                entity: Entity::Graph(GRAPH.to_owned()).to_string(),
                before: None,
                after: Some(json!({
                    "expired_before": expired_before,
                    "delegations": counts.delegations,
                    "memberships": counts.memberships,
                    "reservations": counts.reservations,
                })),
            },
        )?;
        Ok(Mutation::RemoveEdges(keys))
    })
}
