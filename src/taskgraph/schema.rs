//! The `taskgraph` graph type and its node and edge types, ensured on open.
//! The JSON Schemas live in `schemas/taskgraph/` and are embedded at build
//! time.

use serde_json::Value;

use super::{DEPENDS_ON, GRAPH_TYPE, TASK};
use crate::{Endpoints, Error, GraphConfig, Result, WriteTxn};

pub(crate) const TASK_SCHEMA: &str = include_str!("../../schemas/taskgraph/task.schema.json");
pub(crate) const DEPENDS_ON_SCHEMA: &str =
    include_str!("../../schemas/taskgraph/depends_on.schema.json");

/// Directed, acyclic, no parallel edges, no self-loops.
pub(crate) fn graph_config() -> GraphConfig {
    GraphConfig::directed()
        .acyclic(true)
        .allow_self_loops(false)
}

pub(crate) fn parse(name: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::corrupt(format!("embedded schema of {name:?}"), e))
}

/// A built-in graph type: its config, node types and edge types.
pub(crate) struct BuiltIn<'a> {
    pub(crate) name: &'a str,
    pub(crate) config: GraphConfig,
    pub(crate) node_types: &'a [(&'a str, &'a str)],
    pub(crate) edge_types: &'a [(&'a str, &'a str, Endpoints)],
}

impl BuiltIn<'_> {
    /// Creates what is missing and brings what differs in line with the
    /// embedded definitions. Idempotent: on an up-to-date store it writes
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Revalidation`] if stored data fails an updated schema;
    /// [`Error::Invalid`] if stored graphs break an updated config.
    pub(crate) fn ensure(&self, tx: &mut WriteTxn<'_>) -> Result<()> {
        tx.as_domain(|tx| self.ensure_as_domain(tx))
    }

    fn ensure_as_domain(&self, tx: &mut WriteTxn<'_>) -> Result<()> {
        match tx.graph_type(self.name)? {
            None => {
                tx.define_graph_type(self.name, self.config)?;
            }
            Some(existing) if existing.config != self.config => {
                tx.update_graph_config(self.name, self.config)?;
            }
            Some(_) => {}
        }
        for (name, text) in self.node_types {
            let schema = parse(name, text)?;
            match tx.node_type(self.name, name)? {
                None => {
                    tx.define_node_type(self.name, name, &schema)?;
                }
                Some(existing) if existing.schema != schema => {
                    tx.update_node_type(self.name, name, &schema)?;
                }
                Some(_) => {}
            }
        }
        for (name, text, endpoints) in self.edge_types {
            let schema = parse(name, text)?;
            match tx.edge_type(self.name, name)? {
                None => {
                    tx.define_edge_type(self.name, name, &schema, endpoints)?;
                }
                Some(existing) if existing.schema != schema || existing.endpoints != *endpoints => {
                    tx.update_edge_type(self.name, name, &schema, endpoints)?;
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Ensures the `taskgraph` graph type.
pub(crate) fn ensure(tx: &mut WriteTxn<'_>) -> Result<()> {
    BuiltIn {
        name: GRAPH_TYPE,
        config: graph_config(),
        node_types: &[(TASK, TASK_SCHEMA)],
        edge_types: &[(
            DEPENDS_ON,
            DEPENDS_ON_SCHEMA,
            Endpoints::between(&[TASK], &[TASK]),
        )],
    }
    .ensure(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_embedded_schemas_compile_and_accept_every_status() {
        let task = parse(TASK, TASK_SCHEMA).unwrap();
        crate::check_schema(&task).unwrap();
        crate::check_schema(&parse(DEPENDS_ON, DEPENDS_ON_SCHEMA).unwrap()).unwrap();
        let compiled = crate::schema::compile(&task, 1).unwrap();
        for status in super::super::Status::ALL {
            let doc = json!({"status": status.as_str(), "duration": 1.5, "priority": 3});
            assert!(compiled.violations(&doc).is_empty(), "{status}");
        }
        assert!(!compiled
            .violations(&json!({"status": "finished"}))
            .is_empty());
        assert!(!compiled
            .violations(&json!({"status": "done", "duration": -1}))
            .is_empty());
    }
}
