//! `apikey`: tokens that resolve to their owner's id with the key's own
//! scopes and resource actions, narrowed to what the owner holds: the
//! owner (a peer or an ACL principal) must exist and hold them when the
//! key is created, and the key holds key ∩ the owner's grant at each
//! resolution. The token is printed once, when the key is created; the
//! store keeps only its hash.

use std::fmt::Write as _;

use alknet_graphs::identity::{ApiKey, AuthToken, NewApiKey};
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::show;
use super::peer::{holdings, resources_arg, sorted_resources};
use super::time::{format_instant, now_ms, parse_instant};
use super::{CliError, CliResult, Ctx, Output};

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; its token is printed this once and never again
    Create {
        /// A human name for it
        #[arg(long)]
        name: String,
        /// The id it resolves to: a peer or an ACL principal, which must
        /// hold every scope and resource action the key grants
        #[arg(long, value_name = "ID")]
        owner: String,
        /// A scope it grants (repeatable)
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// An action it grants on a resource, as TYPE:ACTION (repeatable)
        #[arg(long = "resource", value_name = "TYPE:ACTION")]
        resources: Vec<String>,
        /// When it stops working: unix ms, RFC 3339 or an offset such as +30d
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
    },
    /// Revoke a key for good
    Revoke {
        /// The key's id
        id: String,
    },
    /// Disable a key (it resolves to nothing until enabled)
    Disable {
        /// The key's id
        id: String,
    },
    /// Enable a disabled key (a revoked key cannot be enabled)
    Enable {
        /// The key's id
        id: String,
    },
    /// List keys (never their tokens)
    List,
}

pub fn run(ctx: &Ctx, command: ApikeyCommand) -> CliResult {
    // Arguments are checked before the store is touched.
    match command {
        ApikeyCommand::Create {
            name,
            owner,
            scopes,
            resources,
            expires_at,
        } => {
            let mut key = NewApiKey::new(name, owner).scopes(scopes);
            for (resource, action) in resources_arg(&resources)? {
                key = key.resource(resource, [action]);
            }
            if let Some(text) = expires_at {
                key = key.expires_at(parse_instant(&text, now_ms()).map_err(CliError::Usage)?);
            }
            let provider = ctx.identity_provider()?;
            let (key, token) = provider.create_api_key(key)?;
            Ok(created(&key, &token, provider.revision()))
        }
        ApikeyCommand::Revoke { id } => change(ctx, &id, "revoked", |p, id| p.revoke_api_key(id)),
        ApikeyCommand::Disable { id } => change(ctx, &id, "disabled", |p, id| {
            p.set_api_key_enabled(id, false)
        }),
        ApikeyCommand::Enable { id } => {
            change(ctx, &id, "enabled", |p, id| p.set_api_key_enabled(id, true))
        }
        ApikeyCommand::List => {
            let provider = ctx.identity_provider()?;
            let keys = provider.api_keys()?;
            let now = now_ms();
            let mut text = String::new();
            for key in &keys {
                let _ = writeln!(text, "{}", key_line(key, now));
            }
            if keys.is_empty() {
                text.push_str("no API keys");
            }
            Ok(Output::new(
                json!({"api_keys": keys.iter().map(key_json).collect::<Vec<_>>()}),
                text,
            ))
        }
    }
}

fn change(
    ctx: &Ctx,
    id: &str,
    verb: &str,
    write: impl FnOnce(
        &alknet_graphs::identity::SqliteIdentityProvider,
        &str,
    ) -> Result<ApiKey, alknet_graphs::identity::StoreError>,
) -> CliResult {
    let provider = ctx.identity_provider()?;
    let key = write(&provider, id)?;
    let revision = provider.revision();
    let mut value = key_json(&key);
    if let Value::Object(map) = &mut value {
        map.insert("revision".into(), json!(revision));
    }
    Ok(Output::new(
        value,
        format!(
            "{verb} API key {} ({}, owner {}) (revision {revision})",
            key.id,
            show(&key.name),
            show(&key.owner_id)
        ),
    ))
}

fn created(key: &ApiKey, token: &AuthToken, revision: u64) -> Output {
    let mut value = key_json(key);
    if let Value::Object(map) = &mut value {
        map.insert("token".into(), json!(token.as_str()));
        map.insert("revision".into(), json!(revision));
    }
    let mut text = format!(
        "created API key {} ({}) resolving to {}, granting {}",
        key.id,
        show(&key.name),
        show(&key.owner_id),
        holdings(&key.scopes, &key.resources)
    );
    if let Some(t) = key.expires_at {
        let _ = write!(text, ", until {}", format_instant(t));
    }
    let _ = write!(
        text,
        " (revision {revision})\ntoken: {}\nthis token will not be shown again: store it now",
        token.as_str()
    );
    Output::new(value, text)
}

fn key_json(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "owner_id": key.owner_id,
        "scopes": key.scopes,
        "resources": sorted_resources(&key.resources),
        "enabled": key.enabled,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "created_at": key.created_at,
    })
}

fn key_line(key: &ApiKey, now: i64) -> String {
    let state = if key.revoked_at.is_some() {
        "revoked".to_owned()
    } else if !key.enabled {
        "disabled".to_owned()
    } else {
        match key.expires_at {
            Some(t) if t <= now => format!("expired {}", format_instant(t)),
            Some(t) => format!("active until {}", format_instant(t)),
            None => "active".to_owned(),
        }
    };
    format!(
        "{}  {}  owner {}  {state}  grants {}",
        key.id,
        show(&key.name),
        show(&key.owner_id),
        holdings(&key.scopes, &key.resources)
    )
}
