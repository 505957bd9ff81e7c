//! A directed acyclic graph in memory, loaded in one pass from the store,
//! and the algorithms on it: topological order, generations, longest path.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rusqlite::Connection;

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
        let graph_id = crate::graph::graph_id(conn, graph)?;
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

    fn cycle_error(graph: &str) -> Error {
        Error::invalid(
            Entity::Graph(graph.to_owned()),
            "has a directed cycle, so it has no topological order",
        )
    }

    /// Node indices in topological order; among the nodes available at each
    /// step, the smallest key first (Kahn's algorithm with a min-heap).
    ///
    /// O((V + E) log V).
    pub(crate) fn order(&self, graph: &str) -> Result<Vec<u32>> {
        let n = self.keys.len();
        let mut waiting: Vec<usize> = self.before.iter().map(Vec::len).collect();
        let mut heap: BinaryHeap<Reverse<u32>> = (0..n as u32)
            .filter(|&i| waiting[i as usize] == 0)
            .map(Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(node)) = heap.pop() {
            order.push(node);
            for &next in &self.after[node as usize] {
                let slot = &mut waiting[next as usize];
                *slot -= 1;
                if *slot == 0 {
                    heap.push(Reverse(next));
                }
            }
        }
        if order.len() != n {
            return Err(Self::cycle_error(graph));
        }
        Ok(order)
    }

    /// Layers: the nodes with nothing before them, then the nodes whose
    /// predecessors are all in earlier layers, and so on; each in key order.
    ///
    /// O(V log V + E).
    pub(crate) fn generations(&self, graph: &str) -> Result<Vec<Vec<u32>>> {
        let mut waiting: Vec<usize> = self.before.iter().map(Vec::len).collect();
        let mut layer: Vec<u32> = (0..self.keys.len() as u32)
            .filter(|&i| waiting[i as usize] == 0)
            .collect();
        let mut layers = Vec::new();
        let mut seen = 0;
        while !layer.is_empty() {
            seen += layer.len();
            let mut next = Vec::new();
            for &node in &layer {
                for &later in &self.after[node as usize] {
                    let slot = &mut waiting[later as usize];
                    *slot -= 1;
                    if *slot == 0 {
                        next.push(later);
                    }
                }
            }
            next.sort_unstable();
            layers.push(std::mem::replace(&mut layer, next));
        }
        if seen != self.keys.len() {
            return Err(Self::cycle_error(graph));
        }
        Ok(layers)
    }

    /// The path with the largest total duration (the sum over its nodes),
    /// first node first, and that total. Ties go to the path ending at the
    /// smaller key, and within it to the smaller predecessor key.
    ///
    /// O((V + E) log V).
    pub(crate) fn longest_path(&self, graph: &str) -> Result<(Vec<u32>, f64)> {
        let order = self.order(graph)?;
        let n = self.keys.len();
        let mut finish = vec![0.0f64; n];
        let mut via: Vec<Option<u32>> = vec![None; n];
        for &node in &order {
            let i = node as usize;
            let mut best: Option<u32> = None;
            for &prev in &self.before[i] {
                let better = match best {
                    None => true,
                    Some(b) => {
                        let (fp, fb) = (finish[prev as usize], finish[b as usize]);
                        fp > fb || (fp == fb && prev < b)
                    }
                };
                if better {
                    best = Some(prev);
                }
            }
            finish[i] = self.duration[i] + best.map_or(0.0, |b| finish[b as usize]);
            via[i] = best;
        }
        let Some(end) = (0..n).reduce(|a, b| if finish[b] > finish[a] { b } else { a }) else {
            return Ok((Vec::new(), 0.0));
        };
        let mut path = vec![end as u32];
        let mut at = end;
        while let Some(prev) = via[at] {
            path.push(prev);
            at = prev as usize;
        }
        path.reverse();
        Ok((path, finish[end]))
    }

    pub(crate) fn keys_of(&self, indices: impl IntoIterator<Item = u32>) -> Vec<String> {
        indices
            .into_iter()
            .map(|i| self.keys[i as usize].clone())
            .collect()
    }
}

/// Node row id → index: a dense table when the graph's ids are packed
/// (the usual case: a graph's nodes are mostly inserted together), else a
/// hash map.
enum IdIndex {
    Dense { min: i64, slots: Vec<u32> },
    Sparse(HashMap<i64, u32>),
}

impl IdIndex {
    const EMPTY: u32 = u32::MAX;

    fn new(ids: &[i64]) -> IdIndex {
        let (Some(&min), Some(&max)) = (ids.iter().min(), ids.iter().max()) else {
            return IdIndex::Sparse(HashMap::new());
        };
        let span = (max - min) as u128 + 1;
        if span <= 4 * ids.len() as u128 + 1024 {
            let mut slots = vec![Self::EMPTY; span as usize];
            for (i, id) in ids.iter().enumerate() {
                slots[(id - min) as usize] = i as u32;
            }
            IdIndex::Dense { min, slots }
        } else {
            IdIndex::Sparse(
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| (*id, i as u32))
                    .collect(),
            )
        }
    }

    fn get(&self, id: i64) -> Option<u32> {
        match self {
            IdIndex::Dense { min, slots } => id
                .checked_sub(*min)
                .and_then(|offset| usize::try_from(offset).ok())
                .and_then(|offset| slots.get(offset))
                .copied()
                .filter(|&i| i != Self::EMPTY),
            IdIndex::Sparse(map) => map.get(&id).copied(),
        }
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
    fn id_indexes_map_packed_and_scattered_ids() {
        let packed = IdIndex::new(&[10, 12, 11]);
        assert!(matches!(packed, IdIndex::Dense { .. }));
        assert_eq!(
            (packed.get(12), packed.get(13), packed.get(9)),
            (Some(1), None, None)
        );
        let scattered = IdIndex::new(&[1, i64::MAX]);
        assert!(matches!(scattered, IdIndex::Sparse(_)));
        assert_eq!((scattered.get(i64::MAX), scattered.get(2)), (Some(1), None));
        assert_eq!(IdIndex::new(&[]).get(1), None);
    }

    #[test]
    fn a_cycle_has_no_order() {
        let d = dag(&["a", "b"], &[0.0; 2], &[(0, 1), (1, 0)]);
        assert_eq!(
            d.order("g").unwrap_err().to_string(),
            r#"graph "g": has a directed cycle, so it has no topological order"#
        );
        assert!(d.generations("g").is_err());
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
