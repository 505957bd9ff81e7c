//! Creates `quickstart.db`, defines a typed graph, writes valid data, shows
//! a rejected write and its error, and prints what it did.
//!
//! Run with `cargo run --example quickstart [PATH]`.

use alknet_graphs::{ChangeBatch, Direction, Endpoints, GraphConfig, NewEdge, Store, CHANGE_TOPIC};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "quickstart.db".to_owned());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let store = Store::open(&path)?;
    println!("opened {path}");

    // Types: a directed acyclic "pipeline" whose steps have a status.
    let mut tx = store.begin_write()?;
    tx.define_graph_type("pipeline", GraphConfig::directed().acyclic(true))?;
    tx.define_node_type(
        "pipeline",
        "step",
        &json!({
            "type": "object",
            "properties": {
                "status": {"enum": ["pending", "running", "done"]},
                "minutes": {"type": "integer", "minimum": 0}
            },
            "required": ["status"],
            "additionalProperties": false
        }),
    )?;
    tx.define_edge_type(
        "pipeline",
        "then",
        &json!({}),
        &Endpoints::between(&["step"], &["step"]),
    )?;
    let revision = tx.commit()?;
    println!("defined graph type \"pipeline\" (directed, acyclic) with node type \"step\" and edge type \"then\" (revision {revision})");

    // Data: one transaction, committed atomically with its change events.
    let mut tx = store.begin_write()?;
    tx.create_graph("release-7", "pipeline")?;
    for (key, status, minutes) in [
        ("build", "done", 12),
        ("test", "running", 30),
        ("package", "pending", 5),
        ("ship", "pending", 1),
    ] {
        tx.add_node(
            "release-7",
            key,
            "step",
            &json!({"status": status, "minutes": minutes}),
        )?;
    }
    for (from, to) in [
        ("build", "test"),
        ("build", "package"),
        ("test", "ship"),
        ("package", "ship"),
    ] {
        tx.add_edge(
            "release-7",
            NewEdge::new("then", from, to).key(&format!("{from}->{to}")),
        )?;
    }
    let revision = tx.commit()?;
    println!("created graph \"release-7\" with 4 steps and 4 edges (revision {revision})");

    // Rejected writes: each names the entity and the reason, and changes nothing.
    let bad_status = store.write(|tx| {
        tx.add_node(
            "release-7",
            "deploy",
            "step",
            &json!({"status": "finished"}),
        )
    });
    println!("rejected: {}", bad_status.unwrap_err());
    let cycle = store.write(|tx| {
        tx.add_edge(
            "release-7",
            NewEdge::new("then", "ship", "build").key("ship->build"),
        )
    });
    println!("rejected: {}", cycle.unwrap_err());

    // Reads come from a snapshot that never waits on writers.
    let read = store.begin_read()?;
    println!(
        "graph \"release-7\": {} nodes, {} edges, store revision {}",
        read.node_count("release-7")?,
        read.edge_count("release-7")?,
        read.revision()?
    );
    let next: Vec<String> = read
        .neighbors("release-7", "build", Direction::Out, Some("then"))?
        .into_iter()
        .map(|n| n.node)
        .collect();
    println!("after \"build\" come: {}", next.join(", "));

    // Every committed transaction is on the durable change stream.
    let conn = rusqlite::Connection::open(&path)?;
    let mut stmt =
        conn.prepare("SELECT payload FROM _honker_stream WHERE topic = ?1 ORDER BY offset")?;
    for payload in stmt.query_map([CHANGE_TOPIC], |row| row.get::<_, String>(0))? {
        let batch = ChangeBatch::from_payload(&payload?)?;
        println!(
            "change batch at revision {}: {} events",
            batch.revision,
            batch.events.len()
        );
    }
    Ok(())
}
