//! ACL delegation on the metagraph: who holds which scopes and resource
//! actions, resolved in memory, explained on request, and checked flat.
//!
//! - The built-in graph type `acl` (directed, no parallel edges, no
//!   self-loops, cycles allowed) and the graph `acl` hold **principals**
//!   (accounts, orgs, services, roles; node key = `identity_id`),
//!   **resources** (node key `resource type[/id]`), and edges:
//!   `delegates` (principal → principal, narrowed to a set of scopes and
//!   resource actions, with optional `not_before`, `expires_at`,
//!   `revoked_at`), `belongs_to` (member → org or role), and `can_read` /
//!   `can_write` / `can_execute` (principal → resource). [`Acl::open`]
//!   ensures the types; their JSON Schemas live in `schemas/acl/`.
//! - [`Acl`] is what users write through: every write is validated by the
//!   metagraph and published on the change feed, and a delegation of
//!   anything the delegator does not hold is refused, naming it.
//! - **Resolution** ([`Resolver`]) computes each principal's
//!   [`EffectiveGrant`] at an instant: the least fixed point of "own ∪ the
//!   groups' grants ∪ each delegator's grant ∩ the narrowed set", over
//!   edges in force at that instant and chains of at most
//!   [`DEFAULT_MAX_DEPTH`] edges (see below). It runs on an [`AclGraph`]
//!   in memory, never in SQL; [`Resolution`] keeps every principal's grant
//!   and updates it incrementally.
//! - [`Resolver::explain_at`] answers "why (not)?": the shortest chain that
//!   grants a permission, or the [`Reason`] it is not granted.
//! - **Budgets**: a delegation may carry budgets per unit;
//!   [`Acl::reserve`] holds an amount against every budget on the chains
//!   into a principal, [`Acl::commit`] spends it, [`Acl::release`] returns
//!   it, and [`Acl::budgets`] says what remains. [`Acl::prune_expired`]
//!   removes what has expired.
//! - [`AccessControl::check`] is the flat check on a resolved [`Identity`];
//!   it never sees the graph, nor an [`OperationContext`]'s
//!   `forwarded_for`.
//!
//! # Semantics of resolution
//!
//! Instants are unix milliseconds. An edge is *active* at `t` when
//! `not_before ≤ t < expires_at` and it is not revoked at `t` (`revoked_at`
//! absent or `t < revoked_at`); `can_*` edges are always active. A
//! membership carries a grant only into a member of an org or a role (the
//! API refuses other memberships; one written around it is ignored).
//!
//! A *chain* to principal P is a sequence of active edges along which a
//! grant flows into P: a delegation `A → B` flows from A to B, a membership
//! `B → G` flows from G to B. A scope, or an action on a resource (matched
//! by resource name and action), *x* is in the effective grant E(P) when
//! some principal Q holds *x* itself (its `scopes`, `resources` and `can_*`
//! edges) and there is a chain from Q to P whose every delegation lists *x*
//! in its `narrowed_scopes` or `narrowed_resources`. The chain's *depth* is
//! its number of edges, counted from Q (0 when P holds *x* itself); chains
//! deeper than the maximum depth do not contribute. Without the bound this
//! is exactly the least fixed point of
//!
//! ```text
//! E(P) ⊇ own(P)
//! E(P) ⊇ E(G)                  for each active belongs_to P → G (G an org or role)
//! E(P) ⊇ E(A) ∩ narrowed(e)    for each active delegates e: A → P
//! ```
//!
//! and the shortest chain to P never visits a principal twice, so cycles
//! add nothing.
//!
//! `valid_until` is the earliest bound (`not_before`, `expires_at`,
//! `revoked_at`) later than `t` of any edge flowing into a principal from
//! which P can be reached along edges active at `t` (P included), leaving
//! out edges that can never be active again. No instant before it can
//! change E(P); it may be earlier than the next actual change.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::acl::{
//!     AccessControl, AccessResult, Acl, Delegation, IdentityType, Membership, Missing, Principal,
//! };
//! use alknet_graphs::Store;
//!
//! # let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("acl.db"))?;
//! let mut acl = Acl::open(&store)?;
//! acl.add_principal(&Principal::new("eng", IdentityType::Org).scopes(["repo:read", "repo:write"]))?;
//! acl.add_principal(&Principal::new("ada", IdentityType::Account))?;
//! acl.add_principal(&Principal::new("ci-bot", IdentityType::Service))?;
//! acl.add_membership(&Membership::new("ada", "eng"))?;
//! acl.delegate(&Delegation::new("ada", "ci-bot").scopes(["repo:read"]))?;
//!
//! // Delegation is resolved into the identity before the check...
//! let ci = acl.identity("ci-bot").expect("ci-bot exists");
//! // ...and the check is a flat set match.
//! let push = AccessControl::new().require(["repo:write"]);
//! let AccessResult::Denied(Missing::Scopes(missing)) = push.check(Some(&ci)) else {
//!     panic!("ci-bot holds only repo:read");
//! };
//! assert_eq!(missing.to_vec(), ["repo:write"]);
//! assert!(AccessControl::new().require(["repo:read"]).check(Some(&ci)).is_allowed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod binding;
pub(crate) mod budget;
mod check;
pub(crate) mod codec;
mod condense;
mod explain;
pub(crate) mod follow;
mod handle;
mod holders;
mod import;
mod input;
pub(crate) mod lookup;
mod model;
mod ops;
mod prune;
pub(crate) mod resolve;
mod schema;
pub(crate) mod scope;
mod scope_set;
mod snapshot;
mod txn;
pub(crate) mod verify;
pub(crate) mod whatif;

pub use budget::{BudgetStatus, EdgeBudget, Reservation, ReservationState};
pub use check::{
    AccessControl, AccessResult, Identity, IndexedIdentity, Missing, MissingScopes,
    OperationContext,
};
pub use explain::{Explanation, Hop, Reason, Witness};
pub use handle::{Acl, AclBuilder, AUTO_PRUNE_INTERVAL};
pub(crate) use import::rule_problems;
pub use import::AclImport;
pub use input::MAX_AMOUNT;
pub use model::{
    AclEdge, Action, ActionGrant, Budgets, Delegation, EdgeKind, IdentityType, Inactive,
    Membership, Permission, Principal, Resource, Resources, Validity,
};
pub use prune::PruneCounts;
pub use resolve::{EffectiveGrant, Resolution, Resolver, DEFAULT_MAX_DEPTH};
pub use scope::MAX_TOKEN_BYTES;
pub use scope_set::{ScopeSet, ScopeSetIter};
pub(crate) use snapshot::AddAction;
pub use snapshot::{AclGraph, Affected};
pub use txn::AclTxn;
pub use whatif::{Change, GrantChange, GrantDelta, WhatIf};

/// The name of the ACL's graph type.
pub const GRAPH_TYPE: &str = "acl";

/// The name of the graph holding the ACL.
pub const GRAPH: &str = "acl";

/// The node type of principals.
pub const PRINCIPAL: &str = "principal";

/// The node type of resources.
pub const RESOURCE: &str = "resource";

/// The edge type of delegations.
pub const DELEGATES: &str = "delegates";

/// The edge type of memberships.
pub const BELONGS_TO: &str = "belongs_to";
