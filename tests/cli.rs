//! The `alknet-graphs` binary end to end: each command's output (mostly as
//! `--json`), its exit codes, and that rejected input changes nothing.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

mod common;

use common::cli::{dump, utf8, Env};

const PEOPLE: &str = r#"{
  "name": "people",
  "config": {"kind": "directed", "multi": false, "allow_self_loops": false, "acyclic": false},
  "node_types": [
    {"name": "person", "schema": {
      "type": "object",
      "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
      "required": ["name"]
    }},
    {"name": "team", "schema": {}}
  ],
  "edge_types": [
    {"name": "knows", "schema": {"type": "object", "properties": {"since": {"type": "integer"}}},
     "source": ["person"], "target": ["person"]},
    {"name": "member_of", "source": ["person"], "target": ["team"]}
  ]
}"#;

/// A store with the `people` type and a graph `friends` holding ada, bob
/// and the team core.
fn people() -> Env {
    let env = Env::init();
    let file = env.write("people.json", PEOPLE);
    env.ok(&["type", "define", file.to_str().unwrap()]);
    env.ok(&["graph", "create", "friends", "--type", "people"]);
    for (key, attrs) in [
        ("ada", r#"{"name": "Ada", "age": 36}"#),
        ("bob", r#"{"name": "Bob"}"#),
    ] {
        env.ok(&[
            "node", "add", "--graph", "friends", "--type", "person", key, "--attrs", attrs,
        ]);
    }
    env.ok(&[
        "node", "add", "--graph", "friends", "--type", "team", "core",
    ]);
    env
}

#[test]
fn init_creates_the_store_with_the_builtin_types() {
    let env = Env::new();
    let out = env.ok(&["init"]);
    assert_eq!(out["created"], true);
    // The version this build migrates to, as the library reports it.
    let version = alknet_graphs::Store::open(&env.db)
        .unwrap()
        .begin_read()
        .unwrap()
        .schema_version()
        .unwrap();
    assert!(version >= 1);
    assert_eq!(out["schema_version"], json!(version));
    assert_eq!(out["path"], env.db.display().to_string());
    let again = env.ok(&["init"]);
    assert_eq!(again["created"], false);
    assert_eq!(
        again["revision"], out["revision"],
        "init twice changes nothing"
    );
    let listed = env.ok(&["type", "list"]);
    let names: Vec<&str> = listed["graph_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acl", "taskgraph"]);
    let text = env.text_ok(&["init"]);
    assert!(
        text.starts_with("opened ") && text.contains(&format!("schema version {version},")),
        "{text}"
    );
}

#[test]
fn types_are_defined_in_one_transaction_and_shown() {
    let env = Env::init();
    let file = env.write("people.json", PEOPLE);
    let defined = env.ok(&["type", "define", file.to_str().unwrap()]);
    assert_eq!(defined["graph_type"], "people");
    assert_eq!(defined["node_types"], json!(["person", "team"]));
    assert_eq!(defined["edge_types"], json!(["knows", "member_of"]));

    let shown = env.ok(&["type", "show", "people"]);
    assert_eq!(
        shown["config"],
        json!({"type": "directed", "multi": false, "allowSelfLoops": false, "acyclic": false})
    );
    assert_eq!(shown["node_types"][0]["name"], "person");
    assert_eq!(
        shown["node_types"][0]["schema"]["required"],
        json!(["name"])
    );
    assert_eq!(shown["node_types"][1]["schema"], json!({}));
    assert_eq!(shown["edge_types"][0]["source"], json!(["person"]));
    assert_eq!(shown["edge_types"][1]["target"], json!(["team"]));
    let text = env.text_ok(&["type", "show", "people"]);
    assert!(
        text.contains("knows (version 1): person -> person"),
        "{text}"
    );

    // From stdin, with graphology's option names; then dropped.
    let mut child = env
        .command(&["--json", "type", "define", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            br#"{"name": "plain", "config": {"type": "undirected", "allowSelfLoops": false}}"#,
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", utf8(&out.stdout));
    assert_eq!(
        env.ok(&["type", "show", "plain"])["config"]["type"],
        "undirected"
    );
    assert_eq!(env.ok(&["type", "drop", "plain"])["dropped"], "plain");

    // A definition whose last edge type is bad defines nothing at all.
    let bad = env.write(
        "bad.json",
        r#"{"name": "half", "node_types": [{"name": "a"}],
            "edge_types": [{"name": "e", "source": ["nope"]}]}"#,
    );
    let (kind, message) = env.fails(&["type", "define", bad.to_str().unwrap()], 1);
    assert_eq!(kind, "invalid");
    assert!(message.contains("nope"), "{message}");
    env.fails(&["type", "show", "half"], 1);

    // A type with graphs is kept unless --cascade.
    env.ok(&["graph", "create", "g", "--type", "people"]);
    let (kind, _) = env.fails(&["type", "drop", "people"], 1);
    assert_eq!(kind, "in_use");
    env.ok(&["type", "drop", "people", "--cascade"]);
    assert_eq!(
        env.ok(&["graph", "list"])["graphs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn graphs_nodes_edges_and_neighbors() {
    let env = people();
    let graphs = env.ok(&["graph", "list"]);
    let friends = graphs["graphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "friends")
        .expect("listed");
    assert_eq!(
        (friends["graph_type"].clone(), friends["nodes"].clone()),
        (json!("people"), json!(3))
    );

    let ada = env.ok(&["node", "get", "--graph", "friends", "ada"]);
    assert_eq!(ada["type"], "person");
    assert_eq!(ada["attributes"], json!({"name": "Ada", "age": 36}));

    // Paging and filtering.
    let page = env.ok(&["node", "list", "--graph", "friends", "--limit", "2"]);
    let keys: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ada", "bob"]);
    assert_eq!(page["next"], "bob");
    let rest = env.ok(&["node", "list", "--graph", "friends", "--after", "bob"]);
    assert_eq!(rest["items"][0]["key"], "core");
    assert_eq!(rest["next"], Value::Null);
    let teams = env.ok(&["node", "list", "--graph", "friends", "--type", "team"]);
    assert_eq!(teams["items"].as_array().unwrap().len(), 1);

    // Replace, then merge.
    let replaced = env.ok(&[
        "node",
        "update",
        "--graph",
        "friends",
        "bob",
        "--attrs",
        r#"{"name": "Robert"}"#,
    ]);
    assert_eq!(replaced["attributes"], json!({"name": "Robert"}));
    let merged = env.ok(&[
        "node",
        "update",
        "--graph",
        "friends",
        "ada",
        "--attrs",
        r#"{"age": null, "nick": "countess"}"#,
        "--merge",
    ]);
    assert_eq!(
        merged["attributes"],
        json!({"name": "Ada", "nick": "countess"})
    );
    let attrs_file = env.write("bob.json", r#"{"name": "Bob", "age": 40}"#);
    let from_file = format!("@{}", attrs_file.display());
    let replaced = env.ok(&[
        "node", "update", "--graph", "friends", "bob", "--attrs", &from_file,
    ]);
    assert_eq!(replaced["attributes"]["age"], 40);

    // Edges.
    let edge = env.ok(&[
        "edge",
        "add",
        "--graph",
        "friends",
        "--type",
        "knows",
        "ada",
        "bob",
        "--key",
        "ada-bob",
        "--attrs",
        r#"{"since": 2020}"#,
    ]);
    assert_eq!(
        (
            edge["key"].clone(),
            edge["source"].clone(),
            edge["target"].clone()
        ),
        (json!("ada-bob"), json!("ada"), json!("bob"))
    );
    let generated = env.ok(&[
        "edge",
        "add",
        "--graph",
        "friends",
        "--type",
        "member_of",
        "ada",
        "core",
    ]);
    let generated_key = generated["key"].as_str().unwrap().to_owned();
    assert_eq!(generated_key.len(), 36, "a UUID key");
    assert_eq!(
        env.ok(&["edge", "get", "--graph", "friends", "ada-bob"])["attributes"]["since"],
        2020
    );
    assert_eq!(
        env.ok(&["edge", "list", "--graph", "friends"])["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        env.ok(&["edge", "list", "--graph", "friends", "--type", "knows"])["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let both = env.ok(&["neighbors", "--graph", "friends", "ada"]);
    let nodes: Vec<&str> = both["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["bob", "core"]);
    let incoming = env.ok(&[
        "neighbors",
        "--graph",
        "friends",
        "bob",
        "--direction",
        "in",
    ]);
    assert_eq!(
        incoming["neighbors"][0],
        json!({"node": "ada", "edge": "ada-bob", "edge_type": "knows", "undirected": false})
    );
    let out = env.ok(&[
        "neighbors",
        "--graph",
        "friends",
        "bob",
        "--direction",
        "out",
    ]);
    assert_eq!(out["neighbors"], json!([]));
    let text = env.text_ok(&["neighbors", "--graph", "friends", "bob"]);
    assert_eq!(text, "ada  via ada-bob (knows)\n");

    assert_eq!(
        env.ok(&["edge", "rm", "--graph", "friends", "ada-bob"])["removed"],
        "ada-bob"
    );
    let removed = env.ok(&["node", "rm", "--graph", "friends", "ada"]);
    assert_eq!(
        removed["edges_removed"], 1,
        "the member_of edge went with it"
    );
    assert_eq!(
        env.ok(&["edge", "list", "--graph", "friends"])["items"],
        json!([])
    );
    env.ok(&["graph", "drop", "friends"]);
    env.fails(&["node", "list", "--graph", "friends"], 1);
}

#[test]
fn bad_input_is_rejected_clearly_and_changes_nothing() {
    let env = people();
    let person = ["node", "add", "--graph", "friends", "--type", "person"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut args = person.to_vec();
        args.extend_from_slice(extra);
        args
    };

    // Files.
    let (kind, message) = env.fails(&["type", "define", "missing.json"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("io", "cannot read missing.json: no such file or directory")
    );
    env.write("broken.json", "{\"name\": ");
    let (kind, message) = env.fails(&["type", "define", "broken.json"], 1);
    assert_eq!(kind, "invalid_json");
    assert!(
        message.starts_with("broken.json: not valid JSON: EOF while parsing"),
        "{message}"
    );
    env.write("typo.json", r#"{"name": "t", "node_typez": []}"#);
    let (kind, message) = env.fails(&["type", "define", "typo.json"], 1);
    assert_eq!(kind, "invalid_input");
    assert!(message.contains("unknown field `node_typez`"), "{message}");

    // Attributes.
    let (kind, message) = env.fails(&with(&["cy", "--attrs", "{name: 1}"]), 1);
    assert_eq!(kind, "invalid_json");
    assert!(
        message.starts_with("--attrs: not valid JSON: key must be a string"),
        "{message}"
    );
    let (kind, message) = env.fails(&with(&["cy", "--attrs", r#"{"name": "Cy", "age": -1}"#]), 1);
    assert_eq!(kind, "schema_violation");
    assert_eq!(
        message,
        r#"node "cy" in graph "friends": attribute /age: -1 is less than the minimum of 0"#
    );
    let (kind, message) = env.fails(&with(&["cy", "--attrs", "{}"]), 1);
    assert_eq!(kind, "schema_violation");
    assert!(
        message.contains(r#""name" is a required property"#),
        "{message}"
    );
    let (kind, message) = env.fails(&with(&["ada", "--attrs", r#"{"name": "Ada"}"#]), 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        (
            "already_exists",
            r#"node "ada" in graph "friends" already exists"#
        )
    );
    let (kind, message) = env.fails(
        &[
            "node",
            "update",
            "--graph",
            "friends",
            "ada",
            "--attrs",
            r#"{"name": null}"#,
            "--merge",
        ],
        1,
    );
    assert_eq!(kind, "schema_violation", "{message}");

    // Unknown graph, type, key.
    let (kind, message) = env.fails(&["node", "get", "--graph", "nope", "ada"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("not_found", r#"graph "nope" does not exist"#)
    );
    let (kind, message) = env.fails(
        &["node", "add", "--graph", "friends", "--type", "robot", "r2"],
        1,
    );
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"node "r2" in graph "friends": node type "robot" is not defined in graph type "people""#
    );
    let (kind, message) = env.fails(&["node", "get", "--graph", "friends", "zed"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        (
            "not_found",
            r#"node "zed" in graph "friends" does not exist"#
        )
    );
    env.fails(&["node", "rm", "--graph", "friends", "zed"], 1);
    env.fails(&["edge", "rm", "--graph", "friends", "zed"], 1);
    env.fails(&["neighbors", "--graph", "friends", "zed"], 1);
    let (kind, message) = env.fails(
        &[
            "edge", "add", "--graph", "friends", "--type", "knows", "ada", "zed", "--key", "e1",
        ],
        1,
    );
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"edge "e1" in graph "friends": target node "zed" does not exist"#
    );
    let (kind, _) = env.fails(
        &[
            "edge", "add", "--graph", "friends", "--type", "knows", "ada", "ada", "--key", "e2",
        ],
        1,
    );
    assert_eq!(kind, "invalid", "no self-loops");
    let (kind, _) = env.fails(&["graph", "create", "g", "--type", "nope"], 1);
    assert_eq!(kind, "not_found");
    env.fails(&["type", "show", "nope"], 1);

    // Usage: exit 2, as JSON with --json.
    for args in [
        &["node", "gett"][..],
        &["node", "add", "--graph", "friends", "cy"][..],
        &["node", "list", "--graph", "friends", "--limit", "many"][..],
        &[
            "neighbors",
            "--graph",
            "friends",
            "ada",
            "--direction",
            "up",
        ][..],
        &["acl", "check", "ada"][..],
        &["acl", "explain", "ada"][..],
        &["acl", "effective"][..],
        &["acl", "delegate", "a", "b"][..],
        &["acl", "principal", "add", "x", "--type", "robot"][..],
        &["task", "status", "--graph", "g", "t", "--from", "ready"][..],
        &[][..],
    ] {
        let (kind, message) = env.fails(args, 2);
        assert_eq!(kind, "usage", "{args:?}");
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{args:?}: {message}"
        );
    }
    let (_, message) = env.fails(&["acl", "check", "ada", "--resource", "repo"], 2);
    assert!(message.contains("TYPE:ACTION"), "{message}");
    let (_, message) = env.fails(&["acl", "effective", "ada", "--at", "tomorrow"], 2);
    assert!(message.contains("is not a time"), "{message}");
    let human = env.run(&["node", "gett"]);
    assert!(utf8(&human.stderr).starts_with("error: unrecognized subcommand 'gett'"));

    // A store file that does not exist is not created by accident.
    let other = Env::new();
    let (kind, message) = other.fails(&["graph", "list"], 1);
    assert_eq!(kind, "not_found");
    assert!(
        message.ends_with("does not exist; create it with `alknet-graphs init`"),
        "{message}"
    );
    assert!(!other.db.exists());
}

#[test]
fn acl_principals_delegation_explain_and_check() {
    let env = Env::init();
    env.ok(&[
        "acl",
        "principal",
        "add",
        "eng",
        "--type",
        "org",
        "--scope",
        "repo:read",
        "--scope",
        "repo:write",
        "--resource",
        "repo/alknet:write",
    ]);
    let added = env.ok(&["acl", "principal", "add", "ada", "--type", "account"]);
    assert_eq!(
        added["principal"],
        json!({"id": "ada", "type": "account", "scopes": [], "resources": {}})
    );
    for id in ["ci", "deploy", "log"] {
        env.ok(&["acl", "principal", "add", id, "--type", "service"]);
    }
    env.ok(&["acl", "member", "add", "ada", "eng"]);
    let delegated = env.ok(&[
        "acl",
        "delegate",
        "ada",
        "ci",
        "--scope",
        "repo:read",
        "--scope",
        "repo:write",
        "--resource",
        "repo/alknet:write",
    ]);
    assert_eq!(delegated["scopes"], json!(["repo:read", "repo:write"]));
    env.ok(&[
        "acl",
        "delegate",
        "ci",
        "deploy",
        "--scope",
        "repo:read",
        "--expires-at",
        "2999-01-01T00:00:00Z",
    ]);
    let later = env.ok(&[
        "acl",
        "delegate",
        "deploy",
        "log",
        "--scope",
        "repo:read",
        "--not-before",
        "+1h",
    ]);
    assert!(later["validity"]["not_before"].as_i64().unwrap() > 0);

    let listed = env.ok(&["acl", "principal", "list"]);
    let ids: Vec<&str> = listed["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ada", "ci", "deploy", "eng", "log"]);

    let ci = env.ok(&["acl", "effective", "ci"]);
    assert_eq!(ci["scopes"], json!(["repo:read", "repo:write"]));
    assert_eq!(ci["resources"], json!({"repo/alknet": ["write"]}));
    let deploy = env.ok(&["acl", "effective", "deploy"]);
    assert_eq!(deploy["scopes"], json!(["repo:read"]));
    assert_eq!(
        deploy["valid_until"],
        json!(32_472_144_000_000_i64),
        "2999-01-01 in unix ms"
    );
    let after = env.ok(&["acl", "effective", "deploy", "--at", "32472144000000"]);
    assert_eq!(after["scopes"], json!([]), "expired");
    assert_eq!(
        env.ok(&["acl", "effective", "log"])["scopes"],
        json!([]),
        "not yet"
    );
    assert_eq!(
        env.ok(&["acl", "effective", "log", "--at", "+2h"])["scopes"],
        json!(["repo:read"])
    );
    let all = env.ok(&["acl", "effective", "--all"]);
    assert_eq!(all["principals"].as_array().unwrap().len(), 5);
    let text = env.text_ok(&["acl", "effective", "ci"]);
    assert_eq!(text, "ci: repo:read, repo:write; write on repo/alknet\n");

    let why = env.ok(&["acl", "explain", "deploy", "repo:read"]);
    assert_eq!(why["granted"], true);
    assert_eq!(why["holder"], "eng");
    let hops: Vec<String> = why["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {}→{}",
                h["kind"].as_str().unwrap(),
                h["from"].as_str().unwrap(),
                h["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            "belongs_to ada→eng",
            "delegates ada→ci",
            "delegates ci→deploy"
        ]
    );
    let why_not = env.ok(&["acl", "explain", "deploy", "repo:write"]);
    assert_eq!(why_not["granted"], false);
    assert_eq!(why_not["reason"], "dropped_at_hop");
    assert_eq!(
        why_not["text"],
        "denied: dropped at hop 3: not in narrowed_scopes of ci→deploy"
    );
    let resource = env.ok(&["acl", "explain", "ci", "--resource", "repo/alknet:write"]);
    assert_eq!(resource["granted"], true);
    let text = env.text_ok(&["acl", "explain", "deploy", "repo:read"]);
    assert!(text.contains("\n  3. delegates ci → deploy"), "{text}");

    // The check: allowed (0), denied (3) with what is missing.
    let allowed = env.ok(&[
        "acl",
        "check",
        "ci",
        "--scope",
        "repo:read",
        "--resource",
        "repo/alknet:write",
    ]);
    assert_eq!(
        (allowed["allowed"].clone(), allowed["result"].clone()),
        (json!(true), json!("allowed"))
    );
    let out = env.run(&[
        "--json",
        "acl",
        "check",
        "deploy",
        "--scope",
        "repo:read",
        "--scope",
        "repo:write",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let denied: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["missing"], json!({"scopes": ["repo:write"]}));
    let out = env.run(&["acl", "check", "deploy", "--scope", "repo:write"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        utf8(&out.stdout),
        "deploy: denied: missing scopes \"repo:write\"\n"
    );
    let out = env.run(&["acl", "check", "deploy", "--any", "admin", "--any", "root"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        utf8(&out.stdout),
        "deploy: denied: missing one of \"admin\", \"root\"\n"
    );
    let out = env.run(&["acl", "check", "ci", "--resource", "repo/alknet:read"]);
    assert_eq!(
        utf8(&out.stdout),
        "ci: denied: missing read on \"repo/alknet\"\n"
    );
    assert_eq!(out.status.code(), Some(3));
    let (kind, message) = env.fails(&["acl", "check", "nobody", "--scope", "x"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        (
            "not_found",
            r#"node "nobody" in graph "acl" does not exist"#
        )
    );

    // Write-time refusals change nothing.
    let (kind, message) = env.fails(&["acl", "delegate", "ci", "ada", "--scope", "deploy"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"edge "delegates ci ada" in graph "acl": delegator "ci" does not hold "deploy""#
    );
    let (kind, _) = env.fails(&["acl", "member", "add", "ci", "ada"], 1);
    assert_eq!(kind, "invalid", "ada is not a group");
    let (kind, _) = env.fails(&["acl", "grant", "ada", "read", "repo/none"], 1);
    assert_eq!(kind, "not_found");
    let (kind, _) = env.fails(&["acl", "principal", "add", "ada", "--type", "account"], 1);
    assert_eq!(kind, "already_exists");

    // Revocation, grants, membership and removal.
    env.ok(&["acl", "revoke", "ada", "ci"]);
    assert_eq!(env.ok(&["acl", "effective", "ci"])["scopes"], json!([]));
    let why_not = env.ok(&["acl", "explain", "deploy", "repo:read"]);
    assert_eq!(why_not["reason"], "revoked");
    env.ok(&["acl", "resource", "add", "repo"]);
    env.ok(&["acl", "grant", "ci", "execute", "repo"]);
    assert_eq!(
        env.ok(&["acl", "effective", "ci"])["resources"],
        json!({"repo": ["execute"]})
    );
    env.ok(&["acl", "ungrant", "ci", "execute", "repo"]);
    assert_eq!(env.ok(&["acl", "effective", "ci"])["resources"], json!({}));
    env.ok(&[
        "acl",
        "delegate",
        "ada",
        "ci",
        "--scope",
        "repo:read",
        "--update",
    ]);
    assert_eq!(
        env.ok(&["acl", "effective", "ci"])["scopes"],
        json!(["repo:read"])
    );
    env.ok(&["acl", "member", "rm", "ada", "eng"]);
    assert_eq!(env.ok(&["acl", "effective", "ci"])["scopes"], json!([]));
    env.ok(&["acl", "resource", "rm", "repo"]);
    env.ok(&["acl", "principal", "rm", "log"]);
    env.fails(&["acl", "effective", "log"], 1);
}

#[test]
fn taskgraph_commands() {
    let env = Env::init();
    env.ok(&["task", "create", "--graph", "rel"]);
    assert_eq!(
        env.ok(&["task", "add", "--graph", "rel", "fetch", "--duration", "1"])["status"],
        "ready"
    );
    let build = env.ok(&[
        "task",
        "add",
        "--graph",
        "rel",
        "build",
        "--duration",
        "5",
        "--priority",
        "3",
        "--depends-on",
        "fetch",
    ]);
    assert_eq!(build["status"], "pending");
    env.ok(&[
        "task",
        "add",
        "--graph",
        "rel",
        "lint",
        "--duration",
        "2",
        "--payload",
        r#"{"cmd": "cargo clippy"}"#,
    ]);
    env.ok(&[
        "task",
        "add",
        "--graph",
        "rel",
        "ship",
        "--duration",
        "1",
        "--attrs",
        r#"{"owner": "ada"}"#,
    ]);
    env.ok(&["task", "dep", "--graph", "rel", "ship", "build"]);
    let dep = env.ok(&["task", "dep", "--graph", "rel", "ship", "lint"]);
    assert_eq!(dep["status"], "pending");

    assert_eq!(
        env.ok(&["task", "ready", "--graph", "rel"])["ready"],
        json!(["fetch", "lint"])
    );
    assert_eq!(
        env.ok(&["task", "order", "--graph", "rel"])["order"],
        json!(["fetch", "build", "lint", "ship"])
    );
    assert_eq!(
        env.ok(&["task", "order", "--graph", "rel", "--generations"])["generations"],
        json!([["fetch", "lint"], ["build"], ["ship"]])
    );
    let path = env.ok(&["task", "critical-path", "--graph", "rel"]);
    assert_eq!(
        (path["tasks"].clone(), path["duration"].clone()),
        (json!(["fetch", "build", "ship"]), json!(7.0))
    );

    // Status changes along the allowed transitions.
    assert_eq!(
        env.ok(&["task", "status", "--graph", "rel", "fetch"])["status"],
        "ready"
    );
    env.ok(&["task", "status", "--graph", "rel", "fetch", "running"]);
    let done = env.ok(&[
        "task", "status", "--graph", "rel", "fetch", "done", "--from", "running",
    ]);
    assert_eq!(done["made_ready"], json!(["build"]));
    assert_eq!(
        env.ok(&["task", "ready", "--graph", "rel"])["ready"],
        json!(["build", "lint"])
    );
    let text = env.text_ok(&["task", "list", "--graph", "rel"]);
    assert!(text.contains("fetch  done  duration 1"), "{text}");
    let listed = env.ok(&["task", "list", "--graph", "rel"]);
    assert_eq!(
        listed["tasks"][0],
        json!({"key": "build", "status": "ready", "duration": 5.0})
    );

    let (kind, message) = env.fails(&["task", "status", "--graph", "rel", "build", "done"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"node "build" in graph "rel": cannot change status from "ready" to "done"; from "ready" it can become "running" or "cancelled""#
    );
    let out = env.run(&[
        "--json", "task", "status", "--graph", "rel", "build", "done",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["rule"], "transition");
    assert_eq!(report["error"]["entity"], r#"node "build" in graph "rel""#);
    let (kind, message) = env.fails(
        &[
            "task", "status", "--graph", "rel", "build", "running", "--from", "pending",
        ],
        1,
    );
    assert_eq!(kind, "invalid");
    assert!(
        message.contains(r#"status is "ready", not the expected "pending""#),
        "{message}"
    );
    let (kind, message) = env.fails(&["task", "dep", "--graph", "rel", "fetch", "ship"], 1);
    assert_eq!(kind, "invalid", "fetch is done: {message}");
    // A cycle (the edge's generated key differs per run, so only JSON here).
    let before = dump(&env.db);
    let out = env.run(&["--json", "task", "dep", "--graph", "rel", "build", "ship"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["kind"], "cycle");
    assert!(report["error"]["message"]
        .as_str()
        .unwrap()
        .ends_with(r#"would close the cycle "build" -> "ship" -> "build""#));
    assert_eq!(dump(&env.db), before);
    let (kind, _) = env.fails(
        &["task", "status", "--graph", "rel", "build", "finished"],
        2,
    );
    assert_eq!(kind, "usage");
    let (kind, _) = env.fails(
        &["task", "add", "--graph", "rel", "x", "--duration", "-1"],
        2,
    );
    assert_eq!(kind, "usage");
    let (kind, _) = env.fails(
        &["task", "add", "--graph", "rel", "x", "--depends-on", "nope"],
        1,
    );
    assert_eq!(kind, "not_found", "the task is not added either");
    let (kind, _) = env.fails(&["task", "ready", "--graph", "acl"], 1);
    assert_eq!(kind, "invalid", "not a taskgraph");

    let removed = env.ok(&["task", "dep", "--graph", "rel", "ship", "build", "--rm"]);
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["status"], "pending", "ship still waits for lint");
    let removed = env.ok(&["task", "rm", "--graph", "rel", "lint"]);
    assert_eq!(
        removed["made_ready"],
        json!(["ship"]),
        "nothing left to wait for"
    );
}

#[test]
fn import_and_export_any_graph_the_acl_included() {
    let env = people();
    env.ok(&[
        "edge", "add", "--graph", "friends", "--type", "knows", "ada", "bob", "--key", "ada-bob",
    ]);
    env.ok(&[
        "acl",
        "principal",
        "add",
        "eng",
        "--type",
        "org",
        "--scope",
        "repo:read",
    ]);
    env.ok(&["acl", "principal", "add", "ci", "--type", "service"]);
    env.ok(&["acl", "delegate", "eng", "ci", "--scope", "repo:read"]);

    // graphology to a file and to stdout.
    let written = env.ok(&["export", "--graph", "friends", "--out", "friends.json"]);
    assert_eq!(written["format"], "graphology");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("friends.json")).unwrap()).unwrap();
    assert_eq!(
        doc["attributes"],
        json!({"@graphType": "people", "name": "friends"})
    );
    assert_eq!(
        env.ok(&["export", "--graph", "friends"]),
        doc,
        "--json prints the document itself"
    );
    let imported = env.ok(&["import", "--graph", "copy", "friends.json"]);
    assert_eq!(
        (
            imported["nodes"].clone(),
            imported["edges"].clone(),
            imported["replaced"].clone()
        ),
        (json!(3), json!(1), json!(false))
    );
    assert_eq!(
        env.ok(&["node", "get", "--graph", "copy", "ada"])["attributes"]["age"],
        36
    );

    // Pictures.
    let dot = env.text_ok(&[
        "export",
        "--graph",
        "friends",
        "--format",
        "dot",
        "--edge-labels",
    ]);
    assert!(
        dot.starts_with("digraph \"friends\" {") && dot.contains("[label=\"knows\"]"),
        "{dot}"
    );
    let mermaid = env.ok(&[
        "export", "--graph", "friends", "--format", "mermaid", "--label", "name",
    ]);
    assert!(
        mermaid["text"].as_str().unwrap().contains("flowchart"),
        "{mermaid}"
    );

    // The whole ACL out of one store and into a fresh one, in one call each.
    env.ok(&["export", "--graph", "acl", "--out", "acl.json"]);
    let fresh = Env::init();
    let acl_doc = std::fs::copy(env.path("acl.json"), fresh.path("acl.json"))
        .map(|_| "acl.json")
        .unwrap();
    let imported = fresh.ok(&["import", "--graph", "acl", acl_doc]);
    assert_eq!(
        imported["replaced"], true,
        "the empty acl graph of a fresh store is replaced"
    );
    assert_eq!(
        (imported["nodes"].clone(), imported["edges"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(
        fresh.ok(&["acl", "effective", "ci"])["scopes"],
        json!(["repo:read"])
    );
    let (kind, message) = fresh.fails(&["import", "--graph", "acl", acl_doc], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"graph "acl": already exists and has nodes; pass --replace to replace it"#
    );
    assert_eq!(
        fresh.ok(&["import", "--graph", "acl", acl_doc, "--replace"])["replaced"],
        true
    );

    // A taskgraph comes back with its ready set.
    env.ok(&["task", "create", "--graph", "rel"]);
    env.ok(&["task", "add", "--graph", "rel", "a"]);
    env.ok(&["task", "add", "--graph", "rel", "b", "--depends-on", "a"]);
    env.ok(&["export", "--graph", "rel", "--out", "rel.json"]);
    fresh.write(
        "rel.json",
        &std::fs::read_to_string(env.path("rel.json")).unwrap(),
    );
    fresh.ok(&["import", "rel.json"]);
    assert_eq!(
        fresh.ok(&["task", "ready", "--graph", "rel"])["ready"],
        json!(["a"])
    );

    // Rejected documents change nothing.
    env.write("bad-node.json", r#"{"attributes": {"@graphType": "people", "name": "bad"}, "nodes": [{"key": "x", "attributes": {"@type": "person", "age": "old"}}]}"#);
    let (kind, message) = env.fails(&["import", "bad-node.json"], 1);
    // The import keeps the kind of the store's refusal.
    assert_eq!(kind, "schema_violation");
    assert!(
        message.starts_with(r#"graph "bad": graphology document at /nodes/0/attributes"#),
        "{message}"
    );
    env.write("not-json.json", "[1, 2");
    let (kind, message) = env.fails(&["import", "--graph", "x", "not-json.json"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"graph "x": graphology document: must be a JSON object, not array"#
    );
    env.write("cut-short.json", r#"{"nodes": [{"key": "a"}"#);
    let (kind, message) = env.fails(&["import", "--graph", "x", "cut-short.json"], 1);
    assert_eq!(kind, "invalid");
    assert!(
        message.starts_with(
            r#"graph "x": graphology document at /nodes/1: not valid JSON: EOF while parsing"#
        ),
        "{message}"
    );
    let (kind, _) = env.fails(&["import", "--graph", "x", "missing.json"], 1);
    assert_eq!(kind, "io");
    let (kind, _) = env.fails(&["export", "--graph", "nope"], 1);
    assert_eq!(kind, "not_found");
    let (kind, message) = env.fails(
        &[
            "export",
            "--graph",
            "friends",
            "--out",
            "no/such/dir/x.json",
        ],
        1,
    );
    assert_eq!(kind, "io");
    assert!(
        message.starts_with("cannot write no/such/dir/x.json"),
        "{message}"
    );
}

#[test]
fn watch_sees_batches_written_by_another_process() {
    let env = people();
    let mut watcher = env
        .command(&["--json", "watch", "--count", "2", "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    // It says on stderr when it is subscribed.
    let mut notice = String::new();
    BufReader::new(watcher.stderr.take().unwrap())
        .read_line(&mut notice)
        .unwrap();
    assert!(notice.starts_with("watching "), "{notice}");
    env.ok(&[
        "node",
        "add",
        "--graph",
        "friends",
        "--type",
        "person",
        "cy",
        "--attrs",
        r#"{"name": "Cy"}"#,
    ]);
    env.ok(&[
        "edge", "add", "--graph", "friends", "--type", "knows", "cy", "ada", "--key", "cy-ada",
    ]);
    let out = watcher.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<Value> = utf8(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0]["events"],
        json!([{"entity": "node", "op": "create", "graph": "friends", "graph_type": null, "key": "cy"}])
    );
    assert_eq!(lines[1]["events"][0]["key"], "cy-ada");
    assert_eq!(
        lines[1]["revision"].as_u64(),
        lines[0]["revision"].as_u64().map(|r| r + 1)
    );

    // Nothing written: --count not reached by --timeout is an error.
    let started = std::time::Instant::now();
    let (kind, message) = env.fails(&["watch", "--count", "1", "--timeout", "0.2"], 1);
    assert_eq!(kind, "timeout");
    assert_eq!(message, "timed out after 0.2 s with 0 of 1 batch(es)");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn demo_builds_a_valid_store_and_explains_it() {
    let env = Env::new();
    let out_dir = env.path("pictures");
    let out_arg = out_dir.to_str().unwrap();
    let text = env.text_ok(&["demo", "--out", out_arg]);
    for expected in [
        "== The organisation's ACL",
        "log-shipper: repo:read\n",
        "preview-bot: (none)",
        "log-shipper \"repo:read\": granted: held by acme via belongs_to ada→acme, delegates ada→ci-bot, delegates ci-bot→deploy-bot, delegates deploy-bot→log-shipper",
        "log-shipper \"deploy:staging\": denied: dropped at hop 4: not in narrowed_scopes of deploy-bot→log-shipper",
        "preview-bot \"repo:read\": denied: revoked at ",
        "carol \"billing:read\": denied: expired at ",
        "→ allowed [exit 0]",
        "→ denied: missing scopes \"deploy:prod\" [exit 3]",
        "ready now: integration-tests, unit-tests",
        "== A peer bound to a principal",
        "its key resolves to deploy-bot: deploy:staging, metrics:write, repo:read; read on repo/alknet",
        "acl.dot",
        "tasks.dot",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    for file in ["acl.dot", "tasks.dot"] {
        let dot = std::fs::read_to_string(out_dir.join(file)).unwrap();
        assert!(dot.starts_with("digraph "), "{file}: {dot}");
    }

    // The store it built is valid: the library opens it and agrees.
    {
        let store = alknet_graphs::Store::open(&env.db).unwrap();
        let acl = alknet_graphs::acl::Acl::open(&store).unwrap();
        assert!(acl.graph().principal_count() >= 8);
        let deploy = acl.effective("deploy-bot").unwrap();
        assert!(deploy.has_scope("deploy:staging") && !deploy.has_scope("deploy:prod"));
        assert!(deploy.allows("repo/alknet", "read") && !deploy.allows("repo/alknet", "write"));
        let tasks = alknet_graphs::taskgraph::Taskgraphs::open(&store).unwrap();
        let ready = store.read(|r| tasks.ready(r, "release-1.0")).unwrap();
        assert_eq!(ready, ["integration-tests", "unit-tests"]);
        let count = store
            .begin_read()
            .unwrap()
            .node_count("release-1.0")
            .unwrap();
        assert!((8..=10).contains(&count), "{count} tasks");
    }
    let chain = env.ok(&["acl", "explain", "log-shipper", "repo:read"]);
    assert_eq!(chain["chain"].as_array().unwrap().len(), 4);

    // It will not overwrite a store that holds data, unless --force.
    let (kind, message) = env.fails(&["demo", "--out", out_arg], 1);
    assert_eq!(kind, "already_exists");
    assert!(message.contains("pass --force"), "{message}");
    let report = env.ok(&["demo", "--out", out_arg, "--force"]);
    assert_eq!(report["db"], env.db.display().to_string());
    assert_eq!(
        report["tasks"]["ready"],
        json!(["integration-tests", "unit-tests"])
    );
    assert_eq!(report["checks"][0]["allowed"], true);
    assert_eq!(report["checks"][1]["allowed"], false);
    assert_eq!(report["explain"][0]["granted"], true);
    assert_eq!(report["explain"][1]["reason"], "dropped_at_hop");
    assert_eq!(report["peer"]["resolved"]["id"], "deploy-bot");
    assert_eq!(
        report["peer"]["resolved"]["scopes"],
        json!(["deploy:staging", "metrics:write", "repo:read"])
    );
    let fingerprint = report["peer"]["peer"]["fingerprints"][0].as_str().unwrap();
    let resolved = env.ok(&["peer", "resolve", "--fingerprint", fingerprint]);
    assert_eq!(resolved["resources"], json!({"repo/alknet": ["read"]}));
    assert!(report["files"]["acl_dot"]
        .as_str()
        .unwrap()
        .ends_with("acl.dot"));
}

const FP_A: &str = "ed25519:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const FP_B: &str = "SHA256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Runs with `--json` and stdin fed from `input`; expects exit 0.
fn ok_with_stdin(env: &Env, args: &[&str], input: &str) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let mut child = env
        .command(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {} {}",
        utf8(&out.stdout),
        utf8(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn peers_are_added_listed_resolved_updated_and_removed() {
    let env = Env::init();
    let fp_upper = FP_A.to_uppercase();
    let added = env.ok(&[
        "peer",
        "add",
        "build-01",
        "--fingerprint",
        &fp_upper,
        "--token",
        "s3cret-peer-token-0123456789abcdef",
        "--scope",
        "ci",
        "--resource",
        "repo:read",
    ]);
    // Stored canonical; only the token's hash is kept, and never shown.
    assert_eq!(added["id"], "build-01");
    assert_eq!(added["fingerprints"], json!([FP_A]));
    assert_eq!(added["scopes"], json!(["ci"]));
    assert_eq!(added["resources"], json!({"repo": ["read"]}));
    assert_eq!(added["token"], "set");
    let hash = alknet_graphs::identity::AuthToken::new("s3cret-peer-token-0123456789abcdef").hash();
    assert!(!added.to_string().contains(&hash), "{added}");
    assert!(added["revision"].as_u64().unwrap() > 0);

    // A second peer, its token from stdin.
    let second = ok_with_stdin(
        &env,
        &[
            "peer",
            "add",
            "edge-02",
            "--fingerprint",
            FP_B,
            "--token-stdin",
        ],
        "other-token-0123456789abcdef012345\n",
    );
    assert_eq!(second["fingerprints"], json!([FP_B]));

    let listed = env.ok(&["peer", "list"]);
    let ids: Vec<&str> = listed["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["build-01", "edge-02"]);
    // No output shows a token hash.
    assert!(!listed.to_string().contains(&hash), "{listed}");
    let text = env.text_ok(&["peer", "list"]);
    assert!(
        text.starts_with("build-01  1 fingerprint  token: set 20"),
        "{text}"
    );
    assert!(text.contains("holds ci, read on repo"), "{text}");
    assert!(!text.contains(&hash), "{text}");
    let text = env.text_ok(&["--actor", "ops", "peer", "add", "plain"]);
    assert!(!text.contains(&hash), "{text}");
    assert!(
        text.starts_with("added peer plain with no fingerprint and no token, holding nothing"),
        "{text}"
    );
    let text = env.text_ok(&["peer", "show", "build-01"]);
    assert!(text.contains("\n  token: set 20"), "{text}");
    assert!(!text.contains(&hash), "{text}");
    assert!(text.contains(FP_A), "{text}");
    let shown = env.ok(&["peer", "show", "build-01"]);
    assert_eq!(shown["token"], "set");
    assert!(shown["token_set_at"].as_i64().unwrap() > 0);
    assert!(!shown.to_string().contains(&hash), "{shown}");

    // Resolve by fingerprint (any case) and by token.
    let by_fp = env.ok(&["peer", "resolve", "--fingerprint", &fp_upper]);
    assert_eq!(
        by_fp,
        json!({"id": "build-01", "scopes": ["ci"], "resources": {"repo": ["read"]}, "via": "fingerprint"})
    );
    let by_token = env.ok(&[
        "peer",
        "resolve",
        "--token",
        "s3cret-peer-token-0123456789abcdef",
    ]);
    assert_eq!(by_token["id"], "build-01");
    assert_eq!(by_token["via"], "token");
    let by_stdin = ok_with_stdin(
        &env,
        &["peer", "resolve", "--token-stdin"],
        "other-token-0123456789abcdef012345\n",
    );
    assert_eq!(by_stdin["id"], "edge-02");
    assert_eq!(
        env.text_ok(&["peer", "resolve", "--fingerprint", FP_A]),
        "build-01: ci; read on repo\n"
    );

    // The ACL grant of the principal with the peer's id is part of it.
    env.ok(&[
        "acl",
        "principal",
        "add",
        "ops",
        "--type",
        "role",
        "--scope",
        "deploy",
        "--scope",
        "ci",
        "--resource",
        "artifacts:write",
    ]);
    env.ok(&["acl", "principal", "add", "build-01", "--type", "service"]);
    env.ok(&[
        "acl",
        "delegate",
        "ops",
        "build-01",
        "--scope",
        "deploy",
        "--resource",
        "artifacts:write",
    ]);
    let resolved = env.ok(&["peer", "resolve", "--fingerprint", FP_A]);
    assert_eq!(resolved["scopes"], json!(["ci", "deploy"]));
    assert_eq!(
        resolved["resources"],
        json!({"artifacts": ["write"], "repo": ["read"]})
    );
    let resolved = env.ok(&[
        "peer",
        "resolve",
        "--token",
        "s3cret-peer-token-0123456789abcdef",
    ]);
    assert_eq!(resolved["scopes"], json!(["ci", "deploy"]));

    // Update replaces the whole entry: the token is gone, the key changed.
    let updated = env.ok(&[
        "peer",
        "update",
        "build-01",
        "--fingerprint",
        "ed25519:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
        "--scope",
        "lint",
    ]);
    assert_eq!(updated["token"], Value::Null);
    assert_eq!(updated["scopes"], json!(["lint"]));
    let (kind, message) = env.fails(&["peer", "resolve", "--fingerprint", FP_A], 1);
    assert_eq!(kind, "not_found");
    assert!(message.contains(FP_A), "{message}");
    let (kind, message) = env.fails(
        &[
            "peer",
            "resolve",
            "--token",
            "s3cret-peer-token-0123456789abcdef",
        ],
        1,
    );
    assert_eq!(kind, "not_found");
    assert!(!message.contains("s3cret"), "{message}");
    let resolved = env.ok(&[
        "peer",
        "resolve",
        "--fingerprint",
        "ed25519:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
    ]);
    assert_eq!(resolved["scopes"], json!(["deploy", "lint"]));

    // Removal.
    assert_eq!(env.ok(&["peer", "rm", "edge-02"])["removed"], "edge-02");
    env.fails(&["peer", "resolve", "--fingerprint", FP_B], 1);
    let (kind, message) = env.fails(&["peer", "show", "edge-02"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("not_found", r#"peer "edge-02" does not exist"#)
    );
    let listed = env.ok(&["peer", "list"]);
    assert_eq!(listed["peers"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_peer_input_is_rejected_clearly_and_changes_nothing() {
    let env = Env::init();
    env.ok(&[
        "peer",
        "add",
        "build-01",
        "--fingerprint",
        FP_A,
        "--token",
        "t1-0123456789abcdef0123456789abcdef",
    ]);

    let (kind, message) = env.fails(&["peer", "add", "x", "--fingerprint", "ed25519:xyz"], 1);
    assert_eq!(kind, "invalid");
    assert!(message.contains("ed25519:xyz"), "{message}");
    assert!(message.contains(r#"peer "x""#), "{message}");
    let (kind, message) = env.fails(&["peer", "resolve", "--fingerprint", "rsa:abc"], 1);
    assert_eq!(kind, "invalid");
    assert!(message.contains("rsa:abc"), "{message}");

    let (kind, message) = env.fails(&["peer", "add", "other", "--fingerprint", FP_A], 1);
    assert_eq!(kind, "duplicate");
    assert_eq!(
        message,
        format!("peer \"other\": fingerprint {FP_A:?} is already registered to another peer")
    );
    let (kind, _) = env.fails(
        &[
            "peer",
            "add",
            "other",
            "--token",
            "t1-0123456789abcdef0123456789abcdef",
        ],
        1,
    );
    assert_eq!(kind, "duplicate");
    let (kind, message) = env.fails(&["peer", "add", "build-01"], 1);
    assert_eq!(kind, "duplicate");
    assert!(message.contains("build-01"), "{message}");

    let (kind, message) = env.fails(&["peer", "rm", "ghost"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("not_found", r#"peer "ghost" does not exist"#)
    );
    let (kind, _) = env.fails(&["peer", "update", "ghost", "--scope", "x"], 1);
    assert_eq!(kind, "not_found");
    let (kind, _) = env.fails(&["peer", "add", "x", "--resource", "repo"], 2);
    assert_eq!(kind, "usage");
    let (kind, _) = env.fails(&["peer", "resolve"], 2);
    assert_eq!(kind, "usage");
    let (kind, _) = env.fails(
        &[
            "peer",
            "resolve",
            "--fingerprint",
            FP_A,
            "--token",
            "t1-0123456789abcdef0123456789abcdef",
        ],
        2,
    );
    assert_eq!(kind, "usage");
    let (kind, _) = env.fails(&["apikey", "revoke", "no-such-key"], 1);
    assert_eq!(kind, "not_found");
    let (kind, _) = env.fails(
        &[
            "apikey",
            "create",
            "--name",
            "k",
            "--owner",
            "o",
            "--expires-at",
            "soon",
        ],
        2,
    );
    assert_eq!(kind, "usage");
}

#[test]
fn api_keys_print_their_token_once_and_stop_resolving_when_revoked() {
    let env = Env::init();
    // A key's owner must exist and hold what the key grants.
    env.ok(&[
        "peer",
        "add",
        "build-01",
        "--scope",
        "deploy",
        "--resource",
        "repo:write",
    ]);
    env.ok(&["peer", "add", "ada"]);
    let created = env.ok(&[
        "apikey",
        "create",
        "--name",
        "deploy script",
        "--owner",
        "build-01",
        "--scope",
        "deploy",
        "--resource",
        "repo:write",
        "--expires-at",
        "+30d",
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("alk_"), "{token}");
    assert_eq!(created["name"], "deploy script");
    assert_eq!(created["owner_id"], "build-01");
    assert_eq!(created["enabled"], true);
    assert!(created["expires_at"].as_i64().unwrap() > created["created_at"].as_i64().unwrap());

    // As text: the token once, with the warning.
    let text = env.text_ok(&["apikey", "create", "--name", "other", "--owner", "ada"]);
    assert!(text.contains("\ntoken: alk_"), "{text}");
    assert!(text.contains("will not be shown again"), "{text}");

    // Listing never shows a token.
    let listed = env.ok(&["apikey", "list"]);
    let keys = listed["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.get("token").is_none()));
    let text = env.text_ok(&["apikey", "list"]);
    assert!(!text.contains("alk_"), "{text}");
    assert!(
        text.contains(&id) && text.contains("\"deploy script\""),
        "{text}"
    );

    // The token resolves to the owner with the key's grant.
    let resolved = env.ok(&["peer", "resolve", "--token", &token]);
    assert_eq!(
        resolved,
        json!({"id": "build-01", "scopes": ["deploy"], "resources": {"repo": ["write"]}, "via": "token"})
    );

    let disabled = env.ok(&["apikey", "disable", &id]);
    assert_eq!(disabled["enabled"], false);
    env.fails(&["peer", "resolve", "--token", &token], 1);
    env.ok(&["apikey", "enable", &id]);
    env.ok(&["peer", "resolve", "--token", &token]);

    let revoked = env.ok(&["apikey", "revoke", &id]);
    assert!(revoked["revoked_at"].is_i64());
    let (kind, _) = env.fails(&["peer", "resolve", "--token", &token], 1);
    assert_eq!(kind, "not_found");
    assert!(env.text_ok(&["apikey", "list"]).contains("revoked"));
}

/// What `audit verify` adds when no trusted key was given.
const UNSIGNED: &str = "no trusted key given: checkpoint signatures were not checked, and a hash \
     chain without a checked checkpoint does not protect against someone who can rewrite the \
     file (they can recompute every hash); pass --trusted-key";

#[test]
fn audit_log_records_actors_and_its_chain_verifies() {
    let env = Env::init();
    assert_eq!(
        env.text_ok(&["audit", "verify"]),
        format!("audit chain intact (0 entries)\n{UNSIGNED}\n")
    );
    env.ok(&["--actor", "ops", "peer", "add", "build-01", "--scope", "ci"]);
    env.ok(&["acl", "principal", "add", "ada", "--type", "account"]);
    env.ok(&[
        "--actor",
        "alice",
        "acl",
        "principal",
        "add",
        "bob",
        "--type",
        "account",
    ]);
    let mut command = env.command(&[
        "--json", "apikey", "create", "--name", "k", "--owner", "bob",
    ]);
    command.env("ALKNET_GRAPHS_ACTOR", "from-env");
    assert!(command.output().unwrap().status.success());

    let log = env.ok(&["audit", "list"]);
    let entries = log["entries"].as_array().unwrap();
    let summary: Vec<(u64, Value, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["actor"].clone(),
                e["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, json!("ops"), "peer.create"),
            (2, Value::Null, "acl.principal.create"),
            (3, json!("alice"), "acl.principal.create"),
            (4, json!("from-env"), "api_key.create"),
        ]
    );
    assert_eq!(entries[0]["after"]["peer_id"], "build-01");
    let page = env.ok(&["audit", "list", "--after", "2", "--limit", "1"]);
    assert_eq!(page["entries"][0]["seq"], 3);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    let text = env.text_ok(&["audit", "list"]);
    assert!(
        text.contains("  ops  peer.create  peer \"build-01\""),
        "{text}"
    );

    assert_eq!(
        env.ok(&["audit", "verify"]),
        json!({
            "intact": true,
            "entries": 4,
            "redacted": [],
            "checkpoints": 0,
            "anchors": 0,
            "covered_through": 0,
            "signatures_checked": false,
            "break": null,
            "problems": [],
        })
    );
    assert_eq!(
        env.text_ok(&["audit", "verify"]),
        format!("audit chain intact (4 entries)\n{UNSIGNED}\n")
    );

    // Tamper with the first entry behind the library's back.
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'x' WHERE seq = 1;",
        )
        .unwrap();
    }
    let out = env.run(&["--json", "audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["break"]["seq"], 1);
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = utf8(&out.stdout);
    assert!(
        text.starts_with("audit chain broken: audit entry 1: "),
        "{text}"
    );
}

#[test]
fn verify_reports_a_clean_store_and_finds_damage() {
    let env = people();
    let report = env.ok(&["verify"]);
    assert_eq!(report["clean"], true);
    assert_eq!(report["problems"], json!([]));
    assert!(report["nodes_checked"].as_u64().unwrap() >= 3);
    assert!(report["graphs_checked"].as_u64().unwrap() >= 1);
    assert!(report["edges_checked"].is_u64());
    let text = env.text_ok(&["verify"]);
    assert!(text.starts_with("clean: "), "{text}");
    assert!(text.contains(" nodes, "), "{text}");

    // Ada's age below the schema's minimum, written behind the library's back.
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let changed = conn
            .execute(
                "UPDATE nodes SET attributes = '{\"name\": \"Ada\", \"age\": -5}' WHERE key = 'ada'",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let out = env.run(&["--json", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", utf8(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["clean"], false);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["kind"], "schema_violation");
    let message = problems[0]["message"].as_str().unwrap();
    assert!(
        message.contains("ada") && message.contains("/age"),
        "{message}"
    );

    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = utf8(&out.stdout);
    assert!(
        text.starts_with(&format!("schema_violation: {message}\n")),
        "{text}"
    );
    assert!(text.contains("1 problem: "), "{text}");

    // Not JSON at all.
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute(
            "UPDATE nodes SET attributes = '{\"x\":' WHERE key = 'bob'",
            [],
        )
        .unwrap();
    }
    let out = env.run(&["--json", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 2, "{report}");
}
