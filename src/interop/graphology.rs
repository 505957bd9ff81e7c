//! graphology's serialized JSON: export and a validated, atomic import.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{all_edges, all_nodes};
use crate::limits::kind_of;
use crate::{Entity, Error, GraphConfig, GraphKind, NewEdge, Reader, Result, WriteTxn};

/// The reserved attribute that carries a node's or an edge's type in a
/// graphology document. It is added on export and removed before
/// validation on import, so a type's schema never sees it.
pub const TYPE_ATTRIBUTE: &str = "@type";

/// The document attribute naming the graph type.
pub const GRAPH_TYPE_ATTRIBUTE: &str = "@graphType";

/// The document attribute naming the graph.
pub const NAME_ATTRIBUTE: &str = "name";

/// Which items an export tags with [`TYPE_ATTRIBUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TypeTags {
    /// Every node and edge (the default): the document imports into any
    /// graph type with the same type names.
    #[default]
    Always,
    /// Only where the graph type has more than one node type (for nodes) or
    /// edge type (for edges). The output is plain graphology where the type
    /// is unambiguous, and items without attributes are written as graphology
    /// writes them, without an `attributes` member. Import still works as
    /// long as the graph type keeps a single node (edge) type.
    WhenAmbiguous,
}

/// Options for [`export_graphology_with`].
///
/// Default: [`TypeTags::Always`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Which items carry [`TYPE_ATTRIBUTE`].
    pub type_tags: TypeTags,
}

impl ExportOptions {
    /// The defaults.
    pub fn new() -> Self {
        ExportOptions::default()
    }

    /// Sets which items carry [`TYPE_ATTRIBUTE`].
    pub fn type_tags(mut self, type_tags: TypeTags) -> Self {
        self.type_tags = type_tags;
        self
    }
}

/// Exports `graph` as a graphology serialized graph, tagging every item
/// with its type. See [`export_graphology_with`].
///
/// # Errors
///
/// As [`export_graphology_with`].
pub fn export_graphology(reader: &Reader, graph: &str) -> Result<Value> {
    export_graphology_with(reader, graph, &ExportOptions::default())
}

/// Exports `graph` in graphology's serialized format:
/// `{options, attributes, nodes, edges}`, nodes and edges in key order.
///
/// - `attributes` holds [`GRAPH_TYPE_ATTRIBUTE`] and [`NAME_ATTRIBUTE`];
/// - `options` holds the graph type's `type` and `allowSelfLoops`, and
///   `multi`, which is also `true` when the graph holds two edges of
///   *different* edge types between the same endpoints (in the same
///   direction, or both undirected). This store forbids parallel edges per
///   edge type, graphology per graph, so such a graph is a multigraph to
///   graphology; [`import_graphology`] accepts `multi: true` back into a
///   graph type that is not multi and checks each edge instead;
/// - items carry their type in [`TYPE_ATTRIBUTE`] (see [`TypeTags`]), and an
///   item whose attributes end up empty has no `attributes` member;
/// - `undirected: true` appears only on undirected edges of mixed graphs, as
///   graphology writes it.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`] if a
/// node or edge has an attribute named [`TYPE_ATTRIBUTE`] itself (the
/// document could not tell it from the type).
///
/// # Complexity
///
/// O(V + E) rows read, a page of 10,000 at a time; the document is built in
/// memory.
pub fn export_graphology_with(
    reader: &Reader,
    graph: &str,
    options: &ExportOptions,
) -> Result<Value> {
    let found = reader.graph(graph)?.ok_or_else(|| Error::NotFound {
        entity: Entity::Graph(graph.to_owned()),
    })?;
    let graph_type = reader
        .graph_type(&found.graph_type)?
        .ok_or_else(|| Error::NotFound {
            entity: Entity::GraphType(found.graph_type.clone()),
        })?;
    let config = graph_type.config;
    let always = options.type_tags == TypeTags::Always;
    let tag_nodes = always || reader.node_types(&graph_type.name)?.len() != 1;
    let tag_edges = always || reader.edge_types(&graph_type.name)?.len() != 1;

    let mut nodes = Vec::new();
    for node in all_nodes(reader, graph, None)? {
        let entity = || Entity::Node {
            graph: graph.to_owned(),
            key: node.key.clone(),
        };
        let attributes = tagged(node.attributes, &node.node_type, tag_nodes, entity)?;
        let mut item = Map::new();
        item.insert("key".into(), Value::String(node.key));
        if !attributes.is_empty() {
            item.insert("attributes".into(), Value::Object(attributes));
        }
        nodes.push(Value::Object(item));
    }

    let mut multi = config.multi;
    // (source, target, undirected) with undirected pairs in key order → the
    // first edge type seen between them.
    let mut pairs: HashMap<(String, String, bool), String> = HashMap::new();
    let mut edges = Vec::new();
    for edge in all_edges(reader, graph, None)? {
        if !multi {
            let (a, b) = if edge.undirected && edge.target < edge.source {
                (edge.target.clone(), edge.source.clone())
            } else {
                (edge.source.clone(), edge.target.clone())
            };
            match pairs.get(&(a.clone(), b.clone(), edge.undirected)) {
                Some(first) if *first != edge.edge_type => multi = true,
                Some(_) => {}
                None => {
                    pairs.insert((a, b, edge.undirected), edge.edge_type.clone());
                }
            }
        }
        let entity = || Entity::Edge {
            graph: graph.to_owned(),
            key: edge.key.clone(),
        };
        let attributes = tagged(edge.attributes, &edge.edge_type, tag_edges, entity)?;
        let mut item = Map::new();
        item.insert("key".into(), Value::String(edge.key));
        item.insert("source".into(), Value::String(edge.source));
        item.insert("target".into(), Value::String(edge.target));
        if !attributes.is_empty() {
            item.insert("attributes".into(), Value::Object(attributes));
        }
        if config.kind == GraphKind::Mixed && edge.undirected {
            item.insert("undirected".into(), Value::Bool(true));
        }
        edges.push(Value::Object(item));
    }

    let mut doc_options = Map::new();
    doc_options.insert("type".into(), Value::from(kind_name(config.kind)));
    doc_options.insert("multi".into(), Value::Bool(multi));
    doc_options.insert(
        "allowSelfLoops".into(),
        Value::Bool(config.allow_self_loops),
    );
    let mut attributes = Map::new();
    attributes.insert(
        GRAPH_TYPE_ATTRIBUTE.into(),
        Value::String(graph_type.name.clone()),
    );
    attributes.insert(NAME_ATTRIBUTE.into(), Value::String(found.name));
    let mut doc = Map::new();
    doc.insert("options".into(), Value::Object(doc_options));
    doc.insert("attributes".into(), Value::Object(attributes));
    doc.insert("nodes".into(), Value::Array(nodes));
    doc.insert("edges".into(), Value::Array(edges));
    Ok(Value::Object(doc))
}

/// The attributes with the type tag first, when tagging.
fn tagged(
    attributes: Map<String, Value>,
    type_name: &str,
    tag: bool,
    entity: impl FnOnce() -> Entity,
) -> Result<Map<String, Value>> {
    if attributes.contains_key(TYPE_ATTRIBUTE) {
        return Err(Error::invalid(
            entity(),
            format!(
                "has an attribute {TYPE_ATTRIBUTE:?}, which graphology documents reserve for the type; rename it to export this graph"
            ),
        ));
    }
    if !tag {
        return Ok(attributes);
    }
    let mut out = Map::with_capacity(attributes.len() + 1);
    out.insert(TYPE_ATTRIBUTE.into(), Value::String(type_name.to_owned()));
    out.extend(attributes);
    Ok(out)
}

fn kind_name(kind: GraphKind) -> &'static str {
    match kind {
        GraphKind::Directed => "directed",
        GraphKind::Undirected => "undirected",
        GraphKind::Mixed => "mixed",
    }
}

// ---------------------------------------------------------------------------
// Import

/// Options for [`import_graphology`].
///
/// Defaults: the graph's name and graph type come from the document's
/// attributes; [`import_graphology_str`] accepts documents of up to 256 MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The graph to create; `None` takes the document's [`NAME_ATTRIBUTE`].
    pub graph: Option<String>,
    /// Its graph type; `None` takes the document's [`GRAPH_TYPE_ATTRIBUTE`].
    /// When both are given they must agree.
    pub graph_type: Option<String>,
    /// The largest document text [`import_graphology_str`] parses, in bytes.
    pub max_document_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            graph: None,
            graph_type: None,
            max_document_bytes: 256 * 1024 * 1024,
        }
    }
}

impl ImportOptions {
    /// The defaults.
    pub fn new() -> Self {
        ImportOptions::default()
    }

    /// Imports into a graph of this name.
    pub fn graph(mut self, name: impl Into<String>) -> Self {
        self.graph = Some(name.into());
        self
    }

    /// Imports into a graph of this graph type.
    pub fn graph_type(mut self, name: impl Into<String>) -> Self {
        self.graph_type = Some(name.into());
        self
    }

    /// Sets the largest document [`import_graphology_str`] accepts.
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_document_bytes = bytes;
        self
    }
}

/// What an import created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The graph's name.
    pub graph: String,
    /// Its graph type.
    pub graph_type: String,
    /// How many nodes it holds.
    pub nodes: usize,
    /// How many edges it holds.
    pub edges: usize,
}

/// Parses `text` and imports it with [`import_graphology`].
///
/// # Errors
///
/// [`Error::TooLarge`] past [`ImportOptions::max_document_bytes`];
/// [`Error::Invalid`] naming the line and column if `text` is not JSON
/// (nesting deeper than 128 levels included); otherwise as
/// [`import_graphology`].
pub fn import_graphology_str(
    tx: &mut WriteTxn<'_>,
    text: &str,
    options: &ImportOptions,
) -> Result<Imported> {
    let entity = || Entity::Graph(options.graph.clone().unwrap_or_default());
    if text.len() > options.max_document_bytes {
        return Err(Error::TooLarge {
            entity: entity(),
            what: "graphology document",
            actual: text.len(),
            limit: options.max_document_bytes,
        });
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            entity(),
            format!("graphology document is not valid JSON: {e}"),
        )
    })?;
    import_graphology(tx, &doc, options)
}

/// Imports a graphology serialized graph as a new graph.
///
/// The document is checked whole before anything is written, then every
/// node and edge is written through the store's usual validation; the first
/// problem rejects the import with its JSON pointer. Run it in its own
/// transaction (as [`Store::write`](crate::Store::write) does) so a rejected
/// import leaves the store unchanged.
///
/// - The graph's name is [`ImportOptions::graph`] or the document's
///   [`NAME_ATTRIBUTE`]; its type is [`ImportOptions::graph_type`] or the
///   document's [`GRAPH_TYPE_ATTRIBUTE`]. No other graph attributes are
///   accepted (a graph has no attributes of its own to keep them in).
/// - `options` may be absent. Its `type` must fit the graph type (a
///   directed or undirected document imports into a graph type of the same
///   kind or a mixed one; a mixed document only into a mixed one). `multi`
///   and `allowSelfLoops` are checked edge by edge instead: each edge must
///   satisfy the graph type's rules.
/// - Each item's type is its [`TYPE_ATTRIBUTE`], which is removed before the
///   attributes are validated; an item without one takes the graph type's
///   only node (edge) type, and is rejected if there are several.
/// - Keys are strings; an edge without a key gets a generated one (a
///   UUIDv7). `undirected` may only be `true` in a mixed or undirected
///   document.
///
/// # Errors
///
/// [`Error::Invalid`] with the entity being the graph and a reason that
/// starts `graphology document at <JSON pointer>:` for every problem with
/// the document, including the store's own rejections of an item (its
/// schema, endpoint types, parallel edges, self-loops, cycles, sizes);
/// [`Error::AlreadyExists`] if the graph exists; [`Error::NotFound`] if
/// [`ImportOptions::graph_type`] names no graph type;
/// [`Error::Protected`] for a document of a built-in graph type, which
/// imports through its domain instead:
/// [`Acl::import_graphology`](crate::acl::Acl::import_graphology),
/// [`Taskgraphs::import_graphology`](crate::taskgraph::Taskgraphs::import_graphology),
/// [`Workflows::import_graphology`](crate::workflow::Workflows::import_graphology).
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{import_graphology, ImportOptions};
/// use alknet_graphs::{Endpoints, GraphConfig, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("social", GraphConfig::undirected())?;
///     tx.define_node_type("social", "person", &json!({"properties": {"age": {"type": "integer"}}}))?;
///     tx.define_edge_type("social", "knows", &json!({}), &Endpoints::any())?;
///     Ok(())
/// })?;
/// // Plain graphology: one node type and one edge type, so no "@type" is needed.
/// let doc = json!({
///     "attributes": {"name": "friends"},
///     "nodes": [{"key": "ada"}, {"key": "bob", "attributes": {"age": "old"}}],
///     "edges": [{"source": "ada", "target": "bob"}]
/// });
/// let options = ImportOptions::new().graph_type("social");
/// let err = store.write(|tx| import_graphology(tx, &doc, &options)).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"graph "friends": graphology document at /nodes/1/attributes/age: node "bob": attribute /age: "old" is not of type "integer""#
/// );
/// assert!(store.begin_read()?.graph("friends")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn import_graphology(
    tx: &mut WriteTxn<'_>,
    doc: &Value,
    options: &ImportOptions,
) -> Result<Imported> {
    let plan = plan(tx, doc, options)?;
    let graph = plan.graph.as_str();
    tx.create_graph(graph, &plan.graph_type).map_err(|e| {
        // A name from the document that the store refuses is a problem of
        // the document, at its pointer.
        let detail = match (&e, plan.name_from_document) {
            (Error::Invalid { reason, .. }, true) => reason.clone(),
            (Error::TooLarge { actual, limit, .. }, true) => {
                format!("the name is {actual} bytes, over the limit of {limit}")
            }
            _ => return e,
        };
        rejection(
            graph,
            problem(format!("/attributes/{NAME_ATTRIBUTE}"), detail),
        )
    })?;
    for (i, node) in plan.nodes.iter().enumerate() {
        tx.add_node(graph, node.key, &node.node_type, &node.attributes)
            .map_err(|e| at_item(graph, &format!("/nodes/{i}"), "node", node.key, e))?;
    }
    for (i, edge) in plan.edges.iter().enumerate() {
        let mut new = NewEdge::new(&edge.edge_type, edge.source, edge.target)
            .attributes(&edge.attributes)
            .undirected(edge.undirected);
        new.key = edge.key;
        tx.add_edge(graph, new).map_err(|e| {
            let key = match e.entity() {
                Some(Entity::Edge { key, .. }) => key.clone(),
                _ => edge.key.unwrap_or_default().to_owned(),
            };
            at_item(graph, &format!("/edges/{i}"), "edge", &key, e)
        })?;
    }
    Ok(Imported {
        graph: plan.graph,
        graph_type: plan.graph_type,
        nodes: plan.nodes.len(),
        edges: plan.edges.len(),
    })
}

/// A checked document, ready to write.
struct Plan<'d> {
    graph: String,
    name_from_document: bool,
    graph_type: String,
    nodes: Vec<PlannedNode<'d>>,
    edges: Vec<PlannedEdge<'d>>,
}

struct PlannedNode<'d> {
    key: &'d str,
    node_type: String,
    attributes: Value,
}

struct PlannedEdge<'d> {
    key: Option<&'d str>,
    edge_type: String,
    source: &'d str,
    target: &'d str,
    undirected: bool,
    attributes: Value,
}

/// A problem at a JSON pointer of the document.
struct Problem {
    pointer: String,
    reason: String,
}

fn problem(pointer: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem {
        pointer: pointer.into(),
        reason: reason.into(),
    }
}

fn rejection(graph: &str, problem: Problem) -> Error {
    let reason = if problem.pointer.is_empty() {
        format!("graphology document: {}", problem.reason)
    } else {
        format!(
            "graphology document at {}: {}",
            problem.pointer, problem.reason
        )
    };
    Error::invalid(Entity::Graph(graph.to_owned()), reason)
}

/// One reference token of a JSON pointer (RFC 6901).
fn token(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A store rejection of the item at `base`, restated with its pointer.
fn at_item(graph: &str, base: &str, what: &str, key: &str, err: Error) -> Error {
    let (pointer, detail) = match &err {
        Error::SchemaViolation { violations, .. } => {
            let first = violations
                .first()
                .map(|v| v.instance_path.as_str())
                .unwrap_or("");
            let details: Vec<String> = violations.iter().map(ToString::to_string).collect();
            (format!("{base}/attributes{first}"), details.join("; "))
        }
        Error::Invalid { reason, .. } => (base.to_owned(), reason.clone()),
        Error::Cycle { .. } | Error::AlreadyExists { .. } => {
            let text = err.to_string();
            let detail = match err.entity() {
                Some(entity) => text
                    .strip_prefix(&entity.to_string())
                    .map(|rest| rest.trim_start_matches(": ").trim_start())
                    .unwrap_or(&text)
                    .to_owned(),
                None => text.clone(),
            };
            (base.to_owned(), detail)
        }
        Error::TooLarge {
            what: part,
            actual,
            limit,
            ..
        } => {
            let pointer = match *part {
                "key" => format!("{base}/key"),
                "attributes" => format!("{base}/attributes"),
                _ => base.to_owned(),
            };
            (
                pointer,
                format!("{part} is {actual} bytes, over the limit of {limit}"),
            )
        }
        _ => return err,
    };
    rejection(graph, problem(pointer, format!("{what} {key:?}: {detail}")))
}

const TOP_LEVEL: [&str; 4] = ["attributes", "options", "nodes", "edges"];
const OPTIONS: [&str; 3] = ["type", "multi", "allowSelfLoops"];
const NODE_MEMBERS: [&str; 2] = ["key", "attributes"];
const EDGE_MEMBERS: [&str; 5] = ["key", "source", "target", "attributes", "undirected"];

fn plan<'d>(tx: &WriteTxn<'_>, doc: &'d Value, options: &ImportOptions) -> Result<Plan<'d>> {
    // The graph's name as far as it is known, for errors found before the
    // name is settled.
    let provisional = options
        .graph
        .clone()
        .or_else(|| {
            doc.get("attributes")
                .and_then(|a| a.get(NAME_ATTRIBUTE))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let fail = |p: Problem| rejection(&provisional, p);

    let root = doc.as_object().ok_or_else(|| {
        fail(problem(
            "",
            format!("must be a JSON object, not {}", kind_of(doc)),
        ))
    })?;
    if let Some(unknown) = root.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(fail(problem(
            format!("/{}", token(unknown)),
            "unknown member; a graphology document has attributes, options, nodes and edges",
        )));
    }

    // Graph attributes: the graph type and the name, nothing else.
    let empty = Map::new();
    let attributes = match root.get("attributes") {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(fail(problem(
                "/attributes",
                format!("must be an object, not {}", kind_of(other)),
            )))
        }
    };
    let mut doc_name = None;
    let mut doc_type = None;
    for (name, value) in attributes {
        let pointer = format!("/attributes/{}", token(name));
        let text = || {
            value.as_str().ok_or_else(|| {
                fail(problem(
                    pointer.clone(),
                    format!("must be a string, not {}", kind_of(value)),
                ))
            })
        };
        match name.as_str() {
            NAME_ATTRIBUTE => doc_name = Some(text()?),
            GRAPH_TYPE_ATTRIBUTE => doc_type = Some(text()?),
            _ => {
                return Err(fail(problem(
                    pointer,
                    format!(
                        "graph attributes other than {GRAPH_TYPE_ATTRIBUTE:?} and {NAME_ATTRIBUTE:?} cannot be stored"
                    ),
                )))
            }
        }
    }
    let graph = match (&options.graph, doc_name) {
        (Some(name), _) => name.clone(),
        (None, Some(name)) => name.to_owned(),
        (None, None) => {
            return Err(fail(problem(
                format!("/attributes/{NAME_ATTRIBUTE}"),
                "missing, and the import options name no graph",
            )))
        }
    };
    let fail = |p: Problem| rejection(&graph, p);
    let type_pointer = format!("/attributes/{}", token(GRAPH_TYPE_ATTRIBUTE));
    let graph_type = match (&options.graph_type, doc_type) {
        (Some(wanted), Some(found)) if wanted != found => {
            return Err(fail(problem(
                type_pointer,
                format!("is {found:?}, but the import is into graph type {wanted:?}"),
            )))
        }
        (Some(wanted), _) => tx.graph_type(wanted)?.ok_or_else(|| Error::NotFound {
            entity: Entity::GraphType(wanted.clone()),
        })?,
        (None, Some(found)) => tx.graph_type(found)?.ok_or_else(|| {
            fail(problem(
                type_pointer.clone(),
                format!("graph type {found:?} does not exist"),
            ))
        })?,
        (None, None) => {
            return Err(fail(problem(
                type_pointer,
                "missing, and the import options name no graph type",
            )))
        }
    };
    if tx.graph(&graph)?.is_some() {
        return Err(Error::AlreadyExists {
            entity: Entity::Graph(graph),
        });
    }
    let doc_kind =
        check_options(root.get("options"), &graph_type.name, graph_type.config).map_err(&fail)?;

    let node_types: Vec<String> = tx
        .node_types(&graph_type.name)?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let edge_types: Vec<String> = tx
        .edge_types(&graph_type.name)?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let gt = graph_type.name.as_str();

    let mut nodes = Vec::new();
    let mut node_index: HashMap<&str, usize> = HashMap::new();
    for (i, item) in array(root.get("nodes"), "/nodes").map_err(&fail)? {
        let base = format!("/nodes/{i}");
        let object = members(item, &base, &NODE_MEMBERS, "node").map_err(&fail)?;
        let key = string(object.get("key"), &format!("{base}/key")).map_err(&fail)?;
        if let Some(first) = node_index.insert(key, i) {
            return Err(fail(problem(
                format!("{base}/key"),
                format!("node {key:?} appears twice (first at /nodes/{first})"),
            )));
        }
        let (node_type, attributes) =
            typed_attributes(object.get("attributes"), &base, "node", gt, &node_types)
                .map_err(&fail)?;
        nodes.push(PlannedNode {
            key,
            node_type,
            attributes,
        });
    }

    let mut edges = Vec::new();
    let mut edge_keys: HashMap<&str, usize> = HashMap::new();
    for (i, item) in array(root.get("edges"), "/edges").map_err(&fail)? {
        let base = format!("/edges/{i}");
        let object = members(item, &base, &EDGE_MEMBERS, "edge").map_err(&fail)?;
        let key = match object.get("key") {
            None => None,
            Some(value) => {
                let key = string(Some(value), &format!("{base}/key")).map_err(&fail)?;
                if let Some(first) = edge_keys.insert(key, i) {
                    return Err(fail(problem(
                        format!("{base}/key"),
                        format!("edge {key:?} appears twice (first at /edges/{first})"),
                    )));
                }
                Some(key)
            }
        };
        let mut ends = [""; 2];
        for (end, slot) in ["source", "target"].into_iter().zip(ends.iter_mut()) {
            let pointer = format!("{base}/{end}");
            let node = string(object.get(end), &pointer).map_err(&fail)?;
            if !node_index.contains_key(node) {
                return Err(fail(problem(
                    pointer,
                    format!("node {node:?} is not in the document"),
                )));
            }
            *slot = node;
        }
        let undirected = match object.get("undirected") {
            None => None,
            Some(Value::Bool(flag)) => Some(*flag),
            Some(other) => {
                return Err(fail(problem(
                    format!("{base}/undirected"),
                    format!("must be a boolean, not {}", kind_of(other)),
                )))
            }
        };
        let undirected = match (doc_kind, undirected) {
            (GraphKind::Directed, Some(true)) => {
                return Err(fail(problem(
                    format!("{base}/undirected"),
                    "an edge of a directed graph cannot be undirected",
                )))
            }
            (GraphKind::Undirected, Some(false)) => {
                return Err(fail(problem(
                    format!("{base}/undirected"),
                    "an edge of an undirected graph cannot be directed",
                )))
            }
            (GraphKind::Undirected, _) => true,
            (_, flag) => flag.unwrap_or(false),
        };
        let (edge_type, attributes) =
            typed_attributes(object.get("attributes"), &base, "edge", gt, &edge_types)
                .map_err(&fail)?;
        edges.push(PlannedEdge {
            key,
            edge_type,
            source: ends[0],
            target: ends[1],
            undirected,
            attributes,
        });
    }

    Ok(Plan {
        name_from_document: options.graph.is_none(),
        graph,
        graph_type: graph_type.name,
        nodes,
        edges,
    })
}

/// Checks the document's `options` against the graph type and returns the
/// document's kind.
fn check_options(
    options: Option<&Value>,
    graph_type: &str,
    config: GraphConfig,
) -> Result<GraphKind, Problem> {
    let options = match options {
        None => return Ok(config.kind),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(problem(
                "/options",
                format!("must be an object, not {}", kind_of(other)),
            ))
        }
    };
    if let Some(unknown) = options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(problem(
            format!("/options/{}", token(unknown)),
            "unknown option; graphology's options are type, multi and allowSelfLoops",
        ));
    }
    for flag in ["multi", "allowSelfLoops"] {
        match options.get(flag) {
            None | Some(Value::Bool(_)) => {}
            Some(other) => {
                return Err(problem(
                    format!("/options/{flag}"),
                    format!("must be a boolean, not {}", kind_of(other)),
                ))
            }
        }
    }
    let kind = match options.get("type") {
        None => return Ok(config.kind),
        Some(Value::String(text)) => match text.as_str() {
            "directed" => GraphKind::Directed,
            "undirected" => GraphKind::Undirected,
            "mixed" => GraphKind::Mixed,
            _ => {
                return Err(problem(
                    "/options/type",
                    format!("{text:?} is not one of \"directed\", \"undirected\" or \"mixed\""),
                ))
            }
        },
        Some(other) => {
            return Err(problem(
                "/options/type",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
    };
    if kind != config.kind && config.kind != GraphKind::Mixed {
        return Err(problem(
            "/options/type",
            format!(
                "a {} document does not fit graph type {graph_type:?}, which is {}",
                kind_name(kind),
                kind_name(config.kind)
            ),
        ));
    }
    Ok(kind)
}

/// The items of an optional array member.
fn array<'d>(
    value: Option<&'d Value>,
    pointer: &str,
) -> Result<impl Iterator<Item = (usize, &'d Value)>, Problem> {
    match value {
        None => Ok([].iter().enumerate()),
        Some(Value::Array(items)) => Ok(items.iter().enumerate()),
        Some(other) => Err(problem(
            pointer,
            format!("must be an array, not {}", kind_of(other)),
        )),
    }
}

/// An item as an object with only the members graphology defines.
fn members<'d>(
    item: &'d Value,
    base: &str,
    allowed: &[&str],
    what: &str,
) -> Result<&'d Map<String, Value>, Problem> {
    let object = item.as_object().ok_or_else(|| {
        problem(
            base,
            format!("a {what} must be an object, not {}", kind_of(item)),
        )
    })?;
    if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        let mut list = String::new();
        for (i, name) in allowed.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == allowed.len() => " and ",
                _ => ", ",
            };
            let _ = write!(list, "{sep}{name}");
        }
        return Err(problem(
            format!("{base}/{}", token(unknown)),
            format!("unknown member; a graphology {what} has {list}"),
        ));
    }
    Ok(object)
}

fn string<'d>(value: Option<&'d Value>, pointer: &str) -> Result<&'d str, Problem> {
    match value {
        None => Err(problem(pointer, "missing")),
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(problem(
            pointer,
            format!("must be a string, not {}", kind_of(other)),
        )),
    }
}

/// An item's type (from [`TYPE_ATTRIBUTE`] or the only type there is) and
/// its attributes without the tag.
fn typed_attributes(
    value: Option<&Value>,
    base: &str,
    what: &str,
    graph_type: &str,
    types: &[String],
) -> Result<(String, Value), Problem> {
    let pointer = format!("{base}/attributes");
    let mut attributes = match value {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            return Err(problem(
                pointer,
                format!("must be an object, not {}", kind_of(other)),
            ))
        }
    };
    let type_name = match attributes.shift_remove(TYPE_ATTRIBUTE) {
        Some(Value::String(name)) => {
            types.iter().find(|t| **t == name).cloned().ok_or_else(|| {
                problem(
                    format!("{pointer}/{}", token(TYPE_ATTRIBUTE)),
                    format!("{what} type {name:?} is not defined in graph type {graph_type:?}"),
                )
            })?
        }
        Some(other) => {
            return Err(problem(
                format!("{pointer}/{}", token(TYPE_ATTRIBUTE)),
                format!("must be a string, not {}", kind_of(&other)),
            ))
        }
        None => match types {
            [only] => only.clone(),
            [] => {
                return Err(problem(
                    base,
                    format!("graph type {graph_type:?} has no {what} types"),
                ))
            }
            several => {
                let names: Vec<String> = several.iter().map(|t| format!("{t:?}")).collect();
                return Err(problem(
                    pointer,
                    format!(
                        "no {TYPE_ATTRIBUTE:?}, and graph type {graph_type:?} has {} {what} types ({}), so the type is ambiguous",
                        several.len(),
                        names.join(", ")
                    ),
                ));
            }
        },
    };
    Ok((type_name, Value::Object(attributes)))
}
