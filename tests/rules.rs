//! One test per write rule: each asserts the error (entity and reason) and
//! that the store is unchanged after the rejected write.

mod common;

use alknet_graphs::{DropPolicy, Endpoints, Error, GraphConfig, Limits, NewEdge, RuleBreak, Store};
use common::{people, rejected, snapshot, store};
use serde_json::json;

#[test]
fn attributes_must_satisfy_the_schema_and_every_violation_is_listed() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.add_node("acme", "cy", "person", &json!({"age": -1, "email": "x"}))
    });
    assert!(err.is_schema_violation());
    let mut paths: Vec<&str> = err
        .violations()
        .iter()
        .map(|v| v.instance_path.as_str())
        .collect();
    paths.sort();
    assert_eq!(paths, ["", "", "/age"], "{err}");
    assert!(
        err.to_string()
            .starts_with(r#"node "cy" in graph "acme": "#),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("attribute /age: -1 is less than the minimum of 0"),
        "{err}"
    );

    let err = rejected(&store, |tx| {
        tx.add_edge(
            "acme",
            NewEdge::new("member_of", "ada", "eng")
                .key("m")
                .attributes(&json!({"since": "2020"})),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"edge "m" in graph "acme": attribute /since: "2020" is not of type "integer""#
    );

    // Replace and patch are validated the same way.
    let err = rejected(&store, |tx| {
        tx.replace_node("acme", "ada", &json!({"name": ""}))
    });
    assert!(err.is_schema_violation(), "{err}");
    let err = rejected(&store, |tx| {
        tx.patch_node("acme", "ada", &json!({"name": null}))
    });
    assert_eq!(
        err.to_string(),
        r#"node "ada" in graph "acme": attributes: "name" is a required property"#
    );
}

#[test]
fn attributes_must_be_an_object() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.add_node("acme", "t2", "team", &json!([1, 2]))
    });
    assert_eq!(
        err.to_string(),
        r#"node "t2" in graph "acme": attributes must be a JSON object, not array"#
    );
}

#[test]
fn node_and_edge_types_must_belong_to_the_graphs_type() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.define_graph_type("other", GraphConfig::default())?;
            tx.define_node_type("other", "thing", &json!({}))?;
            tx.define_edge_type("other", "link", &json!({}), &Endpoints::any())
        })
        .unwrap();
    let err = rejected(&store, |tx| tx.add_node("acme", "x", "thing", &json!({})));
    assert_eq!(
        err.to_string(),
        r#"node "x" in graph "acme": node type "thing" is not defined in graph type "people""#
    );
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("link", "ada", "bob").key("l"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "l" in graph "acme": edge type "link" is not defined in graph type "people""#
    );
    let err = rejected(&store, |tx| {
        tx.add_node("nowhere", "x", "person", &json!({}))
    });
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), r#"graph "nowhere" does not exist"#);
}

#[test]
fn edge_endpoints_must_exist() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "ada", "zed").key("k"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "k" in graph "acme": target node "zed" does not exist"#
    );
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "zed", "ada").key("k"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "k" in graph "acme": source node "zed" does not exist"#
    );
}

#[test]
fn endpoint_node_types_must_be_allowed() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("member_of", "ada", "bob").key("m"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "m" in graph "acme": target node "bob" is of node type "person", which edge type "member_of" does not allow as its target"#
    );
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("member_of", "eng", "eng").key("m"))
    });
    assert!(
        err.to_string()
            .contains("source node \"eng\" is of node type \"team\""),
        "{err}"
    );
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng")))
        .expect("person → team is allowed");
}

#[test]
fn parallel_edges_are_rejected_unless_multi() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("k1")))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("k2"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "k2" in graph "acme": parallel to edge "k1" ("knows" from "ada" to "bob"); graph type "people" does not allow parallel edges"#
    );
    // The reverse direction and a different edge type are not parallel.
    store
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "bob", "ada"))?;
            tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng"))
        })
        .unwrap();

    let (_dir2, multi) = common::store();
    people(&multi, GraphConfig::directed().multi(true));
    multi
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob"))?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob"))
        })
        .expect("multi graphs allow parallel edges");
    assert_eq!(multi.begin_read().unwrap().edge_count("acme").unwrap(), 2);
}

#[test]
fn undirected_parallel_edges_match_either_orientation() {
    let (_dir, store) = store();
    people(&store, GraphConfig::undirected());
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("k1")))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "bob", "ada").key("k2"))
    });
    assert!(
        err.to_string().contains(r#"parallel to edge "k1""#),
        "{err}"
    );
}

#[test]
fn self_loops_are_rejected_unless_allowed() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed().allow_self_loops(false));
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "ada", "ada").key("me"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "me" in graph "acme": self-loop on node "ada": graph type "people" does not allow self-loops"#
    );
    let (_dir2, loops) = common::store();
    people(&loops, GraphConfig::directed());
    loops
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "ada")))
        .expect("self-loops allowed by default");
}

#[test]
fn direction_follows_the_graph_type() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.add_edge(
            "acme",
            NewEdge::new("knows", "ada", "bob")
                .key("u")
                .undirected(true),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"edge "u" in graph "acme": graph type "people" is directed; undirected edges are not allowed"#
    );

    let (_dir2, undirected) = common::store();
    people(&undirected, GraphConfig::undirected());
    let err = rejected(&undirected, |tx| {
        tx.add_edge(
            "acme",
            NewEdge::new("knows", "ada", "bob")
                .key("d")
                .undirected(false),
        )
    });
    assert!(
        err.to_string()
            .contains("is undirected; directed edges are not allowed"),
        "{err}"
    );
    let key = undirected
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "bob")))
        .unwrap();
    let edge = undirected
        .begin_read()
        .unwrap()
        .edge("acme", &key)
        .unwrap()
        .unwrap();
    assert!(edge.undirected, "edges of undirected graphs are undirected");

    let (_dir3, mixed) = common::store();
    people(&mixed, GraphConfig::default());
    mixed
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("d"))?;
            tx.add_edge(
                "acme",
                NewEdge::new("knows", "ada", "bob")
                    .key("u")
                    .undirected(true),
            )
        })
        .expect("a mixed graph holds a directed and an undirected edge between the same nodes");
    let read = mixed.begin_read().unwrap();
    assert!(!read.edge("acme", "d").unwrap().unwrap().undirected);
    assert!(read.edge("acme", "u").unwrap().unwrap().undirected);
}

#[test]
fn acyclic_graphs_reject_the_closing_edge_with_the_cycle_in_order() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed().acyclic(true));
    store
        .write(|tx| {
            tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob"))?;
            tx.add_edge("acme", NewEdge::new("knows", "bob", "cy"))?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "cy"))
        })
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "cy", "ada").key("back"))
    });
    assert!(err.is_cycle());
    assert_eq!(err.cycle().unwrap(), ["cy", "ada", "cy"]);
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "bob", "bob").key("self"))
    });
    assert_eq!(err.cycle().unwrap(), ["bob", "bob"]);

    // The shortest cycle is reported.
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("member_of", "cy", "eng"))?;
        tx.add_edge("acme", NewEdge::new("knows", "cy", "bob").key("cb"))
    });
    assert_eq!(err.cycle().unwrap(), ["cy", "bob", "cy"]);
    assert_eq!(
        err.to_string(),
        r#"edge "cb" in graph "acme": would close the cycle "cy" -> "bob" -> "cy""#
    );
}

#[test]
fn acyclic_requires_a_directed_graph_type() {
    let (_dir, store) = store();
    let err = rejected(&store, |tx| {
        tx.define_graph_type("t", GraphConfig::undirected().acyclic(true))
    });
    assert_eq!(
        err.to_string(),
        r#"graph type "t": acyclic requires type directed"#
    );
}

#[test]
fn removing_a_node_removes_its_incident_edges() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("ab"))?;
            tx.add_edge("acme", NewEdge::new("knows", "bob", "ada").key("ba"))?;
            tx.add_edge("acme", NewEdge::new("member_of", "bob", "eng").key("be"))?;
            tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng").key("ae"))
        })
        .unwrap();
    store.write(|tx| tx.remove_node("acme", "bob")).unwrap();
    let read = store.begin_read().unwrap();
    let keys: Vec<String> = read
        .edges("acme", &Default::default())
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, ["ae"]);
    assert!(read.node("acme", "bob").unwrap().is_none());
    drop(read);
    let err = rejected(&store, |tx| tx.remove_node("acme", "bob"));
    assert_eq!(
        err.to_string(),
        r#"node "bob" in graph "acme" does not exist"#
    );
}

#[test]
fn dropping_a_type_with_instances_needs_cascade() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng").key("ae")))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.drop_node_type("people", "team", DropPolicy::Cascade)
    });
    assert_eq!(
        err.to_string(),
        r#"node type "team" of graph type "people": edge type "member_of" names it as an allowed endpoint; update that edge type first"#
    );
    let err = rejected(&store, |tx| {
        tx.drop_edge_type("people", "member_of", DropPolicy::Restrict)
    });
    assert!(matches!(err, Error::InUse { count: 1, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        r#"edge type "member_of" of graph type "people": still has 1 instance(s); drop it with cascade to remove them too"#
    );
    let err = rejected(&store, |tx| {
        tx.drop_graph_type("people", DropPolicy::Restrict)
    });
    assert!(matches!(err, Error::InUse { count: 1, .. }), "{err}");

    store
        .write(|tx| tx.drop_edge_type("people", "member_of", DropPolicy::Cascade))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.drop_node_type("people", "person", DropPolicy::Restrict)
    });
    assert!(matches!(err, Error::InUse { count: 2, .. }), "{err}");
    store
        .write(|tx| tx.drop_node_type("people", "person", DropPolicy::Cascade))
        .unwrap();
    let read = store.begin_read().unwrap();
    assert_eq!(read.node_count("acme").unwrap(), 1);
    assert_eq!(read.edge_count("acme").unwrap(), 0);
    assert!(read.node_type("people", "person").unwrap().is_none());
    drop(read);

    store
        .write(|tx| tx.drop_graph_type("people", DropPolicy::Cascade))
        .unwrap();
    let read = store.begin_read().unwrap();
    assert!(read.graph("acme").unwrap().is_none());
    assert!(read.graph_types().unwrap().is_empty());
}

#[test]
fn a_schema_change_revalidates_every_instance() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            for i in 0..25 {
                tx.add_node("acme", &format!("p{i:02}"), "person", &json!({"name": "x"}))?;
            }
            Ok(())
        })
        .unwrap();
    let stricter = json!({
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 2}},
        "required": ["name"]
    });
    let err = rejected(&store, |tx| {
        tx.update_node_type("people", "person", &stricter)
    });
    let Error::Revalidation { failing, count, .. } = &err else {
        panic!("expected a revalidation error, got {err}");
    };
    assert_eq!(*count, 25);
    assert_eq!(failing.len(), 20);
    assert_eq!(failing[0], "acme/p00");
    assert!(err.to_string().starts_with(
        r#"node type "person" of graph type "people": the new schema rejects 25 existing instance(s): "acme/p00", "acme/p01""#
    ), "{err}");
    assert!(err.to_string().ends_with(", …"), "{err}");

    // Once the data fits, the change goes through and bumps the version.
    let updated = store
        .write(|tx| {
            for i in 0..25 {
                tx.replace_node("acme", &format!("p{i:02}"), &json!({"name": "xy"}))?;
            }
            tx.update_node_type("people", "person", &stricter)
        })
        .unwrap();
    assert_eq!(updated.version, 2);
    let err = rejected(&store, |tx| {
        tx.add_node("acme", "q", "person", &json!({"name": "q"}))
    });
    assert!(err.is_schema_violation(), "the new schema applies: {err}");
}

#[test]
fn an_edge_type_change_revalidates_endpoints() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "eng").key("ae")))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.update_edge_type(
            "people",
            "knows",
            &json!({}),
            &Endpoints::between(&["person"], &["person"]),
        )
    });
    assert!(
        matches!(&err, Error::Revalidation { count: 1, failing, .. } if failing == &["acme/ae"]),
        "{err}"
    );
}

#[test]
fn a_graph_config_change_is_checked_against_existing_graphs() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("ab"))?;
            tx.add_edge("acme", NewEdge::new("knows", "bob", "ada").key("ba"))
        })
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.update_graph_config("people", GraphConfig::directed().acyclic(true))
    });
    assert!(err.is_cycle(), "{err}");
    assert_eq!(
        err.cycle(),
        Some(&["ada", "bob", "ada"].map(String::from)[..])
    );
    assert_eq!(
        err.to_string(),
        r#"graph "acme": has the cycle "ada" -> "bob" -> "ada""#
    );
    // An existing edge that breaks a new rule is refused as its write
    // would be, in the same words.
    let err = rejected(&store, |tx| {
        tx.update_graph_config("people", GraphConfig::undirected())
    });
    assert_eq!(
        err.rule(),
        Some(&RuleBreak::Direction {
            graph_type: "people".into(),
            directed: false
        })
    );
    assert_eq!(err.kind(), "invalid");
    assert_eq!(
        err.to_string(),
        r#"edge "ab" in graph "acme": graph type "people" is undirected; directed edges are not allowed"#
    );
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "ada").key("aa")))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.update_graph_config("people", GraphConfig::directed().allow_self_loops(false))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "aa" in graph "acme": self-loop on node "ada": graph type "people" does not allow self-loops"#
    );
    store
        .write(|tx| {
            tx.update_graph_config("people", GraphConfig::directed().multi(true))?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("ab2"))
        })
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.update_graph_config("people", GraphConfig::directed())
    });
    assert_eq!(
        err.to_string(),
        r#"edge "ab2" in graph "acme": parallel to edge "ab" ("knows" from "ada" to "bob"); graph type "people" does not allow parallel edges"#
    );
}

#[test]
fn invalid_schemas_are_rejected_at_definition() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.define_node_type("people", "bad", &json!({"type": "objekt"}))
    });
    assert!(matches!(err, Error::InvalidSchema { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(r#"node type "bad" of graph type "people": invalid JSON Schema: "#),
        "{err}"
    );
    for reference in ["https://example.com/schema.json", "file:///etc/passwd"] {
        let err = rejected(&store, |tx| {
            tx.define_edge_type(
                "people",
                "remote",
                &json!({"$ref": reference}),
                &Endpoints::any(),
            )
        });
        assert!(
            matches!(err, Error::InvalidSchema { .. }),
            "{reference}: {err}"
        );
    }
    let err = rejected(&store, |tx| {
        tx.define_edge_type(
            "people",
            "e",
            &json!({}),
            &Endpoints::between(&["robot"], &["person"]),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"edge type "e" of graph type "people": allowed endpoint "robot" is not a node type of this graph type"#
    );
    let err = rejected(&store, |tx| {
        tx.define_node_type("people", "person", &json!({}))
    });
    assert!(err.is_already_exists());
}

#[test]
fn sizes_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_attributes_bytes: 64,
        max_key_bytes: 8,
        max_name_bytes: 10,
        max_depth: 3,
        ..Limits::default()
    };
    let store = Store::builder()
        .limits(limits)
        .open(dir.path().join("t.db"))
        .unwrap();
    store
        .write(|tx| {
            tx.define_graph_type("t", GraphConfig::default())?;
            tx.define_node_type("t", "n", &json!({}))?;
            tx.create_graph("g", "t")
        })
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.add_node("g", "k", "n", &json!({"a": "x".repeat(100)}))
    });
    assert_eq!(
        err.to_string(),
        r#"node "k" in graph "g": attributes is 108 bytes, over the limit of 64"#
    );
    let err = rejected(&store, |tx| tx.add_node("g", "123456789", "n", &json!({})));
    assert_eq!(
        err.to_string(),
        r#"node "123456789" in graph "g": key is 9 bytes, over the limit of 8"#
    );
    let err = rejected(&store, |tx| {
        tx.add_node("g", "deep", "n", &json!({"a": {"b": {"c": {}}}}))
    });
    assert_eq!(
        err.to_string(),
        r#"node "deep" in graph "g": attributes nest deeper than the limit of 3"#
    );
    let err = rejected(&store, |tx| tx.create_graph("a-long-name", "t"));
    assert_eq!(
        err.to_string(),
        r#"graph "a-long-name": name is 11 bytes, over the limit of 10"#
    );
    let err = rejected(&store, |tx| tx.create_graph("", "t"));
    assert_eq!(err.to_string(), r#"graph "": name must not be empty"#);
}

#[test]
fn keys_and_names_are_stored_verbatim() {
    let (_dir, store) = store();
    let graph = "g'; DROP TABLE nodes; --";
    let keys = [
        "",
        "Robert'); DROP TABLE nodes;--",
        "line\nbreak\ttab",
        "nul\0byte",
        "ünïcødé ✓ 🚀",
        "\"quoted\"",
        "%_like_wildcards_%",
    ];
    store
        .write(|tx| {
            tx.define_graph_type("t", GraphConfig::default())?;
            tx.define_node_type("t", "n", &json!({}))?;
            tx.create_graph(graph, "t")?;
            for key in keys {
                tx.add_node(graph, key, "n", &json!({"k": key}))?;
            }
            Ok(())
        })
        .unwrap();
    let read = store.begin_read().unwrap();
    for key in keys {
        let node = read.node(graph, key).unwrap().expect(key);
        assert_eq!(node.key, key);
        assert_eq!(node.attributes["k"], key);
    }
    let listed: Vec<String> = read
        .nodes(graph, &Default::default())
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.key)
        .collect();
    let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    sorted.sort();
    assert_eq!(listed, sorted, "listing is in bytewise key order");
    assert!(read.node(graph, "%").unwrap().is_none());
}

#[test]
fn duplicates_are_rejected() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        tx.add_node("acme", "ada", "person", &json!({"name": "A"}))
    });
    assert_eq!(
        err.to_string(),
        r#"node "ada" in graph "acme" already exists"#
    );
    store
        .write(|tx| tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("k")))
        .unwrap();
    let err = rejected(&store, |tx| {
        tx.add_edge("acme", NewEdge::new("knows", "bob", "ada").key("k"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "k" in graph "acme" already exists"#
    );
    let err = rejected(&store, |tx| tx.create_graph("acme", "people"));
    assert_eq!(err.to_string(), r#"graph "acme" already exists"#);
    let err = rejected(&store, |tx| {
        tx.define_graph_type("people", GraphConfig::default())
    });
    assert_eq!(err.to_string(), r#"graph type "people" already exists"#);
}

#[test]
fn a_schema_changed_by_another_handle_is_never_served_stale() {
    let (dir, first) = store();
    people(&first, GraphConfig::directed());
    // A second handle on the same file has its own validator cache, like
    // another process would.
    let second = Store::open(dir.path().join("test.db")).unwrap();
    first
        .write(|tx| tx.add_node("acme", "c1", "person", &json!({"name": "C"})))
        .unwrap();
    second
        .write(|tx| {
            tx.remove_node("acme", "c1")?;
            tx.replace_node("acme", "ada", &json!({"name": "Ada", "age": 36}))?;
            tx.update_node_type(
                "people",
                "person",
                &json!({"type": "object", "required": ["name", "age"]}),
            )
        })
        .unwrap();
    let err = rejected(&first, |tx| {
        tx.add_node("acme", "c2", "person", &json!({"name": "C"}))
    });
    assert_eq!(
        err.to_string(),
        r#"node "c2" in graph "acme": attributes: "age" is a required property"#
    );
}

#[test]
fn a_rolled_back_schema_change_does_not_leak_into_the_cache() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    {
        let mut tx = store.begin_write().unwrap();
        tx.update_node_type(
            "people",
            "person",
            &json!({"type": "object", "maxProperties": 0}),
        )
        .unwrap_err();
        tx.update_node_type(
            "people",
            "team",
            &json!({"type": "object", "maxProperties": 0}),
        )
        .unwrap();
        // Dropped: rolled back.
    }
    store
        .write(|tx| tx.add_node("acme", "ops", "team", &json!({"size": 3})))
        .expect("the committed schema of team still applies");
    assert_eq!(
        snapshot(&store)
            .iter()
            .filter(|r| r.contains("\"ops\""))
            .count(),
        1
    );
}
