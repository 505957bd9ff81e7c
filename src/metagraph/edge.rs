//! Edges: add (with every structural rule), read, replace, merge-patch,
//! remove, list, and neighbours.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::item::{parse_attributes, Item};
use super::order::{self, Admission, Ranked};
use super::rulebreak::{EdgeEnd, RuleBreak};
use super::{graph_id, is_unique_violation, ListOptions, Page};
use crate::error::{Entity, Error, Result};
use crate::metagraph::catalog::{GraphConfig, GraphCtx, GraphKind, TypeCtx, TypeRow, TypeTable};
use crate::outbox::{ChangeOp, EntityKind};
use crate::store::{Reader, WriteTxn};
use crate::time::now_ms;

/// An edge: a key unique in its graph, an edge type, two endpoints and
/// attributes valid against the type's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The graph holding it.
    pub graph: String,
    /// Its key, unique in the graph.
    pub key: String,
    /// Its edge type.
    pub edge_type: String,
    /// Key of the source node.
    pub source: String,
    /// Key of the target node.
    pub target: String,
    /// Whether the edge is undirected.
    pub undirected: bool,
    /// Its attribute document.
    pub attributes: Map<String, Value>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// An edge to add. Built with [`NewEdge::new`] and refined with its setters.
///
/// # Example
///
/// ```
/// use alknet_graphs::NewEdge;
/// use serde_json::json;
/// let attributes = json!({"weight": 2});
/// let edge = NewEdge::new("depends_on", "test", "build").key("test->build").attributes(&attributes);
/// assert_eq!(edge.key, Some("test->build"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NewEdge<'a> {
    /// Its edge type.
    pub edge_type: &'a str,
    /// Key of the source node.
    pub source: &'a str,
    /// Key of the target node.
    pub target: &'a str,
    /// Its key; `None` generates a time-ordered unique key (UUIDv7).
    pub key: Option<&'a str>,
    /// Its attributes; `None` is the empty object.
    pub attributes: Option<&'a Value>,
    /// Whether it is undirected; `None` follows the graph type (undirected
    /// only in undirected graphs).
    pub undirected: Option<bool>,
}

impl<'a> NewEdge<'a> {
    /// An edge of `edge_type` from `source` to `target`.
    pub fn new(edge_type: &'a str, source: &'a str, target: &'a str) -> Self {
        NewEdge {
            edge_type,
            source,
            target,
            key: None,
            attributes: None,
            undirected: None,
        }
    }

    /// Sets its key.
    pub fn key(mut self, key: &'a str) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets its attributes.
    pub fn attributes(mut self, attributes: &'a Value) -> Self {
        self.attributes = Some(attributes);
        self
    }

    /// Makes it undirected (or explicitly directed).
    pub fn undirected(mut self, undirected: bool) -> Self {
        self.undirected = Some(undirected);
        self
    }
}

/// What a batch of edges resolves once: the graph and its edge types.
/// Endpoints are remembered for the whole transaction (`TxnCache::ends`),
/// so that edges written in several batches look each node up once.
struct EdgeBatch<'a> {
    graph: Arc<GraphCtx>,
    types: Vec<(&'a str, Arc<TypeCtx>)>,
}

impl EdgeBatch<'_> {
    fn new(graph: Arc<GraphCtx>) -> Self {
        EdgeBatch {
            graph,
            types: Vec::new(),
        }
    }
}

/// Which incident edges [`Reader::neighbors`] follows. An undirected edge
/// counts in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Edges leaving the node.
    Out,
    /// Edges entering the node.
    In,
    /// All incident edges.
    Both,
}

/// A node adjacent to another, and the edge that joins them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// The adjacent node's key.
    pub node: String,
    /// The joining edge's key.
    pub edge: String,
    /// The joining edge's type.
    pub edge_type: String,
    /// Whether the joining edge is undirected.
    pub undirected: bool,
}

const SELECT_EDGE: &str = "SELECT e.key, t.name, s.key, d.key, e.undirected, e.attributes,
            e.created_at, e.updated_at
     FROM edges e
     JOIN edge_types t ON t.id = e.edge_type_id
     JOIN nodes s ON s.id = e.source
     JOIN nodes d ON d.id = e.target";

type EdgeColumns = (String, String, String, String, bool, String, i64, i64);

fn edge_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<EdgeColumns> {
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

fn build_edge(graph: &str, raw: EdgeColumns) -> Result<Edge> {
    let (key, edge_type, source, target, undirected, attributes, created_at, updated_at) = raw;
    let attributes = parse_attributes(Item::Edge, graph, &key, &attributes)?;
    Ok(Edge {
        graph: graph.to_owned(),
        key,
        edge_type,
        source,
        target,
        undirected,
        attributes,
        created_at,
        updated_at,
    })
}

fn node_id(conn: &Connection, graph_id: i64, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM nodes WHERE graph_id = ?1 AND key = ?2")?
        .query_row(params![graph_id, key], |row| row.get(0))
        .optional()?)
}

impl Reader {
    /// The edge `key` of `graph`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    pub fn edge(&self, graph: &str, key: &str) -> Result<Option<Edge>> {
        let sql = format!("{SELECT_EDGE} WHERE e.graph_id = ?1 AND e.key = ?2");
        self.one_item(graph, key, &sql, edge_columns, |raw| build_edge(graph, raw))
    }

    /// A page of `graph`'s edges in key order; see [`ListOptions`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    pub fn edges(&self, graph: &str, options: &ListOptions) -> Result<Page<Edge>> {
        let sql = format!(
            "{SELECT_EDGE} WHERE e.graph_id = ?1 AND (?2 IS NULL OR e.key > ?2)
               AND (?3 IS NULL OR t.name = ?3)
             ORDER BY e.key LIMIT ?4"
        );
        self.page_of_items(
            graph,
            options,
            &sql,
            edge_columns,
            |raw| build_edge(graph, raw),
            |e| &e.key,
        )
    }

    /// How many edges `graph` has.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    pub fn edge_count(&self, graph: &str) -> Result<u64> {
        self.count_items(Item::Edge, graph)
    }

    /// The nodes adjacent to `key` along edges in `direction`, optionally
    /// only along edges of `edge_type`; ordered by neighbour key, then edge
    /// key. A node joined by two edges appears twice.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or the node does not exist.
    ///
    /// # Complexity
    ///
    /// Two index range scans: O(d log E) for a node of degree d.
    pub fn neighbors(
        &self,
        graph: &str,
        key: &str,
        direction: Direction,
        edge_type: Option<&str>,
    ) -> Result<Vec<Neighbor>> {
        let gid = graph_id(self.conn(), graph)?;
        let id = node_id(self.conn(), gid, key)?.ok_or_else(|| Error::NotFound {
            entity: Entity::Node {
                graph: graph.to_owned(),
                key: key.to_owned(),
            },
        })?;
        // Each arm: edges stored with the node at one end, and the condition
        // under which they count in `direction`.
        let (outgoing, incoming) = match direction {
            Direction::Out => ("1", "e.undirected = 1"),
            // A directed self-loop is stored only with the node as source.
            Direction::In => ("(e.undirected = 1 OR e.target = ?1)", "1"),
            Direction::Both => ("1", "1"),
        };
        let sql = format!(
            "SELECT n.key, e.key, t.name, e.undirected FROM edges e
               JOIN nodes n ON n.id = e.target JOIN edge_types t ON t.id = e.edge_type_id
              WHERE e.source = ?1 AND {outgoing} AND (?2 IS NULL OR t.name = ?2)
             UNION ALL
             SELECT n.key, e.key, t.name, e.undirected FROM edges e
               JOIN nodes n ON n.id = e.source JOIN edge_types t ON t.id = e.edge_type_id
              WHERE e.target = ?1 AND e.source != ?1 AND {incoming} AND (?2 IS NULL OR t.name = ?2)
             ORDER BY 1, 2"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let neighbors = stmt
            .query_map(params![id, edge_type], |row| {
                Ok(Neighbor {
                    node: row.get(0)?,
                    edge: row.get(1)?,
                    edge_type: row.get(2)?,
                    undirected: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(neighbors)
    }
}

impl WriteTxn<'_> {
    /// Adds an edge to `graph` and returns its key.
    ///
    /// Enforced, each with an error naming the graph, the edge and the
    /// reason: the edge type is one of the graph type's; both endpoints
    /// exist and are of node types the edge type allows; direction fits the
    /// graph type; no self-loop unless `allowSelfLoops`; no second edge of
    /// the same type between the same endpoints unless `multi`; in an
    /// `acyclic` graph, no edge that closes a directed cycle; attributes
    /// satisfy the edge type's schema. The rules are checked in that order;
    /// a key that is taken is detected last, by the insert itself.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist;
    /// [`Error::AlreadyExists`] if the key is taken; [`Error::Cycle`] with
    /// the cycle's keys; [`Error::SchemaViolation`]; [`Error::Invalid`] for
    /// the other rules.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// let err = store.write(|tx| {
    ///     tx.define_graph_type("dag", GraphConfig::directed().acyclic(true))?;
    ///     tx.define_node_type("dag", "task", &json!({}))?;
    ///     tx.define_edge_type("dag", "then", &json!({}), &Default::default())?;
    ///     tx.create_graph("build", "dag")?;
    ///     for key in ["a", "b", "c"] {
    ///         tx.add_node("build", key, "task", &json!({}))?;
    ///     }
    ///     tx.add_edge("build", NewEdge::new("then", "a", "b"))?;
    ///     tx.add_edge("build", NewEdge::new("then", "b", "c"))?;
    ///     tx.add_edge("build", NewEdge::new("then", "c", "a").key("back"))
    /// }).unwrap_err();
    /// assert_eq!(err.cycle().unwrap(), ["c", "a", "b", "c"]);
    /// assert_eq!(err.to_string(), r#"edge "back" in graph "build": would close the cycle "c" -> "a" -> "b" -> "c""#);
    /// // The failed write rolled the whole transaction back.
    /// assert!(store.begin_read()?.graph("build")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_edge(&mut self, graph: &str, edge: NewEdge<'_>) -> Result<String> {
        let mut batch = EdgeBatch::new(self.graph_ctx(graph)?);
        self.add_one_edge(&mut batch, graph, edge)
    }

    /// Adds many edges to `graph`, in order, and returns their keys.
    ///
    /// Each edge follows exactly the rules of [`add_edge`](WriteTxn::add_edge),
    /// checked against the graph as the edges before it in the batch left it
    /// (so a batch that closes a cycle in an `acyclic` graph is refused at
    /// the edge that closes it, naming the cycle), and produces the same
    /// change event. The graph and each edge type are resolved once per
    /// call.
    ///
    /// The first edge refused stops the batch with the error `add_edge`
    /// would return for it; the edges before it stay written in this
    /// transaction, as they would after a loop of `add_edge`. Return the
    /// error from the [`Store::write`](crate::Store::write) closure (or drop
    /// the transaction) and nothing of the batch is kept.
    ///
    /// # Errors
    ///
    /// As [`add_edge`](WriteTxn::add_edge), for the first edge refused.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, NewNode, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// let empty = json!({});
    /// let keys = store.write(|tx| {
    ///     tx.define_graph_type("dag", GraphConfig::directed().acyclic(true))?;
    ///     tx.define_node_type("dag", "task", &empty)?;
    ///     tx.define_edge_type("dag", "then", &empty, &Default::default())?;
    ///     tx.create_graph("build", "dag")?;
    ///     tx.add_nodes("build", ["a", "b", "c"].map(|k| NewNode::new("task", k, &empty)))?;
    ///     tx.add_edges("build", [NewEdge::new("then", "a", "b").key("ab"), NewEdge::new("then", "b", "c").key("bc")])
    /// })?;
    /// assert_eq!(keys, ["ab", "bc"]);
    ///
    /// let err = store.write(|tx| {
    ///     tx.add_edges("build", [NewEdge::new("then", "a", "c"), NewEdge::new("then", "c", "a").key("back")])
    /// }).unwrap_err();
    /// assert_eq!(err.cycle().unwrap(), ["c", "a", "c"]);
    /// assert_eq!(store.begin_read()?.edge_count("build")?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_edges<'a>(
        &mut self,
        graph: &str,
        edges: impl IntoIterator<Item = NewEdge<'a>>,
    ) -> Result<Vec<String>> {
        let mut batch = EdgeBatch::new(self.graph_ctx(graph)?);
        let mut keys = Vec::new();
        for edge in edges {
            keys.push(self.add_one_edge(&mut batch, graph, edge)?);
        }
        Ok(keys)
    }

    /// The rules and the insert of one edge, with what the batch resolved.
    fn add_one_edge<'a>(
        &mut self,
        batch: &mut EdgeBatch<'a>,
        graph: &str,
        edge: NewEdge<'a>,
    ) -> Result<String> {
        let ctx = batch.graph.clone();
        let key = match edge.key {
            Some(key) => key.to_owned(),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let entity = || Entity::Edge {
            graph: graph.to_owned(),
            key: key.clone(),
        };
        self.limits().check_key(entity, &key)?;
        let edge_type = self.batch_edge_type(batch, edge.edge_type, &entity)?;
        let config = ctx.graph_type.public.config;
        let graph_type = &ctx.graph_type.public.name;
        let broken = |rule| Error::rule_break(entity(), rule);

        let undirected = undirected(config, graph_type, edge.undirected).map_err(broken)?;
        let (source, target) = (
            self.endpoint(batch, &entity, &edge_type.row, EdgeEnd::Source, edge.source)?,
            self.endpoint(batch, &entity, &edge_type.row, EdgeEnd::Target, edge.target)?,
        );
        if source.id == target.id {
            refuse_self_loop(config, graph_type, edge.source, &entity)?;
        }
        let empty = Value::Object(Map::new());
        let attributes = edge.attributes.unwrap_or(&empty);
        let text = self.valid_attributes(&entity, &edge_type.compiled, attributes)?;
        if !config.multi {
            let ends = (source.id, target.id);
            if let Some(existing) = parallel_edge(self.conn(), ends, edge_type.row.id, undirected)?
            {
                return Err(broken(RuleBreak::Parallel {
                    graph_type: graph_type.clone(),
                    existing,
                    edge_type: edge.edge_type.to_owned(),
                    source: edge.source.to_owned(),
                    target: edge.target.to_owned(),
                }));
            }
        }
        let reordered = if config.acyclic && source.id != target.id {
            self.admit(source, target, edge.source, &entity)?
        } else {
            Vec::new()
        };

        let row = EdgeRow {
            graph_id: ctx.id,
            key: &key,
            edge_type_id: edge_type.row.id,
            ends: (source.id, target.id),
            undirected,
            attributes: &text,
        };
        self.insert_edge_row(&row, &entity)?;
        order::apply(self.conn(), &reordered)?;
        self.outbox
            .in_graph(EntityKind::Edge, ChangeOp::Create, graph, &key);
        Ok(key)
    }

    /// The edge type `name` of the batch's graph, resolved once per batch.
    fn batch_edge_type<'a>(
        &mut self,
        batch: &mut EdgeBatch<'a>,
        name: &'a str,
        entity: &dyn Fn() -> Entity,
    ) -> Result<Arc<TypeCtx>> {
        if let Some((_, resolved)) = batch.types.iter().find(|(known, _)| *known == name) {
            return Ok(resolved.clone());
        }
        let resolved = self.type_ctx(TypeTable::Edge, &batch.graph, name, entity)?;
        batch.types.push((name, resolved.clone()));
        Ok(resolved)
    }

    /// The order values an edge `source` → `target` of an acyclic graph
    /// moves, or the cycle it would close, named from `source_key`.
    fn admit(
        &self,
        source: Ranked,
        target: Ranked,
        source_key: &str,
        entity: &dyn Fn() -> Entity,
    ) -> Result<Vec<(i64, i64)>> {
        match order::admit(self.conn(), source, target)? {
            Admission::Fits(updates) => Ok(updates),
            Admission::ClosesCycle => {
                // Rare: name the shortest cycle.
                let path = directed_path(self.conn(), target.id, source.id)?.unwrap_or_default();
                let mut cycle = vec![source_key.to_owned()];
                for id in path {
                    cycle.push(node_key(self.conn(), id)?);
                }
                Err(Error::Cycle {
                    entity: entity(),
                    cycle,
                })
            }
        }
    }

    /// Inserts an edge's row; a taken key is [`Error::AlreadyExists`].
    fn insert_edge_row(&self, row: &EdgeRow<'_>, entity: &dyn Fn() -> Entity) -> Result<()> {
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO edges (graph_id, key, edge_type_id, source, target, undirected,
                                    attributes, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?
            .execute(params![
                row.graph_id,
                row.key,
                row.edge_type_id,
                row.ends.0,
                row.ends.1,
                row.undirected,
                row.attributes,
                now_ms()
            ]);
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists { entity: entity() }),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces edge `key`'s attributes. Endpoints and type never change;
    /// remove and re-add the edge for that.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or edge does not exist;
    /// [`Error::SchemaViolation`] or [`Error::TooLarge`] for bad attributes.
    pub fn replace_edge(&mut self, graph: &str, key: &str, attributes: &Value) -> Result<()> {
        self.replace_item(Item::Edge, graph, key, attributes)
    }

    /// Applies an RFC 7396 JSON merge patch to edge `key`'s attributes and
    /// returns the result.
    ///
    /// # Errors
    ///
    /// As [`replace_edge`](WriteTxn::replace_edge).
    pub fn patch_edge(
        &mut self,
        graph: &str,
        key: &str,
        patch: &Value,
    ) -> Result<Map<String, Value>> {
        self.patch_item(Item::Edge, graph, key, patch)
    }

    /// Removes edge `key`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or edge does not exist.
    pub fn remove_edge(&mut self, graph: &str, key: &str) -> Result<()> {
        let (id, _, _) = self.item_row(Item::Edge, graph, key)?;
        self.conn()
            .prepare_cached("DELETE FROM edges WHERE id = ?1")?
            .execute([id])?;
        self.outbox
            .in_graph(EntityKind::Edge, ChangeOp::Delete, graph, key);
        Ok(())
    }

    /// Resolves an endpoint, checking that it exists and that its node type
    /// is allowed at that end. Outside acyclic graphs (where order values
    /// move as edges go in) the batch remembers each endpoint it resolved.
    fn endpoint(
        &mut self,
        batch: &EdgeBatch<'_>,
        entity: &dyn Fn() -> Entity,
        edge_type: &TypeRow,
        end: EdgeEnd,
        key: &str,
    ) -> Result<Ranked> {
        let graph_id = batch.graph.id;
        let remember = !batch.graph.graph_type.public.config.acyclic;
        let cached = if remember {
            self.cache().end(graph_id, key)
        } else {
            None
        };
        let (ranked, node_type) = match cached {
            // The order value matters only in acyclic graphs, which do not
            // remember endpoints.
            Some((id, node_type)) => (Ranked { id, ord: id }, node_type),
            None => {
                let found: Option<(i64, i64, String)> = self
                    .conn()
                    .prepare_cached(
                        "SELECT n.id, coalesce(n.topo, n.id), t.name FROM nodes n
                           JOIN node_types t ON t.id = n.node_type_id
                          WHERE n.graph_id = ?1 AND n.key = ?2",
                    )?
                    .query_row(params![graph_id, key], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()?;
                let Some((id, ord, name)) = found else {
                    return Err(Error::rule_break(
                        entity(),
                        RuleBreak::MissingEndpoint {
                            end,
                            node: key.to_owned(),
                        },
                    ));
                };
                let cache = self.cache();
                let node_type = cache.intern(name);
                if remember {
                    cache.remember_end(graph_id, key, (id, node_type.clone()));
                }
                (Ranked { id, ord }, node_type)
            }
        };
        let allowed = match end {
            EdgeEnd::Source => edge_type.endpoints.allows_source(&node_type),
            EdgeEnd::Target => edge_type.endpoints.allows_target(&node_type),
        };
        if !allowed {
            return Err(Error::rule_break(
                entity(),
                RuleBreak::EndpointType {
                    edge_type: edge_type.name.clone(),
                    end,
                    node: key.to_owned(),
                    node_type: node_type.to_string(),
                },
            ));
        }
        Ok(ranked)
    }
}

/// The columns of a new edge's row.
struct EdgeRow<'r> {
    graph_id: i64,
    key: &'r str,
    edge_type_id: i64,
    ends: (i64, i64),
    undirected: bool,
    attributes: &'r str,
}

/// Whether an edge is undirected, as its graph type's kind and the
/// edge's own `requested` flag decide, or the direction rule it breaks.
fn undirected(
    config: GraphConfig,
    graph_type: &str,
    requested: Option<bool>,
) -> std::result::Result<bool, RuleBreak> {
    let broken = |directed| RuleBreak::Direction {
        graph_type: graph_type.to_owned(),
        directed,
    };
    match (config.kind, requested) {
        (GraphKind::Directed, Some(true)) => Err(broken(true)),
        (GraphKind::Undirected, Some(false)) => Err(broken(false)),
        (GraphKind::Undirected, _) => Ok(true),
        (_, flag) => Ok(flag.unwrap_or(false)),
    }
}

/// Refuses a self-loop on `node`: a cycle in an acyclic graph, a broken
/// rule where self-loops are not allowed.
fn refuse_self_loop(
    config: GraphConfig,
    graph_type: &str,
    node: &str,
    entity: &dyn Fn() -> Entity,
) -> Result<()> {
    if config.acyclic {
        return Err(Error::Cycle {
            entity: entity(),
            cycle: vec![node.to_owned(), node.to_owned()],
        });
    }
    if !config.allow_self_loops {
        let rule = RuleBreak::SelfLoop {
            graph_type: graph_type.to_owned(),
            node: node.to_owned(),
        };
        return Err(Error::rule_break(entity(), rule));
    }
    Ok(())
}

fn node_key(conn: &Connection, id: i64) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT key FROM nodes WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?)
}

/// An existing edge of the same type joining the same endpoints (either
/// orientation, for undirected edges).
fn parallel_edge(
    conn: &Connection,
    (source, target): (i64, i64),
    edge_type: i64,
    undirected: bool,
) -> Result<Option<String>> {
    let sql = if undirected {
        "SELECT key FROM edges WHERE source = ?1 AND target = ?2 AND edge_type_id = ?3 AND undirected = 1
         UNION ALL
         SELECT key FROM edges WHERE source = ?2 AND target = ?1 AND edge_type_id = ?3 AND undirected = 1
         LIMIT 1"
    } else {
        "SELECT key FROM edges WHERE source = ?1 AND target = ?2 AND edge_type_id = ?3 AND undirected = 0
         LIMIT 1"
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params![source, target, edge_type], |row| row.get(0))
        .optional()?)
}

/// The shortest directed path `from` → … → `to` (both included), by
/// breadth-first search over the out-edge index (acyclic graphs are
/// directed, so every edge counts).
///
/// # Complexity
///
/// O(V' + E') index lookups over the part of the graph reachable from `from`.
fn directed_path(conn: &Connection, from: i64, to: i64) -> Result<Option<Vec<i64>>> {
    let mut stmt = conn.prepare_cached("SELECT target FROM edges WHERE source = ?1")?;
    let mut parent: HashMap<i64, i64> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    parent.insert(from, from);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![to];
            let mut at = to;
            while at != from {
                at = parent[&at];
                path.push(at);
            }
            path.reverse();
            return Ok(Some(path));
        }
        let next = stmt
            .query_map([node], |row| row.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for n in next {
            if let std::collections::hash_map::Entry::Vacant(slot) = parent.entry(n) {
                slot.insert(node);
                queue.push_back(n);
            }
        }
    }
    Ok(None)
}
