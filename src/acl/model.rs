//! The ACL's vocabulary as plain values: principals, resources, the edges
//! between them, and when an edge is in force.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Actions per resource: resource name (`type` or `type/id`) → actions.
pub type Resources = BTreeMap<String, BTreeSet<String>>;

/// Budgets of a delegation: unit (e.g. `USD`, `calls`) → amount, an exact
/// integer in the unit's smallest denomination (cents for `USD`). See
/// [`Acl::reserve`](super::Acl::reserve) for how they are spent.
pub type Budgets = BTreeMap<String, u64>;

/// What kind of identity a principal stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    /// A person's account.
    Account,
    /// An organization; it can have members.
    Org,
    /// A service or bot.
    Service,
    /// A role; it can have members.
    Role,
}

impl IdentityType {
    /// Whether principals can be members of it (`belongs_to` targets):
    /// true for [`Org`](IdentityType::Org) and [`Role`](IdentityType::Role).
    pub fn is_group(self) -> bool {
        matches!(self, IdentityType::Org | IdentityType::Role)
    }

    /// Its name in the stored attributes: `account`, `org`, `service`, `role`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::Account => "account",
            IdentityType::Org => "org",
            IdentityType::Service => "service",
            IdentityType::Role => "role",
        }
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone who can hold a grant and pass it on: an account, org, service
/// or role, with the scopes and resource actions it holds itself.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{IdentityType, Principal};
/// let alice = Principal::new("alice", IdentityType::Account)
///     .scopes(["repo:read", "repo:write"])
///     .resource("repo", ["read"]);
/// assert!(alice.scopes.contains("repo:write"));
/// assert_eq!(alice.resources["repo"].len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Unique in the ACL graph; also the principal's node key.
    pub identity_id: String,
    /// Account, org, service or role.
    pub identity_type: IdentityType,
    /// Scopes it holds itself.
    pub scopes: BTreeSet<String>,
    /// Resource actions it holds itself.
    pub resources: Resources,
}

impl Principal {
    /// A principal holding nothing yet.
    pub fn new(identity_id: impl Into<String>, identity_type: IdentityType) -> Self {
        Principal {
            identity_id: identity_id.into(),
            identity_type,
            scopes: BTreeSet::new(),
            resources: Resources::new(),
        }
    }

    /// Adds scopes it holds.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds actions it holds on `resource` (`type` or `type/id`).
    pub fn resource<S: Into<String>>(
        mut self,
        resource: impl Into<String>,
        actions: impl IntoIterator<Item = S>,
    ) -> Self {
        add_actions(&mut self.resources, resource.into(), actions);
        self
    }
}

fn add_actions<S: Into<String>>(
    resources: &mut Resources,
    resource: String,
    actions: impl IntoIterator<Item = S>,
) {
    resources
        .entry(resource)
        .or_default()
        .extend(actions.into_iter().map(Into::into));
}

/// Something principals act on: a resource type, or one instance of it.
///
/// Its *name* is `type` or `type/id`; grants and `resources` maps are keyed
/// by that name, and a grant on `repo` does not cover `repo/x` (the keys are
/// matched exactly, which fails closed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource {
    /// The type, e.g. `repo`; never contains `/`.
    pub resource_type: String,
    /// One instance of the type, e.g. `alknet`, or `None` for the whole type.
    pub resource_id: Option<String>,
}

impl Resource {
    /// A whole resource type.
    pub fn of_type(resource_type: impl Into<String>) -> Self {
        Resource {
            resource_type: resource_type.into(),
            resource_id: None,
        }
    }

    /// One instance of a resource type.
    pub fn instance(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Resource {
            resource_type: resource_type.into(),
            resource_id: Some(resource_id.into()),
        }
    }

    /// `type` or `type/id`.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::Resource;
    /// assert_eq!(Resource::instance("repo", "alknet").name(), "repo/alknet");
    /// assert_eq!(Resource::of_type("repo").name(), "repo");
    /// ```
    pub fn name(&self) -> String {
        match &self.resource_id {
            Some(id) => format!("{}/{id}", self.resource_type),
            None => self.resource_type.clone(),
        }
    }

    /// The resource a name stands for: `repo/x` → type `repo`, id `x`.
    pub fn from_name(name: &str) -> Self {
        match name.split_once('/') {
            Some((resource_type, id)) => Resource::instance(resource_type, id),
            None => Resource::of_type(name),
        }
    }
}

/// When an edge is in force. At time `t` (unix milliseconds) it is *active*
/// when `not_before ≤ t < expires_at` and it is not revoked at `t`
/// (`revoked_at` absent or `t < revoked_at`); absent bounds do not limit.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::Validity;
/// let v = Validity::always().not_before(100).expires_at(200);
/// assert!(!v.is_active_at(99));
/// assert!(v.is_active_at(100));
/// assert!(!v.is_active_at(200));
/// assert!(!v.revoked_at(150).is_active_at(150));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Validity {
    /// First instant it is active.
    pub not_before: Option<i64>,
    /// First instant it is no longer active.
    pub expires_at: Option<i64>,
    /// When it was revoked; from then on it is not active.
    pub revoked_at: Option<i64>,
}

impl Validity {
    /// No bounds: active at every instant.
    pub fn always() -> Self {
        Validity::default()
    }

    /// Sets `not_before`.
    pub fn not_before(mut self, t: i64) -> Self {
        self.not_before = Some(t);
        self
    }

    /// Sets `expires_at`.
    pub fn expires_at(mut self, t: i64) -> Self {
        self.expires_at = Some(t);
        self
    }

    /// Sets `revoked_at`.
    pub fn revoked_at(mut self, t: i64) -> Self {
        self.revoked_at = Some(t);
        self
    }

    /// Whether it is in force at `t`.
    pub fn is_active_at(&self, t: i64) -> bool {
        self.inactive_at(t).is_none()
    }

    /// Why it is not in force at `t`, if it is not: revocation first, then
    /// expiry, then a start still to come.
    pub fn inactive_at(&self, t: i64) -> Option<Inactive> {
        if let Some(at) = self.revoked_at.filter(|&at| at <= t) {
            return Some(Inactive::Revoked { at });
        }
        if let Some(at) = self.expires_at.filter(|&at| at <= t) {
            return Some(Inactive::Expired { at });
        }
        if let Some(from) = self.not_before.filter(|&from| from > t) {
            return Some(Inactive::NotYetValid { from });
        }
        None
    }

    /// Whether it can never be active again from `t` on (revoked or expired).
    pub(crate) fn is_over_at(&self, t: i64) -> bool {
        self.revoked_at.is_some_and(|at| at <= t) || self.expires_at.is_some_and(|at| at <= t)
    }

    /// The earliest of its bounds after `t`: the next instant at which its
    /// activity can change.
    pub(crate) fn next_bound_after(&self, t: i64) -> Option<i64> {
        [self.not_before, self.expires_at, self.revoked_at]
            .into_iter()
            .flatten()
            .filter(|&bound| bound > t)
            .min()
    }
}

/// Why an edge is not in force at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inactive {
    /// Revoked at `at`.
    Revoked {
        /// When it was revoked.
        at: i64,
    },
    /// Expired at `at`.
    Expired {
        /// When it expired.
        at: i64,
    },
    /// Becomes active at `from`.
    NotYetValid {
        /// Its `not_before`.
        from: i64,
    },
}

/// `from` passes part of its effective grant on to `to`: the scopes in
/// `narrowed_scopes` and the resource actions in `narrowed_resources` that
/// `from` holds at the time of resolution. A delegation without
/// `narrowed_resources` passes on no resource actions.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::Delegation;
/// let d = Delegation::new("alice", "ci-bot")
///     .scopes(["repo:read"])
///     .resource("repo", ["read"])
///     .expires_at(1_900_000_000_000);
/// assert_eq!(d.validity.expires_at, Some(1_900_000_000_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The delegator's identity id.
    pub from: String,
    /// The delegate's identity id.
    pub to: String,
    /// The scopes passed on (those of them `from` holds).
    pub narrowed_scopes: BTreeSet<String>,
    /// The resource actions passed on (those of them `from` holds).
    pub narrowed_resources: Resources,
    /// When it is in force.
    pub validity: Validity,
    /// What may be spent through it, per unit (empty: no budget).
    pub budgets: Budgets,
}

impl Delegation {
    /// A delegation that passes on nothing yet, always in force.
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        Delegation {
            from: from.into(),
            to: to.into(),
            narrowed_scopes: BTreeSet::new(),
            narrowed_resources: Resources::new(),
            validity: Validity::always(),
            budgets: Budgets::new(),
        }
    }

    /// Sets the budget in `unit` to `amount` (in the unit's smallest
    /// denomination).
    ///
    /// ```
    /// use alknet_graphs::acl::Delegation;
    /// let d = Delegation::new("alice", "ci-bot").scopes(["llm:call"]).budget("USD", 5_000);
    /// assert_eq!(d.budgets["USD"], 5_000);
    /// ```
    pub fn budget(mut self, unit: impl Into<String>, amount: u64) -> Self {
        self.budgets.insert(unit.into(), amount);
        self
    }

    /// Adds scopes to pass on.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.narrowed_scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds actions on `resource` to pass on.
    pub fn resource<S: Into<String>>(
        mut self,
        resource: impl Into<String>,
        actions: impl IntoIterator<Item = S>,
    ) -> Self {
        add_actions(&mut self.narrowed_resources, resource.into(), actions);
        self
    }

    /// Sets when it is in force.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }

    /// Sets `not_before`.
    pub fn not_before(mut self, t: i64) -> Self {
        self.validity.not_before = Some(t);
        self
    }

    /// Sets `expires_at`.
    pub fn expires_at(mut self, t: i64) -> Self {
        self.validity.expires_at = Some(t);
        self
    }
}

/// `member` belongs to `group` (an org or a role) and inherits the group's
/// whole effective grant while the membership is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The member's identity id.
    pub member: String,
    /// The group's identity id; must be an org or a role.
    pub group: String,
    /// When it is in force.
    pub validity: Validity,
}

impl Membership {
    /// A membership in force at every instant.
    pub fn new(member: impl Into<String>, group: impl Into<String>) -> Self {
        Membership {
            member: member.into(),
            group: group.into(),
            validity: Validity::always(),
        }
    }

    /// Sets when it is in force.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }
}

/// An action a `can_*` edge grants on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `can_read`: the action `read`.
    Read,
    /// `can_write`: the action `write`.
    Write,
    /// `can_execute`: the action `execute`.
    Execute,
}

impl Action {
    /// Every action, in edge-type order.
    pub const ALL: [Action; 3] = [Action::Read, Action::Write, Action::Execute];

    /// The action's name in a `resources` map: `read`, `write`, `execute`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Execute => "execute",
        }
    }

    /// The edge type that grants it: `can_read`, `can_write`, `can_execute`.
    pub fn edge_type(self) -> &'static str {
        match self {
            Action::Read => "can_read",
            Action::Write => "can_write",
            Action::Execute => "can_execute",
        }
    }

    /// The action an edge type grants, if it is a `can_*` type.
    pub fn from_edge_type(edge_type: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.edge_type() == edge_type)
    }
}

/// A `can_read` / `can_write` / `can_execute` edge: `principal` holds
/// `action` on `resource` (a resource name, `type` or `type/id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionGrant {
    /// The holder's identity id.
    pub principal: String,
    /// The action.
    pub action: Action,
    /// The resource name.
    pub resource: String,
}

/// The kind of an ACL edge, named as its edge type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// `delegates`.
    Delegates,
    /// `belongs_to`.
    BelongsTo,
    /// `can_read`, `can_write` or `can_execute`.
    Can(Action),
}

impl EdgeKind {
    /// The edge type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Delegates => "delegates",
            EdgeKind::BelongsTo => "belongs_to",
            EdgeKind::Can(action) => action.edge_type(),
        }
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An edge of the ACL graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclEdge {
    /// A delegation.
    Delegates(Delegation),
    /// A membership.
    BelongsTo(Membership),
    /// A resource action held directly.
    Can(ActionGrant),
}

impl AclEdge {
    /// The edge's kind.
    pub fn kind(&self) -> EdgeKind {
        match self {
            AclEdge::Delegates(_) => EdgeKind::Delegates,
            AclEdge::BelongsTo(_) => EdgeKind::BelongsTo,
            AclEdge::Can(grant) => EdgeKind::Can(grant.action),
        }
    }

    /// The key the ACL gives this edge: its kind, source and target joined
    /// by spaces, e.g. `delegates alice ci-bot` (tokens hold no spaces, so
    /// the key is unambiguous).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{AclEdge, Membership};
    /// let edge = AclEdge::BelongsTo(Membership::new("alice", "eng"));
    /// assert_eq!(edge.key(), "belongs_to alice eng");
    /// ```
    pub fn key(&self) -> String {
        let (source, target) = self.ends();
        format!("{} {source} {target}", self.kind())
    }

    /// Source and target as stored: identity ids, or a resource name for
    /// the target of a `can_*` edge.
    pub fn ends(&self) -> (&str, &str) {
        match self {
            AclEdge::Delegates(d) => (&d.from, &d.to),
            AclEdge::BelongsTo(m) => (&m.member, &m.group),
            AclEdge::Can(g) => (&g.principal, &g.resource),
        }
    }

    /// When it is in force (`can_*` edges always are).
    pub fn validity(&self) -> Validity {
        match self {
            AclEdge::Delegates(d) => d.validity,
            AclEdge::BelongsTo(m) => m.validity,
            AclEdge::Can(_) => Validity::always(),
        }
    }
}

/// Something a principal can hold: a scope, or an action on a resource.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::Permission;
/// assert_eq!(Permission::scope("repo:read").to_string(), r#""repo:read""#);
/// assert_eq!(Permission::resource("repo", "write").to_string(), r#"write on "repo""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// A scope.
    Scope(String),
    /// An action on a resource name (`type` or `type/id`).
    Resource {
        /// The resource name.
        resource: String,
        /// The action.
        action: String,
    },
}

impl Permission {
    /// A scope.
    pub fn scope(scope: impl Into<String>) -> Self {
        Permission::Scope(scope.into())
    }

    /// An action on a resource.
    pub fn resource(resource: impl Into<String>, action: impl Into<String>) -> Self {
        Permission::Resource {
            resource: resource.into(),
            action: action.into(),
        }
    }
}

impl Permission {
    /// `permissions` as a comma-separated list, each as it displays.
    pub(crate) fn list(permissions: &[Permission]) -> String {
        let parts: Vec<String> = permissions.iter().map(ToString::to_string).collect();
        parts.join(", ")
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permission::Scope(scope) => write!(f, "{scope:?}"),
            Permission::Resource { resource, action } => write!(f, "{action} on {resource:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_reports_the_strongest_reason() {
        let v = Validity::always()
            .not_before(10)
            .expires_at(20)
            .revoked_at(15);
        assert_eq!(v.inactive_at(5), Some(Inactive::NotYetValid { from: 10 }));
        assert_eq!(v.inactive_at(12), None);
        assert_eq!(v.inactive_at(15), Some(Inactive::Revoked { at: 15 }));
        assert_eq!(v.inactive_at(25), Some(Inactive::Revoked { at: 15 }));
        let v = Validity::always().expires_at(20);
        assert_eq!(v.inactive_at(20), Some(Inactive::Expired { at: 20 }));
    }

    #[test]
    fn bounds_after_an_instant() {
        let v = Validity::always().not_before(10).expires_at(20);
        assert_eq!(v.next_bound_after(0), Some(10));
        assert_eq!(v.next_bound_after(10), Some(20));
        assert_eq!(v.next_bound_after(20), None);
        assert!(!v.is_over_at(19));
        assert!(v.is_over_at(20));
        assert_eq!(Validity::always().next_bound_after(0), None);
    }

    #[test]
    fn resource_names_round_trip() {
        for name in ["repo", "repo/alknet", "repo/a/b"] {
            assert_eq!(Resource::from_name(name).name(), name);
        }
        assert_eq!(Resource::from_name("repo/a/b").resource_type, "repo");
    }

    #[test]
    fn edge_keys_name_kind_and_ends() {
        let grant = AclEdge::Can(ActionGrant {
            principal: "alice".into(),
            action: Action::Execute,
            resource: "job/nightly".into(),
        });
        assert_eq!(grant.key(), "can_execute alice job/nightly");
        assert_eq!(Action::from_edge_type("can_write"), Some(Action::Write));
        assert_eq!(Action::from_edge_type("delegates"), None);
    }
}
