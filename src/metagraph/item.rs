//! What nodes and edges share: an attribute document validated against the
//! item's type, stored in a table keyed by (graph, key).

use rusqlite::{params, OptionalExtension, Row};
use serde_json::{Map, Value};

use super::{graph_id, merge_patch, ListOptions, Page};
use crate::error::{Entity, Error, Result};
use crate::metagraph::catalog::TypeTable;
use crate::outbox::{ChangeOp, EntityKind};
use crate::schema::CompiledSchema;
use crate::store::{Reader, WriteTxn};
use crate::time::now_ms;

/// A node or an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    Node,
    Edge,
}

impl Item {
    pub(crate) fn entity(self, graph: &str, key: &str) -> Entity {
        let (graph, key) = (graph.to_owned(), key.to_owned());
        match self {
            Item::Node => Entity::Node { graph, key },
            Item::Edge => Entity::Edge { graph, key },
        }
    }

    pub(crate) fn type_table(self) -> TypeTable {
        match self {
            Item::Node => TypeTable::Node,
            Item::Edge => TypeTable::Edge,
        }
    }

    pub(crate) fn event(self) -> EntityKind {
        match self {
            Item::Node => EntityKind::Node,
            Item::Edge => EntityKind::Edge,
        }
    }

    /// Row id, type name and attribute text of an item.
    fn select_row(self) -> &'static str {
        match self {
            Item::Node => {
                "SELECT x.id, t.name, x.attributes FROM nodes x
                   JOIN node_types t ON t.id = x.node_type_id
                  WHERE x.graph_id = ?1 AND x.key = ?2"
            }
            Item::Edge => {
                "SELECT x.id, t.name, x.attributes FROM edges x
                   JOIN edge_types t ON t.id = x.edge_type_id
                  WHERE x.graph_id = ?1 AND x.key = ?2"
            }
        }
    }

    fn update_attributes(self) -> &'static str {
        match self {
            Item::Node => "UPDATE nodes SET attributes = ?1, updated_at = ?2 WHERE id = ?3",
            Item::Edge => "UPDATE edges SET attributes = ?1, updated_at = ?2 WHERE id = ?3",
        }
    }

    fn count(self) -> &'static str {
        match self {
            Item::Node => "SELECT count(*) FROM nodes WHERE graph_id = ?1",
            Item::Edge => "SELECT count(*) FROM edges WHERE graph_id = ?1",
        }
    }
}

pub(crate) fn parse_attributes(
    item: Item,
    graph: &str,
    key: &str,
    text: &str,
) -> Result<Map<String, Value>> {
    serde_json::from_str(text)
        .map_err(|e| Error::corrupt(format!("attributes of {}", item.entity(graph, key)), e))
}

impl Reader {
    pub(crate) fn count_items(&self, item: Item, graph: &str) -> Result<u64> {
        let gid = graph_id(self.conn(), graph)?;
        let count: i64 = self
            .conn()
            .prepare_cached(item.count())?
            .query_row([gid], |row| row.get(0))?;
        Ok(count as u64)
    }

    /// One item by key: `select` takes (graph id, key).
    pub(crate) fn one_item<R, T>(
        &self,
        graph: &str,
        key: &str,
        select: &str,
        columns: fn(&Row<'_>) -> rusqlite::Result<R>,
        build: impl FnOnce(R) -> Result<T>,
    ) -> Result<Option<T>> {
        let gid = graph_id(self.conn(), graph)?;
        let raw = self
            .conn()
            .prepare_cached(select)?
            .query_row(params![gid, key], columns)
            .optional()?;
        raw.map(build).transpose()
    }

    /// One page of items: `select` takes (graph id, after, type name, limit).
    pub(crate) fn page_of_items<R, T>(
        &self,
        graph: &str,
        options: &ListOptions,
        select: &str,
        columns: fn(&Row<'_>) -> rusqlite::Result<R>,
        build: impl Fn(R) -> Result<T>,
        key: fn(&T) -> &str,
    ) -> Result<Page<T>> {
        let gid = graph_id(self.conn(), graph)?;
        let limit = options.sql_limit();
        let mut stmt = self.conn().prepare_cached(select)?;
        let raws = stmt
            .query_map(params![gid, options.after, options.of_type, limit], columns)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let items = raws.into_iter().map(build).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, limit, key))
    }
}

impl WriteTxn<'_> {
    /// Row id, type name and attribute text of an existing item.
    pub(crate) fn item_row(
        &mut self,
        item: Item,
        graph: &str,
        key: &str,
    ) -> Result<(i64, String, String)> {
        let ctx = self.graph_ctx(graph)?;
        self.conn()
            .prepare_cached(item.select_row())?
            .query_row(params![ctx.id, key], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?
            .ok_or_else(|| Error::NotFound {
                entity: item.entity(graph, key),
            })
    }

    /// Validates and stores new attributes for an existing item.
    pub(crate) fn replace_item(
        &mut self,
        item: Item,
        graph: &str,
        key: &str,
        attributes: &Value,
    ) -> Result<()> {
        let (id, type_name, _) = self.item_row(item, graph, key)?;
        self.store_attributes(item, graph, key, id, &type_name, attributes)
    }

    /// Applies an RFC 7396 merge patch to an item's attributes.
    pub(crate) fn patch_item(
        &mut self,
        item: Item,
        graph: &str,
        key: &str,
        patch: &Value,
    ) -> Result<Map<String, Value>> {
        let (id, type_name, current) = self.item_row(item, graph, key)?;
        let entity = || item.entity(graph, key);
        if crate::limits::depth(patch) > self.limits().max_depth {
            return Err(Error::invalid(
                entity(),
                format!(
                    "merge patch nests deeper than the limit of {}",
                    self.limits().max_depth
                ),
            ));
        }
        let mut document = Value::Object(parse_attributes(item, graph, key, &current)?);
        merge_patch(&mut document, patch);
        self.store_attributes(item, graph, key, id, &type_name, &document)?;
        match document {
            Value::Object(map) => Ok(map),
            _ => Err(Error::invalid(
                entity(),
                "a merge patch must leave an object",
            )),
        }
    }

    fn store_attributes(
        &mut self,
        item: Item,
        graph: &str,
        key: &str,
        id: i64,
        type_name: &str,
        attributes: &Value,
    ) -> Result<()> {
        let ctx = self.graph_ctx(graph)?;
        let entity = || item.entity(graph, key);
        let item_type = self.type_ctx(item.type_table(), &ctx, type_name, &entity)?;
        let text = self.valid_attributes(&entity, &item_type.compiled, attributes)?;
        self.conn()
            .prepare_cached(item.update_attributes())?
            .execute(params![text, now_ms(), id])?;
        self.outbox
            .in_graph(item.event(), ChangeOp::Update, graph, key);
        Ok(())
    }

    /// Checks `attributes` against the limits and the schema and returns the
    /// text to store.
    pub(crate) fn valid_attributes(
        &self,
        entity: &dyn Fn() -> Entity,
        compiled: &CompiledSchema,
        attributes: &Value,
    ) -> Result<String> {
        let text = self.limits().check_attributes(entity, attributes)?;
        let violations = compiled.violations(attributes);
        if !violations.is_empty() {
            return Err(Error::SchemaViolation {
                entity: entity(),
                violations,
            });
        }
        Ok(text)
    }
}
