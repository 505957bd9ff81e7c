//! `audit`: the hash-chained log of identity and ACL writes; listing it,
//! signing checkpoints of it, verifying it against them, and redacting
//! payloads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use alknet_graphs::audit::{self, AuditProblemKind, AuditReport, Checkpoint, SigningKey};
use alknet_graphs::{AuditEntry, Store};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};

use super::output::show;
use super::time::format_instant;
use super::{io_reason, read_text, CliError, CliResult, Ctx, Output};

/// Entries read per query while counting the log.
const COUNT_PAGE: usize = 1024;

/// What `audit verify` says when no checkpoint signature was checked.
const UNSIGNED: &str = "no trusted key given: checkpoint signatures were not checked, and a hash \
     chain without a checked checkpoint does not protect against someone who can rewrite the \
     file (they can recompute every hash); pass --trusted-key";

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
    /// Walk the whole chain and check the signed checkpoints and anchors;
    /// exit 1 naming the first altered entry or bad checkpoint
    Verify(VerifyArgs),
    /// Generate a checkpoint signing key: writes its secret to FILE (mode
    /// 0600, never overwritten) and prints the public key to trust
    Keygen {
        /// Where to write the secret key (keep it off the store's machine)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign a checkpoint of the log with the key in FILE and print it as
    /// JSON, to keep elsewhere as an anchor (`--anchor` of `audit verify`)
    Checkpoint {
        /// The secret key file written by `audit keygen`
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Erase the payloads of an entry, or of every entry about an entity,
    /// keeping their digests (the chain and checkpoints still verify); the
    /// redaction is itself an audited entry
    Redact(RedactArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The public key checkpoints must be signed by: 64 hex digits, or a
    /// file holding them
    #[arg(long, value_name = "PUBHEX|FILE")]
    trusted_key: Option<String>,
    /// A file of checkpoints kept elsewhere (as printed by `audit
    /// checkpoint`: one or more JSON documents, or an array); repeatable
    #[arg(long = "anchor", value_name = "FILE")]
    anchors: Vec<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["seq", "entity"])))]
pub struct RedactArgs {
    /// The entry to redact
    seq: Option<u64>,
    /// Redact every entry about this entity, named as the log names it
    /// (e.g. 'peer "build-01"')
    #[arg(long, value_name = "ENTITY")]
    entity: Option<String>,
    /// Why (recorded in the log; keep personal data out of it)
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

pub fn run(ctx: &Ctx, command: AuditCommand) -> CliResult {
    match command {
        AuditCommand::List { after, limit } => list(ctx, after, limit),
        AuditCommand::Verify(args) => verify(ctx, args),
        AuditCommand::Keygen { out } => keygen(&out),
        AuditCommand::Checkpoint { key } => {
            let key = read_signing_key(&key)?;
            let store = ctx.open()?;
            let checkpoint = store.create_checkpoint(&key)?;
            let value = serde_json::to_value(&checkpoint).unwrap_or(Value::Null);
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            Ok(Output::new(value, text))
        }
        AuditCommand::Redact(args) => redact(ctx, args),
    }
}

fn list(ctx: &Ctx, after: u64, limit: usize) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let entries = read.audit_log(after, limit)?;
    let mut text = String::new();
    let mut listed = Vec::new();
    for entry in &entries {
        let _ = writeln!(text, "{}", entry_line(entry));
        let reason = match entry.redacted_by {
            Some(by) => read
                .audit_entry(by)?
                .and_then(|record| record.after)
                .and_then(|after| serde_json::from_str::<Value>(&after).ok())
                .and_then(|after| after.get("reason").cloned()),
            None => None,
        };
        listed.push(entry_json(entry, reason));
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
        json!({"entries": listed, "last_seq": next}),
        text,
    ))
}

fn verify(ctx: &Ctx, args: VerifyArgs) -> CliResult {
    // Arguments are read before the store is touched.
    if args.trusted_key.is_none() && !args.anchors.is_empty() {
        return Err(CliError::Usage(
            "--anchor needs --trusted-key: an anchor is only as good as the key that signed it"
                .into(),
        ));
    }
    let key = args.trusted_key.as_deref().map(trusted_key).transpose()?;
    let mut anchors = Vec::new();
    for path in &args.anchors {
        anchors.extend(read_anchors(path)?);
    }
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let report = match &key {
        Some(key) => read.verify_audit(key, &anchors)?,
        None => read.verify_audit_unsigned()?,
    };
    let entries = count_entries(&read)?;
    let problems: Vec<Value> = report
        .problems()
        .iter()
        .map(|p| {
            json!({
                "kind": kind_name(p.kind),
                "seq": p.seq,
                "reason": p.reason,
                "message": p.to_string(),
            })
        })
        .collect();
    let json = json!({
        "intact": report.is_intact(),
        "entries": entries,
        "redacted": report.redacted(),
        "checkpoints": report.checkpoints(),
        "anchors": report.anchors(),
        "covered_through": report.covered_through(),
        "signatures_checked": report.signatures_checked(),
        "break": problems.first(),
        "problems": problems,
    });
    let text = verify_text(&report, entries);
    let output = Output::new(json, text);
    Ok(if report.is_intact() {
        output
    } else {
        output.failed()
    })
}

fn verify_text(report: &AuditReport, entries: u64) -> String {
    let mut text = String::new();
    if let Some(first) = report.first_problem() {
        let _ = write!(text, "audit chain broken: {first}");
        for more in &report.problems()[1..] {
            let _ = write!(text, "\nalso: {more}");
        }
        if !report.signatures_checked() {
            let _ = write!(text, "\n{UNSIGNED}");
        }
        return text;
    }
    let redacted = match report.redacted().len() {
        0 => String::new(),
        n => format!(", {n} redacted"),
    };
    if !report.signatures_checked() {
        let _ = write!(
            text,
            "audit chain intact ({entries} entries{redacted})\n{UNSIGNED}"
        );
        return text;
    }
    let _ = write!(
        text,
        "audit log intact ({entries} entries{redacted}): {} checkpoint(s) signed by the trusted key, {} anchor(s) matched",
        report.checkpoints(),
        report.anchors()
    );
    let covered = report.covered_through();
    if covered + 1 == entries {
        let _ = write!(
            text,
            "\nentry {entries} is not covered by a checkpoint yet (the chain alone protects it)"
        );
    } else if covered < entries {
        let _ = write!(
            text,
            "\nentries {} to {entries} are not covered by a checkpoint yet (the chain alone protects them)",
            covered + 1
        );
    }
    text
}

fn kind_name(kind: AuditProblemKind) -> &'static str {
    match kind {
        AuditProblemKind::Entry => "entry",
        AuditProblemKind::Checkpoint => "checkpoint",
        AuditProblemKind::Anchor => "anchor",
        _ => "other",
    }
}

fn count_entries(read: &alknet_graphs::Reader) -> CliResult<u64> {
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
    Ok(entries)
}

fn keygen(out: &Path) -> CliResult {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let key = audit::generate_signing_key()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| {
            let reason = match e.kind() {
                std::io::ErrorKind::AlreadyExists => "file exists".to_owned(),
                _ => io_reason(&e),
            };
            CliError::io(format!(
                "cannot create key file {}: {reason}",
                out.display()
            ))
        })?;
    file.write_all(format!("{}\n", audit::signing_key_hex(&key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            CliError::io(format!(
                "cannot write key file {}: {}",
                out.display(),
                io_reason(&e)
            ))
        })?;
    let public = audit::verifying_key_hex(&key.verifying_key());
    Ok(Output::new(
        json!({"key_file": out.display().to_string(), "public_key": public}),
        public,
    ))
}

/// The secret key in `path`, which only its owner may read.
fn read_signing_key(path: &Path) -> CliResult<SigningKey> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        CliError::io(format!(
            "cannot read key file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CliError::invalid(format!(
            "key file {} can be read by other users (mode {mode:04o}); chmod 600 it",
            path.display()
        )));
    }
    let text = read_text(path)?;
    audit::signing_key_from_hex(&text)
        .map_err(|e| CliError::invalid(format!("key file {}: {e}", path.display())))
}

/// `--trusted-key`: 64 hex digits, or a file holding them.
fn trusted_key(arg: &str) -> CliResult<audit::VerifyingKey> {
    if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return audit::verifying_key_from_hex(arg)
            .map_err(|e| CliError::invalid(format!("--trusted-key: {e}")));
    }
    let path = Path::new(arg);
    let text = read_text(path)?;
    audit::verifying_key_from_hex(&text)
        .map_err(|e| CliError::invalid(format!("--trusted-key {}: {e}", path.display())))
}

/// The checkpoints in an anchor file: JSON documents one after another,
/// each a checkpoint or an array of them.
fn read_anchors(path: &Path) -> CliResult<Vec<Checkpoint>> {
    let text = read_text(path)?;
    let named =
        |e: alknet_graphs::Error| CliError::invalid(format!("anchor {}: {e}", path.display()));
    let mut anchors = Vec::new();
    for document in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        let document = document.map_err(|e| {
            named(alknet_graphs::Error::InvalidCheckpoint {
                reason: e.to_string(),
            })
        })?;
        match document {
            Value::Array(items) => {
                for item in items {
                    anchors.push(Checkpoint::from_value(item).map_err(named)?);
                }
            }
            other => anchors.push(Checkpoint::from_value(other).map_err(named)?),
        }
    }
    if anchors.is_empty() {
        return Err(CliError::invalid(format!(
            "anchor {}: holds no checkpoint",
            path.display()
        )));
    }
    Ok(anchors)
}

fn redact(ctx: &Ctx, args: RedactArgs) -> CliResult {
    let store = ctx.open()?;
    let actor = ctx.actor.as_deref();
    let (redacted, text) = match (args.seq, &args.entity) {
        (Some(seq), _) => {
            let by = store.write(|tx| tx.redact_audit_entry(seq, &args.reason, actor))?;
            (
                vec![seq],
                format!("redacted audit entry {seq} (recorded as audit entry {by})"),
            )
        }
        (None, Some(entity)) => {
            let redacted = store.write(|tx| tx.redact_audit_entity(entity, &args.reason, actor))?;
            let text = redacted_text(entity, &redacted);
            (redacted, text)
        }
        (None, None) => return Err(CliError::Usage("give SEQ or --entity".into())),
    };
    scrubbed(&store, json!({"redacted": redacted}), text)
}

/// `peer erase ID --reason TEXT`: removes the peer if present and redacts
/// every entry about it.
pub fn erase_peer(ctx: &Ctx, id: &str, reason: &str) -> CliResult {
    let provider = ctx.identity_provider()?;
    let redacted = provider.erase_peer(id, reason)?;
    let store = ctx.open()?;
    let entity = alknet_graphs::Entity::Peer(id.to_owned()).to_string();
    let text = format!(
        "erased peer {}: {}",
        show(id),
        redacted_text(&entity, &redacted)
    );
    scrubbed(&store, json!({"erased": id, "redacted": redacted}), text)
}

fn redacted_text(entity: &str, redacted: &[u64]) -> String {
    let seqs: Vec<String> = redacted.iter().map(u64::to_string).collect();
    match redacted.len() {
        0 => format!("no audit entry about {entity} holds a payload"),
        1 => format!("redacted audit entry {} about {entity}", seqs[0]),
        n => format!(
            "redacted {n} audit entries about {entity}: {}",
            seqs.join(", ")
        ),
    }
}

/// Empties the write-ahead log so the erased bytes are in no older page
/// version; says so when another process keeps it from being emptied.
fn scrubbed(store: &Store, mut json: Value, mut text: String) -> CliResult {
    let done = store.scrub().is_ok();
    json["scrubbed"] = json!(done);
    if !done {
        text.push_str(
            "\nthe write-ahead log could not be emptied now (another process is reading): its older page versions keep the erased bytes until SQLite reuses them",
        );
    }
    Ok(Output::new(json, text))
}

/// `12  2026-05-01T10:00:00.123Z  ops  peer.create  peer "build-01"`.
fn entry_line(entry: &AuditEntry) -> String {
    let mut line = format!(
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
    );
    if let Some(by) = entry.redacted_by {
        let _ = write!(line, "  (redacted by {by})");
    }
    line
}

fn entry_json(entry: &AuditEntry, reason: Option<Value>) -> Value {
    let redacted = entry.redacted_by.map(|by| {
        json!({
            "redacted": true,
            "by": by,
            "reason": reason,
            "before_sha256": entry.before_sha256,
            "after_sha256": entry.after_sha256,
        })
    });
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
        "format": entry.format,
        "redacted": redacted,
    })
}

/// A `before`/`after` field: the JSON it holds, or its text when it does
/// not parse (a damaged entry is still listed).
fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}
