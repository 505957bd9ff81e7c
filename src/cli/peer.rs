//! `peer`: the identity registry's peers (key fingerprints, a bearer
//! token, scopes and resource actions), and resolving a fingerprint or a
//! token to the identity it stands for.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use alknet_graphs::identity::{
    normalize_fingerprint, AuthToken, Identity, IdentityProvider, PeerEntry, SqliteIdentityProvider,
};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};

use super::output::{list_or_none, show};
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
    /// List peers (token hashes only with --json)
    List,
    /// Show one peer, its token hash included
    Show {
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
    /// The peer's bearer token (only its SHA-256 is stored)
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_stdin")]
    token: Option<String>,
    /// Read the bearer token from the first line of stdin
    #[arg(long)]
    token_stdin: bool,
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
    /// A bearer token: a peer's, or an API key's
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
            let peer = peer_entry(args)?;
            let provider = open(ctx)?;
            provider.insert_peer(peer.clone())?;
            written(&provider, &peer.peer_id, "added")
        }
        PeerCommand::Update(args) => {
            let peer = peer_entry(args)?;
            let provider = open(ctx)?;
            provider.replace_peer(peer.clone())?;
            written(&provider, &peer.peer_id, "replaced")
        }
        PeerCommand::Rm { id } => {
            let provider = open(ctx)?;
            provider.delete_peer(&id)?;
            let revision = provider.revision();
            Ok(Output::new(
                json!({"removed": id, "revision": revision}),
                format!("removed peer {} (revision {revision})", show(&id)),
            ))
        }
        PeerCommand::Erase { id, reason } => super::audit::erase_peer(ctx, &id, &reason),
        PeerCommand::List => {
            let provider = open(ctx)?;
            let peers = provider.peers()?;
            let mut text = String::new();
            for peer in &peers {
                let _ = writeln!(text, "{}", peer_line(peer));
            }
            if peers.is_empty() {
                text.push_str("no peers");
            }
            Ok(Output::new(
                json!({"peers": peers.iter().map(peer_json).collect::<Vec<_>>()}),
                text,
            ))
        }
        PeerCommand::Show { id } => {
            let provider = open(ctx)?;
            let peer = provider
                .peer(&id)?
                .ok_or_else(|| not_found(format!("peer {id:?} does not exist")))?;
            Ok(Output::new(peer_json(&peer), peer_text(&peer)))
        }
        PeerCommand::Resolve(args) => resolve(ctx, args),
    }
}

/// The registry of the store at `--db`, without a listener thread (a
/// one-shot command needs none), writing as `--actor`.
pub fn open(ctx: &Ctx) -> CliResult<SqliteIdentityProvider> {
    let store = ctx.open()?;
    let provider = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store)?;
    Ok(match &ctx.actor {
        Some(actor) => provider.acting_as(actor),
        None => provider,
    })
}

/// A refusal of kind `not_found`.
pub fn not_found(message: String) -> CliError {
    CliError::Input {
        kind: "not_found",
        message,
    }
}

/// A bearer token from `--token` or the first line of stdin.
pub fn token_arg(token: Option<String>, from_stdin: bool) -> CliResult<Option<AuthToken>> {
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
    if text.is_empty() {
        return Err(CliError::invalid("the token is empty"));
    }
    Ok(Some(AuthToken::new(text)))
}

/// `TYPE:ACTION` arguments grouped by resource.
pub fn resources_arg(texts: &[String]) -> CliResult<Vec<(String, String)>> {
    texts.iter().map(|text| resource_action(text)).collect()
}

fn peer_entry(args: PeerArgs) -> CliResult<PeerEntry> {
    let resources = resources_arg(&args.resources)?;
    let token = token_arg(args.token, args.token_stdin)?;
    let mut peer = PeerEntry::new(args.id).scopes(args.scopes);
    for fingerprint in args.fingerprints {
        peer = peer.fingerprint(fingerprint);
    }
    if let Some(token) = &token {
        peer = peer.token(token);
    }
    for (resource, action) in resources {
        peer = peer.resource(resource, [action]);
    }
    Ok(peer)
}

/// The output of an add or update: the peer as stored.
fn written(provider: &SqliteIdentityProvider, id: &str, verb: &str) -> CliResult {
    let revision = provider.revision();
    let peer = provider
        .peer(id)?
        .ok_or_else(|| not_found(format!("peer {id:?} does not exist")))?;
    let mut value = peer_json(&peer);
    if let Value::Object(map) = &mut value {
        map.insert("revision".into(), json!(revision));
    }
    Ok(Output::new(
        value,
        format!(
            "{verb} peer {} with {}, holding {} (revision {revision})",
            show(&peer.peer_id),
            credentials(&peer),
            holdings(&peer.scopes, &peer.resources)
        ),
    ))
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
    let provider = open(ctx)?;
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

fn credentials(peer: &PeerEntry) -> String {
    let fingerprints = match peer.fingerprints.len() {
        0 => "no fingerprint".to_owned(),
        1 => "1 fingerprint".to_owned(),
        n => format!("{n} fingerprints"),
    };
    let token = if peer.auth_token_hash.is_some() {
        "a token"
    } else {
        "no token"
    };
    format!("{fingerprints} and {token}")
}

pub fn peer_json(peer: &PeerEntry) -> Value {
    json!({
        "id": peer.peer_id,
        "fingerprints": peer.fingerprints,
        "auth_token_hash": peer.auth_token_hash,
        "scopes": peer.scopes,
        "resources": sorted_resources(&peer.resources),
    })
}

/// One line of `peer list`: never the token hash.
fn peer_line(peer: &PeerEntry) -> String {
    format!(
        "{}  {}  holds {}",
        show(&peer.peer_id),
        credentials(peer),
        holdings(&peer.scopes, &peer.resources)
    )
}

fn peer_text(peer: &PeerEntry) -> String {
    let mut text = format!("peer {}", show(&peer.peer_id));
    let _ = write!(
        text,
        "\n  fingerprints: {}",
        list_or_none(peer.fingerprints.iter().map(String::as_str))
    );
    let _ = write!(
        text,
        "\n  token hash: {}",
        peer.auth_token_hash.as_deref().unwrap_or("(none)")
    );
    let _ = write!(
        text,
        "\n  holds itself: {}",
        holdings(&peer.scopes, &peer.resources)
    );
    text
}

pub fn identity_json(identity: &Identity) -> Value {
    let mut scopes = identity.scopes.clone();
    scopes.sort();
    json!({
        "id": identity.id,
        "scopes": scopes,
        "resources": sorted_resources(&identity.resources),
    })
}

/// `build-01: ci, deploy; read+write on repo`.
pub fn identity_text(identity: &Identity) -> String {
    let mut scopes: Vec<&str> = identity.scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    let mut text = format!("{}: {}", show(&identity.id), list_or_none(scopes));
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
    fn peer_lines_never_show_the_token_hash() {
        let peer = PeerEntry::new("build-01")
            .token(&AuthToken::new("s3cret"))
            .scopes(["ci"]);
        let hash = AuthToken::new("s3cret").hash();
        let line = peer_line(&peer);
        assert_eq!(line, "build-01  no fingerprint and a token  holds ci");
        assert!(peer_text(&peer).contains(&hash));
        assert_eq!(peer_json(&peer)["auth_token_hash"], json!(hash));
    }
}
