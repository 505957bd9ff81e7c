//! Nodes: add, read, replace, merge-patch, remove, list.

use std::sync::{Arc, LazyLock};

use rusqlite::{params, CachedStatement, Connection};
use serde_json::{Map, Value};

use super::item::{parse_attributes, Item};
use super::{is_unique_violation, ListOptions, Page};
use crate::error::{Entity, Error, Result};
use crate::metagraph::catalog::TypeTable;
use crate::metagraph::catalog::{GraphCtx, TypeCtx};
use crate::outbox::{ChangeOp, EntityKind};
use crate::store::{Reader, WriteTxn};
use crate::time::now_ms;

/// A node: a key unique in its graph, a node type, and attributes valid
/// against that type's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The graph holding it.
    pub graph: String,
    /// Its key, unique in the graph.
    pub key: String,
    /// Its node type.
    pub node_type: String,
    /// Its attribute document.
    pub attributes: Map<String, Value>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

const SELECT_NODE: &str = "SELECT n.key, t.name, n.attributes, n.created_at, n.updated_at
     FROM nodes n JOIN node_types t ON t.id = n.node_type_id";

impl Reader {
    /// The node `key` of `graph`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    pub fn node(&self, graph: &str, key: &str) -> Result<Option<Node>> {
        let sql = format!("{SELECT_NODE} WHERE n.graph_id = ?1 AND n.key = ?2");
        self.one_item(graph, key, &sql, node_columns, |raw| build_node(graph, raw))
    }

    /// A page of `graph`'s nodes in key order; see [`ListOptions`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, ListOptions, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("plain", GraphConfig::default())?;
    ///     tx.define_node_type("plain", "n", &json!({}))?;
    ///     tx.create_graph("g", "plain")?;
    ///     for key in ["c", "a", "b"] {
    ///         tx.add_node("g", key, "n", &json!({}))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// let read = store.begin_read()?;
    /// let page = read.nodes("g", &ListOptions::new().limit(2))?;
    /// let keys: Vec<_> = page.items.iter().map(|n| n.key.as_str()).collect();
    /// assert_eq!(keys, ["a", "b"]);
    /// let rest = read.nodes("g", &ListOptions::new().limit(2).after(page.next.unwrap()))?;
    /// assert_eq!(rest.items[0].key, "c");
    /// assert_eq!(rest.next, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn nodes(&self, graph: &str, options: &ListOptions) -> Result<Page<Node>> {
        let sql = format!(
            "{SELECT_NODE} WHERE n.graph_id = ?1 AND (?2 IS NULL OR n.key > ?2)
               AND (?3 IS NULL OR t.name = ?3)
             ORDER BY n.key LIMIT ?4"
        );
        self.page_of_items(
            graph,
            options,
            &sql,
            node_columns,
            |raw| build_node(graph, raw),
            |n| &n.key,
        )
    }

    /// How many nodes `graph` has.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    pub fn node_count(&self, graph: &str) -> Result<u64> {
        self.count_items(Item::Node, graph)
    }
}

type NodeColumns = (String, String, String, i64, i64);

fn node_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<NodeColumns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn build_node(
    graph: &str,
    (key, node_type, attributes, created_at, updated_at): NodeColumns,
) -> Result<Node> {
    let attributes = parse_attributes(Item::Node, graph, &key, &attributes)?;
    Ok(Node {
        graph: graph.to_owned(),
        key,
        node_type,
        attributes,
        created_at,
        updated_at,
    })
}

/// A node to add in bulk with [`WriteTxn::add_nodes`]: its node type, its
/// key and its attribute document.
///
/// # Example
///
/// ```
/// use alknet_graphs::NewNode;
/// use serde_json::json;
/// let attributes = json!({"status": "pending"});
/// let node = NewNode::new("task", "build", &attributes);
/// assert_eq!((node.node_type, node.key), ("task", "build"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NewNode<'a> {
    /// Its node type.
    pub node_type: &'a str,
    /// Its key, unique in the graph.
    pub key: &'a str,
    /// Its attribute document (an object).
    pub attributes: &'a Value,
}

impl<'a> NewNode<'a> {
    /// A node `key` of `node_type` with `attributes`.
    pub fn new(node_type: &'a str, key: &'a str, attributes: &'a Value) -> Self {
        NewNode {
            node_type,
            key,
            attributes,
        }
    }
}

const INSERT_NODE: &str =
    "INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

fn node_entity(graph: &str, key: &str) -> Entity {
    Entity::Node {
        graph: graph.to_owned(),
        key: key.to_owned(),
    }
}

/// Rows per multi-row insert of [`WriteTxn::add_nodes`].
const CHUNK: usize = 32;

/// The insert of [`CHUNK`] rows: the graph id and the timestamp are shared
/// (`?1`, `?2`); each row binds its key, node type id and attributes.
static INSERT_NODES: LazyLock<String> = LazyLock::new(|| {
    let rows: Vec<String> = (0..CHUNK)
        .map(|i| {
            let p = 3 + 3 * i;
            format!("(?1, ?{}, ?{}, ?{}, ?2, ?2)", p, p + 1, p + 2)
        })
        .collect();
    format!(
        "INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at) VALUES {}",
        rows.join(", ")
    )
});

/// A checked row waiting for its insert.
struct Ready<'a> {
    key: &'a str,
    type_id: i64,
    text: String,
}

/// The node inserts of one batch.
struct NodeInserts<'c, 'g> {
    one: CachedStatement<'c>,
    /// Prepared when the first chunk fills, so a single-row call never
    /// prepares it.
    many: Option<CachedStatement<'c>>,
    graph: &'g str,
    graph_id: i64,
    now: i64,
}

impl<'c> NodeInserts<'c, '_> {
    /// Inserts the rows of `ready` one by one, stopping at a taken key.
    fn each(&mut self, ready: &mut Vec<Ready<'_>>, added: &mut Vec<String>) -> Result<()> {
        for row in ready.drain(..) {
            match self.one.execute(params![
                self.graph_id,
                row.key,
                row.type_id,
                row.text,
                self.now
            ]) {
                Ok(_) => added.push(row.key.to_owned()),
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::AlreadyExists {
                        entity: node_entity(self.graph, row.key),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Inserts a full chunk with one statement; if a key is taken, SQLite
    /// undoes the statement and the rows go in one by one.
    fn chunk(
        &mut self,
        conn: &'c Connection,
        ready: &mut Vec<Ready<'_>>,
        added: &mut Vec<String>,
    ) -> Result<()> {
        let many = match &mut self.many {
            Some(many) => many,
            None => self.many.insert(conn.prepare_cached(&INSERT_NODES)?),
        };
        many.raw_bind_parameter(1, self.graph_id)?;
        many.raw_bind_parameter(2, self.now)?;
        for (i, row) in ready.iter().enumerate() {
            let p = 3 + 3 * i;
            many.raw_bind_parameter(p, row.key)?;
            many.raw_bind_parameter(p + 1, row.type_id)?;
            many.raw_bind_parameter(p + 2, &row.text)?;
        }
        match many.raw_execute() {
            Ok(_) => {
                added.extend(ready.drain(..).map(|row| row.key.to_owned()));
                Ok(())
            }
            Err(e) if is_unique_violation(&e) => self.each(ready, added),
            Err(e) => Err(e.into()),
        }
    }
}

impl WriteTxn<'_> {
    /// Adds node `key` of `node_type` to `graph`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist;
    /// [`Error::AlreadyExists`] if the key is taken; [`Error::Invalid`] if the
    /// node type is not one of the graph type's; [`Error::SchemaViolation`]
    /// listing every violation; [`Error::TooLarge`] past the store's limits.
    pub fn add_node(
        &mut self,
        graph: &str,
        key: &str,
        node_type: &str,
        attributes: &Value,
    ) -> Result<()> {
        self.add_nodes(graph, [NewNode::new(node_type, key, attributes)])
            .map(drop)
    }

    /// Adds many nodes to `graph`, in order, and returns how many it added.
    ///
    /// Each node follows exactly the rules of [`add_node`](WriteTxn::add_node)
    /// and produces the same change event; the graph and each node type are
    /// resolved once per call and the insert statement is prepared once, so
    /// a large batch costs little more than its rows.
    ///
    /// The first node refused stops the batch with the error `add_node`
    /// would return for it; the nodes before it stay written in this
    /// transaction, as they would after a loop of `add_node`. Return the
    /// error from the [`Store::write`](crate::Store::write) closure (or drop
    /// the transaction) and nothing of the batch is kept.
    ///
    /// # Errors
    ///
    /// As [`add_node`](WriteTxn::add_node), for the first node refused; a
    /// key that appears twice is [`Error::AlreadyExists`] at its second
    /// occurrence.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewNode, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// let documents: Vec<_> = (0..3).map(|i| json!({"n": i})).collect();
    /// let keys = ["a", "b", "c"];
    /// let added = store.write(|tx| {
    ///     tx.define_graph_type("plain", GraphConfig::default())?;
    ///     tx.define_node_type("plain", "n", &json!({"required": ["n"]}))?;
    ///     tx.create_graph("g", "plain")?;
    ///     tx.add_nodes("g", keys.iter().zip(&documents).map(|(k, d)| NewNode::new("n", k, d)))
    /// })?;
    /// assert_eq!(added, 3);
    /// assert_eq!(store.begin_read()?.node_count("g")?, 3);
    ///
    /// // One bad row refuses the batch, and the failed write keeps none of it.
    /// let empty = json!({});
    /// let err = store.write(|tx| {
    ///     tx.add_nodes("g", [NewNode::new("n", "d", &documents[0]), NewNode::new("n", "e", &empty)])
    /// }).unwrap_err();
    /// assert!(err.to_string().starts_with(r#"node "e" in graph "g""#), "{err}");
    /// assert_eq!(store.begin_read()?.node_count("g")?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_nodes<'a>(
        &mut self,
        graph: &str,
        nodes: impl IntoIterator<Item = NewNode<'a>>,
    ) -> Result<u64> {
        let ctx = self.graph_ctx(graph)?;
        let mut added = Vec::new();
        let outcome = self.insert_nodes(&ctx, graph, nodes.into_iter(), &mut added);
        let count = added.len() as u64;
        self.outbox
            .in_graph_all(EntityKind::Node, ChangeOp::Create, graph, added);
        outcome.map(|()| count)
    }

    /// Inserts `nodes` until one is refused, pushing each added key onto
    /// `added`.
    ///
    /// Rows are checked one by one and inserted [`CHUNK`] at a time by one
    /// multi-row statement, which costs SQLite far less per row than a
    /// statement per row. A chunk the store refuses (a key taken) is
    /// undone by SQLite as a whole and inserted again row by row, so the
    /// rows before the taken key stay and the error names it; a row that
    /// fails its own checks first inserts the rows before it the same way.
    /// Either way the outcome is the one a loop of single-row inserts has.
    ///
    /// The statements are held across rows; a row of a node type not yet
    /// resolved releases them (resolving a type needs the transaction) and
    /// takes them again.
    fn insert_nodes<'a>(
        &mut self,
        ctx: &GraphCtx,
        graph: &str,
        mut nodes: impl Iterator<Item = NewNode<'a>>,
        added: &mut Vec<String>,
    ) -> Result<()> {
        let now = now_ms();
        let mut types: Vec<(&'a str, Arc<TypeCtx>)> = Vec::new();
        let mut ready: Vec<Ready<'a>> = Vec::with_capacity(CHUNK);
        let mut pending: Option<NewNode<'a>> = None;
        loop {
            if let Some(node) = pending {
                let entity = || node_entity(graph, node.key);
                let resolved = self.type_ctx(TypeTable::Node, ctx, node.node_type, &entity)?;
                types.push((node.node_type, resolved));
            }
            let mut inserts = NodeInserts {
                one: self.conn().prepare_cached(INSERT_NODE)?,
                many: None,
                graph,
                graph_id: ctx.id,
                now,
            };
            let mut unresolved = None;
            for node in pending.take().into_iter().chain(nodes.by_ref()) {
                let checked = (|| {
                    let entity = || node_entity(graph, node.key);
                    self.limits().check_key(entity, node.key)?;
                    let Some((_, node_type)) =
                        types.iter().find(|(name, _)| *name == node.node_type)
                    else {
                        return Ok(None);
                    };
                    let text =
                        self.valid_attributes(&entity, &node_type.compiled, node.attributes)?;
                    Ok(Some(Ready {
                        key: node.key,
                        type_id: node_type.row.id,
                        text,
                    }))
                })();
                match checked {
                    Ok(Some(row)) => {
                        ready.push(row);
                        if ready.len() == CHUNK {
                            inserts.chunk(self.conn(), &mut ready, added)?;
                        }
                    }
                    Ok(None) => {
                        unresolved = Some(node);
                        break;
                    }
                    Err(e) => {
                        inserts.each(&mut ready, added)?;
                        return Err(e);
                    }
                }
            }
            inserts.each(&mut ready, added)?;
            match unresolved {
                Some(node) => pending = Some(node),
                None => return Ok(()),
            }
        }
    }

    /// Replaces node `key`'s attributes with `attributes`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or node does not exist, and the
    /// validation errors of [`add_node`](WriteTxn::add_node).
    pub fn replace_node(&mut self, graph: &str, key: &str, attributes: &Value) -> Result<()> {
        self.replace_item(Item::Node, graph, key, attributes)
    }

    /// Applies an RFC 7396 JSON merge patch to node `key`'s attributes
    /// (`null` removes a member) and returns the result.
    ///
    /// # Errors
    ///
    /// As [`replace_node`](WriteTxn::replace_node); the patched document must
    /// satisfy the node type's schema.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// let patched = store.write(|tx| {
    ///     tx.define_graph_type("plain", GraphConfig::default())?;
    ///     tx.define_node_type("plain", "n", &json!({}))?;
    ///     tx.create_graph("g", "plain")?;
    ///     tx.add_node("g", "a", "n", &json!({"x": 1, "y": 2}))?;
    ///     tx.patch_node("g", "a", &json!({"x": null, "z": 3}))
    /// })?;
    /// assert_eq!(serde_json::Value::Object(patched), json!({"y": 2, "z": 3}));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn patch_node(
        &mut self,
        graph: &str,
        key: &str,
        patch: &Value,
    ) -> Result<Map<String, Value>> {
        self.patch_item(Item::Node, graph, key, patch)
    }

    /// Removes node `key` and every edge incident to it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or node does not exist.
    pub fn remove_node(&mut self, graph: &str, key: &str) -> Result<()> {
        let (id, _, _) = self.item_row(Item::Node, graph, key)?;
        let incident: Vec<(i64, String)> = self
            .conn()
            .prepare_cached(
                "SELECT id, key FROM edges WHERE source = ?1
                 UNION SELECT id, key FROM edges WHERE target = ?1",
            )?
            .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (edge_id, edge_key) in &incident {
            self.conn()
                .prepare_cached("DELETE FROM edges WHERE id = ?1")?
                .execute([edge_id])?;
            self.outbox
                .in_graph(EntityKind::Edge, ChangeOp::Delete, graph, edge_key);
        }
        self.conn()
            .prepare_cached("DELETE FROM nodes WHERE id = ?1")?
            .execute([id])?;
        let graph_id = self.graph_ctx(graph)?.id;
        self.cache().forget_node(graph_id, key);
        self.outbox
            .in_graph(EntityKind::Node, ChangeOp::Delete, graph, key);
        Ok(())
    }
}
