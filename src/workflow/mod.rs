//! Workflows: operations with input and output JSON Schemas, joined by
//! `flows_to` edges that are checked for compatibility.
//!
//! The built-in graph type `workflow` (directed, acyclic, no parallel
//! edges, no self-loops) has the node type `operation`, whose attributes
//! carry an `input` and an `output` JSON Schema, and the edge type
//! `flows_to`: the source's output feeds the target's input.
//! [`Workflows::open`] ensures the types; their schemas live in
//! `schemas/workflow/`.
//!
//! **The flow rule**: an edge is accepted only when every property the
//! target's input schema lists as `required` is declared in the `properties`
//! of the source's output schema, with a compatible `type` (the output's
//! types must all be accepted by the input; an `integer` is a `number`). A
//! rejected edge names every missing or mismatched property. The rule is
//! checked by [`Workflows::connect`] and, for every edge in and out, by
//! [`Workflows::replace_operation`] and [`Workflows::import_graphology`];
//! a generic [`WriteTxn`] write to a workflow is refused with
//! [`Error::Protected`]. [`Workflows::check`]
//! finds edges that break the rule after rows changed around the engine.
//!
//! The check reads the top level of the two schemas only: `required`,
//! `properties` and each property's `type` (a string or an array of
//! strings). A property schema without `type` accepts (on the input side) or
//! promises (on the output side) anything; a promise of anything does not
//! satisfy an input that asks for a type.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::workflow::{Operation, Workflows};
//! use alknet_graphs::Store;
//! use serde_json::json;
//!
//! # let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("flows.db"))?;
//! let flows = Workflows::open(&store)?;
//! let err = store.write(|tx| {
//!     flows.create(tx, "etl")?;
//!     flows.add_operation(tx, "etl", "extract", &Operation::new(
//!         json!({}),
//!         json!({"properties": {"rows": {"type": "array"}, "count": {"type": "string"}}}),
//!     ))?;
//!     flows.add_operation(tx, "etl", "load", &Operation::new(
//!         json!({
//!             "properties": {"rows": {"type": "array"}, "count": {"type": "integer"}, "table": {}},
//!             "required": ["rows", "count", "table"]
//!         }),
//!         json!({}),
//!     ))?;
//!     flows.connect_as(tx, "etl", "extract->load", "extract", "load")
//! }).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"edge "extract->load" in graph "etl": operation "load" needs input properties that "extract" does not provide: "count" (needs integer, gets string), "table" (missing)"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::taskgraph::schema::BuiltIn;
use crate::taskgraph::{Dag, First};
use crate::{
    Direction, Endpoints, Entity, Error, Graph, GraphConfig, NewEdge, Reader, Result, Store,
    WriteTxn,
};

mod flow;

pub use flow::{BrokenFlow, Incompatibility, TypeMismatch};

/// The name of the workflow graph type.
pub const GRAPH_TYPE: &str = "workflow";

/// The node type of operations.
pub const OPERATION: &str = "operation";

/// The edge type of flows: the source's output feeds the target's input.
pub const FLOWS_TO: &str = "flows_to";

const OPERATION_SCHEMA: &str = include_str!("../../schemas/workflow/operation.schema.json");
const FLOWS_TO_SCHEMA: &str = include_str!("../../schemas/workflow/flows_to.schema.json");

fn graph_config() -> GraphConfig {
    GraphConfig::directed()
        .acyclic(true)
        .allow_self_loops(false)
}

fn ensure(tx: &mut WriteTxn<'_>) -> Result<()> {
    BuiltIn {
        name: GRAPH_TYPE,
        config: graph_config(),
        node_types: &[(OPERATION, OPERATION_SCHEMA)],
        edge_types: &[(
            FLOWS_TO,
            FLOWS_TO_SCHEMA,
            Endpoints::between(&[OPERATION], &[OPERATION]),
        )],
    }
    .ensure(tx)
}

/// An operation to add: its input and output JSON Schemas and any further
/// attributes (`name`, `description`, …).
///
/// # Example
///
/// ```
/// use alknet_graphs::workflow::Operation;
/// use serde_json::json;
/// let op = Operation::new(json!({"required": ["url"]}), json!({"properties": {"body": {"type": "string"}}}))
///     .attribute("name", json!("fetch"));
/// assert_eq!(op.attributes()["name"], "fetch");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    attributes: Map<String, Value>,
}

impl Operation {
    /// An operation taking `input` and producing `output` (JSON Schemas).
    pub fn new(input: Value, output: Value) -> Self {
        let mut attributes = Map::new();
        attributes.insert("input".into(), input);
        attributes.insert("output".into(), output);
        Operation { attributes }
    }

    /// Any other attribute the operation schema allows.
    pub fn attribute(mut self, name: impl Into<String>, value: Value) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// Its attributes, `input` and `output` included.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }
}

/// The types a property schema declares (`type` as a string or an array of
/// strings), or `None` when it declares none.
fn types(schema: Option<&Value>) -> Option<BTreeSet<String>> {
    match schema?.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

/// Whether an output of type `found` satisfies an input that accepts
/// `expected`.
fn accepts(expected: &BTreeSet<String>, found: &str) -> bool {
    expected.contains(found) || (found == "integer" && expected.contains("number"))
}

/// What stops `output` (a source's output schema) from feeding `input` (a
/// target's input schema); empty when nothing does. See the module docs for
/// the rule.
///
/// # Complexity
///
/// O(r log p) for r required input properties and p output properties.
///
/// # Example
///
/// ```
/// use alknet_graphs::workflow::compatibility;
/// use serde_json::json;
/// let output = json!({"properties": {"n": {"type": "integer"}}});
/// let input = json!({"properties": {"n": {"type": "number"}}, "required": ["n"]});
/// assert!(compatibility(&output, &input).is_empty());
/// let reverse = compatibility(&input, &json!({"properties": {"n": {"type": "integer"}}, "required": ["n"]}));
/// assert_eq!(reverse.to_string(), r#""n" (needs integer, gets number)"#);
/// ```
pub fn compatibility(output: &Value, input: &Value) -> Incompatibility {
    let mut problems = Incompatibility::default();
    let required = input
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let provided = output.get("properties").and_then(Value::as_object);
    let wanted = input.get("properties").and_then(Value::as_object);
    for property in required {
        let Some(found) = provided.and_then(|p| p.get(property)) else {
            problems.missing.push(property.to_owned());
            continue;
        };
        let Some(expected) = types(wanted.and_then(|w| w.get(property))) else {
            continue;
        };
        let found = types(Some(found));
        let ok = found
            .as_ref()
            .is_some_and(|f| !f.is_empty() && f.iter().all(|t| accepts(&expected, t)));
        if !ok {
            problems.mismatched.push(TypeMismatch {
                property: property.to_owned(),
                expected: expected.into_iter().collect(),
                found: found.map(|f| f.into_iter().collect()),
            });
        }
    }
    problems.missing.sort();
    problems.missing.dedup();
    problems
        .mismatched
        .sort_by(|a, b| a.property.cmp(&b.property));
    problems
        .mismatched
        .dedup_by(|a, b| a.property == b.property);
    problems
}

/// The workflow operations. Holds no connection: every operation takes the
/// transaction or snapshot to run in.
#[derive(Debug, Clone)]
pub struct Workflows {
    _private: (),
}

fn edge_entity(graph: &str, key: &str) -> Entity {
    Entity::Edge {
        graph: graph.to_owned(),
        key: key.to_owned(),
    }
}

/// The refusal of a flow that breaks the flow rule, naming its edge.
fn flow_error(graph: &str, flow: BrokenFlow) -> Error {
    Error::Flow {
        entity: edge_entity(graph, &flow.edge),
        flow: Box::new(flow),
    }
}

/// The `input` and `output` schemas of operation `key`.
fn schemas(reader: &Reader, graph: &str, key: &str) -> Result<(Value, Value)> {
    let node = reader.node(graph, key)?.ok_or_else(|| Error::NotFound {
        entity: Entity::Node {
            graph: graph.to_owned(),
            key: key.to_owned(),
        },
    })?;
    let get = |name: &str| {
        node.attributes
            .get(name)
            .cloned()
            .unwrap_or(Value::Bool(true))
    };
    Ok((get("input"), get("output")))
}

fn require_workflow(reader: &Reader, graph: &str) -> Result<()> {
    crate::metagraph::require_graph_of_type(reader, graph, GRAPH_TYPE)
}

impl Workflows {
    /// Ensures the `workflow` graph type and its node and edge types in
    /// `store` (a no-op when they are up to date).
    ///
    /// # Errors
    ///
    /// [`Error::Revalidation`] if stored operations fail an updated schema;
    /// [`Error::Sqlite`] on a storage failure.
    pub fn open(store: &Store) -> Result<Workflows> {
        store.write(ensure)?;
        Ok(Workflows { _private: () })
    }

    /// Creates an empty workflow.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if a graph of that name exists.
    pub fn create(&self, tx: &mut WriteTxn<'_>, name: &str) -> Result<Graph> {
        tx.as_domain(|tx| tx.create_graph(name, GRAPH_TYPE))
    }

    /// Adds operation `key`. Its `input` and `output` must be valid JSON
    /// Schemas.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] naming the operation if `input` or `output`
    /// does not compile; [`Error::AlreadyExists`] if the key is taken;
    /// [`Error::NotFound`] / [`Error::Invalid`] if the graph does not exist
    /// or is not a workflow.
    pub fn add_operation(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
        operation: &Operation,
    ) -> Result<()> {
        require_workflow(tx, graph)?;
        check_schemas(graph, key, operation)?;
        tx.as_domain(|tx| {
            tx.add_node(
                graph,
                key,
                OPERATION,
                &Value::Object(operation.attributes.clone()),
            )
        })
    }

    /// Replaces operation `key`'s attributes, checking every flow into and
    /// out of it against its new schemas.
    ///
    /// # Errors
    ///
    /// As [`add_operation`](Workflows::add_operation), [`Error::NotFound`]
    /// if the operation does not exist, and [`Error::Invalid`] naming the
    /// first edge (in key order) whose flow the new schemas break.
    pub fn replace_operation(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
        operation: &Operation,
    ) -> Result<()> {
        require_workflow(tx, graph)?;
        check_schemas(graph, key, operation)?;
        tx.as_domain(|tx| {
            tx.replace_node(graph, key, &Value::Object(operation.attributes.clone()))
        })?;
        let (input, output) = schemas(tx, graph, key)?;
        for n in tx.neighbors(graph, key, Direction::Both, Some(FLOWS_TO))? {
            let edge = tx.edge(graph, &n.edge)?.ok_or_else(|| Error::NotFound {
                entity: edge_entity(graph, &n.edge),
            })?;
            let problems = if edge.source == key {
                compatibility(&output, &schemas(tx, graph, &edge.target)?.0)
            } else {
                compatibility(&schemas(tx, graph, &edge.source)?.1, &input)
            };
            if !problems.is_empty() {
                return Err(flow_error(
                    graph,
                    BrokenFlow {
                        edge: edge.key,
                        source: edge.source,
                        target: edge.target,
                        problems,
                    },
                ));
            }
        }
        Ok(())
    }

    /// Adds a `flows_to` edge from `from` to `to` with a generated key
    /// (a UUIDv7), which it returns.
    ///
    /// # Errors
    ///
    /// As [`connect_as`](Workflows::connect_as).
    pub fn connect(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        from: &str,
        to: &str,
    ) -> Result<String> {
        let key = uuid::Uuid::now_v7().to_string();
        self.connect_as(tx, graph, &key, from, to)?;
        Ok(key)
    }

    /// Adds the `flows_to` edge `key` from `from` to `to`, if `from`'s output
    /// satisfies `to`'s input.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the edge and every missing or mismatched
    /// property; [`Error::NotFound`] if either operation does not exist;
    /// [`Error::Cycle`] if the flow would close a cycle; the other rules of
    /// [`WriteTxn::add_edge`].
    pub fn connect_as(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
        from: &str,
        to: &str,
    ) -> Result<()> {
        require_workflow(tx, graph)?;
        let (_, output) = schemas(tx, graph, from)?;
        let (input, _) = schemas(tx, graph, to)?;
        let problems = compatibility(&output, &input);
        if !problems.is_empty() {
            return Err(flow_error(
                graph,
                BrokenFlow {
                    edge: key.to_owned(),
                    source: from.to_owned(),
                    target: to.to_owned(),
                    problems,
                },
            ));
        }
        tx.as_domain(|tx| tx.add_edge(graph, NewEdge::new(FLOWS_TO, from, to).key(key)))?;
        Ok(())
    }

    /// Drops workflow `name` with its operations and flows.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`]
    /// if it is not a workflow.
    pub fn drop_graph(&self, tx: &mut WriteTxn<'_>, name: &str) -> Result<()> {
        require_workflow(tx, name)?;
        tx.as_domain(|tx| tx.drop_graph(name))
    }

    /// Removes operation `key` with every flow into and out of it (removing
    /// never breaks the flow rule).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or operation does not exist;
    /// [`Error::Invalid`] if the graph is not a workflow.
    pub fn remove_operation(&self, tx: &mut WriteTxn<'_>, graph: &str, key: &str) -> Result<()> {
        require_workflow(tx, graph)?;
        tx.as_domain(|tx| tx.remove_node(graph, key))
    }

    /// Removes the `flows_to` edge `key`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or edge does not exist;
    /// [`Error::Invalid`] if the graph is not a workflow.
    pub fn disconnect(&self, tx: &mut WriteTxn<'_>, graph: &str, key: &str) -> Result<()> {
        require_workflow(tx, graph)?;
        tx.as_domain(|tx| tx.remove_edge(graph, key))
    }

    /// Imports a graphology document as a workflow (see
    /// [`import_graphology`](crate::interop::import_graphology)) with the
    /// rules of [`add_operation`](Workflows::add_operation) and
    /// [`connect_as`](Workflows::connect_as): every operation's schemas
    /// compile and every flow joins compatible schemas.
    ///
    /// # Errors
    ///
    /// Those of [`import_graphology`](crate::interop::import_graphology),
    /// with the graph type fixed to `workflow`; [`Error::InvalidSchema`]
    /// naming an operation whose schema does not compile;
    /// [`Error::Invalid`] naming the first edge (in key order) whose flow
    /// is incompatible. The caller's transaction then holds a partial
    /// import: drop it to roll back.
    pub fn import_graphology(
        &self,
        tx: &mut WriteTxn<'_>,
        doc: &Value,
        options: &crate::interop::ImportOptions,
    ) -> Result<crate::interop::Imported> {
        let options = options.clone().graph_type(GRAPH_TYPE);
        let imported = tx.as_domain(|tx| crate::interop::import_graphology(tx, doc, &options))?;
        if let Some(problem) = problems(tx, &imported.graph)?.into_iter().next() {
            return Err(problem);
        }
        Ok(imported)
    }

    /// Every edge of `graph` that breaks the flow rule (after rows changed
    /// around the engine), in key order.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Invalid`] if the graph does not exist
    /// or is not a workflow.
    ///
    /// # Complexity
    ///
    /// O(V + E) rows read; each edge checked once.
    pub fn check(&self, reader: &Reader, graph: &str) -> Result<Vec<BrokenFlow>> {
        require_workflow(reader, graph)?;
        let operations: std::collections::HashMap<String, (Value, Value)> =
            crate::interop::all_nodes(reader, graph, None)?
                .into_iter()
                .map(|n| {
                    let get =
                        |name: &str| n.attributes.get(name).cloned().unwrap_or(Value::Bool(true));
                    let schemas = (get("input"), get("output"));
                    (n.key, schemas)
                })
                .collect();
        let mut broken = Vec::new();
        for edge in crate::interop::all_edges(reader, graph, Some(FLOWS_TO))? {
            let (Some(source), Some(target)) =
                (operations.get(&edge.source), operations.get(&edge.target))
            else {
                continue;
            };
            let problems = compatibility(&source.1, &target.0);
            if !problems.is_empty() {
                broken.push(BrokenFlow {
                    edge: edge.key,
                    source: edge.source,
                    target: edge.target,
                    problems,
                });
            }
        }
        Ok(broken)
    }

    /// Every operation, each after every operation that flows into it;
    /// among those available at the same point, the smaller key first.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Invalid`] if the graph does not exist
    /// or is not a workflow.
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O((V + E) log V).
    pub fn order(&self, reader: &Reader, graph: &str) -> Result<Vec<String>> {
        require_workflow(reader, graph)?;
        let dag = Dag::load(reader, graph, First::Source, false)?;
        let order = dag.order(graph)?;
        Ok(dag.keys_of(order))
    }
}

/// Every break of the workflow's rules in `graph`: operations whose
/// schemas do not compile, then flows that join incompatible schemas.
/// The import and `verify` apply this one rule.
pub(crate) fn problems(reader: &Reader, graph: &str) -> Result<Vec<Error>> {
    let mut problems = Vec::new();
    for node in crate::interop::all_nodes(reader, graph, None)? {
        let operation = Operation {
            attributes: node.attributes,
        };
        if let Err(e) = check_schemas(graph, &node.key, &operation) {
            problems.push(e);
        }
    }
    let flows = Workflows { _private: () };
    for broken in flows.check(reader, graph)? {
        problems.push(flow_error(graph, broken));
    }
    Ok(problems)
}

fn check_schemas(graph: &str, key: &str, operation: &Operation) -> Result<()> {
    for side in ["input", "output"] {
        if let Some(schema) = operation.attributes.get(side) {
            crate::check_schema(schema).map_err(|reason| Error::InvalidSchema {
                entity: Entity::Node {
                    graph: graph.to_owned(),
                    key: key.to_owned(),
                },
                reason: format!("{side}: {reason}"),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_embedded_schemas_compile() {
        for (name, text) in [(OPERATION, OPERATION_SCHEMA), (FLOWS_TO, FLOWS_TO_SCHEMA)] {
            let schema = crate::taskgraph::schema::parse(name, text).unwrap();
            crate::check_schema(&schema).unwrap();
        }
    }

    #[test]
    fn type_sets_are_compared_one_output_type_at_a_time() {
        let input = json!({"properties": {"x": {"type": ["string", "number"]}}, "required": ["x"]});
        let ok = json!({"properties": {"x": {"type": ["integer", "string"]}}});
        assert!(compatibility(&ok, &input).is_empty());
        let bad = json!({"properties": {"x": {"type": ["string", "null"]}}});
        assert_eq!(
            compatibility(&bad, &input).to_string(),
            r#""x" (needs number or string, gets null or string)"#
        );
        let untyped = json!({"properties": {"x": {}}});
        assert_eq!(
            compatibility(&untyped, &input).to_string(),
            r#""x" (needs number or string, gets no declared type)"#
        );
        // Boolean schemas: `true` requires nothing and provides nothing.
        assert!(compatibility(&json!(true), &json!(true)).is_empty());
        assert_eq!(
            compatibility(&json!(true), &json!({"required": ["y", "y"]})).missing,
            ["y"]
        );
    }
}
