//! The metagraph, checked for [`verify`](crate::verify()) against the rules
//! its writes keep: graph type configs and graph schemas, node and edge type
//! schemas and allowed endpoints, every graph's, node's and edge's
//! attributes against its type, every edge's endpoints, direction and
//! self-loop, parallel edges where the graph type is not `multi`, and the
//! acyclic graphs' cycles and kept topological orders. The type and graph
//! checks load the [`Catalog`] the checks after them read.

use std::collections::HashSet;

use rusqlite::types::ValueRef;
use rusqlite::Row;
use serde_json::Value;

use super::{find_cycle, EdgeEnd, RuleBreak};
use crate::error::{Entity, Error, Result};
use crate::metagraph::catalog::{Endpoints, GraphConfig, GraphKind};
use crate::schema::{self, CompiledSchema};
use crate::verify::catalog::{show_id, Catalog, GraphInfo, GraphTypeInfo, TypeInfo};
use crate::verify::report::{
    int, is_environmental, opt_text, text, ProblemKind, Verifier, VerifyReport,
};

/// Loads the graph types; each config must parse and be consistent.
pub(crate) fn graph_types(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        conn,
        catalog,
        report,
        ..
    } = v;
    let mut stmt =
        conn.prepare("SELECT id, name, config, graph_schema, version FROM graph_types")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (id, name, config) = (row.get::<_, i64>(0)?, text(row, 1)?, text(row, 2)?);
        let entity = Entity::GraphType(name.clone());
        let graph_schema = match opt_text(row, 3)? {
            None => None,
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(schema) => match schema::compile(&schema, int(row, 4)?.unwrap_or(0)) {
                    Ok(compiled) => Some(compiled),
                    Err(reason) => {
                        report.about(
                            ProblemKind::SchemaViolation,
                            &entity,
                            format_args!("its graph schema does not compile: {reason}"),
                        );
                        None
                    }
                },
                Err(e) => {
                    report.about(
                        ProblemKind::SchemaViolation,
                        &entity,
                        format_args!("its graph schema is not valid JSON: {e}"),
                    );
                    None
                }
            },
        };
        let config = match serde_json::from_str::<GraphConfig>(&config) {
            Ok(config) => {
                if config.acyclic && config.kind != GraphKind::Directed {
                    report.about(
                        ProblemKind::Structure,
                        &entity,
                        "its config is acyclic but not directed",
                    );
                }
                Some(config)
            }
            Err(e) => {
                report.about(
                    ProblemKind::Structure,
                    &entity,
                    format_args!("its config is not valid: {e}"),
                );
                None
            }
        };
        catalog.graph_types.insert(
            id,
            GraphTypeInfo {
                name,
                config,
                graph_schema,
            },
        );
    }
    Ok(())
}

/// Loads the node and edge types; each schema must parse and compile, and
/// each allowed-endpoint list must parse.
pub(crate) fn item_types(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        conn,
        catalog,
        report,
        ..
    } = v;
    for node_table in [true, false] {
        let sql = if node_table {
            "SELECT id, name, graph_type_id, schema, version, NULL, NULL FROM node_types"
        } else {
            "SELECT id, name, graph_type_id, schema, version, allowed_source, allowed_target
               FROM edge_types"
        };
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let name = text(row, 1)?;
            let graph_type_id = int(row, 2)?;
            let graph_type = catalog.graph_type_name(graph_type_id);
            let entity = if node_table {
                Entity::NodeType {
                    graph_type,
                    name: name.clone(),
                }
            } else {
                Entity::EdgeType {
                    graph_type,
                    name: name.clone(),
                }
            };
            let version = int(row, 4)?.unwrap_or(0);
            let compiled = compiled_schema(report, &entity, &text(row, 3)?, version);
            let endpoints = allowed_endpoints(report, &entity, row)?;
            let info = TypeInfo {
                name,
                graph_type_id,
                compiled,
                endpoints,
            };
            let map = if node_table {
                &mut catalog.node_types
            } else {
                &mut catalog.edge_types
            };
            map.insert(id, info);
        }
    }
    Ok(())
}

/// A type's schema, compiled; `None`, reported, when it does not parse or
/// compile.
fn compiled_schema(
    report: &mut VerifyReport,
    entity: &Entity,
    stored: &str,
    version: i64,
) -> Option<CompiledSchema> {
    match serde_json::from_str::<Value>(stored) {
        Ok(schema) => match schema::compile(&schema, version) {
            Ok(compiled) => Some(compiled),
            Err(reason) => {
                report.about(
                    ProblemKind::SchemaViolation,
                    entity,
                    format_args!("its schema does not compile: {reason}"),
                );
                None
            }
        },
        Err(e) => {
            report.about(
                ProblemKind::SchemaViolation,
                entity,
                format_args!("its schema is not valid JSON: {e}"),
            );
            None
        }
    }
}

/// An edge type's allowed source and target types (columns 5 and 6);
/// `None`, reported, when a list does not parse.
fn allowed_endpoints(
    report: &mut VerifyReport,
    entity: &Entity,
    row: &Row<'_>,
) -> Result<Option<Endpoints>> {
    let mut endpoints = Some(Endpoints::default());
    for (end, column) in [("source", 5), ("target", 6)] {
        let Some(list) = opt_text(row, column)? else {
            continue;
        };
        match serde_json::from_str::<Vec<String>>(&list) {
            Ok(names) => {
                if let Some(endpoints) = endpoints.as_mut() {
                    match end {
                        "source" => endpoints.source = Some(names),
                        _ => endpoints.target = Some(names),
                    }
                }
            }
            Err(e) => {
                report.about(
                    ProblemKind::Structure,
                    entity,
                    format_args!("its allowed {end} types are not valid: {e}"),
                );
                endpoints = None;
            }
        }
    }
    Ok(endpoints)
}

/// Allowed endpoint types must be node types of the edge type's graph type.
pub(crate) fn endpoint_types(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        catalog, report, ..
    } = v;
    let mut edge_types: Vec<(&i64, &TypeInfo)> = catalog.edge_types.iter().collect();
    edge_types.sort_by_key(|(id, _)| **id);
    for (_, edge_type) in edge_types {
        let Some(endpoints) = &edge_type.endpoints else {
            continue;
        };
        for name in endpoints.source.iter().chain(&endpoints.target).flatten() {
            let known = catalog
                .node_types
                .values()
                .any(|t| t.graph_type_id == edge_type.graph_type_id && &t.name == name);
            if !known {
                let entity = Entity::EdgeType {
                    graph_type: catalog.graph_type_name(edge_type.graph_type_id),
                    name: edge_type.name.clone(),
                };
                report.about(
                    ProblemKind::Structure,
                    &entity,
                    format_args!("allowed endpoint {name:?} is not a node type of its graph type"),
                );
            }
        }
    }
    Ok(())
}

/// Loads the graphs; each graph's own attributes must be a JSON object
/// valid against its graph type's graph schema, and its graphology options
/// (when kept) an object.
pub(crate) fn graphs(v: &mut Verifier<'_>) -> Result<()> {
    let mut stmt = v
        .conn
        .prepare("SELECT id, name, graph_type_id, attributes, graphology_options FROM graphs")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let graph = GraphInfo {
            name: text(row, 1)?,
            graph_type_id: int(row, 2)?,
        };
        let entity = Entity::Graph(graph.name.clone());
        let schema = graph
            .graph_type_id
            .and_then(|id| v.catalog.graph_types.get(&id))
            .and_then(|t| t.graph_schema.as_ref());
        attributes(&mut v.report, &entity, row.get_ref(3)?, schema);
        if let Some(options) = opt_text(row, 4)? {
            if !matches!(
                serde_json::from_str::<Value>(&options),
                Ok(Value::Object(_))
            ) {
                v.report.about(
                    ProblemKind::Structure,
                    &entity,
                    "its graphology options are not a JSON object",
                );
            }
        }
        v.report.graphs += 1;
        v.catalog.graphs.insert(id, graph);
    }
    Ok(())
}

/// Every node: its type belongs to its graph's type, and its attributes are
/// a JSON object valid against the type's current schema.
pub(crate) fn nodes(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        conn,
        catalog,
        report,
        progress,
        ..
    } = v;
    let mut stmt = conn.prepare("SELECT graph_id, key, node_type_id, attributes FROM nodes")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        report.nodes += 1;
        progress.row(report);
        // A missing graph or type row is the foreign-key check's to report.
        let Some(graph) = int(row, 0)?.and_then(|id| catalog.graphs.get(&id)) else {
            continue;
        };
        let Some(node_type) = int(row, 2)?.and_then(|id| catalog.node_types.get(&id)) else {
            continue;
        };
        let entity = Entity::Node {
            graph: graph.name.clone(),
            key: text(row, 1)?,
        };
        same_graph_type(report, catalog, &entity, graph, node_type, "node type");
        attributes(
            report,
            &entity,
            row.get_ref(3)?,
            node_type.compiled.as_ref(),
        );
    }
    Ok(())
}

/// Every edge: endpoints present, in its graph and of allowed node types;
/// direction and self-loops as the graph type says; attributes valid.
pub(crate) fn edges(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        conn,
        catalog,
        report,
        progress,
        ..
    } = v;
    let mut stmt = conn.prepare(
        "SELECT e.graph_id, e.key, e.edge_type_id, e.source, e.target, e.undirected, e.attributes,
                s.id, s.graph_id, s.node_type_id, s.key,
                t.id, t.graph_id, t.node_type_id, t.key
           FROM edges e LEFT JOIN nodes s ON s.id = e.source LEFT JOIN nodes t ON t.id = e.target",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        report.edges += 1;
        progress.row(report);
        let graph_id = int(row, 0)?;
        let Some(graph) = graph_id.and_then(|id| catalog.graphs.get(&id)) else {
            continue;
        };
        let entity = Entity::Edge {
            graph: graph.name.clone(),
            key: text(row, 1)?,
        };
        let edge_type = int(row, 2)?.and_then(|id| catalog.edge_types.get(&id));
        if let Some(edge_type) = edge_type {
            same_graph_type(report, catalog, &entity, graph, edge_type, "edge type");
        }
        let ends = edge_ends(report, catalog, &entity, row, graph_id, edge_type)?;
        if let Some((graph_type, config)) = catalog.config_of(graph) {
            edge_shape(report, &entity, row, graph_type, config, &ends)?;
        }
        attributes(
            report,
            &entity,
            row.get_ref(6)?,
            edge_type.and_then(|t| t.compiled.as_ref()),
        );
    }
    Ok(())
}

/// Checks an edge's source and target: present, in the edge's graph, and
/// of node types its edge type allows. Returns the keys of those in its
/// graph.
fn edge_ends(
    report: &mut VerifyReport,
    catalog: &Catalog,
    entity: &Entity,
    row: &Row<'_>,
    graph_id: Option<i64>,
    edge_type: Option<&TypeInfo>,
) -> Result<Vec<String>> {
    let mut ends = Vec::with_capacity(2);
    for (end, reference, found) in [(EdgeEnd::Source, 3, 7), (EdgeEnd::Target, 4, 11)] {
        if int(row, found)?.is_none() {
            report.about(
                ProblemKind::DanglingEndpoint,
                entity,
                format_args!(
                    "its {end} node (nodes row {}) does not exist",
                    show_id(int(row, reference)?)
                ),
            );
            continue;
        }
        let (node_graph, node_type, key) = (
            int(row, found + 1)?,
            int(row, found + 2)?,
            text(row, found + 3)?,
        );
        if node_graph != graph_id {
            report.about(
                ProblemKind::DanglingEndpoint,
                entity,
                format_args!(
                    "its {end} node {key:?} is in graph {:?}, not in the edge's graph",
                    catalog.graph_name(node_graph)
                ),
            );
            continue;
        }
        ends.push(key.clone());
        let node_type = node_type.and_then(|id| catalog.node_types.get(&id));
        if let (Some(edge_type), Some(node_type)) = (edge_type, node_type) {
            allowed_end(report, entity, end, &key, edge_type, node_type);
        }
    }
    Ok(ends)
}

/// Reports an `end` node whose type `edge_type` does not allow there.
fn allowed_end(
    report: &mut VerifyReport,
    entity: &Entity,
    end: EdgeEnd,
    key: &str,
    edge_type: &TypeInfo,
    node_type: &TypeInfo,
) {
    let Some(endpoints) = &edge_type.endpoints else {
        return;
    };
    let allowed = match end {
        EdgeEnd::Source => endpoints.allows_source(&node_type.name),
        EdgeEnd::Target => endpoints.allows_target(&node_type.name),
    };
    if !allowed {
        let rule = RuleBreak::EndpointType {
            edge_type: edge_type.name.clone(),
            end,
            node: key.to_owned(),
            node_type: node_type.name.clone(),
        };
        report.about(ProblemKind::Structure, entity, rule);
    }
}

/// An edge's direction and self-loop against its graph type's `config`;
/// `ends` are the keys of its endpoints.
fn edge_shape(
    report: &mut VerifyReport,
    entity: &Entity,
    row: &Row<'_>,
    graph_type: &str,
    config: GraphConfig,
    ends: &[String],
) -> Result<()> {
    let undirected = int(row, 5)?.unwrap_or(0) != 0;
    let directed = match (config.kind, undirected) {
        (GraphKind::Directed, true) => Some(true),
        (GraphKind::Undirected, false) => Some(false),
        _ => None,
    };
    if let Some(directed) = directed {
        let rule = RuleBreak::Direction {
            graph_type: graph_type.to_owned(),
            directed,
        };
        report.about(ProblemKind::Structure, entity, rule);
    }
    let self_loop = int(row, 3)?.is_some() && int(row, 3)? == int(row, 4)?;
    if self_loop && !config.allow_self_loops {
        let rule = RuleBreak::SelfLoop {
            graph_type: graph_type.to_owned(),
            node: ends.first().map_or("?", String::as_str).to_owned(),
        };
        report.about(ProblemKind::Structure, entity, rule);
    }
    Ok(())
}

/// No two edges of the same type join the same endpoints (in either order
/// when both are undirected) in a graph whose type is not `multi`. Each edge
/// with an earlier parallel is reported once.
pub(crate) fn parallel_edges(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        conn,
        catalog,
        report,
        ..
    } = v;
    let mut stmt = conn.prepare(
        "SELECT a.graph_id, a.key, b.id, b.key, b.edge_type_id, s.key, t.key
           FROM edges a JOIN edges b
             ON b.source = a.source AND b.target = a.target AND b.edge_type_id = a.edge_type_id
            AND b.undirected = a.undirected AND b.graph_id = a.graph_id AND b.id > a.id
           LEFT JOIN nodes s ON s.id = b.source LEFT JOIN nodes t ON t.id = b.target
         UNION ALL
         SELECT a.graph_id, a.key, b.id, b.key, b.edge_type_id, s.key, t.key
           FROM edges a JOIN edges b
             ON b.source = a.target AND b.target = a.source AND b.edge_type_id = a.edge_type_id
            AND a.undirected = 1 AND b.undirected = 1 AND b.graph_id = a.graph_id
            AND b.id > a.id AND a.source != a.target
           LEFT JOIN nodes s ON s.id = b.source LEFT JOIN nodes t ON t.id = b.target",
    )?;
    let mut rows = stmt.query([])?;
    let mut reported = HashSet::new();
    while let Some(row) = rows.next()? {
        let Some(graph) = int(row, 0)?.and_then(|id| catalog.graphs.get(&id)) else {
            continue;
        };
        let Some((graph_type, config)) = catalog.config_of(graph) else {
            continue;
        };
        if config.multi || !reported.insert(row.get::<_, i64>(2)?) {
            continue;
        }
        let edge_type = int(row, 4)?
            .and_then(|id| catalog.edge_types.get(&id))
            .map_or_else(|| "?".to_owned(), |t| t.name.clone());
        let entity = Entity::Edge {
            graph: graph.name.clone(),
            key: text(row, 3)?,
        };
        let rule = RuleBreak::Parallel {
            graph_type: graph_type.to_owned(),
            existing: text(row, 1)?,
            edge_type,
            source: opt_text(row, 5)?.unwrap_or_default(),
            target: opt_text(row, 6)?.unwrap_or_default(),
        };
        report.about(ProblemKind::Structure, &entity, rule);
    }
    Ok(())
}

/// Every graph of an acyclic type: no directed cycle (one is named per
/// graph) and, when there is none, a kept topological order that agrees with
/// every edge, so that later inserts are still checked correctly.
pub(crate) fn acyclic_graphs(v: &mut Verifier<'_>) -> Result<()> {
    let Verifier {
        conn,
        catalog,
        report,
        ..
    } = v;
    let mut graphs: Vec<(i64, &GraphInfo, &str)> = catalog
        .graphs
        .iter()
        .filter_map(|(id, graph)| {
            let (graph_type, config) = catalog.config_of(graph)?;
            config.acyclic.then_some((*id, graph, graph_type))
        })
        .collect();
    graphs.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (id, graph, graph_type) in graphs {
        let entity = Entity::Graph(graph.name.clone());
        match find_cycle(conn, id) {
            Ok(Some(cycle)) => {
                let keys: Vec<String> = cycle.iter().map(|k| format!("{k:?}")).collect();
                report.about(
                    ProblemKind::Cycle,
                    &entity,
                    format_args!(
                        "has the cycle {}, which graph type {graph_type:?} (acyclic) forbids",
                        keys.join(" -> ")
                    ),
                );
                continue;
            }
            Ok(None) => {}
            Err(err) if is_environmental(&err) => return Err(err),
            Err(err) => {
                report.about(
                    ProblemKind::Integrity,
                    &entity,
                    format_args!("could not be searched for cycles: {err}"),
                );
                continue;
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT e.key, s.key, t.key FROM edges e
               JOIN nodes s ON s.id = e.source JOIN nodes t ON t.id = e.target
              WHERE e.graph_id = ?1 AND coalesce(s.topo, s.id) > coalesce(t.topo, t.id)",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let edge = Entity::Edge {
                graph: graph.name.clone(),
                key: text(row, 0)?,
            };
            report.about(
                ProblemKind::Structure,
                &edge,
                format_args!(
                    "its source {:?} comes after its target {:?} in the graph's kept topological order",
                    text(row, 1)?,
                    text(row, 2)?
                ),
            );
        }
    }
    Ok(())
}

/// Reports an item whose type belongs to a graph type other than its graph's.
fn same_graph_type(
    report: &mut VerifyReport,
    catalog: &Catalog,
    entity: &Entity,
    graph: &GraphInfo,
    item_type: &TypeInfo,
    what: &str,
) {
    if item_type.graph_type_id != graph.graph_type_id {
        report.about(
            ProblemKind::Structure,
            entity,
            format_args!(
                "its {what} {:?} belongs to graph type {:?}, not to the graph's type {:?}",
                item_type.name,
                catalog.graph_type_name(item_type.graph_type_id),
                catalog.graph_type_name(graph.graph_type_id)
            ),
        );
    }
}

/// Reports attributes that are not a JSON object valid against `compiled`
/// (when the type's schema could be compiled).
fn attributes(
    report: &mut VerifyReport,
    entity: &Entity,
    raw: ValueRef<'_>,
    compiled: Option<&CompiledSchema>,
) {
    let stored_as = match raw {
        ValueRef::Text(bytes) => match serde_json::from_slice::<Value>(bytes) {
            Ok(document @ Value::Object(_)) => {
                let violations = compiled
                    .map(|c| c.violations(&document))
                    .unwrap_or_default();
                if !violations.is_empty() {
                    let error = Error::SchemaViolation {
                        entity: entity.clone(),
                        violations,
                    };
                    report.add(ProblemKind::SchemaViolation, error.to_string());
                }
                return;
            }
            Ok(other) => format!("a JSON {}", crate::limits::kind_of(&other)),
            Err(e) => {
                report.about(
                    ProblemKind::SchemaViolation,
                    entity,
                    format_args!("attributes are not valid JSON: {e}"),
                );
                return;
            }
        },
        ValueRef::Null => "SQL NULL".to_owned(),
        ValueRef::Integer(_) | ValueRef::Real(_) => "an SQL number".to_owned(),
        ValueRef::Blob(_) => "an SQL blob".to_owned(),
    };
    report.about(
        ProblemKind::SchemaViolation,
        entity,
        format_args!("attributes are {stored_as}, not a JSON object"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_name_what_they_are_stored_as() {
        let entity = Entity::Node {
            graph: "g".into(),
            key: "k".into(),
        };
        let mut report = VerifyReport::new();
        attributes(&mut report, &entity, ValueRef::Text(b"[1]"), None);
        attributes(&mut report, &entity, ValueRef::Text(b"{"), None);
        attributes(&mut report, &entity, ValueRef::Null, None);
        attributes(&mut report, &entity, ValueRef::Text(b"{}"), None);
        let messages: Vec<&str> = report
            .problems()
            .iter()
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[0],
            r#"node "k" in graph "g": attributes are a JSON array, not a JSON object"#
        );
        assert!(
            messages[1].starts_with(r#"node "k" in graph "g": attributes are not valid JSON: "#)
        );
        assert_eq!(
            messages[2],
            r#"node "k" in graph "g": attributes are SQL NULL, not a JSON object"#
        );
    }
}
