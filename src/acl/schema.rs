//! The `acl` graph type, its node and edge types, and the `acl` graph,
//! ensured on open. The JSON Schemas live in `schemas/acl/` and are
//! embedded at build time.

use serde_json::Value;

use super::model::Action;
use super::{BELONGS_TO, DELEGATES, GRAPH, GRAPH_TYPE, PRINCIPAL, RESOURCE};
use crate::{Endpoints, Entity, Error, GraphConfig, Result, WriteTxn};

const PRINCIPAL_SCHEMA: &str = include_str!("../../schemas/acl/principal.schema.json");
const RESOURCE_SCHEMA: &str = include_str!("../../schemas/acl/resource.schema.json");
const DELEGATES_SCHEMA: &str = include_str!("../../schemas/acl/delegates.schema.json");
const BELONGS_TO_SCHEMA: &str = include_str!("../../schemas/acl/belongs_to.schema.json");
const CAN_SCHEMA: &str = include_str!("../../schemas/acl/can.schema.json");

/// Directed, no parallel edges, no self-loops, cycles allowed.
pub(crate) fn graph_config() -> GraphConfig {
    GraphConfig::directed().allow_self_loops(false)
}

/// The node types: name and schema text.
pub(crate) fn node_types() -> [(&'static str, &'static str); 2] {
    [(PRINCIPAL, PRINCIPAL_SCHEMA), (RESOURCE, RESOURCE_SCHEMA)]
}

/// The edge types: name, schema text, and the node types they join.
pub(crate) fn edge_types() -> Vec<(&'static str, &'static str, Endpoints)> {
    let between_principals = Endpoints::between(&[PRINCIPAL], &[PRINCIPAL]);
    let mut types = vec![
        (DELEGATES, DELEGATES_SCHEMA, between_principals.clone()),
        (BELONGS_TO, BELONGS_TO_SCHEMA, between_principals),
    ];
    for action in Action::ALL {
        types.push((
            action.edge_type(),
            CAN_SCHEMA,
            Endpoints::between(&[PRINCIPAL], &[RESOURCE]),
        ));
    }
    types
}

fn parse(name: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::corrupt(format!("embedded schema of {name:?}"), e))
}

/// Creates what is missing and brings what differs in line with the
/// embedded definitions. Idempotent: on an up-to-date store it writes
/// nothing.
///
/// # Errors
///
/// [`Error::Revalidation`] if stored ACL data fails an updated schema;
/// [`Error::Invalid`] if a graph named `acl` exists with another graph type.
pub(crate) fn ensure(tx: &mut WriteTxn<'_>) -> Result<()> {
    tx.as_domain(ensure_as_domain)
}

fn ensure_as_domain(tx: &mut WriteTxn<'_>) -> Result<()> {
    let config = graph_config();
    match tx.graph_type(GRAPH_TYPE)? {
        None => {
            tx.define_graph_type(GRAPH_TYPE, config)?;
        }
        Some(existing) if existing.config != config => {
            tx.update_graph_config(GRAPH_TYPE, config)?;
        }
        Some(_) => {}
    }
    for (name, text) in node_types() {
        let schema = parse(name, text)?;
        match tx.node_type(GRAPH_TYPE, name)? {
            None => {
                tx.define_node_type(GRAPH_TYPE, name, &schema)?;
            }
            Some(existing) if existing.schema != schema => {
                tx.update_node_type(GRAPH_TYPE, name, &schema)?;
            }
            Some(_) => {}
        }
    }
    for (name, text, endpoints) in edge_types() {
        let schema = parse(name, text)?;
        match tx.edge_type(GRAPH_TYPE, name)? {
            None => {
                tx.define_edge_type(GRAPH_TYPE, name, &schema, &endpoints)?;
            }
            Some(existing) if existing.schema != schema || existing.endpoints != endpoints => {
                tx.update_edge_type(GRAPH_TYPE, name, &schema, &endpoints)?;
            }
            Some(_) => {}
        }
    }
    match tx.graph(GRAPH)? {
        None => {
            tx.create_graph(GRAPH, GRAPH_TYPE)?;
        }
        Some(graph) if graph.graph_type != GRAPH_TYPE => {
            return Err(Error::invalid(
                Entity::Graph(GRAPH.to_owned()),
                format!(
                    "is of graph type {:?}; the ACL needs it to be of graph type {GRAPH_TYPE:?}",
                    graph.graph_type
                ),
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::scope::token_problem;
    use serde_json::json;

    #[test]
    fn every_embedded_schema_compiles() {
        let texts = node_types()
            .into_iter()
            .chain(edge_types().into_iter().map(|(name, text, _)| (name, text)));
        for (name, text) in texts {
            let schema = parse(name, text).expect("parses");
            crate::check_schema(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    /// The schemas' token pattern accepts exactly what the API accepts.
    #[test]
    fn the_token_pattern_agrees_with_the_api() {
        let validator = crate::schema::compile(&parse("principal", PRINCIPAL_SCHEMA).unwrap(), 0)
            .expect("compiles");
        let samples = [
            "repo:read",
            "ünï/✓",
            "a b",
            "a\tb",
            "a\nb",
            "a\rb",
            "a\u{b}b",
            "a\u{c}b",
            "a\u{0}b",
            "a\u{1f}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{9f}b",
            "a\u{a0}b",
            "a\u{1680}b",
            "a\u{2000}b",
            "a\u{200a}b",
            "a\u{200b}b",
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{202f}b",
            "a\u{205f}b",
            "a\u{3000}b",
            "a\u{feff}b",
            "a\u{180e}b",
            "",
        ];
        for sample in samples {
            let principal = json!({"identity_type": "account", "identity_id": sample});
            let schema_ok = validator.violations(&principal).is_empty();
            let api_ok = token_problem("identity_id", sample).is_none();
            assert_eq!(schema_ok, api_ok, "{sample:?}");
        }
    }
}
