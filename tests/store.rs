//! Opening, migrations, transactions (batches), reads that never wait on the
//! writer, and the change outbox.

mod common;

use alknet_graphs::{
    ChangeBatch, ChangeOp, Direction, EntityKind, Error, GraphConfig, ListOptions, NewEdge,
    NotAStoreReason, Store, CHANGE_CHANNEL, CHANGE_TOPIC, INLINE_EVENT_LIMIT,
};
use common::{people, snapshot, store};
use serde_json::{json, Value};

fn raw(store: &Store) -> rusqlite::Connection {
    rusqlite::Connection::open(store.path()).unwrap()
}

/// (payload) of every notification on the change channel, in order.
fn notifications(store: &Store) -> Vec<Value> {
    let conn = raw(store);
    let mut stmt = conn
        .prepare("SELECT payload FROM _honker_notifications WHERE channel = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([CHANGE_CHANNEL], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
        .collect()
}

/// Every change batch on the stream, in order.
fn stream(store: &Store) -> Vec<ChangeBatch> {
    let conn = raw(store);
    let mut stmt = conn
        .prepare("SELECT payload FROM _honker_stream WHERE topic = ?1 ORDER BY offset")
        .unwrap();
    stmt.query_map([CHANGE_TOPIC], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|p| ChangeBatch::from_payload(&p.unwrap()).unwrap())
        .collect()
}

#[test]
fn open_creates_the_schema_and_reopening_keeps_the_data() {
    let (dir, store) = store();
    people(&store, GraphConfig::directed());
    let revision = store.revision().unwrap();
    drop(store);
    let store = Store::open(dir.path().join("test.db")).unwrap();
    assert_eq!(store.revision().unwrap(), revision);
    let read = store.begin_read().unwrap();
    assert_eq!(read.schema_version().unwrap(), 2);
    assert_eq!(read.node_count("acme").unwrap(), 3);
}

#[test]
fn a_file_from_a_newer_version_is_refused() {
    let (dir, store) = store();
    raw(&store)
        .execute(
            "UPDATE _alknet_meta SET value = 99 WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    drop(store);
    let err = Store::open(dir.path().join("test.db"))
        .err()
        .expect("refused");
    assert!(
        matches!(
            err,
            Error::SchemaTooNew {
                found: 99,
                supported: 2
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "database schema version 99 is newer than this library supports (2); upgrade alknet-graphs"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.db");
    std::fs::write(
        &path,
        "this is not a database, just text that is long enough to have a header",
    )
    .unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert_eq!(
        err.not_a_store_reason(),
        Some(NotAStoreReason::NotSqlite),
        "{err}"
    );
}

#[test]
fn a_batch_commits_atomically_or_not_at_all() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let before = snapshot(&store);

    // An error part-way rolls back everything the batch did.
    let err = store
        .write(|tx| {
            tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))?;
            tx.add_edge("acme", NewEdge::new("knows", "cy", "ada"))?;
            tx.add_node("acme", "dee", "person", &json!({"name": 7}))
        })
        .unwrap_err();
    assert!(err.is_schema_violation());
    assert_eq!(snapshot(&store), before);

    // A dropped transaction rolls back.
    {
        let mut tx = store.begin_write().unwrap();
        tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
            .unwrap();
        assert!(
            tx.node("acme", "cy").unwrap().is_some(),
            "a transaction reads its own writes"
        );
    }
    assert_eq!(snapshot(&store), before);

    // An explicit rollback too.
    let mut tx = store.begin_write().unwrap();
    tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
        .unwrap();
    tx.rollback().unwrap();
    assert_eq!(snapshot(&store), before);

    // A rejected operation inside a batch leaves the batch usable.
    let mut tx = store.begin_write().unwrap();
    tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
        .unwrap();
    tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
        .unwrap_err();
    tx.add_edge("acme", NewEdge::new("knows", "cy", "ada").key("ca"))
        .unwrap();
    tx.commit().unwrap();
    let read = store.begin_read().unwrap();
    assert_eq!(read.node_count("acme").unwrap(), 4);
    assert_eq!(read.edge("acme", "ca").unwrap().unwrap().source, "cy");
}

#[test]
fn a_second_write_on_the_same_thread_is_an_error_not_a_deadlock() {
    let (_dir, store) = store();
    let _tx = store.begin_write().unwrap();
    let err = store.begin_write().err().expect("refused");
    assert!(matches!(err, Error::WriteInProgress), "{err}");
    let err = store.write(|_| Ok(())).unwrap_err();
    assert!(matches!(err, Error::WriteInProgress), "{err}");
}

#[test]
fn reads_never_wait_on_an_open_write() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut tx = store.begin_write().unwrap();
    tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
        .unwrap();
    let reader = store.clone();
    let seen = std::thread::spawn(move || {
        let read = reader.begin_read().unwrap();
        (
            read.node_count("acme").unwrap(),
            read.node("acme", "cy").unwrap().is_none(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(seen, (3, true), "readers see the last committed state");
    tx.commit().unwrap();
    assert_eq!(store.begin_read().unwrap().node_count("acme").unwrap(), 4);
}

#[test]
fn writers_on_many_threads_serialize() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    store
                        .write(|tx| tx.add_node("acme", &format!("t{t}-{i}"), "team", &json!({})))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.begin_read().unwrap().node_count("acme").unwrap(), 103);
}

#[test]
fn every_committed_write_transaction_publishes_its_events_and_bumps_the_revision() {
    let (_dir, store) = store();
    assert_eq!(store.revision().unwrap(), 0);
    people(&store, GraphConfig::directed());
    assert_eq!(
        store.revision().unwrap(),
        1,
        "the fixture is one transaction"
    );

    let revision = store
        .write(|tx| {
            tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))?;
            tx.add_edge("acme", NewEdge::new("knows", "cy", "ada").key("ca"))?;
            tx.patch_node("acme", "ada", &json!({"age": 36}))?;
            tx.remove_node("acme", "bob")
        })
        .map(|_| store.revision().unwrap())
        .unwrap();
    assert_eq!(revision, 2);

    let batches = stream(&store);
    assert_eq!(batches.len(), 2);
    let last = &batches[1];
    assert_eq!(last.revision, 2);
    let events: Vec<(EntityKind, ChangeOp, &str)> = last
        .events
        .iter()
        .map(|e| (e.entity, e.op, e.key.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            (EntityKind::Node, ChangeOp::Create, "cy"),
            (EntityKind::Edge, ChangeOp::Create, "ca"),
            (EntityKind::Node, ChangeOp::Update, "ada"),
            (EntityKind::Node, ChangeOp::Delete, "bob"),
        ]
    );
    assert!(last
        .events
        .iter()
        .all(|e| e.graph.as_deref() == Some("acme")));

    let notes = notifications(&store);
    assert_eq!(notes.len(), 2, "one notify per committed transaction");
    assert_eq!(notes[1]["revision"], 2);
    assert_eq!(notes[1]["count"], 4);
    let inline = ChangeBatch::from_payload(&notes[1].to_string()).unwrap();
    assert_eq!(&inline, last, "small batches carry their events inline");

    // The fixture's batch describes the types and the graph.
    let first = &batches[0];
    assert_eq!(first.events[0].entity, EntityKind::GraphType);
    assert!(first.events.iter().any(|e| e.entity == EntityKind::NodeType
        && e.key == "person"
        && e.graph_type.as_deref() == Some("people")));
}

#[test]
fn a_rolled_back_or_empty_transaction_publishes_nothing() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    {
        let mut tx = store.begin_write().unwrap();
        tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
            .unwrap();
    }
    store
        .write(|tx| tx.add_node("acme", "x", "nope", &json!({})))
        .unwrap_err();
    let revision = store.write(|tx| tx.node_count("acme")).unwrap();
    assert_eq!(revision, 3);
    let tx = store.begin_write().unwrap();
    assert_eq!(
        tx.commit().unwrap(),
        1,
        "a transaction that changes nothing keeps the revision"
    );
    assert_eq!(store.revision().unwrap(), 1);
    assert_eq!(notifications(&store).len(), 1);
    assert_eq!(stream(&store).len(), 1);
}

#[test]
fn a_large_batch_is_read_from_the_stream() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let n = INLINE_EVENT_LIMIT + 1;
    store
        .write(|tx| {
            for i in 0..n {
                tx.add_node("acme", &format!("t{i:04}"), "team", &json!({}))?;
            }
            Ok(())
        })
        .unwrap();
    let notes = notifications(&store);
    let last = notes.last().unwrap();
    assert_eq!(last["count"], n);
    assert!(last.get("events").is_none(), "{last}");
    let offset = last["offset"].as_i64().unwrap();
    let payload: String = raw(&store)
        .query_row(
            "SELECT payload FROM _honker_stream WHERE offset = ?1",
            [offset],
            |r| r.get(0),
        )
        .unwrap();
    let batch = ChangeBatch::from_payload(&payload).unwrap();
    assert_eq!(batch.events.len(), n);
    assert!(
        payload.len() < 16 * n,
        "grouped events stay compact: {} bytes",
        payload.len()
    );
}

#[test]
fn commit_returns_the_new_revision() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let mut tx = store.begin_write().unwrap();
    tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))
        .unwrap();
    assert_eq!(tx.commit().unwrap(), 2);
    assert_eq!(store.revision().unwrap(), 2);
}

#[test]
fn neighbours_follow_direction_and_edge_type() {
    let (_dir, store) = store();
    people(&store, GraphConfig::default());
    store
        .write(|tx| {
            tx.add_edge("acme", NewEdge::new("knows", "ada", "bob").key("ab"))?;
            tx.add_edge("acme", NewEdge::new("member_of", "ada", "eng").key("ae"))?;
            tx.add_edge("acme", NewEdge::new("member_of", "bob", "eng").key("be"))?;
            tx.add_node("acme", "cy", "person", &json!({"name": "Cy"}))?;
            tx.add_edge(
                "acme",
                NewEdge::new("knows", "cy", "ada")
                    .key("ca")
                    .undirected(true),
            )
        })
        .unwrap();
    let read = store.begin_read().unwrap();
    let names = |direction, edge_type| -> Vec<(String, String)> {
        read.neighbors("acme", "ada", direction, edge_type)
            .unwrap()
            .into_iter()
            .map(|n| (n.node, n.edge))
            .collect()
    };
    let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        names(Direction::Out, None),
        pairs(&[("bob", "ab"), ("cy", "ca"), ("eng", "ae")])
    );
    assert_eq!(names(Direction::In, None), pairs(&[("cy", "ca")]));
    assert_eq!(
        names(Direction::Out, Some("member_of")),
        pairs(&[("eng", "ae")])
    );
    assert_eq!(
        read.neighbors("acme", "eng", Direction::In, None)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(names(Direction::Both, None).len(), 3);
    let err = read
        .neighbors("acme", "zed", Direction::Both, None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"node "zed" in graph "acme" does not exist"#
    );
}

#[test]
fn listing_pages_through_everything_once_in_key_order() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    store
        .write(|tx| {
            for i in (0..57).rev() {
                tx.add_node("acme", &format!("t{i:03}"), "team", &json!({"i": i}))?;
            }
            Ok(())
        })
        .unwrap();
    let read = store.begin_read().unwrap();
    let mut seen = Vec::new();
    let mut options = ListOptions::new().limit(10).of_type("team");
    loop {
        let page = read.nodes("acme", &options).unwrap();
        seen.extend(page.items.into_iter().map(|n| n.key));
        match page.next {
            Some(next) => options = options.after(next),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..57).map(|i| format!("t{i:03}")).collect();
    expected.insert(0, "eng".to_owned());
    expected.sort();
    assert_eq!(seen, expected);
    let people_only = read
        .nodes("acme", &ListOptions::new().of_type("person"))
        .unwrap();
    assert_eq!(people_only.items.len(), 2);
    assert_eq!(people_only.next, None);
}

#[test]
fn types_and_graphs_are_listed_and_read_back() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed().multi(true));
    let read = store.begin_read().unwrap();
    let types = read.graph_types().unwrap();
    assert_eq!(types.len(), 1);
    assert_eq!(types[0].config, GraphConfig::directed().multi(true));
    let node_types: Vec<String> = read
        .node_types("people")
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(node_types, ["person", "team"]);
    let member_of = read.edge_type("people", "member_of").unwrap().unwrap();
    assert_eq!(member_of.endpoints.source, Some(vec!["person".to_owned()]));
    assert_eq!(member_of.schema["properties"]["since"]["type"], "integer");
    assert_eq!(read.graphs().unwrap()[0].graph_type, "people");
    assert!(read.node_types("nope").unwrap_err().is_not_found());
}

#[test]
fn numbers_round_trip_exactly() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());
    let document: Value = serde_json::from_str(
        r#"{"big": 123456789012345678901234567890, "float": 0.1, "exp": 1.7976931348623157e308, "neg": -0.0}"#,
    )
    .unwrap();
    store
        .write(|tx| tx.add_node("acme", "n", "team", &document))
        .unwrap();
    let node = store
        .begin_read()
        .unwrap()
        .node("acme", "n")
        .unwrap()
        .unwrap();
    assert_eq!(
        Value::Object(node.attributes).to_string(),
        r#"{"big":123456789012345678901234567890,"float":0.1,"exp":1.7976931348623157e+308,"neg":-0.0}"#
    );
}

#[test]
fn graphs_resolved_by_earlier_transactions_never_go_stale() {
    let (dir, store) = store();
    people(&store, GraphConfig::directed());

    // A graph created in a rolled-back transaction is gone afterwards.
    {
        let mut tx = store.begin_write().unwrap();
        tx.create_graph("temp", "people").unwrap();
        tx.add_node("temp", "x", "team", &json!({})).unwrap();
    }
    let err = store
        .write(|tx| tx.add_node("temp", "y", "team", &json!({})))
        .unwrap_err();
    assert_eq!(err.to_string(), r#"graph "temp" does not exist"#);

    // Another handle (like another process) drops and re-creates a graph
    // this handle has resolved before: writes land in the new graph.
    store
        .write(|tx| tx.add_node("acme", "t1", "team", &json!({})))
        .unwrap();
    let other = Store::open(dir.path().join("test.db")).unwrap();
    other
        .write(|tx| {
            tx.drop_graph("acme")?;
            tx.create_graph("acme", "people").map(|_| ())
        })
        .unwrap();
    store
        .write(|tx| tx.add_node("acme", "t2", "team", &json!({})))
        .unwrap();
    let read = store.begin_read().unwrap();
    assert_eq!(read.node_count("acme").unwrap(), 1);
    assert!(read.node("acme", "t2").unwrap().is_some());
}
