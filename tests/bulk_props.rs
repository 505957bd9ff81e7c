//! The bulk write path against the single-row one: random batches of nodes
//! and edges written through `add_nodes` / `add_edges` into one store and,
//! row by row through `add_node` / `add_edge`, into another must give the
//! same outcome (the same count or keys, or the same error), the same
//! store inside the transaction, and — after the transaction commits or
//! rolls back — the same rows, order values and change events.
//!
//! The default case count is 64; `PROPTEST_CASES` overrides it. Failures
//! are saved under `proptest-regressions/bulk_props.txt` and replayed first.

mod common;

use alknet_graphs::{Endpoints, GraphConfig, ListOptions, NewEdge, NewNode, Store, WriteTxn};
use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Value};

const GRAPH: &str = "g";
const NODE_KEYS: usize = 8;
const EDGE_KEYS: usize = 12;

/// The graph types a case can run on.
fn configs() -> Vec<GraphConfig> {
    vec![
        GraphConfig::directed().acyclic(true),
        GraphConfig::directed().allow_self_loops(false),
        GraphConfig::directed().multi(true),
        GraphConfig::undirected().multi(true),
        GraphConfig::undirected().allow_self_loops(false),
        GraphConfig::default(),
    ]
}

fn setup(store: &Store, config: GraphConfig) {
    store
        .write(|tx| {
            tx.define_graph_type("t", config)?;
            tx.define_node_type(
                "t",
                "a",
                &json!({"properties": {"w": {"type": "integer", "minimum": 0}}, "required": ["w"]}),
            )?;
            tx.define_node_type("t", "b", &json!({}))?;
            tx.define_edge_type(
                "t",
                "e",
                &json!({"properties": {"weight": {"type": "number"}}}),
                &Endpoints::any(),
            )?;
            tx.define_edge_type("t", "f", &json!({}), &Endpoints::between(&["a"], &["b"]))?;
            tx.create_graph(GRAPH, "t")?;
            Ok(())
        })
        .expect("set up the graph type");
}

#[derive(Debug, Clone)]
struct NodeSpec {
    node_type: &'static str,
    key: String,
    attributes: Value,
}

#[derive(Debug, Clone)]
struct EdgeSpec {
    edge_type: &'static str,
    key: String,
    source: String,
    target: String,
    attributes: Option<Value>,
    undirected: Option<bool>,
}

#[derive(Debug, Clone)]
enum Batch {
    Nodes(Vec<NodeSpec>),
    Edges(Vec<EdgeSpec>),
}

/// A batch and whether its transaction commits (even after an error).
type Step = (Batch, bool);

fn long_key() -> String {
    "k".repeat(1025)
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    let key =
        prop_oneof![30 => (0..NODE_KEYS).prop_map(|i| format!("n{i}")), 1 => Just(long_key())];
    let node_type = prop_oneof![8 => Just("a"), 8 => Just("b"), 1 => Just("zz")];
    let attributes = prop_oneof![
        12 => (0..9i64).prop_map(|w| json!({"w": w})),
        1 => Just(json!({"w": -1})),
        1 => Just(json!({})),
        1 => Just(json!(3)),
    ];
    (node_type, key, attributes).prop_map(|(node_type, key, attributes)| NodeSpec {
        node_type,
        key,
        attributes,
    })
}

/// Edges favour a few nodes, so that parallel edges and cycles come up.
fn endpoint() -> impl Strategy<Value = String> {
    prop_oneof![3 => 0..4usize, 1 => 0..NODE_KEYS + 1].prop_map(|i| format!("n{i}"))
}

fn edge_spec() -> impl Strategy<Value = EdgeSpec> {
    let key =
        prop_oneof![30 => (0..EDGE_KEYS).prop_map(|i| format!("e{i}")), 1 => Just(long_key())];
    let edge_type = prop_oneof![10 => Just("e"), 3 => Just("f"), 1 => Just("zz")];
    let attributes = prop_oneof![
        6 => Just(None),
        3 => (0..5i64).prop_map(|w| Some(json!({"weight": w}))),
        1 => Just(Some(json!({"weight": "heavy"}))),
    ];
    let undirected = prop_oneof![8 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))];
    (
        edge_type,
        key,
        endpoint(),
        endpoint(),
        attributes,
        undirected,
    )
        .prop_map(
            |(edge_type, key, source, target, attributes, undirected)| EdgeSpec {
                edge_type,
                key,
                source,
                target,
                attributes,
                undirected,
            },
        )
}

/// Batches longer than the bulk path's insert chunk, with a rare bad row
/// and keys that repeat, so that refusals fall anywhere in a chunk.
fn long_node_batch() -> impl Strategy<Value = Vec<NodeSpec>> {
    let spec = (
        0..240usize,
        prop_oneof![80 => (0..9i64).prop_map(|w| json!({"w": w})), 1 => Just(json!({}))],
    )
        .prop_map(|(i, attributes)| NodeSpec {
            node_type: "a",
            key: format!("m{i}"),
            attributes,
        });
    prop::collection::vec(spec, 0..120)
}

fn step() -> impl Strategy<Value = Step> {
    let batch = prop_oneof![
        2 => prop::collection::vec(node_spec(), 0..10).prop_map(Batch::Nodes),
        1 => long_node_batch().prop_map(Batch::Nodes),
        4 => prop::collection::vec(edge_spec(), 0..16).prop_map(Batch::Edges),
    ];
    (batch, prop::bool::weighted(0.8))
}

/// Mostly valid nodes of both types, so that edges find their endpoints.
fn seed() -> impl Strategy<Value = Step> {
    prop::collection::vec((prop::bool::ANY, 0..9i64), NODE_KEYS).prop_map(|nodes| {
        let specs = nodes
            .into_iter()
            .enumerate()
            .map(|(i, (is_a, w))| NodeSpec {
                node_type: if is_a { "a" } else { "b" },
                key: format!("n{i}"),
                attributes: json!({"w": w}),
            })
            .collect();
        (Batch::Nodes(specs), true)
    })
}

fn new_edge(spec: &EdgeSpec) -> NewEdge<'_> {
    let mut edge = NewEdge::new(spec.edge_type, &spec.source, &spec.target).key(&spec.key);
    if let Some(attributes) = &spec.attributes {
        edge = edge.attributes(attributes);
    }
    if let Some(undirected) = spec.undirected {
        edge = edge.undirected(undirected);
    }
    edge
}

/// The outcome of a batch: what it returned, or the error's text.
type Outcome = Result<String, String>;

fn bulk(tx: &mut WriteTxn<'_>, batch: &Batch) -> Outcome {
    match batch {
        Batch::Nodes(specs) => tx
            .add_nodes(
                GRAPH,
                specs
                    .iter()
                    .map(|s| NewNode::new(s.node_type, &s.key, &s.attributes)),
            )
            .map(|n| n.to_string()),
        Batch::Edges(specs) => tx
            .add_edges(GRAPH, specs.iter().map(new_edge))
            .map(|keys| keys.join(",")),
    }
    .map_err(|e| e.to_string())
}

fn one_by_one(tx: &mut WriteTxn<'_>, batch: &Batch) -> Outcome {
    match batch {
        Batch::Nodes(specs) => {
            for s in specs {
                tx.add_node(GRAPH, &s.key, s.node_type, &s.attributes)
                    .map_err(|e| e.to_string())?;
            }
            Ok(specs.len().to_string())
        }
        Batch::Edges(specs) => {
            let mut keys = Vec::new();
            for s in specs {
                keys.push(tx.add_edge(GRAPH, new_edge(s)).map_err(|e| e.to_string())?);
            }
            Ok(keys.join(","))
        }
    }
}

/// The graph as a transaction sees it, without timestamps.
fn visible(tx: &WriteTxn<'_>) -> (Vec<String>, Vec<String>) {
    let all = ListOptions::new().limit(10_000);
    let nodes = tx.nodes(GRAPH, &all).expect("list nodes").items;
    let edges = tx.edges(GRAPH, &all).expect("list edges").items;
    (
        nodes
            .iter()
            .map(|n| format!("{} {} {:?}", n.key, n.node_type, n.attributes))
            .collect(),
        edges
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}->{} {} {:?}",
                    e.key, e.edge_type, e.source, e.target, e.undirected, e.attributes
                )
            })
            .collect(),
    )
}

/// Every stored row of the graph (with row ids and order values) and every
/// change batch on the stream, without timestamps.
fn stored(store: &Store) -> Vec<String> {
    let conn = Connection::open(store.path()).expect("open raw");
    let mut out = Vec::new();
    for sql in [
        "SELECT id, key, node_type_id, attributes, topo FROM nodes ORDER BY id",
        "SELECT id, key, edge_type_id, source, target, undirected, attributes FROM edges ORDER BY id",
        "SELECT offset, payload FROM _honker_stream ORDER BY offset",
    ] {
        let mut stmt = conn.prepare(sql).expect("prepare dump");
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                let mut line = String::new();
                for i in 0..columns {
                    let value: rusqlite::types::Value = row.get(i)?;
                    line.push_str(&format!("{value:?}|"));
                }
                Ok(line)
            })
            .expect("query dump");
        for row in rows {
            out.push(row.expect("read dump row"));
        }
    }
    out
}

proptest! {
    #![proptest_config(common::proptest_config("bulk_props.txt", common::cases_or(64)))]

    #[test]
    fn a_batch_writes_what_its_rows_write_one_by_one(
        config in prop::sample::select(configs()),
        seed in seed(),
        steps in prop::collection::vec(step(), 1..6),
    ) {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let single = Store::open(dir_a.path().join("single.db")).unwrap();
        let batched = Store::open(dir_b.path().join("batched.db")).unwrap();
        setup(&single, config);
        setup(&batched, config);
        for (batch, commit) in std::iter::once(seed).chain(steps) {
            let mut tx_single = single.begin_write().unwrap();
            let mut tx_batched = batched.begin_write().unwrap();
            let expected = one_by_one(&mut tx_single, &batch);
            let actual = bulk(&mut tx_batched, &batch);
            prop_assert_eq!(&actual, &expected, "{:?}", batch);
            prop_assert_eq!(visible(&tx_batched), visible(&tx_single));
            if commit {
                tx_single.commit().unwrap();
                tx_batched.commit().unwrap();
            }
        }
        prop_assert_eq!(stored(&batched), stored(&single));
    }
}

#[test]
fn an_edge_batch_without_keys_returns_the_generated_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("g.db")).unwrap();
    setup(&store, GraphConfig::directed());
    let w = json!({"w": 1});
    let keys = store
        .write(|tx| {
            tx.add_nodes(GRAPH, ["x", "y"].map(|k| NewNode::new("a", k, &w)))?;
            tx.add_edges(
                GRAPH,
                [NewEdge::new("e", "x", "y"), NewEdge::new("e", "y", "x")],
            )
        })
        .unwrap();
    assert_eq!(keys.len(), 2);
    let read = store.begin_read().unwrap();
    for (key, (source, target)) in keys.iter().zip([("x", "y"), ("y", "x")]) {
        let edge = read
            .edge(GRAPH, key)
            .unwrap()
            .expect("the returned key exists");
        assert_eq!(
            (edge.source.as_str(), edge.target.as_str()),
            (source, target)
        );
    }
}

/// Endpoints are remembered across edge batches of one transaction; a node
/// removed and added again under the same key is looked up afresh, with
/// its new row and its new type.
#[test]
fn a_removed_endpoint_is_not_served_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("g.db")).unwrap();
    setup(&store, GraphConfig::directed());
    let w = json!({"w": 1});
    let none = json!({});
    let err = store
        .write(|tx| {
            tx.add_nodes(
                GRAPH,
                [NewNode::new("a", "x", &w), NewNode::new("b", "y", &none)],
            )?;
            tx.add_edges(GRAPH, [NewEdge::new("f", "x", "y").key("first")])?;
            tx.remove_node(GRAPH, "x")?;
            let gone = tx
                .add_edges(GRAPH, [NewEdge::new("e", "x", "y").key("orphan")])
                .unwrap_err();
            assert_eq!(
                gone.to_string(),
                format!("edge \"orphan\" in graph \"{GRAPH}\": source node \"x\" does not exist")
            );
            tx.add_node(GRAPH, "x", "b", &none)?;
            tx.add_edges(GRAPH, [NewEdge::new("f", "x", "y").key("second")])
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("edge \"second\" in graph \"{GRAPH}\": source node \"x\" is of node type \"b\", which edge type \"f\" does not allow as its source")
    );
}

#[test]
fn a_batch_to_a_built_in_graph_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("g.db")).unwrap();
    let tasks = alknet_graphs::taskgraph::Taskgraphs::open(&store).unwrap();
    store.write(|tx| tasks.create(tx, "plan")).unwrap();
    let before = store.revision().unwrap();
    let attributes = json!({"status": "pending"});
    let err = store
        .write(|tx| tx.add_nodes("plan", [NewNode::new("task", "t1", &attributes)]))
        .unwrap_err();
    assert!(err.is_protected(), "{err}");
    let err = store
        .write(|tx| tx.add_edges("plan", [NewEdge::new("depends_on", "a", "b")]))
        .unwrap_err();
    assert!(err.is_protected(), "{err}");
    assert_eq!(store.revision().unwrap(), before);
    assert_eq!(store.begin_read().unwrap().node_count("plan").unwrap(), 0);
}
