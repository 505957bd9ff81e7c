//! The metagraph: graph, node and edge types ([`catalog`], `types`), and
//! graphs, nodes and edges with the rules every write of them follows.
//!
//! Inside, dependencies point one way: the catalog (types as values and
//! rows, and the write transaction's cache, below the store) → the writes
//! of types, graphs, nodes and edges → the rules, the kept order and the
//! algorithms. This module owns the `graph_types`, `node_types`,
//! `edge_types`, `graphs`, `nodes` and `edges` tables.

mod algo;
pub(crate) mod catalog;
mod edge;
mod guard;
mod item;
mod node;
mod order;
mod rulebreak;
mod rules;
pub(crate) mod scan;
mod types;
pub(crate) mod verify;

use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use self::catalog::{GraphCtx, GraphTypeRow, TypeCtx, TypeTable};
use crate::error::{Entity, Error, Result};
use crate::outbox::{ChangeOp, EntityKind};
use crate::schema::CompiledSchema;
use crate::store::{Reader, WriteTxn};
use crate::time::now_ms;

pub(crate) use algo::{generations, longest_path, topological_order, IdIndex};
pub use algo::{HeaviestPath, ShortestPath};
pub use edge::{Direction, Edge, Neighbor, NewEdge};
pub use node::{NewNode, Node};
pub(crate) use order::{establish_orders, kept_order};
pub use rulebreak::{EdgeEnd, RuleBreak};
pub(crate) use rules::{check_graphs_against, find_cycle, instances_of, revalidate};

/// A graph: a named instance of a graph type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// Public id (UUIDv7), never reused.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The graph type whose rules it follows.
    pub graph_type: String,
    /// The graph's own attributes (graphology's graph-level `attributes`):
    /// a JSON object, `{}` unless set, valid against the graph type's
    /// [`graph_schema`](crate::GraphType::graph_schema) when it has one.
    pub attributes: Map<String, Value>,
    /// The graphology `options` (`type`, `multi`, `allowSelfLoops`) the
    /// document it was imported from declared, exactly as declared; `None`
    /// when it was not imported or its document declared none. A graphology
    /// export reproduces them.
    pub graphology_options: Option<Map<String, Value>>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// Which page of a listing to read: up to `limit` items whose keys sort
/// after `after`, optionally of one type.
///
/// Listings are in key order (bytewise, which for UTF-8 is code-point
/// order) and use the key index directly, so reading page 10,000 costs the
/// same as reading page 1.
///
/// # Example
///
/// ```
/// use alknet_graphs::ListOptions;
/// let first = ListOptions::new().limit(50).of_type("task");
/// let next = first.clone().after("task-0049");
/// assert_eq!(next.limit, 50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Start after this key (the previous page's `next`); `None` starts at the beginning.
    pub after: Option<String>,
    /// At most this many items (default 100, capped at 10,000).
    pub limit: usize,
    /// Only items of this node or edge type.
    pub of_type: Option<String>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            after: None,
            limit: 100,
            of_type: None,
        }
    }
}

impl ListOptions {
    /// The first page, 100 items.
    pub fn new() -> Self {
        ListOptions::default()
    }

    /// Continue after `key`.
    pub fn after(mut self, key: impl Into<String>) -> Self {
        self.after = Some(key.into());
        self
    }

    /// At most `limit` items (capped at 10,000).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Only items of this type.
    pub fn of_type(mut self, type_name: impl Into<String>) -> Self {
        self.of_type = Some(type_name.into());
        self
    }

    pub(crate) fn sql_limit(&self) -> i64 {
        self.limit.min(MAX_PAGE) as i64
    }
}

const MAX_PAGE: usize = 10_000;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// The key to pass as [`ListOptions::after`] for the next page; `None`
    /// when this page is the last.
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub(crate) fn new(items: Vec<T>, limit: i64, key: impl Fn(&T) -> &str) -> Self {
        let next = if items.len() as i64 >= limit && limit > 0 {
            items.last().map(|item| key(item).to_owned())
        } else {
            None
        };
        Page { items, next }
    }
}

const SELECT_GRAPH: &str = "SELECT g.uid, g.name, t.name, g.created_at, g.updated_at,
            g.attributes, g.graphology_options
     FROM graphs g JOIN graph_types t ON t.id = g.graph_type_id";

type GraphColumns = (Graph, String, Option<String>);

fn graph_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GraphColumns> {
    Ok((
        Graph {
            id: row.get(0)?,
            name: row.get(1)?,
            graph_type: row.get(2)?,
            attributes: Map::new(),
            graphology_options: None,
            created_at: row.get(3)?,
            updated_at: row.get(4)?,
        },
        row.get(5)?,
        row.get(6)?,
    ))
}

fn build_graph((mut graph, attributes, options): GraphColumns) -> Result<Graph> {
    let object = |what: &str, text: &str| -> Result<Map<String, Value>> {
        let what = format!("{what} of graph {:?}", graph.name);
        serde_json::from_str(text).map_err(|e| Error::corrupt(what, e))
    };
    graph.attributes = object("attributes", &attributes)?;
    graph.graphology_options = options
        .map(|text| object("graphology options", &text))
        .transpose()?;
    Ok(graph)
}

/// How many graphs of the graph type `graph_type_id` have attributes that
/// `compiled` rejects, and the names of the first 20 of them.
pub(crate) fn graphs_failing(
    conn: &Connection,
    graph_type_id: i64,
    compiled: &CompiledSchema,
) -> Result<(Vec<String>, u64)> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, attributes FROM graphs WHERE graph_type_id = ?1 ORDER BY name",
    )?;
    let mut rows = stmt.query([graph_type_id])?;
    let (mut failing, mut count) = (Vec::new(), 0u64);
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        let text: String = row.get(1)?;
        let attributes: Value = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt(format!("attributes of graph {name:?}"), e))?;
        if !compiled.violations(&attributes).is_empty() {
            count += 1;
            if failing.len() < 20 {
                failing.push(name);
            }
        }
    }
    Ok((failing, count))
}

/// The row id of graph `name`, or `NotFound`.
pub(crate) fn graph_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM graphs WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound {
            entity: Entity::Graph(name.to_owned()),
        })
}

impl Reader {
    /// The graph called `name`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn graph(&self, name: &str) -> Result<Option<Graph>> {
        let sql = format!("{SELECT_GRAPH} WHERE g.name = ?1");
        self.conn()
            .prepare_cached(&sql)?
            .query_row([name], graph_from_row)
            .optional()?
            .map(build_graph)
            .transpose()
    }

    /// Every graph, by name.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn graphs(&self) -> Result<Vec<Graph>> {
        let sql = format!("{SELECT_GRAPH} ORDER BY g.name");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let graphs = stmt
            .query_map([], graph_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        graphs.into_iter().map(build_graph).collect()
    }
}

impl WriteTxn<'_> {
    /// Creates an empty graph of `graph_type` with no attributes of its own
    /// (`{}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph type does not exist;
    /// [`Error::AlreadyExists`] if a graph of that name exists;
    /// [`Error::Invalid`] for a bad name; [`Error::SchemaViolation`] if the
    /// graph type's graph schema rejects `{}`.
    pub fn create_graph(&mut self, name: &str, graph_type: &str) -> Result<Graph> {
        self.create_graph_with_attributes(name, graph_type, &Value::Object(Map::new()))
    }

    /// Creates an empty graph of `graph_type` whose own attributes are
    /// `attributes` (a JSON object, checked against the graph type's
    /// [`graph_schema`](crate::GraphType::graph_schema)).
    ///
    /// # Errors
    ///
    /// As [`create_graph`](WriteTxn::create_graph); [`Error::Invalid`] if
    /// `attributes` is not an object; [`Error::SchemaViolation`] listing
    /// every violation; [`Error::TooLarge`] past the store's limits.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{GraphConfig, Store};
    /// use serde_json::json;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("maps", GraphConfig::undirected())?;
    ///     tx.set_graph_schema("maps", Some(&json!({"required": ["scale"]})))?;
    ///     tx.create_graph_with_attributes("europe", "maps", &json!({"scale": 1000}))?;
    ///     Ok(())
    /// })?;
    /// let graph = store.begin_read()?.graph("europe")?.expect("created");
    /// assert_eq!(graph.attributes["scale"], 1000);
    ///
    /// let err = store.write(|tx| tx.create_graph("asia", "maps")).unwrap_err();
    /// assert_eq!(err.to_string(), r#"graph "asia": attributes: "scale" is a required property"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_graph_with_attributes(
        &mut self,
        name: &str,
        graph_type: &str,
        attributes: &Value,
    ) -> Result<Graph> {
        let entity = || Entity::Graph(name.to_owned());
        self.limits().check_name(entity, name)?;
        let gt = catalog::require_graph_type(self.conn(), graph_type)?;
        self.guard(graph_type, entity)?;
        let text = self.valid_graph_attributes(name, &gt, attributes)?;
        let now = now_ms();
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO graphs (uid, graph_type_id, name, attributes, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![
                uuid::Uuid::now_v7().to_string(),
                gt.id,
                name,
                text,
                now
            ])?;
        if inserted == 0 {
            return Err(Error::AlreadyExists { entity: entity() });
        }
        self.outbox
            .in_graph_type(EntityKind::Graph, ChangeOp::Create, Some(graph_type), name);
        self.graph(name)?
            .ok_or_else(|| Error::NotFound { entity: entity() })
    }

    /// Replaces graph `name`'s own attributes with `attributes`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist;
    /// [`Error::Protected`] for a graph of a built-in graph type; the
    /// validation errors of
    /// [`create_graph_with_attributes`](WriteTxn::create_graph_with_attributes).
    pub fn replace_graph_attributes(&mut self, name: &str, attributes: &Value) -> Result<()> {
        let ctx = self.graph_ctx(name)?;
        let text = self.valid_graph_attributes(name, &ctx.graph_type, attributes)?;
        self.conn()
            .prepare_cached("UPDATE graphs SET attributes = ?1, updated_at = ?2 WHERE id = ?3")?
            .execute(params![text, now_ms(), ctx.id])?;
        self.outbox.in_graph_type(
            EntityKind::Graph,
            ChangeOp::Update,
            Some(&ctx.graph_type.public.name),
            name,
        );
        Ok(())
    }

    /// Applies an RFC 7396 JSON merge patch to graph `name`'s own
    /// attributes (`null` removes a member) and returns the result.
    ///
    /// # Errors
    ///
    /// As [`replace_graph_attributes`](WriteTxn::replace_graph_attributes);
    /// the patched document must satisfy the graph schema.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{GraphConfig, Store};
    /// use serde_json::json;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("g.db"))?;
    /// let patched = store.write(|tx| {
    ///     tx.define_graph_type("maps", GraphConfig::undirected())?;
    ///     tx.create_graph_with_attributes("europe", "maps", &json!({"scale": 1000, "draft": true}))?;
    ///     tx.patch_graph_attributes("europe", &json!({"draft": null, "title": "Europe"}))
    /// })?;
    /// assert_eq!(serde_json::Value::Object(patched), json!({"scale": 1000, "title": "Europe"}));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn patch_graph_attributes(
        &mut self,
        name: &str,
        patch: &Value,
    ) -> Result<Map<String, Value>> {
        let entity = || Entity::Graph(name.to_owned());
        if !patch.is_object() {
            return Err(Error::invalid(
                entity(),
                format!(
                    "a merge patch of graph attributes must be a JSON object, not {}",
                    crate::limits::kind_of(patch)
                ),
            ));
        }
        self.graph_ctx(name)?;
        let current = self
            .graph(name)?
            .ok_or_else(|| Error::NotFound { entity: entity() })?;
        let mut document = Value::Object(current.attributes);
        merge_patch(&mut document, patch);
        self.replace_graph_attributes(name, &document)?;
        match document {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        }
    }

    /// Records the graphology options a document declared for graph `name`
    /// (see [`Graph::graphology_options`]).
    pub(crate) fn set_graphology_options(
        &mut self,
        name: &str,
        options: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let ctx = self.graph_ctx(name)?;
        let text = options.map(|o| Value::Object(o.clone()).to_string());
        self.conn()
            .prepare_cached("UPDATE graphs SET graphology_options = ?1 WHERE id = ?2")?
            .execute(params![text, ctx.id])?;
        Ok(())
    }

    /// `attributes` as stored for graph `name` of `graph_type`: an object
    /// within the limits, valid against the graph schema.
    fn valid_graph_attributes(
        &self,
        name: &str,
        graph_type: &GraphTypeRow,
        attributes: &Value,
    ) -> Result<String> {
        let entity = || Entity::Graph(name.to_owned());
        let text = self.limits().check_attributes(entity, attributes)?;
        if let Some(schema) = &graph_type.public.graph_schema {
            let compiled =
                crate::schema::compile(schema, graph_type.public.version).map_err(|reason| {
                    Error::InvalidSchema {
                        entity: Entity::GraphType(graph_type.public.name.clone()),
                        reason,
                    }
                })?;
            let violations = compiled.violations(attributes);
            if !violations.is_empty() {
                return Err(Error::SchemaViolation {
                    entity: entity(),
                    violations,
                });
            }
        }
        Ok(text)
    }

    /// Drops a graph with all its nodes and edges. Subscribers see one graph
    /// delete event; the removal of its nodes and edges is implied.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    pub fn drop_graph(&mut self, name: &str) -> Result<()> {
        let graph = self.graph_ctx(name)?;
        for sql in [
            "DELETE FROM edges WHERE graph_id = ?1",
            "DELETE FROM nodes WHERE graph_id = ?1",
            "DELETE FROM graphs WHERE id = ?1",
        ] {
            self.conn().prepare_cached(sql)?.execute([graph.id])?;
        }
        self.cache().clear();
        self.outbox.in_graph_type(
            EntityKind::Graph,
            ChangeOp::Delete,
            Some(&graph.graph_type.public.name),
            name,
        );
        Ok(())
    }

    /// The graph `name`, resolved once per transaction, for a write:
    /// refused with [`Error::Protected`] when it is of a built-in graph
    /// type and no domain handle is writing.
    pub(crate) fn graph_ctx(&mut self, name: &str) -> Result<Arc<GraphCtx>> {
        let ctx = self.resolve_graph(name)?;
        self.guard(&ctx.graph_type.public.name, || {
            Entity::Graph(name.to_owned())
        })?;
        Ok(ctx)
    }

    fn resolve_graph(&mut self, name: &str) -> Result<Arc<GraphCtx>> {
        if let Some(ctx) = self.cache().graphs.get(name) {
            return Ok(ctx.clone());
        }
        let (id, graph_type) =
            catalog::graph_and_type(self.conn(), name)?.ok_or_else(|| Error::NotFound {
                entity: Entity::Graph(name.to_owned()),
            })?;
        let ctx = Arc::new(GraphCtx { id, graph_type });
        self.cache().graphs.insert(name.to_owned(), ctx.clone());
        Ok(ctx)
    }

    /// The node or edge type `name` of the graph's type with its compiled
    /// schema, or an error naming `entity` (the node or edge being written).
    pub(crate) fn type_ctx(
        &mut self,
        table: TypeTable,
        graph: &GraphCtx,
        name: &str,
        entity: &dyn Fn() -> Entity,
    ) -> Result<Arc<TypeCtx>> {
        let cache_key = (table, graph.graph_type.id);
        if let Some(ctx) = self.cache().types.get(&cache_key).and_then(|t| t.get(name)) {
            return Ok(ctx.clone());
        }
        let graph_type = &graph.graph_type.public.name;
        let row =
            catalog::type_row(self.conn(), table, graph.graph_type.id, name)?.ok_or_else(|| {
                let what = match table {
                    TypeTable::Node => "node type",
                    TypeTable::Edge => "edge type",
                };
                Error::invalid(
                    entity(),
                    format!("{what} {name:?} is not defined in graph type {graph_type:?}"),
                )
            })?;
        let compiled = self.compiled(table, graph_type, &row)?;
        let ctx = Arc::new(TypeCtx { row, compiled });
        self.cache()
            .types
            .entry(cache_key)
            .or_default()
            .insert(name.to_owned(), ctx.clone());
        Ok(ctx)
    }
}

/// Applies an RFC 7396 JSON merge patch to `target`.
pub(crate) fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The first self-loop of graph `graph` in row order: its row id, key and
/// node.
pub(crate) fn first_self_loop(
    conn: &Connection,
    graph: &str,
) -> Result<Option<(i64, String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT e.id, e.key, n.key FROM edges e JOIN nodes n ON n.id = e.source
              WHERE e.graph_id = (SELECT id FROM graphs WHERE name = ?1)
                AND e.source = e.target
              ORDER BY e.id LIMIT 1",
        )?
        .query_row([graph], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// The first edge of graph `graph` (in row order) parallel to an earlier
/// one as graphology counts them, whatever their edge types: the same
/// endpoints in the same direction, or both undirected in either order.
/// Its row id, key, and the earlier edge's key.
pub(crate) fn first_parallel(
    conn: &Connection,
    graph: &str,
) -> Result<Option<(i64, String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT b.id, b.key, a.key FROM edges a JOIN edges b
                 ON b.source = a.source AND b.target = a.target
                AND b.undirected = a.undirected AND b.id > a.id
              WHERE a.graph_id = (SELECT id FROM graphs WHERE name = ?1)
             UNION ALL
             SELECT b.id, b.key, a.key FROM edges a JOIN edges b
                 ON b.source = a.target AND b.target = a.source
                AND a.undirected = 1 AND b.undirected = 1 AND b.id > a.id
              WHERE a.graph_id = (SELECT id FROM graphs WHERE name = ?1)
             ORDER BY 1 LIMIT 1",
        )?
        .query_row([graph], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// How many edges of graph `graph` come before the edge with row id `id`
/// in row order.
pub(crate) fn edge_position(conn: &Connection, graph: &str, id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM edges
              WHERE graph_id = (SELECT id FROM graphs WHERE name = ?1) AND id < ?2",
        )?
        .query_row(params![graph, id], |r| r.get(0))?)
}

/// Whether graph `graph` has two edges of different edge types joining the
/// same endpoints (in the same direction, or both undirected in either
/// order): a multigraph to graphology, which counts parallel edges per
/// graph, not per edge type.
pub(crate) fn has_parallel_types(conn: &Connection, graph: &str) -> Result<bool> {
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM edges a JOIN edges b
                 ON b.source = a.source AND b.target = a.target
                AND b.undirected = a.undirected AND b.edge_type_id <> a.edge_type_id
              WHERE a.graph_id = (SELECT id FROM graphs WHERE name = ?1)
             UNION ALL
             SELECT 1 FROM edges a JOIN edges b
                 ON b.source = a.target AND b.target = a.source
                AND b.undirected = 1 AND a.undirected = 1 AND b.edge_type_id <> a.edge_type_id
              WHERE a.graph_id = (SELECT id FROM graphs WHERE name = ?1)
             LIMIT 1",
        )?
        .query_row([graph], |row| row.get(0))
        .optional()?;
    Ok(found.is_some())
}

/// The connection's page cache setting (`PRAGMA cache_size`: pages, or
/// KiB when negative).
pub(crate) fn page_cache(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA cache_size", [], |row| row.get(0))?)
}

/// Sets the connection's page cache (see [`page_cache`]).
pub(crate) fn set_page_cache(conn: &Connection, size: i64) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA cache_size = {size}"))?;
    Ok(())
}

/// True when `err` is SQLite refusing a UNIQUE constraint.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// `graph` exists and is of graph type `graph_type`: what a domain handle
/// checks before it reads or writes one of its own graphs.
pub(crate) fn require_graph_of_type(reader: &Reader, graph: &str, graph_type: &str) -> Result<()> {
    match reader.graph(graph)? {
        None => Err(Error::NotFound {
            entity: Entity::Graph(graph.to_owned()),
        }),
        Some(found) if found.graph_type != graph_type => {
            Err(wrong_graph_type(graph, &found.graph_type, graph_type))
        }
        Some(_) => Ok(()),
    }
}

/// The refusal of graph `graph`, of type `found`, where a graph of type
/// `expected` is needed.
pub(crate) fn wrong_graph_type(graph: &str, found: &str, expected: &str) -> Error {
    Error::invalid(
        Entity::Graph(graph.to_owned()),
        format!("is of graph type {found:?}, not {expected:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "n": [1]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "n": [1]}));
        let mut doc = json!({"a": [1]});
        merge_patch(&mut doc, &json!({"a": {"b": 1}}));
        assert_eq!(doc, json!({"a": {"b": 1}}));
    }
}
