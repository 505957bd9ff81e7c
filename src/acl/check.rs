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
/// let AccessResult::Denied(Missing::Scopes(missing)) = deploy.check(Some(&reader)) else {
///     panic!("deploy is lacking");
/// };
/// assert_eq!(missing.to_vec(), ["deploy"]);
/// assert_eq!(
///     deploy.check(Some(&reader.scopes(["deploy"]))),
///     AccessResult::Denied(Missing::Resource { resource_type: Some("repo"), action: Some("write") })
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
    pub fn check(&self, identity: Option<&Identity>) -> AccessResult<'_> {
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
    pub fn check_indexed(&self, identity: Option<&IndexedIdentity>) -> AccessResult<'_> {
        self.check_held(identity)
    }

    /// Whether [`check`](Self::check) allows the caller: its answer
    /// without the denial, which stops at the first scope lacking instead
    /// of noting every one.
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
    fn check_held(&self, identity: Option<&impl Holds>) -> AccessResult<'_> {
        if self.is_open() {
            return AccessResult::Allowed;
        }
        let Some(identity) = identity else {
            return AccessResult::Unauthenticated;
        };
        let lacking = Lacking::of(&self.required_scopes, |scope| identity.has_scope(scope));
        if !lacking.is_empty() {
            return AccessResult::Denied(Missing::Scopes(MissingScopes {
                required: &self.required_scopes,
                lacking,
            }));
        }
        if !self.holds_any_of(identity) {
            return AccessResult::Denied(Missing::AnyOf(&self.required_scopes_any));
        }
        if !self.holds_resource(identity) {
            return AccessResult::Denied(Missing::Resource {
                resource_type: self.resource_type.as_deref(),
                action: self.resource_action.as_deref(),
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

/// The outcome of [`AccessControl::check`], borrowing what it names from
/// the [`AccessControl`] checked: a denial copies nothing, so denying costs
/// what allowing does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessResult<'a> {
    /// The caller may proceed.
    Allowed,
    /// Something is required and there is no caller identity.
    Unauthenticated,
    /// The caller lacks something; the first missing piece.
    Denied(Missing<'a>),
}

impl AccessResult<'_> {
    /// Whether the caller may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, AccessResult::Allowed)
    }
}

impl fmt::Display for AccessResult<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessResult::Allowed => f.write_str("allowed"),
            AccessResult::Unauthenticated => f.write_str("unauthenticated"),
            AccessResult::Denied(missing) => write!(f, "denied: {missing}"),
        }
    }
}

/// What a denied caller lacks, as the requirement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing<'a> {
    /// Required scopes it does not hold, in the order they are required.
    Scopes(MissingScopes<'a>),
    /// None of these is held, and one is required.
    AnyOf(&'a [String]),
    /// The resource action is not held (or the requirement names no resource).
    Resource {
        /// The required resource type.
        resource_type: Option<&'a str>,
        /// The required action.
        action: Option<&'a str>,
    },
}

impl fmt::Display for Missing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Scopes(scopes) => write!(f, "missing scopes {}", quoted(scopes.iter())),
            Missing::AnyOf(scopes) => {
                let scopes = scopes.iter().map(String::as_str);
                write!(f, "missing one of {}", quoted(scopes))
            }
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

fn quoted<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The required scopes a denied caller does not hold, in the order they
/// are required: the [`AccessControl`]'s own list and which of its entries
/// are lacking, so that a denial allocates nothing (unless more than 64
/// scopes are required).
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{AccessControl, AccessResult, Identity, Missing};
/// let rule = AccessControl::new().require(["a", "b", "c"]);
/// let caller = Identity::new("x").scopes(["b"]);
/// let AccessResult::Denied(Missing::Scopes(missing)) = rule.check(Some(&caller)) else {
///     panic!("a and c are lacking");
/// };
/// assert_eq!(missing.len(), 2);
/// assert_eq!(missing.iter().collect::<Vec<_>>(), ["a", "c"]);
/// assert_eq!(missing.to_vec(), ["a", "c"]);
/// ```
#[derive(Clone)]
pub struct MissingScopes<'a> {
    required: &'a [String],
    lacking: Lacking,
}

impl<'a> MissingScopes<'a> {
    /// The lacking scopes, in the order they are required.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        let required = self.required;
        self.lacking.indexes().map(move |i| required[i].as_str())
    }

    /// How many required scopes are lacking.
    pub fn len(&self) -> usize {
        self.lacking.len()
    }

    /// Whether none is (a check never denies with an empty list).
    pub fn is_empty(&self) -> bool {
        self.lacking.is_empty()
    }

    /// The lacking scopes, copied.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl fmt::Debug for MissingScopes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for MissingScopes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for MissingScopes<'_> {}

impl serde::Serialize for MissingScopes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Which entries of a list are lacking: a bit per entry, inline for the
/// first 64 and in a boxed tail beyond.
#[derive(Debug, Clone)]
struct Lacking {
    head: u64,
    tail: Box<[u64]>,
}

impl Lacking {
    /// The entries of `list` that `held` says are not held.
    fn of(list: &[String], held: impl Fn(&str) -> bool) -> Lacking {
        let mut lacking = Lacking {
            head: 0,
            tail: Box::default(),
        };
        let (head, rest) = list.split_at(list.len().min(64));
        for (i, scope) in head.iter().enumerate() {
            lacking.head |= u64::from(!held(scope)) << i;
        }
        if !rest.is_empty() {
            let mut tail = vec![0u64; rest.len().div_ceil(64)];
            for (i, scope) in rest.iter().enumerate() {
                tail[i / 64] |= u64::from(!held(scope)) << (i % 64);
            }
            lacking.tail = tail.into_boxed_slice();
        }
        lacking
    }

    fn words(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::once(self.head).chain(self.tail.iter().copied())
    }

    fn len(&self) -> usize {
        self.words().map(|word| word.count_ones() as usize).sum()
    }

    fn is_empty(&self) -> bool {
        self.words().all(|word| word == 0)
    }

    /// The lacking entries' indexes, ascending.
    fn indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.words().enumerate().flat_map(|(w, mut word)| {
            std::iter::from_fn(move || {
                let bit = word.trailing_zeros();
                (bit < 64).then(|| {
                    word &= word - 1;
                    w * 64 + bit as usize
                })
            })
        })
    }
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
    pub fn authorize<'a>(&self, access: &'a AccessControl) -> AccessResult<'a> {
        access.check(self.identity.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing<'a>(required: &'a [String], lacking: &[usize]) -> MissingScopes<'a> {
        MissingScopes {
            required,
            lacking: Lacking::of(required, |scope| {
                !lacking.iter().any(|&i| required[i] == scope)
            }),
        }
    }

    #[test]
    fn denials_read_as_the_missing_piece() {
        let listed: Vec<String> = ["a", "b", "c"].map(String::from).into();
        let x = ["x".to_owned()];
        let cases = [
            (
                Missing::Scopes(missing(&listed, &[0, 1])),
                r#"missing scopes "a", "b""#,
            ),
            (Missing::AnyOf(&x), r#"missing one of "x""#),
            (
                Missing::Resource {
                    resource_type: Some("repo"),
                    action: Some("write"),
                },
                r#"missing write on "repo""#,
            ),
            (
                Missing::Resource {
                    resource_type: None,
                    action: Some("write"),
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

    #[test]
    fn lacking_scopes_keep_their_order_past_the_inline_word() {
        let required: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        for lacking in [
            vec![],
            vec![0],
            vec![63],
            vec![64],
            vec![0, 63, 64, 127, 128, 199],
            (0..200).collect(),
            (0..200).filter(|i| i % 3 == 1).collect::<Vec<_>>(),
        ] {
            let found = missing(&required, &lacking);
            let expected: Vec<&str> = lacking.iter().map(|&i| required[i].as_str()).collect();
            assert_eq!(found.iter().collect::<Vec<_>>(), expected);
            assert_eq!(found.len(), lacking.len());
            assert_eq!(found.is_empty(), lacking.is_empty());
            assert_eq!(found.to_vec(), expected);
            assert_eq!(format!("{found:?}"), format!("{expected:?}"));
            assert_eq!(
                serde_json::to_value(&found).unwrap(),
                serde_json::json!(expected)
            );
        }
        let short = &required[..64];
        let all: Vec<usize> = (0..64).collect();
        assert_eq!(missing(short, &all).len(), 64);
        assert!(
            missing(short, &all).lacking.tail.is_empty(),
            "64 fit inline"
        );
    }
}
