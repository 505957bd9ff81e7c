//! Property test of what-if: on random ACLs written through the store, the
//! answer of `what_if(change)` (principals and peers, gained and lost)
//! equals the difference of every effective grant and every peer identity
//! before and after making the same change for real; a change the write
//! refuses is refused by what-if with the same message; and what-if
//! writes nothing.

mod common;

use common::{identity_type, now_ms as now};
use std::collections::{BTreeMap, BTreeSet};

use alknet_graphs::acl::{
    Acl, Change, Delegation, GrantChange, GrantDelta, IdentityType, Membership, Principal,
    Resources, Validity,
};
use alknet_graphs::identity::{IdentityProvider, PeerEntry, SqliteIdentityProvider};
use alknet_graphs::Store;
use proptest::prelude::*;

const SCOPES: [&str; 4] = ["s0", "s1", "s2", "s3"];
const HOUR: i64 = 3_600_000;

fn identity(i: usize) -> String {
    format!("p{i}")
}

fn fingerprint(i: usize) -> String {
    format!("ed25519:{:064x}", i + 1)
}

fn scopes() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(prop::sample::select(SCOPES.to_vec()), 0..=3)
        .prop_map(|set| set.into_iter().map(str::to_owned).collect())
}

fn resources() -> impl Strategy<Value = Resources> {
    prop::collection::btree_map(
        prop::sample::select(vec!["repo", "ci"]),
        prop::collection::btree_set(prop::sample::select(vec!["read", "write"]), 1..=2),
        0..=1,
    )
    .prop_map(|map| {
        map.into_iter()
            .map(|(r, a)| (r.to_owned(), a.into_iter().map(str::to_owned).collect()))
            .collect()
    })
}

/// Bounds in hours from now, never within the milliseconds a case takes.
fn window() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    (
        prop::option::weighted(0.2, prop::sample::select(vec![-2i64, 2])),
        prop::option::weighted(0.3, prop::sample::select(vec![-1i64, 3])),
    )
        .prop_map(|(nb, ex)| match (nb, ex) {
            (Some(nb), Some(ex)) if ex <= nb => (Some(nb), None),
            other => other,
        })
}

fn validity_at(base: i64, (nb, ex): (Option<i64>, Option<i64>)) -> Validity {
    Validity {
        not_before: nb.map(|h| base + h * HOUR),
        expires_at: ex.map(|h| base + h * HOUR),
        revoked_at: None,
    }
}

#[derive(Debug, Clone)]
enum Proposal {
    Delegate(
        usize,
        usize,
        BTreeSet<String>,
        Resources,
        (Option<i64>, Option<i64>),
    ),
    UpdateDelegation(usize, BTreeSet<String>),
    Revoke(usize),
    RevokePair(usize, usize),
    AddMembership(usize, usize, (Option<i64>, Option<i64>)),
    RemoveMembership(usize),
    UpdatePrincipal(usize, IdentityType, BTreeSet<String>, Resources),
    RemovePrincipal(usize),
}

fn proposal() -> impl Strategy<Value = Proposal> {
    prop_oneof![
        3 => (0..6usize, 0..6usize, scopes(), resources(), window())
            .prop_map(|(a, b, s, r, w)| Proposal::Delegate(a, b, s, r, w)),
        1 => (0..16usize, scopes()).prop_map(|(i, s)| Proposal::UpdateDelegation(i, s)),
        2 => (0..16usize).prop_map(Proposal::Revoke),
        1 => (0..6usize, 0..6usize).prop_map(|(a, b)| Proposal::RevokePair(a, b)),
        2 => (0..6usize, 0..6usize, window()).prop_map(|(a, b, w)| Proposal::AddMembership(a, b, w)),
        2 => (0..16usize).prop_map(Proposal::RemoveMembership),
        2 => (0..6usize, identity_type(), scopes(), resources())
            .prop_map(|(i, k, s, r)| Proposal::UpdatePrincipal(i, k, s, r)),
        1 => (0..6usize).prop_map(Proposal::RemovePrincipal),
    ]
}

/// The proposal as a change to this ACL (indexes pick existing edges).
fn change_of(p: &Proposal, acl: &Acl, n: usize, base: i64) -> Change {
    let delegations: Vec<Delegation> = acl
        .graph()
        .edges()
        .filter_map(|(_, e)| match e {
            alknet_graphs::acl::AclEdge::Delegates(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    let memberships: Vec<Membership> = acl
        .graph()
        .edges()
        .filter_map(|(_, e)| match e {
            alknet_graphs::acl::AclEdge::BelongsTo(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let pick = |i: usize| identity(i % n);
    match p {
        Proposal::Delegate(a, b, s, r, w) => Change::Delegate(Delegation {
            from: pick(*a),
            to: pick(*b),
            // Mostly what the delegator holds (s3 is kept either way, to
            // see refusals too).
            narrowed_scopes: {
                let held = acl.effective(&pick(*a)).unwrap().scopes;
                s.iter()
                    .filter(|s| held.contains(*s) || s.as_str() == "s3")
                    .cloned()
                    .collect()
            },
            narrowed_resources: r.clone(),
            validity: validity_at(base, *w),
            budgets: Default::default(),
        }),
        Proposal::UpdateDelegation(i, s) => match delegations.get(i % delegations.len().max(1)) {
            Some(d) => Change::UpdateDelegation(Delegation {
                narrowed_scopes: s.clone(),
                ..d.clone()
            }),
            None => Change::UpdateDelegation(
                Delegation::new(pick(0), pick(1)).scopes(s.iter().cloned()),
            ),
        },
        Proposal::Revoke(i) => match delegations.get(i % delegations.len().max(1)) {
            Some(d) => Change::Revoke {
                from: d.from.clone(),
                to: d.to.clone(),
            },
            None => Change::Revoke {
                from: pick(0),
                to: pick(1),
            },
        },
        Proposal::RevokePair(a, b) => Change::Revoke {
            from: pick(*a),
            to: pick(*b),
        },
        Proposal::AddMembership(a, b, w) => Change::AddMembership(
            Membership::new(pick(*a), pick(*b)).validity(validity_at(base, *w)),
        ),
        Proposal::RemoveMembership(i) => match memberships.get(i % memberships.len().max(1)) {
            Some(m) => Change::RemoveMembership {
                member: m.member.clone(),
                group: m.group.clone(),
            },
            None => Change::RemoveMembership {
                member: pick(0),
                group: pick(1),
            },
        },
        Proposal::UpdatePrincipal(i, k, s, r) => Change::UpdatePrincipal(Principal {
            identity_id: pick(*i),
            identity_type: *k,
            scopes: s.clone(),
            resources: r.clone(),
        }),
        Proposal::RemovePrincipal(i) => Change::RemovePrincipal(pick(*i)),
    }
}

/// Makes the change for real.
fn apply(acl: &mut Acl, change: &Change) -> alknet_graphs::Result<u64> {
    match change {
        Change::Delegate(d) => acl.delegate(d),
        Change::UpdateDelegation(d) => acl.update_delegation(d),
        Change::Revoke { from, to } => acl.revoke(from, to),
        Change::AddMembership(m) => acl.add_membership(m),
        Change::RemoveMembership { member, group } => acl.remove_membership(member, group),
        Change::UpdatePrincipal(p) => acl.update_principal(p),
        Change::RemovePrincipal(id) => acl.remove_principal(id),
        other => panic!("no write for {other}"),
    }
}

type Grants = BTreeMap<String, (BTreeSet<String>, Resources)>;

fn principal_grants(acl: &Acl) -> Grants {
    acl.graph()
        .principals()
        .map(|p| {
            let g = acl.effective(&p.identity_id).unwrap();
            (p.identity_id.clone(), (g.scopes, g.resources))
        })
        .collect()
}

fn peer_grants(provider: &SqliteIdentityProvider, peers: usize) -> Grants {
    (0..peers)
        .filter_map(|i| {
            let identity = provider.resolve_from_fingerprint(&fingerprint(i))?;
            let resources = identity
                .resources
                .into_iter()
                .map(|(r, a)| (r, a.into_iter().collect()))
                .collect();
            Some((
                identity.id,
                (identity.scopes.into_iter().collect(), resources),
            ))
        })
        .collect()
}

fn diff(before: &Grants, after: &Grants) -> Vec<GrantChange> {
    let empty = (BTreeSet::new(), Resources::new());
    let ids: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    ids.into_iter()
        .filter_map(|id| {
            let (bs, br) = before.get(id).unwrap_or(&empty);
            let (as_, ar) = after.get(id).unwrap_or(&empty);
            let gained = delta(as_, ar, bs, br);
            let lost = delta(bs, br, as_, ar);
            (!gained.is_empty() || !lost.is_empty()).then(|| GrantChange {
                id: id.clone(),
                gained,
                lost,
            })
        })
        .collect()
}

fn delta(a: &BTreeSet<String>, ar: &Resources, b: &BTreeSet<String>, br: &Resources) -> GrantDelta {
    let mut resources = Resources::new();
    for (r, actions) in ar {
        let gone: BTreeSet<String> = actions
            .iter()
            .filter(|x| br.get(r).is_none_or(|held| !held.contains(*x)))
            .cloned()
            .collect();
        if !gone.is_empty() {
            resources.insert(r.clone(), gone);
        }
    }
    GrantDelta {
        scopes: a.difference(b).cloned().collect(),
        resources,
    }
}

type Case = (
    Vec<(IdentityType, BTreeSet<String>, Resources)>,
    Vec<(
        bool,
        usize,
        usize,
        BTreeSet<String>,
        (Option<i64>, Option<i64>),
    )>,
    Vec<BTreeSet<String>>,
    Proposal,
);

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((identity_type(), scopes(), resources()), 1..=6),
        prop::collection::vec(
            (any::<bool>(), 0..6usize, 0..6usize, scopes(), window()),
            0..10,
        ),
        prop::collection::vec(scopes(), 0..=4),
        proposal(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse::<u32>().ok()).map_or(48, |n| n.min(128))
    ))]

    #[test]
    fn what_if_agrees_with_making_the_change((principals, edges, peer_scopes, proposal) in case()) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("acl.db")).unwrap();
        let mut acl = Acl::open(&store).unwrap();
        let base = now();
        let n = principals.len();
        for (i, (kind, scopes, resources)) in principals.iter().enumerate() {
            let mut p = Principal::new(identity(i), *kind).scopes(scopes.iter().cloned());
            p.resources = resources.clone();
            acl.add_principal(&p).unwrap();
        }
        for (delegates, from, to, scopes, window) in &edges {
            let (from, to) = (identity(from % n), identity(to % n));
            let validity = validity_at(base, *window);
            // Refused writes are skipped: the graph is whatever was accepted.
            // Mostly what the delegator holds, so that most are accepted.
            let held = acl.effective(&from).unwrap().scopes;
            let narrowed: Vec<String> = scopes.iter().filter(|s| held.contains(*s) || s.as_str() == "s3").cloned().collect();
            let _ = if *delegates {
                acl.delegate(&Delegation::new(&from, &to).scopes(narrowed).validity(validity))
            } else {
                acl.add_membership(&Membership::new(&from, &to).validity(validity))
            };
        }
        let provider = SqliteIdentityProvider::builder().listen(false).open(&store).unwrap();
        for (i, scopes) in peer_scopes.iter().enumerate() {
            let peer = PeerEntry::new(identity(i)).fingerprint(fingerprint(i)).scopes(scopes.iter().cloned());
            let _ = provider.insert_peer(peer);
        }
        provider.refresh().unwrap();
        let change = change_of(&proposal, &acl, n, base);

        let revision = acl.revision();
        let principals_before = principal_grants(&acl);
        let peers_before = peer_grants(&provider, peer_scopes.len());
        let acl_answer = acl.what_if(&change);
        let answer = provider.what_if(&change);
        prop_assert_eq!(acl.revision(), revision, "what-if wrote nothing");
        prop_assert_eq!(&principal_grants(&acl), &principals_before);

        let real = apply(&mut acl, &change);
        match (&answer, &real) {
            (Ok(answer), Ok(_)) => {
                provider.refresh().unwrap();
                let principals_after = principal_grants(&acl);
                let peers_after = peer_grants(&provider, peer_scopes.len());
                prop_assert_eq!(&answer.principals, &diff(&principals_before, &principals_after), "principals, {}", change);
                prop_assert_eq!(&answer.peers, &diff(&peers_before, &peers_after), "peers, {}", change);
                let acl_answer = acl_answer.as_ref().unwrap();
                prop_assert_eq!(&acl_answer.principals, &answer.principals);
                prop_assert!(acl_answer.peers.is_empty());
            }
            (Err(refused), Err(real)) => {
                prop_assert_eq!(refused.to_string(), real.to_string(), "{}", change);
            }
            (answer, real) => {
                prop_assert!(false, "{change}: what-if said {answer:?}, the write {real:?}");
            }
        }
    }
}
