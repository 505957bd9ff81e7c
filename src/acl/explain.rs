//! Why a principal holds a permission, or why it does not.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use super::model::{EdgeKind, Inactive, Permission};
use super::resolve::{passes, Resolver};
use super::snapshot::{EdgeIx, Flow, Ix};

/// One edge of a chain, named the way it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The edge's key.
    pub edge: String,
    /// `delegates` or `belongs_to`.
    pub kind: EdgeKind,
    /// The edge's source (the delegator, or the member).
    pub from: String,
    /// The edge's target (the delegate, or the group).
    pub to: String,
}

impl fmt::Display for Hop {
    /// `delegates alice→ci-bot`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}→{}", self.kind, self.from, self.to)
    }
}

/// The shortest chain that grants a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The principal that holds the permission itself, where the chain starts.
    pub holder: String,
    /// The edges from the holder to the principal, in the order the grant
    /// flows; empty when the principal is the holder.
    pub chain: Vec<Hop>,
}

impl fmt::Display for Witness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.chain.is_empty() {
            return write!(f, "held directly by {}", self.holder);
        }
        write!(f, "held by {} via ", self.holder)?;
        for (i, hop) in self.chain.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{hop}")?;
        }
        Ok(())
    }
}

/// Why a principal does not hold a permission. Hops are numbered from 1 at
/// the holder's end of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// No principal it can inherit from holds the permission itself.
    NeverHeldUpstream,
    /// Every chain from a holder loses the permission at a delegation that
    /// does not list it; this is the first such hop on the shortest chain.
    DroppedAtHop {
        /// The hop's number.
        hop: usize,
        /// The delegation.
        edge: Hop,
        /// The permission it does not pass on.
        permission: Permission,
    },
    /// A chain would grant it but one of its edges has expired.
    Expired {
        /// The hop's number.
        hop: usize,
        /// The edge.
        edge: Hop,
        /// When it expired.
        at: i64,
    },
    /// A chain would grant it but one of its edges is not valid yet.
    NotYetValid {
        /// The hop's number.
        hop: usize,
        /// The edge.
        edge: Hop,
        /// When it becomes valid.
        from: i64,
    },
    /// A chain would grant it but one of its edges was revoked.
    Revoked {
        /// The hop's number.
        hop: usize,
        /// The edge.
        edge: Hop,
        /// When it was revoked.
        at: i64,
    },
    /// The shortest chain that would grant it is longer than the maximum depth.
    BeyondMaxDepth {
        /// The shortest chain's number of edges.
        hops: usize,
        /// The maximum depth.
        max_depth: u32,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NeverHeldUpstream => {
                f.write_str("never held upstream: no principal it inherits from holds it")
            }
            Reason::DroppedAtHop {
                hop,
                edge,
                permission,
            } => {
                let list = match permission {
                    Permission::Scope(_) => "narrowed_scopes",
                    Permission::Resource { .. } => "narrowed_resources",
                };
                write!(
                    f,
                    "dropped at hop {hop}: not in {list} of {}→{}",
                    edge.from, edge.to
                )
            }
            Reason::Expired { hop, edge, at } => {
                write!(f, "expired at {at}: hop {hop}, {edge}")
            }
            Reason::NotYetValid { hop, edge, from } => {
                write!(f, "not valid before {from}: hop {hop}, {edge}")
            }
            Reason::Revoked { hop, edge, at } => {
                write!(f, "revoked at {at}: hop {hop}, {edge}")
            }
            Reason::BeyondMaxDepth { hops, max_depth } => write!(
                f,
                "beyond max depth: the shortest chain has {hops} hops, over the maximum of {max_depth}"
            ),
        }
    }
}

/// The answer to "why does (or doesn't) this principal hold that?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explanation {
    /// It holds it; the shortest chain that grants it.
    Granted(Witness),
    /// It does not hold it, and why.
    Denied(Reason),
}

impl Explanation {
    /// Whether the permission is held.
    pub fn is_granted(&self) -> bool {
        matches!(self, Explanation::Granted(_))
    }

    /// The chain that grants it, when it is held.
    pub fn witness(&self) -> Option<&Witness> {
        match self {
            Explanation::Granted(witness) => Some(witness),
            Explanation::Denied(_) => None,
        }
    }

    /// Why it is not held, when it is not.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Explanation::Granted(_) => None,
            Explanation::Denied(reason) => Some(reason),
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Explanation::Granted(witness) => write!(f, "granted: {witness}"),
            Explanation::Denied(reason) => write!(f, "denied: {reason}"),
        }
    }
}

impl Resolver<'_> {
    /// Why the principal holds `permission` at `t` — the shortest chain
    /// that grants it — or why it does not; `None` if there is no such
    /// principal.
    ///
    /// Agrees with [`effective_at`](Resolver::effective_at): the permission
    /// is granted exactly when it is in the effective grant, and the
    /// witness chain's length is the depth at which resolution finds it.
    /// When it is not granted, the reasons are tried in this order: a
    /// chain that is valid but too long; the shortest chain that lists the
    /// permission at every delegation but has an edge out of force (the
    /// first such edge from the holder); the shortest chain of any kind
    /// (the first delegation that does not list it); no holder upstream.
    ///
    /// # Complexity
    ///
    /// At most three breadth-first searches of the principal's upstream:
    /// O(U + F) for U principals and F edges.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{AclEdge, AclGraph, Delegation, IdentityType, Permission, Principal};
    /// let mut graph = AclGraph::new();
    /// graph.insert_principal(Principal::new("root", IdentityType::Account).scopes(["deploy", "read"]));
    /// graph.insert_principal(Principal::new("alice", IdentityType::Account));
    /// graph.insert_principal(Principal::new("ci-bot", IdentityType::Service));
    /// graph.insert_edge(AclEdge::Delegates(Delegation::new("root", "alice").scopes(["deploy", "read"])))?;
    /// graph.insert_edge(AclEdge::Delegates(Delegation::new("alice", "ci-bot").scopes(["read"])))?;
    ///
    /// let resolver = graph.resolver();
    /// let why = resolver.explain_at("ci-bot", &Permission::scope("read"), 0).unwrap();
    /// assert_eq!(
    ///     why.to_string(),
    ///     "granted: held by root via delegates root→alice, delegates alice→ci-bot"
    /// );
    /// let why_not = resolver.explain_at("ci-bot", &Permission::scope("deploy"), 0).unwrap();
    /// assert_eq!(
    ///     why_not.to_string(),
    ///     "denied: dropped at hop 2: not in narrowed_scopes of alice→ci-bot"
    /// );
    /// # Ok::<(), alknet_graphs::Error>(())
    /// ```
    pub fn explain_at(
        &self,
        identity_id: &str,
        permission: &Permission,
        t: i64,
    ) -> Option<Explanation> {
        let target = self.graph.index_of(identity_id)?;
        let Some(atom) = self.graph.atoms().id(permission) else {
            return Some(Explanation::Denied(Reason::NeverHeldUpstream));
        };
        let graph = self.graph;
        let chains = Chains {
            resolver: self,
            target,
            holds: |ix: Ix| {
                graph
                    .slot(ix)
                    .is_some_and(|slot| slot.own.binary_search(&atom).is_ok())
            },
        };

        if let Some(chain) = chains.shortest(|flow| graph.carries_at(flow, t) && passes(flow, atom))
        {
            if chain.len() as u64 <= u64::from(self.max_depth) {
                return Some(Explanation::Granted(self.witness(target, &chain)));
            }
            return Some(Explanation::Denied(Reason::BeyondMaxDepth {
                hops: chain.len(),
                max_depth: self.max_depth,
            }));
        }
        if let Some(chain) = chains.shortest(|flow| graph.carries(flow) && passes(flow, atom)) {
            if let Some(reason) = self.first_inactive(&chain, t) {
                return Some(Explanation::Denied(reason));
            }
        }
        if let Some(chain) = chains.shortest(|flow| graph.carries(flow)) {
            let dropped = chain
                .iter()
                .enumerate()
                .find(|(_, &e)| self.graph.flow(e).is_some_and(|flow| !passes(flow, atom)));
            if let Some((i, &e)) = dropped {
                return Some(Explanation::Denied(Reason::DroppedAtHop {
                    hop: i + 1,
                    edge: self.hop(e),
                    permission: permission.clone(),
                }));
            }
        }
        Some(Explanation::Denied(Reason::NeverHeldUpstream))
    }

    fn first_inactive(&self, chain: &[EdgeIx], t: i64) -> Option<Reason> {
        chain.iter().enumerate().find_map(|(i, &e)| {
            let flow = self.graph.flow(e)?;
            let hop = i + 1;
            Some(match flow.validity.inactive_at(t)? {
                Inactive::Revoked { at } => Reason::Revoked {
                    hop,
                    edge: self.hop(e),
                    at,
                },
                Inactive::Expired { at } => Reason::Expired {
                    hop,
                    edge: self.hop(e),
                    at,
                },
                Inactive::NotYetValid { from } => Reason::NotYetValid {
                    hop,
                    edge: self.hop(e),
                    from,
                },
            })
        })
    }

    fn witness(&self, target: Ix, chain: &[EdgeIx]) -> Witness {
        let holder = match chain.first().and_then(|&e| self.graph.flow(e)) {
            Some(flow) => flow.from,
            None => target,
        };
        Witness {
            holder: self.graph.identity_of(holder).to_owned(),
            chain: chain.iter().map(|&e| self.hop(e)).collect(),
        }
    }

    fn hop(&self, e: EdgeIx) -> Hop {
        match self.graph.edge_slot(e).zip(self.graph.edge_value(e)) {
            Some((slot, edge)) => {
                let (from, to) = edge.ends();
                Hop {
                    edge: slot.key.clone(),
                    kind: edge.kind(),
                    from: from.to_owned(),
                    to: to.to_owned(),
                }
            }
            None => Hop {
                edge: String::new(),
                kind: EdgeKind::Delegates,
                from: String::new(),
                to: String::new(),
            },
        }
    }
}

/// Shortest chains from a holder to one principal.
struct Chains<'r, 'g, H> {
    resolver: &'r Resolver<'g>,
    target: Ix,
    holds: H,
}

impl<H: Fn(Ix) -> bool> Chains<'_, '_, H> {
    /// The shortest chain of edges satisfying `usable` from a principal
    /// that holds the atom to the target, in flow order; breadth-first
    /// from the target against the flow.
    fn shortest(&self, usable: impl Fn(&Flow) -> bool) -> Option<Vec<EdgeIx>> {
        if (self.holds)(self.target) {
            return Some(Vec::new());
        }
        let graph = self.resolver.graph;
        // For each principal reached: the edge that leads from it towards the target.
        let mut toward: HashMap<Ix, EdgeIx> = HashMap::new();
        let mut queue = VecDeque::from([self.target]);
        while let Some(ix) = queue.pop_front() {
            let Some(slot) = graph.slot(ix) else {
                continue;
            };
            for &e in &slot.inflow {
                let Some(flow) = graph.flow(e) else {
                    continue;
                };
                if flow.from == self.target || toward.contains_key(&flow.from) || !usable(flow) {
                    continue;
                }
                toward.insert(flow.from, e);
                if (self.holds)(flow.from) {
                    return Some(self.path_from(flow.from, &toward));
                }
                queue.push_back(flow.from);
            }
        }
        None
    }

    fn path_from(&self, holder: Ix, toward: &HashMap<Ix, EdgeIx>) -> Vec<EdgeIx> {
        let graph = self.resolver.graph;
        let mut chain = Vec::new();
        let mut at = holder;
        while at != self.target {
            let Some(&e) = toward.get(&at) else {
                break;
            };
            chain.push(e);
            match graph.flow(e) {
                Some(flow) => at = flow.to,
                None => break,
            }
        }
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{AclEdge, Delegation, IdentityType, Membership, Principal, Validity};
    use crate::acl::AclGraph;

    fn graph() -> AclGraph {
        let mut graph = AclGraph::new();
        graph.insert_principal(
            Principal::new("root", IdentityType::Account)
                .scopes(["a", "b"])
                .resource("repo", ["read"]),
        );
        graph.insert_principal(Principal::new("eng", IdentityType::Org));
        graph.insert_principal(Principal::new("ada", IdentityType::Account));
        graph
            .insert_edge(AclEdge::Delegates(
                Delegation::new("root", "eng")
                    .scopes(["a", "b"])
                    .validity(Validity::always().expires_at(100)),
            ))
            .unwrap();
        graph
            .insert_edge(AclEdge::BelongsTo(
                Membership::new("ada", "eng").validity(Validity::always().not_before(50)),
            ))
            .unwrap();
        graph
    }

    fn explain(graph: &AclGraph, permission: Permission, t: i64) -> String {
        graph
            .resolver()
            .explain_at("ada", &permission, t)
            .unwrap()
            .to_string()
    }

    #[test]
    fn reasons_name_the_hop_and_the_instant() {
        let graph = graph();
        assert_eq!(
            explain(&graph, Permission::scope("a"), 60),
            "granted: held by root via delegates root→eng, belongs_to ada→eng"
        );
        assert_eq!(
            explain(&graph, Permission::scope("a"), 10),
            "denied: not valid before 50: hop 2, belongs_to ada→eng"
        );
        assert_eq!(
            explain(&graph, Permission::scope("a"), 100),
            "denied: expired at 100: hop 1, delegates root→eng"
        );
        assert_eq!(
            explain(&graph, Permission::resource("repo", "read"), 60),
            "denied: dropped at hop 1: not in narrowed_resources of root→eng"
        );
        assert_eq!(
            explain(&graph, Permission::scope("zzz"), 60),
            "denied: never held upstream: no principal it inherits from holds it"
        );
        assert_eq!(
            graph
                .resolver()
                .max_depth(1)
                .explain_at("ada", &Permission::scope("b"), 60)
                .unwrap()
                .to_string(),
            "denied: beyond max depth: the shortest chain has 2 hops, over the maximum of 1"
        );
        assert_eq!(
            graph
                .resolver()
                .explain_at("root", &Permission::scope("b"), 0)
                .unwrap()
                .to_string(),
            "granted: held directly by root"
        );
        assert!(graph
            .resolver()
            .explain_at("nobody", &Permission::scope("a"), 0)
            .is_none());
    }

    #[test]
    fn revocation_outranks_expiry() {
        let mut graph = graph();
        graph
            .insert_edge(AclEdge::Delegates(
                Delegation::new("root", "eng")
                    .scopes(["a"])
                    .validity(Validity::always().expires_at(100).revoked_at(70)),
            ))
            .unwrap();
        assert_eq!(
            explain(&graph, Permission::scope("a"), 120),
            "denied: revoked at 70: hop 1, delegates root→eng"
        );
    }
}
