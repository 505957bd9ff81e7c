//! The transactional outbox: change events committed with the writes they
//! describe.
//!
//! Every write transaction that changes something publishes, inside the same
//! SQLite transaction and just before `COMMIT`:
//!
//! - a store **revision** bump (`+1` per committed write transaction);
//! - one row on the honker stream [`CHANGE_TOPIC`], whose payload is the
//!   whole [`ChangeBatch`]: `{"revision": R, "events": [groups…]}`;
//! - one `notify()` on the channel [`CHANGE_CHANNEL`] with payload
//!   `{"revision": R, "offset": O, "count": N, "events": [groups…]}`, where
//!   `offset` is the stream row's offset and `events` is present only when
//!   `N` ≤ [`INLINE_EVENT_LIMIT`] (a larger batch is read from the stream).
//!
//! A rolled-back transaction publishes nothing. Events are grouped on the
//! wire: consecutive events with the same entity kind, operation and scope
//! share one group, `{"entity": "node", "op": "create", "graph": "g",
//! "keys": ["a", "b"]}`, so a bulk import stays a small payload.
//!
//! What this costs a commit is pages: besides its own rows, a write
//! transaction writes the `_alknet_meta` page (revision and published
//! write epoch), the stream row and its topic index, the notification row
//! and its channel index, and honker's AUTOINCREMENT counter, six pages
//! (`tests/outbox_pages.rs` pins the list). Each is part of the contract:
//! the notification is what listeners in any process read, and the
//! revision is a counter rather than the stream offset because honker
//! numbers the rows of every topic of the file with one counter (an offset
//! would skip whenever another topic publishes) and because writers that
//! go around the engine move that counter. The inline events cost next to
//! nothing: a small notification fits the leaf page it is written to
//! anyway.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) mod stream;

/// The honker `notify()` channel every committed write transaction notifies.
pub const CHANGE_CHANNEL: &str = "alknet_graphs.changes";

/// The honker stream topic holding every committed [`ChangeBatch`].
pub const CHANGE_TOPIC: &str = "alknet_graphs.changes";

/// Batches with at most this many events carry them inline in the
/// notification payload as well as on the stream.
pub const INLINE_EVENT_LIMIT: usize = 256;

/// What kind of entity changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityKind {
    /// A graph type (`key` is its name).
    GraphType,
    /// A node type (`graph_type` is its graph type, `key` its name).
    NodeType,
    /// An edge type (`graph_type` is its graph type, `key` its name).
    EdgeType,
    /// A graph (`graph_type` is its type, `key` its name).
    Graph,
    /// A node (`graph` is its graph, `key` its key).
    Node,
    /// An edge (`graph` is its graph, `key` its key).
    Edge,
    /// A peer of the identity registry (`key` is its peer id).
    Peer,
    /// An API key (`key` is its id).
    ApiKey,
    /// A stored credential (`key` is its provider).
    Credential,
    /// A reservation against delegation budgets (`key` is its id).
    Reservation,
}

/// What happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Created.
    Create,
    /// Changed in place.
    Update,
    /// Removed.
    Delete,
}

/// One change, as subscribers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// The kind of entity.
    pub entity: EntityKind,
    /// What happened.
    pub op: ChangeOp,
    /// The graph, for nodes and edges.
    pub graph: Option<String>,
    /// The graph type, for node types, edge types and graphs.
    pub graph_type: Option<String>,
    /// The key of a node or edge, or the name of a type or graph.
    pub key: String,
}

/// The change events of one committed write transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// The store revision this transaction produced.
    pub revision: u64,
    /// Its events, in the order the writes were made.
    pub events: Vec<ChangeEvent>,
    /// Whether the store was changed around the engine (a plain SQLite
    /// connection writing the identity tables, the graphs or the ACL)
    /// since the batch before: those writes have no events, so a reader
    /// that keeps state derived from the store must reload it.
    pub outside_writes: bool,
}

impl ChangeBatch {
    /// Decodes a payload from the [`CHANGE_TOPIC`] stream (or a notification
    /// payload that carries its events inline).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] when the payload is not a change batch.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{ChangeBatch, ChangeOp, EntityKind};
    /// let batch = ChangeBatch::from_payload(
    ///     r#"{"revision":7,"events":[{"entity":"node","op":"create","graph":"g","keys":["a","b"]}]}"#,
    /// )?;
    /// assert_eq!(batch.revision, 7);
    /// assert_eq!(batch.events.len(), 2);
    /// assert_eq!(batch.events[1].key, "b");
    /// assert_eq!((batch.events[1].entity, batch.events[1].op), (EntityKind::Node, ChangeOp::Create));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_payload(payload: &str) -> Result<ChangeBatch> {
        let wire: WireBatch =
            serde_json::from_str(payload).map_err(|e| Error::corrupt("change batch payload", e))?;
        let mut events = Vec::new();
        for group in wire.events {
            for key in group.keys {
                events.push(ChangeEvent {
                    entity: group.entity,
                    op: group.op,
                    graph: group.graph.clone(),
                    graph_type: group.graph_type.clone(),
                    key,
                });
            }
        }
        Ok(ChangeBatch {
            revision: wire.revision,
            events,
            outside_writes: wire.outside_writes,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Group {
    entity: EntityKind,
    op: ChangeOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    graph: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    graph_type: Option<String>,
    keys: Vec<String>,
}

/// A stream payload as read back.
#[derive(Deserialize)]
struct WireBatch {
    revision: u64,
    events: Vec<Group>,
    #[serde(default)]
    outside_writes: bool,
}

/// A notification's payload: the batch's revision, its stream row's
/// offset, how many events it has, and the events themselves when there
/// are at most [`INLINE_EVENT_LIMIT`].
#[derive(Serialize)]
struct Notification<'a> {
    revision: u64,
    offset: i64,
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<&'a [Group]>,
}

/// What a reader of the change channel needs of a notification: the
/// revision, the stream row holding the batch, and whether the batch is
/// also inline (then [`ChangeBatch::from_payload`] decodes the
/// notification itself).
#[derive(Debug, Deserialize)]
pub(crate) struct NotificationHead {
    pub(crate) revision: u64,
    pub(crate) offset: i64,
    #[serde(default, rename = "events")]
    inline: Option<serde::de::IgnoredAny>,
}

impl NotificationHead {
    /// Decodes a notification payload.
    pub(crate) fn decode(payload: &str) -> std::result::Result<Self, String> {
        serde_json::from_str(payload).map_err(|e| format!("not a change notification: {e}"))
    }

    /// Whether the notification carries its batch inline.
    pub(crate) fn is_inline(&self) -> bool {
        self.inline.is_some()
    }
}

/// The events a write transaction has made so far, grouped as they arrive.
#[derive(Default)]
pub(crate) struct Outbox {
    groups: Vec<Group>,
    count: usize,
    /// The store was written around the engine before this transaction.
    outside_writes: bool,
}

impl Outbox {
    /// An empty outbox for a transaction that begins after writes made
    /// around the engine (`outside_writes`) or not.
    pub(crate) fn after(outside_writes: bool) -> Self {
        Outbox {
            outside_writes,
            ..Outbox::default()
        }
    }

    /// Whether no change has been recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records a node or edge change.
    pub(crate) fn in_graph(&mut self, entity: EntityKind, op: ChangeOp, graph: &str, key: &str) {
        self.push(entity, op, Some(graph), None, key);
    }

    /// Records a type or graph change.
    /// [`in_graph`](Outbox::in_graph) for each of `keys`, in order.
    pub(crate) fn in_graph_all(
        &mut self,
        entity: EntityKind,
        op: ChangeOp,
        graph: &str,
        keys: Vec<String>,
    ) {
        for key in keys {
            self.push_owned(entity, op, Some(graph), None, key);
        }
    }

    pub(crate) fn in_graph_type(
        &mut self,
        entity: EntityKind,
        op: ChangeOp,
        graph_type: Option<&str>,
        key: &str,
    ) {
        self.push(entity, op, None, graph_type, key);
    }

    /// Records a change to a table-shaped entity (peers, API keys,
    /// credentials), which belongs to no graph.
    pub(crate) fn record(&mut self, entity: EntityKind, op: ChangeOp, key: &str) {
        self.push(entity, op, None, None, key);
    }

    fn push(
        &mut self,
        entity: EntityKind,
        op: ChangeOp,
        graph: Option<&str>,
        graph_type: Option<&str>,
        key: &str,
    ) {
        self.push_owned(entity, op, graph, graph_type, key.to_owned());
    }

    fn push_owned(
        &mut self,
        entity: EntityKind,
        op: ChangeOp,
        graph: Option<&str>,
        graph_type: Option<&str>,
        key: String,
    ) {
        self.count += 1;
        if let Some(last) = self.groups.last_mut() {
            if last.entity == entity
                && last.op == op
                && last.graph.as_deref() == graph
                && last.graph_type.as_deref() == graph_type
            {
                last.keys.push(key);
                return;
            }
        }
        self.groups.push(Group {
            entity,
            op,
            graph: graph.map(str::to_owned),
            graph_type: graph_type.map(str::to_owned),
            keys: vec![key],
        });
    }
}

const BUMP_REVISION: &str =
    "UPDATE _alknet_meta SET value = value + 1 WHERE key = 'revision' RETURNING value";
const READ_REVISION: &str = "SELECT value FROM _alknet_meta WHERE key = 'revision'";
const PUBLISH_EPOCH: &str = "UPDATE _alknet_meta
     SET value = (SELECT value FROM _alknet_meta WHERE key = 'epoch')
     WHERE key = 'published_epoch'";
const READ_EPOCHS: &str = "SELECT (SELECT value FROM _alknet_meta WHERE key = 'epoch'),
     (SELECT value FROM _alknet_meta WHERE key = 'published_epoch')";

/// The revision as `conn` sees it.
pub(crate) fn revision(conn: &Connection) -> Result<u64> {
    let value: i64 = conn
        .prepare_cached(READ_REVISION)?
        .query_row([], |row| row.get(0))?;
    Ok(value as u64)
}

/// Publishes the outbox inside the open transaction and returns the
/// revision the store will be at once it commits.
pub(crate) fn publish(conn: &Connection, outbox: &Outbox) -> Result<u64> {
    if outbox.count == 0 {
        return revision(conn);
    }
    let revision: i64 = conn
        .prepare_cached(BUMP_REVISION)?
        .query_row([], |row| row.get(0))?;
    let revision = revision as u64;
    conn.prepare_cached(PUBLISH_EPOCH)?.execute([])?;
    let stream_payload = encode_batch(revision, &outbox.groups, outbox.outside_writes);
    let offset = stream::publish(conn, &stream_payload)?;
    let inline = (outbox.count <= INLINE_EVENT_LIMIT).then_some(outbox.groups.as_slice());
    let notification = serde_json::to_string(&Notification {
        revision,
        offset,
        count: outbox.count,
        events: inline,
    })
    .map_err(|e| Error::corrupt("change notification", e))?;
    stream::notify(conn, &notification)?;
    Ok(revision)
}

/// The stream payload: `{"revision": R, "events": [groups…]}`, with
/// `"outside_writes": true` after writes made around the engine.
fn encode_batch(revision: u64, events: &[Group], outside_writes: bool) -> String {
    #[derive(Serialize)]
    struct Batch<'a> {
        revision: u64,
        events: &'a [Group],
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        outside_writes: bool,
    }
    // Serializing plain strings and enums into a String cannot fail.
    serde_json::to_string(&Batch {
        revision,
        events,
        outside_writes,
    })
    .unwrap_or_default()
}

/// Whether the store was written around the engine since its last commit:
/// its write epoch (bumped by triggers on every row change to the identity
/// tables, the graphs and the ACL) is past the epoch that commit recorded.
///
/// # Errors
///
/// [`Error::Sqlite`] on a storage failure.
pub(crate) fn written_outside(conn: &Connection) -> Result<bool> {
    Ok(outside_epoch(conn)?.is_some())
}

/// The write epoch when the store was written around the engine since its
/// last commit, else `None`. A reader that reloaded for one epoch need not
/// reload again until it moves.
///
/// # Errors
///
/// [`Error::Sqlite`] on a storage failure.
pub(crate) fn outside_epoch(conn: &Connection) -> Result<Option<i64>> {
    let (epoch, published): (Option<i64>, Option<i64>) = conn
        .prepare_cached(READ_EPOCHS)?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(epoch.filter(|_| epoch != published))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_events_share_a_group_and_decode_back_in_order() {
        let mut outbox = Outbox::default();
        outbox.in_graph(EntityKind::Node, ChangeOp::Create, "g", "a");
        outbox.in_graph(EntityKind::Node, ChangeOp::Create, "g", "b");
        outbox.in_graph(EntityKind::Edge, ChangeOp::Create, "g", "a-b");
        outbox.in_graph(EntityKind::Node, ChangeOp::Create, "g", "c");
        outbox.in_graph_type(EntityKind::NodeType, ChangeOp::Update, Some("t"), "n");
        assert_eq!(outbox.groups.len(), 4);
        let payload = encode_batch(3, &outbox.groups, false);
        assert!(!payload.contains("outside_writes"), "{payload}");
        let batch = ChangeBatch::from_payload(&payload).unwrap();
        assert!(!batch.outside_writes);
        let keys: Vec<&str> = batch.events.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "a-b", "c", "n"]);
        assert_eq!(batch.events[4].graph_type.as_deref(), Some("t"));
        assert_eq!(batch.events[4].graph, None);
    }

    #[test]
    fn a_batch_after_outside_writes_says_so() {
        let payload = encode_batch(4, &[], true);
        assert_eq!(
            payload,
            r#"{"revision":4,"events":[],"outside_writes":true}"#
        );
        assert!(ChangeBatch::from_payload(&payload).unwrap().outside_writes);
    }

    #[test]
    fn a_bad_payload_is_reported() {
        let err = ChangeBatch::from_payload("{\"revision\": -1}").unwrap_err();
        assert!(err.to_string().starts_with("corrupt change batch payload"));
    }
}
