//! The ACL's rows, checked for [`verify`](crate::verify()): every row of
//! the ACL graph loads as the ACL reads it and keeps the rules its writes
//! keep, and every reservation draws only on delegations and keeps the
//! rules of the budget writes.

use std::collections::HashSet;

use super::{budget, codec, rule_problems};
use crate::error::{Error, Result};
use crate::store::Reader;
use crate::verify::report::{ProblemKind, Verifier};

/// The ACL graph against the ACL's own rules: the rows it cannot load (key
/// conventions, `identity_id` = key, edges between the right kinds of node)
/// and the rules of its writes that the loaded rows break (well-formed
/// tokens, memberships only into orgs and roles, validities that can be in
/// force). Returns those problems, and the identity ids of its principals.
pub(crate) fn graph(reader: &Reader) -> Result<(Vec<Error>, HashSet<String>)> {
    let (acl, mut rejected) = codec::load_all(reader)?;
    rejected.extend(rule_problems(&acl));
    let principals = acl.principals().map(|p| p.identity_id.clone()).collect();
    Ok((rejected, principals))
}

/// Reservations against delegation budgets: each draws only on the ACL's
/// delegations, and each row keeps the rules its writes keep.
pub(crate) fn reservations(v: &mut Verifier<'_>) -> Result<()> {
    for (entity, reason) in budget::reservation_problems(v.conn)? {
        v.report.about(ProblemKind::Domain, &entity, reason);
    }
    Ok(())
}
