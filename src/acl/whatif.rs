//! What-if: the effective grants a proposed change would change, computed
//! on a copy of the graph and resolution in memory, writing nothing.

use std::collections::BTreeSet;
use std::fmt;

use super::handle::Acl;
use super::input::{
    check_delegation, check_group, check_identity_id, check_principal, check_validity,
};
use super::lookup::resolution_at;
use super::model::{AclEdge, Delegation, Membership, Principal, Resources};
use super::ops::check_held_by;
use super::resolve::{EffectiveGrant, Resolution, Touched};
use super::snapshot::{edge_entity, node_entity, AclGraph, Affected};
use crate::time::now_ms;
use crate::{Error, Result, RuleBreak};

/// A proposed change to the ACL, as the [`Acl`] write of the same name
/// would make it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// [`Acl::delegate`].
    Delegate(Delegation),
    /// [`Acl::update_delegation`].
    UpdateDelegation(Delegation),
    /// [`Acl::revoke`] of the delegation `from → to`, as of now.
    Revoke {
        /// The delegator.
        from: String,
        /// The delegate.
        to: String,
    },
    /// [`Acl::add_membership`].
    AddMembership(Membership),
    /// [`Acl::remove_membership`].
    RemoveMembership {
        /// The member.
        member: String,
        /// The org or role.
        group: String,
    },
    /// [`Acl::update_principal`]: a principal's type, scopes and resources
    /// replaced.
    UpdatePrincipal(Principal),
    /// [`Acl::remove_principal`].
    RemovePrincipal(String),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Delegate(d) => write!(f, "delegate {:?} → {:?}", d.from, d.to),
            Change::UpdateDelegation(d) => {
                write!(f, "update the delegation {:?} → {:?}", d.from, d.to)
            }
            Change::Revoke { from, to } => write!(f, "revoke {from:?} → {to:?}"),
            Change::AddMembership(m) => write!(f, "make {:?} a member of {:?}", m.member, m.group),
            Change::RemoveMembership { member, group } => {
                write!(f, "end {member:?}'s membership of {group:?}")
            }
            Change::UpdatePrincipal(p) => write!(f, "replace principal {:?}", p.identity_id),
            Change::RemovePrincipal(id) => write!(f, "remove principal {id:?}"),
        }
    }
}

/// Scopes and resource actions, gained or lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantDelta {
    /// Scopes.
    pub scopes: BTreeSet<String>,
    /// Resource actions, by resource name.
    pub resources: Resources,
}

impl GrantDelta {
    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.resources.is_empty()
    }

    /// What `a` holds and `b` does not.
    fn minus(a: &EffectiveGrant, b: &EffectiveGrant) -> Self {
        GrantDelta::between(&a.scopes, &a.resources, &b.scopes, &b.resources)
    }

    pub(crate) fn between(
        a_scopes: &BTreeSet<String>,
        a_resources: &Resources,
        b_scopes: &BTreeSet<String>,
        b_resources: &Resources,
    ) -> Self {
        let scopes = a_scopes.difference(b_scopes).cloned().collect();
        let mut resources = Resources::new();
        for (resource, actions) in a_resources {
            let held = b_resources.get(resource);
            let gone: BTreeSet<String> = actions
                .iter()
                .filter(|action| held.is_none_or(|held| !held.contains(*action)))
                .cloned()
                .collect();
            if !gone.is_empty() {
                resources.insert(resource.clone(), gone);
            }
        }
        GrantDelta { scopes, resources }
    }
}

/// How one subject's effective grant would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantChange {
    /// The principal's identity id, or the peer's id.
    pub id: String,
    /// What it would hold that it does not now.
    pub gained: GrantDelta,
    /// What it holds now and would not.
    pub lost: GrantDelta,
}

/// The answer of [`Acl::what_if`]: every subject whose effective grant
/// would change, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIf {
    /// The instant both grants are compared at (unix milliseconds).
    pub at: i64,
    /// Principals whose grant would change.
    pub principals: Vec<GrantChange>,
    /// Peers whose resolved identity would change; filled by
    /// [`SqliteIdentityProvider::what_if`](crate::identity::SqliteIdentityProvider::what_if),
    /// always empty from [`Acl::what_if`].
    pub peers: Vec<GrantChange>,
}

/// A change applied to copies: the grants before and after, at one instant.
pub(crate) struct Fork<'g> {
    pub(crate) at: i64,
    pub(crate) before_graph: &'g AclGraph,
    pub(crate) before: Resolution,
    pub(crate) after_graph: AclGraph,
    pub(crate) after: Resolution,
    /// The principals whose grant changed, sorted by id.
    pub(crate) changes: Vec<GrantChange>,
}

impl Fork<'_> {
    /// The effective grant of `id` before and after the change (empty when
    /// it does not exist).
    pub(crate) fn grants(&self, id: &str) -> (EffectiveGrant, EffectiveGrant) {
        (
            self.before
                .effective(self.before_graph, id)
                .unwrap_or_default(),
            self.after
                .effective(&self.after_graph, id)
                .unwrap_or_default(),
        )
    }
}

impl Acl {
    /// Every principal whose effective grant `change` would change now,
    /// with the scopes and resource actions it would gain and lose. Nothing
    /// is written: the change is applied to a copy of the graph and the
    /// resolution in memory (call [`refresh`](Acl::refresh) first to include
    /// other handles' writes). Peers, which hold their principal's grant,
    /// are reported by
    /// [`SqliteIdentityProvider::what_if`](crate::identity::SqliteIdentityProvider::what_if).
    ///
    /// # Errors
    ///
    /// The error the real write would refuse the change with, when the
    /// check reads only the ACL: [`Error::NotFound`] for a missing
    /// principal or edge, [`Error::AlreadyExists`], [`Error::Invalid`]
    /// naming what a delegator does not hold, a bad token or validity, a
    /// self-edge or a membership of a non-group. (The refusal of an org or
    /// role principal whose id is a peer's reads the identity registry; the
    /// provider's what-if makes it.)
    ///
    /// # Complexity
    ///
    /// O(N + E) to copy the graph and the resolution, then as
    /// [`Resolution::update`] for the principals downstream of the change.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, Change, Delegation, IdentityType, Principal};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("alice", IdentityType::Account).scopes(["deploy", "read"]))?;
    /// acl.add_principal(&Principal::new("bot", IdentityType::Service))?;
    /// acl.delegate(&Delegation::new("alice", "bot").scopes(["deploy"]))?;
    ///
    /// let answer = acl.what_if(&Change::Revoke { from: "alice".into(), to: "bot".into() })?;
    /// assert_eq!(answer.principals.len(), 1);
    /// assert_eq!(answer.principals[0].id, "bot");
    /// assert!(answer.principals[0].lost.scopes.contains("deploy"));
    /// assert!(acl.effective("bot").unwrap().has_scope("deploy"), "nothing was written");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn what_if(&self, change: &Change) -> Result<WhatIf> {
        let fork = fork(self.graph(), self.resolution(), change, now_ms())?;
        Ok(WhatIf {
            at: fork.at,
            principals: fork.changes,
            peers: Vec::new(),
        })
    }
}

/// Checks `change` as the real write would against `graph` (resolved by
/// `resolution`) at `now`, applies it to copies, and diffs the grants.
pub(crate) fn fork<'g>(
    graph: &'g AclGraph,
    resolution: &Resolution,
    change: &Change,
    now: i64,
) -> Result<Fork<'g>> {
    let before_graph = graph;
    // Follows `graph`, at exactly `now` (a resolution still valid at `now`
    // may have been made earlier, and a revocation as of `now` must be
    // seen as in force).
    let mut before = resolution_at(graph, resolution, now).into_owned();
    before.advance(graph, now);
    let edit = check(before_graph, &before, change, now)?;
    let mut after_graph = before_graph.clone();
    let mut after = before.clone();
    after.retarget(&after_graph);
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    if let Change::RemovePrincipal(id) = change {
        candidates.insert(id.clone());
    }
    let affected = edit.apply(&mut after_graph)?;
    match after.update_touched(&after_graph, &affected) {
        Touched::All => {
            candidates.extend(before_graph.principals().map(|p| p.identity_id.clone()));
            candidates.extend(after_graph.principals().map(|p| p.identity_id.clone()));
        }
        Touched::Some(region) => {
            candidates.extend(
                region
                    .iter()
                    .map(|&ix| after_graph.identity_of(ix).to_owned()),
            );
        }
    }
    let mut fork = Fork {
        at: now,
        before_graph,
        before,
        after_graph,
        after,
        changes: Vec::new(),
    };
    for id in candidates {
        let (old, new) = fork.grants(&id);
        let gained = GrantDelta::minus(&new, &old);
        let lost = GrantDelta::minus(&old, &new);
        if !gained.is_empty() || !lost.is_empty() {
            fork.changes.push(GrantChange { id, gained, lost });
        }
    }
    Ok(fork)
}

/// A checked change, as it edits the graph in memory.
enum Edit {
    Edge(String, AclEdge),
    RemoveEdge(String),
    Principal(Principal),
    RemovePrincipal(String),
    Nothing,
}

impl Edit {
    fn apply(self, graph: &mut AclGraph) -> Result<Affected> {
        Ok(match self {
            Edit::Edge(key, edge) => graph.insert_edge_keyed(key, edge)?,
            Edit::RemoveEdge(key) => graph.remove_edge(&key),
            Edit::Principal(principal) => graph.insert_principal(principal),
            Edit::RemovePrincipal(id) => graph.remove_principal(&id),
            Edit::Nothing => Affected::default(),
        })
    }
}

fn require_principal<'g>(graph: &'g AclGraph, id: &str) -> Result<&'g Principal> {
    graph.principal(id).ok_or_else(|| Error::NotFound {
        entity: node_entity(id),
    })
}

fn require_edge(graph: &AclGraph, edge: &AclEdge) -> Result<String> {
    graph
        .find_edge(edge)
        .map(str::to_owned)
        .ok_or_else(|| Error::NotFound {
            entity: edge_entity(&edge.key()),
        })
}

fn refuse_existing(graph: &AclGraph, edge: &AclEdge) -> Result<()> {
    match graph.find_edge(edge) {
        Some(key) => Err(Error::AlreadyExists {
            entity: edge_entity(key),
        }),
        None => Ok(()),
    }
}

/// The ACL's graph type allows no self-loops; refused as the write is.
fn refuse_self_edge(key: &str, from: &str, to: &str) -> Result<()> {
    if from == to {
        return Err(Error::rule_break(
            edge_entity(key),
            RuleBreak::SelfLoop {
                graph_type: super::GRAPH_TYPE.to_owned(),
                node: from.to_owned(),
            },
        ));
    }
    Ok(())
}

/// The checks of the real write, in its order, on what the ACL holds.
fn check(graph: &AclGraph, resolution: &Resolution, change: &Change, now: i64) -> Result<Edit> {
    let held = |id: &str| resolution.effective(graph, id).unwrap_or_default();
    match change {
        Change::Delegate(delegation) => {
            check_delegation(delegation)?;
            let edge = AclEdge::Delegates(delegation.clone());
            require_principal(graph, &delegation.from)?;
            require_principal(graph, &delegation.to)?;
            refuse_existing(graph, &edge)?;
            let key = edge.key();
            check_held_by(&held(&delegation.from), delegation, &key)?;
            refuse_self_edge(&key, &delegation.from, &delegation.to)?;
            Ok(Edit::Edge(key, edge))
        }
        Change::UpdateDelegation(delegation) => {
            check_delegation(delegation)?;
            let edge = AclEdge::Delegates(delegation.clone());
            let key = require_edge(graph, &edge)?;
            check_held_by(&held(&delegation.from), delegation, &key)?;
            Ok(Edit::Edge(key, edge))
        }
        Change::Revoke { from, to } => {
            check_identity_id(from)?;
            check_identity_id(to)?;
            let key = require_edge(graph, &AclEdge::Delegates(Delegation::new(from, to)))?;
            let Some(AclEdge::Delegates(current)) = graph.edge(&key) else {
                return Err(Error::NotFound {
                    entity: edge_entity(&key),
                });
            };
            if current.validity.revoked_at.is_some_and(|at| at <= now) {
                return Ok(Edit::Nothing);
            }
            let mut revoked = current.clone();
            revoked.validity.revoked_at = Some(now);
            Ok(Edit::Edge(key, AclEdge::Delegates(revoked)))
        }
        Change::AddMembership(membership) => {
            check_identity_id(&membership.member)?;
            check_identity_id(&membership.group)?;
            let edge = AclEdge::BelongsTo(membership.clone());
            let key = edge.key();
            check_validity(&key, &membership.validity)?;
            require_principal(graph, &membership.member)?;
            let group = require_principal(graph, &membership.group)?;
            check_group(&key, membership, group)?;
            refuse_existing(graph, &edge)?;
            refuse_self_edge(&key, &membership.member, &membership.group)?;
            Ok(Edit::Edge(key, edge))
        }
        Change::RemoveMembership { member, group } => {
            check_identity_id(member)?;
            check_identity_id(group)?;
            let key = require_edge(graph, &AclEdge::BelongsTo(Membership::new(member, group)))?;
            Ok(Edit::RemoveEdge(key))
        }
        Change::UpdatePrincipal(principal) => {
            check_principal(principal)?;
            let id = &principal.identity_id;
            require_principal(graph, id)?;
            let members = graph.members(id);
            if !principal.identity_type.is_group() && !members.is_empty() {
                let names: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
                return Err(Error::invalid(
                    node_entity(id),
                    format!(
                        "has members ({}); only an org or a role can have members",
                        names.join(", ")
                    ),
                ));
            }
            Ok(Edit::Principal(principal.clone()))
        }
        Change::RemovePrincipal(id) => {
            check_identity_id(id)?;
            require_principal(graph, id)?;
            Ok(Edit::RemovePrincipal(id.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::IdentityType;

    fn graph() -> AclGraph {
        let mut graph = AclGraph::new();
        graph.insert_principal(Principal::new("eng", IdentityType::Org).scopes(["a", "b"]));
        graph.insert_principal(Principal::new("ada", IdentityType::Account));
        graph.insert_principal(Principal::new("bot", IdentityType::Service));
        graph
            .insert_edge(AclEdge::BelongsTo(Membership::new("ada", "eng")))
            .unwrap();
        graph
            .insert_edge(AclEdge::Delegates(
                Delegation::new("ada", "bot").scopes(["a"]),
            ))
            .unwrap();
        graph
    }

    #[test]
    fn a_removed_membership_loses_downstream_too_and_the_input_is_untouched() {
        let graph = graph();
        let resolution = graph.resolver().resolve_all(0);
        let change = Change::RemoveMembership {
            member: "ada".into(),
            group: "eng".into(),
        };
        let fork = fork(&graph, &resolution, &change, 0).unwrap();
        let ids: Vec<&str> = fork.changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["ada", "bot"]);
        assert_eq!(
            fork.changes[0].lost.scopes,
            BTreeSet::from(["a".to_owned(), "b".to_owned()])
        );
        assert!(fork.changes[1].gained.is_empty());
        assert!(resolution.effective(&graph, "bot").unwrap().has_scope("a"));
    }

    #[test]
    fn a_refused_change_is_refused_with_the_writes_message() {
        let graph = graph();
        let resolution = graph.resolver().resolve_all(0);
        let change = Change::Delegate(Delegation::new("bot", "ada").scopes(["b"]));
        let err = fork(&graph, &resolution, &change, 0).err().unwrap();
        assert_eq!(
            err.to_string(),
            r#"edge "delegates bot ada" in graph "acl": delegator "bot" does not hold "b""#
        );
        let change = Change::RemovePrincipal("nobody".into());
        assert!(fork(&graph, &resolution, &change, 0)
            .err()
            .unwrap()
            .is_not_found());
    }

    #[test]
    fn removing_a_principal_reports_what_it_held() {
        let graph = graph();
        let resolution = graph.resolver().resolve_all(0);
        let fork = fork(
            &graph,
            &resolution,
            &Change::RemovePrincipal("eng".into()),
            0,
        )
        .unwrap();
        let ids: Vec<&str> = fork.changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["ada", "bot", "eng"]);
    }
}
