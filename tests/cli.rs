//! The `alknet-graphs` binary end to end: each command's output (mostly as
//! `--json`), its exit codes, and that rejected input changes nothing.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_alknet-graphs");

/// A store in a temporary directory, and the binary pointed at it.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("store.db");
        Env { dir, db }
    }

    /// A fresh store with the built-in types.
    fn init() -> Env {
        let env = Env::new();
        env.ok(&["init"]);
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_remove("ALKNET_GRAPHS_DB")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run the binary")
    }

    /// Runs with `--json`, expects exit 0, and parses stdout.
    fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: stdout {} stderr {}",
            utf8(&out.stdout),
            utf8(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", utf8(&out.stdout)))
    }

    /// Runs without `--json`, expects exit 0, and returns stdout.
    fn text_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: stderr {}",
            utf8(&out.stderr)
        );
        utf8(&out.stdout)
    }

    /// Runs with `--json`, expects `code`, and returns the error report's
    /// kind and message; then runs it again as text and checks the one-line
    /// `error: …` on stderr says the same. The store must not change.
    fn fails(&self, args: &[&str], code: i32) -> (String, String) {
        let before = dump(&self.db);
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            utf8(&out.stdout)
        );
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", utf8(&out.stdout)));
        let kind = report["error"]["kind"].as_str().expect("kind").to_owned();
        let message = report["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned();
        let human = self.run(args);
        assert_eq!(human.status.code(), Some(code), "{args:?}");
        assert!(human.stdout.is_empty(), "{args:?}: {}", utf8(&human.stdout));
        if code != 2 {
            // One error line, last (a command may print a notice first).
            let stderr = utf8(&human.stderr);
            assert!(
                stderr.ends_with(&format!("error: {message}\n")),
                "{args:?}: {stderr}"
            );
            assert_eq!(stderr.matches("error: ").count(), 1, "{args:?}: {stderr}");
        }
        assert_eq!(dump(&self.db), before, "{args:?} changed the store");
        (kind, message)
    }
}

fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every row of every table, as text: equal dumps mean an unchanged store.
fn dump(db: &Path) -> String {
    if !db.exists() {
        return "(no file)".to_owned();
    }
    let conn = rusqlite::Connection::open(db).expect("open for dump");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        out.push_str(&format!("== {table}\n"));
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{table}\"")))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                out.push_str(&format!("{:?}|", row.get_ref(i).unwrap()));
            }
            out.push('\n');
        }
    }
    out
}

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
    assert_eq!(out["schema_version"], 1);
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
        text.starts_with("opened ") && text.contains("schema version 1"),
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
    assert_eq!(kind, "invalid");
    assert!(
        message.starts_with(r#"graph "bad": graphology document at /nodes/0/attributes"#),
        "{message}"
    );
    env.write("not-json.json", "[1, 2");
    let (kind, _) = env.fails(&["import", "--graph", "x", "not-json.json"], 1);
    assert_eq!(kind, "invalid_json");
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
    assert!(report["files"]["acl_dot"]
        .as_str()
        .unwrap()
        .ends_with("acl.dot"));
}
