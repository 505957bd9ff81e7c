//! `acl`: principals, resources, delegations, memberships and grants;
//! effective grants, explanations and the flat access check.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use alknet_graphs::acl::{
    AccessControl, AccessResult, Acl, Action, Delegation, EffectiveGrant, Explanation,
    IdentityType, Membership, Missing, Permission, Principal, Reason, Resource, Validity,
};
use alknet_graphs::{Entity, Error};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

mod budget;
mod lookup;

use crate::cli::output::{list_or_none, show};
use crate::cli::time::{format_instant, now_ms, parse_instant};
use crate::cli::{resource_action, CliError, CliResult, Ctx, Output};

#[derive(Debug, Subcommand)]
pub enum AclCommand {
    /// Add, remove and list principals (accounts, orgs, services, roles)
    #[command(subcommand)]
    Principal(PrincipalCommand),
    /// Add and remove resources that grants point at (`type` or `type/id`)
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Delegate part of FROM's effective grant to TO, narrowed to the
    /// scopes and resource actions given
    Delegate(DelegateArgs),
    /// Revoke the delegation FROM → TO as of now (it stays on record)
    Revoke {
        /// The delegator
        from: String,
        /// The delegate
        to: String,
    },
    /// Add or end memberships of orgs and roles
    #[command(subcommand)]
    Member(MemberCommand),
    /// Grant a principal an action on a resource
    Grant(GrantArgs),
    /// Take back a grant made with `acl grant`
    Ungrant(GrantArgs),
    /// A principal's effective scopes and resource actions (or every
    /// principal's with --all)
    Effective(EffectiveArgs),
    /// Why a principal holds a scope or resource action (the chain), or why not
    Explain(ExplainArgs),
    /// Check a principal's effective grant against requirements; exit 3
    /// when denied
    Check(CheckArgs),
    /// Budgets on delegations: set, remove and show what remains
    #[command(subcommand)]
    Budget(budget::BudgetCommand),
    /// Reserve an amount against every budget on the chains into a
    /// principal; prints the reservation's id
    Reserve(budget::ReserveArgs),
    /// Turn a live reservation into spend
    Commit(budget::SettleArgs),
    /// Return a live reservation
    Release(budget::SettleArgs),
    /// Remove delegations and memberships that expired before a time, and
    /// reservations that no longer count
    Prune(budget::PruneArgs),
    /// Every principal and peer holding a scope (or, with --resource and
    /// --action, a resource action)
    WhoHas(lookup::WhoHasArgs),
    /// Every resource action a principal (and the peer of its id) holds
    Resources(lookup::ResourcesArgs),
    /// Whose effective grant a change would change, and how, without
    /// making it
    #[command(subcommand)]
    WhatIf(lookup::WhatIfCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IdentityTypeArg {
    Account,
    Org,
    Service,
    Role,
}

impl From<IdentityTypeArg> for IdentityType {
    fn from(arg: IdentityTypeArg) -> Self {
        match arg {
            IdentityTypeArg::Account => IdentityType::Account,
            IdentityTypeArg::Org => IdentityType::Org,
            IdentityTypeArg::Service => IdentityType::Service,
            IdentityTypeArg::Role => IdentityType::Role,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ActionArg {
    Read,
    Write,
    Execute,
}

impl From<ActionArg> for Action {
    fn from(arg: ActionArg) -> Self {
        match arg {
            ActionArg::Read => Action::Read,
            ActionArg::Write => Action::Write,
            ActionArg::Execute => Action::Execute,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PrincipalCommand {
    /// Add a principal with the scopes and resource actions it holds itself
    Add {
        /// Its identity id
        id: String,
        /// What it stands for
        #[arg(long = "type", value_enum)]
        identity_type: IdentityTypeArg,
        /// A scope it holds (repeatable)
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// An action it holds on a resource, as TYPE:ACTION (repeatable)
        #[arg(long = "resource", value_name = "TYPE:ACTION")]
        resources: Vec<String>,
    },
    /// Remove a principal with every edge that touches it
    Rm {
        /// Its identity id
        id: String,
    },
    /// List principals with what they hold themselves
    List,
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Add a resource: `type`, or `type/id` for one instance
    Add {
        /// The resource's name
        name: String,
    },
    /// Remove a resource with the grants on it
    Rm {
        /// The resource's name
        name: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["scopes", "resources"])))]
pub struct DelegateArgs {
    /// The delegator
    from: String,
    /// The delegate
    to: String,
    /// A scope passed on (repeatable)
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// A resource action passed on, as TYPE:ACTION (repeatable)
    #[arg(long = "resource", value_name = "TYPE:ACTION")]
    resources: Vec<String>,
    /// In force until this time: unix ms, RFC 3339 or an offset such as +2h
    #[arg(long, value_name = "TIME")]
    expires_at: Option<String>,
    /// In force from this time: unix ms, RFC 3339 or an offset such as +2h
    #[arg(long, value_name = "TIME")]
    not_before: Option<String>,
    /// Replace an existing delegation FROM → TO (lifting a revocation)
    #[arg(long)]
    update: bool,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Make MEMBER a member of GROUP (an org or a role); it inherits the
    /// group's effective grant
    Add {
        member: String,
        group: String,
        /// In force until this time: unix ms, RFC 3339 or an offset such as +2h
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
        /// In force from this time: unix ms, RFC 3339 or an offset such as +2h
        #[arg(long, value_name = "TIME")]
        not_before: Option<String>,
    },
    /// End MEMBER's membership of GROUP
    Rm { member: String, group: String },
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The principal's identity id
    id: String,
    /// The action
    #[arg(value_enum)]
    action: ActionArg,
    /// The resource's name (`type` or `type/id`; see `acl resource add`)
    resource: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["principal", "all"])))]
pub struct EffectiveArgs {
    /// The principal's identity id
    principal: Option<String>,
    /// Every principal
    #[arg(long)]
    all: bool,
    /// Resolve at this time instead of now: unix ms, RFC 3339 or an offset
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("permission").required(true).args(["scope", "resource"])))]
pub struct ExplainArgs {
    /// The principal's identity id
    principal: String,
    /// The scope to explain
    scope: Option<String>,
    /// Explain a resource action instead, as TYPE:ACTION
    #[arg(long, value_name = "TYPE:ACTION")]
    resource: Option<String>,
    /// Explain at this time instead of now: unix ms, RFC 3339 or an offset
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("requirements").required(true).multiple(true).args(["scopes", "any", "resource"])))]
pub struct CheckArgs {
    /// The principal's identity id
    principal: String,
    /// A scope that is required (repeatable; all are required)
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// A scope of which at least one is required (repeatable)
    #[arg(long, value_name = "SCOPE")]
    any: Vec<String>,
    /// A required resource action, as TYPE:ACTION
    #[arg(long, value_name = "TYPE:ACTION")]
    resource: Option<String>,
    /// Check at this time instead of now: unix ms, RFC 3339 or an offset
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

pub fn run(ctx: &Ctx, command: AclCommand) -> CliResult {
    let now = now_ms();
    // Arguments are checked before the store is touched.
    match command {
        AclCommand::Principal(command) => principal(ctx, command),
        AclCommand::Resource(command) => resource(ctx, command),
        AclCommand::Delegate(args) => delegate(ctx, args, now),
        AclCommand::Revoke { from, to } => revoke(ctx, &from, &to),
        AclCommand::Member(command) => member(ctx, command, now),
        AclCommand::Grant(args) => grant(ctx, &args),
        AclCommand::Ungrant(args) => ungrant(ctx, &args),
        AclCommand::Effective(args) => effective(ctx, args, now),
        AclCommand::Explain(args) => explain(ctx, args, now),
        AclCommand::Check(args) => check(ctx, args, now),
        AclCommand::Budget(command) => budget::budget(ctx, command, now),
        AclCommand::Reserve(args) => budget::reserve(ctx, args),
        AclCommand::Commit(args) => budget::commit(ctx, args),
        AclCommand::Release(args) => budget::release(ctx, args),
        AclCommand::Prune(args) => budget::prune(ctx, args, now),
        AclCommand::WhoHas(args) => lookup::who_has(ctx, args, now),
        AclCommand::Resources(args) => lookup::resources(ctx, args, now),
        AclCommand::WhatIf(command) => lookup::what_if(ctx, command, now),
    }
}

fn principal(ctx: &Ctx, command: PrincipalCommand) -> CliResult {
    match command {
        PrincipalCommand::Add {
            id,
            identity_type,
            scopes,
            resources,
        } => principal_add(ctx, &id, identity_type.into(), scopes, &resources),
        PrincipalCommand::Rm { id } => principal_rm(ctx, &id),
        PrincipalCommand::List => principal_list(ctx),
    }
}

/// Adds a principal holding `scopes` and the `TYPE:ACTION` pairs in `resources`.
fn principal_add(
    ctx: &Ctx,
    id: &str,
    identity_type: IdentityType,
    scopes: Vec<String>,
    resources: &[String],
) -> CliResult {
    let mut principal = Principal::new(id, identity_type).scopes(scopes);
    for text in resources {
        let (resource, action) = resource_action(text)?;
        principal = principal.resource(resource, [action]);
    }
    let mut acl = open(ctx)?;
    let revision = acl.add_principal(&principal)?;
    Ok(Output::new(
        json!({"principal": principal_json(&principal), "revision": revision}),
        format!(
            "added {} {} holding {} (revision {revision})",
            principal.identity_type,
            show(id),
            holdings(&principal.scopes, &principal.resources)
        ),
    ))
}

fn principal_rm(ctx: &Ctx, id: &str) -> CliResult {
    let mut acl = open(ctx)?;
    let revision = acl.remove_principal(id)?;
    Ok(Output::new(
        json!({"removed": id, "revision": revision}),
        format!(
            "removed principal {} and its edges (revision {revision})",
            show(id)
        ),
    ))
}

/// Every principal in id order, with what it holds itself.
fn principal_list(ctx: &Ctx) -> CliResult {
    let acl = open(ctx)?;
    let mut principals: Vec<&Principal> = acl.graph().principals().collect();
    principals.sort_by(|a, b| a.identity_id.cmp(&b.identity_id));
    let mut text = String::new();
    for p in &principals {
        let _ = writeln!(
            text,
            "{}  {}  holds {}",
            show(&p.identity_id),
            p.identity_type,
            holdings(&p.scopes, &p.resources)
        );
    }
    if principals.is_empty() {
        text.push_str("no principals");
    }
    Ok(Output::new(
        json!({"principals": principals.iter().map(|p| principal_json(p)).collect::<Vec<_>>()}),
        text,
    ))
}

fn resource(ctx: &Ctx, command: ResourceCommand) -> CliResult {
    let mut acl = open(ctx)?;
    match command {
        ResourceCommand::Add { name } => {
            let revision = acl.add_resource(&Resource::from_name(&name))?;
            Ok(Output::new(
                json!({"resource": name, "revision": revision}),
                format!("added resource {} (revision {revision})", show(&name)),
            ))
        }
        ResourceCommand::Rm { name } => {
            let revision = acl.remove_resource(&name)?;
            Ok(Output::new(
                json!({"removed": name, "revision": revision}),
                format!(
                    "removed resource {} and the grants on it (revision {revision})",
                    show(&name)
                ),
            ))
        }
    }
}

fn revoke(ctx: &Ctx, from: &str, to: &str) -> CliResult {
    let mut acl = open(ctx)?;
    let revision = acl.revoke(from, to)?;
    Ok(Output::new(
        json!({"revoked": {"from": from, "to": to}, "revision": revision}),
        format!(
            "revoked the delegation {} → {} (revision {revision})",
            show(from),
            show(to)
        ),
    ))
}

fn member(ctx: &Ctx, command: MemberCommand, now: i64) -> CliResult {
    match command {
        MemberCommand::Add {
            member,
            group,
            expires_at,
            not_before,
        } => {
            let validity = validity(expires_at.as_deref(), not_before.as_deref(), now)?;
            member_add(ctx, &member, &group, validity)
        }
        MemberCommand::Rm { member, group } => member_rm(ctx, &member, &group),
    }
}

fn member_add(ctx: &Ctx, member: &str, group: &str, validity: Validity) -> CliResult {
    let membership = Membership::new(member, group).validity(validity);
    let mut acl = open(ctx)?;
    let revision = acl.add_membership(&membership)?;
    Ok(Output::new(
        json!({"member": member, "group": group, "validity": validity_json(&validity), "revision": revision}),
        format!(
            "{} is a member of {}{} (revision {revision})",
            show(member),
            show(group),
            validity_text(&validity)
        ),
    ))
}

fn member_rm(ctx: &Ctx, member: &str, group: &str) -> CliResult {
    let mut acl = open(ctx)?;
    let revision = acl.remove_membership(member, group)?;
    Ok(Output::new(
        json!({"removed": {"member": member, "group": group}, "revision": revision}),
        format!(
            "{} is no longer a member of {} (revision {revision})",
            show(member),
            show(group)
        ),
    ))
}

fn grant(ctx: &Ctx, args: &GrantArgs) -> CliResult {
    let action: Action = args.action.into();
    let mut acl = open(ctx)?;
    let revision = acl.grant(&args.id, action, &args.resource)?;
    Ok(Output::new(
        json!({"principal": args.id, "action": action.as_str(), "resource": args.resource, "revision": revision}),
        format!(
            "granted {} {} on {} (revision {revision})",
            show(&args.id),
            action.as_str(),
            show(&args.resource)
        ),
    ))
}

fn ungrant(ctx: &Ctx, args: &GrantArgs) -> CliResult {
    let action: Action = args.action.into();
    let mut acl = open(ctx)?;
    let revision = acl.revoke_grant(&args.id, action, &args.resource)?;
    Ok(Output::new(
        json!({"removed": {"principal": args.id, "action": action.as_str(), "resource": args.resource}, "revision": revision}),
        format!(
            "took back {} on {} from {} (revision {revision})",
            action.as_str(),
            show(&args.resource),
            show(&args.id)
        ),
    ))
}

pub(super) fn open(ctx: &Ctx) -> CliResult<Acl> {
    let store = ctx.open()?;
    let mut acl = Acl::open(&store)?;
    acl.set_actor(ctx.actor.as_deref());
    Ok(acl)
}

pub(super) fn at(text: Option<&str>, now: i64) -> CliResult<i64> {
    match text {
        None => Ok(now),
        Some(text) => parse_instant(text, now).map_err(CliError::Usage),
    }
}

pub(super) fn validity(
    expires_at: Option<&str>,
    not_before: Option<&str>,
    now: i64,
) -> CliResult<Validity> {
    let mut validity = Validity::always();
    if let Some(text) = expires_at {
        validity = validity.expires_at(at(Some(text), now)?);
    }
    if let Some(text) = not_before {
        validity = validity.not_before(at(Some(text), now)?);
    }
    Ok(validity)
}

impl DelegateArgs {
    /// The delegation the arguments describe, and whether it replaces an
    /// existing one (`--update`).
    pub(super) fn delegation(&self, now: i64) -> CliResult<(Delegation, bool)> {
        let validity = validity(self.expires_at.as_deref(), self.not_before.as_deref(), now)?;
        let mut delegation = Delegation::new(&self.from, &self.to)
            .scopes(self.scopes.iter().cloned())
            .validity(validity);
        for text in &self.resources {
            let (resource, action) = resource_action(text)?;
            delegation = delegation.resource(resource, [action]);
        }
        Ok((delegation, self.update))
    }
}

fn delegate(ctx: &Ctx, args: DelegateArgs, now: i64) -> CliResult {
    let (delegation, _) = args.delegation(now)?;
    let validity = delegation.validity;
    let mut acl = open(ctx)?;
    let revision = if args.update {
        acl.update_delegation(&delegation)?
    } else {
        acl.delegate(&delegation)?
    };
    Ok(Output::new(
        json!({
            "from": args.from,
            "to": args.to,
            "scopes": delegation.narrowed_scopes,
            "resources": delegation.narrowed_resources,
            "validity": validity_json(&validity),
            "revision": revision,
        }),
        format!(
            "{} delegates {} to {}{} (revision {revision})",
            show(&args.from),
            holdings(&delegation.narrowed_scopes, &delegation.narrowed_resources),
            show(&args.to),
            validity_text(&validity)
        ),
    ))
}

fn effective(ctx: &Ctx, args: EffectiveArgs, now: i64) -> CliResult {
    let t = at(args.at.as_deref(), now)?;
    let acl = open(ctx)?;
    let ids: Vec<String> = match (&args.principal, args.all) {
        (Some(id), _) => vec![id.clone()],
        (None, _) => {
            let mut ids: Vec<String> = acl
                .graph()
                .principals()
                .map(|p| p.identity_id.clone())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut items = Vec::new();
    let mut text = String::new();
    // Budgets are read only when some delegation has one, so a listing of
    // every principal costs nothing more on an ACL without budgets.
    let any_budget = budget::any_budget(&acl);
    for id in &ids {
        let grant = require_effective(&acl, id, t)?;
        let budgets = if any_budget {
            budget::require_budgets(&acl, id, t)?
        } else {
            Vec::new()
        };
        let _ = writeln!(text, "{}", effective_text(id, &grant));
        for budget in &budgets {
            let _ = writeln!(text, "{}", budget::budget_line(budget));
        }
        let mut item = effective_json(id, &grant);
        if let Value::Object(map) = &mut item {
            map.insert("budgets".into(), budget::budgets_json(&budgets));
        }
        items.push(item);
    }
    if ids.is_empty() {
        text.push_str("no principals");
    }
    let value = if args.all {
        json!({"at": t, "principals": items})
    } else {
        let mut value = items.pop().unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("at".into(), json!(t));
        }
        value
    };
    Ok(Output::new(value, text))
}

/// The principal's effective grant at `t`, or an error naming it.
pub fn require_effective(acl: &Acl, id: &str, t: i64) -> CliResult<EffectiveGrant> {
    acl.effective_at(id, t).ok_or_else(|| no_principal(id))
}

pub(super) fn no_principal(id: &str) -> CliError {
    CliError::Store(Error::NotFound {
        entity: Entity::Node {
            graph: alknet_graphs::acl::GRAPH.to_owned(),
            key: id.to_owned(),
        },
    })
}

fn explain(ctx: &Ctx, args: ExplainArgs, now: i64) -> CliResult {
    let t = at(args.at.as_deref(), now)?;
    let permission = match (&args.scope, &args.resource) {
        (_, Some(text)) => {
            let (resource, action) = resource_action(text)?;
            Permission::resource(resource, action)
        }
        (Some(scope), None) => Permission::scope(scope.clone()),
        (None, None) => {
            return Err(CliError::Usage(
                "give a SCOPE or --resource TYPE:ACTION to explain".into(),
            ))
        }
    };
    let acl = open(ctx)?;
    let explanation = acl
        .explain_at(&args.principal, &permission, t)
        .ok_or_else(|| no_principal(&args.principal))?;
    let budgets = budget::require_budgets(&acl, &args.principal, t)?;
    let mut value = explanation_json(&args.principal, &permission, &explanation, t);
    if let Value::Object(map) = &mut value {
        map.insert("budgets".into(), budget::budgets_json(&budgets));
    }
    let mut text = explanation_text(&args.principal, &permission, &explanation);
    for budget in &budgets {
        let _ = write!(text, "\n{}", budget::budget_line(budget));
    }
    Ok(Output::new(value, text))
}

fn check(ctx: &Ctx, args: CheckArgs, now: i64) -> CliResult {
    let t = at(args.at.as_deref(), now)?;
    let mut access = AccessControl::new()
        .require(args.scopes.iter().cloned())
        .require_any(args.any.iter().cloned());
    if let Some(text) = &args.resource {
        let (resource, action) = resource_action(text)?;
        access = access.resource(resource, action);
    }
    let acl = open(ctx)?;
    check_output(&acl, &args.principal, &access, t)
}

/// Runs the flat check on the principal's effective identity at `t`.
pub fn check_output(acl: &Acl, principal: &str, access: &AccessControl, t: i64) -> CliResult {
    let identity = require_effective(acl, principal, t)?.into_identity(principal);
    let result = access.check(Some(&identity));
    let value = json!({
        "principal": principal,
        "at": t,
        "required": {
            "scopes": access.required_scopes,
            "any": access.required_scopes_any,
            "resource": access.resource_type,
            "action": access.resource_action,
        },
        "allowed": result.is_allowed(),
        "result": result.to_string(),
        "missing": missing_json(&result),
    });
    let text = format!("{}: {result}", show(principal));
    let output = Output::new(value, text);
    Ok(if result.is_allowed() {
        output
    } else {
        output.denied()
    })
}

fn missing_json(result: &AccessResult) -> Value {
    match result {
        AccessResult::Denied(Missing::Scopes(scopes)) => json!({"scopes": scopes}),
        AccessResult::Denied(Missing::AnyOf(scopes)) => json!({"any_of": scopes}),
        AccessResult::Denied(Missing::Resource {
            resource_type,
            action,
        }) => json!({"resource": resource_type, "action": action}),
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------------------
// Presentation, shared with the demo

pub fn principal_json(p: &Principal) -> Value {
    json!({
        "id": p.identity_id,
        "type": p.identity_type.as_str(),
        "scopes": p.scopes,
        "resources": p.resources,
    })
}

/// `"a", "b"; write on "repo"` or `nothing`.
pub fn holdings<'a>(
    scopes: impl IntoIterator<Item = &'a String>,
    resources: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> String {
    let mut parts: Vec<String> = scopes.into_iter().map(|s| show(s)).collect();
    for (resource, actions) in resources {
        for action in actions {
            parts.push(format!("{action} on {}", show(resource)));
        }
    }
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        parts.join(", ")
    }
}

pub fn effective_json(id: &str, grant: &EffectiveGrant) -> Value {
    json!({
        "principal": id,
        "scopes": grant.scopes,
        "resources": grant.resources,
        "valid_until": grant.valid_until,
    })
}

pub fn effective_text(id: &str, grant: &EffectiveGrant) -> String {
    let mut text = format!(
        "{}: {}",
        show(id),
        list_or_none(grant.scopes.iter().map(String::as_str))
    );
    for (resource, actions) in &grant.resources {
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        let _ = write!(text, "; {} on {}", actions.join("+"), show(resource));
    }
    if let Some(until) = grant.valid_until {
        let _ = write!(text, " (until {})", format_instant(until));
    }
    text
}

pub(super) fn permission_json(permission: &Permission) -> Value {
    match permission {
        Permission::Scope(scope) => json!({"scope": scope}),
        Permission::Resource { resource, action } => {
            json!({"resource": resource, "action": action})
        }
    }
}

fn validity_json(validity: &Validity) -> Value {
    json!({
        "not_before": validity.not_before,
        "expires_at": validity.expires_at,
        "revoked_at": validity.revoked_at,
    })
}

fn validity_text(validity: &Validity) -> String {
    let mut text = String::new();
    if let Some(t) = validity.not_before {
        let _ = write!(text, " from {}", format_instant(t));
    }
    if let Some(t) = validity.expires_at {
        let _ = write!(text, " until {}", format_instant(t));
    }
    text
}

pub fn explanation_json(
    principal: &str,
    permission: &Permission,
    explanation: &Explanation,
    t: i64,
) -> Value {
    let mut value = json!({
        "principal": principal,
        "permission": permission_json(permission),
        "at": t,
        "granted": explanation.is_granted(),
        "text": explanation.to_string(),
    });
    if let Value::Object(map) = &mut value {
        match explanation {
            Explanation::Granted(witness) => {
                map.insert("holder".into(), json!(witness.holder));
                map.insert(
                    "chain".into(),
                    json!(witness
                        .chain
                        .iter()
                        .map(|hop| json!({
                            "edge": hop.edge,
                            "kind": hop.kind.as_str(),
                            "from": hop.from,
                            "to": hop.to,
                        }))
                        .collect::<Vec<_>>()),
                );
            }
            Explanation::Denied(reason) => {
                map.insert("reason".into(), json!(reason_kind(reason)));
            }
        }
    }
    value
}

fn reason_kind(reason: &Reason) -> &'static str {
    match reason {
        Reason::NeverHeldUpstream => "never_held_upstream",
        Reason::DroppedAtHop { .. } => "dropped_at_hop",
        Reason::Expired { .. } => "expired",
        Reason::NotYetValid { .. } => "not_yet_valid",
        Reason::Revoked { .. } => "revoked",
        Reason::BeyondMaxDepth { .. } => "beyond_max_depth",
        _ => "other",
    }
}

/// The explanation's own line, times as RFC 3339, then the chain hop by hop.
pub fn explanation_text(
    principal: &str,
    permission: &Permission,
    explanation: &Explanation,
) -> String {
    let mut text = format!("{} {permission}: ", show(principal));
    match explanation {
        Explanation::Granted(witness) => {
            text.push_str(&explanation.to_string());
            for (i, hop) in witness.chain.iter().enumerate() {
                let _ = write!(
                    text,
                    "\n  {}. {} {} → {}",
                    i + 1,
                    hop.kind,
                    show(&hop.from),
                    show(&hop.to)
                );
            }
        }
        Explanation::Denied(reason) => {
            let line = match reason {
                Reason::Expired { hop, edge, at } => format!(
                    "denied: expired at {}: hop {hop}, {edge}",
                    format_instant(*at)
                ),
                Reason::Revoked { hop, edge, at } => format!(
                    "denied: revoked at {}: hop {hop}, {edge}",
                    format_instant(*at)
                ),
                Reason::NotYetValid { hop, edge, from } => format!(
                    "denied: not valid before {}: hop {hop}, {edge}",
                    format_instant(*from)
                ),
                _ => explanation.to_string(),
            };
            text.push_str(&line);
        }
    }
    text
}
