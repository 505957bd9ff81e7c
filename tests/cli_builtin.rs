//! Through the binary: the generic commands (`node`, `edge`, `graph drop`,
//! `import`) cannot break the rules of the built-in `acl` and `taskgraph`
//! graphs, and `verify` reports what a write around the engine left.

mod common;

use common::cli::Env;
use serde_json::{json, Value};

const ACL_RULE: &str = "the built-in ACL graph type is written only through the ACL, which keeps its key conventions, memberships only into orgs and roles, the delegator-holds check and the audit log; use `alknet-graphs acl …` (acl::Acl) instead";
const TASK_RULE: &str = "the built-in taskgraph graph type is written only through the taskgraph API, which keeps the task-status invariant (a task is ready exactly when every task it depends on is done, and only a ready task starts); use `alknet-graphs task …` (taskgraph::Taskgraphs) instead";

fn acl_env() -> Env {
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
    ]);
    env.ok(&["acl", "principal", "add", "ada", "--type", "account"]);
    env.ok(&["acl", "member", "add", "ada", "eng"]);
    env
}

fn protected(env: &Env, args: &[&str], graph: &str, rule: &str) {
    let (kind, message) = env.fails(args, 1);
    assert_eq!(kind, "protected", "{args:?}");
    assert_eq!(message, format!("graph {graph:?}: {rule}"), "{args:?}");
}

#[test]
fn generic_commands_cannot_write_the_acl() {
    let env = acl_env();
    // The malformed resource that used to break every acl, peer and apikey
    // command.
    protected(
        &env,
        &[
            "node",
            "add",
            "--graph",
            "acl",
            "--type",
            "resource",
            "repo",
            "--attrs",
            r#"{"resource_type":"repo"}"#,
        ],
        "acl",
        ACL_RULE,
    );
    protected(
        &env,
        &[
            "node",
            "update",
            "--graph",
            "acl",
            "ada",
            "--merge",
            "--attrs",
            r#"{"scopes":["admin"]}"#,
        ],
        "acl",
        ACL_RULE,
    );
    protected(
        &env,
        &[
            "edge",
            "add",
            "--graph",
            "acl",
            "--type",
            "delegates",
            "ada",
            "eng",
            "--attrs",
            r#"{"narrowed_scopes":["admin"]}"#,
        ],
        "acl",
        ACL_RULE,
    );
    protected(
        &env,
        &["node", "rm", "--graph", "acl", "eng"],
        "acl",
        ACL_RULE,
    );
    protected(&env, &["graph", "drop", "acl"], "acl", ACL_RULE);
    // Everything else still works, and the file verifies clean.
    env.ok(&["acl", "principal", "add", "ci", "--type", "service"]);
    assert_eq!(
        env.ok(&["acl", "effective", "ada"])["scopes"],
        json!(["repo:read"])
    );
    assert_eq!(env.ok(&["verify"])["clean"], true);
}

#[test]
fn the_acl_imports_through_its_rules_and_its_audit_log() {
    let env = acl_env();
    env.ok(&["export", "--graph", "acl", "--out", "acl.json"]);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("acl.json")).unwrap()).unwrap();

    // A delegation of a scope its delegator does not hold.
    let mut forged = doc.clone();
    // Beside the membership ada → eng: a multigraph to graphology.
    forged["options"]["multi"] = json!(true);
    forged["edges"].as_array_mut().unwrap().push(json!({
        "key": "delegates ada eng", "source": "ada", "target": "eng",
        "attributes": {"@type": "delegates", "narrowed_scopes": ["admin"]}
    }));
    env.write("forged.json", &forged.to_string());
    let (kind, message) = env.fails(&["import", "--graph", "acl", "--replace", "forged.json"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"edge "delegates ada eng" in graph "acl": delegator "ada" does not hold "admin""#
    );
    // Only into the graph `acl`.
    let (_, message) = env.fails(&["import", "--graph", "acl-copy", "acl.json"], 1);
    assert_eq!(
        message,
        r#"graph "acl-copy": the document is an ACL (graph type "acl"); the ACL lives in graph "acl": import it with --graph acl"#
    );

    // A faithful copy imports, audited under the actor.
    let other = Env::init();
    std::fs::copy(env.path("acl.json"), other.path("acl.json")).unwrap();
    let imported = other.ok(&["--actor", "ops", "import", "--graph", "acl", "acl.json"]);
    assert_eq!(
        (imported["nodes"].clone(), imported["edges"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(
        other.ok(&["acl", "effective", "ada"])["scopes"],
        json!(["repo:read"])
    );
    let log = other.ok(&["audit", "list"]);
    let last = log["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["action"].clone(),
            last["actor"].clone(),
            last["entity"].clone()
        ),
        (json!("acl.import"), json!("ops"), json!(r#"graph "acl""#))
    );
    assert_eq!(other.ok(&["audit", "verify"])["intact"], true);
}

#[test]
fn generic_commands_cannot_break_the_task_status_invariant() {
    let env = Env::init();
    env.ok(&["task", "create", "--graph", "release"]);
    env.ok(&["task", "add", "--graph", "release", "build"]);
    env.ok(&[
        "task",
        "add",
        "--graph",
        "release",
        "test",
        "--depends-on",
        "build",
    ]);
    protected(
        &env,
        &[
            "node",
            "add",
            "--graph",
            "release",
            "--type",
            "task",
            "ship",
            "--attrs",
            r#"{"status":"ready"}"#,
        ],
        "release",
        TASK_RULE,
    );
    protected(
        &env,
        &[
            "node",
            "update",
            "--graph",
            "release",
            "test",
            "--merge",
            "--attrs",
            r#"{"status":"ready"}"#,
        ],
        "release",
        TASK_RULE,
    );
    // `task update` changes a task's attributes and keeps its status.
    let updated = env.ok(&[
        "task",
        "update",
        "--graph",
        "release",
        "test",
        "--duration",
        "4",
    ]);
    assert_eq!(updated["status"], "pending");
    assert_eq!(
        env.ok(&["node", "get", "--graph", "release", "test"])["attributes"],
        json!({"status": "pending", "duration": 4.0})
    );
    // So `test` cannot start before `build` is done.
    let (_, message) = env.fails(
        &["task", "status", "--graph", "release", "test", "running"],
        1,
    );
    assert!(message.contains("cannot change status"), "{message}");

    // An import that starts a task too early is refused.
    env.write(
        "early.json",
        &json!({
            "attributes": {"@graphType": "taskgraph", "name": "early"},
            "nodes": [
                {"key": "build", "attributes": {"status": "pending"}},
                {"key": "test", "attributes": {"status": "running"}}
            ],
            "edges": [{"source": "test", "target": "build"}]
        })
        .to_string(),
    );
    let (_, message) = env.fails(&["import", "early.json"], 1);
    assert_eq!(
        message,
        r#"node "test" in graph "early": is running, but it depends on "build", which is ready, not done"#
    );
    // A taskgraph is replaced through its own API, and dropped the same way
    // by `graph drop`.
    env.ok(&["export", "--graph", "release", "--out", "release.json"]);
    let replaced = env.ok(&["import", "--graph", "release", "--replace", "release.json"]);
    assert_eq!(
        (replaced["replaced"].clone(), replaced["nodes"].clone()),
        (json!(true), json!(2))
    );
    env.ok(&["graph", "drop", "release"]);
    assert_eq!(env.ok(&["verify"])["clean"], true);
}

#[test]
fn verify_fails_on_an_acl_row_written_around_the_engine() {
    let env = acl_env();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch(
        r#"INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
             SELECT g.id, 'repo', t.id, '{"resource_type": "repo"}', 0, 0
               FROM graphs g JOIN node_types t ON t.graph_type_id = g.graph_type_id
              WHERE g.name = 'acl' AND t.name = 'resource';"#,
    )
    .unwrap();
    drop(conn);
    let out = env.run(&["--json", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["clean"], false);
    assert_eq!(
        report["problems"],
        json!([{
            "kind": "domain",
            "message": r#"node "repo" in graph "acl": a resource's key is "resource repo", from its resource_type and resource_id"#
        }])
    );
}

#[test]
fn a_workflow_imports_replaces_and_drops_through_its_own_rules() {
    let env = Env::init();
    let doc = |output: Value| {
        json!({
            "attributes": {"@graphType": "workflow", "name": "etl"},
            "nodes": [
                {"key": "fetch", "attributes": {"input": {}, "output": output}},
                {"key": "parse", "attributes": {"input": {"required": ["body"]}, "output": {}}}
            ],
            "edges": [{"key": "f-p", "source": "fetch", "target": "parse"}]
        })
        .to_string()
    };
    env.write(
        "etl.json",
        &doc(json!({"properties": {"body": {}}, "required": ["body"]})),
    );
    env.write("broken.json", &doc(json!({})));
    assert_eq!(env.ok(&["import", "etl.json"])["nodes"], 2);
    let (_, message) = env.fails(&["import", "--replace", "broken.json"], 1);
    assert_eq!(
        message,
        r#"edge "f-p" in graph "etl": operation "parse" needs input properties that "fetch" does not provide: "body" (missing)"#
    );
    assert_eq!(
        env.ok(&["import", "--replace", "etl.json"])["replaced"],
        true
    );
    protected(
        &env,
        &["edge", "add", "--graph", "etl", "--type", "flows_to", "parse", "fetch"],
        "etl",
        "the built-in workflow graph type is written only through the workflow API, which checks that every flows_to edge joins compatible schemas; use workflow::Workflows instead",
    );
    env.ok(&["graph", "drop", "etl"]);
    assert_eq!(env.ok(&["verify"])["clean"], true);
}
