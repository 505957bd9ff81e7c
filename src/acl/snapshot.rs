//! [`AclGraph`]: the ACL graph held in memory as adjacency lists, the input
//! of every resolution.
//!
//! Principals live in slots addressed by a dense `u32` index; scopes and
//! resource actions are interned as `u32` *atoms*, so a grant is a sorted
//! `Vec<u32>` and narrowing is a merge of two sorted lists. Each principal
//! keeps two lists of *flow* edges, named for the direction its grant
//! travels: a delegation `A → P` flows from A into P, and a membership
//! `P → G` flows from G into P (the member inherits the group's grant).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::model::{
    AclEdge, Delegation, Membership, Permission, Principal, Resource, Resources, Validity,
};
use super::GRAPH;
use crate::error::{Entity, Error, Result};

/// The graph's maps by name. Names are caller-influenced, so their hash is
/// keyed by a random seed (as std's is), with foldhash, several times
/// faster than std's SipHash on short keys.
type NameMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Slots found by the name they hold (an edge's key, a principal's
/// identity id) without a second copy of the name: a table of slot
/// indexes, hashed and compared by the name in the slot, which the caller
/// reads for it (`name_of`). An index is inserted after its slot holds the
/// name, and removed before the slot lets go of it.
#[derive(Debug, Clone, Default)]
struct NameIndex {
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl NameIndex {
    fn get<'a>(&self, name: &str, name_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table.find(hash, |&ix| name_of(ix) == name).copied()
    }

    /// Adds `ix`, whose slot holds `name`, which no other slot does.
    fn insert<'a>(&mut self, name: &str, ix: u32, name_of: impl Fn(u32) -> &'a str) {
        let hash = self.hasher.hash_one(name);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, ix, |&other| hasher.hash_one(name_of(other)));
    }

    fn remove<'a>(&mut self, name: &str, name_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        let entry = self
            .table
            .find_entry(hash, |&ix| name_of(ix) == name)
            .ok()?;
        Some(entry.remove().0)
    }

    fn len(&self) -> usize {
        self.table.len()
    }
}

/// The key of edge slot `e` (empty for a free slot).
fn key_of(edges: &[Option<EdgeSlot>], e: EdgeIx) -> &str {
    edges
        .get(e as usize)
        .and_then(Option::as_ref)
        .map_or("", |slot| slot.key.as_str())
}

/// The identity id of principal slot `ix` (empty for a free slot).
fn id_of(principals: &[Option<PrincipalSlot>], ix: Ix) -> &str {
    principals
        .get(ix as usize)
        .and_then(Option::as_ref)
        .map_or("", |slot| slot.principal.identity_id.as_str())
}

/// An interned scope or resource action.
pub(crate) type AtomId = u32;

/// A dense principal index.
pub(crate) type Ix = u32;

/// A dense edge index.
pub(crate) type EdgeIx = u32;

/// A scope or a resource action, the unit that flows along edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Atom<'a> {
    Scope(&'a str),
    Resource(&'a str, &'a str),
}

/// Where an atom's text is in [`Atoms::text`].
#[derive(Debug, Clone, Copy)]
enum Spelling {
    Scope {
        start: usize,
        end: usize,
    },
    Resource {
        start: usize,
        split: usize,
        end: usize,
    },
}

/// The interner: every atom ever seen gets a stable id. Lookups borrow the
/// strings, so interning an atom seen before allocates nothing. The atoms'
/// text is kept one after another in one buffer, so that spelling out a
/// grant of many atoms reads contiguous memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Atoms {
    scopes: NameMap<Box<str>, AtomId>,
    /// Resource name → action → id.
    resources: NameMap<Box<str>, NameMap<Box<str>, AtomId>>,
    text: String,
    spellings: Vec<Spelling>,
}

impl Atoms {
    fn scope(&mut self, scope: &str) -> AtomId {
        if let Some(&id) = self.scopes.get(scope) {
            return id;
        }
        let id = self.spellings.len() as AtomId;
        let start = self.text.len();
        self.text.push_str(scope);
        self.spellings.push(Spelling::Scope {
            start,
            end: self.text.len(),
        });
        self.scopes.insert(scope.into(), id);
        id
    }

    fn resource(&mut self, resource: &str, action: &str) -> AtomId {
        if let Some(&id) = self.resources.get(resource).and_then(|a| a.get(action)) {
            return id;
        }
        let id = self.spellings.len() as AtomId;
        let start = self.text.len();
        self.text.push_str(resource);
        let split = self.text.len();
        self.text.push_str(action);
        self.spellings.push(Spelling::Resource {
            start,
            split,
            end: self.text.len(),
        });
        self.resources
            .entry(resource.into())
            .or_default()
            .insert(action.into(), id);
        id
    }

    /// The id of a permission's atom, if it was ever seen.
    pub(crate) fn id(&self, permission: &Permission) -> Option<AtomId> {
        match permission {
            Permission::Scope(scope) => self.scopes.get(scope.as_str()).copied(),
            Permission::Resource { resource, action } => self
                .resources
                .get(resource.as_str())
                .and_then(|actions| actions.get(action.as_str()))
                .copied(),
        }
    }

    pub(crate) fn atom(&self, id: AtomId) -> Atom<'_> {
        match self.spellings[id as usize] {
            Spelling::Scope { start, end } => Atom::Scope(&self.text[start..end]),
            Spelling::Resource { start, split, end } => {
                Atom::Resource(&self.text[start..split], &self.text[split..end])
            }
        }
    }

    /// Spells `atoms` out: each scope handed to `scope`, each resource
    /// action added to `resources`.
    pub(crate) fn spell(
        &self,
        atoms: impl IntoIterator<Item = AtomId>,
        mut scope: impl FnMut(&str),
        resources: &mut impl AddAction,
    ) {
        for atom in atoms {
            match self.atom(atom) {
                Atom::Scope(name) => scope(name),
                Atom::Resource(resource, action) => resources.add_action(resource, action),
            }
        }
    }

    /// Scopes and resource actions as a sorted set of atoms.
    fn set_of(
        &mut self,
        scopes: impl IntoIterator<Item = impl AsRef<str>>,
        resources: &Resources,
    ) -> Vec<AtomId> {
        let mut set: Vec<AtomId> = scopes.into_iter().map(|s| self.scope(s.as_ref())).collect();
        for (resource, actions) in resources {
            for action in actions {
                set.push(self.resource(resource, action));
            }
        }
        set.sort_unstable();
        set.dedup();
        set
    }
}

/// Resource actions by resource, which spelled atoms are added to.
pub(crate) trait AddAction {
    /// Adds `action` on `resource`, once.
    fn add_action(&mut self, resource: &str, action: &str);
}

impl AddAction for Resources {
    fn add_action(&mut self, resource: &str, action: &str) {
        let actions = match self.get_mut(resource) {
            Some(actions) => actions,
            None => self.entry(resource.to_owned()).or_default(),
        };
        if !actions.contains(action) {
            actions.insert(action.to_owned());
        }
    }
}

/// The map an [`Identity`](super::Identity) holds, each list kept sorted
/// and without duplicates.
impl AddAction for HashMap<String, Vec<String>> {
    fn add_action(&mut self, resource: &str, action: &str) {
        let actions = match self.get_mut(resource) {
            Some(actions) => actions,
            None => self.entry(resource.to_owned()).or_default(),
        };
        if let Err(at) = actions.binary_search_by(|held| held.as_str().cmp(action)) {
            actions.insert(at, action.to_owned());
        }
    }
}

/// What a flow edge lets through.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    /// A membership: the group's whole grant.
    Everything,
    /// A delegation: only these atoms (sorted).
    Only(Vec<AtomId>),
}

/// A delegation or membership, in the direction its grant flows.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    /// Where the grant comes from (delegator, or group).
    pub(crate) from: Ix,
    /// Where it goes (delegate, or member).
    pub(crate) to: Ix,
    pub(crate) filter: Filter,
    pub(crate) validity: Validity,
}

#[derive(Debug, Clone)]
pub(crate) enum Link {
    Flow(Flow),
    /// A `can_*` edge: `principal` holds `atom` directly.
    Grant {
        principal: Ix,
        atom: AtomId,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct EdgeSlot {
    pub(crate) key: String,
    /// The edge as a value. Set when it was written whole; for an edge a
    /// bulk load added from its stored row ([`AclGraph::load_plain_flow`]),
    /// built from its link on first ask, since the link holds every part of
    /// it (the ends' names, the filter's atoms, the validity).
    value: OnceLock<Box<AclEdge>>,
}

impl EdgeSlot {
    fn whole(key: String, edge: AclEdge) -> EdgeSlot {
        EdgeSlot {
            key,
            value: OnceLock::from(Box::new(edge)),
        }
    }
}

/// Whether every resource in `resources` is named with at least one action,
/// so that the atoms of the set say all of it.
pub(crate) fn names_an_action_each(resources: &Resources) -> bool {
    !resources.values().any(BTreeSet::is_empty)
}

/// A delegation or membership as a bulk load reads it, with nothing of it
/// that its [`Flow`] would not hold: no budgets, and no resource named
/// without an action (which the filter's atoms cannot say). Anything else
/// is loaded whole, with [`AclGraph::load_flow`].
pub(crate) enum PlainFlow<'a, S> {
    Delegates {
        scopes: &'a [S],
        resources: &'a Resources,
        validity: Validity,
    },
    BelongsTo {
        validity: Validity,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct PrincipalSlot {
    pub(crate) principal: Principal,
    /// Atoms of the node's own `scopes` and `resources`.
    attributes: Vec<AtomId>,
    /// `can_*` edges held by this principal.
    grants: Vec<EdgeIx>,
    /// `attributes` ∪ the atoms of `grants`: what it holds itself.
    pub(crate) own: Vec<AtomId>,
    /// Flow edges bringing a grant in.
    pub(crate) inflow: Vec<EdgeIx>,
    /// Flow edges taking its grant out.
    pub(crate) outflow: Vec<EdgeIx>,
}

#[derive(Debug, Clone)]
struct ResourceSlot {
    resource: Resource,
    grants: Vec<EdgeIx>,
}

/// Which principals a change touched; pass it to
/// [`Resolution::update`](super::Resolution::update) to recompute only them
/// and the principals downstream of them.
///
/// An empty value (the default) touched nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Affected {
    graph: u64,
    seeds: Vec<Ix>,
}

impl Affected {
    fn of(graph: &AclGraph, seeds: Vec<Ix>) -> Self {
        Affected {
            graph: graph.id,
            seeds,
        }
    }

    /// True when the change touched no principal.
    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty()
    }

    /// Adds the principals `other` touched (both must come from the same graph).
    pub fn merge(&mut self, other: Affected) {
        if self.seeds.is_empty() {
            self.graph = other.graph;
        } else if other.graph != self.graph && !other.seeds.is_empty() {
            // Seeds from two graphs cannot be combined; a zero id makes the
            // resolution start over, which is always correct.
            self.graph = 0;
        }
        self.seeds.extend(other.seeds);
    }

    pub(crate) fn graph(&self) -> u64 {
        self.graph
    }

    pub(crate) fn seeds(&self) -> &[Ix] {
        &self.seeds
    }
}

static NEXT_GRAPH_ID: AtomicU64 = AtomicU64::new(1);

fn next_graph_id() -> u64 {
    NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed)
}

/// The ACL graph in memory: principals, resources and edges as adjacency
/// lists, the input of every resolution. Resolution never touches SQLite.
///
/// [`Acl`](super::Acl) keeps one loaded from the store and applies its own
/// writes to it; build one by hand to resolve "what if" graphs, in tests or
/// benchmarks. Its methods do not validate tokens; the store does that on
/// write.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::{AclEdge, AclGraph, Delegation, IdentityType, Principal};
///
/// let mut graph = AclGraph::new();
/// graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["a", "b"]));
/// graph.insert_principal(Principal::new("bot", IdentityType::Service));
/// graph.insert_edge(AclEdge::Delegates(Delegation::new("alice", "bot").scopes(["b", "c"])))?;
///
/// let bot = graph.resolver().effective_at("bot", 0).expect("bot exists");
/// assert_eq!(bot.scopes.into_iter().collect::<Vec<_>>(), ["b"]);
/// # Ok::<(), alknet_graphs::Error>(())
/// ```
#[derive(Debug)]
pub struct AclGraph {
    id: u64,
    principals: Vec<Option<PrincipalSlot>>,
    free_principals: Vec<Ix>,
    /// Per principal slot: whether it is a group (an org or a role), which
    /// every membership a resolution walks asks of its group; kept apart
    /// from the slots so that asking stays within a few cache lines.
    groups: Vec<bool>,
    by_identity: NameIndex,
    resources: BTreeMap<String, ResourceSlot>,
    edges: Vec<Option<EdgeSlot>>,
    /// What resolution reads of each edge, apart from the bulkier
    /// `edges` so that walking the graph stays within fewer cache lines.
    links: Vec<Option<Link>>,
    free_edges: Vec<EdgeIx>,
    by_key: NameIndex,
    atoms: Atoms,
}

impl Default for AclGraph {
    fn default() -> Self {
        AclGraph::new()
    }
}

impl Clone for AclGraph {
    /// A copy that resolutions treat as a different graph (a
    /// [`Resolution`](super::Resolution) follows the graph it was made from).
    fn clone(&self) -> Self {
        AclGraph {
            id: next_graph_id(),
            principals: self.principals.clone(),
            free_principals: self.free_principals.clone(),
            groups: self.groups.clone(),
            by_identity: self.by_identity.clone(),
            resources: self.resources.clone(),
            edges: self.edges.clone(),
            links: self.links.clone(),
            free_edges: self.free_edges.clone(),
            by_key: self.by_key.clone(),
            atoms: self.atoms.clone(),
        }
    }
}

impl AclGraph {
    /// An empty graph.
    pub fn new() -> Self {
        AclGraph {
            id: next_graph_id(),
            principals: Vec::new(),
            free_principals: Vec::new(),
            groups: Vec::new(),
            by_identity: NameIndex::default(),
            resources: BTreeMap::new(),
            edges: Vec::new(),
            links: Vec::new(),
            free_edges: Vec::new(),
            by_key: NameIndex::default(),
            atoms: Atoms::default(),
        }
    }

    // -- reads ---------------------------------------------------------------

    /// The principal with this identity id.
    pub fn principal(&self, identity_id: &str) -> Option<&Principal> {
        self.index_of(identity_id)
            .and_then(|ix| self.slot(ix))
            .map(|slot| &slot.principal)
    }

    /// Every principal, in no particular order.
    pub fn principals(&self) -> impl Iterator<Item = &Principal> {
        self.principals.iter().flatten().map(|slot| &slot.principal)
    }

    /// How many principals there are.
    pub fn principal_count(&self) -> usize {
        self.by_identity.len()
    }

    /// The resource with this name (`type` or `type/id`).
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.get(name).map(|slot| &slot.resource)
    }

    /// Every resource, by name.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values().map(|slot| &slot.resource)
    }

    /// The edge with this key.
    pub fn edge(&self, key: &str) -> Option<&AclEdge> {
        self.edge_index(key).and_then(|e| self.edge_value(e))
    }

    /// Every edge with its key, in no particular order.
    pub fn edges(&self) -> impl Iterator<Item = (&str, &AclEdge)> {
        (0..self.edges.len() as EdgeIx).filter_map(|e| {
            let key = self.edge_slot(e)?.key.as_str();
            Some((key, self.edge_value(e)?))
        })
    }

    /// How many edges there are.
    pub fn edge_count(&self) -> usize {
        self.by_key.len()
    }

    /// The key of the edge of `edge`'s kind joining the same source and
    /// target, whatever its key.
    pub fn find_edge(&self, edge: &AclEdge) -> Option<&str> {
        let (source, _) = edge.ends();
        let slot = self.slot(self.index_of(source)?)?;
        slot.inflow
            .iter()
            .chain(&slot.outflow)
            .chain(&slot.grants)
            .copied()
            .find(|&e| {
                self.edge_value(e).is_some_and(|candidate| {
                    candidate.kind() == edge.kind() && candidate.ends() == edge.ends()
                })
            })
            .and_then(|e| self.edge_slot(e))
            .map(|candidate| candidate.key.as_str())
    }

    /// The identity ids of `group`'s members (sources of `belongs_to` edges
    /// into it), whatever their validity.
    pub fn members(&self, group: &str) -> Vec<&str> {
        let Some(slot) = self.index_of(group).and_then(|ix| self.slot(ix)) else {
            return Vec::new();
        };
        slot.outflow
            .iter()
            .filter_map(|&e| match self.links.get(e as usize) {
                Some(Some(Link::Flow(Flow {
                    to,
                    filter: Filter::Everything,
                    ..
                }))) => Some(self.identity_of(*to)),
                _ => None,
            })
            .collect()
    }

    // -- writes --------------------------------------------------------------

    /// Adds a principal, or replaces the one with the same identity id
    /// (keeping its edges).
    pub fn insert_principal(&mut self, principal: Principal) -> Affected {
        let ix = self.put_principal(principal);
        Affected::of(self, vec![ix])
    }

    /// Adds or replaces a principal (keeping its edges); returns its slot.
    pub(crate) fn put_principal(&mut self, principal: Principal) -> Ix {
        let attributes = self.atoms.set_of(&principal.scopes, &principal.resources);
        let group = principal.identity_type.is_group();
        let ix = match self.index_of(&principal.identity_id) {
            Some(ix) => {
                if let Some(slot) = self.slot_mut(ix) {
                    slot.principal = principal;
                    slot.attributes = attributes;
                }
                ix
            }
            None => {
                let slot = PrincipalSlot {
                    attributes,
                    grants: Vec::new(),
                    own: Vec::new(),
                    inflow: Vec::new(),
                    outflow: Vec::new(),
                    principal,
                };
                let ix = place(&mut self.principals, &mut self.free_principals, slot);
                let principals = &self.principals;
                self.by_identity
                    .insert(id_of(principals, ix), ix, |ix| id_of(principals, ix));
                ix
            }
        };
        if self.groups.len() <= ix as usize {
            self.groups.resize(ix as usize + 1, false);
        }
        self.groups[ix as usize] = group;
        self.refresh_own(ix);
        ix
    }

    /// Removes a principal and every edge that touches it.
    pub fn remove_principal(&mut self, identity_id: &str) -> Affected {
        let Some(ix) = self.index_of(identity_id) else {
            return Affected::default();
        };
        let incident: Vec<EdgeIx> = self
            .slot(ix)
            .map(|slot| {
                let mut all = slot.inflow.clone();
                all.extend(&slot.outflow);
                all.extend(&slot.grants);
                all
            })
            .unwrap_or_default();
        let mut affected = Affected::of(self, vec![ix]);
        for e in incident {
            if let Some(key) = self.edge_slot(e).map(|slot| slot.key.clone()) {
                affected.merge(self.remove_edge(&key));
            }
        }
        let principals = &self.principals;
        self.by_identity
            .remove(identity_id, |ix| id_of(principals, ix));
        self.principals[ix as usize] = None;
        self.groups[ix as usize] = false;
        self.free_principals.push(ix);
        affected
    }

    /// Adds a resource (replacing an equal one is a no-op).
    pub fn insert_resource(&mut self, resource: Resource) -> Affected {
        self.resources
            .entry(resource.name())
            .or_insert_with(|| ResourceSlot {
                resource,
                grants: Vec::new(),
            });
        Affected::default()
    }

    /// Removes a resource and the `can_*` edges to it.
    pub fn remove_resource(&mut self, name: &str) -> Affected {
        let Some(slot) = self.resources.get(name) else {
            return Affected::default();
        };
        let keys: Vec<String> = slot
            .grants
            .iter()
            .filter_map(|&e| self.edge_slot(e))
            .map(|edge| edge.key.clone())
            .collect();
        let mut affected = Affected::default();
        for key in keys {
            affected.merge(self.remove_edge(&key));
        }
        self.resources.remove(name);
        affected
    }

    /// Adds an edge under its [`AclEdge::key`], replacing an edge with that key.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the edge if an endpoint does not exist.
    pub fn insert_edge(&mut self, edge: AclEdge) -> Result<Affected> {
        let key = edge.key();
        self.insert_edge_keyed(key, edge)
    }

    /// Adds an edge under `key`, replacing an edge with that key.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the edge if an endpoint does not exist.
    pub fn insert_edge_keyed(&mut self, key: impl Into<String>, edge: AclEdge) -> Result<Affected> {
        let key = key.into();
        let link = self.link(&key, &edge)?;
        let mut affected = self.remove_edge(&key);
        let touched = match &link {
            Link::Flow(flow) => flow.to,
            Link::Grant { principal, .. } => *principal,
        };
        self.place_edge(EdgeSlot::whole(key, edge), link);
        affected.merge(Affected::of(self, vec![touched]));
        Ok(affected)
    }

    /// Adds a delegation or membership read from the store, whose ends the
    /// caller has already found: `ends` are the slots of its source and
    /// target node (the delegator and delegate, or the member and group).
    /// For a bulk load: returns `false`, adding nothing, for a key the graph
    /// already holds (which the store's unique index rules out, so the file
    /// was edited by hand: the caller falls back to a read that reports
    /// it) and for a `can_*` edge, which goes through
    /// [`insert_edge_keyed`](Self::insert_edge_keyed).
    #[must_use]
    pub(crate) fn load_flow(&mut self, key: String, edge: AclEdge, ends: (Ix, Ix)) -> bool {
        if self.edge_index(&key).is_some() {
            return false;
        }
        let Some(link) = self.flow_link(&edge, ends) else {
            return false;
        };
        self.place_edge(EdgeSlot::whole(key, edge), link);
        true
    }

    /// [`load_flow`](Self::load_flow) for a delegation or membership whose
    /// every part its link holds: the edge as a value is built only when
    /// asked for, so that loading allocates nothing for its names or its
    /// narrowed set beyond the atoms resolution reads.
    #[must_use]
    pub(crate) fn load_plain_flow<S: AsRef<str>>(
        &mut self,
        key: String,
        flow: PlainFlow<'_, S>,
        ends: (Ix, Ix),
    ) -> bool {
        if self.edge_index(&key).is_some() {
            return false;
        }
        let (source, target) = ends;
        let flow = match flow {
            PlainFlow::Delegates {
                scopes,
                resources,
                validity,
            } => {
                if !names_an_action_each(resources) {
                    return false;
                }
                Flow {
                    from: source,
                    to: target,
                    filter: Filter::Only(self.atoms.set_of(scopes, resources)),
                    validity,
                }
            }
            PlainFlow::BelongsTo { validity } => Flow {
                from: target,
                to: source,
                filter: Filter::Everything,
                validity,
            },
        };
        let slot = EdgeSlot {
            key,
            value: OnceLock::new(),
        };
        self.place_edge(slot, Link::Flow(flow));
        true
    }

    /// The edge `e` as a value, built from its link the first time for an
    /// edge loaded by [`load_plain_flow`](Self::load_plain_flow).
    pub(crate) fn edge_value(&self, e: EdgeIx) -> Option<&AclEdge> {
        let slot = self.edge_slot(e)?;
        if let Some(value) = slot.value.get() {
            return Some(value);
        }
        // Only a flow is ever loaded without its value.
        let Some(Some(Link::Flow(flow))) = self.links.get(e as usize) else {
            return None;
        };
        Some(slot.value.get_or_init(|| Box::new(self.edge_of_flow(flow))))
    }

    /// The delegation or membership `flow` stands for.
    fn edge_of_flow(&self, flow: &Flow) -> AclEdge {
        let (from, to) = (
            self.identity_of(flow.from).to_owned(),
            self.identity_of(flow.to).to_owned(),
        );
        let Filter::Only(atoms) = &flow.filter else {
            return AclEdge::BelongsTo(Membership {
                member: to,
                group: from,
                validity: flow.validity,
            });
        };
        let mut delegation = Delegation::new(from, to);
        delegation.validity = flow.validity;
        let Delegation {
            narrowed_scopes,
            narrowed_resources,
            ..
        } = &mut delegation;
        self.atoms.spell(
            atoms.iter().copied(),
            |scope| {
                narrowed_scopes.insert(scope.to_owned());
            },
            narrowed_resources,
        );
        AclEdge::Delegates(delegation)
    }

    /// Stores an edge and its link, and adds it to its endpoints' lists.
    fn place_edge(&mut self, slot: EdgeSlot, link: Link) {
        let e = place(&mut self.edges, &mut self.free_edges, slot);
        if self.links.len() <= e as usize {
            self.links.resize(e as usize + 1, None);
        }
        self.links[e as usize] = Some(link);
        let edges = &self.edges;
        self.by_key
            .insert(key_of(edges, e), e, |e| key_of(edges, e));
        self.attach(e);
    }

    /// Removes the edge with this key, if there is one.
    pub fn remove_edge(&mut self, key: &str) -> Affected {
        let edges = &self.edges;
        let Some(e) = self.by_key.remove(key, |e| key_of(edges, e)) else {
            return Affected::default();
        };
        let (Some(slot), Some(link)) =
            (self.edges[e as usize].take(), self.links[e as usize].take())
        else {
            return Affected::default();
        };
        self.free_edges.push(e);
        let touched = match link {
            Link::Flow(flow) => {
                self.detach(flow.from, |s| &mut s.outflow, e);
                self.detach(flow.to, |s| &mut s.inflow, e);
                flow.to
            }
            Link::Grant { principal, .. } => {
                self.detach(principal, |s| &mut s.grants, e);
                if let Some(AclEdge::Can(grant)) = slot.value.get().map(|v| &**v) {
                    if let Some(resource) = self.resources.get_mut(&grant.resource) {
                        resource.grants.retain(|&g| g != e);
                    }
                }
                self.refresh_own(principal);
                principal
            }
        };
        Affected::of(self, vec![touched])
    }

    // -- internals for resolution --------------------------------------------

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn index_of(&self, identity_id: &str) -> Option<Ix> {
        self.by_identity
            .get(identity_id, |ix| id_of(&self.principals, ix))
    }

    pub(crate) fn slot(&self, ix: Ix) -> Option<&PrincipalSlot> {
        self.principals.get(ix as usize).and_then(Option::as_ref)
    }

    /// One past the highest principal index in use.
    pub(crate) fn slot_count(&self) -> usize {
        self.principals.len()
    }

    fn edge_index(&self, key: &str) -> Option<EdgeIx> {
        self.by_key.get(key, |e| key_of(&self.edges, e))
    }

    pub(crate) fn edge_slot(&self, e: EdgeIx) -> Option<&EdgeSlot> {
        self.edges.get(e as usize).and_then(Option::as_ref)
    }

    /// The flow edge `e`, if `e` is one.
    pub(crate) fn flow(&self, e: EdgeIx) -> Option<&Flow> {
        match self.links.get(e as usize)?.as_ref()? {
            Link::Flow(flow) => Some(flow),
            Link::Grant { .. } => None,
        }
    }

    /// Whether a flow edge carries a grant at all: a membership does only
    /// into an org or a role (a rule the ACL API enforces on write; a
    /// membership written around it is ignored, which fails closed).
    pub(crate) fn carries(&self, flow: &Flow) -> bool {
        match flow.filter {
            Filter::Only(_) => true,
            Filter::Everything => self.groups.get(flow.from as usize).copied() == Some(true),
        }
    }

    /// Whether a flow edge carries a grant at `t`.
    pub(crate) fn carries_at(&self, flow: &Flow, t: i64) -> bool {
        flow.validity.is_active_at(t) && self.carries(flow)
    }

    pub(crate) fn atoms(&self) -> &Atoms {
        &self.atoms
    }

    pub(crate) fn identity_of(&self, ix: Ix) -> &str {
        self.slot(ix)
            .map_or("", |slot| slot.principal.identity_id.as_str())
    }

    fn slot_mut(&mut self, ix: Ix) -> Option<&mut PrincipalSlot> {
        self.principals
            .get_mut(ix as usize)
            .and_then(Option::as_mut)
    }

    fn require(&self, key: &str, end: &str, identity_id: &str) -> Result<Ix> {
        self.index_of(identity_id).ok_or_else(|| {
            Error::invalid(
                edge_entity(key),
                format!("{end} principal {identity_id:?} does not exist"),
            )
        })
    }

    /// Resolves an edge's endpoints into a link, interning its atoms.
    fn link(&mut self, key: &str, edge: &AclEdge) -> Result<Link> {
        let AclEdge::Can(grant) = edge else {
            let (source, target) = edge.ends();
            let ends = (
                self.require(key, "source", source)?,
                self.require(key, "target", target)?,
            );
            return self
                .flow_link(edge, ends)
                .ok_or_else(|| Error::invalid(edge_entity(key), "not a delegation or membership"));
        };
        let principal = self.require(key, "source", &grant.principal)?;
        if !self.resources.contains_key(&grant.resource) {
            return Err(Error::invalid(
                edge_entity(key),
                format!("target resource {:?} does not exist", grant.resource),
            ));
        }
        let atom = self.atoms.resource(&grant.resource, grant.action.as_str());
        Ok(Link::Grant { principal, atom })
    }

    /// The flow of a delegation or membership whose source and target
    /// node are the slots `ends`; `None` for a `can_*` edge.
    fn flow_link(&mut self, edge: &AclEdge, ends: (Ix, Ix)) -> Option<Link> {
        let (source, target) = ends;
        Some(Link::Flow(match edge {
            AclEdge::Delegates(d) => Flow {
                from: source,
                to: target,
                filter: Filter::Only(self.atoms.set_of(&d.narrowed_scopes, &d.narrowed_resources)),
                validity: d.validity,
            },
            AclEdge::BelongsTo(m) => Flow {
                from: target,
                to: source,
                filter: Filter::Everything,
                validity: m.validity,
            },
            AclEdge::Can(_) => return None,
        }))
    }

    /// Adds edge `e` to its endpoints' lists.
    fn attach(&mut self, e: EdgeIx) {
        match self.links.get(e as usize) {
            Some(Some(Link::Flow(flow))) => {
                let (from, to) = (flow.from, flow.to);
                if let Some(from) = self.slot_mut(from) {
                    from.outflow.push(e);
                }
                if let Some(to) = self.slot_mut(to) {
                    to.inflow.push(e);
                }
            }
            Some(Some(Link::Grant { principal, .. })) => {
                let principal = *principal;
                if let Some(AclEdge::Can(grant)) = self.edge_value(e) {
                    let resource = grant.resource.clone();
                    if let Some(r) = self.resources.get_mut(&resource) {
                        r.grants.push(e);
                    }
                }
                if let Some(holder) = self.slot_mut(principal) {
                    holder.grants.push(e);
                }
                self.refresh_own(principal);
            }
            _ => {}
        }
    }

    fn detach(
        &mut self,
        ix: Ix,
        list: impl FnOnce(&mut PrincipalSlot) -> &mut Vec<EdgeIx>,
        e: EdgeIx,
    ) {
        if let Some(slot) = self.slot_mut(ix) {
            list(slot).retain(|&x| x != e);
        }
    }

    /// Recomputes what a principal holds itself.
    fn refresh_own(&mut self, ix: Ix) {
        let Some(slot) = self.slot(ix) else {
            return;
        };
        let mut own = slot.attributes.clone();
        own.extend(
            slot.grants
                .iter()
                .filter_map(|&e| match self.links.get(e as usize) {
                    Some(Some(Link::Grant { atom, .. })) => Some(*atom),
                    _ => None,
                }),
        );
        own.sort_unstable();
        own.dedup();
        if let Some(slot) = self.slot_mut(ix) {
            slot.own = own;
        }
    }
}

/// Puts `item` in a free slot or a new one and returns its index.
fn place<T>(slots: &mut Vec<Option<T>>, free: &mut Vec<u32>, item: T) -> u32 {
    match free.pop() {
        Some(ix) => {
            slots[ix as usize] = Some(item);
            ix
        }
        None => {
            slots.push(Some(item));
            (slots.len() - 1) as u32
        }
    }
}

pub(crate) fn edge_entity(key: &str) -> Entity {
    Entity::Edge {
        graph: GRAPH.to_owned(),
        key: key.to_owned(),
    }
}

pub(crate) fn node_entity(key: &str) -> Entity {
    Entity::Node {
        graph: GRAPH.to_owned(),
        key: key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{Action, ActionGrant, Delegation, IdentityType, Membership};

    fn principal(id: &str, scopes: &[&str]) -> Principal {
        Principal::new(id, IdentityType::Account).scopes(scopes.iter().copied())
    }

    #[test]
    fn a_bulk_load_takes_a_key_once() {
        let mut graph = AclGraph::new();
        let a = graph.put_principal(principal("a", &["s"]));
        let b = graph.put_principal(principal("b", &[]));
        let first = AclEdge::Delegates(Delegation::new("a", "b").scopes(["s"]));
        let again = AclEdge::Delegates(Delegation::new("a", "b"));
        assert!(graph.load_flow("k".into(), first, (a, b)));
        assert!(!graph.load_flow("k".into(), again, (a, b)));
        assert_eq!(graph.edge_count(), 1);
        let grant = graph.resolver().effective_at("b", 0).unwrap();
        assert!(grant.has_scope("s"), "the first edge stands, alone");
        let membership = AclEdge::BelongsTo(Membership::new("b", "a"));
        assert!(graph.load_flow("m".into(), membership, (b, a)));
        assert_eq!(graph.slot(a).unwrap().outflow.len(), 2);
    }

    #[test]
    fn edges_need_their_endpoints() {
        let mut graph = AclGraph::new();
        graph.insert_principal(principal("a", &[]));
        let err = graph
            .insert_edge(AclEdge::Delegates(Delegation::new("a", "b")))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"edge "delegates a b" in graph "acl": target principal "b" does not exist"#
        );
        let err = graph
            .insert_edge(AclEdge::Can(ActionGrant {
                principal: "a".into(),
                action: Action::Read,
                resource: "repo".into(),
            }))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"edge "can_read a repo" in graph "acl": target resource "repo" does not exist"#
        );
        assert_eq!(graph.edge_count(), 0);
    }

    #[test]
    fn removing_a_principal_removes_its_edges_and_frees_its_slot() {
        let mut graph = AclGraph::new();
        for id in ["a", "b", "g"] {
            graph.insert_principal(principal(id, &["s"]));
        }
        graph.insert_principal(Principal::new("g", IdentityType::Org));
        graph
            .insert_edge(AclEdge::Delegates(Delegation::new("a", "b").scopes(["s"])))
            .unwrap();
        graph
            .insert_edge(AclEdge::BelongsTo(Membership::new("b", "g")))
            .unwrap();
        assert_eq!(graph.members("g"), ["b"]);
        let affected = graph.remove_principal("b");
        assert!(!affected.is_empty());
        assert_eq!(graph.edge_count(), 0);
        assert_eq!(graph.principal_count(), 2);
        assert!(graph.members("g").is_empty());
        assert!(graph
            .slot(graph.index_of("a").unwrap())
            .unwrap()
            .outflow
            .is_empty());
        graph.insert_principal(principal("c", &[]));
        assert_eq!(graph.slot_count(), 3, "the freed slot is reused");
    }

    #[test]
    fn grants_add_to_what_a_principal_holds() {
        let mut graph = AclGraph::new();
        graph.insert_principal(principal("a", &[]));
        graph.insert_resource(Resource::instance("repo", "x"));
        let grant = AclEdge::Can(ActionGrant {
            principal: "a".into(),
            action: Action::Write,
            resource: "repo/x".into(),
        });
        graph.insert_edge(grant.clone()).unwrap();
        assert_eq!(graph.find_edge(&grant), Some("can_write a repo/x"));
        let a = graph.index_of("a").unwrap();
        assert_eq!(graph.slot(a).unwrap().own.len(), 1);
        graph.remove_resource("repo/x");
        assert!(graph.slot(a).unwrap().own.is_empty());
        assert_eq!(graph.edge_count(), 0);
    }
}
