//! Defining, reading and evolving graph types, node types and edge types:
//! the metagraph's schema level. A change of a type's config or schema is
//! checked against the graphs and items it already has.
//!
//! This module owns the `graph_types`, `node_types` and `edge_types` tables
//! (their rows are read through [`catalog`](crate::metagraph::catalog)).

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use crate::error::{Entity, Error, Result};
use crate::metagraph::catalog::{
    build_graph_type, edge_type_from_row, finish_edge_type, finish_node_type, graph_type_from_row,
    graph_type_row, node_type_from_row, parse_json, require_graph_type, type_row, DropPolicy,
    EdgeType, Endpoints, GraphConfig, GraphType, NodeType, TypeRow, TypeTable, EDGE_TYPE_SELECT,
    GRAPH_TYPE_COLUMNS, NODE_TYPE_SELECT,
};
use crate::outbox::{ChangeOp, EntityKind};
use crate::schema::{self, CompiledSchema};
use crate::store::{Reader, WriteTxn};
use crate::time::now_ms;

// ---------------------------------------------------------------------------
// Reads

impl Reader {
    /// The graph type called `name`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] or [`Error::Corrupt`] on a storage failure.
    pub fn graph_type(&self, name: &str) -> Result<Option<GraphType>> {
        Ok(graph_type_row(self.conn(), name)?.map(|row| row.public))
    }

    /// Every graph type, by name.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] or [`Error::Corrupt`] on a storage failure.
    pub fn graph_types(&self) -> Result<Vec<GraphType>> {
        let sql = format!("SELECT {GRAPH_TYPE_COLUMNS} FROM graph_types ORDER BY name");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let raws = stmt
            .query_map([], graph_type_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter()
            .map(|raw| build_graph_type(raw).map(|row| row.public))
            .collect()
    }

    /// The node type `name` of `graph_type`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] or [`Error::Corrupt`] on a storage failure.
    pub fn node_type(&self, graph_type: &str, name: &str) -> Result<Option<NodeType>> {
        let sql = format!("{NODE_TYPE_SELECT} WHERE g.name = ?1 AND t.name = ?2");
        let raw = self
            .conn()
            .prepare_cached(&sql)?
            .query_row([graph_type, name], node_type_from_row)
            .optional()?;
        raw.map(finish_node_type).transpose()
    }

    /// The node types of `graph_type`, by name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph type does not exist.
    pub fn node_types(&self, graph_type: &str) -> Result<Vec<NodeType>> {
        require_graph_type(self.conn(), graph_type)?;
        let sql = format!("{NODE_TYPE_SELECT} WHERE g.name = ?1 ORDER BY t.name");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let raws = stmt
            .query_map([graph_type], node_type_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(finish_node_type).collect()
    }

    /// The edge type `name` of `graph_type`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] or [`Error::Corrupt`] on a storage failure.
    pub fn edge_type(&self, graph_type: &str, name: &str) -> Result<Option<EdgeType>> {
        let sql = format!("{EDGE_TYPE_SELECT} WHERE g.name = ?1 AND t.name = ?2");
        let raw = self
            .conn()
            .prepare_cached(&sql)?
            .query_row([graph_type, name], edge_type_from_row)
            .optional()?;
        raw.map(finish_edge_type).transpose()
    }

    /// The edge types of `graph_type`, by name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph type does not exist.
    pub fn edge_types(&self, graph_type: &str) -> Result<Vec<EdgeType>> {
        require_graph_type(self.conn(), graph_type)?;
        let sql = format!("{EDGE_TYPE_SELECT} WHERE g.name = ?1 ORDER BY t.name");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let raws = stmt
            .query_map([graph_type], edge_type_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(finish_edge_type).collect()
    }
}

// ---------------------------------------------------------------------------
// Writes

fn new_uid() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl WriteTxn<'_> {
    /// Defines a graph type.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if the name is taken; [`Error::Invalid`] for a
    /// bad name or an acyclic config that is not directed.
    pub fn define_graph_type(&mut self, name: &str, config: GraphConfig) -> Result<GraphType> {
        let entity = || Entity::GraphType(name.to_owned());
        self.limits().check_name(entity, name)?;
        self.guard(name, entity)?;
        config.check(entity)?;
        if graph_type_row(self.conn(), name)?.is_some() {
            return Err(Error::AlreadyExists { entity: entity() });
        }
        let now = now_ms();
        let config_text =
            serde_json::to_string(&config).map_err(|e| Error::corrupt("graph config", e))?;
        self.conn()
            .prepare_cached(
                "INSERT INTO graph_types (uid, name, config, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4)",
            )?
            .execute(params![new_uid(), name, config_text, now])?;
        self.type_changed();
        self.outbox
            .in_graph_type(EntityKind::GraphType, ChangeOp::Create, None, name);
        Ok(require_graph_type(self.conn(), name)?.public)
    }

    /// Changes a graph type's structural rules. Every existing graph of the
    /// type is checked against the new rules in the same transaction.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph type does not exist; [`Error::Invalid`]
    /// naming the first graph and edge that breaks the new rules;
    /// [`Error::Cycle`] if a graph has a cycle and the new rules are acyclic.
    pub fn update_graph_config(&mut self, name: &str, config: GraphConfig) -> Result<GraphType> {
        let entity = || Entity::GraphType(name.to_owned());
        self.guard(name, entity)?;
        config.check(entity)?;
        let row = require_graph_type(self.conn(), name)?;
        crate::metagraph::check_graphs_against(self.conn(), name, row.id, &config)?;
        if config.acyclic {
            crate::metagraph::establish_orders(self.conn(), row.id)?;
        }
        let config_text =
            serde_json::to_string(&config).map_err(|e| Error::corrupt("graph config", e))?;
        self.conn()
            .prepare_cached(
                "UPDATE graph_types SET config = ?1, version = version + 1, updated_at = ?2
                 WHERE id = ?3",
            )?
            .execute(params![config_text, now_ms(), row.id])?;
        self.type_changed();
        self.outbox
            .in_graph_type(EntityKind::GraphType, ChangeOp::Update, None, name);
        Ok(require_graph_type(self.conn(), name)?.public)
    }

    /// Sets (or, with `None`, removes) the JSON Schema that the attributes
    /// of every graph of `name` must satisfy
    /// ([`Graph::attributes`](crate::Graph::attributes)). Every existing
    /// graph of the type is re-validated in the same transaction, as a node
    /// type's schema change re-validates its nodes.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph type does not exist;
    /// [`Error::Protected`] for a built-in graph type;
    /// [`Error::InvalidSchema`] if the schema does not compile;
    /// [`Error::Revalidation`] naming the first 20 graphs whose attributes
    /// it rejects, and how many.
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
    ///     tx.create_graph_with_attributes("europe", "maps", &json!({"scale": 1000}))?;
    ///     Ok(())
    /// })?;
    /// let strict = json!({"properties": {"scale": {"type": "string"}}});
    /// let err = store.write(|tx| tx.set_graph_schema("maps", Some(&strict))).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"graph type "maps": the new schema rejects 1 existing instance(s): "europe""#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_graph_schema(&mut self, name: &str, schema: Option<&Value>) -> Result<GraphType> {
        let entity = || Entity::GraphType(name.to_owned());
        let row = require_graph_type(self.conn(), name)?;
        self.guard(name, entity)?;
        let text = match schema {
            None => None,
            Some(schema) => {
                let text = self.check_type_schema(&entity, schema)?;
                let compiled =
                    schema::compile(schema, row.public.version + 1).map_err(|reason| {
                        Error::InvalidSchema {
                            entity: entity(),
                            reason,
                        }
                    })?;
                let (failing, count) =
                    crate::metagraph::graphs_failing(self.conn(), row.id, &compiled)?;
                if count > 0 {
                    return Err(Error::Revalidation {
                        entity: entity(),
                        failing,
                        count,
                    });
                }
                Some(text)
            }
        };
        self.conn()
            .prepare_cached(
                "UPDATE graph_types SET graph_schema = ?1, version = version + 1, updated_at = ?2
                 WHERE id = ?3",
            )?
            .execute(params![text, now_ms(), row.id])?;
        self.type_changed();
        self.outbox
            .in_graph_type(EntityKind::GraphType, ChangeOp::Update, None, name);
        Ok(require_graph_type(self.conn(), name)?.public)
    }

    /// Drops a graph type with its node and edge types. With
    /// [`DropPolicy::Cascade`] its graphs are dropped too.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if it does not exist; [`Error::InUse`] if it still
    /// has graphs and the policy is [`DropPolicy::Restrict`].
    pub fn drop_graph_type(&mut self, name: &str, policy: DropPolicy) -> Result<()> {
        let row = require_graph_type(self.conn(), name)?;
        self.guard(name, || Entity::GraphType(name.to_owned()))?;
        let graphs: Vec<String> = self
            .conn()
            .prepare_cached("SELECT name FROM graphs WHERE graph_type_id = ?1 ORDER BY name")?
            .query_map([row.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !graphs.is_empty() && policy == DropPolicy::Restrict {
            return Err(Error::InUse {
                entity: Entity::GraphType(name.to_owned()),
                count: graphs.len() as u64,
            });
        }
        for graph in &graphs {
            self.drop_graph(graph)?;
        }
        for table in [TypeTable::Edge, TypeTable::Node] {
            let sql = format!(
                "SELECT name FROM {} WHERE graph_type_id = ?1 ORDER BY name",
                table.table()
            );
            let names: Vec<String> = self
                .conn()
                .prepare_cached(&sql)?
                .query_map([row.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let delete = format!("DELETE FROM {} WHERE graph_type_id = ?1", table.table());
            self.conn().prepare_cached(&delete)?.execute([row.id])?;
            for type_name in names {
                self.outbox
                    .in_graph_type(table.event(), ChangeOp::Delete, Some(name), &type_name);
            }
        }
        self.conn()
            .prepare_cached("DELETE FROM graph_types WHERE id = ?1")?
            .execute([row.id])?;
        self.type_changed();
        self.outbox
            .in_graph_type(EntityKind::GraphType, ChangeOp::Delete, None, name);
        Ok(())
    }

    /// Defines a node type of `graph_type` whose nodes' attributes must
    /// satisfy `schema`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph type does not exist;
    /// [`Error::AlreadyExists`] if the name is taken; [`Error::InvalidSchema`]
    /// with the compiler's message if the schema does not compile or refers
    /// outside itself.
    pub fn define_node_type(
        &mut self,
        graph_type: &str,
        name: &str,
        schema: &Value,
    ) -> Result<NodeType> {
        self.define_type(TypeTable::Node, graph_type, name, schema, &Endpoints::any())?;
        self.written_node_type(graph_type, name)
    }

    /// Defines an edge type of `graph_type` whose edges' attributes must
    /// satisfy `schema` and whose endpoints must be of the given node types.
    ///
    /// # Errors
    ///
    /// As [`define_node_type`](WriteTxn::define_node_type), and
    /// [`Error::Invalid`] if `endpoints` names a node type the graph type
    /// does not have.
    pub fn define_edge_type(
        &mut self,
        graph_type: &str,
        name: &str,
        schema: &Value,
        endpoints: &Endpoints,
    ) -> Result<EdgeType> {
        self.define_type(TypeTable::Edge, graph_type, name, schema, endpoints)?;
        self.written_edge_type(graph_type, name)
    }

    fn written_node_type(&self, graph_type: &str, name: &str) -> Result<NodeType> {
        self.node_type(graph_type, name)?
            .ok_or_else(|| Error::NotFound {
                entity: TypeTable::Node.entity(graph_type, name),
            })
    }

    fn written_edge_type(&self, graph_type: &str, name: &str) -> Result<EdgeType> {
        self.edge_type(graph_type, name)?
            .ok_or_else(|| Error::NotFound {
                entity: TypeTable::Edge.entity(graph_type, name),
            })
    }

    fn define_type(
        &mut self,
        table: TypeTable,
        graph_type: &str,
        name: &str,
        schema: &Value,
        endpoints: &Endpoints,
    ) -> Result<()> {
        let entity = || table.entity(graph_type, name);
        self.limits().check_name(entity, name)?;
        let gt = require_graph_type(self.conn(), graph_type)?;
        self.guard(graph_type, entity)?;
        if type_row(self.conn(), table, gt.id, name)?.is_some() {
            return Err(Error::AlreadyExists { entity: entity() });
        }
        let schema_text = self.check_type_schema(&entity, schema)?;
        self.check_endpoint_names(&entity, gt.id, endpoints)?;
        let now = now_ms();
        let uid = new_uid();
        match table {
            TypeTable::Node => self
                .conn()
                .prepare_cached(
                    "INSERT INTO node_types (uid, graph_type_id, name, schema, version, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                )?
                .execute(params![uid, gt.id, name, schema_text, now])?,
            TypeTable::Edge => self
                .conn()
                .prepare_cached(
                    "INSERT INTO edge_types (uid, graph_type_id, name, schema, allowed_source,
                                             allowed_target, version, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
                )?
                .execute(params![
                    uid,
                    gt.id,
                    name,
                    schema_text,
                    names_json(&endpoints.source),
                    names_json(&endpoints.target),
                    now
                ])?,
        };
        self.type_changed();
        self.outbox
            .in_graph_type(table.event(), ChangeOp::Create, Some(graph_type), name);
        Ok(())
    }

    /// Replaces a node type's schema. Every existing node of the type is
    /// re-validated in the same transaction.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the type does not exist;
    /// [`Error::InvalidSchema`] if the schema does not compile;
    /// [`Error::Revalidation`] with the first 20 failing keys and the count
    /// if existing nodes do not satisfy it.
    pub fn update_node_type(
        &mut self,
        graph_type: &str,
        name: &str,
        schema: &Value,
    ) -> Result<NodeType> {
        self.update_type(TypeTable::Node, graph_type, name, schema, &Endpoints::any())?;
        self.written_node_type(graph_type, name)
    }

    /// Replaces an edge type's schema and endpoint rules. Every existing edge
    /// of the type is re-validated (attributes and endpoint types) in the
    /// same transaction.
    ///
    /// # Errors
    ///
    /// As [`update_node_type`](WriteTxn::update_node_type).
    pub fn update_edge_type(
        &mut self,
        graph_type: &str,
        name: &str,
        schema: &Value,
        endpoints: &Endpoints,
    ) -> Result<EdgeType> {
        self.update_type(TypeTable::Edge, graph_type, name, schema, endpoints)?;
        self.written_edge_type(graph_type, name)
    }

    fn update_type(
        &mut self,
        table: TypeTable,
        graph_type: &str,
        name: &str,
        schema: &Value,
        endpoints: &Endpoints,
    ) -> Result<()> {
        let entity = || table.entity(graph_type, name);
        let gt = require_graph_type(self.conn(), graph_type)?;
        self.guard(graph_type, entity)?;
        let row = type_row(self.conn(), table, gt.id, name)?
            .ok_or_else(|| Error::NotFound { entity: entity() })?;
        let schema_text = self.check_type_schema(&entity, schema)?;
        self.check_endpoint_names(&entity, gt.id, endpoints)?;
        let compiled =
            schema::compile(schema, row.version + 1).map_err(|reason| Error::InvalidSchema {
                entity: entity(),
                reason,
            })?;
        if let Some((failing, count)) =
            crate::metagraph::revalidate(self.conn(), table, gt.id, row.id, &compiled, endpoints)?
        {
            return Err(Error::Revalidation {
                entity: entity(),
                failing,
                count,
            });
        }
        let now = now_ms();
        match table {
            TypeTable::Node => self
                .conn()
                .prepare_cached(
                    "UPDATE node_types SET schema = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3",
                )?
                .execute(params![schema_text, now, row.id])?,
            TypeTable::Edge => self
                .conn()
                .prepare_cached(
                    "UPDATE edge_types SET schema = ?1, allowed_source = ?2, allowed_target = ?3,
                            version = version + 1, updated_at = ?4 WHERE id = ?5",
                )?
                .execute(params![
                    schema_text,
                    names_json(&endpoints.source),
                    names_json(&endpoints.target),
                    now,
                    row.id
                ])?,
        };
        self.type_changed();
        self.schemas.insert(&row.uid, Arc::new(compiled));
        self.outbox
            .in_graph_type(table.event(), ChangeOp::Update, Some(graph_type), name);
        Ok(())
    }

    /// Drops a node type. With [`DropPolicy::Cascade`] its nodes (and their
    /// incident edges) are removed too.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if it does not exist; [`Error::InUse`] if nodes of
    /// it exist and the policy is [`DropPolicy::Restrict`]; [`Error::Invalid`]
    /// if an edge type still names it as an allowed endpoint.
    pub fn drop_node_type(
        &mut self,
        graph_type: &str,
        name: &str,
        policy: DropPolicy,
    ) -> Result<()> {
        self.drop_type(TypeTable::Node, graph_type, name, policy)
    }

    /// Drops an edge type. With [`DropPolicy::Cascade`] its edges are removed too.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if it does not exist; [`Error::InUse`] if edges of
    /// it exist and the policy is [`DropPolicy::Restrict`].
    pub fn drop_edge_type(
        &mut self,
        graph_type: &str,
        name: &str,
        policy: DropPolicy,
    ) -> Result<()> {
        self.drop_type(TypeTable::Edge, graph_type, name, policy)
    }

    fn drop_type(
        &mut self,
        table: TypeTable,
        graph_type: &str,
        name: &str,
        policy: DropPolicy,
    ) -> Result<()> {
        let entity = || table.entity(graph_type, name);
        let gt = require_graph_type(self.conn(), graph_type)?;
        self.guard(graph_type, entity)?;
        let row = type_row(self.conn(), table, gt.id, name)?
            .ok_or_else(|| Error::NotFound { entity: entity() })?;
        if table == TypeTable::Node {
            for edge_type in self.edge_types(graph_type)? {
                if edge_type.endpoints.names().any(|n| n == name) {
                    return Err(Error::invalid(
                        entity(),
                        format!(
                            "edge type {:?} names it as an allowed endpoint; update that edge type first",
                            edge_type.name
                        ),
                    ));
                }
            }
        }
        let instances = crate::metagraph::instances_of(self.conn(), table, gt.id, row.id)?;
        if !instances.is_empty() && policy == DropPolicy::Restrict {
            return Err(Error::InUse {
                entity: entity(),
                count: instances.len() as u64,
            });
        }
        for (graph, key) in &instances {
            match table {
                TypeTable::Node => self.remove_node(graph, key)?,
                TypeTable::Edge => self.remove_edge(graph, key)?,
            }
        }
        let delete = format!("DELETE FROM {} WHERE id = ?1", table.table());
        self.conn().prepare_cached(&delete)?.execute([row.id])?;
        self.type_changed();
        self.outbox
            .in_graph_type(table.event(), ChangeOp::Delete, Some(graph_type), name);
        Ok(())
    }

    fn check_type_schema(&self, entity: &dyn Fn() -> Entity, schema: &Value) -> Result<String> {
        let text = schema.to_string();
        if text.len() > self.limits().max_schema_bytes {
            return Err(Error::TooLarge {
                entity: entity(),
                what: "schema",
                actual: text.len(),
                limit: self.limits().max_schema_bytes,
            });
        }
        schema::check_schema(schema).map_err(|reason| Error::InvalidSchema {
            entity: entity(),
            reason,
        })?;
        Ok(text)
    }

    fn check_endpoint_names(
        &self,
        entity: &dyn Fn() -> Entity,
        graph_type_id: i64,
        endpoints: &Endpoints,
    ) -> Result<()> {
        for node_type in endpoints.names() {
            if type_row(self.conn(), TypeTable::Node, graph_type_id, node_type)?.is_none() {
                return Err(Error::invalid(
                    entity(),
                    format!("allowed endpoint {node_type:?} is not a node type of this graph type"),
                ));
            }
        }
        Ok(())
    }

    /// The compiled schema for `row`, from this transaction, the process-wide
    /// cache, or compiled now.
    pub(crate) fn compiled(
        &mut self,
        table: TypeTable,
        graph_type: &str,
        row: &TypeRow,
    ) -> Result<Arc<CompiledSchema>> {
        if let Some(compiled) = self.schemas.get(&row.uid, row.version) {
            return Ok(compiled);
        }
        if let Some(compiled) = self.inner.schemas.get(&row.uid, row.version) {
            return Ok(compiled);
        }
        let schema: Value = parse_json(
            &format!("schema of {}", table.entity(graph_type, &row.name)),
            &row.schema,
        )?;
        let compiled = Arc::new(schema::compile(&schema, row.version).map_err(|reason| {
            Error::InvalidSchema {
                entity: table.entity(graph_type, &row.name),
                reason,
            }
        })?);
        if self.schemas.dirty {
            self.schemas.insert(&row.uid, compiled.clone());
        } else {
            self.inner.schemas.insert(&row.uid, compiled.clone());
        }
        Ok(compiled)
    }

    fn type_changed(&mut self) {
        self.schemas.dirty = true;
        self.cache().clear();
    }
}

fn names_json(names: &Option<Vec<String>>) -> Option<String> {
    names.as_ref().map(|n| Value::from(n.clone()).to_string())
}
