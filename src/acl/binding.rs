//! The binding rule between peers and ACL principals, written once: a peer
//! binds only to an account or service principal of its id. The identity
//! registry applies it when a peer is written, the ACL when a principal's
//! type is; both call here.

use rusqlite::{Connection, OptionalExtension};

use super::IdentityType;
use super::Principal;

/// The binding rule, one function for both sides of it: a peer binds only
/// to an account or service principal of its id (an org or a role is
/// reached through memberships, never by a name match). The problem with a
/// peer and a principal of type `identity_type` sharing the id `id`, if
/// there is one.
pub(crate) fn binding_problem(id: &str, identity_type: IdentityType) -> Option<String> {
    identity_type.is_group().then(|| {
        let article = if identity_type == IdentityType::Org {
            "an"
        } else {
            "a"
        };
        format!(
            "peer {id:?}: ACL principal {id:?} is {article} {identity_type}; \
             a peer binds only to an account or service principal"
        )
    })
}

/// The ACL's side of the binding rule: refuses making `principal` an org
/// or a role while a peer with its id exists; read in the ACL write's
/// transaction.
pub(crate) fn refuse_peer_binding(
    tx: &crate::WriteTxn<'_>,
    principal: &Principal,
) -> crate::Result<()> {
    let Some(reason) = binding_problem(&principal.identity_id, principal.identity_type) else {
        return Ok(());
    };
    if peer_exists(tx.conn(), &principal.identity_id)? {
        return Err(crate::Error::invalid(
            crate::Entity::Node {
                graph: super::GRAPH.to_owned(),
                key: principal.identity_id.clone(),
            },
            reason,
        ));
    }
    Ok(())
}

/// Whether a peer with this id exists, read in the caller's transaction.
pub(crate) fn peer_exists(conn: &Connection, peer_id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM peers WHERE peer_id = ?1")?
        .query_row([peer_id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}
