//! Property tests of `ScopeSet` against a `BTreeSet<String>` model: after
//! every insert, remove and extend the set holds what the model holds,
//! lists it in the model's order, compares equal exactly where the model
//! does, and prints and serializes as the model's sorted list. The check
//! on an identity holding the set answers as a naive scan of the model.
//!
//! 512 cases per property by default; `PROPTEST_CASES` overrides it.
//! Failures are saved under `proptest-regressions/acl_scope_set_props.txt`
//! and replayed first.

mod common;

use std::collections::BTreeSet;

use alknet_graphs::acl::{AccessControl, AccessResult, Identity, Missing, ScopeSet};
use proptest::prelude::*;

/// Short names that collide in their first bytes, an empty one, a
/// non-ASCII one, and names longer than 16 bytes (which foldhash hashes on
/// another path), beside random ones.
const WORDS: &[&str] = &[
    "",
    "a",
    "A",
    "ab",
    "b",
    "é",
    "repo:read",
    "repo:write",
    "deploy:staging:eu-west-1",
    "deploy:staging:eu-west-2",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => "[a-z:]{0,40}",
        // Long enough that removing a few leaves the set's buffer mostly
        // dead text, which compacts it.
        1 => "[a-z]{2}[a-z:]{40,60}",
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Insert(String),
    Remove(String),
    /// Removes the i-th (mod its size) scope the model holds.
    RemoveHeld(usize),
    Extend(Vec<String>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => word().prop_map(Op::Insert),
        1 => word().prop_map(Op::Remove),
        2 => any::<usize>().prop_map(Op::RemoveHeld),
        1 => proptest::collection::vec(word(), 0..4).prop_map(Op::Extend),
    ]
}

/// Every word the set or the model could hold, and some it does not.
fn probes(model: &BTreeSet<String>) -> Vec<String> {
    let mut probes: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
    probes.extend(model.iter().cloned());
    probes.extend(model.iter().map(|w| format!("{w}x")));
    probes
}

fn agrees(set: &ScopeSet, model: &BTreeSet<String>) -> Result<(), TestCaseError> {
    prop_assert_eq!(set.len(), model.len());
    prop_assert_eq!(set.is_empty(), model.is_empty());
    for probe in probes(model) {
        prop_assert_eq!(set.contains(&probe), model.contains(&probe), "{:?}", probe);
    }
    let listed: Vec<&str> = model.iter().map(String::as_str).collect();
    prop_assert_eq!(set.iter().collect::<Vec<_>>(), listed.clone());
    prop_assert_eq!(set.into_iter().rev().collect::<Vec<_>>(), {
        let mut reversed = listed.clone();
        reversed.reverse();
        reversed
    });
    prop_assert_eq!(format!("{set:?}"), format!("{listed:?}"));
    prop_assert_eq!(
        serde_json::to_string(set).unwrap(),
        serde_json::to_string(&listed).unwrap()
    );
    let owned: Vec<String> = set.clone().into_iter().collect();
    prop_assert_eq!(owned, model.iter().cloned().collect::<Vec<_>>());
    Ok(())
}

/// Two lists of scopes: unrelated, or the second the first reordered with
/// some scopes repeated and perhaps one added (so that equal sets are
/// common, from lists that differ).
fn pair() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let unrelated = (
        proptest::collection::vec(word(), 0..8),
        proptest::collection::vec(word(), 0..8),
    );
    let related = proptest::collection::vec(word(), 0..8).prop_flat_map(|left| {
        let n = left.len();
        (
            Just(left),
            proptest::collection::vec(0..n.max(1), 0..12),
            proptest::option::of(word()),
        )
            .prop_map(|(left, picks, extra)| {
                let mut right: Vec<String> = left.iter().rev().cloned().collect();
                right.extend(picks.iter().filter_map(|&i| left.get(i).cloned()));
                right.extend(extra);
                (left, right)
            })
    });
    prop_oneof![1 => unrelated, 3 => related]
}

proptest! {
    #![proptest_config(common::proptest_config("acl_scope_set_props.txt", common::cases_or(512)))]

    #[test]
    fn a_scope_set_is_a_sorted_set(ops in proptest::collection::vec(op(), 0..64)) {
        let mut set = ScopeSet::new();
        let mut model = BTreeSet::new();
        for op in ops {
            match op {
                Op::Insert(scope) => {
                    prop_assert_eq!(set.insert(scope.as_str()), model.insert(scope));
                }
                Op::Remove(scope) => prop_assert_eq!(set.remove(&scope), model.remove(&scope)),
                Op::RemoveHeld(i) => {
                    let held = model.iter().nth(i % model.len().max(1)).cloned();
                    if let Some(scope) = held {
                        prop_assert!(set.remove(&scope), "{:?}", scope);
                        model.remove(&scope);
                    }
                }
                Op::Extend(scopes) => {
                    set.extend(scopes.iter());
                    model.extend(scopes);
                }
            }
            agrees(&set, &model)?;
        }
    }

    #[test]
    fn a_scope_set_equals_what_its_model_equals((left, right) in pair()) {
        let left_model: BTreeSet<&str> = left.iter().map(String::as_str).collect();
        let right_model: BTreeSet<&str> = right.iter().map(String::as_str).collect();
        let same = left_model == right_model;
        let set: ScopeSet = left.iter().collect();
        // Built in another order, from owned strings.
        let other: ScopeSet = right.iter().rev().cloned().collect();
        prop_assert_eq!(set == other, same);
        let as_strs: Vec<&str> = right.iter().map(String::as_str).collect();
        prop_assert_eq!(set == as_strs, same);
        prop_assert_eq!(set == as_strs.as_slice(), same);
        prop_assert_eq!(set == right, same);
        let back: ScopeSet = serde_json::from_str(&serde_json::to_string(&right).unwrap()).unwrap();
        prop_assert_eq!(back, other);
    }

    #[test]
    fn the_check_answers_as_a_scan_of_the_model(
        held in proptest::collection::vec(word(), 0..8),
        required in prop_oneof![
            3 => proptest::collection::vec(word(), 0..4),
            // Past the 64 the denial notes inline.
            1 => proptest::collection::vec(word(), 60..80),
        ],
        any in proptest::collection::vec(word(), 0..4),
    ) {
        let model: BTreeSet<&str> = held.iter().map(String::as_str).collect();
        let identity = Identity::new("x").scopes(held.iter());
        let access = AccessControl::new().require(required.iter()).require_any(any.iter());
        let missing: Vec<String> =
            required.iter().filter(|s| !model.contains(s.as_str())).cloned().collect();
        let expected = if access.is_open() {
            None
        } else if !missing.is_empty() {
            Some((missing, Vec::new()))
        } else if !any.is_empty() && !any.iter().any(|s| model.contains(s.as_str())) {
            Some((Vec::new(), any.clone()))
        } else {
            None
        };
        let denial = |result: AccessResult| match result {
            AccessResult::Allowed => None,
            AccessResult::Denied(Missing::Scopes(lacking)) => Some((lacking.to_vec(), Vec::new())),
            AccessResult::Denied(Missing::AnyOf(any)) => Some((Vec::new(), any.to_vec())),
            other => panic!("no resource is required, yet {other}"),
        };
        prop_assert_eq!(denial(access.check(Some(&identity))), expected.clone());
        prop_assert_eq!(denial(access.check_indexed(Some(&identity.indexed()))), expected);
    }
}
