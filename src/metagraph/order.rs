//! A topological order kept for acyclic graphs, so that most edge inserts
//! need no search to prove they close no cycle.
//!
//! Every node of an acyclic graph has an order value, `ord = coalesce(topo,
//! id)`, and the graph keeps the invariant `ord(x) ≤ ord(y)` for every edge
//! `x → y`. A path `t ⇝ s` then implies `ord(t) ≤ ord(s)`, so a new edge
//! `s → t` with `ord(s) < ord(t)` cannot close a cycle. Otherwise:
//!
//! - if `s` has no predecessors (a new task depending on an existing one)
//!   or `t` has no successors, no path `t ⇝ s` can exist, and moving that
//!   one node restores the invariant;
//! - else the order is repaired as Pearce and Kelly do ("A dynamic
//!   topological sort algorithm for directed acyclic graphs", 2006): search
//!   forward from `t` among nodes ordered at most `ord(s)` (finding `s`
//!   means a cycle) and backward from `s` among nodes ordered at least
//!   `ord(t)`, then hand the pooled order values of both sets back, the
//!   backward set first. Only the nodes between the two values are visited.
//!
//! Ties are allowed (the invariant is `≤`), so a reused row id cannot break
//! it. New nodes need no order value: their row id serves.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rusqlite::Connection;

use crate::error::{Entity, Error, Result};

/// An endpoint of a new edge: its row id and its order value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked {
    pub(crate) id: i64,
    pub(crate) ord: i64,
}

/// Whether a new edge fits, and the order values to write once it is in.
pub(crate) enum Admission {
    Fits(Vec<(i64, i64)>),
    ClosesCycle,
}

const SUCCESSORS: &str = "SELECT e.target, coalesce(n.topo, n.id) FROM edges e
     JOIN nodes n ON n.id = e.target WHERE e.source = ?1";
const PREDECESSORS: &str = "SELECT e.source, coalesce(n.topo, n.id) FROM edges e
     JOIN nodes n ON n.id = e.source WHERE e.target = ?1";
const SET_ORDER: &str = "UPDATE nodes SET topo = ?2 WHERE id = ?1";

fn adjacent(conn: &Connection, sql: &str, id: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Decides whether the edge `s → t` (`s != t`) keeps the graph acyclic.
///
/// # Complexity
///
/// O(1) queries when `ord(s) < ord(t)`, or when `s` has no predecessors or
/// `t` no successors; otherwise proportional to the edges of the nodes
/// ordered between `ord(t)` and `ord(s)` that the searches reach.
pub(crate) fn admit(conn: &Connection, s: Ranked, t: Ranked) -> Result<Admission> {
    if s.ord < t.ord {
        return Ok(Admission::Fits(Vec::new()));
    }
    if adjacent(conn, PREDECESSORS, s.id)?.is_empty() {
        let lowest = adjacent(conn, SUCCESSORS, s.id)?
            .into_iter()
            .map(|(_, ord)| ord)
            .fold(t.ord, i64::min);
        return Ok(Admission::Fits(vec![(s.id, lowest)]));
    }
    if adjacent(conn, SUCCESSORS, t.id)?.is_empty() {
        let highest = adjacent(conn, PREDECESSORS, t.id)?
            .into_iter()
            .map(|(_, ord)| ord)
            .fold(s.ord, i64::max);
        return Ok(Admission::Fits(vec![(t.id, highest)]));
    }
    let Some(forward) = search(conn, SUCCESSORS, t, |ord| ord <= s.ord, Some(s.id), true)? else {
        return Ok(Admission::ClosesCycle);
    };
    let backward =
        search(conn, PREDECESSORS, s, |ord| ord >= t.ord, None, false)?.unwrap_or_default();
    Ok(Admission::Fits(reorder(&backward, &forward)))
}

/// The nodes reachable from `start` (included) along `sql`'s direction
/// through nodes whose order satisfies `within`, with their order values
/// and the edges among them (as `(from, to)` in the graph's direction);
/// `None` if `forbidden` is reached.
fn search(
    conn: &Connection,
    sql: &str,
    start: Ranked,
    within: impl Fn(i64) -> bool,
    forbidden: Option<i64>,
    forward: bool,
) -> Result<Option<Region>> {
    let mut ords = HashMap::from([(start.id, start.ord)]);
    let mut steps = Vec::new();
    let mut stack = vec![start.id];
    while let Some(node) = stack.pop() {
        for (next, ord) in adjacent(conn, sql, node)? {
            if Some(next) == forbidden {
                return Ok(None);
            }
            if !within(ord) {
                continue;
            }
            steps.push(if forward { (node, next) } else { (next, node) });
            if let std::collections::hash_map::Entry::Vacant(slot) = ords.entry(next) {
                slot.insert(ord);
                stack.push(next);
            }
        }
    }
    Ok(Some(Region { ords, edges: steps }))
}

/// Nodes found by one search, and the edges among them.
#[derive(Default)]
struct Region {
    ords: HashMap<i64, i64>,
    edges: Vec<(i64, i64)>,
}

impl Region {
    /// The nodes in an order that follows every edge among them and, within
    /// that, the lowest order value first (Kahn's algorithm on a min-heap):
    /// with ties allowed, sorting by order value alone could put the head of
    /// an edge between equal values first.
    fn sequence(&self) -> Vec<(i64, i64)> {
        let mut indegree: HashMap<i64, usize> = self.ords.keys().map(|&n| (n, 0)).collect();
        let mut successors: HashMap<i64, Vec<i64>> = HashMap::new();
        for &(from, to) in &self.edges {
            successors.entry(from).or_default().push(to);
            *indegree.entry(to).or_insert(0) += 1;
        }
        let mut heap: BinaryHeap<Reverse<(i64, i64)>> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(&n, _)| Reverse((self.ords[&n], n)))
            .collect();
        let mut out = Vec::with_capacity(self.ords.len());
        while let Some(Reverse((ord, node))) = heap.pop() {
            out.push((node, ord));
            for next in successors.get(&node).map_or(&[][..], Vec::as_slice) {
                if let Some(d) = indegree.get_mut(next) {
                    *d -= 1;
                    if *d == 0 {
                        heap.push(Reverse((self.ords[next], *next)));
                    }
                }
            }
        }
        out
    }
}

/// Hands the pooled order values back: the backward region takes the
/// lowest, each region in its own [`Region::sequence`].
fn reorder(backward: &Region, forward: &Region) -> Vec<(i64, i64)> {
    let (backward, forward) = (backward.sequence(), forward.sequence());
    let mut pool: Vec<i64> = backward
        .iter()
        .chain(&forward)
        .map(|&(_, ord)| ord)
        .collect();
    pool.sort_unstable();
    backward
        .iter()
        .chain(&forward)
        .zip(pool)
        .filter(|&(&(_, old), new)| old != new)
        .map(|(&(id, _), new)| (id, new))
        .collect()
}

/// Writes the order values an admission decided.
pub(crate) fn apply(conn: &Connection, updates: &[(i64, i64)]) -> Result<()> {
    let mut stmt = conn.prepare_cached(SET_ORDER)?;
    for (id, ord) in updates {
        stmt.execute([id, ord])?;
    }
    Ok(())
}

const NODES_BY_ORDER: &str = "SELECT id, key, coalesce(topo, id) FROM nodes WHERE graph_id = ?1";
const TARGETS: &str = "SELECT target FROM edges WHERE source = ?1";

/// The nodes of the acyclic graph `graph_id` as `(row id, key)`, in the
/// kept order: by order value, then, among nodes of equal value, so that
/// every edge between them is followed (the smaller row id first when no
/// edge decides). Since `ord(x) ≤ ord(y)` for every edge `x → y`, this is
/// a topological order in the graph's direction; it depends on the order
/// edges were written in, not on the keys.
///
/// Only the nodes that share an order value need their edges read: one
/// index probe each.
///
/// # Errors
///
/// [`Error::Invalid`] naming the graph if the
/// edges among nodes of one order value close a cycle, which only a
/// broken order could allow.
///
/// # Complexity
///
/// One read of the nodes, O(V log V), and for the T nodes that share an
/// order value one index probe each, O(T log E + e) for the e edges among
/// them.
pub(crate) fn kept_order(
    conn: &Connection,
    graph: &str,
    graph_id: i64,
) -> Result<Vec<(i64, String)>> {
    let mut nodes: Vec<(i64, i64, String)> = conn
        .prepare_cached(NODES_BY_ORDER)?
        .query_map([graph_id], |row| {
            Ok((row.get(2)?, row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    nodes.sort_unstable_by_key(|&(ord, id, _)| (ord, id));
    let mut start = 0;
    while start < nodes.len() {
        let ord = nodes[start].0;
        let end = start + nodes[start..].partition_point(|n| n.0 == ord);
        if end - start > 1 {
            order_ties(conn, graph, &mut nodes[start..end])?;
        }
        start = end;
    }
    Ok(nodes.into_iter().map(|(_, id, key)| (id, key)).collect())
}

/// Reorders `run` (nodes of one order value, sorted by row id) so that it
/// follows the edges among them: Kahn's algorithm, the smallest row id of
/// those available first.
fn order_ties(conn: &Connection, graph: &str, run: &mut [(i64, i64, String)]) -> Result<()> {
    let position: HashMap<i64, u32> = run
        .iter()
        .enumerate()
        .map(|(i, &(_, id, _))| (id, i as u32))
        .collect();
    let mut successors: Vec<Vec<u32>> = vec![Vec::new(); run.len()];
    let mut waiting = vec![0usize; run.len()];
    let mut stmt = conn.prepare_cached(TARGETS)?;
    let mut any = false;
    for (i, &(_, id, _)) in run.iter().enumerate() {
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            if let Some(&j) = position.get(&row.get::<_, i64>(0)?) {
                successors[i].push(j);
                waiting[j as usize] += 1;
                any = true;
            }
        }
    }
    if !any {
        return Ok(());
    }
    let mut heap: BinaryHeap<Reverse<u32>> = (0..run.len() as u32)
        .filter(|&i| waiting[i as usize] == 0)
        .map(Reverse)
        .collect();
    let mut sequence = Vec::with_capacity(run.len());
    while let Some(Reverse(i)) = heap.pop() {
        sequence.push(i);
        for &j in &successors[i as usize] {
            waiting[j as usize] -= 1;
            if waiting[j as usize] == 0 {
                heap.push(Reverse(j));
            }
        }
    }
    if sequence.len() != run.len() {
        return Err(Error::invalid(
            Entity::Graph(graph.to_owned()),
            "its kept topological order is inconsistent with its edges",
        ));
    }
    let mut taken: Vec<Option<(i64, i64, String)>> = run
        .iter_mut()
        .map(|n| Some((n.0, n.1, std::mem::take(&mut n.2))))
        .collect();
    for (slot, i) in run.iter_mut().zip(sequence) {
        if let Some(node) = taken[i as usize].take() {
            *slot = node;
        }
    }
    Ok(())
}

/// Gives the nodes of every graph of a graph type that has just become
/// acyclic order values consistent with their edges.
pub(crate) fn establish_orders(conn: &Connection, graph_type_id: i64) -> Result<()> {
    let graphs: Vec<i64> = conn
        .prepare_cached("SELECT id FROM graphs WHERE graph_type_id = ?1")?
        .query_map([graph_type_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for graph in graphs {
        establish(conn, graph)?;
    }
    Ok(())
}

/// Gives every node with an edge in graph `graph_id` (which must be
/// acyclic) an order value consistent with its edges: its rank in a
/// topological sort.
fn establish(conn: &Connection, graph_id: i64) -> Result<()> {
    let mut successors: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut indegree: HashMap<i64, usize> = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT source, target FROM edges WHERE graph_id = ?1")?;
    for pair in stmt.query_map([graph_id], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
    })? {
        let (s, t) = pair?;
        successors.entry(s).or_default().push(t);
        indegree.entry(s).or_insert(0);
        *indegree.entry(t).or_insert(0) += 1;
    }
    let mut ready: Vec<i64> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| *n)
        .collect();
    ready.sort_unstable();
    let mut rank = 0i64;
    let mut updates = Vec::with_capacity(indegree.len());
    while let Some(node) = ready.pop() {
        updates.push((node, rank));
        rank += 1;
        for next in successors.get(&node).map_or(&[][..], Vec::as_slice) {
            if let Some(d) = indegree.get_mut(next) {
                *d -= 1;
                if *d == 0 {
                    ready.push(*next);
                }
            }
        }
    }
    apply(conn, &updates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GraphConfig, NewEdge, Store};
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    const NODES: usize = 20;

    fn reaches(edges: &BTreeSet<(usize, usize)>, from: usize, to: usize) -> bool {
        let mut seen = BTreeSet::from([from]);
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            for &(_, next) in edges.range((n, 0)..(n + 1, 0)) {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        false
    }

    /// Edges whose endpoints break `ord(source) ≤ ord(target)`.
    fn violations(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT count(*) FROM edges e
               JOIN nodes s ON s.id = e.source JOIN nodes t ON t.id = e.target
              WHERE coalesce(s.topo, s.id) > coalesce(t.topo, t.id)",
            [],
            |row| row.get(0),
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(96)
        ))]

        /// The kept order admits exactly the edges that close no cycle, and
        /// stays consistent with every edge after inserts and removals —
        /// including when `acyclic` is switched on for an existing graph.
        #[test]
        fn the_order_admits_exactly_the_edges_that_close_no_cycle(
            before in proptest::collection::vec((0..NODES, 0..NODES), 0..30),
            ops in proptest::collection::vec((0..NODES, 0..NODES, any::<bool>()), 1..150),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path().join("o.db")).unwrap();
            let mut tx = store.begin_write().unwrap();
            tx.define_graph_type("dag", GraphConfig::directed()).unwrap();
            tx.define_node_type("dag", "n", &json!({})).unwrap();
            tx.define_edge_type("dag", "e", &json!({}), &Default::default()).unwrap();
            tx.create_graph("g", "dag").unwrap();
            for i in 0..NODES {
                tx.add_node("g", &format!("{i:02}"), "n", &json!({})).unwrap();
            }
            let key = |i: usize| format!("{i:02}");
            // Edges added before the graph type becomes acyclic, kept only
            // while they leave it acyclic (pointing from higher to lower
            // numbers, against the row-id order).
            let mut model = BTreeSet::new();
            for (a, b) in before {
                let (a, b) = (a.max(b), a.min(b));
                if a != b && model.insert((a, b)) {
                    tx.add_edge("g", NewEdge::new("e", &key(a), &key(b)).key(&format!("{a}-{b}"))).unwrap();
                }
            }
            tx.update_graph_config("dag", GraphConfig::directed().acyclic(true)).unwrap();
            prop_assert_eq!(violations(tx.conn()), 0);
            for (a, b, remove) in ops {
                let edge_key = format!("{a}-{b}");
                if remove {
                    let removed = tx.remove_edge("g", &edge_key).is_ok();
                    prop_assert_eq!(removed, model.remove(&(a, b)));
                } else {
                    let expected = a != b && !model.contains(&(a, b)) && !reaches(&model, b, a);
                    let result = tx.add_edge("g", NewEdge::new("e", &key(a), &key(b)).key(&edge_key));
                    prop_assert_eq!(result.is_ok(), expected, "{}→{}: {:?}", a, b, result);
                    if let Err(err) = result {
                        let closes_cycle = a == b || (!model.contains(&(a, b)) && reaches(&model, b, a));
                        prop_assert_eq!(err.is_cycle(), closes_cycle, "{}", err);
                    } else {
                        model.insert((a, b));
                    }
                }
                prop_assert_eq!(violations(tx.conn()), 0);
            }
        }
    }

    fn region(ords: &[(i64, i64)], edges: &[(i64, i64)]) -> Region {
        Region {
            ords: ords.iter().copied().collect(),
            edges: edges.to_vec(),
        }
    }

    #[test]
    fn reorder_gives_the_backward_set_the_lowest_values() {
        // Backward set {b1: 5, b2: 7}, forward set {f1: 4, f2: 6}.
        let updates = reorder(
            &region(&[(1, 5), (2, 7)], &[]),
            &region(&[(3, 4), (4, 6)], &[]),
        );
        let mut all: HashMap<i64, i64> = HashMap::from([(1, 5), (2, 7), (3, 4), (4, 6)]);
        all.extend(updates);
        assert_eq!(all[&1], 4);
        assert_eq!(all[&2], 5);
        assert_eq!(all[&3], 6);
        assert_eq!(all[&4], 7);
    }

    #[test]
    fn a_sequence_follows_edges_between_equal_values() {
        // 9 → 8, both at order value 8: 9 must come first.
        let r = region(&[(8, 8), (9, 8), (20, 20)], &[(9, 8), (8, 20)]);
        assert_eq!(r.sequence(), [(9, 8), (8, 8), (20, 20)]);
    }
}
