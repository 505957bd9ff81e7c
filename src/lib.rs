//! An embedded metagraph engine: typed, schema-validated graphs in one
//! SQLite file.
//!
//! Three levels of type — [`GraphType`] → [`NodeType`] → [`EdgeType`] — then
//! instances: [`Graph`] → [`Node`] → [`Edge`]. Every node and edge attribute
//! document is validated against its type's JSON Schema; graph types enforce
//! direction, parallel edges, self-loops and acyclicity. Every committed
//! write transaction publishes its change events on honker (a `notify()` and
//! a durable stream row) in the same SQLite transaction, and bumps the
//! store's revision.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::{Endpoints, GraphConfig, NewEdge, Store};
//! use serde_json::json;
//!
//! # let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("release.db"))?;
//! let mut tx = store.begin_write()?;
//! tx.define_graph_type("pipeline", GraphConfig::directed().acyclic(true))?;
//! tx.define_node_type("pipeline", "step", &json!({
//!     "type": "object",
//!     "properties": {"status": {"enum": ["pending", "running", "done"]}},
//!     "required": ["status"]
//! }))?;
//! tx.define_edge_type("pipeline", "then", &json!({}), &Endpoints::between(&["step"], &["step"]))?;
//! tx.create_graph("release-7", "pipeline")?;
//! tx.add_node("release-7", "build", "step", &json!({"status": "done"}))?;
//! tx.add_node("release-7", "test", "step", &json!({"status": "pending"}))?;
//! tx.add_edge("release-7", NewEdge::new("then", "build", "test"))?;
//! tx.commit()?;
//!
//! // A write that breaks the schema is rejected, naming what and why.
//! let err = store
//!     .write(|tx| tx.add_node("release-7", "ship", "step", &json!({"status": "finished"})))
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"node "ship" in graph "release-7": attribute /status: "finished" is not one of "pending", "running" or "done""#
//! );
//! assert_eq!(store.begin_read()?.node_count("release-7")?, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod acl;
pub mod audit;
mod builder;
mod error;
mod feed;
pub mod identity;
pub mod interop;
mod limits;
mod metagraph;
mod outbox;
pub mod policy;
mod schema;
mod store;
pub mod taskgraph;
mod time;
mod verify;
pub mod workflow;

pub use audit::{AuditBreak, AuditEntry};
pub use builder::StoreBuilder;
pub use error::{Entity, Error, NotAStoreReason, Result, Violation};
pub use feed::{
    Consumer, Delivery, FeedMessage, PruneReport, ResyncReason, Retention, Subscription,
};
pub use limits::Limits;
pub use metagraph::catalog::{
    DropPolicy, EdgeType, Endpoints, GraphConfig, GraphKind, GraphType, NodeType,
};
pub use metagraph::{
    Direction, Edge, EdgeEnd, Graph, HeaviestPath, ListOptions, Neighbor, NewEdge, NewNode, Node,
    Page, RuleBreak, ShortestPath,
};
pub use outbox::{
    ChangeBatch, ChangeEvent, ChangeOp, EntityKind, CHANGE_CHANNEL, CHANGE_TOPIC,
    INLINE_EVENT_LIMIT,
};
pub use schema::{check_schema, MAX_SCHEMA_DEPTH};
pub use store::{ReadTxn, Reader, Store, WriteTxn};
pub use verify::{verify, verify_with_progress, Problem, ProblemKind, VerifyReport};
