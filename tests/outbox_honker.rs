//! The outbox writes honker's tables directly (through cached statements);
//! honker's own readers must see exactly what its `notify()` and
//! `honker_stream_publish()` would have written.

mod common;

use alknet_graphs::{ChangeBatch, GraphConfig, CHANGE_CHANNEL, CHANGE_TOPIC};
use common::{people, store};
use serde_json::Value;

#[test]
fn honkers_stream_reader_and_notification_listeners_see_the_outbox_rows() {
    let (_dir, store) = store();
    people(&store, GraphConfig::directed());

    let conn = rusqlite::Connection::open(store.path()).unwrap();
    honker_core::attach_honker_functions(&conn).unwrap();
    let read: String = conn
        .query_row(
            "SELECT honker_stream_read_since(?1, 0, 10)",
            [CHANGE_TOPIC],
            |r| r.get(0),
        )
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&read).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["topic"], CHANGE_TOPIC);
    assert_eq!(rows[0]["key"], Value::Null);
    assert!(
        rows[0]["created_at"].as_i64().unwrap() > 1_600_000_000,
        "unix seconds"
    );
    let batch = ChangeBatch::from_payload(rows[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(batch.revision, 1);

    // A honker listener selects by channel, in id order, newer than the last seen.
    let (id, payload, created_at): (i64, String, i64) = conn
        .query_row(
            "SELECT id, payload, created_at FROM _honker_notifications
              WHERE channel = ?1 AND id > 0 ORDER BY id LIMIT 1",
            [CHANGE_CHANNEL],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(id > 0 && created_at > 1_600_000_000);
    let notification: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(notification["revision"], 1);
    assert_eq!(notification["offset"], rows[0]["offset"]);

    // honker's notify() still works beside the outbox on the same file.
    honker_core::attach_notify(&conn).unwrap();
    let other: i64 = conn
        .query_row("SELECT notify('elsewhere', 'x')", [], |r| r.get(0))
        .unwrap();
    assert!(other > id);
}
