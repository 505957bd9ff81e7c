//! Workflows: operations with input and output schemas, and the flow rule
//! on `flows_to` edges.

mod common;

use alknet_graphs::workflow::{compatibility, Operation, Workflows, GRAPH_TYPE};
use alknet_graphs::{GraphConfig, Store};
use common::{raw_sql, rejected, store};
use serde_json::{json, Value};

fn op(input: Value, output: Value) -> Operation {
    Operation::new(input, output)
}

/// `fetch` produces a url's body; `parse` needs a body, produces rows and
/// a count; `load` needs rows and a count.
fn etl(store: &Store) -> Workflows {
    let flows = Workflows::open(store).unwrap();
    store
        .write(|tx| {
            flows.create(tx, "etl")?;
            flows.add_operation(
                tx,
                "etl",
                "fetch",
                &op(
                    json!({"properties": {"url": {"type": "string"}}, "required": ["url"]}),
                    json!({"properties": {"body": {"type": "string"}, "status": {"type": "integer"}}}),
                ),
            )?;
            flows.add_operation(
                tx,
                "etl",
                "parse",
                &op(
                    json!({"properties": {"body": {"type": "string"}}, "required": ["body"]}),
                    json!({"properties": {"rows": {"type": "array"}, "count": {"type": "integer"}}}),
                ),
            )?;
            flows.add_operation(
                tx,
                "etl",
                "load",
                &op(
                    json!({
                        "properties": {"rows": {"type": "array"}, "count": {"type": "number"}},
                        "required": ["rows", "count"]
                    }),
                    json!({}),
                )
                .attribute("name", json!("Load rows")),
            )?;
            Ok(())
        })
        .unwrap();
    flows
}

#[test]
fn compatible_flows_are_accepted_and_ordered() {
    let (_dir, store) = store();
    let flows = etl(&store);
    store
        .write(|tx| {
            flows.connect_as(tx, "etl", "f-p", "fetch", "parse")?;
            flows.connect_as(tx, "etl", "p-l", "parse", "load")
        })
        .unwrap();
    assert_eq!(
        store.read(|r| flows.order(r, "etl")).unwrap(),
        ["fetch", "parse", "load"]
    );
    assert!(store.read(|r| flows.check(r, "etl")).unwrap().is_empty());
    let edge = store.read(|r| r.edge("etl", "p-l")).unwrap().unwrap();
    assert_eq!(
        (edge.source.as_str(), edge.target.as_str()),
        ("parse", "load")
    );
}

#[test]
fn an_incompatible_flow_names_every_missing_or_mismatched_property() {
    let (_dir, store) = store();
    let flows = etl(&store);
    let err = rejected(&store, |tx| {
        flows.connect_as(tx, "etl", "f-l", "fetch", "load")
    });
    assert_eq!(
        err.to_string(),
        r#"edge "f-l" in graph "etl": operation "load" needs input properties that "fetch" does not provide: "count" (missing), "rows" (missing)"#
    );
    assert_eq!(err.kind(), "invalid");
    let flow = err.broken_flow().expect("a typed flow refusal");
    assert_eq!(
        (
            flow.edge.as_str(),
            flow.source.as_str(),
            flow.target.as_str()
        ),
        ("f-l", "fetch", "load")
    );
    assert_eq!(flow.problems.missing, ["count", "rows"]);
    assert!(flow.problems.mismatched.is_empty());
    // A number does not satisfy an integer; the generated key is named.
    store
        .write(|tx| {
            flows.add_operation(
                tx,
                "etl",
                "count-only",
                &op(
                    json!({}),
                    json!({"properties": {"rows": {"type": "array"}, "count": {"type": "number"}}}),
                ),
            )?;
            flows.add_operation(
                tx,
                "etl",
                "strict",
                &op(
                    json!({"properties": {"count": {"type": "integer"}}, "required": ["count"]}),
                    json!({}),
                ),
            )
        })
        .unwrap();
    let err = rejected(&store, |tx| {
        flows.connect(tx, "etl", "count-only", "strict")
    });
    let text = err.to_string();
    assert!(text.starts_with(r#"edge ""#), "{text}");
    assert!(
        text.ends_with(r#"": operation "strict" needs input properties that "count-only" does not provide: "count" (needs integer, gets number)"#),
        "{text}"
    );
    // An integer satisfies a number.
    store
        .write(|tx| flows.connect(tx, "etl", "parse", "load"))
        .unwrap();
}

#[test]
fn structural_rules_still_apply() {
    let (_dir, store) = store();
    let flows = etl(&store);
    store
        .write(|tx| {
            flows.connect_as(tx, "etl", "f-p", "fetch", "parse")?;
            // An operation that can feed fetch's url.
            flows.add_operation(
                tx,
                "etl",
                "echo",
                &op(
                    json!({}),
                    json!({"properties": {"url": {"type": "string"}}}),
                ),
            )?;
            flows.connect_as(tx, "etl", "e-f", "echo", "fetch")
        })
        .unwrap();
    let err = rejected(&store, |tx| {
        flows.connect_as(tx, "etl", "self", "echo", "echo")
    });
    assert!(err.is_cycle(), "{err}");
    let err = rejected(&store, |tx| {
        flows.connect_as(tx, "etl", "again", "fetch", "parse")
    });
    assert!(
        err.to_string().contains("parallel to edge \"f-p\""),
        "{err}"
    );
    let err = rejected(&store, |tx| {
        flows.connect_as(tx, "etl", "x", "fetch", "nope")
    });
    assert_eq!(
        err.to_string(),
        r#"node "nope" in graph "etl" does not exist"#
    );
}

#[test]
fn operations_need_valid_schemas() {
    let (_dir, store) = store();
    let flows = etl(&store);
    let err = rejected(&store, |tx| {
        flows.add_operation(
            tx,
            "etl",
            "bad",
            &op(json!({"type": "nonsense"}), json!({})),
        )
    });
    assert!(
        err.to_string()
            .starts_with(r#"node "bad" in graph "etl": invalid JSON Schema: input: "#),
        "{err}"
    );
    let err = rejected(&store, |tx| {
        flows.add_operation(tx, "etl", "bad", &Operation::new(json!({}), json!(3)))
    });
    assert!(err.to_string().contains("output"), "{err}");
    common::people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| {
        flows.add_operation(tx, "acme", "x", &op(json!({}), json!({})))
    });
    assert_eq!(
        err.to_string(),
        r#"graph "acme": is of graph type "people", not "workflow""#
    );
}

#[test]
fn replacing_an_operation_rechecks_its_flows() {
    let (_dir, store) = store();
    let flows = etl(&store);
    store
        .write(|tx| {
            flows.connect_as(tx, "etl", "f-p", "fetch", "parse")?;
            flows.connect_as(tx, "etl", "p-l", "parse", "load")
        })
        .unwrap();
    // parse stops producing a count: p-l breaks.
    let err = rejected(&store, |tx| {
        flows.replace_operation(
            tx,
            "etl",
            "parse",
            &op(
                json!({"properties": {"body": {"type": "string"}}, "required": ["body"]}),
                json!({"properties": {"rows": {"type": "array"}}}),
            ),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"edge "p-l" in graph "etl": operation "load" needs input properties that "parse" does not provide: "count" (missing)"#
    );
    // parse starts needing a header fetch does not give: f-p breaks.
    let err = rejected(&store, |tx| {
        flows.replace_operation(
            tx,
            "etl",
            "parse",
            &op(
                json!({"properties": {"body": {"type": "string"}}, "required": ["body", "headers"]}),
                json!({"properties": {"rows": {"type": "array"}, "count": {"type": "integer"}}}),
            ),
        )
    });
    assert!(err.to_string().starts_with(r#"edge "f-p""#), "{err}");
    // A compatible change goes through.
    store
        .write(|tx| {
            flows.replace_operation(
                tx,
                "etl",
                "parse",
                &op(
                    json!({"properties": {"body": {"type": "string"}}, "required": ["body"]}),
                    json!({"properties": {"rows": {"type": "array"}, "count": {"type": "integer"}, "extra": {}}}),
                ),
            )
        })
        .unwrap();
}

#[test]
fn check_finds_flows_written_around_the_api() {
    let (_dir, store) = store();
    let flows = etl(&store);
    // An edge written around the engine.
    raw_sql(
        &store,
        "INSERT INTO edges (graph_id, key, edge_type_id, source, target, attributes, created_at, updated_at)
           SELECT g.id, 'raw', t.id,
                  (SELECT id FROM nodes WHERE graph_id = g.id AND key = 'fetch'),
                  (SELECT id FROM nodes WHERE graph_id = g.id AND key = 'load'),
                  '{}', 0, 0
             FROM graphs g JOIN edge_types t ON t.graph_type_id = g.graph_type_id
            WHERE g.name = 'etl' AND t.name = 'flows_to';",
    );
    let broken = store.read(|r| flows.check(r, "etl")).unwrap();
    assert_eq!(broken.len(), 1);
    assert_eq!(
        (
            broken[0].edge.as_str(),
            broken[0].source.as_str(),
            broken[0].target.as_str()
        ),
        ("raw", "fetch", "load")
    );
    assert_eq!(broken[0].problems.missing, ["count", "rows"]);
}

#[test]
fn opening_twice_changes_nothing() {
    let (_dir, store) = store();
    Workflows::open(&store).unwrap();
    let revision = store.revision().unwrap();
    Workflows::open(&store).unwrap();
    assert_eq!(store.revision().unwrap(), revision);
    let config = store
        .read(|r| r.graph_type(GRAPH_TYPE))
        .unwrap()
        .unwrap()
        .config;
    assert!(config.acyclic);
    let nothing = compatibility(&json!({}), &json!({"properties": {"a": {}}}));
    assert!(nothing.is_empty(), "nothing required, nothing missing");
}
