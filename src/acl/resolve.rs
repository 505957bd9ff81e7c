//! Resolution: the effective grant of principals at an instant, as the
//! least fixed point of DESIGN §4, computed in memory.
//!
//! The semantics are stated in the [`acl`](super) module docs.
//!
//! # Algorithm
//!
//! Over the principals to resolve (all of them, or those downstream of a
//! change, with what flows in from the unchanged rest taken as settled),
//! the flow edges active at the instant are condensed into their strongly
//! connected components, which are resolved in topological order. A
//! principal on no cycle, the common case, is a single merge: what it holds
//! itself at depth 0 and what each in-flowing principal holds, one deeper,
//! keeping each atom's smallest depth. The principals of a cycle are
//! searched breadth-first by depth over (principal, atom) pairs, every pair
//! settled once at its smallest depth and then offered to the principal's
//! out-flowing edges. A single principal's grant
//! ([`Resolver::effective_at`]) uses that search over its upstream.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::OnceLock;

use super::check::Identity;
use super::condense::{Components, Region};
use super::holders::Holders;
use super::model::{Permission, Resources};
use super::scope_set::ScopeSet;
use super::snapshot::{AclGraph, AddAction, Affected, AtomId, Filter, Flow, Ix};

/// The maximum chain depth, in edges, unless configured otherwise.
pub const DEFAULT_MAX_DEPTH: u32 = 32;

/// What a principal holds at an instant, all chains included.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{AclGraph, IdentityType, Principal};
/// let mut graph = AclGraph::new();
/// graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["repo:read"]));
/// let grant = graph.resolver().effective_at("alice", 0).unwrap();
/// assert!(grant.has_scope("repo:read"));
/// assert_eq!(grant.valid_until, None, "no time bound can change it");
/// let identity = grant.into_identity("alice");
/// assert_eq!(identity.scopes, ["repo:read"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EffectiveGrant {
    /// Scopes held.
    pub scopes: BTreeSet<String>,
    /// Resource actions held, by resource name.
    pub resources: Resources,
    /// The next instant at which a time bound could change the grant;
    /// `None` when no bound can.
    pub valid_until: Option<i64>,
}

impl EffectiveGrant {
    /// Whether `scope` is held.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether `action` on `resource` is held.
    pub fn allows(&self, resource: &str, action: &str) -> bool {
        self.resources
            .get(resource)
            .is_some_and(|actions| actions.contains(action))
    }

    /// The grant as the flat [`Identity`] the access check reads.
    pub fn into_identity(self, id: impl Into<String>) -> Identity {
        Identity {
            id: id.into(),
            scopes: self.scopes.into_iter().collect(),
            resources: self
                .resources
                .into_iter()
                .map(|(resource, actions)| (resource, actions.into_iter().collect()))
                .collect(),
        }
    }
}

/// The principals a resolution step recomputed.
#[derive(Debug)]
pub(crate) enum Touched {
    /// Every principal (the resolution started over).
    All,
    /// These slots, by index.
    Some(Vec<Ix>),
}

/// Resolves effective grants over an [`AclGraph`]: a pure function of the
/// graph, the instant and the maximum depth. Made by
/// [`AclGraph::resolver`].
#[derive(Debug, Clone, Copy)]
pub struct Resolver<'g> {
    pub(crate) graph: &'g AclGraph,
    pub(crate) max_depth: u32,
}

impl AclGraph {
    /// Resolution of effective grants and explanations over this graph,
    /// with the default maximum chain depth.
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver::new(self)
    }
}

impl<'g> Resolver<'g> {
    pub(crate) fn new(graph: &'g AclGraph) -> Self {
        Resolver {
            graph,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets the maximum chain depth in edges (default
    /// [`DEFAULT_MAX_DEPTH`]); deeper chains do not contribute, and 0 means
    /// principals hold only what they hold themselves.
    pub fn max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The effective grant of one principal at `t` (unix milliseconds), or
    /// `None` if there is no such principal.
    ///
    /// # Complexity
    ///
    /// Touches only P's upstream: O(U + F + A·log A) for the U principals
    /// and F edges from which P can be reached along edges active at `t`,
    /// and the A (principal, atom) pairs that flow among them within the
    /// maximum depth.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{AclEdge, AclGraph, Delegation, IdentityType, Principal};
    /// let mut graph = AclGraph::new();
    /// graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["deploy"]));
    /// graph.insert_principal(Principal::new("bot", IdentityType::Service));
    /// graph.insert_edge(AclEdge::Delegates(
    ///     Delegation::new("alice", "bot").scopes(["deploy"]).expires_at(1_000),
    /// ))?;
    /// let resolver = graph.resolver();
    /// let before = resolver.effective_at("bot", 999).unwrap();
    /// assert!(before.has_scope("deploy"));
    /// assert_eq!(before.valid_until, Some(1_000));
    /// assert!(!resolver.effective_at("bot", 1_000).unwrap().has_scope("deploy"));
    /// # Ok::<(), alknet_graphs::Error>(())
    /// ```
    pub fn effective_at(&self, identity_id: &str, t: i64) -> Option<EffectiveGrant> {
        let target = self.graph.index_of(identity_id)?;
        let upstream = self.upstream(target, t);
        let max_depth = self.max_depth;
        let within = |ix: Ix, depth: u32| {
            upstream.get(&ix).is_some_and(|&to_target| {
                u64::from(depth) + u64::from(to_target) <= u64::from(max_depth)
            })
        };
        let mut arrivals = Arrivals::new();
        let held: Vec<(Ix, AtomId)> = upstream
            .keys()
            .filter(|&&ix| within(ix, 0))
            .filter_map(|&ix| self.graph.slot(ix).map(|slot| (ix, slot)))
            .flat_map(|(ix, slot)| slot.own.iter().map(move |&atom| (ix, atom)))
            .collect();
        arrivals.insert(0, held);
        let mut table: HashMap<Ix, Depths> = HashMap::new();
        propagate(self.graph, t, max_depth, &mut table, arrivals, within);
        let valid_until = upstream
            .keys()
            .filter_map(|&ix| local_bound(self.graph, ix, t))
            .min();
        Some(grant_of(self.graph, table.depths(target), valid_until))
    }

    /// The effective grants of every principal at `t`.
    ///
    /// # Complexity
    ///
    /// O(N + E + A·log A) for N principals, E edges and the A
    /// (principal, atom) pairs that flow within the maximum depth, plus
    /// O((N + E) log N) for `valid_until`.
    pub fn resolve_all(&self, t: i64) -> Resolution {
        let mut resolution = Resolution {
            graph: self.graph.id(),
            at: t,
            max_depth: self.max_depth,
            depths: DepthLists::default(),
            valid_until: Vec::new(),
            holders: OnceLock::new(),
            expiries: BinaryHeap::new(),
        };
        let mut everyone: Vec<Ix> = Vec::with_capacity(self.graph.principal_count());
        everyone
            .extend((0..self.graph.slot_count() as Ix).filter(|&ix| self.graph.slot(ix).is_some()));
        resolution.depths.bulk = true;
        resolution.recompute(self.graph, &everyone);
        resolution.depths.bulk = false;
        resolution
    }

    /// Every principal from which `target` can be reached along edges
    /// active at `t`, with the length of the shortest such path.
    fn upstream(&self, target: Ix, t: i64) -> HashMap<Ix, u32> {
        let mut distance = HashMap::from([(target, 0u32)]);
        let mut queue = VecDeque::from([target]);
        while let Some(ix) = queue.pop_front() {
            let Some(slot) = self.graph.slot(ix) else {
                continue;
            };
            let next = distance[&ix].saturating_add(1);
            for &e in &slot.inflow {
                let Some(flow) = self.graph.flow(e) else {
                    continue;
                };
                if self.graph.carries_at(flow, t) && !distance.contains_key(&flow.from) {
                    distance.insert(flow.from, next);
                    queue.push_back(flow.from);
                }
            }
        }
        distance
    }
}

/// The effective grants of every principal at one instant, kept up to date
/// incrementally as the graph changes or time moves on.
///
/// It follows the [`AclGraph`] it was resolved from: pass that graph to
/// its methods (another graph makes it resolve everything again).
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{AclEdge, AclGraph, Delegation, IdentityType, Principal};
/// let mut graph = AclGraph::new();
/// graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["a"]));
/// graph.insert_principal(Principal::new("bob", IdentityType::Account));
/// let mut resolution = graph.resolver().resolve_all(0);
/// assert!(resolution.effective(&graph, "bob").unwrap().scopes.is_empty());
///
/// let affected = graph.insert_edge(AclEdge::Delegates(Delegation::new("alice", "bob").scopes(["a"])))?;
/// resolution.update(&graph, &affected);
/// assert!(resolution.effective(&graph, "bob").unwrap().has_scope("a"));
/// # Ok::<(), alknet_graphs::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Resolution {
    graph: u64,
    at: i64,
    max_depth: u32,
    /// Per principal slot: atoms held, each with its shortest chain depth,
    /// sorted by atom.
    depths: DepthLists,
    valid_until: Vec<Option<i64>>,
    /// Atom → the principals whose `depths` hold it: built from `depths`
    /// on the first reverse lookup, then kept up to date by every update,
    /// so that a resolution nobody asks "who holds" of never pays for it.
    holders: OnceLock<Holders>,
    /// Every bound set in `valid_until`, earliest first, so that
    /// [`advance`](Resolution::advance) finds the expired grants without a
    /// scan. Entries are not removed when a bound changes: one whose
    /// principal no longer has that bound is dropped when it comes up.
    expiries: BinaryHeap<Reverse<(i64, Ix)>>,
}

impl Resolution {
    /// The instant it resolves, in unix milliseconds.
    pub fn at(&self) -> i64 {
        self.at
    }

    /// The maximum chain depth it was resolved with.
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// The effective grant of a principal at [`at`](Resolution::at), or
    /// `None` if there is no such principal.
    ///
    /// # Complexity
    ///
    /// O(g) for a grant of g scopes and actions: a lookup, then building
    /// the sets.
    pub fn effective(&self, graph: &AclGraph, identity_id: &str) -> Option<EffectiveGrant> {
        if graph.id() != self.graph {
            return graph
                .resolver()
                .max_depth(self.max_depth)
                .effective_at(identity_id, self.at);
        }
        let ix = graph.index_of(identity_id)? as usize;
        let depths = self.depths.depths(ix as Ix);
        let valid_until = self.valid_until.get(ix).copied().flatten();
        Some(grant_of(graph, depths, valid_until))
    }

    /// [`effective`](Self::effective) as the flat [`Identity`], spelled
    /// straight from the atoms held; `None` when there is no such
    /// principal or the resolution does not follow `graph`.
    pub(crate) fn identity(&self, graph: &AclGraph, identity_id: &str) -> Option<Identity> {
        let ix = graph.index_of(identity_id)?;
        let mut identity = Identity::new(identity_id);
        self.add_held(graph, ix, &mut identity.scopes, &mut identity.resources)?;
        Some(identity)
    }

    /// Adds what the principal in slot `ix` holds to `scopes` and
    /// `resources`, as [`effective`](Self::effective) would list it but
    /// without building the grant's own sets, and returns its
    /// `valid_until`; `None`, adding nothing, when the resolution does not
    /// follow `graph`.
    pub(crate) fn add_held(
        &self,
        graph: &AclGraph,
        ix: Ix,
        scopes: &mut ScopeSet,
        resources: &mut impl AddAction,
    ) -> Option<Option<i64>> {
        if graph.id() != self.graph {
            return None;
        }
        let held = self.depths.depths(ix);
        scopes.reserve(held.len());
        graph.atoms().spell(
            held.iter().map(|&(atom, _)| atom),
            |scope| {
                scopes.insert(scope);
            },
            resources,
        );
        Some(self.valid_until.get(ix as usize).copied().flatten())
    }

    /// The principals holding `permission` at [`at`](Resolution::at),
    /// sorted by identity id, from an index the resolution keeps up to date
    /// with its updates.
    ///
    /// # Complexity
    ///
    /// O(h log h) for h holders. On a graph it does not follow it resolves
    /// everything first, as [`Resolver::resolve_all`].
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{AclEdge, AclGraph, Delegation, IdentityType, Permission, Principal};
    /// let mut graph = AclGraph::new();
    /// graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["deploy"]));
    /// graph.insert_principal(Principal::new("bot", IdentityType::Service));
    /// graph.insert_principal(Principal::new("carol", IdentityType::Account));
    /// let mut resolution = graph.resolver().resolve_all(0);
    /// let affected = graph.insert_edge(AclEdge::Delegates(Delegation::new("alice", "bot").scopes(["deploy"])))?;
    /// resolution.update(&graph, &affected);
    /// assert_eq!(resolution.holders(&graph, &Permission::scope("deploy")), ["alice", "bot"]);
    /// # Ok::<(), alknet_graphs::Error>(())
    /// ```
    pub fn holders(&self, graph: &AclGraph, permission: &Permission) -> Vec<String> {
        if !self.follows(graph) {
            let fresh = graph
                .resolver()
                .max_depth(self.max_depth)
                .resolve_all(self.at);
            return fresh.holders(graph, permission);
        }
        holders_in(graph, self, permission)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Whether it was resolved from `graph` (and follows it).
    pub(crate) fn follows(&self, graph: &AclGraph) -> bool {
        graph.id() == self.graph
    }

    /// Makes it follow `graph`, a clone of the graph it follows taken with
    /// no change in between (the clone has a new identity).
    pub(crate) fn retarget(&mut self, graph: &AclGraph) {
        self.graph = graph.id();
    }

    /// The earliest `valid_until` of any principal: every grant it holds is
    /// also the grant at any instant in `[at, stable_until)`.
    pub(crate) fn stable_until(&self) -> Option<i64> {
        self.valid_until.iter().flatten().copied().min()
    }

    /// The inverted index atom → principals.
    pub(crate) fn holder_index(&self) -> &Holders {
        self.holders.get_or_init(|| {
            Holders::from_atoms(self.depths.iter().map(|d| d.iter().map(|&(atom, _)| atom)))
        })
    }

    /// Whether the grant it holds for a principal is also its grant at `t`:
    /// `at ≤ t < valid_until`, on the graph it follows.
    pub fn covers(&self, graph: &AclGraph, identity_id: &str, t: i64) -> bool {
        if graph.id() != self.graph || t < self.at {
            return false;
        }
        graph.index_of(identity_id).is_some_and(|ix| {
            self.valid_until
                .get(ix as usize)
                .copied()
                .flatten()
                .is_none_or(|until| t < until)
        })
    }

    /// Brings the resolution up to date after a change to `graph` that
    /// touched `affected`, recomputing only the principals downstream of it
    /// (those its grant can flow to, along any edge). Returns how many
    /// principals it recomputed.
    ///
    /// # Complexity
    ///
    /// O(D + F + A·log A) for the D downstream principals, the F edges into
    /// them, and the A (principal, atom) pairs that flow among them; plus
    /// O(N) to size the tables.
    pub fn update(&mut self, graph: &AclGraph, affected: &Affected) -> usize {
        match self.update_touched(graph, affected) {
            Touched::All => graph.principal_count(),
            Touched::Some(region) => region.len(),
        }
    }

    /// As [`update`](Resolution::update), returning which principals it
    /// recomputed.
    pub(crate) fn update_touched(&mut self, graph: &AclGraph, affected: &Affected) -> Touched {
        if affected.is_empty() && graph.id() == self.graph {
            return Touched::Some(Vec::new());
        }
        if graph.id() != self.graph || affected.graph() != self.graph {
            *self = graph
                .resolver()
                .max_depth(self.max_depth)
                .resolve_all(self.at);
            return Touched::All;
        }
        Touched::Some(self.recompute(graph, affected.seeds()))
    }

    /// Moves the resolution forward to `t`, recomputing only the principals
    /// whose `valid_until` has passed (and those downstream of them).
    /// Returns how many principals it recomputed; an instant before
    /// [`at`](Resolution::at) leaves it as it is and returns 0.
    ///
    /// # Complexity
    ///
    /// O(X log B) to find the X expired grants among the B bounds it
    /// holds, then as [`update`](Resolution::update) over them.
    pub fn advance(&mut self, graph: &AclGraph, t: i64) -> usize {
        match self.advance_touched(graph, t) {
            Touched::All => graph.principal_count(),
            Touched::Some(region) => region.len(),
        }
    }

    /// As [`advance`](Resolution::advance), returning which principals it
    /// recomputed.
    pub(crate) fn advance_touched(&mut self, graph: &AclGraph, t: i64) -> Touched {
        if graph.id() != self.graph {
            *self = graph.resolver().max_depth(self.max_depth).resolve_all(t);
            return Touched::All;
        }
        if t <= self.at {
            return Touched::Some(Vec::new());
        }
        self.at = t;
        let mut expired = Vec::new();
        while let Some(&Reverse((bound, ix))) = self.expiries.peek() {
            if bound > t {
                break;
            }
            self.expiries.pop();
            if self.valid_until.get(ix as usize).copied().flatten() == Some(bound) {
                expired.push(ix);
            }
        }
        if expired.is_empty() {
            return Touched::Some(Vec::new());
        }
        expired.sort_unstable();
        expired.dedup();
        Touched::Some(self.recompute(graph, &expired))
    }

    /// Recomputes the principals downstream of `seeds` at `self.at`, taking
    /// what flows in from outside them as settled; returns them.
    fn recompute(&mut self, graph: &AclGraph, seeds: &[Ix]) -> Vec<Ix> {
        let slots = graph.slot_count();
        self.depths.resize(slots);
        self.valid_until.resize(slots, None);
        let region = Region::downstream(graph, seeds);
        // What the region, and any seed outside it (a removed principal),
        // held before: the holder index is updated with the difference.
        let tracking = self.holders.get().is_some();
        let atoms_of = |depths: &[(AtomId, u32)]| -> Vec<AtomId> {
            if tracking {
                depths.iter().map(|&(atom, _)| atom).collect()
            } else {
                Vec::new()
            }
        };
        let region_before: Vec<Vec<AtomId>> = region
            .members
            .iter()
            .map(|&ix| atoms_of(self.depths.depths(ix)))
            .collect();
        let gone_before: Vec<(Ix, Vec<AtomId>)> = seeds
            .iter()
            .filter(|&&ix| !region.contains(ix))
            .filter(|&&ix| (ix as usize) < self.depths.len())
            .map(|&ix| (ix, atoms_of(self.depths.depths(ix))))
            .collect();
        for &ix in seeds {
            self.depths.clear(ix);
            if let Some(until) = self.valid_until.get_mut(ix as usize) {
                *until = None;
            }
        }
        for &ix in &region.members {
            self.depths.clear(ix);
        }
        self.resolve_region(graph, &region);
        if let Some(holders) = self.holders.get_mut() {
            for (ix, old) in &gone_before {
                holders.update(*ix, old, &[]);
            }
            for (&ix, old) in region.members.iter().zip(&region_before) {
                holders.update(ix, old, self.depths.depths(ix));
            }
        }
        self.compact_expiries();
        region.members
    }

    /// Resolves the region's depths (cleared), taking what flows in from
    /// outside it as settled: one component of its condensation at a time,
    /// in topological order, so that everything flowing into a component
    /// is settled before it. A principal on no cycle is one merge of what
    /// it holds and what its in-flowing edges carry; a cycle is searched
    /// breadth-first by depth.
    fn resolve_region(&mut self, graph: &AclGraph, region: &Region) {
        let components = Components::of(graph, region, self.at);
        let mut merge = Merge::default();
        for (component, members) in components.iter() {
            if let [ix] = members {
                self.merge_inflow(graph, *ix, &mut merge);
                continue;
            }
            let outside = |from: Ix| components.component_of(region, from) != Some(component);
            let arrivals = self.arrivals_into(graph, members, outside);
            let inside = |ix: Ix, _depth: u32| !outside(ix);
            propagate(
                graph,
                self.at,
                self.max_depth,
                &mut self.depths,
                arrivals,
                inside,
            );
            let until = self.cycle_valid_until(graph, members, outside);
            for &ix in members {
                self.set_valid_until(ix, until);
            }
        }
    }

    /// `valid_until` of the principals of a cycle: each reaches every
    /// other, so they share the earliest bound among their own in-flowing
    /// edges and what flows in from outside the cycle.
    fn cycle_valid_until(
        &self,
        graph: &AclGraph,
        members: &[Ix],
        outside: impl Fn(Ix) -> bool,
    ) -> Option<i64> {
        let mut until = None;
        for &ix in members {
            until = earliest(until, local_bound(graph, ix, self.at));
            let Some(slot) = graph.slot(ix) else {
                continue;
            };
            for flow in slot.inflow.iter().filter_map(|&e| graph.flow(e)) {
                if outside(flow.from) && graph.carries_at(flow, self.at) {
                    until = earliest(until, self.valid_until[flow.from as usize]);
                }
            }
        }
        until
    }

    /// Sets a principal's `valid_until`, and queues its bound for
    /// [`advance`](Resolution::advance).
    fn set_valid_until(&mut self, ix: Ix, until: Option<i64>) {
        self.valid_until[ix as usize] = until;
        if let Some(bound) = until {
            self.expiries.push(Reverse((bound, ix)));
        }
    }

    /// Sets the depths of `ix`, a principal on no cycle whose in-flowing
    /// principals are settled: what it holds itself at depth 0, merged with
    /// what each edge flowing into it at `at` carries, one deeper, keeping
    /// the smallest depth of each atom. Its `valid_until` is the earliest
    /// bound of those edges (and of edges still to start) and of the
    /// principals they come from.
    fn merge_inflow(&mut self, graph: &AclGraph, ix: Ix, merge: &mut Merge) {
        let Some(slot) = graph.slot(ix) else {
            return;
        };
        merge.start(&slot.own);
        let many = slot.inflow.len() > MERGE_PAIRWISE_UP_TO;
        let mut until = None;
        for flow in slot.inflow.iter().filter_map(|&e| graph.flow(e)) {
            if !graph.carries(flow) || flow.validity.is_over_at(self.at) {
                continue;
            }
            until = earliest(until, flow.validity.next_bound_after(self.at));
            if flow.from == ix || !flow.validity.is_active_at(self.at) {
                continue;
            }
            until = earliest(until, self.valid_until[flow.from as usize]);
            let source = self.depths.depths(flow.from);
            merge.offer(flow, source, self.max_depth, many);
        }
        self.depths.set(ix, merge.finish(many));
        self.set_valid_until(ix, until);
    }

    /// What `members` hold themselves (depth 0), and what flows into them
    /// from settled principals (those `outside` says are).
    fn arrivals_into(
        &self,
        graph: &AclGraph,
        members: &[Ix],
        outside: impl Fn(Ix) -> bool,
    ) -> Arrivals {
        let mut arrivals = Arrivals::new();
        for &ix in members {
            let Some(slot) = graph.slot(ix) else {
                continue;
            };
            arrivals
                .entry(0)
                .or_default()
                .extend(slot.own.iter().map(|&atom| (ix, atom)));
            for &e in &slot.inflow {
                let Some(flow) = graph.flow(e) else {
                    continue;
                };
                if !outside(flow.from) || !graph.carries_at(flow, self.at) {
                    continue;
                }
                for &(atom, depth) in self.depths.depths(flow.from) {
                    if depth < self.max_depth && passes(flow, atom) {
                        arrivals.entry(depth + 1).or_default().push((ix, atom));
                    }
                }
            }
        }
        arrivals
    }

    /// Drops the expiry entries left behind by changed bounds once they
    /// outnumber the principals, so the heap stays O(N) however long the
    /// resolution follows its graph.
    fn compact_expiries(&mut self) {
        if self.expiries.len() > 2 * self.valid_until.len() + 64 {
            self.expiries = self
                .valid_until
                .iter()
                .enumerate()
                .filter_map(|(ix, until)| until.map(|bound| Reverse((bound, ix as Ix))))
                .collect();
        }
    }
}

// ---------------------------------------------------------------------------
// The search shared by every resolution

/// Atoms held by one principal, each with its shortest chain depth, sorted
/// by atom.
pub(crate) type Depths = Vec<(AtomId, u32)>;

/// (principal, atom) pairs waiting to be settled, by chain depth.
type Arrivals = BTreeMap<u32, Vec<(Ix, AtomId)>>;

/// Where settled depths are kept: a dense table for whole-graph
/// resolutions, a map for a single principal's upstream.
pub(crate) trait DepthTable {
    fn depths(&self, ix: Ix) -> &[(AtomId, u32)];
    fn settle(&mut self, ix: Ix, atoms: &[AtomId], depth: u32);
}

/// Every principal's depths, by slot. A full resolution writes the lists
/// one after another into large chunks, so that its 100k lists are a few
/// allocations to make, clone and free rather than one each; a list an
/// update rewrites gets a vector of its own (the chunk space it leaves is
/// reclaimed by the next full resolution).
#[derive(Debug, Clone, Default)]
pub(crate) struct DepthLists {
    /// Filled front to back; a chunk is never grown past its capacity, so
    /// the lists in it stay where they are.
    chunks: Vec<Depths>,
    lists: Vec<DepthList>,
    /// Whether [`set`](DepthLists::set) writes into the chunks.
    bulk: bool,
}

/// Where one principal's depths are.
#[derive(Debug, Clone, Default)]
enum DepthList {
    #[default]
    Empty,
    Chunk {
        chunk: usize,
        start: usize,
        len: usize,
    },
    Own(Depths),
}

/// Entries the first chunk holds; each next one holds twice as many as the
/// one before, up to [`DEPTH_CHUNK_MOST`] (a list longer than that gets a
/// chunk its size).
const DEPTH_CHUNK_FIRST: usize = 1 << 12;
const DEPTH_CHUNK_MOST: usize = 1 << 20;

impl DepthLists {
    fn len(&self) -> usize {
        self.lists.len()
    }

    fn resize(&mut self, slots: usize) {
        self.lists.resize_with(slots, DepthList::default);
    }

    fn clear(&mut self, ix: Ix) {
        if let Some(list) = self.lists.get_mut(ix as usize) {
            match list {
                DepthList::Own(depths) => depths.clear(),
                _ => *list = DepthList::Empty,
            }
        }
    }

    /// Sets the depths of `ix` (a slot below [`len`](Self::len)).
    fn set(&mut self, ix: Ix, depths: &[(AtomId, u32)]) {
        let Some(list) = self.lists.get_mut(ix as usize) else {
            return;
        };
        if let DepthList::Own(own) = list {
            own.clear();
            own.extend_from_slice(depths);
            return;
        }
        if depths.is_empty() {
            *list = DepthList::Empty;
            return;
        }
        if !self.bulk {
            *list = DepthList::Own(depths.to_vec());
            return;
        }
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= depths.len());
        if !fits {
            let next = self.chunks.last().map_or(DEPTH_CHUNK_FIRST, |chunk| {
                (2 * chunk.capacity()).min(DEPTH_CHUNK_MOST)
            });
            self.chunks.push(Vec::with_capacity(next.max(depths.len())));
        }
        let chunk = self.chunks.len() - 1;
        let into = &mut self.chunks[chunk];
        let start = into.len();
        into.extend_from_slice(depths);
        *list = DepthList::Chunk {
            chunk,
            start,
            len: depths.len(),
        };
    }

    fn iter(&self) -> impl Iterator<Item = &[(AtomId, u32)]> {
        (0..self.lists.len()).map(|ix| self.depths(ix as Ix))
    }
}

impl DepthTable for DepthLists {
    fn depths(&self, ix: Ix) -> &[(AtomId, u32)] {
        match self.lists.get(ix as usize) {
            None | Some(DepthList::Empty) => &[],
            Some(DepthList::Chunk { chunk, start, len }) => {
                &self.chunks[*chunk][*start..*start + *len]
            }
            Some(DepthList::Own(depths)) => depths,
        }
    }

    fn settle(&mut self, ix: Ix, atoms: &[AtomId], depth: u32) {
        let DepthLists { chunks, lists, .. } = self;
        let Some(list) = lists.get_mut(ix as usize) else {
            return;
        };
        let held = match list {
            DepthList::Own(own) => std::mem::take(own),
            DepthList::Empty => Vec::new(),
            DepthList::Chunk { chunk, start, len } => {
                chunks[*chunk][*start..*start + *len].to_vec()
            }
        };
        let mut own = held;
        settle_into(&mut own, atoms, depth);
        *list = DepthList::Own(own);
    }
}

impl DepthTable for HashMap<Ix, Depths> {
    fn depths(&self, ix: Ix) -> &[(AtomId, u32)] {
        self.get(&ix).map_or(&[], Vec::as_slice)
    }

    fn settle(&mut self, ix: Ix, atoms: &[AtomId], depth: u32) {
        settle_into(self.entry(ix).or_default(), atoms, depth);
    }
}

/// Merges `atoms` (sorted, none of them in `depths`) into `depths` at
/// `depth`, in place, from the back.
fn settle_into(depths: &mut Depths, atoms: &[AtomId], depth: u32) {
    let mut old = depths.len();
    let mut new = atoms.len();
    depths.resize(old + new, (0, 0));
    let mut at = depths.len();
    while new > 0 {
        at -= 1;
        if old > 0 && depths[old - 1].0 > atoms[new - 1] {
            depths[at] = depths[old - 1];
            old -= 1;
        } else {
            depths[at] = (atoms[new - 1], depth);
            new -= 1;
        }
    }
}

/// Above this many in-flowing edges, a merge collects every list and sorts
/// once instead of merging them pairwise.
const MERGE_PAIRWISE_UP_TO: usize = 8;

/// Scratch lists for merging sorted (atom, depth) lists into one, keeping
/// the smallest depth of each atom; reused from one principal to the next.
#[derive(Debug, Default)]
struct Merge {
    merged: Depths,
    incoming: Depths,
    spare: Depths,
}

impl Merge {
    /// Starts a merge with the atoms a principal holds itself, at depth 0.
    fn start(&mut self, own: &[AtomId]) {
        self.merged.clear();
        self.merged.extend(own.iter().map(|&atom| (atom, 0)));
    }

    /// Adds what `flow` carries of `source` (its principal's depths), one
    /// deeper, within `max_depth`. With `collect`, the lists are gathered
    /// and sorted once by [`finish`](Merge::finish).
    fn offer(&mut self, flow: &Flow, source: &[(AtomId, u32)], max_depth: u32, collect: bool) {
        if collect {
            carried(flow, source, max_depth, &mut self.merged);
            return;
        }
        self.incoming.clear();
        carried(flow, source, max_depth, &mut self.incoming);
        if !self.incoming.is_empty() {
            merge_min(&self.merged, &self.incoming, &mut self.spare);
            std::mem::swap(&mut self.merged, &mut self.spare);
        }
    }

    /// The merged list, sorted by atom.
    fn finish(&mut self, collected: bool) -> &[(AtomId, u32)] {
        if collected {
            self.merged.sort_unstable();
            self.merged.dedup_by_key(|&mut (atom, _)| atom);
        }
        &self.merged
    }
}

/// Appends to `out` what `flow` lets through of `source`, sorted by atom,
/// one deeper; entries already at `max_depth` go no further.
fn carried(flow: &Flow, source: &[(AtomId, u32)], max_depth: u32, out: &mut Depths) {
    let deeper = |&(atom, depth): &(AtomId, u32)| (depth < max_depth).then_some((atom, depth + 1));
    let allowed = match &flow.filter {
        Filter::Everything => {
            out.extend(source.iter().filter_map(deeper));
            return;
        }
        Filter::Only(allowed) => allowed.as_slice(),
    };
    if allowed.len() * 8 < source.len() {
        let found = allowed.iter().filter_map(|atom| {
            let at = source.binary_search_by_key(atom, |&(a, _)| a).ok()?;
            deeper(&source[at])
        });
        out.extend(found);
        return;
    }
    if source.len() * 8 < allowed.len() {
        let found = source
            .iter()
            .filter(|(atom, _)| allowed.binary_search(atom).is_ok());
        out.extend(found.filter_map(deeper));
        return;
    }
    // Lists of similar sizes: a merge without branches on the data, which
    // a processor cannot predict here. Every step writes a slot and keeps
    // it only on a match.
    let start = out.len();
    out.resize(start + source.len().min(allowed.len()) + 1, (0, 0));
    let (mut i, mut j, mut kept) = (0, 0, start);
    while i < source.len() && j < allowed.len() {
        let ((atom, depth), wanted) = (source[i], allowed[j]);
        out[kept] = (atom, depth.wrapping_add(1));
        kept += usize::from(atom == wanted && depth < max_depth);
        i += usize::from(atom <= wanted);
        j += usize::from(wanted <= atom);
    }
    out.truncate(kept);
}

/// `a ∪ b` of two lists sorted by atom into `out`, keeping the smaller
/// depth of an atom in both.
fn merge_min(a: &[(AtomId, u32)], b: &[(AtomId, u32)], out: &mut Depths) {
    out.clear();
    out.reserve(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        match x.0.cmp(&y.0) {
            std::cmp::Ordering::Less => {
                out.push(x);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(y);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((x.0, x.1.min(y.1)));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// Settles arrivals in order of depth. An arriving atom a principal does
/// not hold yet is settled at that depth (the smallest, since depths are
/// visited in order) and offered to the principal's out-flowing edges that
/// carry it at `t`, if `admit` lets the next principal take it at the next
/// depth. Chains stop at `max_depth`.
fn propagate(
    graph: &AclGraph,
    t: i64,
    max_depth: u32,
    table: &mut impl DepthTable,
    mut arrivals: Arrivals,
    admit: impl Fn(Ix, u32) -> bool,
) {
    let mut fresh: Vec<AtomId> = Vec::new();
    let mut passed: Vec<AtomId> = Vec::new();
    while let Some((depth, mut batch)) = arrivals.pop_first() {
        if depth > max_depth {
            break;
        }
        batch.sort_unstable();
        batch.dedup();
        for group in batch.chunk_by(|a, b| a.0 == b.0) {
            let ix = group[0].0;
            let known = table.depths(ix);
            fresh.clear();
            fresh.extend(
                group
                    .iter()
                    .map(|&(_, atom)| atom)
                    .filter(|atom| known.binary_search_by_key(atom, |&(a, _)| a).is_err()),
            );
            if fresh.is_empty() {
                continue;
            }
            table.settle(ix, &fresh, depth);
            if depth == max_depth {
                continue;
            }
            let Some(slot) = graph.slot(ix) else {
                continue;
            };
            for &e in &slot.outflow {
                let Some(flow) = graph.flow(e) else {
                    continue;
                };
                if !graph.carries_at(flow, t) || !admit(flow.to, depth + 1) {
                    continue;
                }
                passed.clear();
                match &flow.filter {
                    Filter::Everything => passed.extend_from_slice(&fresh),
                    Filter::Only(allowed) => intersect_into(&fresh, allowed, &mut passed),
                }
                if !passed.is_empty() {
                    arrivals
                        .entry(depth + 1)
                        .or_default()
                        .extend(passed.iter().map(|&atom| (flow.to, atom)));
                }
            }
        }
    }
}

/// Whether a flow edge lets `atom` through (ignoring time).
pub(crate) fn passes(flow: &Flow, atom: AtomId) -> bool {
    match &flow.filter {
        Filter::Everything => true,
        Filter::Only(allowed) => allowed.binary_search(&atom).is_ok(),
    }
}

/// `a ∩ b` of two sorted sets, appended to `out`.
fn intersect_into(a: &[AtomId], b: &[AtomId], out: &mut Vec<AtomId>) {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.len() * 8 < large.len() {
        out.extend(
            small
                .iter()
                .filter(|atom| large.binary_search(atom).is_ok()),
        );
        return;
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// The earlier of two optional bounds, `None` meaning no bound.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => a.or(b),
    }
}

/// The earliest bound after `t` of the edges flowing into `ix` that can
/// still be active at or after `t`.
fn local_bound(graph: &AclGraph, ix: Ix, t: i64) -> Option<i64> {
    graph
        .slot(ix)?
        .inflow
        .iter()
        .filter_map(|&e| graph.flow(e))
        .filter(|flow| graph.carries(flow) && !flow.validity.is_over_at(t))
        .filter_map(|flow| flow.validity.next_bound_after(t))
        .min()
}

fn grant_of(
    graph: &AclGraph,
    depths: &[(AtomId, u32)],
    valid_until: Option<i64>,
) -> EffectiveGrant {
    let mut grant = EffectiveGrant {
        valid_until,
        ..EffectiveGrant::default()
    };
    let EffectiveGrant {
        scopes, resources, ..
    } = &mut grant;
    graph.atoms().spell(
        depths.iter().map(|&(atom, _)| atom),
        |scope| {
            scopes.insert(scope.to_owned());
        },
        resources,
    );
    grant
}

/// The identity ids of the principals holding `permission` in
/// `resolution` (which must follow `graph`), sorted.
pub(crate) fn holders_in<'g>(
    graph: &'g AclGraph,
    resolution: &Resolution,
    permission: &Permission,
) -> Vec<&'g str> {
    let Some(atom) = graph.atoms().id(permission) else {
        return Vec::new();
    };
    let mut ids: Vec<&str> = resolution
        .holder_index()
        .of(atom)
        .filter(|&ix| graph.slot(ix).is_some())
        .map(|ix| graph.identity_of(ix))
        .collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{AclEdge, Delegation, IdentityType, Membership, Principal, Validity};

    fn chain(len: usize) -> AclGraph {
        let mut graph = AclGraph::new();
        for i in 0..=len {
            let p = Principal::new(format!("p{i}"), IdentityType::Account);
            graph.insert_principal(if i == 0 { p.scopes(["s"]) } else { p });
        }
        for i in 0..len {
            let d = Delegation::new(format!("p{i}"), format!("p{}", i + 1)).scopes(["s"]);
            graph.insert_edge(AclEdge::Delegates(d)).unwrap();
        }
        graph
    }

    #[test]
    fn depth_counts_edges_from_the_holder() {
        let graph = chain(3);
        for (max_depth, held) in [(0, false), (2, false), (3, true), (32, true)] {
            let resolver = graph.resolver().max_depth(max_depth);
            assert_eq!(
                resolver.effective_at("p3", 0).unwrap().has_scope("s"),
                held,
                "max depth {max_depth}"
            );
            let all = resolver.resolve_all(0);
            assert_eq!(all.effective(&graph, "p3").unwrap().has_scope("s"), held);
        }
    }

    #[test]
    fn settling_merges_in_atom_order() {
        let mut depths: Depths = vec![(2, 0), (5, 0), (9, 1)];
        settle_into(&mut depths, &[1, 3, 10], 2);
        assert_eq!(depths, [(1, 2), (2, 0), (3, 2), (5, 0), (9, 1), (10, 2)]);
        let mut empty = Depths::new();
        settle_into(&mut empty, &[4, 7], 0);
        assert_eq!(empty, [(4, 0), (7, 0)]);
    }

    #[test]
    fn depth_lists_keep_each_list_across_chunks_and_rewrites() {
        let list = |n: usize, from: u32| -> Depths {
            (0..n as u32).map(|i| (from + 2 * i, i % 3)).collect()
        };
        let sizes = [4_000, 200, 5_000, 0, DEPTH_CHUNK_MOST + 7, 1, 9_000];
        let mut lists = DepthLists::default();
        lists.resize(sizes.len() + 1);
        lists.bulk = true;
        let mut expected: Vec<Depths> = Vec::new();
        for (ix, &n) in sizes.iter().enumerate() {
            let depths = list(n, ix as u32);
            lists.set(ix as Ix, &depths);
            expected.push(depths);
        }
        lists.bulk = false;
        expected.push(Vec::new());
        for (ix, depths) in expected.iter().enumerate() {
            assert_eq!(lists.depths(ix as Ix), depths.as_slice(), "list {ix}");
        }
        // Rewritten, cleared and settled into after the bulk: the others
        // stay where they are.
        lists.set(1, &list(3, 100));
        expected[1] = list(3, 100);
        lists.clear(2);
        expected[2].clear();
        lists.settle(6, &[1, 3], 7);
        settle_into(&mut expected[6], &[1, 3], 7);
        lists.settle(7, &[5], 1);
        expected[7] = vec![(5, 1)];
        lists.set(99, &list(2, 0));
        for (ix, depths) in expected.iter().enumerate() {
            assert_eq!(lists.depths(ix as Ix), depths.as_slice(), "list {ix} after");
        }
        assert_eq!(lists.depths(99), &[]);
        assert_eq!(lists.iter().count(), sizes.len() + 1);
    }

    #[test]
    fn intersection_handles_skewed_sizes() {
        let large: Vec<AtomId> = (0..100).collect();
        let mut out = Vec::new();
        intersect_into(&[3, 50, 200], &large, &mut out);
        assert_eq!(out, [3, 50]);
        out.clear();
        intersect_into(&[1, 2, 3, 4], &[2, 4, 6, 8], &mut out);
        assert_eq!(out, [2, 4]);
    }

    #[test]
    fn membership_flows_only_into_members_of_groups() {
        let mut graph = AclGraph::new();
        graph.insert_principal(Principal::new("eng", IdentityType::Org).scopes(["s"]));
        graph.insert_principal(Principal::new("bob", IdentityType::Account).scopes(["t"]));
        graph.insert_principal(Principal::new("ada", IdentityType::Account));
        graph
            .insert_edge(AclEdge::BelongsTo(Membership::new("ada", "eng")))
            .unwrap();
        graph
            .insert_edge(AclEdge::BelongsTo(Membership::new("ada", "bob")))
            .unwrap();
        let ada = graph.resolver().effective_at("ada", 0).unwrap();
        assert_eq!(ada.scopes.iter().collect::<Vec<_>>(), ["s"]);
    }

    /// A dense graph: every principal may hold scopes, and receives up to
    /// 14 edges (more than a pairwise merge takes) from anyone, itself
    /// included, each a narrowing delegation or a membership, some of them
    /// bounded in time.
    fn dense_graph() -> impl proptest::strategy::Strategy<Value = AclGraph> {
        use proptest::prelude::*;
        let principal = (prop::collection::btree_set(0..6u8, 0..3), 0..3u8);
        let edge = (
            0..12usize,
            prop::collection::btree_set(0..6u8, 0..4),
            prop::bool::ANY,
            prop::option::of(0..20i64),
        );
        (
            prop::collection::vec(principal, 12),
            prop::collection::vec(prop::collection::vec(edge, 0..15), 12),
        )
            .prop_map(|(principals, inflows)| {
                let mut graph = AclGraph::new();
                let kinds = [IdentityType::Account, IdentityType::Role, IdentityType::Org];
                for (i, (held, kind)) in principals.iter().enumerate() {
                    let scopes = held.iter().map(|s| format!("s{s}"));
                    let p = Principal::new(format!("p{i}"), kinds[*kind as usize]).scopes(scopes);
                    graph.insert_principal(p);
                }
                for (to, edges) in inflows.iter().enumerate() {
                    for (from, narrowed, membership, expiry) in edges {
                        let validity = expiry
                            .map_or(Validity::always(), |at| Validity::always().expires_at(at));
                        let (from, to) = (format!("p{from}"), format!("p{to}"));
                        let edge = if *membership {
                            AclEdge::BelongsTo(Membership::new(to, from).validity(validity))
                        } else {
                            let scopes = narrowed.iter().map(|s| format!("s{s}"));
                            AclEdge::Delegates(
                                Delegation::new(from, to).scopes(scopes).validity(validity),
                            )
                        };
                        graph.insert_edge(edge).unwrap();
                    }
                }
                graph
            })
    }

    proptest::proptest! {
        /// The whole-graph resolution (components in order, a merge for a
        /// principal on no cycle) and the single-principal search
        /// (breadth-first by depth over its upstream) agree on every grant
        /// and every `valid_until`.
        #[test]
        fn merging_agrees_with_the_breadth_first_search(
            graph in dense_graph(),
            t in 0..25i64,
            max_depth in 0..5u32,
        ) {
            let resolver = graph.resolver().max_depth(max_depth);
            let all = resolver.resolve_all(t);
            for i in 0..12 {
                let id = format!("p{i}");
                proptest::prop_assert_eq!(
                    all.effective(&graph, &id),
                    resolver.effective_at(&id, t),
                    "{} at {} with max depth {}", id, t, max_depth
                );
            }
        }
    }

    #[test]
    fn advancing_recomputes_only_expired_grants() {
        let mut graph = chain(2);
        graph.insert_principal(Principal::new("q", IdentityType::Account).scopes(["x"]));
        graph.insert_principal(Principal::new("r", IdentityType::Account));
        let d = Delegation::new("q", "r")
            .scopes(["x"])
            .validity(Validity::always().expires_at(10));
        graph.insert_edge(AclEdge::Delegates(d)).unwrap();
        let mut resolution = graph.resolver().resolve_all(0);
        assert_eq!(
            resolution.effective(&graph, "r").unwrap().valid_until,
            Some(10)
        );
        assert!(resolution.covers(&graph, "r", 9));
        assert!(!resolution.covers(&graph, "r", 10));
        assert_eq!(resolution.advance(&graph, 5), 0);
        assert_eq!(resolution.advance(&graph, 10), 1);
        let r = resolution.effective(&graph, "r").unwrap();
        assert!(r.scopes.is_empty());
        assert_eq!(r.valid_until, None);
        assert!(resolution.effective(&graph, "p2").unwrap().has_scope("s"));
    }
}
