//! A directed acyclic graph in memory, loaded in one pass from the store,
//! and the algorithms on it: topological order, generations, longest path
//! (the graph module's, shared with every graph's `Reader` methods).

use rusqlite::Connection;

use crate::metagraph::{generations, longest_path, topological_order, IdIndex};
use crate::{Entity, Error, Reader, Result};

/// Nodes in key order (index order is key order), with the nodes that must
/// come before each one and after it.
pub(crate) struct Dag {
    pub(crate) keys: Vec<String>,
    /// The node's `status` attribute, when it is a string.
    pub(crate) status: Vec<Option<String>>,
    /// The node's `duration` attribute, when it is a number (else 0).
    pub(crate) duration: Vec<f64>,
    pub(crate) before: Vec<Vec<u32>>,
    pub(crate) after: Vec<Vec<u32>>,
}

/// Which end of an edge comes first in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum First {
    /// `depends_on`: the target is done before the source.
    Target,
    /// `flows_to`: the source runs before the target.
    Source,
}

impl Dag {
    /// Loads graph `graph` (which must exist): two queries, O(V + E) rows.
    /// With `attributes`, each node's `status` and `duration` are read too.
    pub(crate) fn load(
        reader: &Reader,
        graph: &str,
        first: First,
        attributes: bool,
    ) -> Result<Dag> {
        let conn: &Connection = reader.conn();
        let graph_id = crate::metagraph::graph_id(conn, graph)?;
        let mut dag = Dag {
            keys: Vec::new(),
            status: Vec::new(),
            duration: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
        };
        let mut ids: Vec<i64> = Vec::new();
        let mut nodes = conn.prepare_cached(if attributes {
            "SELECT id, key, json_extract(attributes, '$.status'),
                    json_extract(attributes, '$.duration')
               FROM nodes WHERE graph_id = ?1 ORDER BY key"
        } else {
            "SELECT id, key, NULL, NULL FROM nodes WHERE graph_id = ?1 ORDER BY key"
        })?;
        let mut rows = nodes.query([graph_id])?;
        while let Some(row) = rows.next()? {
            ids.push(row.get(0)?);
            dag.keys.push(row.get(1)?);
            dag.status.push(match row.get_ref(2)? {
                rusqlite::types::ValueRef::Text(text) => {
                    Some(String::from_utf8_lossy(text).into_owned())
                }
                _ => None,
            });
            dag.duration.push(match row.get_ref(3)? {
                rusqlite::types::ValueRef::Integer(i) => i as f64,
                rusqlite::types::ValueRef::Real(f) => f,
                _ => 0.0,
            });
        }
        let index = IdIndex::new(&ids);
        let n = dag.keys.len();
        dag.before = vec![Vec::new(); n];
        dag.after = vec![Vec::new(); n];
        let mut edges =
            conn.prepare_cached("SELECT source, target FROM edges WHERE graph_id = ?1")?;
        let mut rows = edges.query([graph_id])?;
        while let Some(row) = rows.next()? {
            let (Some(s), Some(t)) = (index.get(row.get(0)?), index.get(row.get(1)?)) else {
                continue;
            };
            let (earlier, later) = match first {
                First::Target => (t, s),
                First::Source => (s, t),
            };
            dag.before[later as usize].push(earlier);
            dag.after[earlier as usize].push(later);
        }
        Ok(dag)
    }

    /// The cycle (node indices, the first repeated last) that leaves
    /// `graph` without an order, named by its keys.
    fn cycle_error(&self, graph: &str, cycle: Vec<u32>) -> Error {
        Error::Cycle {
            entity: Entity::Graph(graph.to_owned()),
            cycle: cycle
                .into_iter()
                .map(|i| self.keys[i as usize].clone())
                .collect(),
        }
    }

    /// Node indices in topological order; among the nodes available at each
    /// step, the smallest key first. See [`crate::metagraph::topological_order`].
    ///
    /// O((V + E) log V).
    pub(crate) fn order(&self, graph: &str) -> Result<Vec<u32>> {
        topological_order(&self.before, &self.after).map_err(|cycle| self.cycle_error(graph, cycle))
    }

    /// Layers: the nodes with nothing before them, then the nodes whose
    /// predecessors are all in earlier layers, and so on; each in key order.
    ///
    /// O(V log V + E).
    pub(crate) fn generations(&self, graph: &str) -> Result<Vec<Vec<u32>>> {
        generations(&self.before, &self.after).map_err(|cycle| self.cycle_error(graph, cycle))
    }

    /// The path with the largest total duration (the sum over its nodes),
    /// first node first, and that total. Ties go to the path ending at the
    /// smaller key, and within it to the smaller predecessor key.
    ///
    /// O((V + E) log V).
    pub(crate) fn longest_path(&self, graph: &str) -> Result<(Vec<u32>, f64)> {
        let order = self.order(graph)?;
        Ok(longest_path(&self.before, &order, &self.duration))
    }

    pub(crate) fn keys_of(&self, indices: impl IntoIterator<Item = u32>) -> Vec<String> {
        indices
            .into_iter()
            .map(|i| self.keys[i as usize].clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(keys: &[&str], durations: &[f64], edges: &[(u32, u32)]) -> Dag {
        let n = keys.len();
        let mut dag = Dag {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            status: vec![None; n],
            duration: durations.to_vec(),
            before: vec![Vec::new(); n],
            after: vec![Vec::new(); n],
        };
        for &(a, b) in edges {
            dag.before[b as usize].push(a);
            dag.after[a as usize].push(b);
        }
        dag
    }

    #[test]
    fn order_takes_the_smallest_available_key_first() {
        // a → c, b → c, c → d
        let d = dag(&["a", "b", "c", "d"], &[0.0; 4], &[(0, 2), (1, 2), (2, 3)]);
        assert_eq!(d.order("g").unwrap(), [0, 1, 2, 3]);
        assert_eq!(
            d.generations("g").unwrap(),
            vec![vec![0, 1], vec![2], vec![3]]
        );
    }

    #[test]
    fn a_cycle_has_no_order() {
        let d = dag(&["a", "b"], &[0.0; 2], &[(0, 1), (1, 0)]);
        let err = d.order("g").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"graph "g": has the cycle "a" -> "b" -> "a""#
        );
        assert_eq!(err.kind(), "cycle");
        assert_eq!(err.cycle(), d.generations("g").unwrap_err().cycle());
    }

    #[test]
    fn longest_path_sums_durations_and_breaks_ties_by_key() {
        // a(2) → c(1), b(2) → c: tie between a and b, a wins.
        let d = dag(&["a", "b", "c"], &[2.0, 2.0, 1.0], &[(0, 2), (1, 2)]);
        assert_eq!(d.longest_path("g").unwrap(), (vec![0, 2], 3.0));
        let empty = dag(&[], &[], &[]);
        assert_eq!(empty.longest_path("g").unwrap(), (vec![], 0.0));
    }
}
