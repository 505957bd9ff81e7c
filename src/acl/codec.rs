//! How ACL values are stored in the metagraph: node and edge keys,
//! attribute documents, and loading the whole ACL graph into an
//! [`AclGraph`] through the public read API.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{
    AclEdge, Action, ActionGrant, Budgets, Delegation, IdentityType, Membership, Principal,
    Resource, Resources, Validity,
};
use super::snapshot::{
    edge_entity, names_an_action_each, node_entity, AclGraph, Affected, Ix, PlainFlow,
};
use super::{GRAPH, PRINCIPAL, RESOURCE};
use crate::metagraph::scan::RowTable;
use crate::{Edge, Error, ListOptions, Node, Reader, Result};

/// Items per page when loading (the store's largest page).
const PAGE: usize = 10_000;

/// Prefix of resource node keys; tokens hold no spaces, so a resource key
/// never equals a principal's (an identity id).
pub(crate) const RESOURCE_KEY_PREFIX: &str = "resource ";

/// The node key of a resource: `resource repo/alknet`.
pub(crate) fn resource_key(name: &str) -> String {
    format!("{RESOURCE_KEY_PREFIX}{name}")
}

#[derive(Serialize, Deserialize)]
struct PrincipalAttributes {
    identity_type: IdentityType,
    identity_id: String,
    #[serde(default)]
    scopes: BTreeSet<String>,
    #[serde(default)]
    resources: Resources,
}

#[derive(Serialize, Deserialize)]
struct ResourceAttributes {
    resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct DelegatesAttributes {
    narrowed_scopes: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    narrowed_resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Budgets::is_empty")]
    budgets: Budgets,
}

/// [`DelegatesAttributes`] as the bulk load decodes them, borrowing the
/// scopes from the row's text: the same fields, taking and refusing the
/// same documents.
#[derive(Deserialize)]
struct DelegatesRow<'a> {
    #[serde(borrow)]
    narrowed_scopes: Vec<Text<'a>>,
    #[serde(default)]
    narrowed_resources: Resources,
    #[serde(default)]
    not_before: Option<i64>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    revoked_at: Option<i64>,
    #[serde(default)]
    budgets: Budgets,
}

impl DelegatesRow<'_> {
    fn validity(&self) -> Validity {
        Validity {
            not_before: self.not_before,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }

    fn into_attributes(self) -> DelegatesAttributes {
        DelegatesAttributes {
            narrowed_scopes: self
                .narrowed_scopes
                .into_iter()
                .map(|text| text.0.into_owned())
                .collect(),
            not_before: self.not_before,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            narrowed_resources: self.narrowed_resources,
            budgets: self.budgets,
        }
    }
}

/// A JSON string, borrowed from the document when it holds no escape.
/// (serde's own `Cow<str>` borrows only as a field, not inside a `Vec`.)
struct Text<'a>(Cow<'a, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a str>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E>(self, text: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

#[derive(Serialize, Deserialize)]
struct BelongsToAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
}

fn to_value(what: impl FnOnce() -> String, attributes: &impl Serialize) -> Result<Value> {
    serde_json::to_value(attributes).map_err(|e| Error::corrupt(what(), e))
}

fn from_map<T: serde::de::DeserializeOwned>(
    what: impl FnOnce() -> String,
    attributes: Map<String, Value>,
) -> Result<T> {
    serde_json::from_value(Value::Object(attributes)).map_err(|e| Error::corrupt(what(), e))
}

pub(crate) fn principal_attributes(principal: &Principal) -> Result<Value> {
    to_value(
        || format!("attributes of principal {:?}", principal.identity_id),
        &PrincipalAttributes {
            identity_type: principal.identity_type,
            identity_id: principal.identity_id.clone(),
            scopes: principal.scopes.clone(),
            resources: principal.resources.clone(),
        },
    )
}

pub(crate) fn resource_attributes(resource: &Resource) -> Result<Value> {
    to_value(
        || format!("attributes of resource {:?}", resource.name()),
        &ResourceAttributes {
            resource_type: resource.resource_type.clone(),
            resource_id: resource.resource_id.clone(),
        },
    )
}

pub(crate) fn delegation_attributes(delegation: &Delegation) -> Result<Value> {
    let Validity {
        not_before,
        expires_at,
        revoked_at,
    } = delegation.validity;
    to_value(
        || {
            format!(
                "attributes of delegation {:?}",
                AclEdge::Delegates(delegation.clone()).key()
            )
        },
        &DelegatesAttributes {
            narrowed_scopes: delegation.narrowed_scopes.clone(),
            narrowed_resources: delegation.narrowed_resources.clone(),
            not_before,
            expires_at,
            revoked_at,
            budgets: delegation.budgets.clone(),
        },
    )
}

pub(crate) fn membership_attributes(membership: &Membership) -> Result<Value> {
    let Validity {
        not_before,
        expires_at,
        revoked_at,
    } = membership.validity;
    to_value(
        || "attributes of a membership".to_owned(),
        &BelongsToAttributes {
            not_before,
            expires_at,
            revoked_at,
        },
    )
}

pub(crate) fn principal_from(node: Node) -> Result<Principal> {
    let key = node.key;
    let attributes: PrincipalAttributes = from_map(
        || format!("attributes of {}", node_entity(&key)),
        node.attributes,
    )?;
    principal_of(key, attributes)
}

/// The principal stored under `key` with these attributes, if its key
/// follows the ACL's key rule.
fn principal_of(key: String, attributes: PrincipalAttributes) -> Result<Principal> {
    if attributes.identity_id != key {
        return Err(Error::invalid(
            node_entity(&key),
            format!(
                "identity_id {:?} differs from the node key; a principal's key is its identity_id",
                attributes.identity_id
            ),
        ));
    }
    Ok(Principal {
        identity_id: attributes.identity_id,
        identity_type: attributes.identity_type,
        scopes: attributes.scopes,
        resources: attributes.resources,
    })
}

pub(crate) fn resource_from(node: Node) -> Result<Resource> {
    let key = node.key;
    let attributes: ResourceAttributes = from_map(
        || format!("attributes of {}", node_entity(&key)),
        node.attributes,
    )?;
    resource_of(&key, attributes)
}

/// The resource stored under `key` with these attributes, if its key
/// follows the ACL's key rule.
fn resource_of(key: &str, attributes: ResourceAttributes) -> Result<Resource> {
    let resource = Resource {
        resource_type: attributes.resource_type,
        resource_id: attributes.resource_id,
    };
    if resource_key(&resource.name()) != key {
        return Err(Error::invalid(
            node_entity(key),
            format!(
                "a resource's key is {:?}, from its resource_type and resource_id",
                resource_key(&resource.name())
            ),
        ));
    }
    Ok(resource)
}

fn delegation_of(from: String, to: String, a: DelegatesAttributes) -> AclEdge {
    AclEdge::Delegates(Delegation {
        from,
        to,
        narrowed_scopes: a.narrowed_scopes,
        narrowed_resources: a.narrowed_resources,
        validity: Validity {
            not_before: a.not_before,
            expires_at: a.expires_at,
            revoked_at: a.revoked_at,
        },
        budgets: a.budgets,
    })
}

fn membership_of(member: String, group: String, a: BelongsToAttributes) -> AclEdge {
    AclEdge::BelongsTo(Membership {
        member,
        group,
        validity: Validity {
            not_before: a.not_before,
            expires_at: a.expires_at,
            revoked_at: a.revoked_at,
        },
    })
}

/// The `can_*` edge `key` from `principal` to `target`, if `target` is a
/// resource's key.
fn grant_of(key: &str, principal: String, action: Action, target: &str) -> Result<AclEdge> {
    let Some(resource) = target.strip_prefix(RESOURCE_KEY_PREFIX) else {
        return Err(Error::invalid(
            edge_entity(key),
            format!("target {target:?} is not a resource"),
        ));
    };
    Ok(AclEdge::Can(ActionGrant {
        principal,
        action,
        resource: resource.to_owned(),
    }))
}

/// The ACL edge a stored edge stands for; `None` for an edge type the ACL
/// does not know (another type defined on the `acl` graph type).
pub(crate) fn edge_from(edge: Edge) -> Result<Option<AclEdge>> {
    let key = edge.key;
    let what = || format!("attributes of {}", edge_entity(&key));
    let acl_edge = match edge.edge_type.as_str() {
        super::DELEGATES => {
            let a: DelegatesAttributes = from_map(what, edge.attributes)?;
            delegation_of(edge.source, edge.target, a)
        }
        super::BELONGS_TO => {
            let a: BelongsToAttributes = from_map(what, edge.attributes)?;
            membership_of(edge.source, edge.target, a)
        }
        other => match Action::from_edge_type(other) {
            Some(action) => grant_of(&key, edge.source, action, &edge.target)?,
            None => return Ok(None),
        },
    };
    Ok(Some(acl_edge))
}

/// `text` decoded straight into `T` (which may borrow from it), when it is
/// an object that decodes.
///
/// For an object this accepts no text that parsing it into a
/// [`Map`] and decoding that would refuse (it refuses more: a repeated
/// field, which the map would have kept the last of); anything it refuses
/// is left to the paged read, which decides as it always has.
fn typed<'a, T: Deserialize<'a>>(text: &'a str) -> Option<T> {
    // serde's derived structs also accept arrays; stored attributes are
    // objects, and anything else must reach the paged read's check.
    let is_object = text
        .trim_start_matches([' ', '\n', '\t', '\r'])
        .starts_with('{');
    if !is_object {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The whole `acl` graph in one scan of each table, decoding every
/// attribute document straight into its row type: `None` as soon as any
/// row is not plainly good (or on any storage error), for [`load_all`] to
/// read it all again the paged way and report the rows it rejects.
fn load_clean(reader: &Reader) -> Result<Option<AclGraph>> {
    let mut graph = AclGraph::new();
    // Node row id → principal slot, so that an edge finds its ends without
    // looking their keys up.
    let mut principals: Vec<(i64, Ix)> = Vec::new();
    let nodes = reader.scan_nodes(GRAPH, |row| match row.node_type {
        PRINCIPAL => typed(row.attributes)
            .and_then(|a| principal_of(row.key.to_owned(), a).ok())
            .map(|p| principals.push((row.id, graph.put_principal(p))))
            .is_some(),
        RESOURCE => typed(row.attributes)
            .and_then(|a| resource_of(row.key, a).ok())
            .map(|r| graph.insert_resource(r))
            .is_some(),
        _ => typed::<serde::de::IgnoredAny>(row.attributes).is_some(),
    })?;
    if !nodes {
        return Ok(None);
    }
    let principal_at = RowTable::from_pairs(principals);
    let edges = reader.scan_edges(GRAPH, |row| {
        // An end that is not a principal is left to the paged read, which
        // reports it.
        let ends = principal_at
            .get(row.source_id)
            .zip(principal_at.get(row.target_id))
            .map(|(&source, &target)| (source, target));
        let key = || row.key.to_owned();
        match (row.edge_type, ends) {
            (super::DELEGATES, Some(ends)) => {
                let Some(a) = typed::<DelegatesRow>(row.attributes) else {
                    return false;
                };
                if a.budgets.is_empty() && names_an_action_each(&a.narrowed_resources) {
                    let flow = PlainFlow::Delegates {
                        scopes: &a.narrowed_scopes,
                        resources: &a.narrowed_resources,
                        validity: a.validity(),
                    };
                    graph.load_plain_flow(key(), flow, ends)
                } else {
                    let (source, target) = (row.source.to_owned(), row.target.to_owned());
                    let edge = delegation_of(source, target, a.into_attributes());
                    graph.load_flow(key(), edge, ends)
                }
            }
            (super::BELONGS_TO, Some(ends)) => typed(row.attributes).is_some_and(|a| {
                let BelongsToAttributes {
                    not_before,
                    expires_at,
                    revoked_at,
                } = a;
                let validity = Validity {
                    not_before,
                    expires_at,
                    revoked_at,
                };
                graph.load_plain_flow::<&str>(key(), PlainFlow::BelongsTo { validity }, ends)
            }),
            (super::DELEGATES | super::BELONGS_TO, None) => false,
            (other, _) => {
                let object = typed::<serde::de::IgnoredAny>(row.attributes).is_some();
                match Action::from_edge_type(other) {
                    Some(action) if object => {
                        grant_of(row.key, row.source.to_owned(), action, row.target)
                            .is_ok_and(|e| graph.insert_edge_keyed(row.key, e).is_ok())
                    }
                    Some(_) => false,
                    None => object,
                }
            }
        }
    })?;
    Ok(edges.then_some(graph))
}

/// Reads the whole `acl` graph, page by page, into memory.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`] for
/// a principal or resource whose key breaks the ACL's key rule, or an edge
/// between the wrong kinds of node; [`Error::Corrupt`] for attributes that
/// do not decode.
pub(crate) fn load(reader: &Reader) -> Result<AclGraph> {
    let (graph, rejected) = load_all(reader)?;
    match rejected.into_iter().next() {
        None => Ok(graph),
        Some(first) => Err(first),
    }
}

/// Reads the whole `acl` graph into memory, leaving out every row the
/// ACL's rules reject and returning one error for each (in key order,
/// nodes first): what [`load`] refuses, all of it, for `verify`.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist; [`Error::Sqlite`] on a
/// storage failure.
pub(crate) fn load_all(reader: &Reader) -> Result<(AclGraph, Vec<Error>)> {
    // Nearly always every row is good, and one scan per table decodes it
    // all; otherwise the paged read below decides, row by row, as before.
    if let Ok(Some(graph)) = load_clean(reader) {
        return Ok((graph, Vec::new()));
    }
    load_paged(reader)
}

/// [`load_all`] by the paged read, deciding row by row.
fn load_paged(reader: &Reader) -> Result<(AclGraph, Vec<Error>)> {
    let mut graph = AclGraph::new();
    let mut rejected = Vec::new();
    let mut options = ListOptions::new().limit(PAGE);
    loop {
        let page = match reader.nodes(GRAPH, &options) {
            Ok(page) => page,
            Err(e @ Error::Corrupt { .. }) => {
                rejected.push(e);
                break;
            }
            Err(e) => return Err(e),
        };
        for node in page.items {
            let loaded = match node.node_type.as_str() {
                PRINCIPAL => principal_from(node).map(|p| {
                    graph.insert_principal(p);
                }),
                RESOURCE => resource_from(node).map(|r| {
                    graph.insert_resource(r);
                }),
                _ => Ok(()),
            };
            rejected.extend(loaded.err());
        }
        match page.next {
            Some(next) => options = options.after(next),
            None => break,
        }
    }
    let mut options = ListOptions::new().limit(PAGE);
    loop {
        let page = match reader.edges(GRAPH, &options) {
            Ok(page) => page,
            Err(e @ Error::Corrupt { .. }) => {
                rejected.push(e);
                break;
            }
            Err(e) => return Err(e),
        };
        for edge in page.items {
            let key = edge.key.clone();
            let loaded = edge_from(edge).and_then(|acl_edge| match acl_edge {
                Some(acl_edge) => graph.insert_edge_keyed(key, acl_edge).map(drop),
                None => Ok(()),
            });
            rejected.extend(loaded.err());
        }
        match page.next {
            Some(next) => options = options.after(next),
            None => break,
        }
    }
    Ok((graph, rejected))
}

/// The identity type of the principal `identity_id`, read as the store
/// holds it now; `None` when there is no such principal (or no `acl`
/// graph), or its type does not decode.
///
/// # Errors
///
/// [`Error::Sqlite`] on a storage failure.
pub(crate) fn principal_type(reader: &Reader, identity_id: &str) -> Result<Option<IdentityType>> {
    let node = match reader.node(GRAPH, identity_id) {
        Ok(node) => node,
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    Ok(node
        .filter(|node| node.node_type == PRINCIPAL)
        .and_then(|node| node.attributes.get("identity_type").cloned())
        .and_then(|t| serde_json::from_value(t).ok()))
}

/// The current rows of some nodes and edges of the `acl` graph (`None`:
/// absent), read to be applied to an [`AclGraph`] later, outside the
/// read transaction.
#[derive(Debug, Default)]
pub(crate) struct AclRows {
    nodes: Vec<(String, Option<Node>)>,
    edges: Vec<(String, Option<Edge>)>,
}

/// Reads the nodes and edges with these keys as the store holds them now.
///
/// # Errors
///
/// [`Error::Sqlite`] on a storage failure; a missing `acl` graph reads as
/// every key absent.
pub(crate) fn read_rows<'k>(
    reader: &Reader,
    node_keys: impl IntoIterator<Item = &'k String>,
    edge_keys: impl IntoIterator<Item = &'k String>,
) -> Result<AclRows> {
    fn absent_graph<T>(e: Error) -> Result<Option<T>> {
        if e.is_not_found() {
            Ok(None)
        } else {
            Err(e)
        }
    }
    let mut rows = AclRows::default();
    for key in node_keys {
        let node = reader.node(GRAPH, key).or_else(absent_graph)?;
        rows.nodes.push((key.clone(), node));
    }
    for key in edge_keys {
        let edge = reader.edge(GRAPH, key).or_else(absent_graph)?;
        rows.edges.push((key.clone(), edge));
    }
    Ok(rows)
}

/// Applies rows read by [`read_rows`] to `graph`: present ones inserted or
/// replaced, absent ones removed. Returns the principals touched.
///
/// # Errors
///
/// [`Error::Invalid`] or [`Error::Corrupt`] for rows that do not decode, or
/// an edge whose endpoint `graph` does not hold (reload the whole graph
/// then).
pub(crate) fn apply_rows(graph: &mut AclGraph, rows: AclRows) -> Result<Affected> {
    let mut affected = Affected::default();
    let mut gone_nodes = Vec::new();
    for (key, node) in rows.nodes {
        match node {
            Some(node) => match node.node_type.as_str() {
                PRINCIPAL => affected.merge(graph.insert_principal(principal_from(node)?)),
                RESOURCE => affected.merge(graph.insert_resource(resource_from(node)?)),
                _ => {}
            },
            None => gone_nodes.push(key),
        }
    }
    let mut present_edges = Vec::new();
    for (key, edge) in rows.edges {
        match edge {
            Some(edge) => present_edges.push(edge),
            None => affected.merge(graph.remove_edge(&key)),
        }
    }
    for edge in present_edges {
        let key = edge.key.clone();
        match edge_from(edge)? {
            Some(acl_edge) => affected.merge(graph.insert_edge_keyed(key, acl_edge)?),
            None => affected.merge(graph.remove_edge(&key)),
        }
    }
    for key in gone_nodes {
        match key.strip_prefix(RESOURCE_KEY_PREFIX) {
            Some(name) => affected.merge(graph.remove_resource(name)),
            None => affected.merge(graph.remove_principal(&key)),
        }
    }
    Ok(affected)
}

/// An ACL edge as the audit log records it.
pub(crate) fn edge_audit_value(edge: &AclEdge) -> Result<Value> {
    let (from, to) = edge.ends();
    let attributes = match edge {
        AclEdge::Delegates(delegation) => delegation_attributes(delegation)?,
        AclEdge::BelongsTo(membership) => membership_attributes(membership)?,
        AclEdge::Can(_) => Value::Object(Map::new()),
    };
    Ok(serde_json::json!({
        "type": edge.kind().as_str(),
        "from": from,
        "to": to,
        "attributes": attributes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_leaves_anything_but_a_plain_object_to_the_paged_read() {
        let good = r#" {"identity_type":"role","identity_id":"a","@type":"principal"}"#;
        assert!(typed::<PrincipalAttributes>(good).is_some());
        // Derived structs would take an array; the paged read refuses one.
        assert!(typed::<PrincipalAttributes>(r#"["role","a"]"#).is_none());
        // A repeated field: the paged read keeps the last one.
        let twice = r#"{"identity_type":"role","identity_id":"a","identity_id":"b"}"#;
        assert!(typed::<PrincipalAttributes>(twice).is_none());
        assert!(typed::<serde::de::IgnoredAny>("[]").is_none());
        assert!(typed::<serde::de::IgnoredAny>("{} x").is_none());
    }

    #[test]
    fn a_borrowed_delegation_row_decodes_as_the_owned_attributes() {
        for text in [
            r#"{"narrowed_scopes":["b","a\u0062","b"],"expires_at":7}"#,
            r#"{"narrowed_scopes":[],"narrowed_resources":{"repo":["read"]},"budgets":{"USD":5}}"#,
        ] {
            let row: DelegatesRow = typed(text).expect("decodes borrowed");
            let owned: DelegatesAttributes = typed(text).expect("decodes owned");
            assert_eq!(row.validity().expires_at, owned.expires_at);
            let row = row.into_attributes();
            assert_eq!(row.narrowed_scopes, owned.narrowed_scopes, "{text}");
            assert_eq!(row.narrowed_resources, owned.narrowed_resources);
            assert_eq!(row.budgets, owned.budgets);
        }
        for refused in [
            r#"{"narrowed_scopes":"a"}"#,
            r#"{"narrowed_scopes":[1]}"#,
            r#"{"expires_at":1}"#,
            r#"{"narrowed_scopes":[],"narrowed_scopes":[]}"#,
        ] {
            assert!(typed::<DelegatesRow>(refused).is_none(), "{refused}");
            assert!(typed::<DelegatesAttributes>(refused).is_none(), "{refused}");
        }
    }

    #[test]
    fn the_one_scan_load_holds_every_edge_as_the_paged_read_does() {
        use crate::acl::{Acl, Action, IdentityType, Principal};
        use crate::Store;

        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("acl.db")).expect("store");
        let mut acl = Acl::open(&store).expect("acl");
        let root = Principal::new("root", IdentityType::Account)
            .scopes(["a", "b", "c"])
            .resource("repo", ["read", "write"]);
        acl.add_principal(&root).expect("root");
        acl.add_resource(&Resource::of_type("repo")).expect("repo");
        for (id, kind) in [
            ("bot", IdentityType::Service),
            ("ops", IdentityType::Role),
            ("eve", IdentityType::Account),
        ] {
            acl.add_principal(&Principal::new(id, kind))
                .expect("principal");
        }
        acl.delegate(
            &Delegation::new("root", "bot")
                .scopes(["a", "b"])
                .expires_at(i64::MAX),
        )
        .expect("plain delegation");
        acl.delegate(&Delegation::new("root", "ops").resource("repo", ["read"]))
            .expect("delegation of a resource action");
        acl.delegate(&Delegation::new("root", "eve").scopes(["c"]))
            .expect("delegation with a budget");
        acl.set_budget("root", "eve", "calls", 10).expect("budget");
        acl.add_membership(&Membership::new("eve", "ops").validity(Validity {
            not_before: Some(5),
            ..Validity::always()
        }))
        .expect("membership");
        acl.grant("bot", Action::Read, "repo").expect("grant");

        let (clean, paged) = store
            .read(|reader| {
                let clean = load_clean(reader)?.expect("every row is plainly good");
                let (paged, rejected) = load_paged(reader)?;
                assert!(rejected.is_empty(), "{rejected:?}");
                Ok((clean, paged))
            })
            .expect("load");
        let all = |graph: &AclGraph| -> std::collections::BTreeMap<String, AclEdge> {
            graph
                .edges()
                .map(|(key, edge)| (key.to_owned(), edge.clone()))
                .collect()
        };
        assert_eq!(all(&clean).len(), 5);
        assert_eq!(all(&clean), all(&paged));
        assert_eq!(all(&clean), all(acl.graph()));
        for (key, edge) in all(&paged) {
            assert_eq!(clean.edge(&key), Some(&edge), "{key}");
            assert_eq!(clean.find_edge(&edge), Some(key.as_str()));
        }
        assert_eq!(clean.members("ops"), vec!["eve"]);
    }

    #[test]
    fn attributes_leave_out_what_is_absent() {
        let d = Delegation::new("a", "b").scopes(["s"]).expires_at(5);
        assert_eq!(
            delegation_attributes(&d).unwrap().to_string(),
            r#"{"narrowed_scopes":["s"],"expires_at":5}"#
        );
        assert_eq!(
            membership_attributes(&Membership::new("a", "g"))
                .unwrap()
                .to_string(),
            "{}"
        );
        assert_eq!(
            resource_attributes(&Resource::of_type("repo"))
                .unwrap()
                .to_string(),
            r#"{"resource_type":"repo"}"#
        );
        let p = Principal::new("a", IdentityType::Role).scopes(["x"]);
        assert_eq!(
            principal_attributes(&p).unwrap().to_string(),
            r#"{"identity_type":"role","identity_id":"a","scopes":["x"],"resources":{}}"#
        );
    }
}
