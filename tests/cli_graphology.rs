//! The command line's graphology import and export, and graph attributes.

mod common;

use common::cli::Env;
use serde_json::{json, Value};

fn error_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("a JSON error report")
}

#[test]
fn a_plain_document_imports_with_define_type_and_round_trips() {
    let env = Env::init();
    let doc = r#"{"attributes": {"name": "deps", "source": "debian"},
                  "options": {"type": "directed", "multi": false, "allowSelfLoops": false},
                  "nodes": [{"key": 1, "attributes": {"pkg": "libc"}}, {"key": 2}],
                  "edges": [{"key": "d", "source": 2, "target": 1}]}"#;
    let file = env.write("deps.json", doc);
    let imported = env.ok(&[
        "import",
        "--define-type",
        "packages",
        file.to_str().unwrap(),
    ]);
    assert_eq!(imported["graph"], "deps");
    assert_eq!(imported["graph_type"], "packages");
    assert_eq!(
        (imported["nodes"].clone(), imported["edges"].clone()),
        (json!(2), json!(1))
    );
    let got = env.ok(&["graph", "get", "deps"]);
    assert_eq!(got["attributes"], json!({"source": "debian"}));
    assert_eq!(
        got["graphology_options"],
        json!({"type": "directed", "multi": false, "allowSelfLoops": false})
    );
    // Piped stdout: compact, one line.
    let out = env.run(&["export", "--graph", "deps"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let exported: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        exported["options"],
        json!({"type": "directed", "multi": false, "allowSelfLoops": false})
    );
    assert_eq!(exported["attributes"]["source"], "debian");
    assert_eq!(exported["nodes"][0]["key"], "1");
    let pretty = env.run(&["export", "--graph", "deps", "--pretty"]);
    assert!(String::from_utf8(pretty.stdout).unwrap().lines().count() > 10);
}

#[test]
fn import_type_names_the_graph_type_of_a_plain_document() {
    let env = Env::init();
    let types = env.write(
        "t.json",
        r#"{"name": "plain", "config": {"kind": "mixed", "multi": false, "allow_self_loops": true, "acyclic": false},
            "node_types": [{"name": "n", "schema": {}}], "edge_types": [{"name": "e", "schema": {}}]}"#,
    );
    env.ok(&["type", "define", types.to_str().unwrap()]);
    let file = env.write(
        "g.json",
        r#"{"attributes": {"name": "g"}, "nodes": [{"key": "a"}]}"#,
    );
    let imported = env.ok(&["import", "--type", "plain", file.to_str().unwrap()]);
    assert_eq!(imported["graph_type"], "plain");

    let bad = env.write("bad.json", r#"{"attributes": {"name": 5}}"#);
    let report = error_json(&env, &["import", "--type", "plain", bad.to_str().unwrap()]);
    assert_eq!(report["error"]["kind"], "invalid");
    assert_eq!(report["error"]["pointer"], "/attributes/name");
    assert_eq!(
        report["error"]["message"],
        r#"graph "": graphology document at /attributes/name: must be a string, not number"#
    );
}

#[test]
fn a_rejected_import_reports_the_cause_kind_and_data() {
    let env = Env::init();
    let types = env.write(
        "t.json",
        r#"{"name": "dag", "config": {"kind": "directed", "multi": false, "allow_self_loops": false, "acyclic": true},
            "node_types": [{"name": "n", "schema": {}}], "edge_types": [{"name": "e", "schema": {}}]}"#,
    );
    env.ok(&["type", "define", types.to_str().unwrap()]);
    let file = env.write(
        "c.json",
        r#"{"attributes": {"name": "c", "@graphType": "dag"}, "nodes": [{"key": "a"}, {"key": "b"}],
            "edges": [{"key": "ab", "source": "a", "target": "b"}, {"key": "ba", "source": "b", "target": "a"}]}"#,
    );
    let report = error_json(&env, &["import", file.to_str().unwrap()]);
    assert_eq!(report["error"]["kind"], "cycle");
    assert_eq!(report["error"]["cycle"], json!(["b", "a", "b"]));
    assert_eq!(report["error"]["pointer"], "/edges/1");
    let file = env.write(
        "s.json",
        r#"{"attributes": {"name": "s", "@graphType": "dag"}, "nodes": [{"key": "a"}, {"key": "b"}],
            "edges": [{"key": "ab", "source": "a", "target": "b"}, {"key": "ab2", "source": "a", "target": "b"}]}"#,
    );
    let report = error_json(&env, &["import", file.to_str().unwrap()]);
    assert_eq!(report["error"]["kind"], "invalid");
    assert_eq!(report["error"]["rule"], "parallel");
    assert_eq!(report["error"]["pointer"], "/edges/1");
    assert_eq!(
        env.ok(&["graph", "list"])["graphs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn graph_attributes_are_created_updated_and_shown() {
    let env = Env::init();
    let types = env.write(
        "t.json",
        r#"{"name": "plain", "config": {"kind": "mixed", "multi": false, "allow_self_loops": true, "acyclic": false},
            "node_types": [], "edge_types": []}"#,
    );
    env.ok(&["type", "define", types.to_str().unwrap()]);
    env.ok(&[
        "graph",
        "create",
        "g",
        "--type",
        "plain",
        "--attrs",
        r#"{"a": 1, "b": 2}"#,
    ]);
    let patched = env.ok(&["graph", "update", "g", "--patch", r#"{"a": null, "c": 3}"#]);
    assert_eq!(patched["attributes"], json!({"b": 2, "c": 3}));
    let replaced = env.ok(&["graph", "update", "g", "--attrs", r#"{"z": true}"#]);
    assert_eq!(replaced["attributes"], json!({"z": true}));
    assert_eq!(
        env.ok(&["graph", "get", "g"])["attributes"],
        json!({"z": true})
    );
    let report = error_json(&env, &["graph", "update", "acl", "--attrs", "{}"]);
    assert_eq!(report["error"]["kind"], "protected");
    let report = error_json(&env, &["graph", "update", "g", "--attrs", "[1]"]);
    assert_eq!(
        report["error"]["message"],
        r#"graph "g": attributes must be a JSON object, not array"#
    );
}
