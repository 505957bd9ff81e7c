//! The strings the ACL is made of: scopes, actions, identity ids and
//! resource names.
//!
//! All of them are *tokens*: non-empty, at most [`MAX_TOKEN_BYTES`] bytes,
//! and free of whitespace and control characters. That keeps them
//! unambiguous in messages and lets the ACL build readable node and edge
//! keys by joining tokens with a space (`delegates alice ci-bot`). The JSON
//! Schemas in `schemas/acl/` state the same rule as the pattern
//! `^[^\s\u0000-\u001f\u007f-\u009f]+$`; a test keeps the two in step.

/// The longest scope, action, identity id, resource type or resource id,
/// in bytes.
pub const MAX_TOKEN_BYTES: usize = 256;

/// Longest prefix of a rejected token quoted back in an error message.
const QUOTED_PREFIX_CHARS: usize = 40;

/// Why a string is not a valid token, as a message naming it.
pub(crate) fn token_problem(what: &str, token: &str) -> Option<String> {
    if token.is_empty() {
        return Some(format!("{what} must not be empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Some(format!(
            "{what} {} is {} bytes, over the limit of {MAX_TOKEN_BYTES}",
            quoted_prefix(token),
            token.len()
        ));
    }
    if let Some(c) = token.chars().find(|&c| is_separator(c)) {
        let kind = if c.is_control() {
            "a control character"
        } else {
            "whitespace"
        };
        return Some(format!("{what} {token:?} contains {kind}"));
    }
    None
}

/// Why a string is not a valid resource type (a token without `/`).
pub(crate) fn resource_type_problem(resource_type: &str) -> Option<String> {
    token_problem("resource_type", resource_type).or_else(|| {
        resource_type
            .contains('/')
            .then(|| format!("resource_type {resource_type:?} must not contain '/'"))
    })
}

/// Why a resource name (`type` or `type/id`) is not valid: its type is
/// not a valid resource type, or its id not a token.
pub(crate) fn resource_name_problem(name: &str) -> Option<String> {
    let (resource_type, id) = match name.split_once('/') {
        Some((resource_type, id)) => (resource_type, Some(id)),
        None => (name, None),
    };
    resource_type_problem(resource_type)
        .or_else(|| id.and_then(|id| token_problem("resource_id", id)))
}

/// Why a grant (scopes, and actions by resource name) is not well-formed:
/// its first bad scope, resource name or action. The one rule for every
/// holder of a grant: principals, delegations, peers and API keys.
pub(crate) fn grant_problem<'a, A>(
    scopes: impl IntoIterator<Item = &'a String>,
    resources: impl IntoIterator<Item = (&'a String, A)>,
) -> Option<String>
where
    A: IntoIterator<Item = &'a String>,
{
    scopes
        .into_iter()
        .find_map(|scope| token_problem("scope", scope))
        .or_else(|| {
            resources.into_iter().find_map(|(name, actions)| {
                resource_name_problem(name).or_else(|| {
                    actions
                        .into_iter()
                        .find_map(|action| token_problem("action", action))
                })
            })
        })
}

/// Whitespace as ECMA-262 `\s` and Rust's `char::is_whitespace` see it
/// (the union of both), and control characters (`Cc`).
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_control() || c == '\u{feff}'
}

fn quoted_prefix(token: &str) -> String {
    let mut chars = token.chars();
    let prefix: String = chars.by_ref().take(QUOTED_PREFIX_CHARS).collect();
    if chars.next().is_some() {
        format!("{prefix:?}…")
    } else {
        format!("{prefix:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_checked_by_one_rule_whoever_holds_it() {
        use std::collections::{BTreeMap, BTreeSet, HashMap};
        let s = |v: &str| v.to_owned();
        let ok = HashMap::from([(s("repo/a/b"), vec![s("read")])]);
        assert_eq!(grant_problem(&[s("deploy")], &ok), None);
        for (name, reason) in [
            ("/x", "resource_type must not be empty"),
            ("repo/", "resource_id must not be empty"),
            ("re po", r#"resource_type "re po" contains whitespace"#),
        ] {
            let peer = HashMap::from([(s(name), vec![s("read")])]);
            let principal = BTreeMap::from([(s(name), BTreeSet::from([s("read")]))]);
            assert_eq!(grant_problem(&[], &peer).as_deref(), Some(reason));
            assert_eq!(grant_problem(&[], &principal).as_deref(), Some(reason));
        }
        let action = HashMap::from([(s("repo"), vec![s("")])]);
        assert_eq!(
            grant_problem(&[], &action).as_deref(),
            Some("action must not be empty")
        );
        assert_eq!(
            grant_problem(&[s("a b")], &ok).as_deref(),
            Some(r#"scope "a b" contains whitespace"#)
        );
    }

    #[test]
    fn tokens_are_non_empty_printable_and_bounded() {
        assert_eq!(token_problem("scope", "repo:read"), None);
        assert_eq!(token_problem("scope", "ünïcödé/✓"), None);
        assert_eq!(
            token_problem("scope", ""),
            Some("scope must not be empty".into())
        );
        assert_eq!(
            token_problem("scope", "repo read"),
            Some(r#"scope "repo read" contains whitespace"#.into())
        );
        assert_eq!(
            token_problem("scope", "a\u{7}b"),
            Some(r#"scope "a\u{7}b" contains a control character"#.into())
        );
        assert_eq!(
            token_problem("scope", "no\u{feff}bom"),
            Some(r#"scope "no\u{feff}bom" contains whitespace"#.into())
        );
        assert_eq!(token_problem("scope", &"x".repeat(MAX_TOKEN_BYTES)), None);
        assert_eq!(
            token_problem("scope", &"x".repeat(MAX_TOKEN_BYTES + 1)),
            Some(format!(
                "scope \"{}\"… is 257 bytes, over the limit of 256",
                "x".repeat(40)
            ))
        );
    }

    #[test]
    fn multibyte_tokens_are_bounded_in_bytes() {
        let token = "é".repeat(129);
        assert_eq!(token.len(), 258);
        assert!(token_problem("scope", &token).is_some());
    }

    #[test]
    fn resource_types_have_no_slash() {
        assert_eq!(resource_type_problem("repo"), None);
        assert_eq!(
            resource_type_problem("repo/x"),
            Some(r#"resource_type "repo/x" must not contain '/'"#.into())
        );
    }
}
