//! Random sequences of reservations, commits, releases, revocations,
//! budget changes and clock steps through a real store, checked against a
//! naive model: each reservation is accepted or refused exactly as the
//! model predicts (no budget, or the tightest budget without room, named
//! with its figures), it draws on exactly the budgeted delegations on the
//! chains into the principal, committing or releasing is refused exactly
//! when the reservation is not live, and what the store reports as spent
//! and reserved on every budget agrees with the model. Spent plus live
//! reservations never exceed a budget that was not lowered below them,
//! and `verify` finds the store clean after every sequence.
//!
//! 16 cases by default (each goes through SQLite); `PROPTEST_CASES=N`
//! runs N / 16 (at least 16).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use alknet_graphs::acl::{Acl, Delegation, IdentityType, Membership, Principal};
use alknet_graphs::Store;
use proptest::prelude::*;

const UNIT: &str = "U";
const PRINCIPALS: [(&str, IdentityType); 6] = [
    ("r", IdentityType::Account),
    ("a", IdentityType::Account),
    ("b", IdentityType::Service),
    ("g", IdentityType::Org),
    ("m", IdentityType::Service),
    ("c", IdentityType::Account),
];

/// The graph's edges, in the order they are written: (from, to, is a
/// delegation). `m → g` is a membership; `b → a` closes a cycle.
const EDGES: [(&str, &str, bool); 7] = [
    ("r", "a", true),
    ("a", "b", true),
    ("r", "g", true),
    ("m", "g", false),
    ("m", "b", true),
    ("c", "m", true),
    ("b", "a", true),
];

#[derive(Debug, Clone)]
enum Op {
    Reserve { who: usize, amount: u64, ttl: u64 },
    Commit(usize),
    Release(usize),
    Advance(i64),
    Revoke(usize),
    SetBudget(usize, Option<u64>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PRINCIPALS.len(), 1..=25u64, 1..=60u64)
            .prop_map(|(who, amount, ttl)| Op::Reserve { who, amount, ttl }),
        3 => any::<prop::sample::Index>().prop_map(|i| Op::Commit(i.index(usize::MAX))),
        2 => any::<prop::sample::Index>().prop_map(|i| Op::Release(i.index(usize::MAX))),
        3 => (0..40i64).prop_map(Op::Advance),
        1 => (0..EDGES.len()).prop_map(Op::Revoke),
        1 => (0..EDGES.len(), proptest::option::of(0..=60u64)).prop_map(|(e, b)| Op::SetBudget(e, b)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reserved,
    Committed,
    Released,
}

#[derive(Debug)]
struct ModelReservation {
    id: String,
    amount: u64,
    expires_at: i64,
    state: State,
    edges: BTreeSet<usize>,
}

#[derive(Debug)]
struct Model {
    budgets: Vec<Option<u64>>,
    revoked: Vec<bool>,
    /// Set once a budget is lowered below what is used of it.
    lowered: Vec<bool>,
    reservations: Vec<ModelReservation>,
}

fn key(e: usize) -> String {
    let (from, to, delegates) = EDGES[e];
    if delegates {
        format!("delegates {from} {to}")
    } else {
        format!("belongs_to {from} {to}")
    }
}

impl Model {
    /// The delegations in force on a chain into `who`: a plain fixed point.
    fn drawn(&self, who: &str) -> BTreeSet<usize> {
        let mut reach: BTreeSet<&str> = BTreeSet::from([who]);
        let mut drawn = BTreeSet::new();
        loop {
            let before = (reach.len(), drawn.len());
            for (e, &(from, to, delegates)) in EDGES.iter().enumerate() {
                if self.revoked[e] {
                    continue;
                }
                if delegates && reach.contains(to) {
                    reach.insert(from);
                    drawn.insert(e);
                }
                if !delegates && reach.contains(from) {
                    reach.insert(to);
                }
            }
            if (reach.len(), drawn.len()) == before {
                return drawn;
            }
        }
    }

    fn used(&self, e: usize, t: i64) -> (u64, u64) {
        let mut spent = 0;
        let mut reserved = 0;
        for r in self.reservations.iter().filter(|r| r.edges.contains(&e)) {
            match r.state {
                State::Committed => spent += r.amount,
                State::Reserved if r.expires_at > t => reserved += r.amount,
                _ => {}
            }
        }
        (spent, reserved)
    }

    /// What reserving `amount` for `who` at `t` must do: the edges it
    /// draws on, or the error message.
    fn reserve(&self, who: &str, amount: u64, t: i64) -> Result<BTreeSet<usize>, String> {
        let budgeted: Vec<usize> = {
            let mut edges: Vec<usize> = self
                .drawn(who)
                .into_iter()
                .filter(|&e| self.budgets[e].is_some())
                .collect();
            edges.sort_by_key(|&e| key(e));
            edges
        };
        if budgeted.is_empty() {
            return Err(format!(
                r#"node "{who}" in graph "acl": no delegation in force on a chain into it has a budget in "{UNIT}"; spending needs one"#
            ));
        }
        let mut short: Option<(u64, usize)> = None;
        for &e in &budgeted {
            let budget = self.budgets[e].unwrap_or(0);
            let (spent, reserved) = self.used(e, t);
            let remaining = budget.saturating_sub(spent + reserved);
            if remaining < amount && short.is_none_or(|(least, _)| remaining < least) {
                short = Some((remaining, e));
            }
        }
        if let Some((remaining, e)) = short {
            let (spent, reserved) = self.used(e, t);
            return Err(format!(
                r#"edge "{}" in graph "acl": reserving {amount} {UNIT} would exceed its budget of {} {UNIT} ({} spent or reserved, {remaining} remaining)"#,
                key(e),
                self.budgets[e].unwrap_or(0),
                spent + reserved
            ));
        }
        Ok(budgeted.into_iter().collect())
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .map_or(16, |n| (n / 16).max(16))
}

fn setup(store: &Store, budgets: &[Option<u64>]) -> Acl {
    let mut acl = Acl::open(store).unwrap();
    for (id, kind) in PRINCIPALS {
        let p = Principal::new(id, kind);
        let p = if id == "r" { p.scopes(["s"]) } else { p };
        acl.add_principal(&p).unwrap();
    }
    for (e, &(from, to, delegates)) in EDGES.iter().enumerate() {
        if delegates {
            // c holds nothing, so it delegates nothing; its budget still binds.
            let scopes: &[&str] = if from == "c" { &[] } else { &["s"] };
            let mut d = Delegation::new(from, to).scopes(scopes.iter().copied());
            if let Some(b) = budgets[e] {
                d = d.budget(UNIT, b);
            }
            acl.delegate(&d).unwrap();
        } else {
            acl.add_membership(&Membership::new(from, to)).unwrap();
        }
    }
    acl
}

proptest! {
    #![proptest_config(common::proptest_config("acl_budget_props.txt", cases()))]

    #[test]
    fn reservations_agree_with_the_model(
        budgets in proptest::collection::vec(proptest::option::of(0..=60u64), EDGES.len()),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        // Memberships carry no budget.
        let budgets: Vec<Option<u64>> = budgets
            .iter()
            .zip(EDGES)
            .map(|(&b, (_, _, delegates))| if delegates { b } else { None })
            .collect();
        let (_dir, store) = common::store();
        let mut acl = setup(&store, &budgets);
        // Far enough ahead that a revocation (made at the real clock) is
        // already in force on this clock.
        let mut t: i64 = 4_000_000_000_000;
        let mut model = Model {
            budgets,
            revoked: vec![false; EDGES.len()],
            lowered: vec![false; EDGES.len()],
            reservations: Vec::new(),
        };
        for op in ops {
            match op {
                Op::Reserve { who, amount, ttl } => {
                    let who = PRINCIPALS[who].0;
                    let expected = model.reserve(who, amount, t);
                    let got = acl.reserve_at(who, UNIT, amount, Duration::from_millis(ttl), t);
                    match (expected, got) {
                        (Ok(edges), Ok(r)) => {
                            let keys: Vec<String> = edges.iter().map(|&e| key(e)).collect::<BTreeSet<_>>().into_iter().collect();
                            prop_assert_eq!(&r.edges, &keys);
                            model.reservations.push(ModelReservation {
                                id: r.id,
                                amount,
                                expires_at: t + ttl as i64,
                                state: State::Reserved,
                                edges,
                            });
                        }
                        (Err(want), Err(got)) => prop_assert_eq!(got.to_string(), want),
                        (want, got) => prop_assert!(false, "expected {:?}, got {:?}", want, got),
                    }
                }
                Op::Commit(i) | Op::Release(i) if !model.reservations.is_empty() => {
                    let commit = matches!(op, Op::Commit(_));
                    let n = model.reservations.len();
                    let r = &mut model.reservations[i % n];
                    let got = if commit {
                        acl.commit_at(&r.id, t)
                    } else {
                        acl.release_at(&r.id, t)
                    };
                    let name = format!("reservation {:?}", r.id);
                    let verb = if commit { "committed" } else { "released" };
                    let want: Result<(), String> = match (r.state, commit) {
                        (State::Reserved, _) if r.expires_at <= t => Err(if commit {
                            format!("{name}: expired at {}; only a live reservation can be committed", r.expires_at)
                        } else {
                            format!("{name}: expired at {} and was released then", r.expires_at)
                        }),
                        (State::Reserved, _) => Ok(()),
                        (State::Committed, true) => Err(format!("{name}: is already committed")),
                        (State::Committed, false) => Err(format!("{name}: is committed; spend is never released")),
                        (State::Released, false) => Err(format!("{name}: is already released")),
                        (State::Released, true) => Err(format!("{name}: was released; only a live reservation can be {verb}")),
                    };
                    match (want, got) {
                        (Ok(()), Ok(settled)) => {
                            prop_assert_eq!(settled.settled_at, Some(t));
                            r.state = if commit { State::Committed } else { State::Released };
                        }
                        (Err(want), Err(got)) => prop_assert_eq!(got.to_string(), want),
                        (want, got) => prop_assert!(false, "expected {:?}, got {:?}", want, got),
                    }
                }
                Op::Commit(_) | Op::Release(_) => {}
                Op::Advance(dt) => t += dt,
                Op::Revoke(e) => {
                    let (from, to, delegates) = EDGES[e];
                    if delegates {
                        acl.revoke(from, to).unwrap();
                    } else {
                        acl.remove_membership(from, to).unwrap_or_default();
                    }
                    model.revoked[e] = true;
                }
                Op::SetBudget(e, amount) => {
                    let (from, to, delegates) = EDGES[e];
                    if !delegates {
                        continue;
                    }
                    match amount {
                        Some(amount) => {
                            acl.set_budget(from, to, UNIT, amount).unwrap();
                            let (spent, reserved) = model.used(e, t);
                            if amount < spent + reserved {
                                model.lowered[e] = true;
                            }
                            model.budgets[e] = Some(amount);
                        }
                        None => {
                            let got = acl.remove_budget(from, to, UNIT);
                            if model.budgets[e].take().is_some() {
                                prop_assert!(got.is_ok(), "{:?}", got);
                            } else {
                                prop_assert_eq!(
                                    got.unwrap_err().to_string(),
                                    format!(r#"edge "{}" in graph "acl": has no budget in "{UNIT}""#, key(e))
                                );
                            }
                        }
                    }
                }
            }
            // What the store reports on every budget agrees with the model,
            // and a budget never lowered is never exceeded.
            let reported = acl.delegation_budgets_at(t).unwrap();
            let expected: Vec<(String, u64, u64, u64)> = {
                let mut rows: Vec<_> = (0..EDGES.len())
                    .filter_map(|e| model.budgets[e].map(|b| {
                        let (spent, reserved) = model.used(e, t);
                        (key(e), b, spent, reserved)
                    }))
                    .collect();
                rows.sort();
                rows
            };
            let got: Vec<(String, u64, u64, u64)> = reported
                .iter()
                .map(|b| (b.edge.clone(), b.amount, b.spent, b.reserved))
                .collect();
            prop_assert_eq!(&got, &expected);
            for b in &reported {
                let e = (0..EDGES.len()).find(|&e| key(e) == b.edge).unwrap();
                if !model.lowered[e] {
                    prop_assert!(b.spent + b.reserved <= b.amount, "over budget: {:?}", b);
                }
            }
        }
        // And verify, which checks every reservation against the budgets
        // it drew on, finds nothing wrong.
        let report = alknet_graphs::verify(&store).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.problems());
    }
}
