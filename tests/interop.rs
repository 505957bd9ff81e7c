//! graphology export and import (quirks and every kind of malformed
//! document), petgraph load and save (subgraphs, petgraph algorithms), and
//! DOT / Mermaid pictures.

mod common;

use alknet_graphs::interop::{
    export_graphology, export_graphology_with, import_graphology, import_graphology_str,
    load_petgraph, save_petgraph, to_dot, to_mermaid, EdgeWeight, ExportOptions, ImportOptions,
    NodeWeight, PictureOptions, Subgraph, TypeTags,
};
use alknet_graphs::{Endpoints, GraphConfig, Limits, NewEdge, Store};
use common::{people, rejected, store};
use petgraph::visit::EdgeRef;
use serde_json::{json, Map, Value};

fn export(store: &Store, graph: &str) -> Value {
    store.read(|r| export_graphology(r, graph)).expect("export")
}

/// A single-type graph type `plain` of the given config, with node type
/// `n` (schema `{}`) and edge type `e`.
fn plain(store: &Store, config: GraphConfig) {
    store
        .write(|tx| {
            tx.define_graph_type("plain", config)?;
            tx.define_node_type("plain", "n", &json!({}))?;
            tx.define_edge_type("plain", "e", &json!({}), &Endpoints::any())
        })
        .expect("plain graph type");
}

fn import_err(store: &Store, doc: &Value, options: &ImportOptions) -> String {
    rejected(store, |tx| import_graphology(tx, doc, options)).to_string()
}

// ---------------------------------------------------------------------------
// graphology export

#[test]
fn export_follows_graphologys_format_and_tags_types() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.add_edge(
                "acme",
                NewEdge::new("member_of", "ada", "eng")
                    .key("m1")
                    .attributes(&json!({"since": 2020})),
            )?;
            tx.add_edge("acme", NewEdge::new("knows", "bob", "ada").key("k1"))
        })
        .unwrap();
    let doc = export(&store, "acme");
    assert_eq!(
        doc.to_string(),
        json!({
            "options": {"type": "directed", "multi": false, "allowSelfLoops": true},
            "attributes": {"@graphType": "people", "name": "acme"},
            "nodes": [
                {"key": "ada", "attributes": {"@type": "person", "name": "Ada"}},
                {"key": "bob", "attributes": {"@type": "person", "name": "Bob", "age": 41}},
                {"key": "eng", "attributes": {"@type": "team"}}
            ],
            "edges": [
                {"key": "k1", "source": "bob", "target": "ada", "attributes": {"@type": "knows"}},
                {"key": "m1", "source": "ada", "target": "eng",
                 "attributes": {"@type": "member_of", "since": 2020}}
            ]
        })
        .to_string(),
        "members in graphology's order, the type tag first"
    );
}

#[test]
fn empty_attributes_are_omitted_where_the_type_is_unambiguous() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.create_graph("g", "plain")?;
            tx.add_node("g", "a", "n", &json!({}))?;
            tx.add_node("g", "b", "n", &json!({"x": 1}))?;
            tx.add_edge("g", NewEdge::new("e", "a", "b").key("ab"))
        })
        .unwrap();
    let options = ExportOptions::new().type_tags(TypeTags::WhenAmbiguous);
    let doc = store
        .read(|r| export_graphology_with(r, "g", &options))
        .unwrap();
    assert_eq!(
        doc["nodes"],
        json!([{"key": "a"}, {"key": "b", "attributes": {"x": 1}}])
    );
    assert_eq!(
        doc["edges"],
        json!([{"key": "ab", "source": "a", "target": "b"}])
    );
    // Plain graphology imports back into a graph type with one type each.
    let imported = store
        .write(|tx| import_graphology(tx, &doc, &ImportOptions::new().graph("g2")))
        .unwrap();
    assert_eq!((imported.nodes, imported.edges), (2, 1));
    let mut again = store
        .read(|r| export_graphology_with(r, "g2", &options))
        .unwrap();
    again["attributes"]["name"] = json!("g");
    assert_eq!(again, doc);
}

#[test]
fn undirected_is_written_only_in_mixed_graphs() {
    let (_dir, store) = store();
    store
        .write(|tx| {
            for (name, config) in [
                ("mixed", GraphConfig::default()),
                ("undirected", GraphConfig::undirected()),
            ] {
                tx.define_graph_type(name, config)?;
                tx.define_node_type(name, "n", &json!({}))?;
                tx.define_edge_type(name, "e", &json!({}), &Endpoints::any())?;
                tx.create_graph(name, name)?;
                tx.add_node(name, "a", "n", &json!({}))?;
                tx.add_node(name, "b", "n", &json!({}))?;
            }
            tx.add_edge("mixed", NewEdge::new("e", "a", "b").key("d"))?;
            tx.add_edge(
                "mixed",
                NewEdge::new("e", "a", "b").key("u").undirected(true),
            )?;
            tx.add_edge("undirected", NewEdge::new("e", "a", "b").key("u"))
        })
        .unwrap();
    let mixed = export(&store, "mixed");
    assert_eq!(mixed["options"]["type"], "mixed");
    assert_eq!(mixed["edges"][0].get("undirected"), None);
    assert_eq!(mixed["edges"][1]["undirected"], true);
    let undirected = export(&store, "undirected");
    assert_eq!(undirected["options"]["type"], "undirected");
    assert_eq!(undirected["edges"][0].get("undirected"), None);

    // Both import back with the same directions.
    for graph in ["mixed", "undirected"] {
        let doc = export(&store, graph);
        let copy = format!("{graph}-copy");
        store
            .write(|tx| import_graphology(tx, &doc, &ImportOptions::new().graph(&copy)))
            .unwrap();
        let read = store.begin_read().unwrap();
        for key in ["d", "u"] {
            if let Some(original) = read.edge(graph, key).unwrap() {
                let copied = read.edge(&copy, key).unwrap().expect("copied");
                assert_eq!(copied.undirected, original.undirected, "{graph}/{key}");
            }
        }
    }
}

#[test]
fn edges_of_different_types_between_the_same_nodes_export_as_multi() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng").key("m"))?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "eng").key("k"))
        })
        .unwrap();
    let doc = export(&store, "acme");
    assert_eq!(
        doc["options"],
        json!({"type": "directed", "multi": true, "allowSelfLoops": true})
    );
    // The graph type is not multi, yet the document imports: each edge is
    // checked against the per-type rule instead.
    store
        .write(|tx| import_graphology(tx, &doc, &ImportOptions::new().graph("copy")))
        .unwrap();
    let mut copy = export(&store, "copy");
    copy["attributes"]["name"] = json!("acme");
    assert_eq!(copy, doc);

    // Opposite directions are not parallel: still a simple graph.
    let (_dir, store) = common::store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("k1"))?;
            tx.add_edge("acme", NewEdge::new("knows", "bob", "ada").key("k2"))
        })
        .unwrap();
    assert_eq!(export(&store, "acme")["options"]["multi"], false);
}

#[test]
fn an_attribute_named_like_the_type_tag_cannot_be_exported() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.create_graph("g", "plain")?;
            tx.add_node("g", "a", "n", &json!({"@type": "mine"}))
        })
        .unwrap();
    let err = store.read(|r| export_graphology(r, "g")).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"node "a" in graph "g": has an attribute "@type", which graphology documents reserve for the type; rename it to export this graph"#
    );
    let err = store.read(|r| export_graphology(r, "nope")).unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

// ---------------------------------------------------------------------------
// graphology import

#[test]
fn import_accepts_graphology_output_with_generated_edge_keys() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::default());
    // As graphology's `graph.export()` writes it, with and without keys.
    let doc: Value = serde_json::from_str(
        r#"{
        "options": {"type": "mixed", "multi": false, "allowSelfLoops": true},
        "attributes": {},
        "nodes": [
            {"key": "John", "attributes": {"age": 34}},
            {"key": "Martha"},
            {"key": "Ünï \"quoted\"\n"}
        ],
        "edges": [
            {"key": "e1", "source": "John", "target": "Martha", "attributes": {"weight": 0.1000000000000000055511151231257827}},
            {"source": "Martha", "target": "Ünï \"quoted\"\n", "undirected": true},
            {"source": "Ünï \"quoted\"\n", "target": "John"}
        ]
    }"#,
    )
    .unwrap();
    let imported = store
        .write(|tx| {
            import_graphology(
                tx,
                &doc,
                &ImportOptions::new().graph("people").graph_type("plain"),
            )
        })
        .unwrap();
    assert_eq!(
        (imported.graph.as_str(), imported.graph_type.as_str()),
        ("people", "plain")
    );
    let read = store.begin_read().unwrap();
    let e1 = read.edge("people", "e1").unwrap().unwrap();
    assert_eq!(
        e1.attributes["weight"].to_string(),
        "0.1000000000000000055511151231257827",
        "numbers keep every digit"
    );
    let edges = read
        .edges("people", &alknet_graphs::ListOptions::new())
        .unwrap()
        .items;
    assert_eq!(edges.len(), 3);
    let generated: Vec<_> = edges.iter().filter(|e| e.key != "e1").collect();
    for edge in &generated {
        assert_eq!(edge.key.len(), 36, "a UUID: {}", edge.key);
    }
    assert!(generated
        .iter()
        .any(|e| e.undirected && e.source == "Martha"));
    assert_eq!(
        read.node("people", "Ünï \"quoted\"\n")
            .unwrap()
            .unwrap()
            .node_type,
        "n"
    );
}

#[test]
fn the_type_tag_is_removed_before_validation() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    // `person` has additionalProperties false: "@type" would fail it.
    let doc = json!({
        "attributes": {"@graphType": "people", "name": "beta"},
        "nodes": [{"key": "cy", "attributes": {"@type": "person", "name": "Cy"}}]
    });
    store
        .write(|tx| import_graphology(tx, &doc, &ImportOptions::new()))
        .unwrap();
    let cy = store.read(|r| r.node("beta", "cy")).unwrap().unwrap();
    assert_eq!(Value::Object(cy.attributes), json!({"name": "Cy"}));
    assert_eq!(cy.node_type, "person");
}

#[test]
fn options_must_fit_the_graph_type() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::directed().allow_self_loops(false));
    let opts = ImportOptions::new().graph("g").graph_type("plain");
    let doc = |options: Value| json!({"options": options, "nodes": [{"key": "a"}]});
    assert_eq!(
        import_err(&store, &doc(json!({"type": "undirected"})), &opts),
        r#"graph "g": graphology document at /options/type: a undirected document does not fit graph type "plain", which is directed"#
    );
    assert_eq!(
        import_err(&store, &doc(json!({"type": "mixed"})), &opts),
        r#"graph "g": graphology document at /options/type: a mixed document does not fit graph type "plain", which is directed"#
    );
    assert_eq!(
        import_err(&store, &doc(json!({"type": "tree"})), &opts),
        r#"graph "g": graphology document at /options/type: "tree" is not one of "directed", "undirected" or "mixed""#
    );
    assert_eq!(
        import_err(&store, &doc(json!({"multi": "no"})), &opts),
        r#"graph "g": graphology document at /options/multi: must be a boolean, not string"#
    );
    assert_eq!(
        import_err(&store, &doc(json!({"acyclic": true})), &opts),
        r#"graph "g": graphology document at /options/acyclic: unknown option; graphology's options are type, multi and allowSelfLoops"#
    );
    // graphology's defaults (self-loops allowed) are fine when the data has
    // none: permissions are checked edge by edge.
    store
        .write(|tx| {
            import_graphology(
                tx,
                &doc(json!({"type": "directed", "multi": true, "allowSelfLoops": true})),
                &opts,
            )
        })
        .unwrap();
    let self_loop = json!({
        "options": {"allowSelfLoops": true},
        "nodes": [{"key": "a"}],
        "edges": [{"key": "aa", "source": "a", "target": "a"}]
    });
    assert_eq!(
        import_err(
            &store,
            &self_loop,
            &ImportOptions::new().graph("h").graph_type("plain")
        ),
        r#"graph "h": graphology document at /edges/0: edge "aa": self-loop on node "a": graph type "plain" does not allow self-loops"#
    );
}

#[test]
fn malformed_documents_are_rejected_with_the_pointer_of_the_first_problem() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed().allow_self_loops(false));
    let opts = ImportOptions::new();
    let named = |rest: Value| {
        let mut doc = json!({"attributes": {"@graphType": "people", "name": "beta"}});
        if let (Some(doc), Some(rest)) = (doc.as_object_mut(), rest.as_object()) {
            doc.extend(rest.clone());
        }
        doc
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!([1]),
            r#"graph "": graphology document: must be a JSON object, not array"#,
        ),
        (
            named(json!({"extra": 1})),
            r#"graph "beta": graphology document at /extra: unknown member; a graphology document has attributes, options, nodes and edges"#,
        ),
        (
            json!({"attributes": {"@graphType": "people", "name": 7}}),
            r#"graph "": graphology document at /attributes/name: must be a string, not number"#,
        ),
        (
            json!({"attributes": {"@graphType": "people", "name": "beta"}, "options": {}, "options ": 1}),
            r#"graph "beta": graphology document at /options : unknown member; a graphology document has attributes, options, nodes and edges"#,
        ),
        (
            json!({"attributes": {"@graphType": "people"}}),
            r#"graph "": graphology document at /attributes/name: missing, and the import options name no graph"#,
        ),
        (
            json!({"attributes": {"name": "beta"}}),
            r#"graph "beta": graphology document at /attributes/@graphType: missing, and the import options name no graph type"#,
        ),
        (
            json!({"attributes": {"@graphType": "robots", "name": "beta"}}),
            r#"graph "beta": graphology document at /attributes/@graphType: graph type "robots" does not exist"#,
        ),
        (
            named(json!({"nodes": {"a": {}}})),
            r#"graph "beta": graphology document at /nodes: must be an array, not object"#,
        ),
        (
            named(json!({"nodes": ["a"]})),
            r#"graph "beta": graphology document at /nodes/0: a node must be an object, not string"#,
        ),
        (
            named(json!({"nodes": [{"attributes": {}}]})),
            r#"graph "beta": graphology document at /nodes/0/key: missing"#,
        ),
        (
            named(json!({"nodes": [{"key": true}]})),
            r#"graph "beta": graphology document at /nodes/0/key: must be a string or a number, not boolean"#,
        ),
        (
            named(json!({"nodes": [{"key": "t", "attributes": {"@type": "team"}, "x": 1}]})),
            r#"graph "beta": graphology document at /nodes/0/x: unknown member; a graphology node has key and attributes"#,
        ),
        (
            named(json!({"nodes": [
                {"key": "t", "attributes": {"@type": "team"}},
                {"key": "t", "attributes": {"@type": "team"}}
            ]})),
            r#"graph "beta": graphology document at /nodes/1/key: node "t" appears twice (first at /nodes/0)"#,
        ),
        (
            named(json!({"nodes": [{"key": "t", "attributes": null}]})),
            r#"graph "beta": graphology document at /nodes/0/attributes: must be an object, not null"#,
        ),
        (
            named(json!({"nodes": [{"key": "t", "attributes": {"@type": "robot"}}]})),
            r#"graph "beta": graphology document at /nodes/0/attributes/@type: node type "robot" is not defined in graph type "people""#,
        ),
        (
            named(json!({"nodes": [{"key": "t", "attributes": {"@type": ["team"]}}]})),
            r#"graph "beta": graphology document at /nodes/0/attributes/@type: must be a string, not array"#,
        ),
        (
            named(json!({"nodes": [{"key": "t"}]})),
            r#"graph "beta": graphology document at /nodes/0/attributes: no "@type", and graph type "people" has 2 node types ("person", "team"), so the type is ambiguous"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}],
                "edges": [{"key": "x", "target": "t", "attributes": {"@type": "knows"}}]
            })),
            r#"graph "beta": graphology document at /edges/0/source: missing"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}],
                "edges": [{"source": "t", "target": "zed", "attributes": {"@type": "knows"}}]
            })),
            r#"graph "beta": graphology document at /edges/0/target: node "zed" is not in the document"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}, {"key": "u", "attributes": {"@type": "team"}}],
                "edges": [{"source": "t", "target": "u", "undirected": true, "attributes": {"@type": "knows"}}]
            })),
            r#"graph "beta": graphology document at /edges/0/undirected: an edge of a directed graph cannot be undirected"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}],
                "edges": [{"source": "t", "target": "t", "undirected": 1}]
            })),
            r#"graph "beta": graphology document at /edges/0/undirected: must be a boolean, not number"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}, {"key": "u", "attributes": {"@type": "team"}}],
                "edges": [
                    {"key": "k", "source": "t", "target": "u", "attributes": {"@type": "knows"}},
                    {"key": "k", "source": "u", "target": "t", "attributes": {"@type": "knows"}}
                ]
            })),
            r#"graph "beta": graphology document at /edges/1/key: edge "k" appears twice in the document"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}, {"key": "u", "attributes": {"@type": "team"}}],
                "edges": [{"source": "t", "target": "u"}]
            })),
            r#"graph "beta": graphology document at /edges/0/attributes: no "@type", and graph type "people" has 2 edge types ("knows", "member_of"), so the type is ambiguous"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}],
                "edges": [{"source": "t", "target": "t", "weight": 2}]
            })),
            r#"graph "beta": graphology document at /edges/0/weight: unknown member; a graphology edge has key, source, target, attributes and undirected"#,
        ),
        // The store's own rules, restated with the item's pointer.
        (
            named(json!({"nodes": [
                {"key": "t", "attributes": {"@type": "team"}},
                {"key": "cy", "attributes": {"@type": "person", "age": -1}}
            ]})),
            r#"graph "beta": graphology document at /nodes/1/attributes/age: node "cy": attribute /age: -1 is less than the minimum of 0; attributes: "name" is a required property"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}, {"key": "p", "attributes": {"@type": "person", "name": "P"}}],
                "edges": [{"key": "m", "source": "t", "target": "p", "attributes": {"@type": "member_of"}}]
            })),
            r#"graph "beta": graphology document at /edges/0: edge "m": source node "t" is of node type "team", which edge type "member_of" does not allow as its source"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}, {"key": "u", "attributes": {"@type": "team"}}],
                "edges": [
                    {"key": "k1", "source": "t", "target": "u", "attributes": {"@type": "knows"}},
                    {"key": "k2", "source": "t", "target": "u", "attributes": {"@type": "knows"}}
                ]
            })),
            r#"graph "beta": graphology document at /edges/1: edge "k2": parallel to edge "k1" ("knows" from "t" to "u"); graph type "people" does not allow parallel edges"#,
        ),
        (
            named(json!({
                "nodes": [{"key": "t", "attributes": {"@type": "team"}}],
                "edges": [{"key": "tt", "source": "t", "target": "t", "attributes": {"@type": "knows"}}]
            })),
            r#"graph "beta": graphology document at /edges/0: edge "tt": self-loop on node "t": graph type "people" does not allow self-loops"#,
        ),
    ];
    for (doc, expected) in cases {
        assert_eq!(import_err(&store, &doc, &opts), expected, "{doc}");
    }
}

#[test]
fn store_rules_reject_cycles_sizes_and_existing_graphs() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::directed().acyclic(true));
    let opts = ImportOptions::new().graph("g").graph_type("plain");
    let cycle = json!({
        "nodes": [{"key": "a"}, {"key": "b"}],
        "edges": [
            {"key": "ab", "source": "a", "target": "b"},
            {"key": "ba", "source": "b", "target": "a"}
        ]
    });
    assert_eq!(
        import_err(&store, &cycle, &opts),
        r#"graph "g": graphology document at /edges/1: edge "ba": would close the cycle "b" -> "a" -> "b""#
    );

    let long = "k".repeat(1025);
    let too_long = json!({"nodes": [{"key": long}]});
    assert_eq!(
        import_err(&store, &too_long, &opts),
        format!(
            r#"graph "g": graphology document at /nodes/0/key: node "{long}": key is 1025 bytes, over the limit of 1024"#
        )
    );

    let mut deep = json!(1);
    for _ in 0..70 {
        deep = json!([deep]);
    }
    let too_deep = json!({"nodes": [{"key": "a", "attributes": {"x": deep}}]});
    assert_eq!(
        import_err(&store, &too_deep, &opts),
        r#"graph "g": graphology document at /nodes/0: node "a": attributes nest deeper than the limit of 64"#
    );

    store.write(|tx| tx.create_graph("taken", "plain")).unwrap();
    let err = rejected(&store, |tx| {
        import_graphology(
            tx,
            &json!({}),
            &ImportOptions::new().graph("taken").graph_type("plain"),
        )
    });
    assert!(err.is_already_exists(), "{err}");
    let err = rejected(&store, |tx| {
        import_graphology(
            tx,
            &json!({}),
            &ImportOptions::new().graph("x").graph_type("robots"),
        )
    });
    assert_eq!(err.to_string(), r#"graph type "robots" does not exist"#);
    let bad_name = json!({"attributes": {"@graphType": "plain", "name": "a\nb"}});
    assert_eq!(
        import_err(&store, &bad_name, &ImportOptions::new()),
        r#"graph "a\nb": graphology document at /attributes/name: name must not contain control characters"#
    );
    let doc = json!({"attributes": {"@graphType": "people"}});
    assert_eq!(
        import_err(&store, &doc, &opts),
        r#"graph "g": graphology document at /attributes/@graphType: is "people", but the import is into graph type "plain""#
    );
}

#[test]
fn text_imports_are_bounded_and_report_json_errors() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::directed());
    let opts = ImportOptions::new().graph("g").graph_type("plain");
    let err = rejected(&store, |tx| {
        import_graphology_str(tx, "{\"nodes\": [", &opts)
    });
    assert_eq!(
        err.to_string(),
        r#"graph "g": graphology document at /nodes/0: not valid JSON: EOF while parsing a list at line 1 column 11"#
    );
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let err = rejected(&store, |tx| import_graphology_str(tx, &deep, &opts));
    assert_eq!(
        err.to_string(),
        r#"graph "g": graphology document: must be a JSON object, not array"#
    );
    let small = opts.clone().max_document_bytes(8);
    let err = rejected(&store, |tx| {
        import_graphology_str(tx, r#"{"nodes": []}"#, &small)
    });
    assert_eq!(
        err.to_string(),
        r#"graph "g": graphology document is 13 bytes, over the limit of 8"#
    );
    store
        .write(|tx| import_graphology_str(tx, r#"{"nodes": [{"key": "a"}]}"#, &opts))
        .unwrap();
    assert_eq!(store.read(|r| r.node_count("g")).unwrap(), 1);
}

#[test]
fn store_limits_apply_to_imported_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder()
        .limits(Limits {
            max_attributes_bytes: 16,
            ..Limits::default()
        })
        .open(dir.path().join("t.db"))
        .unwrap();
    plain(&store, GraphConfig::directed());
    let doc =
        json!({"nodes": [{"key": "a", "attributes": {"text": "far too long for the limit"}}]});
    let err = import_err(
        &store,
        &doc,
        &ImportOptions::new().graph("g").graph_type("plain"),
    );
    assert_eq!(
        err,
        r#"graph "g": graphology document at /nodes/0/attributes: node "a": attributes is 37 bytes, over the limit of 16"#
    );
}

// ---------------------------------------------------------------------------
// petgraph

fn attrs(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[test]
fn petgraph_algorithms_run_on_a_loaded_graph() {
    let (_dir, store) = store();
    store
        .write(|tx| {
            tx.define_graph_type("roads", GraphConfig::undirected())?;
            tx.define_node_type("roads", "town", &json!({}))?;
            tx.define_edge_type(
                "roads",
                "road",
                &json!({"required": ["km"]}),
                &Endpoints::any(),
            )?;
            tx.create_graph("map", "roads")?;
            for town in ["a", "b", "c", "d"] {
                tx.add_node("map", town, "town", &json!({}))?;
            }
            for (s, t, km) in [("a", "b", 7), ("b", "c", 2), ("a", "c", 12), ("c", "d", 1)] {
                tx.add_edge(
                    "map",
                    NewEdge::new("road", s, t)
                        .key(&format!("{s}{t}"))
                        .attributes(&json!({"km": km})),
                )?;
            }
            Ok(())
        })
        .unwrap();
    let pg = store
        .read(|r| load_petgraph(r, "map", &Subgraph::all()))
        .unwrap();
    assert_eq!((pg.graph.node_count(), pg.graph.edge_count()), (4, 4));
    let index = pg.index();
    let undirected = petgraph::visit::UndirectedAdaptor(&pg.graph);
    let distances = petgraph::algo::dijkstra(&undirected, index["d"], None, |e| {
        e.weight().attributes["km"].as_u64().unwrap_or(0)
    });
    assert_eq!(distances[&index["a"]], 10, "d-c-b-a");
}

#[test]
fn a_subgraph_loads_and_saves_only_its_types() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.add_node("acme", "ops", "team", &json!({}))?;
            tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng").key("m1"))?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("k1"))?;
            tx.add_edge("acme", NewEdge::new("knows", "bob", "eng").key("k2"))
        })
        .unwrap();
    let scope = Subgraph::all().node_types(["person"]).edge_types(["knows"]);
    let mut pg = store.read(|r| load_petgraph(r, "acme", &scope)).unwrap();
    let keys: Vec<&str> = pg.graph.node_weights().map(|n| n.key.as_str()).collect();
    assert_eq!(keys, ["ada", "bob"]);
    let edges: Vec<&str> = pg.graph.edge_weights().map(|e| e.key.as_str()).collect();
    assert_eq!(edges, ["k1"], "k2 ends at a team, m1 is another type");

    // Change the subgraph: a new person who knows ada, bob's age.
    let index = pg.index();
    let (ada, bob) = (index["ada"], index["bob"]);
    let cy = pg.graph.add_node(NodeWeight::new(
        "cy",
        "person",
        attrs(json!({"name": "Cy"})),
    ));
    pg.graph
        .add_edge(cy, ada, EdgeWeight::new("k3", "knows", Map::new()));
    pg.graph[bob].attributes.insert("age".into(), json!(42));
    let saved = store.write(|tx| save_petgraph(tx, &pg)).unwrap();
    assert_eq!(
        (saved.nodes_added, saved.nodes_updated, saved.edges_added),
        (1, 1, 1)
    );
    let read = store.begin_read().unwrap();
    for key in ["eng", "ops"] {
        assert!(read.node("acme", key).unwrap().is_some(), "{key} kept");
    }
    for key in ["m1", "k2"] {
        assert!(read.edge("acme", key).unwrap().is_some(), "{key} kept");
    }
    assert_eq!(
        read.node("acme", "bob").unwrap().unwrap().attributes["age"],
        42
    );
    drop(read);

    // Removing a node of the subgraph removes it with every incident edge.
    pg.graph.remove_node(bob);
    let saved = store.write(|tx| save_petgraph(tx, &pg)).unwrap();
    assert_eq!((saved.nodes_removed, saved.edges_removed), (1, 1));
    let read = store.begin_read().unwrap();
    assert!(read.edge("acme", "k2").unwrap().is_none());
    assert!(read.edge("acme", "m1").unwrap().is_some());
    drop(read);

    // Items outside the subgraph are refused.
    pg.graph.add_node(NodeWeight::new("qa", "team", Map::new()));
    let err = rejected(&store, |tx| save_petgraph(tx, &pg));
    assert_eq!(
        err.to_string(),
        r#"node "qa" in graph "acme": node type "team" is outside the subgraph being saved"#
    );
}

#[test]
fn saving_checks_keys_types_and_the_stores_rules() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::directed().acyclic(true));
    let mut pg = alknet_graphs::interop::PetGraph::new("g", "plain");
    let a = pg.graph.add_node(NodeWeight::new("a", "n", Map::new()));
    let b = pg.graph.add_node(NodeWeight::new("b", "n", Map::new()));
    pg.graph
        .add_edge(a, b, EdgeWeight::new("ab", "e", Map::new()));
    store.write(|tx| save_petgraph(tx, &pg)).unwrap();
    assert_eq!(store.read(|r| r.edge_count("g")).unwrap(), 1);

    let mut cyclic = pg.clone();
    cyclic
        .graph
        .add_edge(b, a, EdgeWeight::new("ba", "e", Map::new()));
    let err = rejected(&store, |tx| save_petgraph(tx, &cyclic));
    assert!(err.is_cycle(), "{err}");

    let mut twice = pg.clone();
    twice.graph.add_node(NodeWeight::new("a", "n", Map::new()));
    let err = rejected(&store, |tx| save_petgraph(tx, &twice));
    assert_eq!(
        err.to_string(),
        r#"node "a" in graph "g": appears twice in the petgraph graph"#
    );

    let mut other = pg.clone();
    other.graph_type = "people".into();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| save_petgraph(tx, &other));
    assert_eq!(
        err.to_string(),
        r#"graph "g": is of graph type "plain", not "people" as the petgraph graph says"#
    );

    let err = store
        .read(|r| load_petgraph(r, "g", &Subgraph::all().node_types(["robot"])))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"graph "g": the subgraph names node type "robot", which graph type "plain" does not define"#
    );
}

// ---------------------------------------------------------------------------
// Pictures

fn taskish(store: &Store) {
    store
        .write(|tx| {
            tx.define_graph_type("plan", GraphConfig::default())?;
            tx.define_node_type("plan", "step", &json!({}))?;
            tx.define_edge_type("plan", "then", &json!({}), &Endpoints::any())?;
            tx.create_graph("ship \"it\"", "plan")?;
            for (key, status, title) in [
                ("build", "done", json!("Build")),
                ("test", "running", json!(3)),
                ("lint", "cancelled", json!(null)),
                ("docs\\N", "unknown", json!("a\nb")),
                ("<html>", "failed", json!("x|y")),
            ] {
                tx.add_node(
                    "ship \"it\"",
                    key,
                    "step",
                    &json!({"status": status, "title": title}),
                )?;
            }
            tx.add_edge(
                "ship \"it\"",
                NewEdge::new("then", "build", "test").key("e1"),
            )?;
            tx.add_edge(
                "ship \"it\"",
                NewEdge::new("then", "docs\\N", "<html>").key("e2"),
            )?;
            tx.add_edge(
                "ship \"it\"",
                NewEdge::new("then", "lint", "test")
                    .key("e3")
                    .undirected(true),
            )?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn dot_output_is_escaped_and_coloured_by_status() {
    let (_dir, store) = store();
    taskish(&store);
    let options = PictureOptions::new()
        .label("title")
        .edge_labels(true)
        .left_to_right(true);
    let dot = store.read(|r| to_dot(r, "ship \"it\"", &options)).unwrap();
    assert_eq!(
        dot,
        r##"digraph "ship \"it\"" {
  rankdir=LR;
  node [shape=box, style="rounded,filled", fillcolor="#ffffff"];
  n0 [label="<html>\nx|y", fillcolor="#ef9a9a"];
  n1 [label="build\nBuild", fillcolor="#a5d6a7"];
  n2 [label="docs\\N\na\nb"];
  n3 [label="lint\nnull", fillcolor="#f5f5f5", style="rounded,filled,dashed"];
  n4 [label="test\n3", fillcolor="#ffe082"];
  n1 -> n4 [label="then"];
  n2 -> n0 [label="then"];
  n3 -> n4 [dir=none, label="then"];
}
"##
    );
    // Without status colours every node is drawn alike.
    let plain = store
        .read(|r| to_dot(r, "ship \"it\"", &PictureOptions::new().status(None)))
        .unwrap();
    assert!(!plain.contains("fillcolor=\"#a5d6a7\""), "{plain}");
}

#[test]
fn undirected_graphs_are_dot_graphs() {
    let (_dir, store) = store();
    plain(&store, GraphConfig::undirected());
    store
        .write(|tx| {
            tx.create_graph("g", "plain")?;
            tx.add_node("g", "a", "n", &json!({}))?;
            tx.add_node("g", "b", "n", &json!({}))?;
            tx.add_edge("g", NewEdge::new("e", "a", "b"))
        })
        .unwrap();
    let dot = store
        .read(|r| to_dot(r, "g", &PictureOptions::new()))
        .unwrap();
    assert_eq!(
        dot,
        "graph \"g\" {\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];\n  n0 [label=\"a\"];\n  n1 [label=\"b\"];\n  n0 -- n1;\n}\n"
    );
    let chart = store
        .read(|r| to_mermaid(r, "g", &PictureOptions::new()))
        .unwrap();
    assert_eq!(
        chart,
        "%% graph \"g\"\nflowchart TB\n    n0[\"a\"]\n    n1[\"b\"]\n    n0 --- n1\n"
    );
}

#[test]
fn mermaid_output_is_escaped_and_classed_by_status() {
    let (_dir, store) = store();
    taskish(&store);
    let chart = store
        .read(|r| to_mermaid(r, "ship \"it\"", &PictureOptions::new().label("title")))
        .unwrap();
    assert_eq!(
        chart,
        r##"%% graph "ship \"it\""
flowchart TB
    n0["#60;html#62;<br/>x#124;y"]
    n1["build<br/>Build"]
    n2["docs#92;N<br/>a b"]
    n3["lint<br/>null"]
    n4["test<br/>3"]
    n1 --> n4
    n2 --> n0
    n3 --- n4
    classDef running fill:#ffe082,stroke:#555555
    classDef done fill:#a5d6a7,stroke:#555555
    classDef failed fill:#ef9a9a,stroke:#555555
    classDef cancelled fill:#f5f5f5,stroke:#555555,stroke-dasharray:5 5
    class n4 running
    class n1 done
    class n0 failed
    class n3 cancelled
"##
    );
    let err = store
        .read(|r| to_mermaid(r, "nope", &PictureOptions::new()))
        .unwrap_err();
    assert!(err.is_not_found());
}

/// graphviz parses the output, when it is installed (skipped otherwise).
#[test]
fn graphviz_renders_the_dot_output() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let (_dir, store) = store();
    taskish(&store);
    let options = PictureOptions::new().label("title").edge_labels(true);
    let dot = store.read(|r| to_dot(r, "ship \"it\"", &options)).unwrap();
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("graphviz is not installed; skipping");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "dot rejected:\n{dot}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let svg = String::from_utf8_lossy(&output.stdout);
    assert!(svg.contains("docs\\N"), "the backslash survives as text");
    assert!(svg.contains("&lt;html&gt;"), "{svg}");
}
