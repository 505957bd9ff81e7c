//! `acl who-has`, `acl resources` and `acl what-if`: the operator's
//! questions answered from the resolution in memory, writing nothing.

use std::fmt::Write as _;

use alknet_graphs::acl::{Change, GrantChange, GrantDelta, Permission, Principal, WhatIf};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{
    at, holdings, open, permission_json, validity, DelegateArgs, IdentityTypeArg, MemberCommand,
};
use crate::cli::output::{list_or_none, show};
use crate::cli::time::format_instant;
use crate::cli::{resource_action, CliError, CliResult, Ctx, Output};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["scope", "resource"])))]
pub struct WhoHasArgs {
    /// The scope
    scope: Option<String>,
    /// Look up an action on this resource (`type` or `type/id`) instead
    #[arg(long, value_name = "RESOURCE", requires = "action")]
    resource: Option<String>,
    /// The action on --resource
    #[arg(long, value_name = "ACTION", requires = "resource")]
    action: Option<String>,
    /// Look up at this time instead of now: unix ms, RFC 3339 or an offset
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, Args)]
pub struct ResourcesArgs {
    /// The principal's identity id (or a peer id)
    principal: String,
    /// Resolve at this time instead of now: unix ms, RFC 3339 or an offset
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WhatIfCommand {
    /// A delegation, as `acl delegate` would make it (--update: replacing
    /// the existing one)
    Delegate(DelegateArgs),
    /// Revoking the delegation FROM → TO now, as `acl revoke`
    Revoke {
        /// The delegator
        from: String,
        /// The delegate
        to: String,
    },
    /// A membership added or ended, as `acl member add | rm`
    #[command(subcommand)]
    Member(MemberCommand),
    /// A principal's own scopes replaced (and its resource actions and
    /// type, when given)
    Scopes {
        /// The principal's identity id
        principal: String,
        /// The scopes it would hold (repeatable; `--set` alone: none)
        #[arg(long = "set", value_name = "SCOPE", required = true, num_args = 0..)]
        set: Vec<String>,
        /// The resource actions it would hold, as TYPE:ACTION (repeatable;
        /// default: those it holds)
        #[arg(long = "resource", value_name = "TYPE:ACTION")]
        resources: Vec<String>,
        /// The type it would have (default: its type)
        #[arg(long = "type", value_enum)]
        identity_type: Option<IdentityTypeArg>,
    },
    /// A principal removed with its edges, as `acl principal rm`
    Remove {
        /// The principal's identity id
        principal: String,
    },
}

pub fn who_has(ctx: &Ctx, args: WhoHasArgs, now: i64) -> CliResult {
    let t = at(args.at.as_deref(), now)?;
    let permission = match (args.scope, args.resource, args.action) {
        (_, Some(resource), Some(action)) => Permission::resource(resource, action),
        (Some(scope), None, None) => Permission::scope(scope),
        _ => {
            return Err(CliError::Usage(
                "give a SCOPE, or --resource and --action".to_owned(),
            ))
        }
    };
    let provider = ctx.identity_provider()?;
    let who = provider.subjects_at(&permission, t)?;
    let text = format!(
        "principals holding {permission}: {}\npeers holding {permission}: {}",
        list_or_none(who.principals.iter().map(String::as_str)),
        list_or_none(who.peers.iter().map(String::as_str)),
    );
    Ok(Output::new(
        json!({
            "permission": permission_json(&permission),
            "at": t,
            "principals": who.principals,
            "peers": who.peers,
        }),
        text,
    ))
}

pub fn resources(ctx: &Ctx, args: ResourcesArgs, now: i64) -> CliResult {
    let t = at(args.at.as_deref(), now)?;
    let id = &args.principal;
    let acl = open(ctx)?;
    let provider = ctx.identity_provider()?;
    let principal = acl.resources_at(id, t);
    let peer = provider.resources_at(id, t)?;
    if principal.is_none() && peer.is_none() {
        return Err(CliError::Input {
            kind: "not_found",
            message: format!("no principal or peer {id:?}"),
        });
    }
    let mut text = String::new();
    let none = std::collections::BTreeSet::new();
    if let Some(resources) = &principal {
        let _ = writeln!(
            text,
            "principal {}: {}",
            show(id),
            holdings(&none, resources)
        );
    }
    if let Some(resources) = &peer {
        let _ = writeln!(text, "peer {}: {}", show(id), holdings(&none, resources));
    }
    Ok(Output::new(
        json!({"id": id, "at": t, "principal": principal, "peer": peer}),
        text,
    ))
}

pub fn what_if(ctx: &Ctx, command: WhatIfCommand, now: i64) -> CliResult {
    let acl = open(ctx)?;
    let change = match command {
        WhatIfCommand::Delegate(args) => match args.delegation(now)? {
            (delegation, true) => Change::UpdateDelegation(delegation),
            (delegation, false) => Change::Delegate(delegation),
        },
        WhatIfCommand::Revoke { from, to } => Change::Revoke { from, to },
        WhatIfCommand::Member(MemberCommand::Add {
            member,
            group,
            expires_at,
            not_before,
        }) => {
            let validity = validity(expires_at.as_deref(), not_before.as_deref(), now)?;
            Change::AddMembership(
                alknet_graphs::acl::Membership::new(member, group).validity(validity),
            )
        }
        WhatIfCommand::Member(MemberCommand::Rm { member, group }) => {
            Change::RemoveMembership { member, group }
        }
        WhatIfCommand::Scopes {
            principal,
            set,
            resources,
            identity_type,
        } => {
            let current = acl.graph().principal(&principal).ok_or_else(|| {
                CliError::Store(alknet_graphs::Error::NotFound {
                    entity: alknet_graphs::Entity::Node {
                        graph: alknet_graphs::acl::GRAPH.to_owned(),
                        key: principal.clone(),
                    },
                })
            })?;
            let kind = identity_type.map_or(current.identity_type, Into::into);
            let mut next = Principal::new(&principal, kind).scopes(set);
            if resources.is_empty() {
                next.resources = current.resources.clone();
            }
            for text in &resources {
                let (resource, action) = resource_action(text)?;
                next = next.resource(resource, [action]);
            }
            Change::UpdatePrincipal(next)
        }
        WhatIfCommand::Remove { principal } => Change::RemovePrincipal(principal),
    };
    drop(acl);
    let provider = ctx.identity_provider()?;
    let answer = provider.what_if(&change)?;
    Ok(Output::new(
        what_if_json(&change, &answer),
        what_if_text(&change, &answer),
    ))
}

fn delta_json(delta: &GrantDelta) -> Value {
    json!({"scopes": delta.scopes, "resources": delta.resources})
}

fn changes_json(changes: &[GrantChange]) -> Value {
    changes
        .iter()
        .map(|c| json!({"id": c.id, "gained": delta_json(&c.gained), "lost": delta_json(&c.lost)}))
        .collect()
}

fn what_if_json(change: &Change, answer: &WhatIf) -> Value {
    json!({
        "change": change.to_string(),
        "at": answer.at,
        "principals": changes_json(&answer.principals),
        "peers": changes_json(&answer.peers),
    })
}

fn what_if_text(change: &Change, answer: &WhatIf) -> String {
    let count = answer.principals.len() + answer.peers.len();
    if count == 0 {
        return format!(
            "{change} would change no effective grant (at {})",
            format_instant(answer.at)
        );
    }
    let mut text = format!(
        "{change} would change {count} effective grant{} (at {}):",
        if count == 1 { "" } else { "s" },
        format_instant(answer.at)
    );
    let lines = answer
        .principals
        .iter()
        .map(|c| ("principal", c))
        .chain(answer.peers.iter().map(|c| ("peer", c)));
    for (kind, c) in lines {
        let mut parts = Vec::new();
        if !c.gained.is_empty() {
            parts.push(format!(
                "gains {}",
                holdings(&c.gained.scopes, &c.gained.resources)
            ));
        }
        if !c.lost.is_empty() {
            parts.push(format!(
                "loses {}",
                holdings(&c.lost.scopes, &c.lost.resources)
            ));
        }
        let _ = write!(text, "\n  {kind} {}: {}", show(&c.id), parts.join("; "));
    }
    text
}
