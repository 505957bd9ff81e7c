//! `peer`: the identity registry's peers (key fingerprints, a bearer
//! token, scopes and resource actions), the history of the credentials
//! each has held, and resolving a fingerprint or a token to the identity
//! it stands for. A token is read from stdin or generated (and printed
//! once); the store keeps only its hash, and no command prints that.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use alknet_graphs::identity::{
    normalize_fingerprint, AuthToken, CredentialKind, CredentialRecord, Identity, IdentityProvider,
    PeerEntry, SqliteIdentityProvider, StoreError, MIN_TOKEN_BYTES,
};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};

use super::output::{list_or_none, show};
use super::time::format_instant;
use super::{resource_action, CliError, CliResult, Ctx, Output};

#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Add a peer with its key fingerprints, token and what it holds itself
    Add(PeerArgs),
    /// Replace a peer's whole entry: fingerprints, token, scopes and
    /// resources not given are dropped
    Update(PeerArgs),
    /// Remove a peer
    Rm {
        /// The peer's id
        id: String,
    },
    /// Erase a peer's personal data: remove it if present and redact every
    /// audit entry about it (see `audit redact`)
    Erase {
        /// The peer's id
        id: String,
        /// Why (recorded in the log; keep personal data out of it)
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// List peers (whether each has a token and when it was set; never a
    /// token hash)
    List,
    /// Show one peer (whether it has a token and when it was set; never
    /// the token hash)
    Show {
        /// The peer's id
        id: String,
    },
    /// Every fingerprint and token the peer has held: when each was added
    /// and removed, and by whom (tokens by ordinal, never by hash); kept
    /// after the peer is removed
    History {
        /// The peer's id
        id: String,
    },
    /// The identity a key fingerprint or a token (a peer's or an API key's)
    /// resolves to, with the ACL grant of the account or service principal
    /// of the same id; exit 1 when nothing resolves, or when the registry
    /// is not healthy (what resolved is then shown, labelled)
    Resolve(ResolveArgs),
}

#[derive(Debug, Args)]
pub struct PeerArgs {
    /// The peer's id (the resolved identity's id; an account or service
    /// ACL principal of the same id adds its effective grant)
    id: String,
    /// A key fingerprint, ed25519:<64 hex> or SHA256:<64 hex> (repeatable)
    #[arg(long = "fingerprint", value_name = "FINGERPRINT")]
    fingerprints: Vec<String>,
    /// The peer's bearer token, at least 32 bytes (only its SHA-256 is
    /// stored). An argument is visible to other users of the machine (ps,
    /// /proc) and kept in shell history: prefer --token-stdin or
    /// --generate-token
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["token_stdin", "generate_token"])]
    token: Option<String>,
    /// Read the bearer token from the first line of stdin
    #[arg(long, conflicts_with = "generate_token")]
    token_stdin: bool,
    /// Generate a random token for the peer and print it once (on update:
    /// rotate to a new one)
    #[arg(long)]
    generate_token: bool,
    /// A scope it holds itself (repeatable)
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// An action it holds on a resource, as TYPE:ACTION (repeatable)
    #[arg(long = "resource", value_name = "TYPE:ACTION")]
    resources: Vec<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("credential").required(true).args(["fingerprint", "token", "token_stdin"])))]
pub struct ResolveArgs {
    /// A key fingerprint, ed25519:<64 hex> or SHA256:<64 hex> (any case)
    #[arg(long, value_name = "FINGERPRINT")]
    fingerprint: Option<String>,
    /// A bearer token: a peer's, or an API key's. An argument is visible
    /// to other users of the machine (ps, /proc) and kept in shell
    /// history: prefer --token-stdin
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Read the bearer token from the first line of stdin
    #[arg(long)]
    token_stdin: bool,
}

pub fn run(ctx: &Ctx, command: PeerCommand) -> CliResult {
    // Arguments are checked before the store is touched.
    match command {
        PeerCommand::Add(args) => {
            let (peer, generated) = peer_entry(args)?;
            let provider = ctx.identity_provider()?;
            provider.insert_peer(peer.clone())?;
            written(&provider, &peer.peer_id, "added", generated.as_ref())
        }
        PeerCommand::Update(args) => {
            let (peer, generated) = peer_entry(args)?;
            let provider = ctx.identity_provider()?;
            provider.replace_peer(peer.clone())?;
            written(&provider, &peer.peer_id, "replaced", generated.as_ref())
        }
        PeerCommand::Rm { id } => {
            let provider = ctx.identity_provider()?;
            provider.delete_peer(&id)?;
            let revision = provider.revision();
            Ok(Output::new(
                json!({"removed": id, "revision": revision}),
                format!("removed peer {} (revision {revision})", show(&id)),
            ))
        }
        PeerCommand::Erase { id, reason } => super::audit::erase_peer(ctx, &id, &reason),
        PeerCommand::List => {
            let provider = ctx.identity_provider()?;
            let peers = provider.peers()?;
            let mut text = String::new();
            let mut listed = Vec::with_capacity(peers.len());
            for peer in &peers {
                let token = current_token(&provider, peer)?;
                let _ = writeln!(text, "{}", peer_line(peer, token.as_ref()));
                listed.push(peer_json(peer, token.as_ref()));
            }
            if peers.is_empty() {
                text.push_str("no peers");
            }
            Ok(Output::new(json!({ "peers": listed }), text))
        }
        PeerCommand::Show { id } => {
            let provider = ctx.identity_provider()?;
            let peer = provider
                .peer(&id)?
                .ok_or_else(|| not_found(format!("peer {id:?} does not exist")))?;
            let token = current_token(&provider, &peer)?;
            Ok(Output::new(
                peer_json(&peer, token.as_ref()),
                peer_text(&peer, token.as_ref()),
            ))
        }
        PeerCommand::History { id } => history(ctx, &id),
        PeerCommand::Resolve(args) => resolve(ctx, args),
    }
}

/// A refusal of kind `not_found`.
pub fn not_found(message: String) -> CliError {
    CliError::Input {
        kind: "not_found",
        message,
    }
}

/// A bearer token from `--token` or the first line of stdin (its line
/// ending stripped), as given.
fn read_token(token: Option<String>, from_stdin: bool) -> CliResult<Option<AuthToken>> {
    let text = match (token, from_stdin) {
        (Some(token), _) => token,
        (None, false) => return Ok(None),
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| CliError::io(format!("cannot read the token from stdin: {e}")))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    Ok(Some(AuthToken::new(text)))
}

/// A bearer token to resolve, from `--token` or the first line of stdin.
pub fn token_arg(token: Option<String>, from_stdin: bool) -> CliResult<Option<AuthToken>> {
    let token = read_token(token, from_stdin)?;
    if token.as_ref().is_some_and(|t| t.as_str().is_empty()) {
        return Err(CliError::invalid("the token is empty"));
    }
    Ok(token)
}

/// `TYPE:ACTION` arguments grouped by resource.
pub fn resources_arg(texts: &[String]) -> CliResult<Vec<(String, String)>> {
    texts.iter().map(|text| resource_action(text)).collect()
}

/// The entry the arguments describe, and the token generated for it with
/// `--generate-token`. A token given is checked for length here, before
/// the store is touched.
fn peer_entry(args: PeerArgs) -> CliResult<(PeerEntry, Option<AuthToken>)> {
    let resources = resources_arg(&args.resources)?;
    let token = read_token(args.token, args.token_stdin)?;
    if let Some(token) = &token {
        let len = token.as_str().len();
        if len < MIN_TOKEN_BYTES {
            return Err(CliError::from(StoreError::Invalid(format!(
                "peer {:?}: a token must be at least {MIN_TOKEN_BYTES} bytes (got {len}); \
                 generate one with --generate-token",
                args.id
            ))));
        }
    }
    let mut peer = PeerEntry::new(args.id).scopes(args.scopes);
    for fingerprint in args.fingerprints {
        peer = peer.fingerprint(fingerprint);
    }
    if let Some(token) = &token {
        peer = peer.token(token);
    }
    let generated = args.generate_token.then(|| peer.generate_token());
    for (resource, action) in resources {
        peer = peer.resource(resource, [action]);
    }
    Ok((peer, generated))
}

/// The output of an add or update: the peer as stored, and the token
/// generated for it, shown this once.
fn written(
    provider: &SqliteIdentityProvider,
    id: &str,
    verb: &str,
    generated: Option<&AuthToken>,
) -> CliResult {
    let revision = provider.revision();
    let peer = provider
        .peer(id)?
        .ok_or_else(|| not_found(format!("peer {id:?} does not exist")))?;
    let token = current_token(provider, &peer)?;
    let mut value = peer_json(&peer, token.as_ref());
    if let Value::Object(map) = &mut value {
        if let Some(generated) = generated {
            map.insert("generated_token".into(), json!(generated.as_str()));
        }
        map.insert("revision".into(), json!(revision));
    }
    let mut text = format!(
        "{verb} peer {} with {}, holding {} (revision {revision})",
        show(&peer.peer_id),
        credentials(&peer),
        holdings(&peer.scopes, &peer.resources)
    );
    if let Some(generated) = generated {
        let _ = write!(
            text,
            "\ntoken: {}\nthis token will not be shown again: store it now",
            generated.as_str()
        );
    }
    Ok(Output::new(value, text))
}

/// The history record of the peer's current token, if it has one: when
/// it was set and by whom.
fn current_token(
    provider: &SqliteIdentityProvider,
    peer: &PeerEntry,
) -> CliResult<Option<CredentialRecord>> {
    if peer.auth_token_hash.is_none() {
        return Ok(None);
    }
    Ok(provider
        .history(&peer.peer_id)?
        .into_iter()
        .rev()
        .find(|record| record.kind == CredentialKind::Token && record.is_current()))
}

/// `peer history ID`: every credential the peer has held.
fn history(ctx: &Ctx, id: &str) -> CliResult {
    let provider = ctx.identity_provider()?;
    let records = provider.history(id)?;
    let exists = provider.peer(id)?.is_some();
    if records.is_empty() && !exists {
        return Err(not_found(format!(
            "peer {id:?} does not exist and has no credential history"
        )));
    }
    let mut text = String::new();
    for record in &records {
        let _ = writeln!(text, "{}", history_line(record));
    }
    if records.is_empty() {
        let _ = write!(text, "peer {} has held no fingerprint or token", show(id));
    }
    Ok(Output::new(
        json!({
            "peer": id,
            "exists": exists,
            "history": records.iter().map(history_json).collect::<Vec<_>>(),
        }),
        text,
    ))
}

fn history_json(record: &CredentialRecord) -> Value {
    json!({
        "kind": record.kind.as_str(),
        "value": record.value,
        "added_at": record.added_at,
        "added_by": record.added_by,
        "removed_at": record.removed_at,
        "removed_by": record.removed_by,
    })
}

/// `2026-11-22T17:00:09.380Z by ops`, `2026-11-22T17:00:09.380Z`, or
/// `before the history began` for an instant not recorded.
fn when_by(at: Option<i64>, by: Option<&str>) -> String {
    let mut text = match at {
        Some(t) => format_instant(t),
        None => "before the history began".to_owned(),
    };
    if let Some(by) = by {
        let _ = write!(text, " by {}", show(by));
    }
    text
}

/// `fingerprint ed25519:…  added … by ops  removed … by ops`, or `current`.
fn history_line(record: &CredentialRecord) -> String {
    let mut line = format!(
        "{} {}  added {}",
        record.kind,
        show(&record.value),
        when_by(record.added_at, record.added_by.as_deref())
    );
    match record.removed_at {
        Some(t) => {
            let _ = write!(
                line,
                "  removed {}",
                when_by(Some(t), record.removed_by.as_deref())
            );
        }
        None => line.push_str("  current"),
    }
    line
}

/// Resolves a fingerprint or a token. When the registry is not healthy
/// (the ACL or the registry could not be read) it exits 1 naming the
/// reason: what resolved anyway is shown labelled as resolved while not
/// healthy, and `--json` adds a `status` object (`revision`, `health`,
/// `reason`); a healthy answer carries no `status`.
fn resolve(ctx: &Ctx, args: ResolveArgs) -> CliResult {
    let token = token_arg(args.token, args.token_stdin)?;
    let fingerprint = args
        .fingerprint
        .as_deref()
        .map(normalize_fingerprint)
        .transpose()?;
    let provider = ctx.identity_provider()?;
    let status = provider.status();
    let (via, identity, missing) = match (&fingerprint, &token) {
        (Some(fingerprint), _) => (
            "fingerprint",
            provider.resolve_from_fingerprint(fingerprint),
            format!("no peer has the fingerprint {fingerprint}"),
        ),
        (None, Some(token)) => (
            "token",
            provider.resolve_from_token(token),
            "the token matches no peer and no enabled, unrevoked, unexpired API key".to_owned(),
        ),
        (None, None) => {
            return Err(CliError::Usage(
                "give --fingerprint, --token or --token-stdin to resolve".into(),
            ))
        }
    };
    let unhealthy = (!status.health.is_healthy()).then(|| {
        format!(
            "the identity registry is not healthy: {}; {}",
            status.health,
            status.health.serving()
        )
    });
    let Some(identity) = identity else {
        let message = match &unhealthy {
            Some(why) => format!("{missing}; {why}"),
            None => missing,
        };
        return Err(not_found(message));
    };
    let mut value = identity_json(&identity);
    if let Value::Object(map) = &mut value {
        map.insert("via".into(), json!(via));
    }
    let Some(why) = unhealthy else {
        return Ok(Output::new(value, identity_text(&identity)));
    };
    if let Value::Object(map) = &mut value {
        map.insert(
            "status".into(),
            json!({
                "revision": status.revision,
                "health": status.health.kind(),
                "reason": status.health.reason(),
            }),
        );
    }
    let text = format!(
        "error: {why}\nresolved while not healthy (at most the true grant): {}",
        identity_text(&identity)
    );
    Ok(Output::new(value, text).failed())
}

// ---------------------------------------------------------------------------
// Presentation, shared with `apikey` and the demo

/// Resource actions sorted by resource, each list sorted.
pub fn sorted_resources(resources: &HashMap<String, Vec<String>>) -> BTreeMap<&str, Vec<&str>> {
    resources
        .iter()
        .map(|(resource, actions)| {
            let actions: BTreeSet<&str> = actions.iter().map(String::as_str).collect();
            (resource.as_str(), actions.into_iter().collect())
        })
        .collect()
}

/// `ci, deploy, read+write on repo` or `nothing`.
pub fn holdings(scopes: &[String], resources: &HashMap<String, Vec<String>>) -> String {
    let mut parts: Vec<String> = scopes.iter().map(|s| show(s)).collect();
    for (resource, actions) in sorted_resources(resources) {
        parts.push(format!("{} on {}", actions.join("+"), show(resource)));
    }
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        parts.join(", ")
    }
}

fn fingerprint_count(peer: &PeerEntry) -> String {
    match peer.fingerprints.len() {
        0 => "no fingerprint".to_owned(),
        1 => "1 fingerprint".to_owned(),
        n => format!("{n} fingerprints"),
    }
}

fn credentials(peer: &PeerEntry) -> String {
    let fingerprints = fingerprint_count(peer);
    let token = if peer.auth_token_hash.is_some() {
        "a token"
    } else {
        "no token"
    };
    format!("{fingerprints} and {token}")
}

/// A peer as JSON: whether it has a token (`"token": "set"` or `null`)
/// and when it was set (`token_set_at`, `token_set_by`, from `token`, its
/// history record), never the token hash.
pub fn peer_json(peer: &PeerEntry, token: Option<&CredentialRecord>) -> Value {
    json!({
        "id": peer.peer_id,
        "fingerprints": peer.fingerprints,
        "token": peer.auth_token_hash.as_ref().map(|_| "set"),
        "token_set_at": token.and_then(|t| t.added_at),
        "token_set_by": token.and_then(|t| t.added_by.as_deref()),
        "scopes": peer.scopes,
        "resources": sorted_resources(&peer.resources),
    })
}

/// `set 2026-11-22T17:00:09.380Z by ops`, or `none`.
fn token_state(peer: &PeerEntry, token: Option<&CredentialRecord>) -> String {
    match (&peer.auth_token_hash, token) {
        (None, _) => "none".to_owned(),
        (Some(_), Some(record)) => {
            format!(
                "set {}",
                when_by(record.added_at, record.added_by.as_deref())
            )
        }
        (Some(_), None) => "set".to_owned(),
    }
}

/// One line of `peer list`: never the token hash.
fn peer_line(peer: &PeerEntry, token: Option<&CredentialRecord>) -> String {
    format!(
        "{}  {}  token: {}  holds {}",
        show(&peer.peer_id),
        fingerprint_count(peer),
        token_state(peer, token),
        holdings(&peer.scopes, &peer.resources)
    )
}

fn peer_text(peer: &PeerEntry, token: Option<&CredentialRecord>) -> String {
    let mut text = format!("peer {}", show(&peer.peer_id));
    let _ = write!(
        text,
        "\n  fingerprints: {}",
        list_or_none(peer.fingerprints.iter().map(String::as_str))
    );
    let _ = write!(text, "\n  token: {}", token_state(peer, token));
    let _ = write!(
        text,
        "\n  holds itself: {}",
        holdings(&peer.scopes, &peer.resources)
    );
    text
}

pub fn identity_json(identity: &Identity) -> Value {
    json!({
        "id": identity.id,
        "scopes": identity.scopes,
        "resources": sorted_resources(&identity.resources),
    })
}

/// `build-01: ci, deploy; read+write on repo`.
pub fn identity_text(identity: &Identity) -> String {
    let mut text = format!(
        "{}: {}",
        show(&identity.id),
        list_or_none(identity.scopes.iter())
    );
    for (resource, actions) in sorted_resources(&identity.resources) {
        let _ = write!(text, "; {} on {}", actions.join("+"), show(resource));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_read_the_same_whatever_the_map_order() {
        let identity = Identity::new("build-01")
            .scopes(["deploy", "ci"])
            .resource("repo", ["write", "read"])
            .resource("artifacts", ["read"]);
        assert_eq!(
            identity_text(&identity),
            "build-01: ci, deploy; read on artifacts; read+write on repo"
        );
        assert_eq!(
            identity_json(&identity),
            json!({"id": "build-01", "scopes": ["ci", "deploy"],
                   "resources": {"artifacts": ["read"], "repo": ["read", "write"]}})
        );
        assert_eq!(identity_text(&Identity::new("x")), "x: (none)");
    }

    #[test]
    fn peers_never_show_the_token_hash() {
        let token = AuthToken::new("s3cret-s3cret-s3cret-s3cret-s3cret");
        let peer = PeerEntry::new("build-01").token(&token).scopes(["ci"]);
        let record = CredentialRecord {
            kind: CredentialKind::Token,
            value: "#1".into(),
            added_at: Some(1_795_366_285_649),
            added_by: Some("ops".into()),
            removed_at: None,
            removed_by: None,
        };
        assert_eq!(
            peer_line(&peer, Some(&record)),
            "build-01  no fingerprint  token: set 2026-11-22T16:51:25.649Z by ops  holds ci"
        );
        assert_eq!(
            peer_line(&PeerEntry::new("x"), None),
            "x  no fingerprint  token: none  holds nothing"
        );
        let hash = token.hash();
        assert!(!peer_text(&peer, Some(&record)).contains(&hash));
        let value = peer_json(&peer, Some(&record));
        assert!(!value.to_string().contains(&hash), "{value}");
        assert_eq!(value["token"], "set");
        assert_eq!(value["token_set_at"], 1_795_366_285_649_i64);
        assert_eq!(
            history_line(&record),
            "token #1  added 2026-11-22T16:51:25.649Z by ops  current"
        );
    }
}
