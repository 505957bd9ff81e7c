//! honker's tables as this crate uses them, in one place: the change
//! stream (its rows on [`CHANGE_TOPIC`], the durable consumers' offsets,
//! and how far retention has pruned it) and the notification channel
//! [`CHANGE_CHANNEL`]. Every statement on them is here; what the payloads
//! mean is the outbox's (see [`ChangeBatch::from_payload`](super::ChangeBatch::from_payload)).
//!
//! honker-core 0.5's `honker_stream_publish()` and `notify()` run the same
//! inserts as [`publish`] and [`notify`]. Calling those SQL functions
//! instead re-prepares their insert on every commit (they get a fresh
//! connection handle each call, so their statement cache is always empty),
//! which cost 44% of a one-node transaction; run here through the
//! connection's cache, the rows are the same. `tests/outbox_honker.rs` reads
//! them back through honker's own readers, so a change in honker's tables
//! fails a test, not a listener.

use rusqlite::{params, Connection, OptionalExtension};

use super::{CHANGE_CHANNEL, CHANGE_TOPIC};
use crate::error::Result;

const PUBLISH: &str =
    "INSERT INTO _honker_stream (topic, key, payload) VALUES (?1, NULL, ?2) RETURNING offset";
const NOTIFY: &str = "INSERT INTO _honker_notifications (channel, payload) VALUES (?1, ?2)";
const HEAD: &str = "SELECT coalesce(max(offset), 0) FROM _honker_stream WHERE topic = ?1";
const SINCE: &str = "SELECT offset, payload FROM _honker_stream
     WHERE topic = ?1 AND offset > ?2 ORDER BY offset LIMIT ?3";
const AT: &str = "SELECT payload FROM _honker_stream WHERE topic = ?1 AND offset = ?2";
const PRUNED_THROUGH: &str =
    "SELECT coalesce((SELECT value FROM _alknet_meta WHERE key = 'stream_pruned_through'), 0)";
const LAST_NOTIFICATION: &str =
    "SELECT coalesce(max(id), 0) FROM _honker_notifications WHERE channel = ?1";
const NOTIFICATIONS_SINCE: &str = "SELECT id, payload FROM _honker_notifications
     WHERE channel = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
const CONSUMER_OFFSET: &str =
    "SELECT offset FROM _honker_stream_consumers WHERE name = ?1 AND topic = ?2";
const SAVE_CONSUMER_OFFSET: &str = "SELECT honker_stream_save_offset(?1, ?2, ?3)";
// `created_at` in honker's tables is in unix seconds.
const PRUNE_NOTIFICATIONS: &str = "DELETE FROM _honker_notifications
     WHERE channel = ?1 AND (created_at < unixepoch() - ?2 OR id <= (
         SELECT id FROM _honker_notifications WHERE channel = ?1
         ORDER BY id DESC LIMIT 1 OFFSET ?3))";
const LAST_PRUNABLE_OFFSET: &str = "SELECT max(offset) FROM _honker_stream
     WHERE topic = ?1 AND (created_at < unixepoch() - ?2 OR offset <= (
         SELECT offset FROM _honker_stream WHERE topic = ?1
         ORDER BY offset DESC LIMIT 1 OFFSET ?3))";
const PRUNE_STREAM: &str = "DELETE FROM _honker_stream WHERE topic = ?1 AND offset <= ?2";
const RECORD_PRUNED: &str =
    "INSERT INTO _alknet_meta (key, value) VALUES ('stream_pruned_through', ?1)
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)";

/// Appends `payload` to the change stream; returns its offset.
pub(crate) fn publish(conn: &Connection, payload: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(PUBLISH)?
        .query_row(params![CHANGE_TOPIC, payload], |row| row.get(0))?)
}

/// Notifies the change channel with `payload`.
pub(crate) fn notify(conn: &Connection, payload: &str) -> Result<()> {
    conn.prepare_cached(NOTIFY)?
        .execute(params![CHANGE_CHANNEL, payload])?;
    Ok(())
}

/// The highest offset on the change stream (0 when it is empty).
pub(crate) fn head(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(HEAD)?
        .query_row([CHANGE_TOPIC], |row| row.get(0))?)
}

/// Up to `limit` stream rows after offset `after`, in order, as (offset,
/// payload).
pub(crate) fn since(conn: &Connection, after: i64, limit: i64) -> Result<Vec<(i64, String)>> {
    let rows = conn
        .prepare_cached(SINCE)?
        .query_map(params![CHANGE_TOPIC, after, limit], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The payload of the stream row at `offset`, unless it was pruned.
pub(crate) fn at(conn: &Connection, offset: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(AT)?
        .query_row(params![CHANGE_TOPIC, offset], |row| row.get(0))
        .optional()
}

/// The last offset retention has removed from the stream (0 for none).
pub(crate) fn pruned_through(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(PRUNED_THROUGH)?
        .query_row([], |row| row.get(0))?)
}

/// The id of the last notification on the change channel (0 for none).
pub(crate) fn last_notification(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(LAST_NOTIFICATION)?
        .query_row([CHANGE_CHANNEL], |row| row.get(0))?)
}

/// Up to `limit` notifications after id `after`, in order, as (id,
/// payload).
pub(crate) fn notifications_since(
    conn: &Connection,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let rows = conn
        .prepare_cached(NOTIFICATIONS_SINCE)?
        .query_map(params![CHANGE_CHANNEL, after, limit], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The offset durable consumer `name` has acknowledged (0 for a new one).
pub(crate) fn consumer_offset(conn: &Connection, name: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(CONSUMER_OFFSET)?
        .query_row([name, CHANGE_TOPIC], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Records that consumer `name` has processed through `offset`; the
/// recorded offset never moves back.
pub(crate) fn save_consumer_offset(conn: &Connection, name: &str, offset: i64) -> Result<()> {
    conn.prepare_cached(SAVE_CONSUMER_OFFSET)?
        .query_row(params![name, CHANGE_TOPIC, offset], |_| Ok(()))?;
    Ok(())
}

/// Removes notifications older than `max_age_secs`, and all but the newest
/// `max_count`; returns how many went.
pub(crate) fn prune_notifications(
    conn: &Connection,
    max_age_secs: i64,
    max_count: i64,
) -> Result<usize> {
    Ok(conn.prepare_cached(PRUNE_NOTIFICATIONS)?.execute(params![
        CHANGE_CHANNEL,
        max_age_secs,
        max_count
    ])?)
}

/// Removes stream rows older than `max_age_secs`, and all but the newest
/// `max_count`, in offset order (so that "pruned through offset N" says
/// exactly what a consumer can no longer read), and records how far;
/// returns how many went.
pub(crate) fn prune_stream(conn: &Connection, max_age_secs: i64, max_count: i64) -> Result<usize> {
    let through: Option<i64> = conn
        .prepare_cached(LAST_PRUNABLE_OFFSET)?
        .query_row(params![CHANGE_TOPIC, max_age_secs, max_count], |row| {
            row.get(0)
        })?;
    let Some(through) = through else {
        return Ok(0);
    };
    let removed = conn
        .prepare_cached(PRUNE_STREAM)?
        .execute(params![CHANGE_TOPIC, through])?;
    conn.prepare_cached(RECORD_PRUNED)?.execute([through])?;
    Ok(removed)
}
