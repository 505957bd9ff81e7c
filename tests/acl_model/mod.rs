//! A naive reference model of ACL resolution, written independently of the
//! library's resolver: a plain fixed-point loop over the edge list.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::{BTreeMap, BTreeSet};

use alknet_graphs::acl::{
    AclEdge, AclGraph, EffectiveGrant, IdentityType, Principal, Resource, Resources, Validity,
};

/// Resource names every model has as resource nodes.
pub const RESOURCES: [&str; 2] = ["r0", "r1"];
/// Scope vocabulary.
pub const SCOPES: [&str; 4] = ["s0", "s1", "s2", "s3"];
/// Action vocabulary.
pub const ACTIONS: [&str; 3] = ["read", "write", "execute"];

/// A whole ACL: principals by identity id, edges by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub principals: BTreeMap<String, Principal>,
    pub edges: BTreeMap<String, AclEdge>,
}

/// A scope (`s:…`) or a resource action (`r:resource:action`).
pub type Atom = String;

pub fn scope_atom(scope: &str) -> Atom {
    format!("s:{scope}")
}

pub fn resource_atom(resource: &str, action: &str) -> Atom {
    format!("r:{resource}:{action}")
}

/// Every atom the vocabulary can form.
pub fn all_atoms() -> Vec<Atom> {
    let mut atoms: Vec<Atom> = SCOPES.iter().map(|s| scope_atom(s)).collect();
    for resource in RESOURCES {
        for action in ACTIONS {
            atoms.push(resource_atom(resource, action));
        }
    }
    atoms
}

fn atoms_of(scopes: &BTreeSet<String>, resources: &Resources) -> BTreeSet<Atom> {
    let mut atoms: BTreeSet<Atom> = scopes.iter().map(|s| scope_atom(s)).collect();
    for (resource, actions) in resources {
        for action in actions {
            atoms.insert(resource_atom(resource, action));
        }
    }
    atoms
}

/// Active at `t`: `not_before ≤ t < expires_at`, and not revoked at `t`.
pub fn active(v: &Validity, t: i64) -> bool {
    v.not_before.is_none_or(|nb| nb <= t)
        && v.expires_at.is_none_or(|e| t < e)
        && v.revoked_at.is_none_or(|r| t < r)
}

/// A delegation or membership in the direction its grant flows.
#[derive(Debug, Clone)]
pub struct FlowEdge {
    pub key: String,
    pub from: String,
    pub to: String,
    /// `None` for a membership (everything passes).
    pub filter: Option<BTreeSet<Atom>>,
    pub validity: Validity,
}

impl FlowEdge {
    pub fn passes(&self, atom: &str) -> bool {
        self.filter.as_ref().is_none_or(|f| f.contains(atom))
    }
}

impl Model {
    /// The same ACL as an in-memory graph.
    pub fn graph(&self) -> AclGraph {
        let mut graph = AclGraph::new();
        for name in RESOURCES {
            graph.insert_resource(Resource::of_type(name));
        }
        for principal in self.principals.values() {
            graph.insert_principal(principal.clone());
        }
        for (key, edge) in &self.edges {
            graph
                .insert_edge_keyed(key.clone(), edge.clone())
                .expect("model edges join existing principals");
        }
        graph
    }

    /// What `p` holds itself: its scopes, resources and `can_*` edges.
    pub fn own(&self, p: &str) -> BTreeSet<Atom> {
        let Some(principal) = self.principals.get(p) else {
            return BTreeSet::new();
        };
        let mut atoms = atoms_of(&principal.scopes, &principal.resources);
        for edge in self.edges.values() {
            if let AclEdge::Can(grant) = edge {
                if grant.principal == p {
                    atoms.insert(resource_atom(&grant.resource, grant.action.as_str()));
                }
            }
        }
        atoms
    }

    fn is_group(&self, p: &str) -> bool {
        self.principals.get(p).is_some_and(|principal| {
            matches!(
                principal.identity_type,
                IdentityType::Org | IdentityType::Role
            )
        })
    }

    /// Flow edges that can carry a grant at all (memberships into a group).
    pub fn flows(&self) -> Vec<FlowEdge> {
        self.edges
            .iter()
            .filter_map(|(key, edge)| match edge {
                AclEdge::Delegates(d) => Some(FlowEdge {
                    key: key.clone(),
                    from: d.from.clone(),
                    to: d.to.clone(),
                    filter: Some(atoms_of(&d.narrowed_scopes, &d.narrowed_resources)),
                    validity: d.validity,
                }),
                AclEdge::BelongsTo(m) if self.is_group(&m.group) => Some(FlowEdge {
                    key: key.clone(),
                    from: m.group.clone(),
                    to: m.member.clone(),
                    filter: None,
                    validity: m.validity,
                }),
                _ => None,
            })
            .collect()
    }

    /// For each principal, each atom it holds at `t` with the length of its
    /// shortest chain: a Bellman-Ford style loop until nothing changes.
    pub fn distances(&self, t: i64, max_depth: u32) -> BTreeMap<String, BTreeMap<Atom, u32>> {
        let mut dist: BTreeMap<String, BTreeMap<Atom, u32>> = self
            .principals
            .keys()
            .map(|p| (p.clone(), self.own(p).into_iter().map(|a| (a, 0)).collect()))
            .collect();
        let flows: Vec<FlowEdge> = self
            .flows()
            .into_iter()
            .filter(|f| active(&f.validity, t))
            .collect();
        loop {
            let mut changed = false;
            for flow in &flows {
                let from = dist[&flow.from].clone();
                for (atom, d) in from {
                    if d >= max_depth || !flow.passes(&atom) {
                        continue;
                    }
                    let to = dist.get_mut(&flow.to).expect("endpoint exists");
                    if to.get(&atom).is_none_or(|&old| old > d + 1) {
                        to.insert(atom, d + 1);
                        changed = true;
                    }
                }
            }
            if !changed {
                return dist;
            }
        }
    }

    /// Principals from which `p` can be reached along edges active at `t`.
    pub fn upstream(&self, p: &str, t: i64) -> BTreeSet<String> {
        let flows: Vec<FlowEdge> = self
            .flows()
            .into_iter()
            .filter(|f| active(&f.validity, t))
            .collect();
        let mut reached = BTreeSet::from([p.to_owned()]);
        loop {
            let before = reached.len();
            for flow in &flows {
                if reached.contains(&flow.to) {
                    reached.insert(flow.from.clone());
                }
            }
            if reached.len() == before {
                return reached;
            }
        }
    }

    /// The earliest bound after `t` of edges flowing into `p`'s upstream
    /// that can still be active.
    pub fn valid_until(&self, p: &str, t: i64) -> Option<i64> {
        let upstream = self.upstream(p, t);
        self.flows()
            .iter()
            .filter(|f| upstream.contains(&f.to))
            .filter(|f| {
                !(f.validity.revoked_at.is_some_and(|r| r <= t)
                    || f.validity.expires_at.is_some_and(|e| e <= t))
            })
            .flat_map(|f| {
                [
                    f.validity.not_before,
                    f.validity.expires_at,
                    f.validity.revoked_at,
                ]
            })
            .flatten()
            .filter(|&b| b > t)
            .min()
    }

    /// The effective grant of `p` at `t` by the reference model.
    pub fn grant(&self, p: &str, t: i64, max_depth: u32) -> EffectiveGrant {
        let dist = self.distances(t, max_depth);
        let mut grant = grant_of(dist.get(p).map(|m| m.keys()).into_iter().flatten());
        grant.valid_until = self.valid_until(p, t);
        grant
    }

    /// Every time bound in the model.
    pub fn bounds(&self) -> BTreeSet<i64> {
        self.edges
            .values()
            .flat_map(|edge| {
                let v = edge.validity();
                [v.not_before, v.expires_at, v.revoked_at]
            })
            .flatten()
            .collect()
    }
}

/// Atoms back into a grant (without `valid_until`).
pub fn grant_of<'a>(atoms: impl IntoIterator<Item = &'a Atom>) -> EffectiveGrant {
    let mut grant = EffectiveGrant::default();
    for atom in atoms {
        if let Some(scope) = atom.strip_prefix("s:") {
            grant.scopes.insert(scope.to_owned());
        } else if let Some(rest) = atom.strip_prefix("r:") {
            let (resource, action) = rest.split_once(':').expect("r:resource:action");
            grant
                .resources
                .entry(resource.to_owned())
                .or_default()
                .insert(action.to_owned());
        }
    }
    grant
}

/// A grant's atoms.
pub fn atoms_of_grant(grant: &EffectiveGrant) -> BTreeSet<Atom> {
    atoms_of(&grant.scopes, &grant.resources)
}
