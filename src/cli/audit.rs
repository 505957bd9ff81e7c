//! `audit`: the hash-chained log of identity and ACL writes; listing it and
//! verifying its chain.

use std::fmt::Write as _;

use alknet_graphs::AuditEntry;
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::show;
use super::time::format_instant;
use super::{CliResult, Ctx, Output};

/// Entries read per query while counting the log.
const COUNT_PAGE: usize = 1024;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List entries in order: who did what to which entity, and when
    List {
        /// Start after this entry (0: from the first)
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        after: u64,
        /// At most this many entries
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
    },
    /// Walk the whole chain and report its first break; exit 1 when broken
    Verify,
}

pub fn run(ctx: &Ctx, command: AuditCommand) -> CliResult {
    match command {
        AuditCommand::List { after, limit } => {
            let store = ctx.open()?;
            let read = store.begin_read()?;
            let entries = read.audit_log(after, limit)?;
            let mut text = String::new();
            for entry in &entries {
                let _ = writeln!(text, "{}", entry_line(entry));
            }
            if entries.is_empty() {
                text.push_str(if after == 0 {
                    "the audit log is empty"
                } else {
                    "no audit entries after that"
                });
            }
            let next = entries.last().map(|e| e.seq);
            Ok(Output::new(
                json!({
                    "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
                    "last_seq": next,
                }),
                text,
            ))
        }
        AuditCommand::Verify => {
            let store = ctx.open()?;
            let read = store.begin_read()?;
            let broken = read.verify_audit_chain()?;
            let (mut entries, mut after) = (0u64, 0u64);
            loop {
                let page = read.audit_log(after, COUNT_PAGE)?;
                let Some(last) = page.last() else {
                    break;
                };
                entries += page.len() as u64;
                after = last.seq;
                if page.len() < COUNT_PAGE {
                    break;
                }
            }
            Ok(match broken {
                None => Output::new(
                    json!({"intact": true, "entries": entries}),
                    format!("audit chain intact ({entries} entries)"),
                ),
                Some(at) => Output::new(
                    json!({
                        "intact": false,
                        "entries": entries,
                        "break": {"seq": at.seq, "reason": at.reason},
                    }),
                    format!("audit chain broken: {at}"),
                )
                .failed(),
            })
        }
    }
}

/// `12  2026-05-01T10:00:00.123Z  ops  peer.create  peer "build-01"`.
fn entry_line(entry: &AuditEntry) -> String {
    format!(
        "{}  {}  {}  {}  {}",
        entry.seq,
        format_instant(entry.at),
        entry
            .actor
            .as_deref()
            .map(show)
            .unwrap_or_else(|| "-".into()),
        entry.action,
        entry.entity
    )
}

fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "before": entry.before.as_deref().map(stored_json),
        "after": entry.after.as_deref().map(stored_json),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    })
}

/// A `before`/`after` field: the JSON it holds, or its text when it does
/// not parse (a damaged entry is still listed).
fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}
