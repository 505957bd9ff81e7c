//! Random sequences of ACL writes through a real store, checked end to end
//! against the reference model (`acl_model`): each write is accepted or
//! refused exactly as the model predicts (including the write-time check
//! that a delegator holds what it delegates), a refused write commits
//! nothing, and the grants the handle keeps incrementally agree with the
//! model and with a fresh load at instants around every time bound.
//!
//! 64 cases by default (this one goes through SQLite);
//! `PROPTEST_CASES=N` runs N / 16 (at least 64).

mod common;

mod acl_model;

use common::identity_type;
use std::collections::BTreeSet;

use acl_model::{Model, RESOURCES, SCOPES};
use alknet_graphs::acl::{
    Acl, AclEdge, Action, ActionGrant, Delegation, IdentityType, Membership, Principal, Resource,
    Resources, Validity,
};
use alknet_graphs::Store;
use proptest::prelude::*;

const PRINCIPALS: usize = 6;
const HOUR: i64 = 3_600_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn id(i: usize) -> String {
    format!("p{i}")
}

/// Bounds in whole hours around the start of the case.
#[derive(Debug, Clone, Copy)]
struct Window {
    not_before: Option<i64>,
    expires_at: Option<i64>,
}

impl Window {
    fn validity(self, base: i64) -> Validity {
        Validity {
            not_before: self.not_before.map(|h| base + h * HOUR),
            expires_at: self.expires_at.map(|h| base + h * HOUR),
            revoked_at: None,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    AddPrincipal(usize, IdentityType, BTreeSet<String>, Resources),
    UpdatePrincipal(usize, IdentityType, BTreeSet<String>, Resources),
    RemovePrincipal(usize),
    Delegate(usize, usize, BTreeSet<String>, Resources, Window),
    UpdateDelegation(usize, usize, BTreeSet<String>, Resources, Window),
    Revoke(usize, usize),
    AddMembership(usize, usize, Window),
    RemoveMembership(usize, usize),
    Grant(usize, Action, usize),
    RevokeGrant(usize, Action, usize),
}

/// Principals hold more than delegations pass on, so that a fair share of
/// delegations pass the write-time check.
fn held_scopes() -> impl Strategy<Value = BTreeSet<String>> {
    scopes_between(1, SCOPES.len())
}

fn scopes() -> impl Strategy<Value = BTreeSet<String>> {
    scopes_between(0, 2)
}

fn scopes_between(min: usize, max: usize) -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(0..SCOPES.len(), min..=max)
        .prop_map(|set| set.into_iter().map(|i| SCOPES[i].to_owned()).collect())
}

fn resources() -> impl Strategy<Value = Resources> {
    prop::collection::btree_set((0..RESOURCES.len(), 0..Action::ALL.len()), 0..=2).prop_map(|set| {
        let mut resources = Resources::new();
        for (r, a) in set {
            resources
                .entry(RESOURCES[r].to_owned())
                .or_default()
                .insert(Action::ALL[a].as_str().to_owned());
        }
        resources
    })
}

fn window() -> impl Strategy<Value = Window> {
    (
        prop::option::weighted(0.3, -3i64..=3),
        prop::option::weighted(0.3, -3i64..=3),
    )
        .prop_map(|(not_before, expires_at)| Window {
            not_before,
            expires_at,
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Read),
        Just(Action::Write),
        Just(Action::Execute)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = || 0..PRINCIPALS;
    prop_oneof![
        1 => (p(), identity_type(), held_scopes(), resources())
            .prop_map(|(i, k, s, r)| Op::AddPrincipal(i, k, s, r)),
        1 => (p(), identity_type(), held_scopes(), resources())
            .prop_map(|(i, k, s, r)| Op::UpdatePrincipal(i, k, s, r)),
        1 => p().prop_map(Op::RemovePrincipal),
        4 => (p(), p(), scopes(), resources(), window())
            .prop_map(|(a, b, s, r, w)| Op::Delegate(a, b, s, r, w)),
        1 => (p(), p(), scopes(), resources(), window())
            .prop_map(|(a, b, s, r, w)| Op::UpdateDelegation(a, b, s, r, w)),
        1 => (p(), p()).prop_map(|(a, b)| Op::Revoke(a, b)),
        2 => (p(), p(), window()).prop_map(|(m, g, w)| Op::AddMembership(m, g, w)),
        1 => (p(), p()).prop_map(|(m, g)| Op::RemoveMembership(m, g)),
        1 => (p(), action(), 0..RESOURCES.len()).prop_map(|(i, a, r)| Op::Grant(i, a, r)),
        1 => (p(), action(), 0..RESOURCES.len()).prop_map(|(i, a, r)| Op::RevokeGrant(i, a, r)),
    ]
}

fn window_ok(v: &Validity) -> bool {
    match (v.not_before, v.expires_at) {
        (Some(from), Some(until)) => until > from,
        _ => true,
    }
}

fn holds(model: &Model, who: &str, d: &Delegation, now: i64) -> bool {
    let held = model.grant(who, now, 32);
    d.narrowed_scopes.iter().all(|s| held.has_scope(s))
        && d.narrowed_resources
            .iter()
            .all(|(r, actions)| actions.iter().all(|a| held.allows(r, a)))
}

fn is_group(model: &Model, who: &str) -> bool {
    model
        .principals
        .get(who)
        .is_some_and(|p| p.identity_type.is_group())
}

/// Runs `op` against the handle; returns whether it was accepted, and the
/// edge it wrote (read back, for the instant a revocation recorded).
fn run(acl: &mut Acl, op: &Op, base: i64) -> alknet_graphs::Result<u64> {
    match op.clone() {
        Op::AddPrincipal(i, kind, s, r) | Op::UpdatePrincipal(i, kind, s, r) => {
            let p = Principal {
                identity_id: id(i),
                identity_type: kind,
                scopes: s,
                resources: r,
            };
            if matches!(op, Op::AddPrincipal(..)) {
                acl.add_principal(&p)
            } else {
                acl.update_principal(&p)
            }
        }
        Op::RemovePrincipal(i) => acl.remove_principal(&id(i)),
        Op::Delegate(a, b, s, r, w) | Op::UpdateDelegation(a, b, s, r, w) => {
            let d = delegation(a, b, s, r, w, base);
            if matches!(op, Op::Delegate(..)) {
                acl.delegate(&d)
            } else {
                acl.update_delegation(&d)
            }
        }
        Op::Revoke(a, b) => acl.revoke(&id(a), &id(b)),
        Op::AddMembership(m, g, w) => {
            acl.add_membership(&Membership::new(id(m), id(g)).validity(w.validity(base)))
        }
        Op::RemoveMembership(m, g) => acl.remove_membership(&id(m), &id(g)),
        Op::Grant(i, a, r) => acl.grant(&id(i), a, RESOURCES[r]),
        Op::RevokeGrant(i, a, r) => acl.revoke_grant(&id(i), a, RESOURCES[r]),
    }
}

fn delegation(
    a: usize,
    b: usize,
    s: BTreeSet<String>,
    r: Resources,
    w: Window,
    base: i64,
) -> Delegation {
    Delegation {
        from: id(a),
        to: id(b),
        narrowed_scopes: s,
        narrowed_resources: r,
        validity: w.validity(base),
        budgets: Default::default(),
    }
}

/// Points writes that need an existing edge (revoke, update, remove) at
/// one of the model's edges of that kind when it has any, so that they
/// are not refused as a rule.
fn aim(op: &Op, model: &Model) -> Op {
    let index = |who: &str| who.trim_start_matches('p').parse::<usize>().unwrap_or(0);
    let nth = |a: usize, b: usize, wanted: fn(&AclEdge) -> bool| {
        let edges: Vec<&AclEdge> = model.edges.values().filter(|e| wanted(e)).collect();
        (!edges.is_empty()).then(|| edges[(a * PRINCIPALS + b) % edges.len()].clone())
    };
    let delegation = |e: &AclEdge| matches!(e, AclEdge::Delegates(_));
    let membership = |e: &AclEdge| matches!(e, AclEdge::BelongsTo(_));
    let grant = |e: &AclEdge| matches!(e, AclEdge::Can(_));
    match op.clone() {
        Op::Revoke(a, b) => match nth(a, b, delegation) {
            Some(AclEdge::Delegates(d)) => Op::Revoke(index(&d.from), index(&d.to)),
            _ => op.clone(),
        },
        Op::UpdateDelegation(a, b, s, r, w) => match nth(a, b, delegation) {
            Some(AclEdge::Delegates(d)) => {
                Op::UpdateDelegation(index(&d.from), index(&d.to), s, r, w)
            }
            _ => op.clone(),
        },
        Op::RemoveMembership(a, b) => match nth(a, b, membership) {
            Some(AclEdge::BelongsTo(m)) => Op::RemoveMembership(index(&m.member), index(&m.group)),
            _ => op.clone(),
        },
        Op::RevokeGrant(i, action, r) => match nth(i, r, grant) {
            Some(AclEdge::Can(g)) => {
                let resource = RESOURCES.iter().position(|&n| n == g.resource).unwrap_or(0);
                Op::RevokeGrant(index(&g.principal), g.action, resource)
            }
            _ => Op::RevokeGrant(i, action, r),
        },
        other => other,
    }
}

/// The model after `op`, or `None` if the ACL must refuse it.
fn predict(model: &Model, op: &Op, base: i64, now: i64) -> Option<Model> {
    let mut next = model.clone();
    let exists = |i: usize| model.principals.contains_key(&id(i));
    match op.clone() {
        Op::AddPrincipal(i, kind, s, r) => {
            if exists(i) {
                return None;
            }
            next.principals.insert(
                id(i),
                Principal {
                    identity_id: id(i),
                    identity_type: kind,
                    scopes: s,
                    resources: r,
                },
            );
        }
        Op::UpdatePrincipal(i, kind, s, r) => {
            let has_members = model
                .edges
                .values()
                .any(|e| matches!(e, AclEdge::BelongsTo(m) if m.group == id(i)));
            if !exists(i) || (!kind.is_group() && has_members) {
                return None;
            }
            next.principals.insert(
                id(i),
                Principal {
                    identity_id: id(i),
                    identity_type: kind,
                    scopes: s,
                    resources: r,
                },
            );
        }
        Op::RemovePrincipal(i) => {
            if !exists(i) {
                return None;
            }
            next.principals.remove(&id(i));
            next.edges.retain(|_, e| {
                let (source, target) = e.ends();
                source != id(i) && target != id(i)
            });
        }
        Op::Delegate(a, b, s, r, w) | Op::UpdateDelegation(a, b, s, r, w) => {
            let d = delegation(a, b, s, r, w, base);
            let edge = AclEdge::Delegates(d.clone());
            let present = model.edges.contains_key(&edge.key());
            let adding = matches!(op, Op::Delegate(..));
            if a == b
                || !exists(a)
                || !exists(b)
                || present == adding
                || !window_ok(&d.validity)
                || !holds(model, &id(a), &d, now)
            {
                return None;
            }
            next.edges.insert(edge.key(), edge);
        }
        Op::Revoke(a, b) => {
            let key = AclEdge::Delegates(Delegation::new(id(a), id(b))).key();
            model.edges.get(&key)?;
            // The instant is the handle's; the caller copies it over.
        }
        Op::AddMembership(m, g, w) => {
            let edge = AclEdge::BelongsTo(Membership::new(id(m), id(g)).validity(w.validity(base)));
            if m == g
                || !exists(m)
                || !is_group(model, &id(g))
                || model.edges.contains_key(&edge.key())
                || !window_ok(&edge.validity())
            {
                return None;
            }
            next.edges.insert(edge.key(), edge);
        }
        Op::RemoveMembership(m, g) => {
            let key = AclEdge::BelongsTo(Membership::new(id(m), id(g))).key();
            next.edges.remove(&key)?;
        }
        Op::Grant(i, action, r) | Op::RevokeGrant(i, action, r) => {
            let edge = AclEdge::Can(ActionGrant {
                principal: id(i),
                action,
                resource: RESOURCES[r].to_owned(),
            });
            if matches!(op, Op::Grant(..)) {
                if !exists(i) || model.edges.contains_key(&edge.key()) {
                    return None;
                }
                next.edges.insert(edge.key(), edge);
            } else {
                next.edges.remove(&edge.key())?;
            }
        }
    }
    Some(next)
}

fn check_sequence(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("acl.db")).expect("open store");
    let mut acl = Acl::open(&store).expect("open acl");
    for name in RESOURCES {
        acl.add_resource(&Resource::of_type(name))
            .expect("resource");
    }
    let base = now();
    let mut model = Model::default();
    for op in ops {
        let op = &aim(op, &model);
        let revision = store.revision().expect("revision");
        let predicted = predict(&model, op, base, now());
        let outcome = run(&mut acl, op, base);
        match (predicted, outcome) {
            (Some(next), Ok(_)) => {
                model = next;
                if let Op::Revoke(a, b) = op {
                    // Take the instant the handle recorded.
                    let key = AclEdge::Delegates(Delegation::new(id(*a), id(*b))).key();
                    let written = acl.graph().edge(&key).cloned().expect("still there");
                    let revoked_at = written.validity().revoked_at;
                    prop_assert!(revoked_at.is_some_and(|at| at >= base), "{:?}", written);
                    model.edges.insert(key, written);
                }
            }
            (None, Err(_)) => {
                prop_assert_eq!(
                    store.revision().expect("revision"),
                    revision,
                    "{:?} committed",
                    op
                );
                prop_assert_eq!(acl.revision(), revision);
            }
            (predicted, outcome) => {
                prop_assert!(
                    false,
                    "{:?}: predicted {}, got {:?}",
                    op,
                    if predicted.is_some() {
                        "accept"
                    } else {
                        "refuse"
                    },
                    outcome
                );
            }
        }
    }

    let fresh = Acl::open(&store).expect("reopen");
    let probes: BTreeSet<i64> = model
        .bounds()
        .into_iter()
        .flat_map(|b| [b - 1, b])
        .chain([base - 4 * HOUR, now(), base + 4 * HOUR])
        .collect();
    for p in model.principals.keys() {
        for &t in &probes {
            let expected = Some(model.grant(p, t, 32));
            prop_assert_eq!(&acl.effective_at(p, t), &expected, "{} at {}", p, t);
            prop_assert_eq!(
                &fresh.effective_at(p, t),
                &expected,
                "{} at {} after reload",
                p,
                t
            );
        }
        // The identity served from memory is the grant now, flattened.
        let now_grant = model.grant(p, now(), 32);
        prop_assert_eq!(
            acl.identity(p),
            Some(now_grant.clone().into_identity(p.as_str()))
        );
        prop_assert_eq!(fresh.identity(p), Some(now_grant.into_identity(p.as_str())));
        let at = acl.resolution().at();
        prop_assert_eq!(
            acl.resolution().effective(acl.graph(), p),
            Some(model.grant(p, at, 32)),
            "{} kept incrementally",
            p
        );
    }
    prop_assert_eq!(fresh.graph().principal_count(), model.principals.len());
    prop_assert_eq!(fresh.graph().edge_count(), model.edges.len());
    for (key, edge) in &model.edges {
        prop_assert_eq!(fresh.graph().edge(key), Some(edge), "{} after reload", key);
        prop_assert_eq!(acl.graph().edge(key), Some(edge), "{} kept", key);
    }
    Ok(())
}

/// A sixteenth of `PROPTEST_CASES` (this property runs through SQLite), at
/// least 64.
fn config() -> ProptestConfig {
    let cases = common::cases_or(0) / 16;
    common::proptest_config("acl_store_props.txt", cases.max(64))
}

proptest! {
    #![proptest_config(config())]

    /// Every principal is added first (some may be removed later), then
    /// the random writes run.
    #[test]
    fn writes_through_the_store_agree_with_the_model(
        setup in prop::collection::vec((identity_type(), held_scopes(), resources()), PRINCIPALS),
        ops in prop::collection::vec(op(), 1..30),
    ) {
        let adds = setup
            .into_iter()
            .enumerate()
            .map(|(i, (kind, s, r))| Op::AddPrincipal(i, kind, s, r));
        let sequence: Vec<Op> = adds.chain(ops).collect();
        check_sequence(&sequence)?;
    }
}
