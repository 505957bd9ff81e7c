//! The metagraph's catalog: graph types, node types and edge types as
//! values and as stored rows, the row reads every layer above uses, and the
//! write transaction's cache of resolved graphs, types and endpoints, which
//! the store keeps with its writer. Defining and evolving types is
//! [`types`](crate::metagraph::types)'s.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Entity, Error, Result};
use crate::outbox::EntityKind;
use crate::schema::CompiledSchema;

/// How edges of a graph are directed (graphology's `type` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum GraphKind {
    /// Every edge is directed.
    Directed,
    /// Every edge is undirected.
    Undirected,
    /// Each edge says whether it is directed.
    #[default]
    Mixed,
}

/// Structural rules for every graph of a type: graphology's option names
/// (`type`, `multi`, `allowSelfLoops`) plus `acyclic`.
///
/// The default is graphology's: mixed, no parallel edges, self-loops allowed,
/// cycles allowed.
///
/// # Example
///
/// ```
/// use alknet_graphs::{GraphConfig, GraphKind};
/// let dag = GraphConfig::directed().acyclic(true);
/// assert_eq!(dag.kind, GraphKind::Directed);
/// assert_eq!(
///     serde_json::to_string(&dag).unwrap(),
///     r#"{"type":"directed","multi":false,"allowSelfLoops":true,"acyclic":true}"#
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    /// Directed, undirected or mixed.
    #[serde(rename = "type", default)]
    pub kind: GraphKind,
    /// Whether two edges of the same edge type may join the same endpoints.
    #[serde(default)]
    pub multi: bool,
    /// Whether an edge may join a node to itself.
    #[serde(rename = "allowSelfLoops", default = "yes")]
    pub allow_self_loops: bool,
    /// Whether edges that close a directed cycle are rejected (requires
    /// `type` directed).
    #[serde(default)]
    pub acyclic: bool,
}

fn yes() -> bool {
    true
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            kind: GraphKind::Mixed,
            multi: false,
            allow_self_loops: true,
            acyclic: false,
        }
    }
}

impl GraphConfig {
    /// Directed, otherwise the defaults.
    pub fn directed() -> Self {
        GraphConfig {
            kind: GraphKind::Directed,
            ..GraphConfig::default()
        }
    }

    /// Undirected, otherwise the defaults.
    pub fn undirected() -> Self {
        GraphConfig {
            kind: GraphKind::Undirected,
            ..GraphConfig::default()
        }
    }

    /// Sets `multi`.
    pub fn multi(mut self, multi: bool) -> Self {
        self.multi = multi;
        self
    }

    /// Sets `allowSelfLoops`.
    pub fn allow_self_loops(mut self, allow: bool) -> Self {
        self.allow_self_loops = allow;
        self
    }

    /// Sets `acyclic`.
    pub fn acyclic(mut self, acyclic: bool) -> Self {
        self.acyclic = acyclic;
        self
    }

    pub(crate) fn check(&self, entity: impl FnOnce() -> Entity) -> Result<()> {
        if self.acyclic && self.kind != GraphKind::Directed {
            return Err(Error::invalid(entity(), "acyclic requires type directed"));
        }
        Ok(())
    }
}

/// A class of graphs and the rules its graphs follow.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphType {
    /// Public id (UUIDv7), never reused.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Structural rules.
    pub config: GraphConfig,
    /// The JSON Schema every graph's own attributes satisfy
    /// ([`Graph::attributes`](crate::Graph::attributes)); `None` accepts any
    /// object.
    pub graph_schema: Option<Value>,
    /// Incremented by every change of `config` or `graph_schema`.
    pub version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// A node type: a name and the JSON Schema its nodes' attributes satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeType {
    /// Public id (UUIDv7), never reused.
    pub id: String,
    /// The graph type it belongs to.
    pub graph_type: String,
    /// Name, unique within the graph type.
    pub name: String,
    /// JSON Schema for node attributes.
    pub schema: Value,
    /// Incremented by every schema change.
    pub version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// An edge type: a name, a JSON Schema for its edges' attributes, and the
/// node types its edges may join.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeType {
    /// Public id (UUIDv7), never reused.
    pub id: String,
    /// The graph type it belongs to.
    pub graph_type: String,
    /// Name, unique within the graph type.
    pub name: String,
    /// JSON Schema for edge attributes.
    pub schema: Value,
    /// Which node types its edges may start and end at.
    pub endpoints: Endpoints,
    /// Incremented by every change of schema or endpoints.
    pub version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// The node types an edge type may join; `None` allows any node type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Endpoints {
    /// Node types allowed at the source.
    pub source: Option<Vec<String>>,
    /// Node types allowed at the target.
    pub target: Option<Vec<String>>,
}

impl Endpoints {
    /// Any node type at either end.
    pub fn any() -> Self {
        Endpoints::default()
    }

    /// Only these node types at the source and target.
    pub fn between(source: &[&str], target: &[&str]) -> Self {
        let owned = |names: &[&str]| Some(names.iter().map(|s| (*s).to_owned()).collect());
        Endpoints {
            source: owned(source),
            target: owned(target),
        }
    }

    pub(crate) fn allows_source(&self, node_type: &str) -> bool {
        self.source
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == node_type))
    }

    pub(crate) fn allows_target(&self, node_type: &str) -> bool {
        self.target
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == node_type))
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &String> {
        self.source.iter().chain(self.target.iter()).flatten()
    }
}

/// What to do with a type's instances when the type is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPolicy {
    /// Refuse to drop a type that still has instances.
    Restrict,
    /// Remove its instances too (nodes take their incident edges along).
    Cascade,
}

// ---------------------------------------------------------------------------
// SQL

pub(crate) const GRAPH_TYPE_COLUMNS: &str =
    "id, uid, name, config, version, created_at, updated_at, graph_schema";
const SELECT_GRAPH_TYPE: &str = "SELECT id, uid, name, config, version, created_at, updated_at,
            graph_schema
     FROM graph_types WHERE name = ?1";
pub(crate) const NODE_TYPE_SELECT: &str = "SELECT t.id, t.uid, g.name, t.name, t.schema, t.version,
            t.created_at, t.updated_at
     FROM node_types t JOIN graph_types g ON g.id = t.graph_type_id";
pub(crate) const EDGE_TYPE_SELECT: &str = "SELECT t.id, t.uid, g.name, t.name, t.schema, t.version,
            t.created_at, t.updated_at, t.allowed_source, t.allowed_target
     FROM edge_types t JOIN graph_types g ON g.id = t.graph_type_id";

/// A graph type as the write path needs it.
#[derive(Debug, Clone)]
pub(crate) struct GraphTypeRow {
    pub(crate) id: i64,
    pub(crate) public: GraphType,
}

/// A node or edge type as the write path needs it.
#[derive(Debug, Clone)]
pub(crate) struct TypeRow {
    pub(crate) id: i64,
    pub(crate) uid: String,
    pub(crate) name: String,
    pub(crate) version: i64,
    pub(crate) schema: String,
    pub(crate) endpoints: Endpoints,
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::corrupt(what.to_owned(), e))
}

type GraphTypeColumns = (i64, String, String, String, i64, i64, i64, Option<String>);

pub(crate) fn graph_type_from_row(row: &Row<'_>) -> rusqlite::Result<GraphTypeColumns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

pub(crate) fn build_graph_type(raw: GraphTypeColumns) -> Result<GraphTypeRow> {
    let (id, uid, name, config, version, created_at, updated_at, graph_schema) = raw;
    let config = parse_json(&format!("config of graph type {name:?}"), &config)?;
    let graph_schema = graph_schema
        .map(|text| parse_json(&format!("graph schema of graph type {name:?}"), &text))
        .transpose()?;
    Ok(GraphTypeRow {
        id,
        public: GraphType {
            id: uid,
            name,
            config,
            graph_schema,
            version,
            created_at,
            updated_at,
        },
    })
}

pub(crate) fn graph_type_row(conn: &Connection, name: &str) -> Result<Option<GraphTypeRow>> {
    let raw = conn
        .prepare_cached(SELECT_GRAPH_TYPE)?
        .query_row([name], graph_type_from_row)
        .optional()?;
    raw.map(build_graph_type).transpose()
}

/// The row id of graph `graph` and its graph type, in one query.
pub(crate) fn graph_and_type(
    conn: &Connection,
    graph: &str,
) -> Result<Option<(i64, GraphTypeRow)>> {
    let raw = conn
        .prepare_cached(
            "SELECT t.id, t.uid, t.name, t.config, t.version, t.created_at, t.updated_at,
                    t.graph_schema, g.id
               FROM graphs g JOIN graph_types t ON t.id = g.graph_type_id
              WHERE g.name = ?1",
        )?
        .query_row([graph], |row| {
            Ok((graph_type_from_row(row)?, row.get::<_, i64>(8)?))
        })
        .optional()?;
    raw.map(|(row, graph_id)| Ok((graph_id, build_graph_type(row)?)))
        .transpose()
}

pub(crate) fn require_graph_type(conn: &Connection, name: &str) -> Result<GraphTypeRow> {
    graph_type_row(conn, name)?.ok_or_else(|| Error::NotFound {
        entity: Entity::GraphType(name.to_owned()),
    })
}

/// Which of the two type tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TypeTable {
    Node,
    Edge,
}

impl TypeTable {
    pub(crate) fn table(self) -> &'static str {
        match self {
            TypeTable::Node => "node_types",
            TypeTable::Edge => "edge_types",
        }
    }

    pub(crate) fn entity(self, graph_type: &str, name: &str) -> Entity {
        let (graph_type, name) = (graph_type.to_owned(), name.to_owned());
        match self {
            TypeTable::Node => Entity::NodeType { graph_type, name },
            TypeTable::Edge => Entity::EdgeType { graph_type, name },
        }
    }

    pub(crate) fn event(self) -> EntityKind {
        match self {
            TypeTable::Node => EntityKind::NodeType,
            TypeTable::Edge => EntityKind::EdgeType,
        }
    }
}

pub(crate) fn type_row(
    conn: &Connection,
    table: TypeTable,
    graph_type_id: i64,
    name: &str,
) -> Result<Option<TypeRow>> {
    let sql = match table {
        TypeTable::Node => {
            "SELECT id, uid, name, version, schema, NULL, NULL FROM node_types
             WHERE graph_type_id = ?1 AND name = ?2"
        }
        TypeTable::Edge => {
            "SELECT id, uid, name, version, schema, allowed_source, allowed_target FROM edge_types
             WHERE graph_type_id = ?1 AND name = ?2"
        }
    };
    let raw = conn
        .prepare_cached(sql)?
        .query_row(params![graph_type_id, name], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()?;
    let Some((id, uid, name, version, schema, source, target)) = raw else {
        return Ok(None);
    };
    let names = |text: Option<String>| -> Result<Option<Vec<String>>> {
        text.map(|t| parse_json("allowed endpoint types", &t))
            .transpose()
    };
    Ok(Some(TypeRow {
        id,
        uid,
        name,
        version,
        schema,
        endpoints: Endpoints {
            source: names(source)?,
            target: names(target)?,
        },
    }))
}

pub(crate) fn node_type_from_row(row: &Row<'_>) -> rusqlite::Result<(NodeType, String)> {
    let schema_text: String = row.get(4)?;
    Ok((
        NodeType {
            id: row.get(1)?,
            graph_type: row.get(2)?,
            name: row.get(3)?,
            schema: Value::Null,
            version: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
        },
        schema_text,
    ))
}

pub(crate) fn finish_node_type((mut t, schema): (NodeType, String)) -> Result<NodeType> {
    t.schema = parse_json(&format!("schema of node type {:?}", t.name), &schema)?;
    Ok(t)
}

pub(crate) fn edge_type_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<(EdgeType, String, Option<String>, Option<String>)> {
    Ok((
        EdgeType {
            id: row.get(1)?,
            graph_type: row.get(2)?,
            name: row.get(3)?,
            schema: Value::Null,
            endpoints: Endpoints::default(),
            version: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
        },
        row.get(4)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

pub(crate) fn finish_edge_type(
    (mut t, schema, source, target): (EdgeType, String, Option<String>, Option<String>),
) -> Result<EdgeType> {
    t.schema = parse_json(&format!("schema of edge type {:?}", t.name), &schema)?;
    t.endpoints.source = source
        .map(|s| parse_json("allowed source types", &s))
        .transpose()?;
    t.endpoints.target = target
        .map(|s| parse_json("allowed target types", &s))
        .transpose()?;
    Ok(t)
}

// ---------------------------------------------------------------------------
// The write transaction's cache

/// A graph as the write path needs it: resolved once per transaction.
pub(crate) struct GraphCtx {
    pub(crate) id: i64,
    pub(crate) graph_type: GraphTypeRow,
}

/// A type as the write path needs it, with its compiled schema.
pub(crate) struct TypeCtx {
    pub(crate) row: TypeRow,
    pub(crate) compiled: Arc<CompiledSchema>,
}

/// A remembered endpoint: the node's row id and its node type's name.
pub(crate) type End = (i64, Arc<str>);

/// Graphs and types resolved by this write transaction; cleared whenever it
/// changes a type or a graph, so it never outlives what it describes.
#[derive(Default)]
pub(crate) struct TxnCache {
    pub(crate) graphs: HashMap<String, Arc<GraphCtx>>,
    /// (table, graph type id) → type name → type.
    pub(crate) types: HashMap<(TypeTable, i64), HashMap<String, Arc<TypeCtx>>>,
    /// Nodes of graphs that are not acyclic, as edge writes resolved them:
    /// graph id → key → (row id, node type name). A node keeps its row id
    /// and its type for as long as it exists, so an entry stays true until
    /// the node is removed, which forgets it (see `forget_node`).
    pub(crate) ends: HashMap<i64, HashMap<Box<str>, End>>,
    /// How many endpoints `ends` holds.
    pub(crate) ends_len: usize,
    /// Node type names held by `ends`, each once.
    pub(crate) names: Vec<Arc<str>>,
}

impl TxnCache {
    /// Endpoints remembered at most; past this the memory starts over.
    pub(crate) const MAX_ENDS: usize = 1 << 20;

    pub(crate) fn clear(&mut self) {
        self.graphs.clear();
        self.types.clear();
        self.ends.clear();
        self.ends_len = 0;
        self.names.clear();
    }

    /// The endpoint remembered for node `key` of graph `graph_id`.
    pub(crate) fn end(&self, graph_id: i64, key: &str) -> Option<End> {
        self.ends.get(&graph_id)?.get(key).cloned()
    }

    /// Remembers an endpoint; past [`MAX_ENDS`](Self::MAX_ENDS) the memory
    /// starts over.
    pub(crate) fn remember_end(&mut self, graph_id: i64, key: &str, end: End) {
        if self.ends_len >= Self::MAX_ENDS {
            self.ends.clear();
            self.ends_len = 0;
        }
        if self
            .ends
            .entry(graph_id)
            .or_default()
            .insert(key.into(), end)
            .is_none()
        {
            self.ends_len += 1;
        }
    }

    /// Forgets a removed node.
    pub(crate) fn forget_node(&mut self, graph_id: i64, key: &str) {
        if let Some(graph) = self.ends.get_mut(&graph_id) {
            if graph.remove(key).is_some() {
                self.ends_len -= 1;
            }
        }
    }

    /// A node type name, held once however many endpoints name it.
    pub(crate) fn intern(&mut self, name: String) -> Arc<str> {
        if let Some(held) = self.names.iter().find(|n| ***n == *name) {
            return held.clone();
        }
        let held: Arc<str> = name.into();
        self.names.push(held.clone());
        held
    }
}
