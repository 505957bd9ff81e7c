//! graphology as graphology does it: graph attributes, declared options,
//! numeric keys, members in any order, typed import errors, and the round
//! trip of random documents.

mod common;

use alknet_graphs::interop::{
    export_graphology, import_graphology, import_graphology_str, ImportOptions,
};
use alknet_graphs::{verify, Endpoints, GraphConfig, Store};
use common::{rejected, store};
use proptest::prelude::*;
use serde_json::{json, Value};

fn open(store: &Store, config: GraphConfig) {
    store
        .write(|tx| {
            tx.define_graph_type("open", config)?;
            tx.define_node_type("open", "n", &json!({}))?;
            tx.define_edge_type("open", "e", &json!({}), &Endpoints::any())
        })
        .expect("graph type");
}

fn import_err(store: &Store, text: &str, options: &ImportOptions) -> alknet_graphs::Error {
    rejected(store, |tx| import_graphology_str(tx, text, options))
}

#[test]
fn graph_attributes_and_options_round_trip_exactly() {
    let (_dir, store) = store();
    open(&store, GraphConfig::default());
    let doc: Value = serde_json::from_str(
        r#"{"attributes": {"name": "g", "title": "Debian", "meta": {"n": 1.50, "tags": ["a"]}},
            "options": {"type": "directed", "multi": false},
            "nodes": [{"key": "a"}, {"key": "b"}],
            "edges": [{"key": "ab", "source": "a", "target": "b"}]}"#,
    )
    .unwrap();
    let opts = ImportOptions::new().graph_type("open");
    store
        .write(|tx| import_graphology(tx, &doc, &opts))
        .unwrap();
    let graph = store.begin_read().unwrap().graph("g").unwrap().unwrap();
    assert_eq!(
        Value::Object(graph.attributes.clone()).to_string(),
        r#"{"title":"Debian","meta":{"n":1.50,"tags":["a"]}}"#
    );
    let exported = store.read(|r| export_graphology(r, "g")).unwrap();
    assert_eq!(
        exported["options"],
        json!({"type": "directed", "multi": false})
    );
    assert_eq!(exported["attributes"]["meta"]["n"].to_string(), "1.50");
    assert_eq!(exported["attributes"]["title"], "Debian");
    assert!(verify(&store).unwrap().is_clean());
}

#[test]
fn numeric_keys_become_their_javascript_string() {
    let (_dir, store) = store();
    open(&store, GraphConfig::default());
    let text = r#"{"attributes": {"name": "g"}, "nodes": [{"key": 1}, {"key": 1.50}, {"key": 1e21}],
                   "edges": [{"key": 0, "source": 1, "target": 1.5}]}"#;
    let opts = ImportOptions::new().graph_type("open");
    store
        .write(|tx| import_graphology_str(tx, text, &opts))
        .unwrap();
    let read = store.begin_read().unwrap();
    for key in ["1", "1.5", "1e+21"] {
        assert!(read.node("g", key).unwrap().is_some(), "{key}");
    }
    let edge = read.edge("g", "0").unwrap().unwrap();
    assert_eq!((edge.source.as_str(), edge.target.as_str()), ("1", "1.5"));
    // 1 and 1.0 are the same key to graphology.
    let dup = r#"{"attributes": {"name": "h"}, "nodes": [{"key": 1}, {"key": 1.0}]}"#;
    assert_eq!(
        import_err(&store, dup, &opts).to_string(),
        r#"graph "h": graphology document at /nodes/1/key: node "1" appears twice (first at /nodes/0)"#
    );
}

#[test]
fn declared_options_are_held_against_the_documents_own_content() {
    let (_dir, store) = store();
    open(&store, GraphConfig::default().multi(true));
    let opts = ImportOptions::new().graph("g").graph_type("open");
    let parallel = r#"{"options": {"multi": false}, "nodes": [{"key": "a"}, {"key": "b"}],
        "edges": [{"key": "x", "source": "a", "target": "b"}, {"key": "y", "source": "a", "target": "b"}]}"#;
    let err = import_err(&store, parallel, &opts);
    assert_eq!(
        err.to_string(),
        r#"graph "g": graphology document at /edges/1: edge "y": parallel to edge "x", and the document's options say multi: false"#
    );
    assert_eq!(err.pointer(), Some("/edges/1"));
    let undirected_pair = r#"{"options": {"type": "undirected"}, "nodes": [{"key": "a"}, {"key": "b"}],
        "edges": [{"key": "x", "source": "a", "target": "b"}, {"key": "y", "source": "b", "target": "a"}]}"#;
    assert_eq!(
        import_err(&store, undirected_pair, &opts).to_string(),
        r#"graph "g": graphology document at /edges/1: edge "y": parallel to edge "x", and the document's options say multi: false"#
    );
    let loop_ = r#"{"options": {"allowSelfLoops": false}, "nodes": [{"key": "a"}],
        "edges": [{"key": "aa", "source": "a", "target": "a"}]}"#;
    assert_eq!(
        import_err(&store, loop_, &opts).to_string(),
        r#"graph "g": graphology document at /edges/0: edge "aa": self-loop on node "a", and the document's options say allowSelfLoops: false"#
    );
    let undirected_in_directed = r#"{"options": {"type": "directed"}, "nodes": [{"key": "a"}, {"key": "b"}],
        "edges": [{"source": "a", "target": "b", "undirected": true}]}"#;
    assert_eq!(
        import_err(&store, undirected_in_directed, &opts).to_string(),
        r#"graph "g": graphology document at /edges/0/undirected: an edge of a directed graph cannot be undirected"#
    );
}

#[test]
fn members_may_come_in_any_order() {
    let (_dir, store) = store();
    open(&store, GraphConfig::default());
    let text = r#"{"edges": [{"key": "ab", "source": "a", "target": "b"}],
                   "nodes": [{"key": "a"}, {"key": "b"}],
                   "options": {"type": "undirected"},
                   "attributes": {"name": "late", "@graphType": "open", "x": 1}}"#;
    store
        .write(|tx| import_graphology_str(tx, text, &ImportOptions::new()))
        .unwrap();
    let read = store.begin_read().unwrap();
    assert!(read.edge("late", "ab").unwrap().unwrap().undirected);
    assert_eq!(read.graph("late").unwrap().unwrap().attributes["x"], 1);
}

#[test]
fn import_errors_keep_the_cause_kind_and_data() {
    let (_dir, store) = store();
    store
        .write(|tx| {
            tx.define_graph_type("dag", GraphConfig::directed().acyclic(true))?;
            tx.define_node_type(
                "dag",
                "n",
                &json!({"properties": {"w": {"type": "integer"}}}),
            )?;
            tx.define_edge_type("dag", "e", &json!({}), &Endpoints::any())
        })
        .unwrap();
    let opts = ImportOptions::new().graph("g").graph_type("dag");
    let cycle = r#"{"nodes": [{"key": "a"}, {"key": "b"}], "edges": [
        {"key": "ab", "source": "a", "target": "b"}, {"key": "ba", "source": "b", "target": "a"}]}"#;
    let err = import_err(&store, cycle, &opts);
    assert_eq!(err.kind(), "cycle");
    assert!(err.is_cycle());
    assert_eq!(err.cycle().unwrap(), ["b", "a", "b"]);
    assert_eq!(err.pointer(), Some("/edges/1"));
    let bad = r#"{"nodes": [{"key": "a", "attributes": {"w": "x"}}]}"#;
    let err = import_err(&store, bad, &opts);
    assert_eq!(err.kind(), "schema_violation");
    assert_eq!(err.violations()[0].instance_path, "/w");
    store.write(|tx| tx.create_graph("taken", "dag")).unwrap();
    let err = import_err(
        &store,
        "{}",
        &ImportOptions::new().graph("taken").graph_type("dag"),
    );
    assert_eq!(err.kind(), "already_exists");
    assert!(err.is_already_exists());
}

#[test]
fn unstorable_names_and_escapes_name_their_pointer() {
    let (_dir, store) = store();
    open(&store, GraphConfig::default());
    let opts = ImportOptions::new().graph_type("open");
    assert_eq!(
        import_err(&store, r#"{"attributes": {"name": 5}}"#, &opts).to_string(),
        r#"graph "": graphology document at /attributes/name: must be a string, not number"#
    );
    let err = import_err(
        &store,
        r#"{"attributes": {"name": "g"}, "nodes": [{"key": "\ud800"}]}"#,
        &opts,
    );
    assert_eq!(
        err.to_string(),
        r#"graph "g": graphology document at /nodes/0: not valid JSON at line 1 column 16 of the item: a \u escape that is a lone UTF-16 surrogate (or incomplete), which a string cannot hold"#
    );
}

#[test]
fn define_type_derives_the_graph_type_from_the_document() {
    let (_dir, store) = store();
    let text = r#"{"attributes": {"name": "g"}, "options": {"type": "directed", "allowSelfLoops": false},
                   "nodes": [{"key": "a", "attributes": {"@type": "city"}}, {"key": "b"}],
                   "edges": [{"source": "a", "target": "b"}]}"#;
    let opts = ImportOptions::new().define_type("roads");
    store
        .write(|tx| import_graphology_str(tx, text, &opts))
        .unwrap();
    let read = store.begin_read().unwrap();
    let graph_type = read.graph_type("roads").unwrap().unwrap();
    assert_eq!(
        graph_type.config,
        GraphConfig::directed().allow_self_loops(false)
    );
    let names: Vec<String> = read
        .node_types("roads")
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["city", "node"]);
    assert_eq!(read.node("g", "b").unwrap().unwrap().node_type, "node");
}

#[test]
fn graph_schemas_validate_and_revalidate_graph_attributes() {
    let (_dir, store) = store();
    open(&store, GraphConfig::default());
    store
        .write(|tx| tx.create_graph_with_attributes("g", "open", &json!({"year": 1})))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.set_graph_schema(
            "open",
            Some(&json!({"properties": {"year": {"type": "string"}}})),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"graph type "open": the new schema rejects 1 existing instance(s): "g""#
    );
    store
        .write(|tx| tx.set_graph_schema("open", Some(&json!({"required": ["year"]}))))
        .unwrap();
    let err = rejected(&store, |tx| tx.replace_graph_attributes("g", &json!({})));
    assert_eq!(
        err.to_string(),
        r#"graph "g": attributes: "year" is a required property"#
    );
    let doc = json!({"attributes": {"name": "h"}, "nodes": []});
    let err = rejected(&store, |tx| {
        import_graphology(tx, &doc, &ImportOptions::new().graph_type("open"))
    });
    assert_eq!(
        err.to_string(),
        r#"graph "h": graphology document at /attributes: attributes: "year" is a required property"#
    );
    let err = rejected(&store, |tx| {
        tx.patch_graph_attributes("acl", &json!({"x": 1}))
    });
    assert!(err.is_not_found() || err.is_protected(), "{err}");
}

fn key_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{1,3}".prop_map(Value::from),
        (0u32..50).prop_map(Value::from),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,8}".prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Import then export is the identity on random documents, modulo the
    /// documented stringification of numeric keys.
    #[test]
    fn import_then_export_is_identity(
        keys in proptest::collection::btree_set(key_strategy().prop_map(|k| k.to_string()), 0..8),
        attrs in proptest::collection::btree_map("[a-z]{1,4}", scalar(), 0..4),
        pairs in proptest::collection::vec((0usize..8, 0usize..8), 0..12),
        directed in any::<bool>(),
    ) {
        let (_dir, store) = store();
        open(&store, GraphConfig::default().multi(true));
        let keys: Vec<Value> = keys.into_iter().map(|k| serde_json::from_str(&k).unwrap()).collect();
        let key_text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => alknet_graphs::interop::number_key(n),
            _ => unreachable!(),
        };
        let mut attributes = serde_json::Map::new();
        attributes.insert("@graphType".into(), json!("open"));
        attributes.insert("name".into(), json!("g"));
        for (k, v) in &attrs {
            if k != "name" {
                attributes.insert(k.clone(), v.clone());
            }
        }
        let nodes: Vec<Value> = keys.iter().map(|k| json!({"key": k})).collect();
        let mut edges = Vec::new();
        if !keys.is_empty() {
            for (i, (s, t)) in pairs.iter().enumerate() {
                edges.push(json!({"key": format!("e{i:02}"), "source": keys[s % keys.len()], "target": keys[t % keys.len()]}));
            }
        }
        let options = json!({"type": if directed {"directed"} else {"mixed"}, "multi": true, "allowSelfLoops": true});
        let doc = json!({"options": options, "attributes": attributes, "nodes": nodes, "edges": edges});
        store.write(|tx| import_graphology_str(tx, &doc.to_string(), &ImportOptions::new())).unwrap();
        let exported = store.read(|r| export_graphology(r, "g")).unwrap();
        // The expected document: string keys, nodes in key order, type tags.
        let mut expected_nodes: Vec<String> = keys.iter().map(key_text).collect();
        expected_nodes.sort();
        let expected_nodes: Vec<Value> = expected_nodes.iter().map(|k| json!({"key": k, "attributes": {"@type": "n"}})).collect();
        let expected_edges: Vec<Value> = edges.iter().map(|e| json!({
            "key": e["key"], "source": key_text(&e["source"]), "target": key_text(&e["target"]),
            "attributes": {"@type": "e"}
        })).collect();
        prop_assert_eq!(&exported["options"], &doc["options"]);
        prop_assert_eq!(&exported["attributes"], &doc["attributes"]);
        prop_assert_eq!(&exported["nodes"], &Value::Array(expected_nodes));
        prop_assert_eq!(&exported["edges"], &Value::Array(expected_edges));
    }
}
