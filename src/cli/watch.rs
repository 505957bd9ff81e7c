//! `watch`: committed change batches as they happen, from this process or
//! any other on the same file.

use std::io::Write;
use std::time::{Duration, Instant};

use alknet_graphs::{ChangeBatch, ChangeEvent, ChangeOp, EntityKind, FeedMessage, ResyncReason};
use clap::Args;
use serde_json::{json, Value};

use super::output::{print_json, print_line, show};
use super::{CliError, CliResult, Ctx, Output};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Exit after this many batches
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Exit after this many seconds (an error if --count batches have not
    /// arrived by then)
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
}

/// Events shown per batch in text; the rest are counted.
const SHOWN_EVENTS: usize = 8;

pub fn run(ctx: &Ctx, args: WatchArgs) -> CliResult {
    let timeout = match args.timeout {
        Some(secs) => Some(Duration::try_from_secs_f64(secs).map_err(|_| {
            CliError::Usage(
                "--timeout: must be a number of seconds, not negative, below 10^19".to_owned(),
            )
        })?),
        None => None,
    };
    let store = ctx.open()?;
    let mut feed = store.subscribe()?;
    {
        // A notice for people (and for tests, which wait for it before
        // writing); stdout carries only the batches.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "watching {} from revision {} (Ctrl-C to stop)",
            ctx.db.display(),
            feed.revision()
        );
        let _ = err.flush();
    }
    // A timeout too far off to represent is no timeout.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut batches = 0u64;
    loop {
        if args.count.is_some_and(|n| batches >= n) {
            return Ok(Output::streamed());
        }
        let wait = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        let message = feed.recv_timeout(wait)?;
        match message {
            Some(FeedMessage::Batch(batch)) => {
                batches += 1;
                emit(ctx.json, batch_json(&batch), || batch_text(&batch));
            }
            Some(FeedMessage::Resync(reason)) => {
                emit(ctx.json, resync_json(reason), || resync_text(reason));
            }
            Some(FeedMessage::Undecodable { id, reason }) => emit(
                ctx.json,
                json!({"undecodable": {"id": id, "reason": reason}}),
                || format!("skipped notification {id}: {reason}"),
            ),
            Some(_) => {}
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return match args.count {
                        Some(n) if batches < n => Err(CliError::Input {
                            kind: "timeout",
                            message: format!(
                                "timed out after {:.1} s with {batches} of {n} batch(es)",
                                timeout.map_or(0.0, |t| t.as_secs_f64())
                            ),
                        }),
                        _ => Ok(Output::streamed()),
                    };
                }
            }
        }
    }
}

fn emit(json_mode: bool, value: Value, text: impl FnOnce() -> String) {
    if json_mode {
        print_json(&value);
    } else {
        print_line(&text());
    }
}

fn kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::GraphType => "graph_type",
        EntityKind::NodeType => "node_type",
        EntityKind::EdgeType => "edge_type",
        EntityKind::Graph => "graph",
        EntityKind::Node => "node",
        EntityKind::Edge => "edge",
        EntityKind::Reservation => "reservation",
        _ => "entity",
    }
}

fn op_name(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Create => "create",
        ChangeOp::Update => "update",
        ChangeOp::Delete => "delete",
    }
}

fn event_json(event: &ChangeEvent) -> Value {
    json!({
        "entity": kind_name(event.entity),
        "op": op_name(event.op),
        "graph": event.graph,
        "graph_type": event.graph_type,
        "key": event.key,
    })
}

fn batch_json(batch: &ChangeBatch) -> Value {
    json!({
        "revision": batch.revision,
        "events": batch.events.iter().map(event_json).collect::<Vec<_>>(),
    })
}

fn event_text(event: &ChangeEvent) -> String {
    let place = match (&event.graph, &event.graph_type) {
        (Some(graph), _) => format!(" in {}", show(graph)),
        (None, Some(graph_type)) if event.entity != EntityKind::Graph => {
            format!(" of {}", show(graph_type))
        }
        _ => String::new(),
    };
    format!(
        "{} {} {}{place}",
        op_name(event.op),
        kind_name(event.entity).replace('_', " "),
        show(&event.key)
    )
}

fn batch_text(batch: &ChangeBatch) -> String {
    let shown: Vec<String> = batch
        .events
        .iter()
        .take(SHOWN_EVENTS)
        .map(event_text)
        .collect();
    let mut text = format!("revision {}: {}", batch.revision, shown.join("; "));
    if batch.events.len() > SHOWN_EVENTS {
        text.push_str(&format!(
            "; … and {} more",
            batch.events.len() - SHOWN_EVENTS
        ));
    }
    text
}

fn resync_json(reason: ResyncReason) -> Value {
    match reason {
        ResyncReason::Gap { expected, found } => {
            json!({"resync": {"reason": "gap", "expected": expected, "found": found}})
        }
        ResyncReason::WatcherRestarted => json!({"resync": {"reason": "watcher_restarted"}}),
        _ => json!({"resync": {"reason": "other"}}),
    }
}

fn resync_text(reason: ResyncReason) -> String {
    match reason {
        ResyncReason::Gap { expected, found } => format!(
            "resync: revisions {expected} to {} were not delivered (pruned before they were read)",
            found.saturating_sub(1)
        ),
        ResyncReason::WatcherRestarted => {
            "resync: the file watcher restarted; changes in between may be missing".to_owned()
        }
        _ => "resync: changes may be missing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(entity: EntityKind, op: ChangeOp, graph: Option<&str>, key: &str) -> ChangeEvent {
        ChangeEvent {
            entity,
            op,
            graph: graph.map(str::to_owned),
            graph_type: None,
            key: key.to_owned(),
        }
    }

    #[test]
    fn a_batch_is_one_line() {
        let batch = ChangeBatch {
            outside_writes: false,
            revision: 7,
            events: vec![
                event(EntityKind::Node, ChangeOp::Create, Some("g"), "a"),
                event(EntityKind::Edge, ChangeOp::Delete, Some("g"), "a b"),
            ],
        };
        assert_eq!(
            batch_text(&batch),
            r#"revision 7: create node a in g; delete edge "a b" in g"#
        );
        let many = ChangeBatch {
            outside_writes: false,
            revision: 8,
            events: (0..10)
                .map(|i| {
                    event(
                        EntityKind::Node,
                        ChangeOp::Update,
                        Some("g"),
                        &i.to_string(),
                    )
                })
                .collect(),
        };
        assert!(batch_text(&many).ends_with("; … and 2 more"));
        assert_eq!(batch_json(&batch)["events"][1]["op"], "delete");
    }

    #[test]
    fn resyncs_say_what_was_missed() {
        let gap = ResyncReason::Gap {
            expected: 3,
            found: 6,
        };
        assert_eq!(
            resync_text(gap),
            "resync: revisions 3 to 5 were not delivered (pruned before they were read)"
        );
        assert_eq!(resync_json(gap)["resync"]["reason"], "gap");
    }
}
