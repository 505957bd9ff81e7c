//! The graph algorithms of `Reader` against brute-force references on
//! random small mixed multigraphs (self-loops, parallel and undirected
//! edges included): topological order and generations against the naive
//! "smallest free key" and "longest path to the node" definitions, strongly
//! connected components and the shortest cycle against a reachability
//! matrix, shortest paths against breadth-first search and Floyd–Warshall,
//! and the critical path against enumerating every path.
//!
//! The default case count is 64; `PROPTEST_CASES` overrides it. Failures
//! are saved under `proptest-regressions/algo_props.txt`.

mod common;

use std::collections::VecDeque;

use alknet_graphs::{Error, GraphConfig, NewEdge, NewNode, Reader, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A random graph: node weights (`None`: the node lacks the attribute)
/// and edges `(source, target, undirected, weight)`.
#[derive(Debug, Clone)]
struct Case {
    nodes: Vec<Option<u8>>,
    edges: Vec<(usize, usize, bool, Option<u8>)>,
}

fn node_key(i: usize) -> String {
    format!("k{i}")
}

fn edge_key(i: usize) -> String {
    format!("e{i:02}")
}

fn case() -> impl Strategy<Value = Case> {
    (1..7usize).prop_flat_map(|n| {
        let nodes = prop::collection::vec(prop::option::weighted(0.95, 0..6u8), n);
        let edge = (
            0..n,
            0..n,
            prop::bool::weighted(0.1),
            prop::option::weighted(0.95, 0..6u8),
        );
        let edges = prop::collection::vec(edge, 0..12);
        (nodes, edges).prop_map(|(nodes, edges)| Case { nodes, edges })
    })
}

fn build(case: &Case) -> (tempfile::TempDir, Store) {
    let (dir, store) = common::store();
    let node_docs: Vec<Value> = case
        .nodes
        .iter()
        .map(|w| w.map_or(json!({}), |w| json!({"w": w})))
        .collect();
    let edge_docs: Vec<Value> = case
        .edges
        .iter()
        .map(|e| e.3.map_or(json!({}), |w| json!({"w": w})))
        .collect();
    let node_keys: Vec<String> = (0..case.nodes.len()).map(node_key).collect();
    let edge_keys: Vec<String> = (0..case.edges.len()).map(edge_key).collect();
    store
        .write(|tx| {
            tx.define_graph_type("any", GraphConfig::default().multi(true))?;
            tx.define_node_type("any", "n", &json!({}))?;
            tx.define_edge_type("any", "e", &json!({}), &Default::default())?;
            tx.create_graph("g", "any")?;
            tx.add_nodes(
                "g",
                node_keys
                    .iter()
                    .zip(&node_docs)
                    .map(|(k, d)| NewNode::new("n", k, d)),
            )?;
            tx.add_edges(
                "g",
                case.edges.iter().enumerate().map(|(i, e)| {
                    NewEdge::new("e", &node_keys[e.0], &node_keys[e.1])
                        .key(&edge_keys[i])
                        .attributes(&edge_docs[i])
                        .undirected(e.2)
                }),
            )?;
            Ok(())
        })
        .expect("build the graph");
    (dir, store)
}

/// Directed arcs (undirected edges left out).
fn arcs(case: &Case) -> Vec<(usize, usize)> {
    case.edges
        .iter()
        .filter(|e| !e.2)
        .map(|e| (e.0, e.1))
        .collect()
}

/// `reach[a][b]`: a path of at least one arc from a to b.
fn reach(n: usize, arcs: &[(usize, usize)]) -> Vec<Vec<bool>> {
    let mut r = vec![vec![false; n]; n];
    for &(a, b) in arcs {
        r[a][b] = true;
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if r[i][k] && r[k][j] {
                    r[i][j] = true;
                }
            }
        }
    }
    r
}

fn index(key: &str) -> usize {
    key[1..].parse().expect("a node key")
}

fn first_undirected(case: &Case) -> Option<String> {
    case.edges.iter().position(|e| e.2).map(edge_key)
}

/// A cycle reported as keys is real: it closes, and each step is an arc.
fn assert_real_cycle(cycle: &[String], arcs: &[(usize, usize)]) -> Result<(), TestCaseError> {
    prop_assert!(cycle.len() >= 2, "{:?}", cycle);
    prop_assert_eq!(cycle.first(), cycle.last());
    for pair in cycle.windows(2) {
        prop_assert!(
            arcs.contains(&(index(&pair[0]), index(&pair[1]))),
            "{:?} is not an arc of {:?}",
            pair,
            arcs
        );
    }
    Ok(())
}

fn check_order(read: &Reader, case: &Case) -> Result<(), TestCaseError> {
    let n = case.nodes.len();
    let arcs = arcs(case);
    let cyclic = reach(n, &arcs).iter().enumerate().any(|(i, r)| r[i]);
    let order = read.topological_order("g");
    let layers = read.generations("g");
    if let Some(edge) = first_undirected(case) {
        for err in [order.unwrap_err(), layers.unwrap_err()] {
            prop_assert!(matches!(err, Error::Invalid { .. }), "{}", err);
            prop_assert!(
                err.to_string()
                    .contains(&format!("edge {edge:?} is undirected")),
                "{}",
                err
            );
        }
        return Ok(());
    }
    if cyclic {
        for err in [order.unwrap_err(), layers.unwrap_err()] {
            assert_real_cycle(err.cycle().expect("a cycle error"), &arcs)?;
        }
        return Ok(());
    }
    // The smallest free key first.
    let mut placed = vec![false; n];
    let mut expected = Vec::new();
    while let Some(next) =
        (0..n).find(|&v| !placed[v] && arcs.iter().all(|&(a, b)| b != v || placed[a]))
    {
        placed[next] = true;
        expected.push(node_key(next));
    }
    prop_assert_eq!(order.unwrap(), expected);
    // A node's generation is the longest path ending at it.
    let mut depth = vec![0usize; n];
    for _ in 0..n {
        for &(a, b) in &arcs {
            depth[b] = depth[b].max(depth[a] + 1);
        }
    }
    let height = depth.iter().max().map_or(0, |d| d + 1);
    let expected: Vec<Vec<String>> = (0..height)
        .map(|d| (0..n).filter(|&v| depth[v] == d).map(node_key).collect())
        .collect();
    prop_assert_eq!(layers.unwrap(), expected);
    Ok(())
}

fn check_cycles(read: &Reader, case: &Case) -> Result<(), TestCaseError> {
    let n = case.nodes.len();
    let arcs = arcs(case);
    let r = reach(n, &arcs);
    let mut expected: Vec<Vec<String>> = Vec::new();
    let mut assigned = vec![false; n];
    for v in 0..n {
        if assigned[v] {
            continue;
        }
        let class: Vec<usize> = (v..n).filter(|&u| u == v || (r[v][u] && r[u][v])).collect();
        for &u in &class {
            assigned[u] = true;
        }
        expected.push(class.into_iter().map(node_key).collect());
    }
    prop_assert_eq!(read.strongly_connected_components("g").unwrap(), expected);

    // The shortest cycle through each node: BFS from its successors back to it.
    let through = |v: usize| -> Option<usize> {
        let mut dist = vec![usize::MAX; n];
        let mut queue = VecDeque::new();
        for &(a, b) in &arcs {
            if a == v && dist[b] == usize::MAX {
                dist[b] = 1;
                queue.push_back(b);
            }
        }
        while let Some(u) = queue.pop_front() {
            for &(a, b) in &arcs {
                if a == u && dist[b] == usize::MAX {
                    dist[b] = dist[u] + 1;
                    queue.push_back(b);
                }
            }
        }
        (dist[v] != usize::MAX).then_some(dist[v])
    };
    let lengths: Vec<Option<usize>> = (0..n).map(through).collect();
    let shortest = lengths.iter().flatten().min().copied();
    let cycle = read.shortest_cycle("g").unwrap();
    match shortest {
        None => prop_assert_eq!(cycle, None),
        Some(length) => {
            let cycle = cycle.expect("a cycle");
            assert_real_cycle(&cycle, &arcs)?;
            prop_assert_eq!(cycle.len() - 1, length);
            let first = lengths.iter().position(|l| *l == Some(length));
            prop_assert_eq!(Some(index(&cycle[0])), first);
        }
    }
    Ok(())
}

fn check_paths(read: &Reader, case: &Case, from: usize, to: usize) -> Result<(), TestCaseError> {
    let n = case.nodes.len();
    let (from, to) = (from % n, to % n);
    // Steps: (from, to, edge index), undirected edges both ways.
    let mut steps = Vec::new();
    for (i, e) in case.edges.iter().enumerate() {
        steps.push((e.0, e.1, i));
        if e.2 {
            steps.push((e.1, e.0, i));
        }
    }
    let check_path = |path: &alknet_graphs::ShortestPath| -> Result<(), TestCaseError> {
        prop_assert_eq!(path.nodes.first(), Some(&node_key(from)));
        prop_assert_eq!(path.nodes.last(), Some(&node_key(to)));
        prop_assert_eq!(path.edges.len() + 1, path.nodes.len());
        for (pair, edge) in path.nodes.windows(2).zip(&path.edges) {
            let i = index(edge);
            let (a, b) = (index(&pair[0]), index(&pair[1]));
            prop_assert!(
                steps.contains(&(a, b, i)),
                "{} does not join {:?}",
                edge,
                pair
            );
        }
        Ok(())
    };

    // Unweighted: breadth-first search.
    let mut dist = vec![usize::MAX; n];
    dist[from] = 0;
    let mut queue = VecDeque::from([from]);
    while let Some(u) = queue.pop_front() {
        for &(a, b, _) in &steps {
            if a == u && dist[b] == usize::MAX {
                dist[b] = dist[u] + 1;
                queue.push_back(b);
            }
        }
    }
    let path = read
        .shortest_path("g", &node_key(from), &node_key(to), None)
        .unwrap();
    match path {
        None => prop_assert_eq!(dist[to], usize::MAX),
        Some(path) => {
            check_path(&path)?;
            prop_assert_eq!(path.edges.len(), dist[to]);
            prop_assert_eq!(path.cost, dist[to] as f64);
        }
    }

    // Weighted: Floyd–Warshall, unless an edge lacks its weight.
    let weighted = read.shortest_path("g", &node_key(from), &node_key(to), Some("w"));
    if let Some(missing) = case.edges.iter().position(|e| e.3.is_none()) {
        let err = weighted.unwrap_err();
        prop_assert_eq!(
            err.to_string(),
            format!(
                r#"edge "{}" in graph "g": has no attribute "w"; a weighted path needs a number there"#,
                edge_key(missing)
            )
        );
        return Ok(());
    }
    let mut best = vec![vec![u64::MAX; n]; n];
    for (v, row) in best.iter_mut().enumerate() {
        row[v] = 0;
    }
    for &(a, b, i) in &steps {
        let w = u64::from(case.edges[i].3.unwrap_or(0));
        best[a][b] = best[a][b].min(w);
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if best[i][k] != u64::MAX && best[k][j] != u64::MAX {
                    best[i][j] = best[i][j].min(best[i][k] + best[k][j]);
                }
            }
        }
    }
    match weighted.unwrap() {
        None => prop_assert_eq!(best[from][to], u64::MAX),
        Some(path) => {
            check_path(&path)?;
            prop_assert_eq!(path.cost, best[from][to] as f64);
            let sum: u64 = path
                .edges
                .iter()
                .map(|e| u64::from(case.edges[index(e)].3.unwrap_or(0)))
                .sum();
            prop_assert_eq!(sum, best[from][to]);
        }
    }
    Ok(())
}

fn check_critical_path(read: &Reader, case: &Case) -> Result<(), TestCaseError> {
    let n = case.nodes.len();
    let arcs = arcs(case);
    let result = read.critical_path("g", "w");
    if let Some(missing) = case.nodes.iter().position(Option::is_none) {
        prop_assert_eq!(
            result.unwrap_err().to_string(),
            format!(
                r#"node "{}" in graph "g": has no attribute "w"; a critical path needs a number there"#,
                node_key(missing)
            )
        );
        return Ok(());
    }
    if let Some(edge) = first_undirected(case) {
        prop_assert_eq!(
            result.unwrap_err().to_string(),
            format!(
                r#"graph "g": edge "{edge}" is undirected; a critical path needs every edge directed"#
            )
        );
        return Ok(());
    }
    if reach(n, &arcs).iter().enumerate().any(|(i, r)| r[i]) {
        assert_real_cycle(result.unwrap_err().cycle().expect("a cycle error"), &arcs)?;
        return Ok(());
    }
    let weight = |v: usize| u64::from(case.nodes[v].unwrap_or(0));
    // Every path of the DAG, by depth-first enumeration.
    fn heaviest(v: usize, arcs: &[(usize, usize)], weight: &dyn Fn(usize) -> u64) -> u64 {
        let below = arcs
            .iter()
            .filter(|&&(a, _)| a == v)
            .map(|&(_, b)| heaviest(b, arcs, weight))
            .max()
            .unwrap_or(0);
        weight(v) + below
    }
    let expected = (0..n)
        .map(|v| heaviest(v, &arcs, &weight))
        .max()
        .unwrap_or(0);
    let path = result.unwrap();
    prop_assert_eq!(path.total, expected as f64);
    let nodes: Vec<usize> = path.nodes.iter().map(|k| index(k)).collect();
    prop_assert_eq!(nodes.iter().map(|&v| weight(v)).sum::<u64>(), expected);
    for pair in nodes.windows(2) {
        prop_assert!(
            arcs.contains(&(pair[0], pair[1])),
            "{:?} is not an arc",
            pair
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config("algo_props.txt", common::cases_or(64)))]

    #[test]
    fn algorithms_agree_with_brute_force(case in case(), from in 0..7usize, to in 0..7usize) {
        let (_dir, store) = build(&case);
        let read = store.begin_read().unwrap();
        check_order(&read, &case)?;
        check_cycles(&read, &case)?;
        check_paths(&read, &case, from, to)?;
        check_critical_path(&read, &case)?;
    }
}

#[test]
fn unknown_graphs_and_nodes_are_named() {
    let case = Case {
        nodes: vec![Some(1), Some(2)],
        edges: vec![(0, 1, false, Some(1))],
    };
    let (_dir, store) = build(&case);
    let read = store.begin_read().unwrap();
    assert_eq!(
        read.topological_order("nope").unwrap_err().to_string(),
        r#"graph "nope" does not exist"#
    );
    assert_eq!(
        read.shortest_path("g", "k0", "zz", None)
            .unwrap_err()
            .to_string(),
        r#"node "zz" in graph "g" does not exist"#
    );
}

#[test]
fn weights_must_be_numbers_of_at_least_zero() {
    let (_dir, store) = common::store();
    store
        .write(|tx| {
            tx.define_graph_type("t", GraphConfig::directed())?;
            tx.define_node_type("t", "n", &json!({}))?;
            tx.define_edge_type("t", "e", &json!({}), &Default::default())?;
            tx.create_graph("g", "t")?;
            tx.add_node("g", "a", "n", &json!({"w": "long"}))?;
            tx.add_node("g", "b", "n", &json!({"w": -2}))?;
            let (text, negative) = (json!({"w": "far"}), json!({"w": -1}));
            tx.add_edge("g", NewEdge::new("e", "a", "b").key("ab").attributes(&text))?;
            tx.add_edge(
                "g",
                NewEdge::new("e", "b", "a").key("ba").attributes(&negative),
            )?;
            Ok(())
        })
        .unwrap();
    let read = store.begin_read().unwrap();
    assert_eq!(
        read.critical_path("g", "w").unwrap_err().to_string(),
        r#"node "a" in graph "g": attribute "w" is a string, not a number; a critical path needs a number there"#
    );
    assert_eq!(
        read.shortest_path("g", "a", "b", Some("w"))
            .unwrap_err()
            .to_string(),
        r#"edge "ab" in graph "g": attribute "w" is a string, not a number; a weighted path needs a number there"#
    );
    store
        .write(|tx| {
            tx.remove_edge("g", "ab")?;
            tx.replace_node("g", "a", &json!({"w": 1}))
        })
        .unwrap();
    let read = store.begin_read().unwrap();
    assert_eq!(
        read.critical_path("g", "w").unwrap_err().to_string(),
        r#"node "b" in graph "g": attribute "w" is -2; a critical path needs a finite number of at least 0"#
    );
    assert_eq!(
        read.shortest_path("g", "a", "b", Some("w"))
            .unwrap_err()
            .to_string(),
        r#"edge "ba" in graph "g": attribute "w" is -1; a weighted path needs a finite number of at least 0"#
    );
}
