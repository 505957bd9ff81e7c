//! Property tests of ACL resolution on random small graphs (at most 8
//! principals, 16 edges, random time bounds and instants, random maximum
//! depths), against a naive reference model (`acl_model`: a plain
//! fixed-point loop over the edge list) and against the invariants of
//! DESIGN §4. They run on the in-memory resolver, without SQLite.
//!
//! 1,000 cases per property by default; `PROPTEST_CASES` overrides it.
//! Failures are saved under `proptest-regressions/acl_props.txt` and
//! replayed first.

mod acl_model;
mod common;

use common::identity_type;
use std::collections::BTreeSet;

use acl_model::{active, all_atoms, atoms_of_grant, Atom, Model, ACTIONS, RESOURCES, SCOPES};
use alknet_graphs::acl::{
    AclEdge, AclGraph, Action, ActionGrant, Affected, Delegation, Explanation, IdentityType,
    Membership, Permission, Principal, Reason, Validity,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Random models

const MAX_PRINCIPALS: usize = 8;
const MAX_EDGES: usize = 16;
/// Time bounds and instants are drawn from 0..TIME_SPAN.
const TIME_SPAN: i64 = 100;

fn identity(i: usize) -> String {
    format!("p{i}")
}

fn scopes() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(0..SCOPES.len(), 0..=SCOPES.len())
        .prop_map(|set| set.into_iter().map(|i| SCOPES[i].to_owned()).collect())
}

fn resources() -> impl Strategy<Value = alknet_graphs::acl::Resources> {
    prop::collection::btree_set((0..RESOURCES.len(), 0..ACTIONS.len()), 0..=3).prop_map(|set| {
        let mut resources = alknet_graphs::acl::Resources::new();
        for (r, a) in set {
            resources
                .entry(RESOURCES[r].to_owned())
                .or_default()
                .insert(ACTIONS[a].to_owned());
        }
        resources
    })
}

fn instant() -> impl Strategy<Value = i64> {
    0..TIME_SPAN
}

fn validity() -> impl Strategy<Value = Validity> {
    (
        prop::option::weighted(0.3, instant()),
        prop::option::weighted(0.3, instant()),
        prop::option::weighted(0.2, instant()),
    )
        .prop_map(|(not_before, expires_at, revoked_at)| Validity {
            not_before,
            expires_at,
            revoked_at,
        })
}

fn principal(i: usize) -> impl Strategy<Value = Principal> {
    (identity_type(), scopes(), resources()).prop_map(move |(kind, scopes, resources)| Principal {
        identity_id: identity(i),
        identity_type: kind,
        scopes,
        resources,
    })
}

/// An edge between principals `from` and `to` (indexes, reduced modulo the
/// number of principals).
#[derive(Debug, Clone)]
struct EdgeSpec {
    kind: u8,
    from: usize,
    to: usize,
    scopes: BTreeSet<String>,
    resources: alknet_graphs::acl::Resources,
    validity: Validity,
    resource: usize,
    action: usize,
}

fn edge_spec() -> impl Strategy<Value = EdgeSpec> {
    (
        prop_oneof![4 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)],
        0..MAX_PRINCIPALS,
        0..MAX_PRINCIPALS,
        scopes(),
        resources(),
        validity(),
        0..RESOURCES.len(),
        0..ACTIONS.len(),
    )
        .prop_map(
            |(kind, from, to, scopes, resources, validity, resource, action)| EdgeSpec {
                kind,
                from,
                to,
                scopes,
                resources,
                validity,
                resource,
                action,
            },
        )
}

impl EdgeSpec {
    /// The edge in a model of `n` principals; `None` for a self-loop (the
    /// store refuses them).
    fn edge(&self, n: usize) -> Option<AclEdge> {
        self.edge_between(identity(self.from % n), identity(self.to % n))
    }

    fn edge_between(&self, from: String, to: String) -> Option<AclEdge> {
        match self.kind {
            0 if from != to => Some(AclEdge::Delegates(Delegation {
                from,
                to,
                narrowed_scopes: self.scopes.clone(),
                narrowed_resources: self.resources.clone(),
                validity: self.validity,
                budgets: Default::default(),
            })),
            1 if from != to => Some(AclEdge::BelongsTo(Membership {
                member: from,
                group: to,
                validity: self.validity,
            })),
            2 => Some(AclEdge::Can(ActionGrant {
                principal: from,
                action: Action::ALL[self.action],
                resource: RESOURCES[self.resource].to_owned(),
            })),
            _ => None,
        }
    }
}

fn model() -> impl Strategy<Value = Model> {
    (1..=MAX_PRINCIPALS)
        .prop_flat_map(|n| {
            (
                (0..n).map(principal).collect::<Vec<_>>(),
                prop::collection::vec(edge_spec(), 0..=MAX_EDGES),
            )
        })
        .prop_map(|(principals, specs)| {
            let n = principals.len();
            let mut model = Model::default();
            for p in principals {
                model.principals.insert(p.identity_id.clone(), p);
            }
            for edge in specs.iter().filter_map(|spec| spec.edge(n)) {
                model.edges.insert(edge.key(), edge);
            }
            model
        })
}

fn max_depth() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 2 => Just(1u32), 2 => Just(2u32), 2 => Just(3u32), 6 => Just(32u32)]
}

// ---------------------------------------------------------------------------
// Changes, for incremental updates and monotonicity

#[derive(Debug, Clone)]
enum Change {
    RemoveEdge(usize),
    /// Revoke edge i at an instant (keeps an earlier revocation).
    Revoke(usize, i64),
    /// Expire edge i at an instant (keeps an earlier expiry).
    Expire(usize, i64),
    /// Remove one scope from principal i.
    DropScope(usize, String),
    RemovePrincipal(usize),
    AddEdge(EdgeSpec),
    ReplacePrincipal(usize, IdentityType, BTreeSet<String>),
}

impl Change {
    /// Whether the change can only take grants away.
    fn shrinks(&self) -> bool {
        !matches!(self, Change::AddEdge(_) | Change::ReplacePrincipal(..))
    }

    /// Applies the change to the model and to the graph (when given).
    fn apply(&self, model: &mut Model, graph: Option<&mut AclGraph>) -> Affected {
        let keys: Vec<String> = model.edges.keys().cloned().collect();
        let ids: Vec<String> = model.principals.keys().cloned().collect();
        let pick = |list: &[String], i: usize| list.get(i % list.len().max(1)).cloned();
        let mut affected = Affected::default();
        match self {
            Change::RemoveEdge(i) => {
                if let Some(key) = pick(&keys, *i) {
                    model.edges.remove(&key);
                    if let Some(g) = graph {
                        affected = g.remove_edge(&key);
                    }
                }
            }
            Change::Revoke(i, at) | Change::Expire(i, at) => {
                let Some(key) = pick(&keys, *i) else {
                    return affected;
                };
                let edge = model.edges.get_mut(&key).expect("picked from keys");
                let slot = match edge {
                    AclEdge::Delegates(d) => &mut d.validity,
                    AclEdge::BelongsTo(m) => &mut m.validity,
                    AclEdge::Can(_) => return affected,
                };
                let field = match self {
                    Change::Revoke(..) => &mut slot.revoked_at,
                    _ => &mut slot.expires_at,
                };
                *field = Some(field.map_or(*at, |old| old.min(*at)));
                if let Some(g) = graph {
                    affected = g
                        .insert_edge_keyed(key, edge.clone())
                        .expect("endpoints exist");
                }
            }
            Change::DropScope(i, scope) => {
                if let Some(id) = pick(&ids, *i) {
                    let p = model.principals.get_mut(&id).expect("picked from ids");
                    p.scopes.remove(scope);
                    if let Some(g) = graph {
                        affected = g.insert_principal(p.clone());
                    }
                }
            }
            Change::RemovePrincipal(i) => {
                if let Some(id) = pick(&ids, *i) {
                    model.principals.remove(&id);
                    model.edges.retain(|_, edge| {
                        let (source, target) = edge.ends();
                        source != id && target != id
                    });
                    if let Some(g) = graph {
                        affected = g.remove_principal(&id);
                    }
                }
            }
            Change::AddEdge(spec) => {
                let n = ids.len();
                if n == 0 {
                    return affected;
                }
                // Map the spec's indexes onto the principals that remain.
                let (from, to) = (ids[spec.from % n].clone(), ids[spec.to % n].clone());
                if let Some(edge) = spec.edge_between(from, to) {
                    model.edges.insert(edge.key(), edge.clone());
                    if let Some(g) = graph {
                        affected = g.insert_edge(edge).expect("endpoints exist");
                    }
                }
            }
            Change::ReplacePrincipal(i, kind, scopes) => {
                if let Some(id) = pick(&ids, *i) {
                    let p = model.principals.get_mut(&id).expect("picked from ids");
                    p.identity_type = *kind;
                    p.scopes = scopes.clone();
                    if let Some(g) = graph {
                        affected = g.insert_principal(p.clone());
                    }
                }
            }
        }
        affected
    }
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..MAX_EDGES).prop_map(Change::RemoveEdge),
        (0..MAX_EDGES, instant()).prop_map(|(i, at)| Change::Revoke(i, at)),
        (0..MAX_EDGES, instant()).prop_map(|(i, at)| Change::Expire(i, at)),
        (0..MAX_PRINCIPALS, 0..SCOPES.len())
            .prop_map(|(i, s)| Change::DropScope(i, SCOPES[s].to_owned())),
        (0..MAX_PRINCIPALS).prop_map(Change::RemovePrincipal),
        edge_spec().prop_map(Change::AddEdge),
        (0..MAX_PRINCIPALS, identity_type(), scopes())
            .prop_map(|(i, k, s)| Change::ReplacePrincipal(i, k, s)),
    ]
}

// ---------------------------------------------------------------------------
// Helpers

fn atoms_at(graph: &AclGraph, p: &str, t: i64, max_depth: u32) -> BTreeSet<Atom> {
    let grant = graph
        .resolver()
        .max_depth(max_depth)
        .effective_at(p, t)
        .expect("principal exists");
    atoms_of_grant(&grant)
}

fn permission_of(atom: &str) -> Permission {
    if let Some(scope) = atom.strip_prefix("s:") {
        return Permission::scope(scope);
    }
    let rest = atom.strip_prefix("r:").expect("an atom");
    let (resource, action) = rest.split_once(':').expect("r:resource:action");
    Permission::resource(resource, action)
}

/// The principal a flow edge takes the grant from, and the one it gives it to.
fn flow_ends(edge: &AclEdge) -> (&str, &str) {
    match edge {
        AclEdge::Delegates(d) => (&d.from, &d.to),
        AclEdge::BelongsTo(m) => (&m.group, &m.member),
        AclEdge::Can(g) => (&g.principal, &g.principal),
    }
}

/// Whether a delegation edge lists the atom in its narrowed sets.
fn lists(edge: &AclEdge, atom: &str) -> bool {
    match (edge, permission_of(atom)) {
        (AclEdge::Delegates(d), Permission::Scope(s)) => d.narrowed_scopes.contains(&s),
        (AclEdge::Delegates(d), Permission::Resource { resource, action }) => d
            .narrowed_resources
            .get(&resource)
            .is_some_and(|a| a.contains(&action)),
        _ => true,
    }
}

/// The grant at `t` from simple chains only (never revisiting a
/// principal), enumerated by depth-first search backwards from `p`.
fn simple_chain_atoms(model: &Model, p: &str, t: i64, max_depth: u32) -> BTreeSet<Atom> {
    let flows: Vec<_> = model
        .flows()
        .into_iter()
        .filter(|f| active(&f.validity, t))
        .collect();
    /// A partial chain, walked backwards: where it has reached, what may
    /// still pass on the way to `p` (`None`: everything), its depth, and
    /// the principals on it.
    type Walk = (String, Option<BTreeSet<Atom>>, u32, BTreeSet<String>);
    let mut found = model.own(p);
    let mut stack: Vec<Walk> = vec![(p.to_owned(), None, 0, BTreeSet::from([p.to_owned()]))];
    while let Some((at, filter, depth, visited)) = stack.pop() {
        if depth == max_depth {
            continue;
        }
        for flow in flows
            .iter()
            .filter(|f| f.to == at && !visited.contains(&f.from))
        {
            let narrowed = match (&filter, &flow.filter) {
                (None, None) => None,
                (Some(a), None) => Some(a.clone()),
                (None, Some(b)) => Some(b.clone()),
                (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
            };
            let own = model.own(&flow.from);
            found.extend(
                own.into_iter()
                    .filter(|atom| narrowed.as_ref().is_none_or(|n| n.contains(atom))),
            );
            let mut visited = visited.clone();
            visited.insert(flow.from.clone());
            stack.push((flow.from.clone(), narrowed, depth + 1, visited));
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(common::proptest_config("acl_props.txt", common::cases_or(1000)))]

    /// The resolver (one principal on demand, and all at once) agrees with
    /// the reference model on every grant and every `valid_until`.
    #[test]
    fn agrees_with_the_reference_model(model in model(), t in instant(), depth in max_depth()) {
        let graph = model.graph();
        let resolver = graph.resolver().max_depth(depth);
        let all = resolver.resolve_all(t);
        for p in model.principals.keys() {
            let expected = model.grant(p, t, depth);
            let expected = Some(expected);
            prop_assert_eq!(&resolver.effective_at(p, t), &expected, "{} on demand", p);
            prop_assert_eq!(&all.effective(&graph, p), &expected, "{} in resolve_all", p);
        }
    }

    /// No amplification: every atom a principal holds is held by some
    /// principal with a chain of active edges, at most `max_depth` long, to
    /// it, whose every delegation lists the atom.
    #[test]
    fn no_amplification(model in model(), t in instant(), depth in max_depth()) {
        let graph = model.graph();
        let flows: Vec<_> = model.flows().into_iter().filter(|f| active(&f.validity, t)).collect();
        for p in model.principals.keys() {
            for atom in atoms_at(&graph, p, t, depth) {
                // Breadth-first backwards from p over edges that carry the atom.
                let mut frontier = BTreeSet::from([p.clone()]);
                let mut reached = frontier.clone();
                let mut found = model.own(p).contains(&atom);
                for _ in 0..depth {
                    if found { break; }
                    let next: BTreeSet<String> = flows
                        .iter()
                        .filter(|f| frontier.contains(&f.to) && f.passes(&atom))
                        .map(|f| f.from.clone())
                        .filter(|q| !reached.contains(q))
                        .collect();
                    found = next.iter().any(|q| model.own(q).contains(&atom));
                    reached.extend(next.iter().cloned());
                    frontier = next;
                }
                prop_assert!(found, "{} holds {} with no holder upstream", p, atom);
            }
        }
    }

    /// Narrowing: what a delegation A → P adds to P is within what A holds
    /// and what the delegation lists.
    #[test]
    fn each_delegation_narrows(model in model(), t in instant(), depth in max_depth()) {
        let graph = model.graph();
        for (key, edge) in &model.edges {
            let AclEdge::Delegates(d) = edge else { continue };
            let mut without = model.clone();
            without.edges.remove(key);
            let with_p = atoms_at(&graph, &d.to, t, depth);
            let without_p = atoms_at(&without.graph(), &d.to, t, depth);
            let from_a = atoms_at(&graph, &d.from, t, depth);
            for atom in with_p.difference(&without_p) {
                prop_assert!(from_a.contains(atom), "{} passed {} its delegator lacks", key, atom);
                prop_assert!(lists(edge, atom), "{} passed {} it does not list", key, atom);
            }
        }
    }

    /// Monotonicity: removing, revoking or expiring an edge, dropping a
    /// scope or removing a principal never grows any grant (read the other
    /// way: adding never shrinks one).
    #[test]
    fn taking_away_never_grows_a_grant(
        model in model(),
        changes in prop::collection::vec(change().prop_filter("shrinks", Change::shrinks), 1..4),
        t in instant(),
        depth in max_depth(),
    ) {
        let mut smaller = model.clone();
        for c in &changes {
            c.apply(&mut smaller, None);
        }
        let (big, small) = (model.graph(), smaller.graph());
        for p in smaller.principals.keys() {
            let before = atoms_at(&big, p, t, depth);
            let after = atoms_at(&small, p, t, depth);
            prop_assert!(after.is_subset(&before), "{} grew: {:?} → {:?}", p, before, after);
        }
    }

    /// Cycles are harmless: the grant equals what simple chains (that never
    /// visit a principal twice) bring, so going round a cycle adds nothing,
    /// and resolution terminates on any graph.
    #[test]
    fn cycles_add_nothing(model in model(), t in instant(), depth in max_depth()) {
        let graph = model.graph();
        for p in model.principals.keys() {
            prop_assert_eq!(atoms_at(&graph, p, t, depth), simple_chain_atoms(&model, p, t, depth), "{}", p);
        }
    }

    /// `explain` agrees with resolution: a held atom has a witness chain of
    /// active edges that each carry it, from a holder, as short as the
    /// shortest chain; an atom not held gets a reason that is true.
    #[test]
    fn explain_agrees_with_resolution(model in model(), t in instant(), depth in max_depth()) {
        let graph = model.graph();
        let resolver = graph.resolver().max_depth(depth);
        let dist = model.distances(t, depth);
        let unbounded = model.distances(t, u32::MAX);
        for p in model.principals.keys() {
            let held = atoms_at(&graph, p, t, depth);
            for atom in all_atoms() {
                let why = resolver.explain_at(p, &permission_of(&atom), t).expect("principal exists");
                prop_assert_eq!(why.is_granted(), held.contains(&atom), "{} {}: {}", p, atom, why);
                match why {
                    Explanation::Granted(witness) => {
                        prop_assert!(model.own(&witness.holder).contains(&atom));
                        prop_assert_eq!(witness.chain.len() as u32, dist[p][&atom], "shortest");
                        let mut at = witness.holder.clone();
                        for hop in &witness.chain {
                            let edge = &model.edges[&hop.edge];
                            let (from, to) = flow_ends(edge);
                            prop_assert_eq!(from, at.as_str(), "chain is connected");
                            prop_assert!(active(&edge.validity(), t), "{} active", hop.edge);
                            prop_assert!(lists(edge, &atom), "{} lists {}", hop.edge, atom);
                            prop_assert_eq!(hop.kind, edge.kind());
                            at = to.to_owned();
                        }
                        prop_assert_eq!(&at, p, "chain ends at the principal");
                    }
                    Explanation::Denied(reason) => match reason {
                        Reason::DroppedAtHop { edge, .. } => {
                            prop_assert!(!lists(&model.edges[&edge.edge], &atom));
                        }
                        Reason::Expired { edge, at, .. } => {
                            prop_assert!(at <= t);
                            prop_assert_eq!(model.edges[&edge.edge].validity().expires_at, Some(at));
                        }
                        Reason::Revoked { edge, at, .. } => {
                            prop_assert!(at <= t);
                            prop_assert_eq!(model.edges[&edge.edge].validity().revoked_at, Some(at));
                        }
                        Reason::NotYetValid { edge, from, .. } => {
                            prop_assert!(from > t);
                            prop_assert_eq!(model.edges[&edge.edge].validity().not_before, Some(from));
                        }
                        Reason::BeyondMaxDepth { hops, max_depth } => {
                            prop_assert_eq!(max_depth, depth);
                            prop_assert_eq!(unbounded[p].get(&atom).copied(), Some(hops as u32));
                            prop_assert!(hops as u32 > depth);
                        }
                        Reason::NeverHeldUpstream => {
                            prop_assert!(!unbounded[p].contains_key(&atom));
                        }
                        other => prop_assert!(false, "unexpected reason {:?}", other),
                    },
                }
            }
        }
    }

    /// Time: no instant in `[t, valid_until)` changes a grant, with no write
    /// in between; in particular a delegation stops granting at its expiry
    /// and starts at its `not_before`.
    #[test]
    fn grants_hold_until_valid_until(model in model(), t in instant(), depth in max_depth()) {
        let graph = model.graph();
        let resolver = graph.resolver().max_depth(depth);
        for p in model.principals.keys() {
            let grant = resolver.effective_at(p, t).expect("principal exists");
            let until = grant.valid_until.unwrap_or(i64::MAX);
            let probes = model.bounds().into_iter().filter(|&b| b > t && b < until).chain([until.saturating_sub(1)]);
            for later in probes {
                let then = resolver.effective_at(p, later).expect("principal exists");
                prop_assert_eq!(&then.scopes, &grant.scopes, "{} at {}", p, later);
                prop_assert_eq!(&then.resources, &grant.resources, "{} at {}", p, later);
            }
        }
    }

    /// Incremental updates (one change at a time, or several merged) and
    /// moving forward in time agree with resolving everything again.
    #[test]
    fn incremental_updates_agree_with_full_resolution(
        model in model(),
        changes in prop::collection::vec(change(), 1..4),
        t in instant(),
        later in 0..TIME_SPAN,
        depth in max_depth(),
    ) {
        let mut model = model;
        let mut graph = model.graph();
        let mut one_by_one = graph.resolver().max_depth(depth).resolve_all(t);
        let mut merged = one_by_one.clone();
        let mut all = Affected::default();
        for c in &changes {
            let affected = c.apply(&mut model, Some(&mut graph));
            one_by_one.update(&graph, &affected);
            all.merge(affected);
        }
        merged.update(&graph, &all);
        let fresh = graph.resolver().max_depth(depth).resolve_all(t);
        for p in model.principals.keys() {
            let expected = fresh.effective(&graph, p);
            prop_assert_eq!(&one_by_one.effective(&graph, p), &expected, "{} one by one", p);
            prop_assert_eq!(&merged.effective(&graph, p), &expected, "{} merged", p);
            prop_assert_eq!(&expected, &Some(model.grant(p, t, depth)), "{} vs model", p);
        }
        let t2 = t + later;
        one_by_one.advance(&graph, t2);
        let fresh = graph.resolver().max_depth(depth).resolve_all(t2);
        for p in model.principals.keys() {
            prop_assert_eq!(one_by_one.effective(&graph, p), fresh.effective(&graph, p), "{} at {}", p, t2);
        }
    }

    /// Changes and steps forward in time, interleaved, agree with resolving
    /// everything again after every step: the expiries a change replaced
    /// are not served, and none it set is missed.
    #[test]
    fn interleaved_changes_and_steps_agree_with_full_resolution(
        model in model(),
        steps in prop::collection::vec((change(), 0..TIME_SPAN / 4), 1..6),
        t in instant(),
        depth in max_depth(),
    ) {
        let mut model = model;
        let mut graph = model.graph();
        let mut followed = graph.resolver().max_depth(depth).resolve_all(t);
        let mut now = t;
        for (c, step) in &steps {
            let affected = c.apply(&mut model, Some(&mut graph));
            followed.update(&graph, &affected);
            now += step;
            followed.advance(&graph, now);
            let fresh = graph.resolver().max_depth(depth).resolve_all(now);
            for p in model.principals.keys() {
                prop_assert_eq!(followed.effective(&graph, p), fresh.effective(&graph, p), "{} at {}", p, now);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Fixed cases

/// A delegation cycle in which each side holds one scope and passes on
/// both: each ends up with both, and nothing else appears.
#[test]
fn a_two_cycle_exchanges_only_what_is_listed() {
    let mut model = Model::default();
    for (id, scope) in [("a", "s0"), ("b", "s1")] {
        model.principals.insert(
            id.into(),
            Principal::new(id, IdentityType::Account).scopes([scope]),
        );
    }
    for (from, to) in [("a", "b"), ("b", "a")] {
        let d = AclEdge::Delegates(Delegation::new(from, to).scopes(["s0", "s1", "s2"]));
        model.edges.insert(d.key(), d);
    }
    let graph = model.graph();
    for p in ["a", "b"] {
        let atoms: Vec<Atom> = atoms_at(&graph, p, 0, 32).into_iter().collect();
        assert_eq!(atoms, ["s:s0", "s:s1"], "{p}");
    }
}
