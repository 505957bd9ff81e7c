//! `verify`: a clean store verifies clean, and each kind of damage it claims
//! to detect, made by raw SQL behind the library's back, is reported with
//! its kind and a message naming the entity.

mod common;

use alknet_graphs::{verify, Endpoints, GraphConfig, NewEdge, Problem, ProblemKind, Store};
use common::people;
use rusqlite::Connection;
use serde_json::json;

/// Four graph types: `people` (directed, no self-loops; graphs `acme` and
/// `globex`), `pipeline` (acyclic; graph `release`), `net` (undirected;
/// graph `lan`) and `flows` (multi, self-loops allowed; graph `f`).
fn fixture() -> (tempfile::TempDir, Store) {
    let (dir, store) = common::store();
    people(&store, GraphConfig::directed().allow_self_loops(false));
    store
        .write(|tx| {
            tx.add_edge(
                "acme",
                NewEdge::new("member_of", "ada", "eng")
                    .key("ada-eng")
                    .attributes(&json!({"since": 2020})),
            )?;
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("ada-bob"))?;
            tx.create_graph("globex", "people")?;
            tx.add_node("globex", "cy", "person", &json!({"name": "Cy"}))?;

            // Made acyclic after its edges exist, so the kept order is
            // established from them rather than grown edge by edge.
            tx.define_graph_type("pipeline", GraphConfig::directed())?;
            tx.define_node_type(
                "pipeline",
                "step",
                &json!({
                    "type": "object",
                    "properties": {"status": {"enum": ["pending", "running", "done"]}},
                    "required": ["status"]
                }),
            )?;
            tx.define_edge_type(
                "pipeline",
                "then",
                &json!({}),
                &Endpoints::between(&["step"], &["step"]),
            )?;
            tx.create_graph("release", "pipeline")?;
            for key in ["ship", "test", "build"] {
                tx.add_node("release", key, "step", &json!({"status": "pending"}))?;
            }
            tx.add_edge("release", NewEdge::new("then", "build", "test").key("b-t"))?;
            tx.update_graph_config("pipeline", GraphConfig::directed().acyclic(true))?;
            tx.add_edge("release", NewEdge::new("then", "test", "ship").key("t-s"))?;
            tx.patch_node("release", "build", &json!({"status": "done"}))?;

            tx.define_graph_type("net", GraphConfig::undirected())?;
            tx.define_node_type("net", "host", &json!({"type": "object"}))?;
            tx.define_edge_type("net", "link", &json!({}), &Endpoints::any())?;
            tx.create_graph("lan", "net")?;
            for key in ["h1", "h2", "h3", "gone"] {
                tx.add_node("lan", key, "host", &json!({}))?;
            }
            tx.add_edge("lan", NewEdge::new("link", "h1", "h2").key("h1-h2"))?;
            tx.add_edge("lan", NewEdge::new("link", "h2", "h3").key("h2-h3"))?;
            tx.add_edge("lan", NewEdge::new("link", "h3", "gone").key("h3-gone"))?;
            tx.remove_node("lan", "gone")?;

            tx.define_graph_type("flows", GraphConfig::directed().multi(true))?;
            tx.define_node_type("flows", "n", &json!({}))?;
            tx.define_edge_type("flows", "to", &json!({}), &Endpoints::any())?;
            tx.create_graph("f", "flows")?;
            tx.add_node("f", "a", "n", &json!({}))?;
            tx.add_node("f", "b", "n", &json!({}))?;
            tx.add_edge("f", NewEdge::new("to", "a", "b").key("a-b-1"))?;
            tx.add_edge("f", NewEdge::new("to", "a", "b").key("a-b-2"))?;
            tx.add_edge("f", NewEdge::new("to", "a", "a").key("a-a"))?;
            Ok(())
        })
        .expect("fixture");
    (dir, store)
}

/// A connection to the store's file that bypasses the library, with
/// foreign keys off so that damage can be made.
fn raw(store: &Store) -> Connection {
    let conn = Connection::open(store.path()).expect("open raw");
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 5000;")
        .expect("pragmas");
    conn
}

/// The fixture damaged by `sql`, then verified.
fn damaged(sql: &str) -> Vec<Problem> {
    let (_dir, store) = fixture();
    raw(&store).execute_batch(sql).expect("damage");
    let report = verify(&store).expect("verify runs on a damaged store");
    assert!(!report.is_clean(), "damage not detected: {sql}");
    report.problems().to_vec()
}

fn messages(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.message.as_str()).collect()
}

/// Asserts the problems are exactly `expected` (kind and message), in order.
fn assert_problems(problems: &[Problem], expected: &[(ProblemKind, &str)]) {
    let found: Vec<(ProblemKind, &str)> = problems
        .iter()
        .map(|p| (p.kind, p.message.as_str()))
        .collect();
    assert_eq!(found, expected);
}

/// Asserts there is exactly one problem, of `kind`, whose message starts
/// with `prefix`.
fn assert_one(problems: &[Problem], kind: ProblemKind, prefix: &str) {
    assert_eq!(problems.len(), 1, "{:#?}", messages(problems));
    assert_eq!(problems[0].kind, kind, "{}", problems[0]);
    assert!(
        problems[0].message.starts_with(prefix),
        "{:?} does not start with {prefix:?}",
        problems[0].message
    );
}

const ID_OF_NODE: &str = "(SELECT n.id FROM nodes n JOIN graphs g ON g.id = n.graph_id";

#[test]
fn a_clean_store_verifies_clean() {
    let (_dir, store) = fixture();
    let report = verify(&store).unwrap();
    assert!(report.is_clean(), "{:#?}", messages(report.problems()));
    assert!(report.problems().is_empty());
    assert_eq!(report.graphs_checked(), 5);
    assert_eq!(report.nodes_checked(), 3 + 1 + 3 + 3 + 2);
    assert_eq!(report.edges_checked(), 2 + 2 + 2 + 3);
}

#[test]
fn an_empty_store_verifies_clean() {
    let (_dir, store) = common::store();
    let report = verify(&store).unwrap();
    assert!(report.is_clean(), "{:#?}", messages(report.problems()));
    assert_eq!(
        (
            report.graphs_checked(),
            report.nodes_checked(),
            report.edges_checked()
        ),
        (0, 0, 0)
    );
}

#[test]
fn a_node_that_violates_its_schema() {
    let problems =
        damaged(r#"UPDATE nodes SET attributes = '{"name": "", "age": -1}' WHERE key = 'ada'"#);
    assert_eq!(problems.len(), 1, "{:#?}", messages(&problems));
    assert_eq!(problems[0].kind, ProblemKind::SchemaViolation);
    let message = &problems[0].message;
    assert!(
        message.starts_with(r#"node "ada" in graph "acme": attribute /name: "#),
        "{message}"
    );
    assert!(message.contains("; attribute /age: "), "{message}");
}

#[test]
fn an_edge_that_violates_its_schema() {
    let problems =
        damaged(r#"UPDATE edges SET attributes = '{"since": "last year"}' WHERE key = 'ada-eng'"#);
    assert_one(
        &problems,
        ProblemKind::SchemaViolation,
        r#"edge "ada-eng" in graph "acme": attribute /since: "last year" is not of type "integer""#,
    );
}

#[test]
fn malformed_or_non_object_attributes() {
    let problems = damaged(
        r#"UPDATE nodes SET attributes = '{"name": "Ada"' WHERE key = 'ada';
           UPDATE edges SET attributes = '[1, 2]' WHERE key = 'ada-bob';
           UPDATE nodes SET attributes = X'7B7D' WHERE key = 'h1';"#,
    );
    assert_eq!(problems.len(), 3, "{:#?}", messages(&problems));
    assert!(problems
        .iter()
        .all(|p| p.kind == ProblemKind::SchemaViolation));
    let mut messages = messages(&problems);
    messages.sort();
    assert_eq!(
        messages[0],
        r#"edge "ada-bob" in graph "acme": attributes are a JSON array, not a JSON object"#
    );
    assert_eq!(
        messages[1],
        r#"node "ada" in graph "acme": attributes are not valid JSON: EOF while parsing an object at line 1 column 14"#
    );
    assert_eq!(
        messages[2],
        r#"node "h1" in graph "lan": attributes are an SQL blob, not a JSON object"#
    );
}

#[test]
fn a_cycle_in_an_acyclic_graph() {
    let problems = damaged(&format!(
        "INSERT INTO edges (graph_id, key, edge_type_id, source, target, attributes, created_at, updated_at)
         SELECT e.graph_id, 'back', e.edge_type_id,
                {ID_OF_NODE} WHERE g.name = 'release' AND n.key = 'ship'),
                {ID_OF_NODE} WHERE g.name = 'release' AND n.key = 'build'),
                '{{}}', 0, 0
           FROM edges e WHERE e.key = 'b-t'"
    ));
    assert_problems(
        &problems,
        &[(
            ProblemKind::Cycle,
            r#"graph "release": has the cycle "ship" -> "build" -> "test" -> "ship", which graph type "pipeline" (acyclic) forbids"#,
        )],
    );
}

#[test]
fn a_self_loop_in_an_acyclic_graph_is_a_cycle() {
    let problems = damaged(
        "INSERT INTO edges (graph_id, key, edge_type_id, source, target, attributes, created_at, updated_at)
         SELECT graph_id, 'again', edge_type_id, source, source, '{}', 0, 0 FROM edges WHERE key = 'b-t'",
    );
    assert_problems(
        &problems,
        &[(
            ProblemKind::Cycle,
            r#"graph "release": has the cycle "build" -> "build", which graph type "pipeline" (acyclic) forbids"#,
        )],
    );
}

#[test]
fn a_kept_topological_order_out_of_step_with_the_edges() {
    let problems =
        damaged("UPDATE nodes SET topo = 1000000 WHERE key = 'build' AND graph_id = (SELECT id FROM graphs WHERE name = 'release')");
    assert_problems(
        &problems,
        &[(
            ProblemKind::Structure,
            r#"edge "b-t" in graph "release": its source "build" comes after its target "test" in the graph's kept topological order"#,
        )],
    );
}

#[test]
fn a_deleted_endpoint_is_dangling_and_a_foreign_key_violation() {
    let (_dir, store) = fixture();
    let conn = raw(&store);
    let (edge_row, node_row): (i64, i64) = conn
        .query_row(
            "SELECT id, target FROM edges WHERE key = 'ada-eng'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    conn.execute("DELETE FROM nodes WHERE id = ?1", [node_row])
        .unwrap();
    let report = verify(&store).unwrap();
    assert_problems(
        report.problems(),
        &[
            (
                ProblemKind::ForeignKey,
                &format!(
                    r#"edge "ada-eng" in graph "acme" (edges row {edge_row}): target refers to nodes row {node_row}, which does not exist"#
                ),
            ),
            (
                ProblemKind::DanglingEndpoint,
                &format!(
                    r#"edge "ada-eng" in graph "acme": its target node (nodes row {node_row}) does not exist"#
                ),
            ),
        ],
    );
}

#[test]
fn an_edge_whose_endpoint_is_in_another_graph() {
    let problems = damaged(&format!(
        "UPDATE edges SET target = {ID_OF_NODE} WHERE g.name = 'globex' AND n.key = 'cy')
          WHERE key = 'ada-bob'"
    ));
    assert_problems(
        &problems,
        &[(
            ProblemKind::DanglingEndpoint,
            r#"edge "ada-bob" in graph "acme": its target node "cy" is in graph "globex", not in the edge's graph"#,
        )],
    );
}

#[test]
fn an_endpoint_of_a_type_the_edge_type_does_not_allow() {
    let problems = damaged(&format!(
        "UPDATE edges SET target = {ID_OF_NODE} WHERE g.name = 'acme' AND n.key = 'bob')
          WHERE key = 'ada-eng'"
    ));
    assert_problems(
        &problems,
        &[(
            ProblemKind::Structure,
            r#"edge "ada-eng" in graph "acme": target node "bob" is of node type "person", which edge type "member_of" does not allow as its target"#,
        )],
    );
}

#[test]
fn a_self_loop_where_the_graph_type_forbids_them() {
    let problems = damaged(
        "INSERT INTO edges (graph_id, key, edge_type_id, source, target, attributes, created_at, updated_at)
         SELECT graph_id, 'ada-ada', edge_type_id, source, source, '{}', 0, 0 FROM edges WHERE key = 'ada-bob'",
    );
    assert_problems(
        &problems,
        &[(
            ProblemKind::Structure,
            r#"edge "ada-ada" in graph "acme": self-loop on node "ada": graph type "people" does not allow self-loops"#,
        )],
    );
}

#[test]
fn parallel_edges_where_the_graph_type_is_not_multi() {
    let problems = damaged(
        "INSERT INTO edges (graph_id, key, edge_type_id, source, target, attributes, created_at, updated_at)
         SELECT graph_id, 'ada-bob-again', edge_type_id, source, target, '{}', 0, 0 FROM edges WHERE key = 'ada-bob';
         -- Undirected: the same link stored the other way round.
         INSERT INTO edges (graph_id, key, edge_type_id, source, target, undirected, attributes, created_at, updated_at)
         SELECT graph_id, 'h2-h1', edge_type_id, target, source, 1, '{}', 0, 0 FROM edges WHERE key = 'h1-h2';",
    );
    assert_problems(
        &problems,
        &[
            (
                ProblemKind::Structure,
                r#"edge "ada-bob-again" in graph "acme": parallel to edge "ada-bob" ("knows" from "ada" to "bob"); graph type "people" does not allow parallel edges"#,
            ),
            (
                ProblemKind::Structure,
                r#"edge "h2-h1" in graph "lan": parallel to edge "h1-h2" ("link" from "h2" to "h1"); graph type "net" does not allow parallel edges"#,
            ),
        ],
    );
}

#[test]
fn edges_against_the_graph_types_direction() {
    let problems = damaged(
        "UPDATE edges SET undirected = 1 WHERE key = 'ada-bob';
         UPDATE edges SET undirected = 0 WHERE key = 'h2-h3';",
    );
    assert_problems(
        &problems,
        &[
            (
                ProblemKind::Structure,
                r#"edge "ada-bob" in graph "acme": graph type "people" is directed; undirected edges are not allowed"#,
            ),
            (
                ProblemKind::Structure,
                r#"edge "h2-h3" in graph "lan": graph type "net" is undirected; directed edges are not allowed"#,
            ),
        ],
    );
}

#[test]
fn a_node_of_another_graph_types_node_type() {
    let problems = damaged(
        "UPDATE nodes SET node_type_id = (SELECT id FROM node_types WHERE name = 'host') WHERE key = 'cy'",
    );
    assert_problems(
        &problems,
        &[(
            ProblemKind::Structure,
            r#"node "cy" in graph "globex": its node type "host" belongs to graph type "net", not to the graph's type "people""#,
        )],
    );
}

#[test]
fn the_wrong_schema_version() {
    let problems = damaged("UPDATE _alknet_meta SET value = 99 WHERE key = 'schema_version'");
    assert_problems(
        &problems,
        &[(
            ProblemKind::SchemaVersion,
            "the schema version in _alknet_meta is 99; this library expects 7",
        )],
    );
    let problems = damaged("UPDATE _alknet_meta SET value = 'one' WHERE key = 'schema_version'");
    assert_problems(
        &problems,
        &[(
            ProblemKind::SchemaVersion,
            r#"the schema version in _alknet_meta is Text("one"), not an integer; this library expects 7"#,
        )],
    );
    let problems = damaged("DELETE FROM _alknet_meta WHERE key = 'schema_version'");
    assert_one(
        &problems,
        ProblemKind::SchemaVersion,
        "the schema version in _alknet_meta is missing",
    );
}

#[test]
fn a_type_schema_or_graph_config_that_does_not_parse() {
    let problems = damaged(
        "UPDATE node_types SET schema = '{\"type\": ' WHERE name = 'step';
         UPDATE edge_types SET schema = '{\"type\": 7}' WHERE name = 'link';
         UPDATE graph_types SET config = '{\"type\": \"sideways\"}' WHERE name = 'flows';",
    );
    let found: Vec<(ProblemKind, &str)> = problems
        .iter()
        .map(|p| (p.kind, p.message.as_str()))
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, ProblemKind::Structure);
    assert!(
        found[0]
            .1
            .starts_with(r#"graph type "flows": its config is not valid: "#),
        "{}",
        found[0].1
    );
    assert_eq!(found[1].0, ProblemKind::SchemaViolation);
    assert!(
        found[1].1.starts_with(
            r#"node type "step" of graph type "pipeline": its schema is not valid JSON: "#
        ),
        "{}",
        found[1].1
    );
    assert_eq!(found[2].0, ProblemKind::SchemaViolation);
    assert!(
        found[2]
            .1
            .starts_with(r#"edge type "link" of graph type "net": its schema does not compile: "#),
        "{}",
        found[2].1
    );
}

#[test]
fn a_deleted_type_row_is_reported_not_a_panic() {
    let (_dir, store) = fixture();
    let conn = raw(&store);
    let (type_row, node_row): (i64, i64) = conn
        .query_row(
            "SELECT t.id, n.id FROM node_types t JOIN nodes n ON n.node_type_id = t.id
              WHERE t.name = 'team'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    conn.execute("DELETE FROM node_types WHERE id = ?1", [type_row])
        .unwrap();
    let report = verify(&store).unwrap();
    assert_problems(
        report.problems(),
        &[
            (
                ProblemKind::ForeignKey,
                &format!(
                    r#"node "eng" in graph "acme" (nodes row {node_row}): node_type_id refers to node_types row {type_row}, which does not exist"#
                ),
            ),
            (
                ProblemKind::Structure,
                r#"edge type "member_of" of graph type "people": allowed endpoint "team" is not a node type of its graph type"#,
            ),
        ],
    );
}

#[test]
fn a_missing_table_stops_only_the_checks_that_need_it() {
    let problems = damaged("DROP TABLE edges");
    let messages = messages(&problems);
    assert_eq!(
        messages,
        [
            "the edge check could not finish: sqlite: no such table: edges",
            "the parallel edge check could not finish: sqlite: no such table: edges",
            r#"graph "release": could not be searched for cycles: sqlite: no such table: edges"#,
            "the reservation check could not finish: sqlite: no such table: edges",
        ]
    );
    assert!(problems.iter().all(|p| p.kind == ProblemKind::Integrity));
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let problems = damaged(&format!(
        r#"UPDATE nodes SET attributes = '{{"name": 1}}' WHERE key = 'bob';
           UPDATE edges SET target = {ID_OF_NODE} WHERE g.name = 'acme' AND n.key = 'bob') WHERE key = 'ada-eng';
           UPDATE _alknet_meta SET value = value + 1 WHERE key = 'schema_version';
           UPDATE nodes SET attributes = '{{}}' WHERE key = 'test';"#
    ));
    let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::SchemaVersion,
            ProblemKind::SchemaViolation,
            ProblemKind::SchemaViolation,
            ProblemKind::Structure,
        ],
        "{:#?}",
        messages(&problems)
    );
    let all = messages(&problems).join("\n");
    for entity in [
        r#"node "bob" in graph "acme""#,
        r#"node "test" in graph "release""#,
        r#"edge "ada-eng" in graph "acme""#,
    ] {
        assert!(all.contains(entity), "{entity} not named in:\n{all}");
    }
}

#[test]
fn problems_display_their_message_and_kinds_their_name() {
    let problems = damaged("UPDATE _alknet_meta SET value = 99 WHERE key = 'schema_version'");
    assert_eq!(problems[0].to_string(), problems[0].message);
    assert_eq!(problems[0].kind.to_string(), "schema_version");
    assert_eq!(ProblemKind::ForeignKey.as_str(), "foreign_key");
}

/// Page-level damage: one byte of an entry on the `edges_in` index page
/// changed in a checkpointed copy of the file. SQLite's integrity check
/// finds the row the index lost, and the other checks (which read the
/// tables, not that index) still run.
#[test]
fn a_damaged_index_page_fails_the_integrity_check() {
    let (dir, store) = fixture();
    let path = store.path().to_path_buf();
    drop(store);
    let (root, page_size, first_entry) = {
        let conn = Connection::open(&path).unwrap();
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0, "checkpoint blocked");
        let root: i64 = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'edges_in'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        // The row of the smallest key in edges_in (target, source).
        let first_entry: i64 = conn
            .query_row(
                "SELECT id FROM edges ORDER BY target, source, id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (root as usize, page_size as usize, first_entry)
    };
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() >= root * page_size,
        "page {root} not in the file"
    );
    let page = &mut bytes[(root - 1) * page_size..root * page_size];
    // The index is small: its root is a leaf (type 0x0A) whose cells are
    // (payload size, record header size, serial types…, values…). The
    // first cell pointer is the smallest key; lowering its first column
    // keeps the page well ordered but no longer matches the table row.
    assert_eq!(page[0], 0x0A, "the root of edges_in is an index leaf");
    let cell = u16::from_be_bytes([page[8], page[9]]) as usize;
    assert!(page[cell] < 0x80, "a one-byte payload size");
    let header = page[cell + 1] as usize;
    let first_type = cell + 2;
    let first_value = cell + 1 + header;
    match page[first_type] {
        // A one-byte integer: one less.
        1 => {
            assert!(page[first_value] > 0);
            page[first_value] -= 1;
        }
        // The constant 1: the constant 0.
        9 => page[first_type] = 8,
        other => panic!("unexpected serial type {other} for a node row id"),
    }
    let copy = dir.path().join("damaged.db");
    std::fs::write(&copy, &bytes).unwrap();

    let store = Store::open(&copy).expect("the schema pages are intact");
    let report = verify(&store).expect("verify reports damage, it does not fail");
    let problems = report.problems();
    assert_eq!(problems[0].kind, ProblemKind::Integrity);
    assert_eq!(
        messages(problems),
        [format!(
            "sqlite integrity check: row {first_entry} missing from index edges_in"
        )]
    );
    assert_eq!(report.edges_checked(), 9, "the edge check still ran");
}

/// The built-in graph types, written through their own APIs, verify clean.
#[test]
fn acl_and_taskgraph_stores_verify_clean() {
    use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal};
    use alknet_graphs::taskgraph::{Status, Task, Taskgraphs};

    let (_dir, store) = common::store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(
        &Principal::new("root", IdentityType::Account)
            .scopes(["repo:read", "deploy"])
            .resource("repo", ["read"]),
    )
    .unwrap();
    acl.add_principal(&Principal::new("alice", IdentityType::Account))
        .unwrap();
    acl.delegate(&Delegation::new("root", "alice").scopes(["repo:read"]))
        .unwrap();

    let tasks = Taskgraphs::open(&store).unwrap();
    store
        .write(|tx| {
            tasks.create(tx, "release")?;
            for key in ["fetch", "build", "ship"] {
                tasks.add_task(tx, "release", key, &Task::new())?;
            }
            tasks.add_dependency(tx, "release", "build", "fetch")?;
            tasks.add_dependency(tx, "release", "ship", "build")?;
            tasks.transition(tx, "release", "fetch", Status::Ready, Status::Running)?;
            tasks.transition(tx, "release", "fetch", Status::Running, Status::Done)?;
            Ok(())
        })
        .unwrap();

    let report = verify(&store).unwrap();
    assert!(report.is_clean(), "{:#?}", messages(report.problems()));
    assert_eq!(report.graphs_checked(), 2);
    assert_eq!(report.nodes_checked(), 2 + 3);
    assert_eq!(report.edges_checked(), 1 + 2);
}

/// The fixture with two peers and an API key registered.
fn registry_damaged(sql: &str) -> Vec<Problem> {
    use alknet_graphs::identity::{AuthToken, NewApiKey, PeerEntry, SqliteIdentityProvider};
    let (_dir, store) = fixture();
    let ids = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store)
        .expect("provider");
    ids.insert_peer(PeerEntry::new("p1").fingerprint(format!("ed25519:{}", "aa".repeat(32))))
        .expect("peer");
    ids.insert_peer(
        PeerEntry::new("p2")
            .fingerprint(format!("ed25519:{}", "bb".repeat(32)))
            .token(&AuthToken::new("p2-token-0123456789abcdef0123456789")),
    )
    .expect("peer");
    ids.create_api_key(NewApiKey::new("k", "p1")).expect("key");
    assert!(verify(&store).expect("verify").is_clean());
    raw(&store).execute_batch(sql).expect("damage");
    let report = verify(&store).expect("verify runs on a damaged store");
    report.problems().to_vec()
}

#[test]
fn an_altered_audit_entry_breaks_the_chain_at_that_entry() {
    let problems = registry_damaged(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;",
    );
    assert_one(
        &problems,
        ProblemKind::AuditChain,
        "audit entry 2: contents do not match its hash",
    );
    let problems =
        registry_damaged("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3;");
    assert_one(&problems, ProblemKind::AuditChain, "audit entry 3: missing");
}

#[test]
fn identity_rows_out_of_step_with_their_rules() {
    let problems = registry_damaged(&format!(
        "UPDATE peer_fingerprints SET peer = (SELECT id FROM peers WHERE peer_id = 'p2')
         WHERE fingerprint = 'ed25519:{}'",
        "aa".repeat(32)
    ));
    assert_one(&problems, ProblemKind::Identity, "peer \"p1\": fingerprint");
    assert!(problems[0].message.contains("indexed to peer \"p2\""));
    let problems = registry_damaged("UPDATE api_keys SET key_hash = 'plain'");
    assert_one(&problems, ProblemKind::Identity, "API key");
    assert!(problems[0].message.contains("\"plain\""));
    let problems =
        registry_damaged("UPDATE peers SET auth_token_hash = 'XYZ' WHERE peer_id = 'p2'");
    assert_one(
        &problems,
        ProblemKind::Identity,
        "peer \"p2\": auth_token_hash \"XYZ\"",
    );
}
