//! Property tests of the reverse lookups (`who holds this?`) on random
//! graphs: the resolution's holder index, kept up to date through random
//! incremental changes and time moving on, names exactly the principals
//! whose grant passes the access check, by the naive reference model; and
//! `Acl::subjects_at` / `SqliteIdentityProvider::subjects_at` agree with
//! `effective_at` and the check for every principal and peer at instants
//! before, at and after the resolution's.

mod acl_model;

mod common;

use common::identity_type;
use std::collections::BTreeSet;

use acl_model::{all_atoms, Model, ACTIONS, RESOURCES, SCOPES};
use alknet_graphs::acl::{
    AccessControl, Acl, AclEdge, Action, ActionGrant, Delegation, IdentityType, Membership,
    Permission, Principal, Resources, Validity,
};
use alknet_graphs::identity::{PeerEntry, SqliteIdentityProvider};
use alknet_graphs::Store;
use proptest::prelude::*;

const MAX_PRINCIPALS: usize = 8;
const TIME_SPAN: i64 = 100;

fn identity(i: usize) -> String {
    format!("p{i}")
}

fn permission_of(atom: &str) -> Permission {
    match atom.split_once(':') {
        Some(("s", scope)) => Permission::scope(scope),
        _ => {
            let rest = &atom[2..];
            let (resource, action) = rest.split_once(':').expect("r:resource:action");
            Permission::resource(resource, action)
        }
    }
}

/// The flat check that `permission` asks for.
fn requirement(permission: &Permission) -> AccessControl {
    match permission {
        Permission::Scope(scope) => AccessControl::new().require([scope.as_str()]),
        Permission::Resource { resource, action } => {
            AccessControl::new().resource(resource.as_str(), action.as_str())
        }
    }
}

fn scopes() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(prop::sample::select(SCOPES.to_vec()), 0..=3)
        .prop_map(|set| set.into_iter().map(str::to_owned).collect())
}

fn resources() -> impl Strategy<Value = Resources> {
    prop::collection::btree_map(
        prop::sample::select(RESOURCES.to_vec()),
        prop::collection::btree_set(prop::sample::select(ACTIONS.to_vec()), 1..=2),
        0..=2,
    )
    .prop_map(|map| {
        map.into_iter()
            .map(|(r, a)| (r.to_owned(), a.into_iter().map(str::to_owned).collect()))
            .collect()
    })
}

fn validity() -> impl Strategy<Value = Validity> {
    (
        prop::option::weighted(0.3, 0..TIME_SPAN),
        prop::option::weighted(0.3, 0..TIME_SPAN),
        prop::option::weighted(0.2, 0..TIME_SPAN),
    )
        .prop_map(|(not_before, expires_at, revoked_at)| Validity {
            not_before,
            expires_at,
            revoked_at,
        })
}

/// (kind, from, to, narrowed scopes, narrowed resources, validity, resource, action)
type EdgeSpec = (
    u8,
    usize,
    usize,
    BTreeSet<String>,
    Resources,
    Validity,
    usize,
    usize,
);

fn edge_spec() -> impl Strategy<Value = EdgeSpec> {
    (
        0u8..3,
        0..MAX_PRINCIPALS,
        0..MAX_PRINCIPALS,
        scopes(),
        resources(),
        validity(),
        0..RESOURCES.len(),
        0..ACTIONS.len(),
    )
}

fn edge_of(spec: &EdgeSpec, n: usize) -> Option<AclEdge> {
    let (kind, from, to, scopes, resources, validity, resource, action) = spec;
    let (from, to) = (identity(from % n), identity(to % n));
    match kind {
        0 if from != to => Some(AclEdge::Delegates(Delegation {
            from,
            to,
            narrowed_scopes: scopes.clone(),
            narrowed_resources: resources.clone(),
            validity: *validity,
            budgets: Default::default(),
        })),
        1 if from != to => Some(AclEdge::BelongsTo(Membership {
            member: from,
            group: to,
            validity: *validity,
        })),
        2 => Some(AclEdge::Can(ActionGrant {
            principal: from,
            action: Action::ALL[*action],
            resource: RESOURCES[*resource].to_owned(),
        })),
        _ => None,
    }
}

fn principal(i: usize) -> impl Strategy<Value = Principal> {
    (identity_type(), scopes(), resources()).prop_map(move |(kind, scopes, resources)| Principal {
        identity_id: identity(i),
        identity_type: kind,
        scopes,
        resources,
    })
}

fn model() -> impl Strategy<Value = Model> {
    (1..=MAX_PRINCIPALS)
        .prop_flat_map(|n| {
            (
                (0..n).map(principal).collect::<Vec<_>>(),
                prop::collection::vec(edge_spec(), 0..=14),
            )
        })
        .prop_map(|(principals, specs)| {
            let n = principals.len();
            let mut model = Model::default();
            for p in principals {
                model.principals.insert(p.identity_id.clone(), p);
            }
            for edge in specs.iter().filter_map(|spec| edge_of(spec, n)) {
                model.edges.insert(edge.key(), edge);
            }
            model
        })
}

/// A change to a model and its graph.
#[derive(Debug, Clone)]
enum Step {
    AddEdge(EdgeSpec),
    RemoveEdge(usize),
    Replace(usize, IdentityType, BTreeSet<String>),
    RemovePrincipal(usize),
    /// Re-add a principal that holds these scopes.
    AddPrincipal(usize, BTreeSet<String>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => edge_spec().prop_map(Step::AddEdge),
        2 => (0..32usize).prop_map(Step::RemoveEdge),
        2 => (0..MAX_PRINCIPALS, identity_type(), scopes()).prop_map(|(i, k, s)| Step::Replace(i, k, s)),
        1 => (0..MAX_PRINCIPALS).prop_map(Step::RemovePrincipal),
        1 => (0..MAX_PRINCIPALS, scopes()).prop_map(|(i, s)| Step::AddPrincipal(i, s)),
    ]
}

/// Applies `step` to both; returns what the graph says it affected.
fn apply(
    step: &Step,
    model: &mut Model,
    graph: &mut alknet_graphs::acl::AclGraph,
) -> alknet_graphs::acl::Affected {
    let n = MAX_PRINCIPALS;
    match step {
        Step::AddEdge(spec) => {
            let Some(edge) = edge_of(spec, n) else {
                return Default::default();
            };
            let (a, b) = edge.ends();
            let target_exists = match &edge {
                AclEdge::Can(_) => true,
                _ => model.principals.contains_key(b),
            };
            if !model.principals.contains_key(a) || !target_exists {
                return Default::default();
            }
            let key = edge.key();
            model.edges.insert(key.clone(), edge.clone());
            graph.insert_edge_keyed(key, edge).expect("ends exist")
        }
        Step::RemoveEdge(i) => {
            let Some(key) = model
                .edges
                .keys()
                .nth(i % model.edges.len().max(1))
                .cloned()
            else {
                return Default::default();
            };
            model.edges.remove(&key);
            graph.remove_edge(&key)
        }
        Step::Replace(i, kind, scopes) => {
            let id = identity(*i);
            let Some(old) = model.principals.get(&id).cloned() else {
                return Default::default();
            };
            let new = Principal {
                identity_type: *kind,
                scopes: scopes.clone(),
                ..old
            };
            model.principals.insert(id, new.clone());
            graph.insert_principal(new)
        }
        Step::RemovePrincipal(i) => {
            let id = identity(*i);
            model.principals.remove(&id);
            model.edges.retain(|_, edge| {
                let (a, b) = edge.ends();
                a != id && (matches!(edge, AclEdge::Can(_)) || b != id)
            });
            graph.remove_principal(&id)
        }
        Step::AddPrincipal(i, scopes) => {
            let id = identity(*i);
            if model.principals.contains_key(&id) {
                return Default::default();
            }
            let p = Principal::new(&id, IdentityType::Account).scopes(scopes.iter().cloned());
            model.principals.insert(id, p.clone());
            graph.insert_principal(p)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500)
    ))]

    /// The index agrees with the model after every incremental change and
    /// every move forward in time: each listed holder passes the check,
    /// and each principal that passes it is listed.
    #[test]
    fn holders_agree_with_the_check_through_incremental_updates(
        mut model in model(),
        steps in prop::collection::vec(step(), 0..6),
        t0 in 0..TIME_SPAN,
        later in 0..TIME_SPAN,
    ) {
        let mut graph = model.graph();
        let mut resolution = graph.resolver().resolve_all(t0);
        let check = |model: &Model, resolution: &alknet_graphs::acl::Resolution, graph: &alknet_graphs::acl::AclGraph, t: i64| -> Result<(), TestCaseError> {
            for atom in all_atoms() {
                let permission = permission_of(&atom);
                let looked_up: BTreeSet<String> =
                    resolution.holders(graph, &permission).into_iter().collect();
                let by_check: BTreeSet<String> = model
                    .principals
                    .keys()
                    .filter(|p| {
                        let identity = model.grant(p, t, 32).into_identity(p.as_str());
                        requirement(&permission).check(Some(&identity)).is_allowed()
                    })
                    .cloned()
                    .collect();
                prop_assert_eq!(&looked_up, &by_check, "{} at {}", atom, t);
            }
            Ok(())
        };
        check(&model, &resolution, &graph, t0)?;
        for step in &steps {
            let affected = apply(step, &mut model, &mut graph);
            resolution.update(&graph, &affected);
            check(&model, &resolution, &graph, t0)?;
        }
        let t1 = t0 + later;
        resolution.advance(&graph, t1);
        check(&model, &resolution, &graph, t1)?;
    }
}

// ---------------------------------------------------------------------------
// Through the store: Acl::subjects_at and the provider's, at other instants

const HOUR: i64 = 3_600_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Bounds relative to now: far enough that the milliseconds a test takes
/// never cross one, and on both sides of it.
fn window() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    (
        prop::option::weighted(0.3, prop::sample::select(vec![-2i64, 2])),
        prop::option::weighted(0.4, prop::sample::select(vec![-1i64, 1, 3])),
    )
        .prop_map(|(nb, ex)| match (nb, ex) {
            (Some(nb), Some(ex)) if ex <= nb => (Some(nb), None),
            other => other,
        })
}

type StoreEdge = (
    bool,
    usize,
    usize,
    BTreeSet<String>,
    (Option<i64>, Option<i64>),
);

/// Principals (type, scopes), edges, and peers' own scopes.
type StoreCase = (
    Vec<(IdentityType, BTreeSet<String>)>,
    Vec<StoreEdge>,
    Vec<BTreeSet<String>>,
);

fn store_case() -> impl Strategy<Value = StoreCase> {
    (
        prop::collection::vec((identity_type(), scopes()), 1..=6),
        prop::collection::vec(
            (any::<bool>(), 0..6usize, 0..6usize, scopes(), window()),
            0..10,
        ),
        prop::collection::vec(scopes(), 0..=6),
    )
}

fn validity_at(base: i64, (nb, ex): (Option<i64>, Option<i64>)) -> Validity {
    Validity {
        not_before: nb.map(|h| base + h * HOUR),
        expires_at: ex.map(|h| base + h * HOUR),
        revoked_at: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse::<u32>().ok()).map_or(24, |n| n.min(64))
    ))]

    /// Every looked-up subject passes the check at that instant, and every
    /// principal and peer that passes it is looked up; before, at and
    /// after the resolution's instant.
    #[test]
    fn store_lookups_agree_with_effective_and_the_check(
        (principals, edges, peer_scopes) in store_case(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("acl.db")).unwrap();
        let mut acl = Acl::open(&store).unwrap();
        let base = now();
        let n = principals.len();
        for (i, (kind, scopes)) in principals.iter().enumerate() {
            acl.add_principal(&Principal::new(identity(i), *kind).scopes(scopes.iter().cloned())).unwrap();
        }
        for (delegates, from, to, scopes, window) in &edges {
            let (from, to) = (identity(from % n), identity(to % n));
            let validity = validity_at(base, *window);
            // Refused writes (not held, not a group, self-edges) are skipped.
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
            // Peers p0.. share ids with principals (binding to the
            // accounts and services); a peer of an org or role id is
            // refused and skipped.
            let _ = provider.insert_peer(PeerEntry::new(identity(i)).scopes(scopes.iter().cloned()));
        }
        provider.refresh().unwrap();
        let peers = provider.peers().unwrap();
        let ids: Vec<String> = acl.graph().principals().map(|p| p.identity_id.clone()).collect();
        for t in [base - 3 * HOUR, base, base + 90 * 60_000, base + 5 * HOUR] {
            for atom in all_atoms() {
                let permission = permission_of(&atom);
                let check = requirement(&permission);
                let expected: BTreeSet<String> = ids
                    .iter()
                    .filter(|p| {
                        let identity = acl.effective_at(p, t).unwrap().into_identity(p.as_str());
                        check.check(Some(&identity)).is_allowed()
                    })
                    .cloned()
                    .collect();
                let got = acl.subjects_at(&permission, t);
                prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
                let got: BTreeSet<String> = got.into_iter().collect();
                prop_assert_eq!(&got, &expected, "principals holding {} at {}", atom, t - base);

                let who = provider.subjects_at(&permission, t).unwrap();
                prop_assert_eq!(&who.principals.iter().cloned().collect::<BTreeSet<_>>(), &expected);
                let expected_peers: BTreeSet<String> = peers
                    .iter()
                    .filter(|peer| {
                        let mut identity = alknet_graphs::acl::Identity {
                            id: peer.peer_id.clone(),
                            scopes: peer.scopes.iter().collect(),
                            resources: peer.resources.clone(),
                        };
                        let binds = acl.graph().principal(&peer.peer_id).is_some_and(|p| {
                            matches!(p.identity_type, IdentityType::Account | IdentityType::Service)
                        });
                        if binds {
                            let grant = acl.effective_at(&peer.peer_id, t).unwrap();
                            identity.scopes.extend(grant.scopes);
                            for (r, actions) in grant.resources {
                                identity.resources.entry(r).or_default().extend(actions);
                            }
                        }
                        check.check(Some(&identity)).is_allowed()
                    })
                    .map(|peer| peer.peer_id.clone())
                    .collect();
                prop_assert_eq!(&who.peers.iter().cloned().collect::<BTreeSet<_>>(), &expected_peers,
                    "peers holding {} at {}", atom, t - base);
            }
            for id in &ids {
                prop_assert_eq!(
                    acl.resources_at(id, t).unwrap(),
                    acl.effective_at(id, t).unwrap().resources
                );
            }
        }
    }
}
