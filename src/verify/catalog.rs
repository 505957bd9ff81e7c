//! The metagraph's catalog as the checks load it: graph types, node and
//! edge types and graphs by row id, with whatever of each could be read.
//! The type and graph checks fill it; the node, edge and graph checks after
//! them read it.

use std::collections::HashMap;

use crate::metagraph::catalog::{Endpoints, GraphConfig};
use crate::schema::CompiledSchema;

/// Graph types, node and edge types, and graphs, by row id.
#[derive(Default)]
pub(crate) struct Catalog {
    pub(crate) graph_types: HashMap<i64, GraphTypeInfo>,
    pub(crate) node_types: HashMap<i64, TypeInfo>,
    pub(crate) edge_types: HashMap<i64, TypeInfo>,
    pub(crate) graphs: HashMap<i64, GraphInfo>,
}

/// A graph type, as far as it could be read.
pub(crate) struct GraphTypeInfo {
    pub(crate) name: String,
    /// `None` when the stored config does not parse (reported).
    pub(crate) config: Option<GraphConfig>,
    /// The compiled graph schema; `None` when there is none or it does not
    /// parse or compile (reported).
    pub(crate) graph_schema: Option<CompiledSchema>,
}

/// A node or edge type, as far as it could be read.
pub(crate) struct TypeInfo {
    pub(crate) name: String,
    pub(crate) graph_type_id: Option<i64>,
    /// `None` when the stored schema does not parse or compile (reported).
    pub(crate) compiled: Option<CompiledSchema>,
    /// `None` when an allowed-endpoint list does not parse (reported).
    pub(crate) endpoints: Option<Endpoints>,
}

/// A graph: its name and its graph type's row id.
pub(crate) struct GraphInfo {
    pub(crate) name: String,
    pub(crate) graph_type_id: Option<i64>,
}

impl Catalog {
    /// The name of graph type row `id`, or a placeholder naming the row
    /// that is missing.
    pub(crate) fn graph_type_name(&self, id: Option<i64>) -> String {
        match id.and_then(|id| self.graph_types.get(&id)) {
            Some(graph_type) => graph_type.name.clone(),
            None => format!("<missing graph type row {}>", show_id(id)),
        }
    }

    /// The name of graph row `id`, or a placeholder naming the row that is
    /// missing.
    pub(crate) fn graph_name(&self, id: Option<i64>) -> String {
        match id.and_then(|id| self.graphs.get(&id)) {
            Some(graph) => graph.name.clone(),
            None => format!("<missing graph row {}>", show_id(id)),
        }
    }

    /// The name and config of `graph`'s type, when both could be read.
    pub(crate) fn config_of(&self, graph: &GraphInfo) -> Option<(&str, GraphConfig)> {
        let graph_type = self.graph_types.get(&graph.graph_type_id?)?;
        Some((&graph_type.name, graph_type.config?))
    }
}

/// A row id as a message shows it: `?` when there is none.
pub(crate) fn show_id(id: Option<i64>) -> String {
    id.map_or_else(|| "?".to_owned(), |id| id.to_string())
}
