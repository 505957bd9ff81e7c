//! `acl budget | reserve | commit | release | prune`: budgets on
//! delegations, the reservations that spend them, and pruning what has
//! expired.

use std::fmt::Write as _;
use std::time::Duration;

use alknet_graphs::acl::{Acl, AclEdge, BudgetStatus, EdgeBudget, Reservation};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::open;
use crate::cli::output::show;
use crate::cli::time::{format_instant, parse_instant};
use crate::cli::{CliError, CliResult, Ctx, Output};

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Set the budget in a unit of the delegation FROM → TO (adding or
    /// replacing it); amounts are integers in the unit's smallest
    /// denomination (cents for USD)
    Set {
        /// The delegator
        from: String,
        /// The delegate
        to: String,
        /// The unit, e.g. USD or calls
        #[arg(long)]
        unit: String,
        /// The amount
        #[arg(long)]
        amount: u64,
    },
    /// Remove the budget in a unit from the delegation FROM → TO (its
    /// spend stays recorded)
    Rm {
        /// The delegator
        from: String,
        /// The delegate
        to: String,
        /// The unit
        #[arg(long)]
        unit: String,
    },
    /// What PRINCIPAL can still reserve per unit, or every budget on every
    /// delegation
    Show {
        /// The principal's identity id
        principal: Option<String>,
        /// At this time instead of now: unix ms, RFC 3339 or an offset
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ReserveArgs {
    /// The principal that spends
    principal: String,
    /// The unit
    #[arg(long)]
    unit: String,
    /// The amount, an integer in the unit's smallest denomination
    #[arg(long)]
    amount: u64,
    /// How long it holds before it is released by itself, e.g. 30s, 15m, 2h
    #[arg(long, value_name = "DURATION")]
    ttl: String,
}

#[derive(Debug, Args)]
pub struct SettleArgs {
    /// The reservation's id (as `acl reserve` printed it)
    id: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("before").required(true).args(["expired_before", "retention"])))]
pub struct PruneArgs {
    /// Remove what expired before this time (not after now): unix ms, RFC
    /// 3339 or an offset such as -30d
    #[arg(long, value_name = "TIME")]
    expired_before: Option<String>,
    /// Remove what expired more than this long ago, e.g. 30d
    #[arg(long, value_name = "DURATION")]
    retention: Option<String>,
}

pub fn budget(ctx: &Ctx, command: BudgetCommand, now: i64) -> CliResult {
    match command {
        BudgetCommand::Set {
            from,
            to,
            unit,
            amount,
        } => {
            let mut acl = open(ctx)?;
            let revision = acl.set_budget(&from, &to, &unit, amount)?;
            Ok(Output::new(
                json!({"from": from, "to": to, "unit": unit, "amount": amount, "revision": revision}),
                format!(
                    "{} → {} has a budget of {amount} {} (revision {revision})",
                    show(&from),
                    show(&to),
                    show(&unit)
                ),
            ))
        }
        BudgetCommand::Rm { from, to, unit } => {
            let mut acl = open(ctx)?;
            let revision = acl.remove_budget(&from, &to, &unit)?;
            Ok(Output::new(
                json!({"removed": {"from": from, "to": to, "unit": unit}, "revision": revision}),
                format!(
                    "{} → {} has no budget in {} (revision {revision})",
                    show(&from),
                    show(&to),
                    show(&unit)
                ),
            ))
        }
        BudgetCommand::Show { principal, at } => {
            let t = match at {
                None => now,
                Some(text) => parse_instant(&text, now).map_err(CliError::Usage)?,
            };
            let acl = open(ctx)?;
            match principal {
                Some(id) => {
                    let budgets = require_budgets(&acl, &id, t)?;
                    let mut text = String::new();
                    if budgets.is_empty() {
                        let _ = write!(text, "{}: no budget on a chain into it", show(&id));
                    } else {
                        let _ = write!(text, "{}:", show(&id));
                        for b in &budgets {
                            let _ = write!(text, "\n{}", budget_line(b));
                            for e in &b.edges {
                                let _ = write!(text, "\n    {}", edge_line(e));
                            }
                        }
                    }
                    Ok(Output::new(
                        json!({"principal": id, "at": t, "budgets": budgets_json(&budgets)}),
                        text,
                    ))
                }
                None => {
                    let edges = acl.delegation_budgets_at(t)?;
                    let text = if edges.is_empty() {
                        "no budgets".to_owned()
                    } else {
                        edges.iter().map(edge_line).collect::<Vec<_>>().join("\n")
                    };
                    Ok(Output::new(
                        json!({"at": t, "budgets": edges.iter().map(edge_json).collect::<Vec<_>>()}),
                        text,
                    ))
                }
            }
        }
    }
}

pub fn reserve(ctx: &Ctx, args: ReserveArgs) -> CliResult {
    let ttl = parse_duration(&args.ttl).map_err(CliError::Usage)?;
    let mut acl = open(ctx)?;
    let r = acl.reserve(&args.principal, &args.unit, args.amount, ttl)?;
    let revision = acl.revision();
    Ok(Output::new(
        json!({"reservation": reservation_json(&r), "revision": revision}),
        format!(
            "{}\nreserved {} {} for {} until {} against {} (revision {revision})",
            r.id,
            r.amount,
            show(&r.unit),
            show(&r.principal),
            format_instant(r.expires_at),
            r.edges
                .iter()
                .map(|e| show(e))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

pub fn commit(ctx: &Ctx, args: SettleArgs) -> CliResult {
    let mut acl = open(ctx)?;
    let r = acl.commit(&args.id)?;
    settled(&acl, &r, "committed")
}

pub fn release(ctx: &Ctx, args: SettleArgs) -> CliResult {
    let mut acl = open(ctx)?;
    let r = acl.release(&args.id)?;
    settled(&acl, &r, "released")
}

fn settled(acl: &Acl, r: &Reservation, verb: &str) -> CliResult {
    let revision = acl.revision();
    Ok(Output::new(
        json!({"reservation": reservation_json(r), "revision": revision}),
        format!(
            "{verb} reservation {} of {} {} for {} (revision {revision})",
            r.id,
            r.amount,
            show(&r.unit),
            show(&r.principal)
        ),
    ))
}

pub fn prune(ctx: &Ctx, args: PruneArgs, now: i64) -> CliResult {
    let before = match (&args.expired_before, &args.retention) {
        (Some(text), _) => parse_instant(text, now).map_err(CliError::Usage)?,
        (None, Some(text)) => {
            let retention = parse_duration(text).map_err(CliError::Usage)?;
            now.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX))
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give --expired-before TIME or --retention DURATION".into(),
            ))
        }
    };
    let mut acl = open(ctx)?;
    let counts = acl.prune_expired_at(before, now)?;
    let text = if counts.is_empty() {
        format!("nothing expired before {}", format_instant(before))
    } else {
        format!(
            "pruned {} delegation(s), {} membership(s) and {} reservation(s) expired before {} (revision {})",
            counts.delegations,
            counts.memberships,
            counts.reservations,
            format_instant(before),
            counts.revision
        )
    };
    Ok(Output::new(
        json!({
            "expired_before": before,
            "delegations": counts.delegations,
            "memberships": counts.memberships,
            "reservations": counts.reservations,
            "revision": counts.revision,
        }),
        text,
    ))
}

/// `30s`, `15m`, `2h`, `7d`, `500ms`: a positive whole number and a unit.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let problem = |why: &str| {
        format!("{text:?} is not a duration ({why}); use a number and a unit: ms, s, m, h or d, such as 30s or 2h")
    };
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| problem("no unit"))?;
    let (digits, unit) = text.split_at(unit_at);
    let amount: u64 = digits.parse().map_err(|_| problem("no number"))?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(problem("the unit is ms, s, m, h or d")),
    };
    let ms = amount
        .checked_mul(unit_ms)
        .filter(|&ms| ms <= i64::MAX as u64)
        .ok_or_else(|| problem("out of range"))?;
    Ok(Duration::from_millis(ms))
}

// ---------------------------------------------------------------------------
// Presentation, shared with `acl effective` and `acl explain`

/// Whether any delegation carries a budget.
pub fn any_budget(acl: &Acl) -> bool {
    acl.graph()
        .edges()
        .any(|(_, edge)| matches!(edge, AclEdge::Delegates(d) if !d.budgets.is_empty()))
}

/// The principal's budgets at `t`, or an error naming it.
pub fn require_budgets(acl: &Acl, id: &str, t: i64) -> CliResult<Vec<BudgetStatus>> {
    acl.budgets_at(id, t)?
        .ok_or_else(|| super::no_principal(id))
}

/// `  budget "USD": 5000, 3000 spent, 0 reserved, 2000 remaining (tightest: "delegates alice bot")`
pub fn budget_line(b: &BudgetStatus) -> String {
    format!(
        "  budget {}: {}, {} spent, {} reserved, {} remaining (tightest: {})",
        show(&b.unit),
        b.amount,
        b.spent,
        b.reserved,
        b.remaining,
        show(&b.tightest)
    )
}

fn edge_line(e: &EdgeBudget) -> String {
    format!(
        "{} {}: {}, {} spent, {} reserved, {} remaining{}",
        show(&e.edge),
        show(&e.unit),
        e.amount,
        e.spent,
        e.reserved,
        e.remaining,
        if e.active { "" } else { " (not in force)" }
    )
}

pub fn budgets_json(budgets: &[BudgetStatus]) -> Value {
    json!(budgets
        .iter()
        .map(|b| json!({
            "unit": b.unit,
            "amount": b.amount,
            "spent": b.spent,
            "reserved": b.reserved,
            "remaining": b.remaining,
            "tightest": b.tightest,
            "edges": b.edges.iter().map(edge_json).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

fn edge_json(e: &EdgeBudget) -> Value {
    json!({
        "edge": e.edge,
        "from": e.from,
        "to": e.to,
        "unit": e.unit,
        "amount": e.amount,
        "spent": e.spent,
        "reserved": e.reserved,
        "remaining": e.remaining,
        "active": e.active,
    })
}

fn reservation_json(r: &Reservation) -> Value {
    json!({
        "id": r.id,
        "principal": r.principal,
        "unit": r.unit,
        "amount": r.amount,
        "state": r.state.as_str(),
        "created_at": r.created_at,
        "expires_at": r.expires_at,
        "settled_at": r.settled_at,
        "edges": r.edges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_say_why_not() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("5").unwrap_err(),
            r#""5" is not a duration (no unit); use a number and a unit: ms, s, m, h or d, such as 30s or 2h"#
        );
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }
}
