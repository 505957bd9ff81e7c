//! The region a resolution step recomputes, and its condensation: the
//! strongly connected components of the flow edges active at an instant,
//! in topological order, so that a grant can be resolved one component at
//! a time, each after everything that flows into it.

use std::collections::VecDeque;

use super::snapshot::{AclGraph, Ix};

/// Marks a principal slot outside the region.
const OUTSIDE: u32 = u32::MAX;

/// A set of principal slots: the principals downstream of some seeds.
#[derive(Debug)]
pub(crate) struct Region {
    /// The members, in the order they were found.
    pub(crate) members: Vec<Ix>,
    /// Per principal slot of the graph: its position in `members`, or
    /// [`OUTSIDE`].
    local: Vec<u32>,
}

impl Region {
    /// The principals downstream of `seeds` along any flow edge, whatever
    /// its validity: a superset of what a change to the seeds can reach, at
    /// any instant. Seeds with no slot (removed principals) are left out.
    pub(crate) fn downstream(graph: &AclGraph, seeds: &[Ix]) -> Region {
        let mut region = Region {
            members: Vec::new(),
            local: vec![OUTSIDE; graph.slot_count()],
        };
        let mut queue: VecDeque<Ix> = VecDeque::new();
        for &ix in seeds {
            if graph.slot(ix).is_some() && region.insert(ix) {
                queue.push_back(ix);
            }
        }
        if region.members.len() == graph.principal_count() {
            // Every principal is a seed: there is nothing downstream to add.
            return region;
        }
        while let Some(ix) = queue.pop_front() {
            let Some(slot) = graph.slot(ix) else {
                continue;
            };
            for &e in &slot.outflow {
                if let Some(flow) = graph.flow(e) {
                    if region.insert(flow.to) {
                        queue.push_back(flow.to);
                    }
                }
            }
        }
        region
    }

    /// Adds `ix`; whether it was new.
    fn insert(&mut self, ix: Ix) -> bool {
        match self.local.get_mut(ix as usize) {
            Some(local) if *local == OUTSIDE => {
                *local = self.members.len() as u32;
                self.members.push(ix);
                true
            }
            _ => false,
        }
    }

    /// Whether `ix` is a member.
    pub(crate) fn contains(&self, ix: Ix) -> bool {
        self.position(ix).is_some()
    }

    /// The position of `ix` in [`members`](Region::members).
    fn position(&self, ix: Ix) -> Option<usize> {
        match self.local.get(ix as usize) {
            Some(&local) if local != OUTSIDE => Some(local as usize),
            _ => None,
        }
    }
}

/// The strongly connected components of a region along the flow edges
/// active at an instant that join two of its members, in topological
/// order: every such edge between two components goes from an earlier one
/// to a later one.
#[derive(Debug)]
pub(crate) struct Components {
    /// The members, component after component.
    order: Vec<Ix>,
    /// Where each component ends in `order`.
    ends: Vec<usize>,
    /// Per member position in the region: its component's number.
    component_of: Vec<u32>,
}

impl Components {
    /// Tarjan's algorithm, without recursion (a chain of a hundred
    /// thousand delegations must not overflow the stack). It walks the
    /// edges against their flow, from a principal to those flowing into
    /// it, so that it closes a component only after every component
    /// upstream of it: the order it finds them in is the order to resolve
    /// them in.
    pub(crate) fn of(graph: &AclGraph, region: &Region, t: i64) -> Components {
        let mut search = Tarjan::new(region.members.len());
        for root in 0..region.members.len() {
            if search.index[root] == UNVISITED {
                search.run(graph, region, t, root);
            }
        }
        search.into_components(region)
    }

    /// The components in topological order, each as its members.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &[Ix])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .enumerate()
            .map(|(k, (start, &end))| (k as u32, &self.order[start..end]))
    }

    /// The component number of a region member, `None` outside the region.
    pub(crate) fn component_of(&self, region: &Region, ix: Ix) -> Option<u32> {
        region.position(ix).map(|local| self.component_of[local])
    }
}

const UNVISITED: u32 = u32::MAX;

/// The state of one run of Tarjan's algorithm over region positions.
struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next_index: u32,
    /// Members of the components as found, upstream first.
    found: Vec<usize>,
    found_ends: Vec<usize>,
}

impl Tarjan {
    fn new(n: usize) -> Tarjan {
        Tarjan {
            index: vec![UNVISITED; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next_index: 0,
            found: Vec::with_capacity(n),
            found_ends: Vec::new(),
        }
    }

    fn enter(&mut self, v: usize) {
        self.index[v] = self.next_index;
        self.low[v] = self.next_index;
        self.next_index += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
    }

    /// The depth-first search from `root`, with an explicit stack of
    /// (position, next in-flowing edge to look at).
    fn run(&mut self, graph: &AclGraph, region: &Region, t: i64, root: usize) {
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        self.enter(root);
        while let Some(&(v, next)) = calls.last() {
            let inflow = graph
                .slot(region.members[v])
                .map_or(&[][..], |slot| slot.inflow.as_slice());
            if let Some(&e) = inflow.get(next) {
                if let Some(call) = calls.last_mut() {
                    call.1 += 1;
                }
                let Some(flow) = graph.flow(e) else {
                    continue;
                };
                let Some(w) = region.position(flow.from) else {
                    continue;
                };
                if !graph.carries_at(flow, t) {
                    continue;
                }
                if self.index[w] == UNVISITED {
                    self.enter(w);
                    calls.push((w, 0));
                } else if self.on_stack[w] {
                    self.low[v] = self.low[v].min(self.index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                self.low[parent] = self.low[parent].min(self.low[v]);
            }
            if self.low[v] == self.index[v] {
                self.close_component(v);
            }
        }
    }

    /// Pops the component rooted at `v` off the stack.
    fn close_component(&mut self, v: usize) {
        while let Some(w) = self.stack.pop() {
            self.on_stack[w] = false;
            self.found.push(w);
            if w == v {
                break;
            }
        }
        self.found_ends.push(self.found.len());
    }

    /// The components found, as region slots.
    fn into_components(self, region: &Region) -> Components {
        let mut component_of = vec![0; self.found.len()];
        let starts = std::iter::once(0).chain(self.found_ends.iter().copied());
        for (k, (start, end)) in starts.zip(self.found_ends.iter().copied()).enumerate() {
            for &local in &self.found[start..end] {
                component_of[local] = k as u32;
            }
        }
        Components {
            order: self
                .found
                .iter()
                .map(|&local| region.members[local])
                .collect(),
            ends: self.found_ends,
            component_of,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{AclEdge, Delegation, IdentityType, Principal, Validity};

    fn graph(names: &[&str], delegations: &[(&str, &str)]) -> AclGraph {
        let mut graph = AclGraph::new();
        for name in names {
            graph.insert_principal(Principal::new(*name, IdentityType::Account).scopes(["s"]));
        }
        for (from, to) in delegations {
            let d = Delegation::new(*from, *to).scopes(["s"]);
            graph.insert_edge(AclEdge::Delegates(d)).unwrap();
        }
        graph
    }

    fn named(graph: &AclGraph, members: &[Ix]) -> Vec<String> {
        let mut names: Vec<String> = members
            .iter()
            .map(|&ix| graph.identity_of(ix).to_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn components_come_in_topological_order() {
        // a → b ⇄ c → d, and e alone.
        let g = graph(
            &["a", "b", "c", "d", "e"],
            &[("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")],
        );
        let everyone: Vec<Ix> = (0..g.slot_count() as Ix).collect();
        let region = Region::downstream(&g, &everyone);
        let components = Components::of(&g, &region, 0);
        let found: Vec<Vec<String>> = components
            .iter()
            .map(|(_, members)| named(&g, members))
            .collect();
        let place = |name: &str| {
            found
                .iter()
                .position(|c| c.iter().any(|n| n == name))
                .unwrap()
        };
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(found[place("b")], ["b", "c"]);
        assert!(place("a") < place("b") && place("b") < place("d"));
        let b = g.index_of("b").unwrap();
        let c = g.index_of("c").unwrap();
        assert_eq!(
            components.component_of(&region, b),
            components.component_of(&region, c)
        );
    }

    #[test]
    fn an_expired_edge_does_not_join_a_cycle() {
        let mut g = graph(&["a", "b"], &[("a", "b")]);
        let back = Delegation::new("b", "a")
            .scopes(["s"])
            .validity(Validity::always().expires_at(10));
        g.insert_edge(AclEdge::Delegates(back)).unwrap();
        let everyone: Vec<Ix> = (0..g.slot_count() as Ix).collect();
        let region = Region::downstream(&g, &everyone);
        assert_eq!(Components::of(&g, &region, 0).iter().count(), 1);
        assert_eq!(Components::of(&g, &region, 10).iter().count(), 2);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let names: Vec<String> = (0..100_000).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let pairs: Vec<(&str, &str)> = refs.windows(2).map(|w| (w[0], w[1])).collect();
        let g = graph(&refs, &pairs);
        let first = g.index_of("p0").unwrap();
        let region = Region::downstream(&g, &[first]);
        assert_eq!(region.members.len(), 100_000);
        let components = Components::of(&g, &region, 0);
        let order: Vec<&str> = components
            .iter()
            .map(|(_, members)| g.identity_of(members[0]))
            .collect();
        assert_eq!(order.first(), Some(&"p0"));
        assert_eq!(order.last(), Some(&"p99999"));
    }
}
