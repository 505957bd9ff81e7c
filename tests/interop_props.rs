//! Round trips on random graphs: graphology export → JSON text → import,
//! and petgraph load → save, must lose nothing — keys (any string, the
//! empty one included), types, direction, endpoints, and attributes with
//! every digit of every number and the order of every member.
//!
//! Random graphs cover every graph kind, with and without parallel edges,
//! self-loops and acyclicity, one or two node and edge types. The default
//! case count is 64; `PROPTEST_CASES` overrides it.

mod common;

use alknet_graphs::interop::{
    export_graphology_with, import_graphology_str, load_petgraph, save_petgraph, EdgeWeight,
    ExportOptions, ImportOptions, NodeWeight, PetGraph, Subgraph, TypeTags,
};
use alknet_graphs::{Endpoints, GraphConfig, GraphKind, ListOptions, NewEdge, Reader, Store};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value};

const NODE_TYPES: [&str; 2] = ["n0", "n1"];
const EDGE_TYPES: [&str; 2] = ["e0", "e1"];

#[derive(Debug, Clone)]
struct Spec {
    config: GraphConfig,
    node_types: usize,
    edge_types: usize,
    nodes: Vec<(String, usize, Map<String, Value>)>,
    edges: Vec<SpecEdge>,
}

#[derive(Debug, Clone)]
struct SpecEdge {
    source: usize,
    target: usize,
    edge_type: usize,
    undirected: bool,
    key: Option<String>,
    attributes: Map<String, Value>,
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-e]{1,2}",
        1 => "(?s).{0,8}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?"
        .prop_map(|text| serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        number(),
        "(?s).{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec(("(?s).{0,4}", inner), 0..3)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Attribute documents, members in random order, never the type tag.
fn attributes() -> impl Strategy<Value = Map<String, Value>> {
    vec(("(?s).{0,5}", value()), 0..4)
        .prop_map(|members| members.into_iter().filter(|(k, _)| k != "@type").collect())
}

fn config() -> impl Strategy<Value = GraphConfig> {
    (0..3u8, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(kind, multi, self_loops, acyclic)| {
            let base = match kind {
                0 => GraphConfig::directed().acyclic(acyclic),
                1 => GraphConfig::undirected(),
                _ => GraphConfig::default(),
            };
            base.multi(multi).allow_self_loops(self_loops)
        },
    )
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        config(),
        1..=2usize,
        1..=2usize,
        btree_map(key(), (0..2usize, attributes()), 0..8),
    )
        .prop_flat_map(|(config, node_types, edge_types, nodes)| {
            let nodes: Vec<(String, usize, Map<String, Value>)> = nodes
                .into_iter()
                .map(|(k, (t, a))| (k, t % node_types, a))
                .collect();
            let n = nodes.len().max(1);
            let edge = (
                0..n,
                0..n,
                0..edge_types,
                any::<bool>(),
                proptest::option::of(key()),
                attributes(),
            )
                .prop_map(
                    |(source, target, edge_type, undirected, key, attributes)| SpecEdge {
                        source,
                        target,
                        edge_type,
                        undirected,
                        key,
                        attributes,
                    },
                );
            let edges = if nodes.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                vec(edge, 0..14).boxed()
            };
            (
                Just(config),
                Just(node_types),
                Just(edge_types),
                Just(nodes),
                edges,
            )
        })
        .prop_map(|(config, node_types, edge_types, nodes, edges)| Spec {
            config,
            node_types,
            edge_types,
            nodes,
            edges,
        })
}

/// Builds `g` from the spec; edges the graph type's rules refuse are
/// skipped (a refused write leaves the transaction as it was).
fn build(spec: &Spec) -> (tempfile::TempDir, Store) {
    let (dir, store) = common::store();
    let mut tx = store.begin_write().unwrap();
    tx.define_graph_type("t", spec.config).unwrap();
    for name in &NODE_TYPES[..spec.node_types] {
        tx.define_node_type("t", name, &Value::Object(Map::new()))
            .unwrap();
    }
    for name in &EDGE_TYPES[..spec.edge_types] {
        tx.define_edge_type("t", name, &Value::Object(Map::new()), &Endpoints::any())
            .unwrap();
    }
    tx.create_graph("g", "t").unwrap();
    for (key, node_type, attributes) in &spec.nodes {
        tx.add_node(
            "g",
            key,
            NODE_TYPES[*node_type],
            &Value::Object(attributes.clone()),
        )
        .unwrap();
    }
    for edge in &spec.edges {
        let attributes = Value::Object(edge.attributes.clone());
        let mut new = NewEdge::new(
            EDGE_TYPES[edge.edge_type],
            &spec.nodes[edge.source].0,
            &spec.nodes[edge.target].0,
        )
        .attributes(&attributes);
        new.key = edge.key.as_deref();
        if spec.config.kind == GraphKind::Mixed {
            new = new.undirected(edge.undirected);
        }
        let _ = tx.add_edge("g", new);
    }
    tx.commit().unwrap();
    (dir, store)
}

type Contents = (
    Vec<(String, String, String)>,
    Vec<(String, String, String, String, bool, String)>,
);

/// Everything a graph holds but its timestamps, attributes as text (so
/// member order and number digits count).
fn contents(reader: &Reader, graph: &str) -> Contents {
    let options = ListOptions::new().limit(10_000);
    let nodes = reader
        .nodes(graph, &options)
        .unwrap()
        .items
        .into_iter()
        .map(|n| (n.key, n.node_type, Value::Object(n.attributes).to_string()))
        .collect();
    let edges = reader
        .edges(graph, &options)
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            (
                e.key,
                e.edge_type,
                e.source,
                e.target,
                e.undirected,
                Value::Object(e.attributes).to_string(),
            )
        })
        .collect();
    (nodes, edges)
}

/// A petgraph graph's contents, in the same form.
fn pg_contents(pg: &PetGraph) -> Contents {
    let mut nodes: Vec<_> = pg
        .graph
        .node_weights()
        .map(|n| {
            (
                n.key.clone(),
                n.node_type.clone(),
                Value::Object(n.attributes.clone()).to_string(),
            )
        })
        .collect();
    nodes.sort();
    let mut edges: Vec<_> = pg
        .graph
        .edge_references()
        .map(|e| {
            let w = e.weight();
            (
                w.key.clone(),
                w.edge_type.clone(),
                pg.graph[e.source()].key.clone(),
                pg.graph[e.target()].key.clone(),
                w.undirected,
                Value::Object(w.attributes.clone()).to_string(),
            )
        })
        .collect();
    edges.sort();
    (nodes, edges)
}

/// Changes a petgraph graph in ways that keep every rule: removals,
/// attribute changes, new nodes, re-keyed edges, changed node types.
#[derive(Debug, Clone)]
enum Mutation {
    RemoveNode(usize),
    SetAttribute(usize, String, Value),
    AddNode(String, usize, Map<String, Value>),
    RemoveEdge(usize),
    RekeyEdge(usize, String),
    RetypeNode(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::RemoveNode),
        (any::<usize>(), "(?s).{0,4}", value())
            .prop_filter("not the type tag", |(_, k, _)| k != "@type")
            .prop_map(|(i, k, v)| Mutation::SetAttribute(i, k, v)),
        (key(), 0..2usize, attributes()).prop_map(|(k, t, a)| Mutation::AddNode(k, t, a)),
        any::<usize>().prop_map(Mutation::RemoveEdge),
        (any::<usize>(), key()).prop_map(|(i, k)| Mutation::RekeyEdge(i, k)),
        any::<usize>().prop_map(Mutation::RetypeNode),
    ]
}

fn apply(pg: &mut PetGraph, node_types: usize, mutation: &Mutation) {
    let nodes: Vec<NodeIndex> = pg.graph.node_indices().collect();
    let edges: Vec<EdgeIndex> = pg.graph.edge_indices().collect();
    match mutation {
        Mutation::RemoveNode(i) if !nodes.is_empty() => {
            pg.graph.remove_node(nodes[i % nodes.len()]);
        }
        Mutation::SetAttribute(i, k, v) if !nodes.is_empty() => {
            pg.graph[nodes[i % nodes.len()]]
                .attributes
                .insert(k.clone(), v.clone());
        }
        Mutation::AddNode(key, t, a) if pg.node_index(key).is_none() => {
            pg.graph
                .add_node(NodeWeight::new(key, NODE_TYPES[t % node_types], a.clone()));
        }
        Mutation::RemoveEdge(i) if !edges.is_empty() => {
            pg.graph.remove_edge(edges[i % edges.len()]);
        }
        Mutation::RekeyEdge(i, key)
            if !edges.is_empty() && !pg.graph.edge_weights().any(|e| e.key == *key) =>
        {
            let edge = edges[i % edges.len()];
            let weight: &mut EdgeWeight = &mut pg.graph[edge];
            weight.key = key.clone();
        }
        Mutation::RetypeNode(i) if !nodes.is_empty() => {
            let node = &mut pg.graph[nodes[i % nodes.len()]];
            let next = (NODE_TYPES
                .iter()
                .position(|t| *t == node.node_type)
                .unwrap_or(0)
                + 1)
                % node_types;
            node.node_type = NODE_TYPES[next].to_owned();
        }
        _ => {}
    }
}

/// JSON documents made of graphology's own member names and values, so
/// random documents get past the first checks and reach the deeper ones.
fn document() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just("attributes"),
        Just("options"),
        Just("nodes"),
        Just("edges"),
        Just("key"),
        Just("source"),
        Just("target"),
        Just("undirected"),
        Just("type"),
        Just("multi"),
        Just("allowSelfLoops"),
        Just("@type"),
        Just("@graphType"),
        Just("name"),
        Just("x"),
    ]
    .prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0..3i64).prop_map(Value::from),
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("t"),
            Just("n0"),
            Just("n1"),
            Just("e0"),
            Just("directed"),
            Just("undirected"),
            Just("mixed"),
            Just("g"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 5, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((name.clone(), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    // 64 cases unless PROPTEST_CASES says otherwise; failures are saved
    // under proptest-regressions/ and replayed first.
    #![proptest_config(common::proptest_config("interop_props.txt", common::cases_or(64)))]

    /// Import never panics on any document, and a rejected one leaves the
    /// store exactly as it was.
    #[test]
    fn import_never_panics_and_rejections_change_nothing(
        spec in spec(),
        doc in document(),
        named in any::<bool>(),
    ) {
        let (_dir, store) = build(&spec);
        let options = if named {
            ImportOptions::new().graph("copy").graph_type("t")
        } else {
            ImportOptions::new()
        };
        let before = common::snapshot(&store);
        if store.write(|tx| alknet_graphs::interop::import_graphology(tx, &doc, &options)).is_err() {
            prop_assert_eq!(common::snapshot(&store), before);
        }
    }

    /// Export, serialize, parse, import under another name: the copy holds
    /// exactly what the original holds, and exports the same text.
    #[test]
    fn graphology_round_trip_is_lossless(spec in spec(), plain in any::<bool>()) {
        let (_dir, store) = build(&spec);
        let tags = if plain { TypeTags::WhenAmbiguous } else { TypeTags::Always };
        let options = ExportOptions::new().type_tags(tags);
        let doc = store.read(|r| export_graphology_with(r, "g", &options)).unwrap();
        let text = doc.to_string();
        let imported = store
            .write(|tx| import_graphology_str(tx, &text, &ImportOptions::new().graph("copy")))
            .unwrap();
        prop_assert_eq!(imported.graph_type.as_str(), "t");
        let read = store.begin_read().unwrap();
        prop_assert_eq!(contents(&read, "copy"), contents(&read, "g"));
        let mut again = export_graphology_with(&read, "copy", &options).unwrap();
        again["attributes"]["name"] = Value::from("g");
        prop_assert_eq!(again.to_string(), text);
    }

    /// Load into petgraph and save as a new graph: the same contents.
    /// Then change the petgraph graph and save it over the original: the
    /// store holds exactly the changed graph, and saving again is a no-op.
    #[test]
    fn petgraph_round_trip_is_lossless(spec in spec(), mutations in vec(mutation(), 0..8)) {
        let (_dir, store) = build(&spec);
        let mut pg = store.read(|r| load_petgraph(r, "g", &Subgraph::all())).unwrap();
        prop_assert_eq!(pg_contents(&pg), store.read(|r| Ok(contents(r, "g"))).unwrap());

        let mut copy = pg.clone();
        copy.name = "copy".into();
        store.write(|tx| save_petgraph(tx, &copy)).unwrap();
        prop_assert_eq!(
            store.read(|r| Ok(contents(r, "copy"))).unwrap(),
            store.read(|r| Ok(contents(r, "g"))).unwrap()
        );

        for mutation in &mutations {
            apply(&mut pg, spec.node_types, mutation);
        }
        store.write(|tx| save_petgraph(tx, &pg)).unwrap();
        let reloaded = store.read(|r| load_petgraph(r, "g", &Subgraph::all())).unwrap();
        prop_assert_eq!(pg_contents(&reloaded), pg_contents(&pg));
        prop_assert!(store.write(|tx| save_petgraph(tx, &pg)).unwrap().is_empty());
    }
}
