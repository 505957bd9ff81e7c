//! Random sequences of node and edge writes, checked against an in-memory
//! reference model: every write must be accepted or rejected (and for the
//! same reason) as the model predicts, and the store must end up holding
//! exactly what the model holds.
//!
//! Four graphs, one per graph type, cover the structural rules:
//! - `dag`: directed, acyclic, no parallel edges;
//! - `simple`: directed, no parallel edges, no self-loops, cycles allowed;
//! - `multi_undirected`: undirected, parallel edges and self-loops allowed;
//! - `mixed`: each edge chooses its direction, no parallel edges.
//!
//! The default case count is 64; `PROPTEST_CASES` overrides it.

mod common;

use std::collections::{BTreeMap, VecDeque};

use alknet_graphs::{
    Direction, Endpoints, Error, GraphConfig, GraphKind, ListOptions, NewEdge, Reader, Store,
    WriteTxn,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const GRAPHS: [&str; 4] = ["dag", "simple", "multi_undirected", "mixed"];
const NODE_TYPES: [&str; 2] = ["a", "b"];
/// `e` joins any nodes; `f` only goes from an `a` to a `b`.
const EDGE_TYPES: [&str; 2] = ["e", "f"];
const NODE_KEYS: usize = 5;
const EDGE_KEYS: usize = 8;

fn config_of(graph: &str) -> GraphConfig {
    match graph {
        "dag" => GraphConfig::directed().acyclic(true),
        "simple" => GraphConfig::directed().allow_self_loops(false),
        "multi_undirected" => GraphConfig::undirected().multi(true),
        "mixed" => GraphConfig::default(),
        other => unreachable!("no graph {other}"),
    }
}

/// Each graph gets a graph type of the same name.
fn setup(store: &Store) -> alknet_graphs::Result<u64> {
    let mut tx = store.begin_write()?;
    let node_schema = json!({
        "type": "object",
        "properties": {
            "w": {"type": "integer", "minimum": 0},
            "tag": {"type": "string"}
        },
        "required": ["w"]
    });
    for graph in GRAPHS {
        tx.define_graph_type(graph, config_of(graph))?;
        for node_type in NODE_TYPES {
            tx.define_node_type(graph, node_type, &node_schema)?;
        }
        tx.define_edge_type(graph, "e", &json!({}), &Endpoints::any())?;
        tx.define_edge_type(graph, "f", &json!({}), &Endpoints::between(&["a"], &["b"]))?;
        tx.create_graph(graph, graph)?;
    }
    tx.commit()
}

// ---------------------------------------------------------------------------
// Operations

#[derive(Debug, Clone)]
enum Patch {
    SetW(i64),
    RemoveW,
    SetTag(String),
}

impl Patch {
    fn document(&self) -> Value {
        match self {
            Patch::SetW(w) => json!({"w": w}),
            Patch::RemoveW => json!({"w": null}),
            Patch::SetTag(tag) => json!({"tag": tag}),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    AddNode {
        graph: &'static str,
        key: String,
        node_type: &'static str,
        w: i64,
    },
    RemoveNode {
        graph: &'static str,
        key: String,
    },
    /// `w: None` replaces the attributes with `{}`, which lacks `w`.
    ReplaceNode {
        graph: &'static str,
        key: String,
        w: Option<i64>,
    },
    PatchNode {
        graph: &'static str,
        key: String,
        patch: Patch,
    },
    AddEdge {
        graph: &'static str,
        key: String,
        edge_type: &'static str,
        source: String,
        target: String,
        undirected: Option<bool>,
    },
    RemoveEdge {
        graph: &'static str,
        key: String,
    },
}

/// A write transaction of one operation, or of several that commit or roll
/// back together.
#[derive(Debug, Clone)]
enum Step {
    Single(Op),
    Group { ops: Vec<Op>, commit: bool },
}

fn graph() -> impl Strategy<Value = &'static str> {
    prop::sample::select(GRAPHS.to_vec())
}

fn node_key() -> impl Strategy<Value = String> {
    (0..NODE_KEYS).prop_map(|i| format!("n{i}"))
}

/// Edges favour a few nodes, so that parallel edges and cycles come up.
fn endpoint() -> impl Strategy<Value = String> {
    prop_oneof![2 => 0..3usize, 1 => 0..NODE_KEYS].prop_map(|i| format!("n{i}"))
}

fn edge_key() -> impl Strategy<Value = String> {
    (0..EDGE_KEYS).prop_map(|i| format!("e{i}"))
}

/// Mostly valid weights; a negative one breaks the schema.
fn weight() -> impl Strategy<Value = i64> {
    prop_oneof![6 => 0..20i64, 1 => -3..0i64]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (graph(), node_key(), prop::sample::select(NODE_TYPES.to_vec()), weight())
            .prop_map(|(graph, key, node_type, w)| Op::AddNode { graph, key, node_type, w }),
        1 => (graph(), node_key()).prop_map(|(graph, key)| Op::RemoveNode { graph, key }),
        1 => (graph(), node_key(), prop::option::weighted(0.8, weight()))
            .prop_map(|(graph, key, w)| Op::ReplaceNode { graph, key, w }),
        1 => (
            graph(),
            node_key(),
            prop_oneof![
                weight().prop_map(Patch::SetW),
                Just(Patch::RemoveW),
                "[xyz]{1,3}".prop_map(Patch::SetTag),
            ],
        )
            .prop_map(|(graph, key, patch)| Op::PatchNode { graph, key, patch }),
        8 => (
            graph(),
            edge_key(),
            prop_oneof![4 => Just("e"), 1 => Just("f")],
            endpoint(),
            endpoint(),
            prop_oneof![6 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))],
        )
            .prop_map(|(graph, key, edge_type, source, target, undirected)| Op::AddEdge {
                graph,
                key,
                edge_type,
                source,
                target,
                undirected,
            }),
        2 => (graph(), edge_key()).prop_map(|(graph, key)| Op::RemoveEdge { graph, key }),
    ]
}

/// A first transaction adding most node keys to every graph, so that
/// edges mostly find their endpoints.
fn seed() -> impl Strategy<Value = Step> {
    let node = (prop::sample::select(NODE_TYPES.to_vec()), 0..20i64);
    prop::collection::vec(prop::option::weighted(0.7, node), GRAPHS.len() * NODE_KEYS).prop_map(
        |nodes| {
            let ops = nodes
                .into_iter()
                .enumerate()
                .filter_map(|(i, node)| {
                    let (node_type, w) = node?;
                    let graph = GRAPHS[i / NODE_KEYS];
                    let key = format!("n{}", i % NODE_KEYS);
                    Some(Op::AddNode {
                        graph,
                        key,
                        node_type,
                        w,
                    })
                })
                .collect();
            Step::Group { ops, commit: true }
        },
    )
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => op().prop_map(Step::Single),
        1 => (prop::collection::vec(op(), 1..6), any::<bool>())
            .prop_map(|(ops, commit)| Step::Group { ops, commit }),
    ]
}

/// Runs `op` against the store.
fn run(tx: &mut WriteTxn<'_>, op: &Op) -> alknet_graphs::Result<()> {
    match op {
        Op::AddNode {
            graph,
            key,
            node_type,
            w,
        } => tx.add_node(graph, key, node_type, &json!({"w": w})),
        Op::RemoveNode { graph, key } => tx.remove_node(graph, key),
        Op::ReplaceNode { graph, key, w } => tx.replace_node(graph, key, &replacement(*w)),
        Op::PatchNode { graph, key, patch } => {
            tx.patch_node(graph, key, &patch.document()).map(drop)
        }
        Op::AddEdge {
            graph,
            key,
            edge_type,
            source,
            target,
            undirected,
        } => {
            let mut edge = NewEdge::new(edge_type, source, target).key(key);
            edge.undirected = *undirected;
            tx.add_edge(graph, edge).map(|returned| {
                assert_eq!(&returned, key, "add_edge returns the key it was given");
            })
        }
        Op::RemoveEdge { graph, key } => tx.remove_edge(graph, key),
    }
}

fn replacement(w: Option<i64>) -> Value {
    match w {
        Some(w) => json!({"w": w}),
        None => json!({}),
    }
}

// ---------------------------------------------------------------------------
// The reference model

/// Why the model expects a write to be rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpectedErr {
    NotFound,
    AlreadyExists,
    SchemaViolation,
    Cycle,
    /// A structural rule ([`Error::rule`]): missing endpoint, disallowed
    /// endpoint type, direction, self-loop, parallel edge.
    Rule,
}

impl ExpectedErr {
    fn of(err: &Error) -> Option<ExpectedErr> {
        if err.is_not_found() {
            Some(ExpectedErr::NotFound)
        } else if err.is_already_exists() {
            Some(ExpectedErr::AlreadyExists)
        } else if err.is_schema_violation() {
            Some(ExpectedErr::SchemaViolation)
        } else if err.is_cycle() {
            Some(ExpectedErr::Cycle)
        } else if err.rule().is_some() {
            Some(ExpectedErr::Rule)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct ModelNode {
    node_type: &'static str,
    attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
struct ModelEdge {
    edge_type: &'static str,
    source: String,
    target: String,
    undirected: bool,
}

impl ModelEdge {
    /// Whether the edge counts as leaving `node` (`out`) or entering it.
    fn leaves(&self, node: &str, out: bool) -> bool {
        let (from, to) = (&self.source, &self.target);
        if out {
            from == node || (self.undirected && to == node)
        } else {
            to == node || (self.undirected && from == node)
        }
    }

    fn other_end(&self, node: &str) -> &str {
        if self.source == node {
            &self.target
        } else {
            &self.source
        }
    }
}

#[derive(Debug, Clone)]
struct ModelGraph {
    config: GraphConfig,
    nodes: BTreeMap<String, ModelNode>,
    edges: BTreeMap<String, ModelEdge>,
}

impl ModelGraph {
    /// A directed path `from` → … → `to` (naive breadth-first search).
    fn has_path(&self, from: &str, to: &str) -> bool {
        let mut seen = vec![from.to_owned()];
        let mut queue = VecDeque::from([from.to_owned()]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                return true;
            }
            for edge in self.edges.values().filter(|e| e.source == node) {
                if !seen.contains(&edge.target) {
                    seen.push(edge.target.clone());
                    queue.push_back(edge.target.clone());
                }
            }
        }
        false
    }

    fn has_directed_edge(&self, source: &str, target: &str) -> bool {
        self.edges
            .values()
            .any(|e| e.source == source && e.target == target)
    }

    /// The expected result of `neighbors(key, direction, None)`, ordered by
    /// neighbour key then edge key; each incident edge appears once.
    fn neighbors(&self, key: &str, direction: Direction) -> Vec<(String, String, String, bool)> {
        let mut found: Vec<_> = self
            .edges
            .iter()
            .filter(|(_, e)| match direction {
                Direction::Out => e.leaves(key, true),
                Direction::In => e.leaves(key, false),
                Direction::Both => e.source == key || e.target == key,
            })
            .map(|(edge_key, e)| {
                (
                    e.other_end(key).to_owned(),
                    edge_key.clone(),
                    e.edge_type.to_owned(),
                    e.undirected,
                )
            })
            .collect();
        found.sort();
        found
    }
}

#[derive(Debug, Clone)]
struct Model {
    graphs: BTreeMap<&'static str, ModelGraph>,
}

/// Attributes valid against the node types' schema: `w` present and a
/// non-negative integer (`tag`, when present, is always a string here).
fn valid_attributes(attributes: &Map<String, Value>) -> bool {
    attributes
        .get("w")
        .and_then(Value::as_i64)
        .is_some_and(|w| w >= 0)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => unreachable!("not an object: {other}"),
    }
}

impl Model {
    fn new() -> Self {
        let graphs = GRAPHS
            .iter()
            .map(|&name| {
                let graph = ModelGraph {
                    config: config_of(name),
                    nodes: BTreeMap::new(),
                    edges: BTreeMap::new(),
                };
                (name, graph)
            })
            .collect();
        Model { graphs }
    }

    fn graph(&self, name: &str) -> &ModelGraph {
        &self.graphs[name]
    }

    /// Applies `op` if the model accepts it. Otherwise returns every rule it
    /// breaks and leaves the model unchanged; the store may report any one
    /// of them (the order it checks rules in is not part of its contract).
    fn apply(&mut self, op: &Op) -> Result<(), Vec<ExpectedErr>> {
        let graph_name = match op {
            Op::AddNode { graph, .. }
            | Op::RemoveNode { graph, .. }
            | Op::ReplaceNode { graph, .. }
            | Op::PatchNode { graph, .. }
            | Op::AddEdge { graph, .. }
            | Op::RemoveEdge { graph, .. } => *graph,
        };
        let graph = self.graphs.get_mut(graph_name).expect("known graph");
        let mut broken = Vec::new();
        match op {
            Op::AddNode {
                key, node_type, w, ..
            } => {
                let attributes = object(json!({"w": w}));
                if graph.nodes.contains_key(key) {
                    broken.push(ExpectedErr::AlreadyExists);
                }
                if !valid_attributes(&attributes) {
                    broken.push(ExpectedErr::SchemaViolation);
                }
                if broken.is_empty() {
                    let node = ModelNode {
                        node_type,
                        attributes,
                    };
                    graph.nodes.insert(key.clone(), node);
                }
            }
            Op::RemoveNode { key, .. } => {
                if graph.nodes.remove(key).is_none() {
                    broken.push(ExpectedErr::NotFound);
                } else {
                    graph
                        .edges
                        .retain(|_, e| e.source != *key && e.target != *key);
                }
            }
            Op::ReplaceNode { key, w, .. } => {
                let attributes = object(replacement(*w));
                set_attributes(graph, key, attributes, &mut broken);
            }
            Op::PatchNode { key, patch, .. } => {
                if let Some(node) = graph.nodes.get(key) {
                    let mut attributes = node.attributes.clone();
                    match patch {
                        Patch::SetW(w) => attributes.insert("w".into(), json!(w)),
                        Patch::RemoveW => attributes.remove("w"),
                        Patch::SetTag(tag) => attributes.insert("tag".into(), json!(tag)),
                    };
                    set_attributes(graph, key, attributes, &mut broken);
                } else {
                    broken.push(ExpectedErr::NotFound);
                }
            }
            Op::AddEdge {
                key,
                edge_type,
                source,
                target,
                undirected,
                ..
            } => {
                let edge = ModelEdge {
                    edge_type,
                    source: source.clone(),
                    target: target.clone(),
                    undirected: undirected.unwrap_or(graph.config.kind == GraphKind::Undirected),
                };
                broken = edge_rules(graph, key, &edge, *undirected);
                if broken.is_empty() {
                    graph.edges.insert(key.clone(), edge);
                }
            }
            Op::RemoveEdge { key, .. } => {
                if graph.edges.remove(key).is_none() {
                    broken.push(ExpectedErr::NotFound);
                }
            }
        }
        if broken.is_empty() {
            Ok(())
        } else {
            Err(broken)
        }
    }
}

fn set_attributes(
    graph: &mut ModelGraph,
    key: &str,
    attributes: Map<String, Value>,
    broken: &mut Vec<ExpectedErr>,
) {
    match graph.nodes.get_mut(key) {
        None => broken.push(ExpectedErr::NotFound),
        Some(_) if !valid_attributes(&attributes) => broken.push(ExpectedErr::SchemaViolation),
        Some(node) => node.attributes = attributes,
    }
}

/// Every rule adding `edge` as `key` would break.
fn edge_rules(
    graph: &ModelGraph,
    key: &str,
    edge: &ModelEdge,
    requested: Option<bool>,
) -> Vec<ExpectedErr> {
    let config = graph.config;
    let mut broken = Vec::new();
    if graph.edges.contains_key(key) {
        broken.push(ExpectedErr::AlreadyExists);
    }
    let direction_fits = !matches!(
        (config.kind, requested),
        (GraphKind::Directed, Some(true)) | (GraphKind::Undirected, Some(false))
    );
    if !direction_fits {
        broken.push(ExpectedErr::Rule);
    }
    let (Some(source), Some(target)) =
        (graph.nodes.get(&edge.source), graph.nodes.get(&edge.target))
    else {
        broken.push(ExpectedErr::Rule);
        return broken;
    };
    if edge.edge_type == "f" && (source.node_type != "a" || target.node_type != "b") {
        broken.push(ExpectedErr::Rule);
    }
    let self_loop = edge.source == edge.target;
    if self_loop && config.acyclic {
        broken.push(ExpectedErr::Cycle);
    }
    if self_loop && !config.allow_self_loops {
        broken.push(ExpectedErr::Rule);
    }
    let parallel = graph.edges.values().any(|other| {
        other.edge_type == edge.edge_type
            && other.undirected == edge.undirected
            && ((other.source == edge.source && other.target == edge.target)
                || (edge.undirected && other.source == edge.target && other.target == edge.source))
    });
    if parallel && !config.multi && direction_fits {
        broken.push(ExpectedErr::Rule);
    }
    if config.acyclic && !self_loop && graph.has_path(&edge.target, &edge.source) {
        broken.push(ExpectedErr::Cycle);
    }
    broken
}

/// Checks a reported cycle: it starts with the new edge's `source, target`,
/// ends where it starts, and every step is an edge of the graph or the new
/// edge.
fn check_cycle(graph: &ModelGraph, source: &str, target: &str, cycle: &[String]) {
    assert!(cycle.len() >= 2, "cycle too short: {cycle:?}");
    assert_eq!(
        (cycle[0].as_str(), cycle[1].as_str()),
        (source, target),
        "cycle {cycle:?} does not start with the new edge {source} -> {target}"
    );
    assert_eq!(cycle.first(), cycle.last(), "cycle {cycle:?} is not closed");
    for pair in cycle.windows(2) {
        let (from, to) = (pair[0].as_str(), pair[1].as_str());
        assert!(
            (from, to) == (source, target) || graph.has_directed_edge(from, to),
            "cycle {cycle:?}: {from} -> {to} is not an edge"
        );
    }
}

/// Applies `op` to both the store (through `tx`) and `model`, and checks
/// they agree. Returns whether the operation was accepted.
fn step_both(tx: &mut WriteTxn<'_>, model: &mut Model, op: &Op) -> bool {
    let before = model.clone();
    let actual = run(tx, op);
    let expected = model.apply(op);
    compare(&before, op, &actual, &expected);
    actual.is_ok()
}

fn compare(
    before: &Model,
    op: &Op,
    actual: &alknet_graphs::Result<()>,
    expected: &Result<(), Vec<ExpectedErr>>,
) {
    match (actual, expected) {
        (Ok(()), Ok(())) => {}
        (Ok(()), Err(broken)) => panic!("{op:?} was accepted; expected rejection for {broken:?}"),
        (Err(err), Ok(())) => panic!("{op:?} was rejected ({err}); expected acceptance"),
        (Err(err), Err(broken)) => {
            let kind = ExpectedErr::of(err);
            assert!(
                kind.is_some_and(|k| broken.contains(&k)),
                "{op:?} was rejected as {kind:?} ({err}); expected one of {broken:?}"
            );
            if let (
                Some(cycle),
                Op::AddEdge {
                    graph,
                    source,
                    target,
                    ..
                },
            ) = (err.cycle(), op)
            {
                check_cycle(before.graph(graph), source, target, cycle);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Comparing the whole state

/// Every item of a listing, read page by page with a small limit.
fn all_pages<T>(
    limit: usize,
    mut page: impl FnMut(&ListOptions) -> alknet_graphs::Result<alknet_graphs::Page<T>>,
    key: impl Fn(&T) -> &str,
) -> Vec<T> {
    let mut items: Vec<T> = Vec::new();
    let mut options = ListOptions::new().limit(limit);
    loop {
        let got = page(&options).expect("list");
        assert!(got.items.len() <= limit, "page longer than its limit");
        for item in got.items {
            if let Some(last) = items.last() {
                assert!(key(last) < key(&item), "listing out of key order");
            }
            items.push(item);
        }
        match got.next {
            Some(next) => {
                assert_eq!(Some(next.as_str()), items.last().map(&key), "cursor");
                options = options.after(next);
            }
            None => return items,
        }
    }
}

type NodeRow = (String, String, Map<String, Value>);
type EdgeRow = (String, String, String, String, bool);

fn listed_nodes(read: &Reader, graph: &str, of_type: Option<&str>) -> Vec<NodeRow> {
    let nodes = all_pages(
        3,
        |options| {
            let mut options = options.clone();
            options.of_type = of_type.map(str::to_owned);
            read.nodes(graph, &options)
        },
        |n| n.key.as_str(),
    );
    nodes
        .into_iter()
        .map(|n| (n.key, n.node_type, n.attributes))
        .collect()
}

fn listed_edges(read: &Reader, graph: &str, of_type: Option<&str>) -> Vec<EdgeRow> {
    let edges = all_pages(
        3,
        |options| {
            let mut options = options.clone();
            options.of_type = of_type.map(str::to_owned);
            read.edges(graph, &options)
        },
        |e| e.key.as_str(),
    );
    edges
        .into_iter()
        .map(|e| {
            assert!(e.attributes.is_empty(), "edge attributes");
            (e.key, e.edge_type, e.source, e.target, e.undirected)
        })
        .collect()
}

fn model_nodes(graph: &ModelGraph, of_type: Option<&str>) -> Vec<NodeRow> {
    graph
        .nodes
        .iter()
        .filter(|(_, n)| of_type.is_none_or(|t| t == n.node_type))
        .map(|(k, n)| (k.clone(), n.node_type.to_owned(), n.attributes.clone()))
        .collect()
}

fn model_edges(graph: &ModelGraph, of_type: Option<&str>) -> Vec<EdgeRow> {
    graph
        .edges
        .iter()
        .filter(|(_, e)| of_type.is_none_or(|t| t == e.edge_type))
        .map(|(k, e)| {
            let (s, t) = (e.source.clone(), e.target.clone());
            (k.clone(), e.edge_type.to_owned(), s, t, e.undirected)
        })
        .collect()
}

/// Counts seen inside an open transaction, including its own writes.
fn check_counts(read: &Reader, model: &Model) {
    for (name, graph) in &model.graphs {
        assert_eq!(read.node_count(name).unwrap(), graph.nodes.len() as u64);
        assert_eq!(read.edge_count(name).unwrap(), graph.edges.len() as u64);
    }
}

fn check_state(read: &Reader, model: &Model) {
    for (name, graph) in &model.graphs {
        assert_eq!(
            listed_nodes(read, name, None),
            model_nodes(graph, None),
            "nodes of {name}"
        );
        assert_eq!(
            listed_edges(read, name, None),
            model_edges(graph, None),
            "edges of {name}"
        );
        for node_type in NODE_TYPES {
            let listed = listed_nodes(read, name, Some(node_type));
            assert_eq!(
                listed,
                model_nodes(graph, Some(node_type)),
                "{node_type} nodes of {name}"
            );
        }
        for edge_type in EDGE_TYPES {
            let listed = listed_edges(read, name, Some(edge_type));
            assert_eq!(
                listed,
                model_edges(graph, Some(edge_type)),
                "{edge_type} edges of {name}"
            );
        }
        for i in 0..NODE_KEYS {
            let key = format!("n{i}");
            for direction in [Direction::Out, Direction::In, Direction::Both] {
                let actual = read.neighbors(name, &key, direction, None);
                if !graph.nodes.contains_key(&key) {
                    assert!(
                        actual.unwrap_err().is_not_found(),
                        "neighbors of missing {key}"
                    );
                    continue;
                }
                let actual: Vec<_> = actual
                    .unwrap()
                    .into_iter()
                    .map(|n| (n.node, n.edge, n.edge_type, n.undirected))
                    .collect();
                assert_eq!(
                    actual,
                    graph.neighbors(&key, direction),
                    "{direction:?} neighbors of {key} in {name}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The property

fn check_sequence(steps: &[Step]) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("prop.db")).unwrap();
    let mut revision = setup(&store).unwrap();
    let mut model = Model::new();

    for step in steps {
        match step {
            Step::Single(op) => {
                let before = model.clone();
                let actual = store.write(|tx| run(tx, op));
                let expected = model.apply(op);
                compare(&before, op, &actual, &expected);
                if actual.is_ok() {
                    revision += 1;
                }
            }
            Step::Group { ops, commit } => {
                let mut tx = store.begin_write().unwrap();
                let mut scratch = model.clone();
                let all_accepted = ops.iter().all(|op| step_both(&mut tx, &mut scratch, op));
                if all_accepted {
                    check_counts(&tx, &scratch);
                }
                if all_accepted && *commit {
                    if !ops.is_empty() {
                        revision += 1;
                    }
                    assert_eq!(tx.commit().unwrap(), revision, "revision after commit");
                    model = scratch;
                } else if *commit {
                    drop(tx);
                } else {
                    tx.rollback().unwrap();
                }
            }
        }
    }

    let read = store.begin_read().unwrap();
    check_state(&read, &model);
    assert_eq!(read.revision().unwrap(), revision, "revision");
    drop(read);
    assert_eq!(store.revision().unwrap(), revision, "store revision");
}

proptest! {
    // 64 cases unless PROPTEST_CASES says otherwise; failures are saved
    // under proptest-regressions/ and replayed first.
    #![proptest_config(common::proptest_config("prop_graph.txt", common::cases_or(64)))]

    #[test]
    fn writes_agree_with_the_model(
        seed in seed(),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let steps: Vec<Step> = std::iter::once(seed).chain(steps).collect();
        check_sequence(&steps);
    }
}

/// A directed self-loop both leaves and enters its node.
#[test]
fn a_directed_self_loop_is_an_in_neighbor() {
    let node = Op::AddNode {
        graph: "mixed",
        key: "n0".into(),
        node_type: "a",
        w: 0,
    };
    let self_loop = Op::AddEdge {
        graph: "mixed",
        key: "e0".into(),
        edge_type: "e",
        source: "n0".into(),
        target: "n0".into(),
        undirected: Some(false),
    };
    check_sequence(&[Step::Single(node), Step::Single(self_loop)]);
}
