//! `graph order`, `graph layers`, `graph cycles`, `graph path` and
//! `graph critical-path` end to end: their `--json` documents, their text,
//! and their refusals (which change nothing).

mod common;

use alknet_graphs::{GraphConfig, NewEdge, NewNode, Store};
use common::cli::Env;
use serde_json::{json, Value};

/// A store with a graph `plan` of a mixed graph type: nodes with `hours`,
/// edges with `cost`, given as `(source, target, cost)`.
fn plan(nodes: &[(&str, i64)], edges: &[(&str, &str, i64)]) -> Env {
    let env = Env::init();
    let store = Store::open(&env.db).unwrap();
    let node_docs: Vec<Value> = nodes.iter().map(|n| json!({"hours": n.1})).collect();
    let edge_docs: Vec<Value> = edges.iter().map(|e| json!({"cost": e.2})).collect();
    let edge_keys: Vec<String> = edges.iter().map(|e| format!("{}-{}", e.0, e.1)).collect();
    store
        .write(|tx| {
            tx.define_graph_type("work", GraphConfig::default())?;
            tx.define_node_type("work", "job", &json!({}))?;
            tx.define_edge_type("work", "then", &json!({}), &Default::default())?;
            tx.create_graph("plan", "work")?;
            tx.add_nodes(
                "plan",
                nodes
                    .iter()
                    .zip(&node_docs)
                    .map(|(n, d)| NewNode::new("job", n.0, d)),
            )?;
            tx.add_edges(
                "plan",
                edges
                    .iter()
                    .zip(&edge_docs)
                    .zip(&edge_keys)
                    .map(|((e, d), k)| NewEdge::new("then", e.0, e.1).key(k).attributes(d)),
            )?;
            Ok(())
        })
        .unwrap();
    env
}

/// design → build → ship, design → docs → ship.
fn release() -> Env {
    plan(
        &[("design", 3), ("build", 5), ("docs", 1), ("ship", 1)],
        &[
            ("design", "build", 4),
            ("design", "docs", 1),
            ("build", "ship", 4),
            ("docs", "ship", 1),
        ],
    )
}

#[test]
fn order_and_layers_of_a_dag() {
    let env = release();
    assert_eq!(
        env.ok(&["graph", "order", "plan"]),
        json!({"graph": "plan", "order": ["design", "build", "docs", "ship"]})
    );
    assert_eq!(
        env.text_ok(&["graph", "order", "plan"]),
        "design\nbuild\ndocs\nship\n"
    );
    assert_eq!(
        env.ok(&["graph", "layers", "plan"]),
        json!({"graph": "plan", "layers": [["design"], ["build", "docs"], ["ship"]]})
    );
    assert_eq!(
        env.text_ok(&["graph", "layers", "plan"]),
        "0: design\n1: build, docs\n2: ship\n"
    );
}

#[test]
fn a_cycle_refuses_order_and_layers_naming_it() {
    let env = plan(
        &[("a", 1), ("b", 1), ("c", 1)],
        &[("a", "b", 1), ("b", "c", 1), ("c", "b", 1)],
    );
    for command in ["order", "layers", "critical-path"] {
        let mut args = vec!["graph", command, "plan"];
        if command == "critical-path" {
            args.extend(["--weight", "hours"]);
        }
        let (kind, message) = env.fails(&args, 1);
        assert_eq!(kind, "cycle");
        assert_eq!(message, r#"graph "plan": has the cycle "b" -> "c" -> "b""#);
    }
    let cycles = env.ok(&["graph", "cycles", "plan"]);
    assert_eq!(
        cycles,
        json!({"graph": "plan", "components": [["b", "c"]], "shortest_cycle": ["b", "c", "b"]})
    );
    assert_eq!(
        env.text_ok(&["graph", "cycles", "plan"]),
        "component: b, c\nshortest cycle: b -> c -> b\n"
    );
}

#[test]
fn a_dag_has_no_cycles() {
    let env = release();
    assert_eq!(
        env.ok(&["graph", "cycles", "plan"]),
        json!({"graph": "plan", "components": [], "shortest_cycle": null})
    );
    assert_eq!(
        env.text_ok(&["graph", "cycles", "plan"]),
        "no directed cycles\n"
    );
}

#[test]
fn paths_by_edges_and_by_weight() {
    let env = release();
    let fewest = env.ok(&["graph", "path", "plan", "design", "ship"]);
    assert_eq!(fewest["found"], true);
    assert_eq!(fewest["cost"], 2);
    assert_eq!(fewest["nodes"].as_array().unwrap().len(), 3);
    let cheapest = env.ok(&[
        "graph", "path", "plan", "design", "ship", "--weight", "cost",
    ]);
    assert_eq!(
        cheapest,
        json!({
            "graph": "plan", "from": "design", "to": "ship", "weight": "cost", "found": true,
            "nodes": ["design", "docs", "ship"], "edges": ["design-docs", "docs-ship"], "cost": 2,
        })
    );
    assert_eq!(
        env.text_ok(&["graph", "path", "plan", "design", "ship", "--weight", "cost"]),
        "design -> docs -> ship (total cost 2)\n"
    );
    // Edges are directed: nothing leads back.
    assert_eq!(
        env.ok(&["graph", "path", "plan", "ship", "design"]),
        json!({"graph": "plan", "from": "ship", "to": "design", "weight": null, "found": false})
    );
    assert_eq!(
        env.text_ok(&["graph", "path", "plan", "ship", "design"]),
        "no path from ship to design\n"
    );
    let (kind, message) = env.fails(&["graph", "path", "plan", "design", "nowhere"], 1);
    assert_eq!(kind, "not_found");
    assert_eq!(message, r#"node "nowhere" in graph "plan" does not exist"#);
    let (kind, message) = env.fails(
        &["graph", "path", "plan", "design", "ship", "--weight", "km"],
        1,
    );
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"edge "build-ship" in graph "plan": has no attribute "km"; a weighted path needs a number there"#
    );
}

#[test]
fn the_critical_path_adds_up_node_weights() {
    let env = release();
    assert_eq!(
        env.ok(&["graph", "critical-path", "plan", "--weight", "hours"]),
        json!({"graph": "plan", "weight": "hours", "nodes": ["design", "build", "ship"], "total": 9})
    );
    assert_eq!(
        env.text_ok(&["graph", "critical-path", "plan", "--weight", "hours"]),
        "design -> build -> ship (total hours 9)\n"
    );
    let (kind, message) = env.fails(&["graph", "critical-path", "plan", "--weight", "cost"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"node "build" in graph "plan": has no attribute "cost"; a critical path needs a number there"#
    );
}

#[test]
fn undirected_edges_are_refused_by_order_and_walked_both_ways_by_paths() {
    let env = release();
    let store = Store::open(&env.db).unwrap();
    store
        .write(|tx| {
            let cost = json!({"cost": 1});
            tx.add_edge(
                "plan",
                NewEdge::new("then", "ship", "design")
                    .key("loop")
                    .undirected(true)
                    .attributes(&cost),
            )
            .map(drop)
        })
        .unwrap();
    drop(store);
    let (kind, message) = env.fails(&["graph", "order", "plan"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"graph "plan": edge "loop" is undirected; a topological order needs every edge directed"#
    );
    let back = env.ok(&["graph", "path", "plan", "ship", "design"]);
    assert_eq!(back["edges"], json!(["loop"]));
    // Cycles follow directed edges only.
    assert_eq!(
        env.ok(&["graph", "cycles", "plan"])["shortest_cycle"],
        Value::Null
    );
}

#[test]
fn an_unknown_graph_is_named() {
    let env = Env::init();
    for args in [
        vec!["graph", "order", "nope"],
        vec!["graph", "layers", "nope"],
        vec!["graph", "cycles", "nope"],
        vec!["graph", "path", "nope", "a", "b"],
        vec!["graph", "critical-path", "nope", "--weight", "w"],
    ] {
        let (kind, message) = env.fails(&args, 1);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("not_found", r#"graph "nope" does not exist"#)
        );
    }
}
