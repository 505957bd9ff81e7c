//! The ACL's writes as operations. Each checks its input first, then,
//! inside a write transaction and against the ACL as of it ([`State`]),
//! checks what needs the ACL, writes through the metagraph, and returns the
//! [`Mutation`] to apply in memory once the write commits. [`Acl`] runs
//! each in a transaction of its own; [`AclTxn`] runs them inside a
//! transaction the caller composes.
//!
//! [`Acl`]: super::Acl
//! [`AclTxn`]: super::AclTxn

use serde_json::json;

use super::codec::{self, resource_key};
use super::follow::AclFollower;
use super::input::{
    check_delegation, check_group, check_identity_id, check_principal, check_resource,
    check_validity, quoted,
};
use super::model::{
    AclEdge, Action, ActionGrant, Delegation, Membership, Permission, Principal, Resource,
};
use super::resolve::EffectiveGrant;
use super::snapshot::{edge_entity, node_entity, AclGraph};
use super::{BELONGS_TO, DELEGATES, GRAPH, PRINCIPAL, RESOURCE};
use crate::{Error, NewEdge, Result, WriteTxn};

/// The ACL as a write sees it: caught up with the store as of the
/// transaction.
pub(super) type State = AclFollower;

/// A committed write, as it applies to the graph in memory.
pub(super) enum Mutation {
    Principal(Principal),
    RemovePrincipal(String),
    Resource(Resource),
    RemoveResource(String),
    Edge(String, AclEdge),
    RemoveEdge(String),
    RemoveEdges(Vec<String>),
    /// A mutation whose audit entry the write wrote itself.
    Audited(Box<Mutation>),
    Nothing,
}

/// A write of the ACL: run inside a write transaction, against the ACL as
/// of it, at an instant; returns what it changes.
pub(super) trait Op: FnOnce(&mut WriteTxn<'_>, &State, i64) -> Result<Mutation> {}

impl<F: FnOnce(&mut WriteTxn<'_>, &State, i64) -> Result<Mutation>> Op for F {}

/// The operation of [`Acl::add_principal`](super::Acl::add_principal).
pub(super) fn add_principal<'a>(principal: &'a Principal) -> Result<impl Op + 'a> {
    check_principal(principal)?;
    Ok(move |tx: &mut WriteTxn<'_>, _: &State, _: i64| {
        super::binding::refuse_peer_binding(tx, principal)?;
        let attributes = codec::principal_attributes(principal)?;
        tx.add_node(GRAPH, &principal.identity_id, PRINCIPAL, &attributes)?;
        Ok(Mutation::Principal(principal.clone()))
    })
}

/// The operation of [`Acl::update_principal`](super::Acl::update_principal).
pub(super) fn update_principal<'a>(principal: &'a Principal) -> Result<impl Op + 'a> {
    check_principal(principal)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, _: i64| {
        let id = &principal.identity_id;
        state.require_principal(id)?;
        let members = state.graph().members(id);
        if !principal.identity_type.is_group() && !members.is_empty() {
            return Err(Error::invalid(
                node_entity(id),
                format!(
                    "has members ({}); only an org or a role can have members",
                    quoted(members)
                ),
            ));
        }
        super::binding::refuse_peer_binding(tx, principal)?;
        tx.replace_node(GRAPH, id, &codec::principal_attributes(principal)?)?;
        Ok(Mutation::Principal(principal.clone()))
    })
}

/// The operation of [`Acl::remove_principal`](super::Acl::remove_principal).
pub(super) fn remove_principal<'a>(
    identity_id: &'a str,
    actor: Option<&'a str>,
) -> Result<impl Op + 'a> {
    check_identity_id(identity_id)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        state.require_principal(identity_id)?;
        tx.remove_node(GRAPH, identity_id)?;
        // A key it owned holds nothing now; unless a peer of that id
        // still owns it, it is revoked here.
        crate::identity::tables::revoke_keys_of_removed_principal(tx, identity_id, actor, now)?;
        Ok(Mutation::RemovePrincipal(identity_id.to_owned()))
    })
}

/// The operation of [`Acl::add_resource`](super::Acl::add_resource).
pub(super) fn add_resource<'a>(resource: &'a Resource) -> Result<impl Op + 'a> {
    let key = resource_key(&resource.name());
    check_resource(resource)?;
    Ok(move |tx: &mut WriteTxn<'_>, _: &State, _: i64| {
        tx.add_node(
            GRAPH,
            &key,
            RESOURCE,
            &codec::resource_attributes(resource)?,
        )?;
        Ok(Mutation::Resource(resource.clone()))
    })
}

/// The operation of [`Acl::remove_resource`](super::Acl::remove_resource).
pub(super) fn remove_resource<'a>(name: &'a str) -> Result<impl Op + 'a> {
    let key = resource_key(name);
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, _: i64| {
        if state.graph().resource(name).is_none() {
            return Err(Error::NotFound {
                entity: node_entity(&key),
            });
        }
        tx.remove_node(GRAPH, &key)?;
        Ok(Mutation::RemoveResource(name.to_owned()))
    })
}

/// The operation of [`Acl::delegate`](super::Acl::delegate).
pub(super) fn delegate<'a>(delegation: &'a Delegation) -> Result<impl Op + 'a> {
    check_delegation(delegation)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        let edge = AclEdge::Delegates(delegation.clone());
        state.require_principal(&delegation.from)?;
        state.require_principal(&delegation.to)?;
        state.refuse_existing(&edge)?;
        let key = edge.key();
        check_held(state, delegation, now, &key)?;
        let attributes = codec::delegation_attributes(delegation)?;
        tx.add_edge(
            GRAPH,
            NewEdge::new(DELEGATES, &delegation.from, &delegation.to)
                .key(&key)
                .attributes(&attributes),
        )?;
        Ok(Mutation::Edge(key, edge))
    })
}

/// The operation of [`Acl::update_delegation`](super::Acl::update_delegation).
pub(super) fn update_delegation<'a>(delegation: &'a Delegation) -> Result<impl Op + 'a> {
    check_delegation(delegation)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        let key = state.require_edge(&AclEdge::Delegates(delegation.clone()))?;
        let mut updated = delegation.clone();
        updated.budgets = match state.graph().edge(&key) {
            Some(AclEdge::Delegates(current)) => current.budgets.clone(),
            _ => Default::default(),
        };
        check_held(state, &updated, now, &key)?;
        tx.replace_edge(GRAPH, &key, &codec::delegation_attributes(&updated)?)?;
        Ok(Mutation::Edge(key, AclEdge::Delegates(updated)))
    })
}

/// The operation of [`Acl::revoke`](super::Acl::revoke).
pub(super) fn revoke<'a>(from: &'a str, to: &'a str) -> Result<impl Op + 'a> {
    check_identity_id(from)?;
    check_identity_id(to)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        let key = state.require_edge(&AclEdge::Delegates(Delegation::new(from, to)))?;
        let Some(AclEdge::Delegates(current)) = state.graph().edge(&key) else {
            return Err(Error::NotFound {
                entity: edge_entity(&key),
            });
        };
        if current.validity.revoked_at.is_some_and(|at| at <= now) {
            return Ok(Mutation::Nothing);
        }
        let mut revoked = current.clone();
        revoked.validity.revoked_at = Some(now);
        tx.patch_edge(GRAPH, &key, &json!({ "revoked_at": now }))?;
        Ok(Mutation::Edge(key, AclEdge::Delegates(revoked)))
    })
}

/// The operation of [`Acl::add_membership`](super::Acl::add_membership).
pub(super) fn add_membership<'a>(membership: &'a Membership) -> Result<impl Op + 'a> {
    check_identity_id(&membership.member)?;
    check_identity_id(&membership.group)?;
    let edge = AclEdge::BelongsTo(membership.clone());
    let key = edge.key();
    check_validity(&key, &membership.validity)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, _: i64| {
        state.require_principal(&membership.member)?;
        let group = state.require_principal(&membership.group)?;
        check_group(&key, membership, group)?;
        state.refuse_existing(&edge)?;
        let attributes = codec::membership_attributes(membership)?;
        tx.add_edge(
            GRAPH,
            NewEdge::new(BELONGS_TO, &membership.member, &membership.group)
                .key(&key)
                .attributes(&attributes),
        )?;
        Ok(Mutation::Edge(key.clone(), edge.clone()))
    })
}

/// The operation of [`Acl::remove_membership`](super::Acl::remove_membership).
pub(super) fn remove_membership<'a>(member: &'a str, group: &'a str) -> Result<impl Op + 'a> {
    check_identity_id(member)?;
    check_identity_id(group)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, _: i64| {
        let key = state.require_edge(&AclEdge::BelongsTo(Membership::new(member, group)))?;
        tx.remove_edge(GRAPH, &key)?;
        Ok(Mutation::RemoveEdge(key))
    })
}

/// The `can_*` edge of a grant, once the identity id passes its check.
fn grant_edge(identity_id: &str, action: Action, resource: &str) -> Result<AclEdge> {
    check_identity_id(identity_id)?;
    Ok(AclEdge::Can(ActionGrant {
        principal: identity_id.to_owned(),
        action,
        resource: resource.to_owned(),
    }))
}

/// The operation of [`Acl::grant`](super::Acl::grant).
pub(super) fn grant<'a>(
    identity_id: &'a str,
    action: Action,
    resource: &'a str,
) -> Result<impl Op + 'a> {
    let edge = grant_edge(identity_id, action, resource)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, _: i64| {
        state.require_principal(identity_id)?;
        if state.graph().resource(resource).is_none() {
            return Err(Error::NotFound {
                entity: node_entity(&resource_key(resource)),
            });
        }
        state.refuse_existing(&edge)?;
        let key = edge.key();
        let target = resource_key(resource);
        tx.add_edge(
            GRAPH,
            NewEdge::new(action.edge_type(), identity_id, &target).key(&key),
        )?;
        Ok(Mutation::Edge(key, edge.clone()))
    })
}

/// The operation of [`Acl::revoke_grant`](super::Acl::revoke_grant).
pub(super) fn revoke_grant<'a>(
    identity_id: &'a str,
    action: Action,
    resource: &'a str,
) -> Result<impl Op + 'a> {
    let edge = grant_edge(identity_id, action, resource)?;
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, _: i64| {
        let key = state.require_edge(&edge)?;
        tx.remove_edge(GRAPH, &key)?;
        Ok(Mutation::RemoveEdge(key))
    })
}

/// Applies a committed mutation to the graph in memory.
pub(super) fn apply_to(graph: &mut AclGraph, mutation: Mutation) -> Result<super::Affected> {
    Ok(match mutation {
        Mutation::Principal(principal) => graph.insert_principal(principal),
        Mutation::RemovePrincipal(id) => graph.remove_principal(&id),
        Mutation::Resource(resource) => graph.insert_resource(resource),
        Mutation::RemoveResource(name) => graph.remove_resource(&name),
        Mutation::Edge(key, edge) => graph.insert_edge_keyed(key, edge)?,
        Mutation::RemoveEdge(key) => graph.remove_edge(&key),
        Mutation::RemoveEdges(keys) => {
            let mut affected = super::Affected::default();
            for key in keys {
                affected.merge(graph.remove_edge(&key));
            }
            affected
        }
        Mutation::Audited(inner) => apply_to(graph, *inner)?,
        Mutation::Nothing => Default::default(),
    })
}

/// What the audit log records for a mutation about to commit, read against
/// the graph as it was before it.
pub(super) fn audit_record<'a>(
    graph: &AclGraph,
    mutation: &Mutation,
    at: i64,
    actor: Option<&'a str>,
) -> Result<Option<crate::audit::Record<'a>>> {
    let principal_value = |id: &str| -> Result<Option<serde_json::Value>> {
        graph
            .principal(id)
            .map(codec::principal_attributes)
            .transpose()
    };
    let edge_value = |key: &str| -> Result<Option<serde_json::Value>> {
        graph.edge(key).map(codec::edge_audit_value).transpose()
    };
    let (action, entity, before, after) = match mutation {
        Mutation::Principal(principal) => {
            let before = principal_value(&principal.identity_id)?;
            let action = if before.is_some() {
                "acl.principal.update"
            } else {
                "acl.principal.create"
            };
            let after = Some(codec::principal_attributes(principal)?);
            (action, node_entity(&principal.identity_id), before, after)
        }
        Mutation::RemovePrincipal(id) => (
            "acl.principal.delete",
            node_entity(id),
            principal_value(id)?,
            None,
        ),
        Mutation::Resource(resource) => (
            "acl.resource.create",
            node_entity(&resource_key(&resource.name())),
            None,
            Some(codec::resource_attributes(resource)?),
        ),
        Mutation::RemoveResource(name) => (
            "acl.resource.delete",
            node_entity(&resource_key(name)),
            graph
                .resource(name)
                .map(codec::resource_attributes)
                .transpose()?,
            None,
        ),
        Mutation::Edge(key, edge) => {
            let before = edge_value(key)?;
            let action = match (edge, before.is_some()) {
                (AclEdge::Delegates(d), _) if d.validity.revoked_at.is_some() => "acl.revoke",
                (AclEdge::Delegates(_), false) => "acl.delegate",
                (AclEdge::Delegates(_), true) => "acl.delegation.update",
                (AclEdge::BelongsTo(_), _) => "acl.member.add",
                (AclEdge::Can(_), _) => "acl.grant",
            };
            let after = Some(codec::edge_audit_value(edge)?);
            (action, edge_entity(key), before, after)
        }
        Mutation::RemoveEdge(key) => {
            let before = edge_value(key)?;
            let action = match graph.edge(key) {
                Some(AclEdge::BelongsTo(_)) => "acl.member.remove",
                Some(AclEdge::Can(_)) => "acl.grant.revoke",
                _ => "acl.edge.delete",
            };
            (action, edge_entity(key), before, None)
        }
        Mutation::RemoveEdges(_) | Mutation::Audited(_) | Mutation::Nothing => return Ok(None),
    };
    Ok(Some(crate::audit::Record {
        at,
        actor,
        action,
        entity: entity.to_string(),
        before,
        after,
    }))
}

/// The write-time check: the delegator holds, at `now`, everything it
/// passes on.
fn check_held(state: &State, delegation: &Delegation, now: i64, key: &str) -> Result<()> {
    let held = state
        .effective_at(&delegation.from, now)
        .unwrap_or_default();
    check_held_by(&held, delegation, key)
}

/// The delegator, holding `held`, holds everything `delegation` passes on.
pub(super) fn check_held_by(
    held: &EffectiveGrant,
    delegation: &Delegation,
    key: &str,
) -> Result<()> {
    let mut missing: Vec<Permission> = delegation
        .narrowed_scopes
        .iter()
        .filter(|scope| !held.has_scope(scope))
        .map(Permission::scope)
        .collect();
    for (resource, actions) in &delegation.narrowed_resources {
        missing.extend(
            actions
                .iter()
                .filter(|action| !held.allows(resource, action))
                .map(|action| Permission::resource(resource, action)),
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::NotHeld {
        entity: edge_entity(key),
        delegator: delegation.from.clone(),
        missing,
    })
}
