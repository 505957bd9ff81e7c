//! Input checks on what a write names, before any transaction starts:
//! well-formed tokens, validity windows, group kinds, budget units and
//! amounts. The ACL's writes, its what-if and its import all apply them.

use super::codec::resource_key;
use super::model::{AclEdge, Delegation, Membership, Principal, Resource, Resources, Validity};
use super::scope::{grant_problem, resource_type_problem, token_problem};
use super::snapshot::{edge_entity, node_entity};
use crate::{Entity, Error, Result};

/// The largest amount a budget or a reservation can have: `i64::MAX`, so
/// that every amount is an exact SQLite integer.
pub const MAX_AMOUNT: u64 = i64::MAX as u64;

pub(super) fn check_identity_id(identity_id: &str) -> Result<()> {
    match token_problem("identity_id", identity_id) {
        Some(reason) => Err(Error::invalid(node_entity(identity_id), reason)),
        None => Ok(()),
    }
}

pub(super) fn check_principal(principal: &Principal) -> Result<()> {
    check_identity_id(&principal.identity_id)?;
    check_grants(
        || node_entity(&principal.identity_id),
        &principal.scopes,
        &principal.resources,
    )
}

pub(super) fn check_delegation(delegation: &Delegation) -> Result<()> {
    check_identity_id(&delegation.from)?;
    check_identity_id(&delegation.to)?;
    let key = AclEdge::Delegates(delegation.clone()).key();
    check_grants(
        || edge_entity(&key),
        &delegation.narrowed_scopes,
        &delegation.narrowed_resources,
    )?;
    for (unit, &amount) in &delegation.budgets {
        check_unit(|| edge_entity(&key), unit)?;
        check_amount(|| edge_entity(&key), "a budget", amount)?;
    }
    check_validity(&key, &delegation.validity)
}

fn check_grants<'a>(
    entity: impl Fn() -> Entity,
    scopes: impl IntoIterator<Item = &'a String>,
    resources: &'a Resources,
) -> Result<()> {
    match grant_problem(scopes, resources) {
        Some(reason) => Err(Error::invalid(entity(), reason)),
        None => Ok(()),
    }
}

/// A resource's type and id are well-formed tokens.
pub(super) fn check_resource(resource: &Resource) -> Result<()> {
    let invalid = |reason| Error::invalid(node_entity(&resource_key(&resource.name())), reason);
    if let Some(reason) = resource_type_problem(&resource.resource_type) {
        return Err(invalid(reason));
    }
    if let Some(id) = &resource.resource_id {
        if let Some(reason) = token_problem("resource_id", id) {
            return Err(invalid(reason));
        }
    }
    Ok(())
}

/// Only an org or a role has members.
pub(super) fn check_group(key: &str, membership: &Membership, group: &Principal) -> Result<()> {
    if group.identity_type.is_group() {
        return Ok(());
    }
    Err(Error::invalid(
        edge_entity(key),
        format!(
            "group {:?} is {} {}; only an org or a role can have members",
            membership.group,
            article(group.identity_type.as_str()),
            group.identity_type
        ),
    ))
}

pub(super) fn check_validity(key: &str, validity: &Validity) -> Result<()> {
    if let (Some(from), Some(until)) = (validity.not_before, validity.expires_at) {
        if until <= from {
            return Err(Error::invalid(
                edge_entity(key),
                format!("expires_at ({until}) is not after not_before ({from}); it would never be in force"),
            ));
        }
    }
    Ok(())
}

/// A unit is a well-formed token.
pub(super) fn check_unit(entity: impl Fn() -> Entity, unit: &str) -> Result<()> {
    match token_problem("unit", unit) {
        Some(reason) => Err(Error::invalid(entity(), reason)),
        None => Ok(()),
    }
}

/// An amount fits [`MAX_AMOUNT`].
pub(super) fn check_amount(entity: impl Fn() -> Entity, what: &str, amount: u64) -> Result<()> {
    if amount > MAX_AMOUNT {
        return Err(Error::invalid(
            entity(),
            format!("{what} of {amount} exceeds the largest amount, {MAX_AMOUNT}"),
        ));
    }
    Ok(())
}

pub(super) fn quoted(items: Vec<&str>) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_units_are_checked() {
        let e = || Entity::Reservation("r".into());
        assert!(check_amount(e, "an amount", MAX_AMOUNT).is_ok());
        assert_eq!(
            check_amount(e, "an amount", MAX_AMOUNT + 1)
                .unwrap_err()
                .to_string(),
            r#"reservation "r": an amount of 9223372036854775808 exceeds the largest amount, 9223372036854775807"#
        );
        assert!(check_unit(e, "USD").is_ok());
        assert!(check_unit(e, "U S D").is_err());
        assert!(check_unit(e, "").is_err());
    }
}
