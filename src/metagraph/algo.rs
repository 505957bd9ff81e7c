//! Algorithms on any graph: topological order and generations, strongly
//! connected components and a shortest cycle, shortest paths, and the
//! critical (heaviest) path.
//!
//! Each loads the graph into memory in one pass (one query for the nodes,
//! one for the edges), with nodes and edges indexed in key order, so every
//! result is the same for the same graph. The taskgraph's order,
//! generations and critical path run on the same functions
//! ([`topological_order`], [`generations`], [`longest_path`]).
//!
//! How edge direction counts:
//!
//! - topological order, generations and the critical path need every edge
//!   directed: a graph with an undirected edge is refused, naming it;
//! - strongly connected components and cycles follow directed edges only
//!   (an undirected edge would by itself be a cycle through its two ends);
//! - shortest paths follow a directed edge from source to target and an
//!   undirected edge both ways.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use super::graph_id;
use crate::error::{Entity, Error, Result};
use crate::store::Reader;

/// A shortest path found by [`Reader::shortest_path`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShortestPath {
    /// Node keys from the first node to the last (one key when they are
    /// the same node).
    pub nodes: Vec<String>,
    /// The keys of the edges taken, one fewer than the nodes.
    pub edges: Vec<String>,
    /// The sum of the edges' weights, or the number of edges when the path
    /// is unweighted.
    pub cost: f64,
}

/// The critical path found by [`Reader::critical_path`]: the path whose
/// nodes' weights add up to the most.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaviestPath {
    /// Node keys, first to last; empty for a graph without nodes.
    pub nodes: Vec<String>,
    /// The sum of their weights.
    pub total: f64,
}

/// For each node index, the indices of its neighbours one way.
type Adjacency = Vec<Vec<u32>>;

/// A graph in memory: nodes and edges, each in key order.
struct Loaded {
    graph: String,
    keys: Vec<String>,
    /// Node attribute documents, when asked for.
    node_attributes: Vec<Option<String>>,
    edges: Vec<LoadedEdge>,
}

struct LoadedEdge {
    key: String,
    source: u32,
    target: u32,
    undirected: bool,
    attributes: Option<String>,
}

/// Which attribute documents to load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum With {
    Nothing,
    NodeAttributes,
    EdgeAttributes,
}

impl Loaded {
    fn load(reader: &Reader, graph: &str, with: With) -> Result<Loaded> {
        let conn = reader.conn();
        let gid = graph_id(conn, graph)?;
        let mut loaded = Loaded {
            graph: graph.to_owned(),
            keys: Vec::new(),
            node_attributes: Vec::new(),
            edges: Vec::new(),
        };
        let mut ids = Vec::new();
        let mut nodes = conn.prepare_cached(if with == With::NodeAttributes {
            "SELECT id, key, attributes FROM nodes WHERE graph_id = ?1 ORDER BY key"
        } else {
            "SELECT id, key, NULL FROM nodes WHERE graph_id = ?1 ORDER BY key"
        })?;
        let mut rows = nodes.query([gid])?;
        while let Some(row) = rows.next()? {
            ids.push(row.get::<_, i64>(0)?);
            loaded.keys.push(row.get(1)?);
            loaded.node_attributes.push(row.get(2)?);
        }
        let index = IdIndex::new(&ids);
        let mut edges = conn.prepare_cached(if with == With::EdgeAttributes {
            "SELECT key, source, target, undirected, attributes FROM edges
              WHERE graph_id = ?1 ORDER BY key"
        } else {
            "SELECT key, source, target, undirected, NULL FROM edges
              WHERE graph_id = ?1 ORDER BY key"
        })?;
        let mut rows = edges.query([gid])?;
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let (Some(source), Some(target)) = (index.get(row.get(1)?), index.get(row.get(2)?))
            else {
                return Err(Error::invalid(
                    Entity::Edge {
                        graph: graph.to_owned(),
                        key,
                    },
                    "an endpoint is not a node of this graph (the store was changed around the library)",
                ));
            };
            loaded.edges.push(LoadedEdge {
                key,
                source,
                target,
                undirected: row.get(3)?,
                attributes: row.get(4)?,
            });
        }
        Ok(loaded)
    }

    fn index_of(&self, key: &str) -> Result<u32> {
        self.keys
            .binary_search_by(|k| k.as_str().cmp(key))
            .map(|i| i as u32)
            .map_err(|_| Error::NotFound {
                entity: Entity::Node {
                    graph: self.graph.clone(),
                    key: key.to_owned(),
                },
            })
    }

    /// The nodes before and after each node along directed edges; refused
    /// (naming the edge) when an edge is undirected and `what` needs every
    /// edge directed.
    fn directed(&self, what: &str) -> Result<(Adjacency, Adjacency)> {
        let n = self.keys.len();
        let (mut before, mut after) = (vec![Vec::new(); n], vec![Vec::new(); n]);
        for edge in &self.edges {
            if edge.undirected {
                return Err(Error::invalid(
                    Entity::Graph(self.graph.clone()),
                    format!(
                        "edge {:?} is undirected; {what} needs every edge directed",
                        edge.key
                    ),
                ));
            }
            before[edge.target as usize].push(edge.source);
            after[edge.source as usize].push(edge.target);
        }
        Ok((before, after))
    }

    /// Successors along directed edges only, undirected edges left out.
    fn directed_only(&self) -> Vec<Vec<u32>> {
        let mut after = vec![Vec::new(); self.keys.len()];
        for edge in self.edges.iter().filter(|e| !e.undirected) {
            after[edge.source as usize].push(edge.target);
        }
        after
    }

    fn keys_of(&self, indices: impl IntoIterator<Item = u32>) -> Vec<String> {
        indices
            .into_iter()
            .map(|i| self.keys[i as usize].clone())
            .collect()
    }

    fn cycle_error(&self, cycle: Vec<u32>) -> Error {
        Error::Cycle {
            entity: Entity::Graph(self.graph.clone()),
            cycle: self.keys_of(cycle),
        }
    }
}

/// The number `attribute` of an item's attribute document, checked to be
/// finite and at least 0; `what` names the algorithm in the error.
fn weight_of(
    entity: impl Fn() -> Entity,
    document: Option<&str>,
    attribute: &str,
    what: &str,
) -> Result<f64> {
    let document: Value = serde_json::from_str(document.unwrap_or("{}"))
        .map_err(|e| Error::corrupt(format!("attributes of {}", entity()), e))?;
    let Some(value) = document.get(attribute) else {
        return Err(Error::invalid(
            entity(),
            format!("has no attribute {attribute:?}; {what} needs a number there"),
        ));
    };
    let number = match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        _ => {
            return Err(Error::invalid(
                entity(),
                format!(
                    "attribute {attribute:?} is {}, not a number; {what} needs a number there",
                    match value {
                        Value::Null => "null".to_owned(),
                        other => format!("a {}", crate::limits::kind_of(other)),
                    }
                ),
            ))
        }
    };
    match number {
        Some(w) if w >= 0.0 => Ok(w),
        _ => Err(Error::invalid(
            entity(),
            format!(
                "attribute {attribute:?} is {value}; {what} needs a finite number of at least 0"
            ),
        )),
    }
}

impl Reader {
    /// The nodes of `graph` in a topological order: every edge's source
    /// before its target. Among the nodes free to come next, the smallest
    /// key comes first, so the order is the same on every call.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Cycle`]
    /// naming the keys around one directed cycle when there is one;
    /// [`Error::Invalid`] naming an undirected edge.
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O((V + E) log V).
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("flow", GraphConfig::directed())?;
    ///     tx.define_node_type("flow", "step", &json!({}))?;
    ///     tx.define_edge_type("flow", "then", &json!({}), &Default::default())?;
    ///     tx.create_graph("g", "flow")?;
    ///     for key in ["fetch", "build", "test"] {
    ///         tx.add_node("g", key, "step", &json!({}))?;
    ///     }
    ///     tx.add_edge("g", NewEdge::new("then", "fetch", "build"))?;
    ///     tx.add_edge("g", NewEdge::new("then", "build", "test"))?;
    ///     Ok(())
    /// })?;
    /// let read = store.begin_read()?;
    /// assert_eq!(read.topological_order("g")?, ["fetch", "build", "test"]);
    ///
    /// store.write(|tx| tx.add_edge("g", NewEdge::new("then", "test", "fetch")).map(drop))?;
    /// let err = store.begin_read()?.topological_order("g").unwrap_err();
    /// assert_eq!(err.cycle().unwrap(), ["build", "test", "fetch", "build"]);
    /// assert_eq!(err.to_string(), r#"graph "g": has the cycle "build" -> "test" -> "fetch" -> "build""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn topological_order(&self, graph: &str) -> Result<Vec<String>> {
        let loaded = Loaded::load(self, graph, With::Nothing)?;
        let (before, after) = loaded.directed("a topological order")?;
        match topological_order(&before, &after) {
            Ok(order) => Ok(loaded.keys_of(order)),
            Err(cycle) => Err(loaded.cycle_error(cycle)),
        }
    }

    /// The nodes of `graph` in generations (layers): first the nodes with
    /// no incoming edge, then the nodes all of whose predecessors are in
    /// earlier generations, and so on; each generation in key order. A
    /// node's generation is the length of the longest path ending at it.
    ///
    /// # Errors
    ///
    /// As [`topological_order`](Reader::topological_order).
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O(V log V + E).
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("flow", GraphConfig::directed())?;
    ///     tx.define_node_type("flow", "step", &json!({}))?;
    ///     tx.define_edge_type("flow", "then", &json!({}), &Default::default())?;
    ///     tx.create_graph("g", "flow")?;
    ///     for key in ["a", "b", "c", "d"] {
    ///         tx.add_node("g", key, "step", &json!({}))?;
    ///     }
    ///     for (s, t) in [("a", "c"), ("b", "c"), ("a", "d"), ("c", "d")] {
    ///         tx.add_edge("g", NewEdge::new("then", s, t))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// let layers = store.begin_read()?.generations("g")?;
    /// assert_eq!(layers, [vec!["a", "b"], vec!["c"], vec!["d"]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generations(&self, graph: &str) -> Result<Vec<Vec<String>>> {
        let loaded = Loaded::load(self, graph, With::Nothing)?;
        let (before, after) = loaded.directed("generations")?;
        match generations(&before, &after) {
            Ok(layers) => Ok(layers.into_iter().map(|l| loaded.keys_of(l)).collect()),
            Err(cycle) => Err(loaded.cycle_error(cycle)),
        }
    }

    /// The strongly connected components of `graph` along its directed
    /// edges (undirected edges are left out): sets of nodes each reachable
    /// from every other. Every node is in exactly one; each component is in
    /// key order, and the components are ordered by their first key. A
    /// component of more than one node, or of one node with a self-loop,
    /// holds a directed cycle.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O(V + E) (Tarjan's algorithm, from
    /// petgraph) and a sort of each component.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("net", GraphConfig::directed())?;
    ///     tx.define_node_type("net", "n", &json!({}))?;
    ///     tx.define_edge_type("net", "to", &json!({}), &Default::default())?;
    ///     tx.create_graph("g", "net")?;
    ///     for key in ["a", "b", "c"] {
    ///         tx.add_node("g", key, "n", &json!({}))?;
    ///     }
    ///     for (s, t) in [("a", "b"), ("b", "a"), ("b", "c")] {
    ///         tx.add_edge("g", NewEdge::new("to", s, t))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// let read = store.begin_read()?;
    /// assert_eq!(read.strongly_connected_components("g")?, [vec!["a", "b"], vec!["c"]]);
    /// assert_eq!(read.shortest_cycle("g")?, Some(vec!["a".into(), "b".into(), "a".into()]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn strongly_connected_components(&self, graph: &str) -> Result<Vec<Vec<String>>> {
        let loaded = Loaded::load(self, graph, With::Nothing)?;
        let components = components(&loaded.directed_only());
        Ok(components.into_iter().map(|c| loaded.keys_of(c)).collect())
    }

    /// A shortest directed cycle of `graph` (fewest edges; undirected edges
    /// are left out), as node keys with the first repeated at the end, or
    /// `None` when the directed edges form no cycle. Among the shortest,
    /// the one through the smallest key, starting there.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist.
    ///
    /// # Complexity
    ///
    /// One read of the graph, then a breadth-first search from each node
    /// of a component with a cycle, within its component, cut off at the
    /// shortest length found so far: O(V_c (V_c + E_c)) at worst for the
    /// nodes and edges of those components.
    ///
    /// # Example
    ///
    /// See [`strongly_connected_components`](Reader::strongly_connected_components).
    pub fn shortest_cycle(&self, graph: &str) -> Result<Option<Vec<String>>> {
        let loaded = Loaded::load(self, graph, With::Nothing)?;
        Ok(shortest_cycle(&loaded.directed_only()).map(|c| loaded.keys_of(c)))
    }

    /// A shortest path from node `from` to node `to` of `graph`, or `None`
    /// when `to` cannot be reached. Directed edges are followed from source
    /// to target, undirected edges both ways.
    ///
    /// Without `weight`, the path with the fewest edges; with it, the path
    /// whose edges' `weight` attributes add up to the least (Dijkstra's
    /// algorithm, through petgraph's A* with a zero estimate). Between two
    /// consecutive nodes the lightest edge is taken, the smallest key on a
    /// tie.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or either node does not exist;
    /// with `weight`, [`Error::Invalid`] naming the first edge (in key
    /// order) whose attribute is missing, not a number, or negative.
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O((V + E) log V).
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("roads", GraphConfig::undirected())?;
    ///     tx.define_node_type("roads", "town", &json!({}))?;
    ///     tx.define_edge_type("roads", "road", &json!({}), &Default::default())?;
    ///     tx.create_graph("map", "roads")?;
    ///     for key in ["a", "b", "c"] {
    ///         tx.add_node("map", key, "town", &json!({}))?;
    ///     }
    ///     let (ab, bc, ac) = (json!({"km": 2}), json!({"km": 3}), json!({"km": 9}));
    ///     tx.add_edge("map", NewEdge::new("road", "a", "b").key("ab").attributes(&ab))?;
    ///     tx.add_edge("map", NewEdge::new("road", "b", "c").key("bc").attributes(&bc))?;
    ///     tx.add_edge("map", NewEdge::new("road", "c", "a").key("ca").attributes(&ac))?;
    ///     Ok(())
    /// })?;
    /// let read = store.begin_read()?;
    /// let direct = read.shortest_path("map", "a", "c", None)?.unwrap();
    /// assert_eq!((direct.edges, direct.cost), (vec!["ca".to_owned()], 1.0));
    /// let shortest = read.shortest_path("map", "a", "c", Some("km"))?.unwrap();
    /// assert_eq!(shortest.nodes, ["a", "b", "c"]);
    /// assert_eq!(shortest.cost, 5.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shortest_path(
        &self,
        graph: &str,
        from: &str,
        to: &str,
        weight: Option<&str>,
    ) -> Result<Option<ShortestPath>> {
        let with = match weight {
            Some(_) => With::EdgeAttributes,
            None => With::Nothing,
        };
        let loaded = Loaded::load(self, graph, with)?;
        let (start, goal) = (loaded.index_of(from)?, loaded.index_of(to)?);
        let mut costs = Vec::with_capacity(loaded.edges.len());
        for edge in &loaded.edges {
            costs.push(match weight {
                None => 1.0,
                Some(attribute) => weight_of(
                    || Entity::Edge {
                        graph: graph.to_owned(),
                        key: edge.key.clone(),
                    },
                    edge.attributes.as_deref(),
                    attribute,
                    "a weighted path",
                )?,
            });
        }
        let mut g: DiGraph<(), u32, u32> =
            DiGraph::with_capacity(loaded.keys.len(), loaded.edges.len());
        for _ in &loaded.keys {
            g.add_node(());
        }
        for (i, edge) in loaded.edges.iter().enumerate() {
            let (s, t) = (
                NodeIndex::new(edge.source as usize),
                NodeIndex::new(edge.target as usize),
            );
            g.add_edge(s, t, i as u32);
            if edge.undirected && s != t {
                g.add_edge(t, s, i as u32);
            }
        }
        let found = petgraph::algo::astar(
            &g,
            NodeIndex::new(start as usize),
            |n| n.index() == goal as usize,
            |e| costs[*e.weight() as usize],
            |_| 0.0,
        );
        let Some((cost, nodes)) = found else {
            return Ok(None);
        };
        let mut edges = Vec::with_capacity(nodes.len().saturating_sub(1));
        for pair in nodes.windows(2) {
            let lightest = g
                .edges_connecting(pair[0], pair[1])
                .map(|e| *e.weight())
                .min_by(|a, b| {
                    costs[*a as usize]
                        .total_cmp(&costs[*b as usize])
                        .then(a.cmp(b))
                });
            if let Some(i) = lightest {
                edges.push(loaded.edges[i as usize].key.clone());
            }
        }
        Ok(Some(ShortestPath {
            nodes: loaded.keys_of(nodes.iter().map(|n| n.index() as u32)),
            edges,
            cost,
        }))
    }

    /// The critical path of `graph` by the numeric node attribute
    /// `weight`: the path whose nodes' weights add up to the most (a
    /// node's weight is its duration, cost or effort). Ties go to the path
    /// ending at the smaller key, and within it to the smaller predecessor
    /// key — the rule the taskgraph's critical path follows too.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`]
    /// naming the first node (in key order) whose attribute is missing, not
    /// a number, or negative, or an undirected edge; [`Error::Cycle`] as
    /// for [`topological_order`](Reader::topological_order).
    ///
    /// # Complexity
    ///
    /// One read of the graph with its node attributes, then
    /// O((V + E) log V).
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, NewEdge, Store};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// store.write(|tx| {
    ///     tx.define_graph_type("plan", GraphConfig::directed())?;
    ///     tx.define_node_type("plan", "job", &json!({}))?;
    ///     tx.define_edge_type("plan", "then", &json!({}), &Default::default())?;
    ///     tx.create_graph("g", "plan")?;
    ///     for (key, hours) in [("design", 3), ("build", 5), ("docs", 1), ("ship", 1)] {
    ///         tx.add_node("g", key, "job", &json!({"hours": hours}))?;
    ///     }
    ///     for (s, t) in [("design", "build"), ("design", "docs"), ("build", "ship"), ("docs", "ship")] {
    ///         tx.add_edge("g", NewEdge::new("then", s, t))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// let path = store.begin_read()?.critical_path("g", "hours")?;
    /// assert_eq!(path.nodes, ["design", "build", "ship"]);
    /// assert_eq!(path.total, 9.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn critical_path(&self, graph: &str, weight: &str) -> Result<HeaviestPath> {
        let loaded = Loaded::load(self, graph, With::NodeAttributes)?;
        let mut weights = Vec::with_capacity(loaded.keys.len());
        for (key, document) in loaded.keys.iter().zip(&loaded.node_attributes) {
            weights.push(weight_of(
                || Entity::Node {
                    graph: graph.to_owned(),
                    key: key.clone(),
                },
                document.as_deref(),
                weight,
                "a critical path",
            )?);
        }
        let (before, after) = loaded.directed("a critical path")?;
        let order = topological_order(&before, &after).map_err(|c| loaded.cycle_error(c))?;
        let (path, total) = longest_path(&before, &order, &weights);
        Ok(HeaviestPath {
            nodes: loaded.keys_of(path),
            total,
        })
    }
}

/// Node indices in topological order; among the nodes available at each
/// step, the smallest index first (Kahn's algorithm with a min-heap).
/// `before[i]` / `after[i]` are the nodes with an edge into / out of `i`.
/// On a cycle, `Err` holds one, as indices with the first repeated last.
///
/// O((V + E) log V).
pub(crate) fn topological_order(
    before: &[Vec<u32>],
    after: &[Vec<u32>],
) -> std::result::Result<Vec<u32>, Vec<u32>> {
    let n = before.len();
    let mut waiting: Vec<usize> = before.iter().map(Vec::len).collect();
    let mut heap: BinaryHeap<Reverse<u32>> = (0..n as u32)
        .filter(|&i| waiting[i as usize] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(node)) = heap.pop() {
        order.push(node);
        for &next in &after[node as usize] {
            let slot = &mut waiting[next as usize];
            *slot -= 1;
            if *slot == 0 {
                heap.push(Reverse(next));
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err(leftover_cycle(before, &waiting))
    }
}

/// Generations: the nodes with nothing before them, then the nodes whose
/// predecessors are all in earlier generations, and so on; each in index
/// order. On a cycle, `Err` holds one as [`topological_order`] does.
///
/// O(V log V + E).
pub(crate) fn generations(
    before: &[Vec<u32>],
    after: &[Vec<u32>],
) -> std::result::Result<Vec<Vec<u32>>, Vec<u32>> {
    let mut waiting: Vec<usize> = before.iter().map(Vec::len).collect();
    let mut layer: Vec<u32> = (0..before.len() as u32)
        .filter(|&i| waiting[i as usize] == 0)
        .collect();
    let mut layers = Vec::new();
    let mut seen = 0;
    while !layer.is_empty() {
        seen += layer.len();
        let mut next = Vec::new();
        for &node in &layer {
            for &later in &after[node as usize] {
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
    if seen == before.len() {
        Ok(layers)
    } else {
        Err(leftover_cycle(before, &waiting))
    }
}

/// A cycle among the nodes Kahn's algorithm could not place (those still
/// `waiting` for a predecessor). Each such node has a predecessor that was
/// not placed either, so walking back from one must revisit a node; the
/// walk between the two visits, turned forward, is a cycle.
fn leftover_cycle(before: &[Vec<u32>], waiting: &[usize]) -> Vec<u32> {
    let Some(start) = waiting.iter().position(|&w| w > 0) else {
        return Vec::new();
    };
    let mut step_of: HashMap<u32, usize> = HashMap::new();
    let mut walk = vec![start as u32];
    let mut at = start as u32;
    loop {
        step_of.insert(at, walk.len() - 1);
        let Some(&prev) = before[at as usize]
            .iter()
            .find(|&&p| waiting[p as usize] > 0)
        else {
            // Unreachable by the argument above; an empty cycle is the
            // honest answer if it ever were.
            return Vec::new();
        };
        if let Some(&from) = step_of.get(&prev) {
            let mut cycle: Vec<u32> = walk[from..].to_vec();
            cycle.push(prev);
            cycle.reverse();
            return cycle;
        }
        walk.push(prev);
        at = prev;
    }
}

/// The path with the largest total weight (the sum over its nodes, every
/// weight at least 0), first node first, and that total, given a
/// topological `order`. Ties go to the path ending at the smaller index,
/// and within it to the smaller predecessor.
///
/// O(V + E).
pub(crate) fn longest_path(before: &[Vec<u32>], order: &[u32], weight: &[f64]) -> (Vec<u32>, f64) {
    let n = before.len();
    let mut finish = vec![0.0f64; n];
    let mut via: Vec<Option<u32>> = vec![None; n];
    for &node in order {
        let i = node as usize;
        let mut best: Option<u32> = None;
        for &prev in &before[i] {
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
        finish[i] = weight[i] + best.map_or(0.0, |b| finish[b as usize]);
        via[i] = best;
    }
    let Some(end) = (0..n).reduce(|a, b| if finish[b] > finish[a] { b } else { a }) else {
        return (Vec::new(), 0.0);
    };
    let mut path = vec![end as u32];
    let mut at = end;
    while let Some(prev) = via[at] {
        path.push(prev);
        at = prev as usize;
    }
    path.reverse();
    (path, finish[end])
}

/// Strongly connected components of the directed graph `after`, each
/// sorted, ordered by their smallest index.
fn components(after: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let mut g: DiGraph<(), (), u32> = DiGraph::with_capacity(after.len(), 0);
    for _ in after {
        g.add_node(());
    }
    for (s, targets) in after.iter().enumerate() {
        for &t in targets {
            g.add_edge(NodeIndex::new(s), NodeIndex::new(t as usize), ());
        }
    }
    let mut components: Vec<Vec<u32>> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .map(|c| {
            let mut c: Vec<u32> = c.into_iter().map(|n| n.index() as u32).collect();
            c.sort_unstable();
            c
        })
        .collect();
    components.sort_unstable_by_key(|c| c.first().copied());
    components
}

/// A shortest cycle of the directed graph `after` (see
/// [`Reader::shortest_cycle`]).
fn shortest_cycle(after: &[Vec<u32>]) -> Option<Vec<u32>> {
    let n = after.len();
    // A self-loop is a cycle of one edge: the smallest node with one wins.
    if let Some(node) = (0..n).find(|&i| after[i].contains(&(i as u32))) {
        return Some(vec![node as u32, node as u32]);
    }
    let mut component = vec![0usize; n];
    for (c, nodes) in components(after).iter().enumerate() {
        for &node in nodes {
            component[node as usize] = c;
        }
    }
    let mut best: Option<Vec<u32>> = None;
    let mut parent = vec![u32::MAX; n];
    let mut depth = vec![0usize; n];
    let mut touched = Vec::new();
    for start in 0..n {
        let limit = best.as_ref().map_or(usize::MAX, |c| c.len() - 1);
        // A cycle through `start` stays in its component.
        let c = component[start];
        let mut queue = VecDeque::from([start as u32]);
        parent[start] = start as u32;
        touched.push(start);
        'search: while let Some(node) = queue.pop_front() {
            let d = depth[node as usize];
            if d + 1 >= limit {
                break;
            }
            for &next in &after[node as usize] {
                let j = next as usize;
                if component[j] != c {
                    continue;
                }
                if j == start {
                    let mut cycle = vec![start as u32];
                    let mut at = node;
                    while at as usize != start {
                        cycle.push(at);
                        at = parent[at as usize];
                    }
                    cycle.push(start as u32);
                    // The walk back from `node` reversed: forward order.
                    let last = cycle.len() - 1;
                    cycle[1..last].reverse();
                    best = Some(cycle);
                    break 'search;
                }
                if parent[j] == u32::MAX {
                    parent[j] = node;
                    depth[j] = d + 1;
                    touched.push(j);
                    queue.push_back(next);
                }
            }
        }
        for i in touched.drain(..) {
            parent[i] = u32::MAX;
            depth[i] = 0;
        }
    }
    best
}

/// Node row id → index: a dense table when the graph's ids are packed
/// (the usual case: a graph's nodes are mostly inserted together), else a
/// hash map.
pub(crate) enum IdIndex {
    Dense { min: i64, slots: Vec<u32> },
    Sparse(HashMap<i64, u32>),
}

impl IdIndex {
    const EMPTY: u32 = u32::MAX;

    pub(crate) fn new(ids: &[i64]) -> IdIndex {
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

    pub(crate) fn get(&self, id: i64) -> Option<u32> {
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

    fn adjacency(n: usize, edges: &[(u32, u32)]) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
        let (mut before, mut after) = (vec![Vec::new(); n], vec![Vec::new(); n]);
        for &(a, b) in edges {
            before[b as usize].push(a);
            after[a as usize].push(b);
        }
        (before, after)
    }

    #[test]
    fn order_takes_the_smallest_available_index_first() {
        let (before, after) = adjacency(4, &[(0, 2), (1, 2), (2, 3)]);
        assert_eq!(topological_order(&before, &after), Ok(vec![0, 1, 2, 3]));
        assert_eq!(
            generations(&before, &after),
            Ok(vec![vec![0, 1], vec![2], vec![3]])
        );
    }

    #[test]
    fn a_cycle_is_reported_with_its_nodes() {
        // 0 → 1 → 2 → 1, 2 → 3: the cycle is 1 → 2 → 1.
        let (before, after) = adjacency(4, &[(0, 1), (1, 2), (2, 1), (2, 3)]);
        assert_eq!(topological_order(&before, &after), Err(vec![1, 2, 1]));
        assert_eq!(generations(&before, &after), Err(vec![1, 2, 1]));
        let (before, after) = adjacency(2, &[(1, 1)]);
        assert_eq!(topological_order(&before, &after), Err(vec![1, 1]));
    }

    #[test]
    fn the_shortest_cycle_is_found_through_the_smallest_node() {
        // 0 → 1 → 2 → 3 → 0 and 2 → 4 → 2.
        let (_, after) = adjacency(5, &[(0, 1), (1, 2), (2, 3), (3, 0), (2, 4), (4, 2)]);
        assert_eq!(shortest_cycle(&after), Some(vec![2, 4, 2]));
        let (_, after) = adjacency(3, &[(0, 1), (1, 2)]);
        assert_eq!(shortest_cycle(&after), None);
        let (_, after) = adjacency(3, &[(0, 1), (1, 2), (2, 0)]);
        assert_eq!(shortest_cycle(&after), Some(vec![0, 1, 2, 0]));
    }

    #[test]
    fn longest_path_sums_weights_and_breaks_ties_by_index() {
        let (before, _) = adjacency(3, &[(0, 2), (1, 2)]);
        assert_eq!(
            longest_path(&before, &[0, 1, 2], &[2.0, 2.0, 1.0]),
            (vec![0, 2], 3.0)
        );
        assert_eq!(longest_path(&[], &[], &[]), (vec![], 0.0));
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
}
