//! Whole-graph checks: a graph type's new rules against its existing graphs,
//! a type's new schema against its existing instances.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::rulebreak::RuleBreak;
use crate::error::{Entity, Error, Result};
use crate::metagraph::catalog::{Endpoints, GraphConfig, GraphKind, TypeTable};
use crate::schema::CompiledSchema;

/// How many failing keys a [`Error::Revalidation`] lists.
const FAILING_SHOWN: usize = 20;

/// Checks every graph of graph type `graph_type` (row `graph_type_id`)
/// against `config`: the first edge that breaks one of its rules is refused
/// as the write of that edge would be, and a cycle where `config` is
/// acyclic is named with its graph.
pub(crate) fn check_graphs_against(
    conn: &Connection,
    graph_type: &str,
    graph_type_id: i64,
    config: &GraphConfig,
) -> Result<()> {
    let graphs: Vec<(i64, String)> = conn
        .prepare_cached("SELECT id, name FROM graphs WHERE graph_type_id = ?1 ORDER BY name")?
        .query_map([graph_type_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, name) in graphs {
        if let Some((key, rule)) = rule_broken(conn, graph_type, id, config)? {
            return Err(Error::rule_break(Entity::Edge { graph: name, key }, rule));
        }
        if config.acyclic {
            if let Some(cycle) = find_cycle(conn, id)? {
                return Err(Error::Cycle {
                    entity: Entity::Graph(name),
                    cycle,
                });
            }
        }
    }
    Ok(())
}

/// The first edge of graph `graph_id` that breaks a rule of `config`, by
/// key, with the rule: direction, then self-loops, then parallel edges.
fn rule_broken(
    conn: &Connection,
    graph_type: &str,
    graph_id: i64,
    config: &GraphConfig,
) -> Result<Option<(String, RuleBreak)>> {
    let graph_type = graph_type.to_owned();
    let directed = match config.kind {
        GraphKind::Directed => Some(true),
        GraphKind::Undirected => Some(false),
        GraphKind::Mixed => None,
    };
    if let Some(directed) = directed {
        // An undirected edge in a directed graph, or the other way round.
        let key: Option<String> = conn
            .prepare_cached(AGAINST_DIRECTION)?
            .query_row(params![graph_id, directed], |row| row.get(0))
            .optional()?;
        if let Some(key) = key {
            let rule = RuleBreak::Direction {
                graph_type,
                directed,
            };
            return Ok(Some((key, rule)));
        }
    }
    if !config.allow_self_loops {
        let self_loop: Option<(String, String)> = conn
            .prepare_cached(SELF_LOOP)?
            .query_row([graph_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((key, node)) = self_loop {
            return Ok(Some((key, RuleBreak::SelfLoop { graph_type, node })));
        }
    }
    if !config.multi {
        let parallel: Option<(String, String, String, String, String)> = conn
            .prepare_cached(PARALLEL)?
            .query_row([graph_id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .optional()?;
        if let Some((existing, key, edge_type, source, target)) = parallel {
            let rule = RuleBreak::Parallel {
                graph_type,
                existing,
                edge_type,
                source,
                target,
            };
            return Ok(Some((key, rule)));
        }
    }
    Ok(None)
}

/// The key of the first edge of graph ?1 whose `undirected` flag is ?2.
const AGAINST_DIRECTION: &str =
    "SELECT key FROM edges WHERE graph_id = ?1 AND undirected = ?2 ORDER BY id LIMIT 1";

/// The first self-loop of graph ?1: its key and its node's key.
const SELF_LOOP: &str = "SELECT e.key, s.key FROM edges e JOIN nodes s ON s.id = e.source
      WHERE e.graph_id = ?1 AND e.source = e.target ORDER BY e.id LIMIT 1";

/// The first pair of parallel edges of graph ?1: the earlier edge's key,
/// the later one's, their edge type, and the later one's source and target
/// keys.
const PARALLEL: &str = "SELECT a.key, b.key, t.name, s.key, d.key
       FROM edges a JOIN edges b
         ON b.edge_type_id = a.edge_type_id AND b.undirected = a.undirected AND b.id > a.id
        AND ((b.source = a.source AND b.target = a.target)
             OR (a.undirected = 1 AND b.source = a.target AND b.target = a.source))
       JOIN edge_types t ON t.id = b.edge_type_id
       JOIN nodes s ON s.id = b.source JOIN nodes d ON d.id = b.target
      WHERE a.graph_id = ?1 ORDER BY b.id LIMIT 1";

/// A directed cycle in graph `graph_id`, as node keys with the first
/// repeated at the end, found by iterative depth-first search.
pub(crate) fn find_cycle(conn: &Connection, graph_id: i64) -> Result<Option<Vec<String>>> {
    let mut adjacency: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT source, target FROM edges WHERE graph_id = ?1 AND undirected = 0",
    )?;
    for pair in stmt.query_map([graph_id], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
    })? {
        let (s, t) = pair?;
        adjacency.entry(s).or_default().push(t);
    }
    // 1 = on the current path, 2 = finished.
    let mut state: HashMap<i64, u8> = HashMap::new();
    let mut starts: Vec<i64> = adjacency.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        if state.contains_key(&start) {
            continue;
        }
        let mut path: Vec<(i64, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let successors = adjacency.get(&node).map_or(&[][..], Vec::as_slice);
            if let Some(&succ) = successors.get(*next) {
                *next += 1;
                match state.get(&succ) {
                    Some(1) => {
                        let from = path.iter().position(|(n, _)| *n == succ).unwrap_or(0);
                        let mut ids: Vec<i64> = path[from..].iter().map(|(n, _)| *n).collect();
                        ids.push(succ);
                        let mut keys = Vec::with_capacity(ids.len());
                        for id in ids {
                            keys.push(conn.query_row(
                                "SELECT key FROM nodes WHERE id = ?1",
                                [id],
                                |row| row.get(0),
                            )?);
                        }
                        return Ok(Some(keys));
                    }
                    Some(_) => {}
                    None => {
                        state.insert(succ, 1);
                        path.push((succ, 0));
                    }
                }
            } else {
                state.insert(node, 2);
                path.pop();
            }
        }
    }
    Ok(None)
}

/// Checks every instance of a type against a new schema (and, for edge
/// types, new endpoint rules). On failure returns the first failing
/// `graph/key`s and how many fail.
pub(crate) fn revalidate(
    conn: &Connection,
    table: TypeTable,
    graph_type_id: i64,
    type_id: i64,
    compiled: &CompiledSchema,
    endpoints: &Endpoints,
) -> Result<Option<(Vec<String>, u64)>> {
    let sql = match table {
        TypeTable::Node => {
            "SELECT g.name, n.key, n.attributes, NULL, NULL FROM graphs g
               JOIN nodes n ON n.graph_id = g.id
              WHERE g.graph_type_id = ?1 AND n.node_type_id = ?2"
        }
        TypeTable::Edge => {
            "SELECT g.name, e.key, e.attributes, st.name, tt.name FROM graphs g
               JOIN edges e ON e.graph_id = g.id
               JOIN nodes s ON s.id = e.source JOIN node_types st ON st.id = s.node_type_id
               JOIN nodes t ON t.id = e.target JOIN node_types tt ON tt.id = t.node_type_id
              WHERE g.graph_type_id = ?1 AND e.edge_type_id = ?2"
        }
    };
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(params![graph_type_id, type_id])?;
    let mut failing = Vec::new();
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        let graph: String = row.get(0)?;
        let key: String = row.get(1)?;
        let text: String = row.get(2)?;
        let source_type: Option<String> = row.get(3)?;
        let target_type: Option<String> = row.get(4)?;
        let document: Value = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt(format!("attributes of {key:?} in graph {graph:?}"), e))?;
        let endpoints_ok = source_type
            .as_deref()
            .is_none_or(|t| endpoints.allows_source(t))
            && target_type
                .as_deref()
                .is_none_or(|t| endpoints.allows_target(t));
        if !endpoints_ok || !compiled.violations(&document).is_empty() {
            count += 1;
            if failing.len() < FAILING_SHOWN {
                failing.push(format!("{graph}/{key}"));
            }
        }
    }
    Ok((count > 0).then_some((failing, count)))
}

/// Every instance of a type, as (graph, key), in graph then key order.
pub(crate) fn instances_of(
    conn: &Connection,
    table: TypeTable,
    graph_type_id: i64,
    type_id: i64,
) -> Result<Vec<(String, String)>> {
    let sql = match table {
        TypeTable::Node => {
            "SELECT g.name, n.key FROM graphs g JOIN nodes n ON n.graph_id = g.id
              WHERE g.graph_type_id = ?1 AND n.node_type_id = ?2 ORDER BY g.name, n.key"
        }
        TypeTable::Edge => {
            "SELECT g.name, e.key FROM graphs g JOIN edges e ON e.graph_id = g.id
              WHERE g.graph_type_id = ?1 AND e.edge_type_id = ?2 ORDER BY g.name, e.key"
        }
    };
    let instances = conn
        .prepare_cached(sql)?
        .query_map(params![graph_type_id, type_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(instances)
}
