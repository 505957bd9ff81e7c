//! The access check: a flat match of an operation's requirements against
//! an already-resolved identity. It never traverses a graph.
//!
//! Delegation is resolved before the check, when the identity is resolved
//! (see [`EffectiveGrant::into_identity`](super::EffectiveGrant::into_identity));
//! the check only compares sets. An [`OperationContext`] may carry the
//! identity an operation was forwarded for, as metadata for handlers and
//! audit; [`AccessControl::check`] cannot take it.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::scope_set::ScopeSet;

/// An authenticated caller and what it holds, flat.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::Identity;
/// let ci = Identity::new("ci-bot").scopes(["repo:read"]).resource("repo", ["read"]);
/// assert!(ci.scopes.contains("repo:read"));
/// assert_eq!(ci.scopes, ["repo:read"]);
/// assert_eq!(ci.resources["repo"], ["read"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// A stable id for the caller.
    pub id: String,
    /// Scopes held: a set, listed in sorted order.
    pub scopes: ScopeSet,
    /// Actions held, by resource type (or `type/id`).
    pub resources: HashMap<String, Vec<String>>,
}

impl Identity {
    /// An identity holding nothing.
    pub fn new(id: impl Into<String>) -> Self {
        Identity {
            id: id.into(),
            ..Identity::default()
        }
    }

    /// Adds scopes.
    pub fn scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes);
        self
    }

    /// Adds actions on a resource.
    pub fn resource<S: Into<String>>(
        mut self,
        resource: impl Into<String>,
        actions: impl IntoIterator<Item = S>,
    ) -> Self {
        self.resources
            .entry(resource.into())
            .or_default()
            .extend(actions.into_iter().map(Into::into));
        self
    }

    /// This identity indexed for many checks (see
    /// [`AccessControl::check_indexed`]): O(a) once, for a resource
    /// actions.
    pub fn indexed(self) -> IndexedIdentity {
        IndexedIdentity::from(self)
    }
}

/// What a check reads of a caller: the scopes and resource actions it
/// holds.
trait Holds {
    fn has_scope(&self, scope: &str) -> bool;
    fn holds_action(&self, resource: &str, action: &str) -> bool;
    fn holds_any_action(&self, resource: &str) -> bool;
}

impl Holds for Identity {
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    fn holds_action(&self, resource: &str, action: &str) -> bool {
        self.resources
            .get(resource)
            .is_some_and(|actions| actions.iter().any(|held| held == action))
    }

    fn holds_any_action(&self, resource: &str) -> bool {
        self.resources
            .get(resource)
            .is_some_and(|actions| !actions.is_empty())
    }
}

/// An [`Identity`] with its resource actions in hash sets, for a caller
/// checked many times ([`AccessControl::check_indexed`] answers as
/// [`AccessControl::check`] does, in O(1) per required action rather than
/// a scan of the actions the caller holds on the resource). Its scopes are
/// the identity's own [`ScopeSet`], already a hash set.
#[derive(Debug, Clone)]
pub struct IndexedIdentity {
    identity: Identity,
    resources: HashMap<String, HashSet<String>>,
}

impl IndexedIdentity {
    /// The identity it indexes.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

impl From<Identity> for IndexedIdentity {
    fn from(identity: Identity) -> Self {
        let resources = identity
            .resources
            .iter()
            .map(|(resource, actions)| (resource.clone(), actions.iter().cloned().collect()))
            .collect();
        IndexedIdentity {
            identity,
            resources,
        }
    }
}

impl Holds for IndexedIdentity {
    fn has_scope(&self, scope: &str) -> bool {
        self.identity.scopes.contains(scope)
    }

    fn holds_action(&self, resource: &str, action: &str) -> bool {
        self.resources
            .get(resource)
            .is_some_and(|actions| actions.contains(action))
    }

    fn holds_any_action(&self, resource: &str) -> bool {
        self.resources
            .get(resource)
            .is_some_and(|actions| !actions.is_empty())
    }
}

/// What an operation requires of its caller.
///
/// Every part is optional; with none set, anyone (even an unauthenticated
/// caller) is allowed. `resource_action` without `resource_type` names no
/// resource and can never be met: the check denies (fails closed).
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{AccessControl, AccessResult, Identity, Missing};
/// let deploy = AccessControl::new()
///     .require(["deploy"])
///     .require_any(["env:staging", "env:prod"])
///     .resource("repo", "write");
/// let ci = Identity::new("ci").scopes(["deploy", "env:staging"]).resource("repo", ["write"]);
/// assert_eq!(deploy.check(Some(&ci)), AccessResult::Allowed);
/// assert_eq!(deploy.check(None), AccessResult::Unauthenticated);
/// let reader = Identity::new("r").scopes(["env:prod"]);
/// assert_eq!(
///     deploy.check(Some(&reader)),
///     AccessResult::Denied(Missing::Scopes(vec!["deploy".into()]))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessControl {
    /// All of these scopes are required.
    pub required_scopes: Vec<String>,
    /// At least one of these scopes is required, when non-empty.
    pub required_scopes_any: Vec<String>,
    /// The caller must hold an action on this resource type (or `type/id`).
    pub resource_type: Option<String>,
    /// The action required on `resource_type`.
    pub resource_action: Option<String>,
}

impl AccessControl {
    /// No requirements.
    pub fn new() -> Self {
        AccessControl::default()
    }

    /// Adds scopes that are all required.
    pub fn require<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.required_scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds scopes of which at least one is required.
    pub fn require_any<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.required_scopes_any
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Requires `action` on `resource_type`.
    pub fn resource(mut self, resource_type: impl Into<String>, action: impl Into<String>) -> Self {
        self.resource_type = Some(resource_type.into());
        self.resource_action = Some(action.into());
        self
    }

    /// Whether nothing is required.
    pub fn is_open(&self) -> bool {
        self.required_scopes.is_empty()
            && self.required_scopes_any.is_empty()
            && self.resource_type.is_none()
            && self.resource_action.is_none()
    }

    /// Checks a caller against the requirements: no requirements → allowed;
    /// no identity → unauthenticated; otherwise every required scope, one
    /// of the any-of scopes, and the resource action must be held, and the
    /// first missing piece is reported in that order.
    ///
    /// It reads only the identity's own `scopes` and `resources`: delegation
    /// is resolved before, and a forwarded-for identity is never an input.
    ///
    /// # Complexity
    ///
    /// O(r) for r required scopes (one hash probe each), plus one map
    /// lookup and a scan of the actions held on the resource.
    pub fn check(&self, identity: Option<&Identity>) -> AccessResult {
        self.check_held(identity)
    }

    /// [`check`](Self::check) on an identity indexed for many checks: the
    /// same requirements, the same answer, each scope and action looked
    /// up in a hash set. Scopes cost the same as in `check`; the index
    /// pays off only for resource actions.
    ///
    /// # Complexity
    ///
    /// O(r) for r required scopes (one hash probe each), plus one map
    /// lookup and one hash probe for the action.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{AccessControl, Identity};
    /// let ci = Identity::new("ci").scopes(["deploy", "env:staging"]).indexed();
    /// let deploy = AccessControl::new().require(["deploy"]);
    /// assert!(deploy.check_indexed(Some(&ci)).is_allowed());
    /// assert_eq!(deploy.check_indexed(Some(&ci)), deploy.check(Some(ci.identity())));
    /// ```
    pub fn check_indexed(&self, identity: Option<&IndexedIdentity>) -> AccessResult {
        self.check_held(identity)
    }

    /// Whether [`check`](Self::check) allows the caller, without building
    /// the denial. A denied `check` reports what is missing, which copies
    /// the missing scopes into the result; `allows` copies nothing, so a
    /// caller that needs only the answer (filtering many items, most of them
    /// denied) pays for a denial what it pays for an allowance.
    ///
    /// # Complexity
    ///
    /// As [`check`](Self::check).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{AccessControl, Identity};
    /// let ci = Identity::new("ci").scopes(["deploy"]);
    /// assert!(AccessControl::new().require(["deploy"]).allows(Some(&ci)));
    /// assert!(!AccessControl::new().require(["admin"]).allows(Some(&ci)));
    /// assert!(!AccessControl::new().require(["deploy"]).allows(None));
    /// ```
    pub fn allows(&self, identity: Option<&Identity>) -> bool {
        self.allows_held(identity)
    }

    /// [`allows`](Self::allows) on an identity indexed for many checks:
    /// the answer [`check_indexed`](Self::check_indexed) gives, without
    /// building the denial.
    ///
    /// # Complexity
    ///
    /// As [`check_indexed`](Self::check_indexed).
    pub fn allows_indexed(&self, identity: Option<&IndexedIdentity>) -> bool {
        self.allows_held(identity)
    }

    /// The answer of [`check_held`](Self::check_held), without the denial.
    fn allows_held(&self, identity: Option<&impl Holds>) -> bool {
        if self.is_open() {
            return true;
        }
        let Some(identity) = identity else {
            return false;
        };
        self.required_scopes
            .iter()
            .all(|scope| identity.has_scope(scope))
            && self.holds_any_of(identity)
            && self.holds_resource(identity)
    }

    /// The check, over anything that says what it holds.
    fn check_held(&self, identity: Option<&impl Holds>) -> AccessResult {
        if self.is_open() {
            return AccessResult::Allowed;
        }
        let Some(identity) = identity else {
            return AccessResult::Unauthenticated;
        };
        let missing: Vec<String> = self
            .required_scopes
            .iter()
            .filter(|scope| !identity.has_scope(scope))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return AccessResult::Denied(Missing::Scopes(missing));
        }
        if !self.holds_any_of(identity) {
            return AccessResult::Denied(Missing::AnyOf(self.required_scopes_any.clone()));
        }
        if !self.holds_resource(identity) {
            return AccessResult::Denied(Missing::Resource {
                resource_type: self.resource_type.clone(),
                action: self.resource_action.clone(),
            });
        }
        AccessResult::Allowed
    }

    /// Whether one of the any-of scopes is held, or none is required.
    fn holds_any_of(&self, identity: &impl Holds) -> bool {
        self.required_scopes_any.is_empty()
            || self
                .required_scopes_any
                .iter()
                .any(|scope| identity.has_scope(scope))
    }

    /// Whether the resource requirement is met: none, or the action (any
    /// action, when none is named) held on the resource. An action on no
    /// resource is never met.
    fn holds_resource(&self, identity: &impl Holds) -> bool {
        match (&self.resource_type, &self.resource_action) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some(resource), Some(action)) => identity.holds_action(resource, action),
            (Some(resource), None) => identity.holds_any_action(resource),
        }
    }
}

/// The outcome of [`AccessControl::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessResult {
    /// The caller may proceed.
    Allowed,
    /// Something is required and there is no caller identity.
    Unauthenticated,
    /// The caller lacks something; the first missing piece.
    Denied(Missing),
}

impl AccessResult {
    /// Whether the caller may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, AccessResult::Allowed)
    }
}

impl fmt::Display for AccessResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessResult::Allowed => f.write_str("allowed"),
            AccessResult::Unauthenticated => f.write_str("unauthenticated"),
            AccessResult::Denied(missing) => write!(f, "denied: {missing}"),
        }
    }
}

/// What a denied caller lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// Required scopes it does not hold, in the order they are required.
    Scopes(Vec<String>),
    /// None of these is held, and one is required.
    AnyOf(Vec<String>),
    /// The resource action is not held (or the requirement names no resource).
    Resource {
        /// The required resource type.
        resource_type: Option<String>,
        /// The required action.
        action: Option<String>,
    },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Scopes(scopes) => write!(f, "missing scopes {}", quoted(scopes)),
            Missing::AnyOf(scopes) => write!(f, "missing one of {}", quoted(scopes)),
            Missing::Resource {
                resource_type,
                action,
            } => match (resource_type, action) {
                (Some(resource), Some(action)) => write!(f, "missing {action} on {resource:?}"),
                (Some(resource), None) => write!(f, "missing any action on {resource:?}"),
                (None, Some(action)) => {
                    write!(f, "{action} is required on no resource type")
                }
                (None, None) => f.write_str("missing a resource action"),
            },
        }
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a handler knows about the call it serves.
///
/// `identity` is the direct caller, the one the access check authorizes.
/// `forwarded_for` is the caller a forwarding peer acted for: metadata for
/// logging, auditing and rate limiting, never an input to the check.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{AccessControl, AccessResult, Identity, OperationContext};
/// let admin = AccessControl::new().require(["admin"]);
/// let context = OperationContext {
///     identity: Some(Identity::new("hub")),
///     forwarded_for: Some(Identity::new("alice").scopes(["admin"])),
/// };
/// // The end user's scopes do not leak into the hub's authorization.
/// assert!(!context.authorize(&admin).is_allowed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationContext {
    /// The direct caller.
    pub identity: Option<Identity>,
    /// The original caller a peer forwarded the call for (metadata only).
    pub forwarded_for: Option<Identity>,
}

impl OperationContext {
    /// Checks the direct caller against `access`; `forwarded_for` plays no
    /// part.
    pub fn authorize(&self, access: &AccessControl) -> AccessResult {
        access.check(self.identity.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_read_as_the_missing_piece() {
        let cases = [
            (
                Missing::Scopes(vec!["a".into(), "b".into()]),
                r#"missing scopes "a", "b""#,
            ),
            (Missing::AnyOf(vec!["x".into()]), r#"missing one of "x""#),
            (
                Missing::Resource {
                    resource_type: Some("repo".into()),
                    action: Some("write".into()),
                },
                r#"missing write on "repo""#,
            ),
            (
                Missing::Resource {
                    resource_type: None,
                    action: Some("write".into()),
                },
                "write is required on no resource type",
            ),
        ];
        for (missing, text) in cases {
            assert_eq!(
                AccessResult::Denied(missing).to_string(),
                format!("denied: {text}")
            );
        }
    }
}
