//! The flat access check, table-driven: AND and OR scope rules, resource
//! rules, a missing identity, empty requirements, and `forwarded_for`
//! playing no part.

use alknet_graphs::acl::{AccessControl, AccessResult, Identity, Missing, OperationContext};

fn ci() -> Identity {
    Identity::new("ci")
        .scopes(["repo:read", "deploy"])
        .resource("repo", ["read", "write"])
        .resource("job/nightly", ["execute"])
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// What a check answered, owned, for tables of expected answers.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Unauthenticated,
    Scopes(Vec<String>),
    AnyOf(Vec<String>),
    Resource(Option<String>, Option<String>),
}

fn outcome(result: &AccessResult) -> Outcome {
    match result {
        AccessResult::Allowed => Outcome::Allowed,
        AccessResult::Unauthenticated => Outcome::Unauthenticated,
        AccessResult::Denied(Missing::Scopes(missing)) => Outcome::Scopes(missing.to_vec()),
        AccessResult::Denied(Missing::AnyOf(any)) => Outcome::AnyOf(any.to_vec()),
        AccessResult::Denied(Missing::Resource {
            resource_type,
            action,
        }) => Outcome::Resource(resource_type.map(str::to_owned), action.map(str::to_owned)),
    }
}

fn denied_scopes(list: &[&str]) -> Outcome {
    Outcome::Scopes(scopes(list))
}

fn denied_any(list: &[&str]) -> Outcome {
    Outcome::AnyOf(scopes(list))
}

fn denied_resource(resource: Option<&str>, action: Option<&str>) -> Outcome {
    Outcome::Resource(resource.map(str::to_owned), action.map(str::to_owned))
}

fn access(
    all: &[&str],
    any: &[&str],
    resource: Option<&str>,
    action: Option<&str>,
) -> AccessControl {
    AccessControl {
        required_scopes: scopes(all),
        required_scopes_any: scopes(any),
        resource_type: resource.map(str::to_owned),
        resource_action: action.map(str::to_owned),
    }
}

#[test]
fn scope_rules() {
    let identity = ci();
    let table: &[(&str, AccessControl, Outcome)] = &[
        (
            "all present",
            access(&["repo:read", "deploy"], &[], None, None),
            Outcome::Allowed,
        ),
        (
            "one missing",
            access(&["repo:read", "admin"], &[], None, None),
            denied_scopes(&["admin"]),
        ),
        (
            "every missing one is named, in order",
            access(&["b", "repo:read", "a"], &[], None, None),
            denied_scopes(&["b", "a"]),
        ),
        (
            "any: one present",
            access(&[], &["admin", "deploy"], None, None),
            Outcome::Allowed,
        ),
        (
            "any: none present",
            access(&[], &["admin", "root"], None, None),
            denied_any(&["admin", "root"]),
        ),
        (
            "AND is checked before OR",
            access(&["admin"], &["root"], None, None),
            denied_scopes(&["admin"]),
        ),
        (
            "AND and OR both met",
            access(&["deploy"], &["root", "repo:read"], None, None),
            Outcome::Allowed,
        ),
        (
            "scopes match exactly",
            access(&["repo"], &[], None, None),
            denied_scopes(&["repo"]),
        ),
    ];
    for (name, rule, expected) in table {
        assert_eq!(&outcome(&rule.check(Some(&identity))), expected, "{name}");
    }
}

#[test]
fn resource_rules() {
    let identity = ci();
    let table: &[(&str, AccessControl, Outcome)] = &[
        (
            "action held",
            access(&[], &[], Some("repo"), Some("write")),
            Outcome::Allowed,
        ),
        (
            "action not held",
            access(&[], &[], Some("repo"), Some("execute")),
            denied_resource(Some("repo"), Some("execute")),
        ),
        (
            "resource not held",
            access(&[], &[], Some("secret"), Some("read")),
            denied_resource(Some("secret"), Some("read")),
        ),
        (
            "instance",
            access(&[], &[], Some("job/nightly"), Some("execute")),
            Outcome::Allowed,
        ),
        (
            "a type grant is not an instance grant",
            access(&[], &[], Some("repo/alknet"), Some("read")),
            denied_resource(Some("repo/alknet"), Some("read")),
        ),
        (
            "any action on the type",
            access(&[], &[], Some("repo"), None),
            Outcome::Allowed,
        ),
        (
            "an action on no type fails closed",
            access(&[], &[], None, Some("read")),
            denied_resource(None, Some("read")),
        ),
        (
            "scopes are checked before resources",
            access(&["admin"], &[], Some("secret"), Some("read")),
            denied_scopes(&["admin"]),
        ),
        (
            "scopes and resource both met",
            access(&["deploy"], &["x", "repo:read"], Some("repo"), Some("read")),
            Outcome::Allowed,
        ),
    ];
    for (name, rule, expected) in table {
        assert_eq!(&outcome(&rule.check(Some(&identity))), expected, "{name}");
    }
}

#[test]
fn identity_and_empty_requirements() {
    let nobody = Identity::new("nobody");
    let table: &[(&str, AccessControl, Option<&Identity>, Outcome)] = &[
        (
            "no requirements, no identity",
            AccessControl::new(),
            None,
            Outcome::Allowed,
        ),
        (
            "no requirements, empty identity",
            AccessControl::new(),
            Some(&nobody),
            Outcome::Allowed,
        ),
        (
            "empty any-of is no requirement",
            access(&[], &[], None, None),
            None,
            Outcome::Allowed,
        ),
        (
            "scope required, no identity",
            access(&["a"], &[], None, None),
            None,
            Outcome::Unauthenticated,
        ),
        (
            "any-of required, no identity",
            access(&[], &["a"], None, None),
            None,
            Outcome::Unauthenticated,
        ),
        (
            "resource required, no identity",
            access(&[], &[], Some("repo"), Some("read")),
            None,
            Outcome::Unauthenticated,
        ),
        (
            "scope required, empty identity",
            access(&["a"], &[], None, None),
            Some(&nobody),
            denied_scopes(&["a"]),
        ),
    ];
    for (name, rule, identity, expected) in table {
        assert_eq!(&outcome(&rule.check(*identity)), expected, "{name}");
    }
}

#[test]
fn forwarded_for_is_never_an_input() {
    let admin = AccessControl::new().require(["admin"]);
    let end_user = Identity::new("alice").scopes(["admin"]);
    let table = [
        (None, Outcome::Unauthenticated),
        (Some(Identity::new("hub")), denied_scopes(&["admin"])),
        (
            Some(Identity::new("hub").scopes(["admin"])),
            Outcome::Allowed,
        ),
    ];
    for (identity, expected) in table {
        let context = OperationContext {
            identity: identity.clone(),
            forwarded_for: Some(end_user.clone()),
        };
        assert_eq!(
            outcome(&context.authorize(&admin)),
            expected,
            "{identity:?}"
        );
        assert_eq!(outcome(&admin.check(identity.as_ref())), expected);
    }
}

#[test]
fn results_read_as_the_missing_piece() {
    let identity = ci();
    let table = [
        (
            access(&["a", "b"], &[], None, None),
            r#"denied: missing scopes "a", "b""#,
        ),
        (
            access(&[], &["x", "y"], None, None),
            r#"denied: missing one of "x", "y""#,
        ),
        (
            access(&[], &[], Some("repo"), Some("execute")),
            r#"denied: missing execute on "repo""#,
        ),
        (access(&["deploy"], &[], None, None), "allowed"),
    ];
    for (rule, text) in table {
        assert_eq!(rule.check(Some(&identity)).to_string(), text);
    }
    assert_eq!(
        access(&["a"], &[], None, None).check(None).to_string(),
        "unauthenticated"
    );
}

mod indexed {
    //! The indexed check answers as the plain one, and `allows` as both,
    //! on any identity and any requirements (duplicates and empty action
    //! lists included).

    use super::*;
    use proptest::prelude::*;

    const WORDS: &[&str] = &["a", "b", "c", "d", "repo", "job/x"];

    fn word() -> impl Strategy<Value = String> {
        proptest::sample::select(WORDS).prop_map(str::to_owned)
    }

    fn identity() -> impl Strategy<Value = Identity> {
        (
            proptest::collection::vec(word(), 0..5),
            proptest::collection::vec((word(), proptest::collection::vec(word(), 0..3)), 0..3),
        )
            .prop_map(|(scopes, resources)| {
                let mut identity = Identity::new("x").scopes(scopes);
                for (resource, actions) in resources {
                    identity = identity.resource(resource, actions);
                }
                identity
            })
    }

    fn access() -> impl Strategy<Value = AccessControl> {
        (
            proptest::collection::vec(word(), 0..3),
            proptest::collection::vec(word(), 0..3),
            proptest::option::of(word()),
            proptest::option::of(word()),
        )
            .prop_map(|(all, any, resource, action)| AccessControl {
                required_scopes: all,
                required_scopes_any: any,
                resource_type: resource,
                resource_action: action,
            })
    }

    proptest! {
        #[test]
        fn the_indexed_check_and_allows_answer_as_the_plain_check(
            identity in proptest::option::of(identity()),
            access in access(),
        ) {
            let indexed = identity.clone().map(Identity::indexed);
            let answer = access.check(identity.as_ref());
            prop_assert_eq!(access.check_indexed(indexed.as_ref()), answer.clone());
            prop_assert_eq!(access.allows(identity.as_ref()), answer.is_allowed());
            prop_assert_eq!(access.allows_indexed(indexed.as_ref()), answer.is_allowed());
        }
    }
}
