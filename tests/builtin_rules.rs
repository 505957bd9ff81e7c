//! The built-in graph types own their rules on every path: generic
//! metagraph writes, imports, petgraph saves, drops and type changes on
//! `acl`, `taskgraph` and `workflow` graphs are refused naming the rule;
//! the domain imports hold a whole document to the domain's rules; and
//! `verify` reports what only a write around the engine can leave.

mod common;

use alknet_graphs::acl::{Acl, Delegation, IdentityType, Membership, Principal};
use alknet_graphs::interop::{export_graphology, import_graphology, ImportOptions};
use alknet_graphs::taskgraph::{Status, Task, Taskgraphs};
use alknet_graphs::workflow::{Operation, Workflows};
use alknet_graphs::{verify, DropPolicy, Endpoints, GraphConfig, NewEdge, ProblemKind, Store};
use common::{raw_sql, rejected, snapshot, store};
use serde_json::{json, Value};

const ACL_RULE: &str = "the built-in ACL graph type is written only through the ACL, which keeps its key conventions, memberships only into orgs and roles, the delegator-holds check and the audit log; use `alknet-graphs acl …` (acl::Acl) instead";
const TASK_RULE: &str = "the built-in taskgraph graph type is written only through the taskgraph API, which keeps the task-status invariant (a task is ready exactly when every task it depends on is done, and only a ready task starts); use `alknet-graphs task …` (taskgraph::Taskgraphs) instead";
const WORKFLOW_RULE: &str = "the built-in workflow graph type is written only through the workflow API, which checks that every flows_to edge joins compatible schemas; use workflow::Workflows instead";

fn acl_fixture(store: &Store) -> Acl {
    let mut acl = Acl::open(store).unwrap();
    acl.add_principal(
        &Principal::new("root", IdentityType::Account).scopes(["repo:read", "admin"]),
    )
    .unwrap();
    acl.add_principal(&Principal::new("ada", IdentityType::Account))
        .unwrap();
    acl.add_principal(&Principal::new("eng", IdentityType::Org).scopes(["wiki"]))
        .unwrap();
    acl.delegate(&Delegation::new("root", "ada").scopes(["repo:read"]))
        .unwrap();
    acl
}

type GenericWrite = dyn Fn(&mut alknet_graphs::WriteTxn<'_>) -> alknet_graphs::Result<()>;

fn problems(store: &Store) -> Vec<(ProblemKind, String)> {
    verify(store)
        .unwrap()
        .problems()
        .iter()
        .map(|p| (p.kind, p.message.clone()))
        .collect()
}

// ---------------------------------------------------------------------------
// The ACL

#[test]
fn every_generic_write_to_the_acl_graph_is_refused_and_changes_nothing() {
    let (_dir, store) = store();
    let acl = acl_fixture(&store);
    let ada = acl.effective("ada").unwrap();
    let graph_rule = format!(r#"graph "acl": {ACL_RULE}"#);
    let writes: Vec<(&str, Box<GenericWrite>)> = vec![
        (
            "add a malformed resource",
            Box::new(|tx| {
                tx.add_node("acl", "repo", "resource", &json!({"resource_type": "repo"}))
            }),
        ),
        (
            "raise a principal",
            Box::new(|tx| {
                tx.patch_node("acl", "ada", &json!({"scopes": ["admin"]}))
                    .map(drop)
            }),
        ),
        (
            "replace a principal",
            Box::new(|tx| {
                tx.replace_node(
                    "acl",
                    "ada",
                    &json!({"identity_type": "account", "identity_id": "ada", "scopes": ["admin"]}),
                )
            }),
        ),
        (
            "remove a principal",
            Box::new(|tx| tx.remove_node("acl", "root")),
        ),
        (
            "delegate what the delegator does not hold",
            Box::new(|tx| {
                tx.add_edge(
                    "acl",
                    NewEdge::new("delegates", "ada", "eng")
                        .attributes(&json!({"narrowed_scopes": ["admin"]})),
                )
                .map(drop)
            }),
        ),
        (
            "lift a revocation",
            Box::new(|tx| {
                tx.patch_edge("acl", "delegates root ada", &json!({"revoked_at": null}))
                    .map(drop)
            }),
        ),
        (
            "remove a delegation unaudited",
            Box::new(|tx| tx.remove_edge("acl", "delegates root ada")),
        ),
        ("drop the ACL", Box::new(|tx| tx.drop_graph("acl"))),
    ];
    for (what, write) in writes {
        let err = rejected(&store, |tx| write(tx));
        assert!(err.is_protected(), "{what}: {err}");
        assert_eq!(err.kind(), "protected", "{what}");
        assert_eq!(err.to_string(), graph_rule, "{what}");
    }
    let acl = Acl::open(&store).unwrap();
    assert_eq!(
        acl.effective("ada").unwrap(),
        ada,
        "the grants are as before"
    );
    assert!(verify(&store).unwrap().is_clean());
}

#[test]
fn the_acl_types_cannot_be_changed_around_the_acl() {
    let (_dir, store) = store();
    acl_fixture(&store);
    let type_rule = |entity: &str| format!("{entity}: {ACL_RULE}");
    let err = rejected(&store, |tx| {
        tx.update_node_type("acl", "principal", &json!({}))
            .map(drop)
    });
    assert_eq!(
        err.to_string(),
        type_rule(r#"node type "principal" of graph type "acl""#)
    );
    let err = rejected(&store, |tx| {
        tx.define_edge_type("acl", "owns", &json!({}), &Endpoints::any())
            .map(drop)
    });
    assert_eq!(
        err.to_string(),
        type_rule(r#"edge type "owns" of graph type "acl""#)
    );
    let err = rejected(&store, |tx| {
        tx.drop_edge_type("acl", "delegates", DropPolicy::Cascade)
    });
    assert_eq!(
        err.to_string(),
        type_rule(r#"edge type "delegates" of graph type "acl""#)
    );
    let err = rejected(&store, |tx| {
        tx.update_graph_config("acl", GraphConfig::directed().allow_self_loops(true))
            .map(drop)
    });
    assert_eq!(err.to_string(), type_rule(r#"graph type "acl""#));
    let err = rejected(&store, |tx| tx.drop_graph_type("acl", DropPolicy::Cascade));
    assert_eq!(err.to_string(), type_rule(r#"graph type "acl""#));
    let err = rejected(&store, |tx| tx.create_graph("acl-2", "acl").map(drop));
    assert_eq!(err.to_string(), format!(r#"graph "acl-2": {ACL_RULE}"#));
}

#[test]
fn a_graph_type_cannot_take_a_built_in_name_before_its_domain_does() {
    let (_dir, store) = store();
    for name in ["acl", "taskgraph", "workflow"] {
        let err = rejected(&store, |tx| {
            tx.define_graph_type(name, GraphConfig::directed())
                .map(drop)
        });
        assert!(err.is_protected(), "{name}: {err}");
    }
}

#[test]
fn a_generic_graphology_import_into_the_acl_is_refused() {
    let (source_dir, source) = store();
    acl_fixture(&source);
    let doc = source.read(|r| export_graphology(r, "acl")).unwrap();
    drop(source_dir);
    let (_dir, store) = store();
    Acl::open(&store).unwrap();
    let err = rejected(&store, |tx| {
        tx.drop_graph("acl")?;
        import_graphology(tx, &doc, &ImportOptions::new()).map(drop)
    });
    assert!(err.is_protected(), "{err}");
    let err = rejected(&store, |tx| {
        import_graphology(tx, &doc, &ImportOptions::new().graph("elsewhere")).map(drop)
    });
    assert_eq!(err.to_string(), format!(r#"graph "elsewhere": {ACL_RULE}"#));
}

#[test]
fn the_acl_import_round_trips_and_is_audited() {
    let (_source_dir, source) = store();
    let original = acl_fixture(&source);
    let doc = source.read(|r| export_graphology(r, "acl")).unwrap();

    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.set_actor(Some("ops"));
    let done = acl.import_graphology(&doc, false).unwrap();
    assert_eq!((done.imported.nodes, done.imported.edges), (3, 1));
    assert!(!done.replaced);
    for id in ["root", "ada", "eng"] {
        assert_eq!(acl.effective(id), original.effective(id), "{id}");
    }
    let read = store.begin_read().unwrap();
    let entries = read.audit_log(0, 100).unwrap();
    let last = entries.last().expect("audited");
    assert_eq!(
        (
            last.action.as_str(),
            last.actor.as_deref(),
            last.entity.as_str()
        ),
        ("acl.import", Some("ops"), r#"graph "acl""#)
    );
    assert_eq!(last.before, None);
    let after: Value = serde_json::from_str(last.after.as_deref().unwrap()).unwrap();
    let digest: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(doc.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(
        after,
        json!({"nodes": 3, "edges": 1, "document_sha256": digest})
    );
    drop(read);

    // A second import needs `replace`, and records what it replaced.
    let err = acl.import_graphology(&doc, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"graph "acl": holds 3 principals and resources; import with replace to replace the whole ACL"#
    );
    let again = acl.import_graphology(&doc, true).unwrap();
    assert!(again.replaced);
    let read = store.begin_read().unwrap();
    let entries = read.audit_log(0, 100).unwrap();
    let before: Value =
        serde_json::from_str(entries.last().unwrap().before.as_deref().unwrap()).unwrap();
    assert_eq!(before, json!({"nodes": 3, "edges": 1}));
}

/// Imports `doc` as the ACL of a store holding the fixture, expecting a
/// refusal that changes nothing; returns its message.
fn acl_import_refused(doc: &Value) -> String {
    let (_dir, store) = store();
    let mut acl = acl_fixture(&store);
    let before = snapshot(&store);
    let err = acl.import_graphology(doc, true).unwrap_err();
    assert_eq!(
        snapshot(&store),
        before,
        "a refused import changed the store"
    );
    assert!(acl.effective("ada").unwrap().has_scope("repo:read"));
    err.to_string()
}

fn acl_doc(nodes: Value, edges: Value) -> Value {
    json!({"attributes": {"@graphType": "acl", "name": "acl"}, "nodes": nodes, "edges": edges})
}

fn principal(id: &str, kind: &str, scopes: Value) -> Value {
    json!({"key": id, "attributes": {"@type": "principal", "identity_type": kind, "identity_id": id, "scopes": scopes}})
}

#[test]
fn the_acl_import_holds_every_row_to_the_acls_rules() {
    // A delegation of what the delegator does not hold.
    let doc = acl_doc(
        json!([
            principal("ada", "account", json!(["repo:read"])),
            principal("bot", "service", json!([]))
        ]),
        json!([{"key": "delegates ada bot", "source": "ada", "target": "bot",
                "attributes": {"@type": "delegates", "narrowed_scopes": ["repo:read", "admin"]}}]),
    );
    assert_eq!(
        acl_import_refused(&doc),
        r#"edge "delegates ada bot" in graph "acl": delegator "ada" does not hold "admin""#
    );
    // Two delegations vouching for each other hold nothing.
    let doc = acl_doc(
        json!([
            principal("ada", "account", json!([])),
            principal("bot", "service", json!([]))
        ]),
        json!([
            {"key": "delegates ada bot", "source": "ada", "target": "bot",
             "attributes": {"@type": "delegates", "narrowed_scopes": ["admin"]}},
            {"key": "delegates bot ada", "source": "bot", "target": "ada",
             "attributes": {"@type": "delegates", "narrowed_scopes": ["admin"]}}
        ]),
    );
    assert_eq!(
        acl_import_refused(&doc),
        r#"edge "delegates ada bot" in graph "acl": delegator "ada" does not hold "admin""#
    );
    // A membership into an account.
    let doc = acl_doc(
        json!([
            principal("ada", "account", json!([])),
            principal("bob", "account", json!(["x"]))
        ]),
        json!([{"key": "belongs_to ada bob", "source": "ada", "target": "bob",
                "attributes": {"@type": "belongs_to"}}]),
    );
    assert_eq!(
        acl_import_refused(&doc),
        r#"edge "belongs_to ada bob" in graph "acl": group "bob" is an account; only an org or a role can have members"#
    );
    // A resource keyed against the convention.
    let doc = acl_doc(
        json!([{"key": "repo", "attributes": {"@type": "resource", "resource_type": "repo"}}]),
        json!([]),
    );
    assert_eq!(
        acl_import_refused(&doc),
        r#"node "repo" in graph "acl": a resource's key is "resource repo", from its resource_type and resource_id"#
    );
    // A principal keyed other than by its identity_id.
    let doc = acl_doc(
        json!([{"key": "ada", "attributes": {"@type": "principal", "identity_type": "account", "identity_id": "root"}}]),
        json!([]),
    );
    assert_eq!(
        acl_import_refused(&doc),
        r#"node "ada" in graph "acl": identity_id "root" differs from the node key; a principal's key is its identity_id"#
    );
    // A validity that is never in force.
    let doc = acl_doc(
        json!([
            principal("eng", "org", json!([])),
            principal("ada", "account", json!([]))
        ]),
        json!([{"key": "belongs_to ada eng", "source": "ada", "target": "eng",
                "attributes": {"@type": "belongs_to", "not_before": 20, "expires_at": 10}}]),
    );
    assert_eq!(
        acl_import_refused(&doc),
        r#"edge "belongs_to ada eng" in graph "acl": expires_at (10) is not after not_before (20); it would never be in force"#
    );
}

#[test]
fn an_export_whose_upstream_grants_have_lapsed_imports_again() {
    // root → ada was revoked and ada → bot has expired since ada passed
    // `repo:read` on: a faithful export of that history imports.
    let doc = acl_doc(
        json!([
            principal("root", "account", json!(["repo:read"])),
            principal("ada", "account", json!([])),
            principal("bot", "service", json!([]))
        ]),
        json!([
            {"key": "delegates root ada", "source": "root", "target": "ada",
             "attributes": {"@type": "delegates", "narrowed_scopes": ["repo:read"], "revoked_at": 5}},
            {"key": "delegates ada bot", "source": "ada", "target": "bot",
             "attributes": {"@type": "delegates", "narrowed_scopes": ["repo:read"], "expires_at": 9}}
        ]),
    );
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.import_graphology(&doc, false).unwrap();
    assert!(acl.effective("bot").unwrap().scopes.is_empty());
    assert!(acl.effective_at("bot", 4).unwrap().has_scope("repo:read"));
    // But a lapsed delegation of a scope no chain ever gave is refused.
    let mut forged = doc.clone();
    forged["edges"][1]["attributes"]["narrowed_scopes"] = json!(["repo:read", "admin"]);
    assert_eq!(
        acl_import_refused(&forged),
        r#"edge "delegates ada bot" in graph "acl": delegator "ada" does not hold "admin""#
    );
}

#[test]
fn verify_reports_acl_rows_written_around_the_engine() {
    let (_dir, store) = store();
    let mut acl = acl_fixture(&store);
    acl.add_membership(&Membership::new("ada", "eng")).unwrap();
    assert!(verify(&store).unwrap().is_clean());
    raw_sql(
        &store,
        r#"INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
             SELECT g.id, 'repo', t.id, '{"resource_type": "repo"}', 0, 0
               FROM graphs g JOIN node_types t ON t.graph_type_id = g.graph_type_id
              WHERE g.name = 'acl' AND t.name = 'resource';
           INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
             SELECT g.id, 'alice', t.id, '{"identity_type": "account", "identity_id": "mallory"}', 0, 0
               FROM graphs g JOIN node_types t ON t.graph_type_id = g.graph_type_id
              WHERE g.name = 'acl' AND t.name = 'principal';
           UPDATE nodes SET attributes = json_set(attributes, '$.identity_type', 'account')
            WHERE key = 'eng';"#,
    );
    assert_eq!(
        problems(&store),
        [
            (
                ProblemKind::Domain,
                r#"node "alice" in graph "acl": identity_id "mallory" differs from the node key; a principal's key is its identity_id"#.to_owned()
            ),
            (
                ProblemKind::Domain,
                r#"node "repo" in graph "acl": a resource's key is "resource repo", from its resource_type and resource_id"#.to_owned()
            ),
            (
                ProblemKind::Domain,
                r#"edge "belongs_to ada eng" in graph "acl": group "eng" is an account; only an org or a role can have members"#.to_owned()
            ),
        ]
    );
}

#[test]
fn verify_reports_a_usable_api_key_whose_owner_is_gone() {
    let (_dir, store) = store();
    acl_fixture(&store);
    raw_sql(
        &store,
        "INSERT INTO api_keys (uid, key_hash, name, owner_id, scopes, resources, created_at, updated_at)
         VALUES ('k1', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'k', 'root', '[]', '{}', 0, 0),
                ('k2', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'k', 'ghost', '[]', '{}', 0, 0),
                ('k3', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'k', 'ghost', '[]', '{}', 0, 0);
         UPDATE api_keys SET revoked_at = 1 WHERE uid = 'k3';",
    );
    assert_eq!(
        problems(&store),
        [(
            ProblemKind::Domain,
            r#"API key "k2": owner "ghost" is neither a peer nor an ACL principal, so the key resolves to nothing; revoke it"#.to_owned()
        )]
    );
}

// ---------------------------------------------------------------------------
// Taskgraphs

fn release(store: &Store) -> Taskgraphs {
    let tasks = Taskgraphs::open(store).unwrap();
    store
        .write(|tx| {
            tasks.create(tx, "release")?;
            tasks.add_task(tx, "release", "build", &Task::new())?;
            tasks.add_task(tx, "release", "test", &Task::new())?;
            tasks.add_dependency(tx, "release", "test", "build")?;
            Ok(())
        })
        .unwrap();
    tasks
}

#[test]
fn generic_writes_to_a_taskgraph_are_refused() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let rule = format!(r#"graph "release": {TASK_RULE}"#);
    // The case that let a task start before its dependency was done.
    let err = rejected(&store, |tx| {
        tx.patch_node("release", "test", &json!({"status": "ready"}))
            .map(drop)
    });
    assert_eq!(err.to_string(), rule);
    let err = rejected(&store, |tx| {
        tx.add_node("release", "ship", "task", &json!({"status": "ready"}))
    });
    assert_eq!(err.to_string(), rule);
    let err = rejected(&store, |tx| tx.remove_edge("release", "x"));
    assert_eq!(err.to_string(), rule);
    let err = rejected(&store, |tx| tx.drop_graph("release"));
    assert_eq!(err.to_string(), rule);
    let err = rejected(&store, |tx| {
        tx.update_node_type("taskgraph", "task", &json!({}))
            .map(drop)
    });
    assert_eq!(
        err.to_string(),
        format!(r#"node type "task" of graph type "taskgraph": {TASK_RULE}"#)
    );
    // The petgraph round trip is a generic write too.
    let mut pg = store
        .read(|r| {
            alknet_graphs::interop::load_petgraph(
                r,
                "release",
                &alknet_graphs::interop::Subgraph::all(),
            )
        })
        .unwrap();
    for weight in pg.graph.node_weights_mut() {
        weight.attributes.insert("status".into(), json!("ready"));
    }
    let err = rejected(&store, |tx| {
        alknet_graphs::interop::save_petgraph(tx, &pg).map(drop)
    });
    assert!(err.is_protected(), "{err}");
    assert_eq!(
        store.read(|r| tasks.status(r, "release", "test")).unwrap(),
        Status::Pending
    );
    // The taskgraph's own drop goes through.
    store.write(|tx| tasks.drop_graph(tx, "release")).unwrap();
    assert!(store.read(|r| r.graph("release")).unwrap().is_none());
}

fn task_doc(nodes: Value, edges: Value) -> Value {
    json!({"attributes": {"name": "release"}, "nodes": nodes, "edges": edges})
}

#[test]
fn the_taskgraph_import_restores_the_ready_invariant_and_refuses_early_starts() {
    let (_dir, store) = store();
    let tasks = Taskgraphs::open(&store).unwrap();
    let doc = task_doc(
        json!([
            {"key": "build", "attributes": {"status": "done"}},
            {"key": "lint", "attributes": {"status": "pending"}},
            {"key": "test", "attributes": {"status": "ready"}}
        ]),
        json!([{"source": "test", "target": "lint"}]),
    );
    let (imported, promoted) = store
        .write(|tx| tasks.import_graphology(tx, &doc, &ImportOptions::new()))
        .unwrap();
    assert_eq!((imported.nodes, imported.edges), (3, 1));
    assert_eq!(promoted, ["lint"]);
    let status = |key| store.read(|r| tasks.status(r, "release", key)).unwrap();
    assert_eq!(
        status("test"),
        Status::Pending,
        "its dependency is not done"
    );
    assert!(verify(&store).unwrap().is_clean());

    for started in ["running", "done", "failed"] {
        let doc = task_doc(
            json!([
                {"key": "build", "attributes": {"status": "pending"}},
                {"key": "dep", "attributes": {"status": "running"}},
                {"key": "ship", "attributes": {"status": started}}
            ]),
            json!([{"source": "ship", "target": "dep"}, {"source": "dep", "target": "build"}]),
        );
        let options = ImportOptions::new().graph("early");
        let err = rejected(&store, |tx| tasks.import_graphology(tx, &doc, &options));
        assert_eq!(
            err.to_string(),
            r#"node "dep" in graph "early": is running, but it depends on "build", which is ready, not done"#,
            "{started}"
        );
    }
}

#[test]
fn verify_reports_a_task_status_written_around_the_engine() {
    let (_dir, store) = store();
    release(&store);
    raw_sql(
        &store,
        r#"UPDATE nodes SET attributes = json_set(attributes, '$.status', 'running') WHERE key = 'test';"#,
    );
    assert_eq!(
        problems(&store),
        [(
            ProblemKind::Domain,
            r#"node "test" in graph "release": is running, but it depends on "build", which is ready, not done"#.to_owned()
        )]
    );
    raw_sql(
        &store,
        r#"UPDATE nodes SET attributes = json_set(attributes, '$.status', 'pending') WHERE key IN ('test', 'build');"#,
    );
    assert_eq!(
        problems(&store),
        [(
            ProblemKind::Domain,
            r#"node "build" in graph "release": is pending, but every task it depends on is done; it should be ready"#.to_owned()
        )]
    );
}

// ---------------------------------------------------------------------------
// Workflows

fn op(input: Value, output: Value) -> Operation {
    Operation::new(input, output)
}

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
                    json!({}),
                    json!({"properties": {"body": {}}, "required": ["body"]}),
                ),
            )?;
            flows.add_operation(
                tx,
                "etl",
                "parse",
                &op(json!({"required": ["body"]}), json!({})),
            )?;
            flows.connect_as(tx, "etl", "f-p", "fetch", "parse")
        })
        .unwrap();
    flows
}

#[test]
fn generic_writes_to_a_workflow_are_refused_and_its_own_api_removes() {
    let (_dir, store) = store();
    let flows = etl(&store);
    let err = rejected(&store, |tx| {
        tx.add_edge("etl", NewEdge::new("flows_to", "parse", "fetch"))
            .map(drop)
    });
    assert_eq!(err.to_string(), format!(r#"graph "etl": {WORKFLOW_RULE}"#));
    store
        .write(|tx| flows.disconnect(tx, "etl", "f-p"))
        .unwrap();
    store
        .write(|tx| flows.remove_operation(tx, "etl", "parse"))
        .unwrap();
    assert_eq!(store.read(|r| r.node_count("etl")).unwrap(), 1);
    store.write(|tx| flows.drop_graph(tx, "etl")).unwrap();
    assert!(store.read(|r| r.graph("etl")).unwrap().is_none());
}

#[test]
fn the_workflow_import_refuses_incompatible_flows() {
    let (_dir, store) = store();
    let flows = etl(&store);
    let mut doc = store.read(|r| export_graphology(r, "etl")).unwrap();
    let options = ImportOptions::new().graph("copy");
    let imported = store
        .write(|tx| flows.import_graphology(tx, &doc, &options))
        .unwrap();
    assert_eq!((imported.nodes, imported.edges), (2, 1));
    // The source no longer provides what its target needs.
    doc["nodes"][0]["attributes"]["output"] = json!({});
    let options = ImportOptions::new().graph("broken");
    let err = rejected(&store, |tx| {
        flows.import_graphology(tx, &doc, &options).map(drop)
    });
    assert_eq!(
        err.to_string(),
        r#"edge "f-p" in graph "broken": operation "parse" needs input properties that "fetch" does not provide: "body" (missing)"#
    );
}

#[test]
fn verify_reports_identity_rows_the_registry_cannot_read() {
    use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store)
        .unwrap();
    ids.insert_peer(
        PeerEntry::new("p1")
            .fingerprint(common::fp(1))
            .scopes(["s"]),
    )
    .unwrap();
    assert!(verify(&store).unwrap().is_clean());
    raw_sql(
        &store,
        "UPDATE peers SET scopes = 'not json' WHERE peer_id = 'p1'",
    );
    // The registry cannot load it, so nothing may call the store clean.
    assert!(SqliteIdentityProvider::open(&store).is_err());
    assert_eq!(
        problems(&store),
        [(
            ProblemKind::Identity,
            r#"peer "p1": corrupt peers.scopes: expected ident at line 1 column 2"#.to_owned()
        )]
    );
}
