//! Importing a whole ACL, and the ACL's rules over a whole graph: what
//! the write path checks one write at a time, checked at once for an
//! import and for `verify`.

use serde_json::Value;

use super::codec;
use super::input::{
    check_delegation, check_group, check_principal, check_resource, check_validity,
};
use super::model::{AclEdge, Validity};
use super::ops::check_held_by;
use super::snapshot::AclGraph;
use super::{Acl, GRAPH, GRAPH_TYPE};
use crate::interop::{import_graphology, ImportOptions, Imported};
use crate::time::now_ms;
use crate::{Entity, Error, Result};

/// What [`Acl::import_graphology`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclImport {
    /// The graph imported, with its counts.
    pub imported: Imported,
    /// Whether it replaced an ACL that held principals or resources.
    pub replaced: bool,
    /// The store revision it committed.
    pub revision: u64,
}

/// Every break of the ACL's write-time rules in `graph`, other than the
/// delegator-holds check (which holds at the time of each delegation, not
/// forever: a delegator may lose a scope later): malformed identity ids,
/// scopes, resource names and actions; memberships into a principal that
/// is not an org or a role; validities that are never in force.
pub(crate) fn rule_problems(graph: &AclGraph) -> Vec<Error> {
    let mut problems = Vec::new();
    for principal in graph.principals() {
        problems.extend(check_principal(principal).err());
    }
    for resource in graph.resources() {
        problems.extend(check_resource(resource).err());
    }
    for (key, edge) in graph.edges() {
        let problem = match edge {
            AclEdge::Delegates(delegation) => check_delegation(delegation).err(),
            AclEdge::BelongsTo(membership) => {
                check_validity(key, &membership.validity).err().or_else(|| {
                    graph
                        .principal(&membership.group)
                        .and_then(|group| check_group(key, membership, group).err())
                })
            }
            AclEdge::Can(_) => None,
        };
        problems.extend(problem);
    }
    problems
}

/// `graph` with every delegation and membership in force at all times.
fn timeless(graph: &AclGraph) -> Result<AclGraph> {
    let mut timeless = AclGraph::new();
    for principal in graph.principals() {
        timeless.insert_principal(principal.clone());
    }
    for resource in graph.resources() {
        timeless.insert_resource(resource.clone());
    }
    for (key, edge) in graph.edges() {
        let mut edge = edge.clone();
        match &mut edge {
            AclEdge::Delegates(d) => d.validity = Validity::always(),
            AclEdge::BelongsTo(m) => m.validity = Validity::always(),
            AclEdge::Can(_) => {}
        }
        timeless.insert_edge_keyed(key, edge)?;
    }
    Ok(timeless)
}

/// What an `acl.import` audit entry records of an ACL: its counts.
fn summary(nodes: u64, edges: u64) -> Value {
    serde_json::json!({"nodes": nodes, "edges": edges})
}

/// The SHA-256 (hex) of `doc` as compact JSON.
fn document_digest(doc: &Value) -> String {
    use sha2::{Digest, Sha256};
    crate::audit::hex(&Sha256::digest(doc.to_string().as_bytes()))
}

impl Acl {
    /// Replaces the whole ACL with a graphology document (as
    /// [`export_graphology`](crate::interop::export_graphology) writes it
    /// for the graph `acl`), in one
    /// transaction, holding it to every rule a write through this handle
    /// is held to: the key conventions (a principal's key is its
    /// `identity_id`, a resource's is `resource type[/id]`), well-formed
    /// tokens, memberships only into orgs and roles, validities that can
    /// be in force, and the delegator-holds check — every delegation passes
    /// on only what its delegator holds in the imported ACL (its least
    /// fixed point, so a cycle of delegations cannot vouch for itself).
    /// When each delegation was made is not in the document, so that check
    /// sets every validity aside: a faithful export whose upstream grants
    /// have since expired or been revoked imports again, and a scope no
    /// chain could ever have given the delegator is refused. The import is one audit entry,
    /// `acl.import`, whose before and after count the nodes (principals and
    /// resources) and edges, the after also carrying the SHA-256 of the
    /// imported document (as compact JSON), so the log pins exactly what
    /// was imported without copying a whole ACL into it.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if the ACL holds principals or resources and
    /// `replace` is false, or naming the first row that breaks a rule;
    /// the errors of [`import_graphology`] for the document itself. The
    /// store is unchanged after an error.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, IdentityType, Principal};
    /// use alknet_graphs::interop::export_graphology;
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let source = Store::open(dir.path().join("a.db"))?;
    /// let mut acl = Acl::open(&source)?;
    /// acl.add_principal(&Principal::new("eng", IdentityType::Org).scopes(["repo:read"]))?;
    /// let mut doc = source.read(|r| export_graphology(r, "acl"))?;
    ///
    /// let target = Store::open(dir.path().join("b.db"))?;
    /// let mut copy = Acl::open(&target)?;
    /// copy.import_graphology(&doc, false)?;
    /// assert!(copy.effective("eng").unwrap().has_scope("repo:read"));
    ///
    /// // A principal keyed other than by its identity_id is refused.
    /// doc["nodes"][0]["key"] = "mallory".into();
    /// let err = copy.import_graphology(&doc, true).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"node "mallory" in graph "acl": identity_id "eng" differs from the node key; a principal's key is its identity_id"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn import_graphology(&mut self, doc: &Value, replace: bool) -> Result<AclImport> {
        let store = self.store().clone();
        let max_depth = self.max_depth();
        let mut tx = store.begin_write()?;
        let now = now_ms();
        let held = tx.node_count(GRAPH)?;
        if held > 0 && !replace {
            return Err(Error::invalid(
                Entity::Graph(GRAPH.to_owned()),
                format!("holds {held} principals and resources; import with replace to replace the whole ACL"),
            ));
        }
        let edges_held = tx.edge_count(GRAPH)?;
        let before = (held > 0 || edges_held > 0).then(|| summary(held, edges_held));
        let options = ImportOptions::new().graph(GRAPH).graph_type(GRAPH_TYPE);
        let imported = tx.as_domain(|tx| {
            tx.drop_graph(GRAPH)?;
            import_graphology(tx, doc, &options)
        })?;
        let graph = codec::load(&tx)?;
        if let Some(problem) = rule_problems(&graph).into_iter().next() {
            return Err(problem);
        }
        // When each delegation was made is not in the document, so the
        // delegator-holds check runs on the imported ACL with every
        // validity set aside: a delegation whose delegator's own grant has
        // since expired or been revoked imports again, and a scope that no
        // chain could ever have given the delegator is refused.
        let timeless = timeless(&graph)?;
        let resolution = timeless.resolver().max_depth(max_depth).resolve_all(now);
        for (key, edge) in graph.edges() {
            let AclEdge::Delegates(delegation) = edge else {
                continue;
            };
            let held = resolution
                .effective(&timeless, &delegation.from)
                .unwrap_or_default();
            check_held_by(&held, delegation, key)?;
        }
        let mut after = summary(imported.nodes as u64, imported.edges as u64);
        after["document_sha256"] = Value::from(document_digest(doc));
        crate::audit::append(
            tx.conn(),
            crate::audit::Record {
                at: now,
                actor: self.actor(),
                action: "acl.import",
                entity: Entity::Graph(GRAPH.to_owned()).to_string(),
                before,
                after: Some(after),
            },
        )?;
        let revision = tx.commit()?;
        self.refresh()?;
        Ok(AclImport {
            imported,
            replaced: held > 0,
            revision,
        })
    }
}
