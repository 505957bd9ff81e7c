//! petgraph: a graph (or a subgraph of some types) as a `StableDiGraph`
//! carrying keys, types and attributes, and back.

use std::collections::{BTreeSet, HashMap, HashSet};

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde_json::{Map, Value};

use super::{all_edges, all_nodes};
use crate::{Entity, Error, NewEdge, Reader, Result, WriteTxn};

/// A node as a petgraph node weight.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeWeight {
    /// Its key, unique in the graph.
    pub key: String,
    /// Its node type.
    pub node_type: String,
    /// Its attribute document.
    pub attributes: Map<String, Value>,
}

impl NodeWeight {
    /// A node of `node_type` with these attributes.
    pub fn new(
        key: impl Into<String>,
        node_type: impl Into<String>,
        attributes: Map<String, Value>,
    ) -> Self {
        NodeWeight {
            key: key.into(),
            node_type: node_type.into(),
            attributes,
        }
    }
}

/// An edge as a petgraph edge weight. Its endpoints are the petgraph edge's.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeWeight {
    /// Its key, unique in the graph.
    pub key: String,
    /// Its edge type.
    pub edge_type: String,
    /// Whether it is undirected (petgraph stores it from source to target).
    pub undirected: bool,
    /// Its attribute document.
    pub attributes: Map<String, Value>,
}

impl EdgeWeight {
    /// A directed edge of `edge_type` with these attributes.
    pub fn new(
        key: impl Into<String>,
        edge_type: impl Into<String>,
        attributes: Map<String, Value>,
    ) -> Self {
        EdgeWeight {
            key: key.into(),
            edge_type: edge_type.into(),
            undirected: false,
            attributes,
        }
    }

    /// Makes it undirected (or directed).
    pub fn undirected(mut self, undirected: bool) -> Self {
        self.undirected = undirected;
        self
    }
}

/// Which part of a graph to load: nodes of some node types, and the edges
/// of some edge types between them.
///
/// Default: the whole graph.
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::Subgraph;
/// let people = Subgraph::all().node_types(["person"]).edge_types(["knows"]);
/// assert!(people.has_node_type("person") && !people.has_node_type("team"));
/// assert!(Subgraph::all().has_edge_type("anything"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subgraph {
    /// Only nodes of these types; `None` for every node type.
    pub node_types: Option<BTreeSet<String>>,
    /// Only edges of these types; `None` for every edge type.
    pub edge_types: Option<BTreeSet<String>>,
}

impl Subgraph {
    /// The whole graph.
    pub fn all() -> Self {
        Subgraph::default()
    }

    /// Only nodes of these node types.
    pub fn node_types<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.node_types = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Only edges of these edge types.
    pub fn edge_types<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.edge_types = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Whether nodes of `name` are in it.
    pub fn has_node_type(&self, name: &str) -> bool {
        self.node_types
            .as_ref()
            .is_none_or(|set| set.contains(name))
    }

    /// Whether edges of `name` are in it (between nodes that are).
    pub fn has_edge_type(&self, name: &str) -> bool {
        self.edge_types
            .as_ref()
            .is_none_or(|set| set.contains(name))
    }
}

/// A graph of the store as a petgraph `StableDiGraph`: node weights carry
/// keys, node types and attributes; edge weights carry keys, edge types,
/// direction and attributes.
///
/// Run petgraph's algorithms on [`graph`](PetGraph::graph), change it, and
/// [`save_petgraph`] it back. Undirected edges are stored once, from source
/// to target, with [`EdgeWeight::undirected`] set; wrap the graph in
/// `petgraph::visit::UndirectedAdaptor` for algorithms that should follow
/// them both ways.
#[derive(Debug, Clone)]
pub struct PetGraph {
    /// The nodes and edges.
    pub graph: StableDiGraph<NodeWeight, EdgeWeight>,
    /// The graph's name; [`save_petgraph`] writes to the graph of this name.
    pub name: String,
    /// Its graph type.
    pub graph_type: String,
    /// The part of the graph this holds; [`save_petgraph`] changes only
    /// that part.
    pub scope: Subgraph,
}

impl PetGraph {
    /// An empty graph named `name` of `graph_type`, covering whole graphs.
    pub fn new(name: impl Into<String>, graph_type: impl Into<String>) -> Self {
        PetGraph {
            graph: StableDiGraph::new(),
            name: name.into(),
            graph_type: graph_type.into(),
            scope: Subgraph::all(),
        }
    }

    /// Node indices by key (built on each call: O(V)).
    pub fn index(&self) -> HashMap<&str, NodeIndex> {
        self.graph
            .node_indices()
            .map(|i| (self.graph[i].key.as_str(), i))
            .collect()
    }

    /// The index of the node `key`, by a scan (O(V)); use
    /// [`index`](PetGraph::index) for many lookups.
    pub fn node_index(&self, key: &str) -> Option<NodeIndex> {
        self.graph
            .node_indices()
            .find(|&i| self.graph[i].key == key)
    }
}

/// Loads `graph`, or the part of it `subgraph` selects, into memory.
///
/// Nodes are added in key order, then edges in key order, so node and edge
/// indices are stable for an unchanged graph.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`] if
/// `subgraph` names a type the graph type does not define.
///
/// # Complexity
///
/// O(V + E) rows read, 10,000 per query.
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{load_petgraph, Subgraph};
/// use alknet_graphs::{Endpoints, GraphConfig, NewEdge, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("build", GraphConfig::directed().acyclic(true))?;
///     tx.define_node_type("build", "step", &json!({}))?;
///     tx.define_edge_type("build", "then", &json!({}), &Endpoints::any())?;
///     tx.create_graph("release", "build")?;
///     for key in ["compile", "package", "test"] {
///         tx.add_node("release", key, "step", &json!({}))?;
///     }
///     tx.add_edge("release", NewEdge::new("then", "compile", "test"))?;
///     tx.add_edge("release", NewEdge::new("then", "test", "package"))?;
///     Ok(())
/// })?;
/// let loaded = store.read(|r| load_petgraph(r, "release", &Subgraph::all()))?;
/// let order = petgraph::algo::toposort(&loaded.graph, None).expect("acyclic");
/// let keys: Vec<&str> = order.iter().map(|&i| loaded.graph[i].key.as_str()).collect();
/// assert_eq!(keys, ["compile", "test", "package"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_petgraph(reader: &Reader, graph: &str, subgraph: &Subgraph) -> Result<PetGraph> {
    let found = reader.graph(graph)?.ok_or_else(|| Error::NotFound {
        entity: Entity::Graph(graph.to_owned()),
    })?;
    check_scope(reader, graph, &found.graph_type, subgraph)?;
    let mut loaded = PetGraph {
        graph: StableDiGraph::new(),
        name: found.name,
        graph_type: found.graph_type,
        scope: subgraph.clone(),
    };
    let mut index: HashMap<String, NodeIndex> = HashMap::new();
    for node in all_nodes(reader, graph, None)? {
        if !subgraph.has_node_type(&node.node_type) {
            continue;
        }
        let i = loaded.graph.add_node(NodeWeight {
            key: node.key.clone(),
            node_type: node.node_type,
            attributes: node.attributes,
        });
        index.insert(node.key, i);
    }
    for edge in all_edges(reader, graph, None)? {
        if !subgraph.has_edge_type(&edge.edge_type) {
            continue;
        }
        let (Some(&s), Some(&t)) = (index.get(&edge.source), index.get(&edge.target)) else {
            continue;
        };
        loaded.graph.add_edge(
            s,
            t,
            EdgeWeight {
                key: edge.key,
                edge_type: edge.edge_type,
                undirected: edge.undirected,
                attributes: edge.attributes,
            },
        );
    }
    Ok(loaded)
}

fn check_scope(reader: &Reader, graph: &str, graph_type: &str, subgraph: &Subgraph) -> Result<()> {
    let node_types: HashSet<String> = reader
        .node_types(graph_type)?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let edge_types: HashSet<String> = reader
        .edge_types(graph_type)?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let unknown = |names: &Option<BTreeSet<String>>, known: &HashSet<String>| {
        names
            .iter()
            .flatten()
            .find(|n| !known.contains(*n))
            .cloned()
    };
    for (what, name) in [
        ("node", unknown(&subgraph.node_types, &node_types)),
        ("edge", unknown(&subgraph.edge_types, &edge_types)),
    ] {
        if let Some(name) = name {
            return Err(Error::invalid(
                Entity::Graph(graph.to_owned()),
                format!("the subgraph names {what} type {name:?}, which graph type {graph_type:?} does not define"),
            ));
        }
    }
    Ok(())
}

/// What [`save_petgraph`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    /// Nodes added.
    pub nodes_added: usize,
    /// Nodes whose attributes changed, or whose type changed (such a node is
    /// removed and added again, which removes its incident edges).
    pub nodes_updated: usize,
    /// Nodes removed (with their incident edges).
    pub nodes_removed: usize,
    /// Edges added.
    pub edges_added: usize,
    /// Edges whose attributes, type, endpoints or direction changed.
    pub edges_updated: usize,
    /// Edges removed.
    pub edges_removed: usize,
}

impl Saved {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Saved::default()
    }
}

/// Makes the graph [`PetGraph::name`] hold exactly what `pg` holds, within
/// [`PetGraph::scope`]; creates the graph (of [`PetGraph::graph_type`]) if
/// it does not exist.
///
/// Items are matched by key. Edges that are gone or changed in type,
/// endpoints or direction are removed first, then nodes that are gone or
/// changed in type, then nodes and edges are added and attributes replaced,
/// so rules such as acyclicity hold at every step. Items outside the scope
/// are left alone, except that removing a node removes every edge incident
/// to it. Every write goes through the store's validation; run it in its own
/// transaction so a rejection leaves the store unchanged.
///
/// # Errors
///
/// [`Error::Invalid`] if the graph exists with another graph type, if two
/// nodes or two edges of `pg` share a key, or if an item's type is outside
/// the scope; otherwise the store's rejection of the first write that
/// breaks a rule (naming the node or edge).
///
/// # Complexity
///
/// O(V + E) to read the graph and compare, plus one write per difference.
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{load_petgraph, save_petgraph, EdgeWeight, NodeWeight, Subgraph};
/// use alknet_graphs::{Endpoints, GraphConfig, Store};
/// use serde_json::{json, Map};
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("roads", GraphConfig::undirected())?;
///     tx.define_node_type("roads", "town", &json!({}))?;
///     tx.define_edge_type("roads", "road", &json!({"required": ["km"]}), &Endpoints::any())?;
///     tx.create_graph("map", "roads")?;
///     tx.add_node("map", "a", "town", &json!({}))?;
///     Ok(())
/// })?;
/// let mut pg = store.read(|r| load_petgraph(r, "map", &Subgraph::all()))?;
/// let a = pg.node_index("a").unwrap();
/// let b = pg.graph.add_node(NodeWeight::new("b", "town", Map::new()));
/// let km = json!({"km": 12}).as_object().unwrap().clone();
/// pg.graph.add_edge(a, b, EdgeWeight::new("a-b", "road", km).undirected(true));
///
/// let saved = store.write(|tx| save_petgraph(tx, &pg))?;
/// assert_eq!((saved.nodes_added, saved.edges_added), (1, 1));
/// assert_eq!(store.begin_read()?.edge("map", "a-b")?.unwrap().attributes["km"], 12);
/// // Saving again changes nothing.
/// assert!(store.write(|tx| save_petgraph(tx, &pg))?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_petgraph(tx: &mut WriteTxn<'_>, pg: &PetGraph) -> Result<Saved> {
    let want_nodes = wanted_nodes(pg)?;
    let want_edges = wanted_edges(pg)?;
    ensure_graph(tx, pg)?;
    let current = load_petgraph(tx, &pg.name, &pg.scope)?;
    let mut current_edges = edges_with_ends(&current);
    current_edges.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    let mut saving = Saving {
        tx,
        name: &pg.name,
        saved: Saved::default(),
    };
    let mut live_edges = saving.remove_reshaped_edges(&current_edges, &want_edges)?;
    let (live_nodes, removed) = saving.remove_retyped_nodes(&current, &want_nodes)?;
    // Edges incident to removed nodes went with them.
    if !removed.is_empty() {
        let ends: HashMap<&str, (&str, &str)> = current_edges
            .iter()
            .map(|(e, s, t)| (e.key.as_str(), (*s, *t)))
            .collect();
        live_edges.retain(|key, _| {
            ends.get(key)
                .is_some_and(|(s, t)| !removed.contains(s) && !removed.contains(t))
        });
    }
    saving.write_nodes(&want_nodes, &live_nodes, &removed)?;
    saving.write_edges(&want_edges, &live_edges, &current_edges)?;
    Ok(saving.saved)
}

/// An edge with the keys of its source and target.
type EdgeEnds<'a> = (&'a EdgeWeight, &'a str, &'a str);

/// The edges of `pg` with their ends, in petgraph's order.
fn edges_with_ends(pg: &PetGraph) -> Vec<EdgeEnds<'_>> {
    pg.graph
        .edge_references()
        .map(|e| {
            (
                e.weight(),
                pg.graph[e.source()].key.as_str(),
                pg.graph[e.target()].key.as_str(),
            )
        })
        .collect()
}

/// The nodes the graph should hold, by key: each of a type in the scope,
/// and no key twice.
fn wanted_nodes(pg: &PetGraph) -> Result<HashMap<&str, &NodeWeight>> {
    let entity = |key: &str| Entity::Node {
        graph: pg.name.clone(),
        key: key.to_owned(),
    };
    let mut want_nodes: HashMap<&str, &NodeWeight> = HashMap::new();
    for i in pg.graph.node_indices() {
        let node = &pg.graph[i];
        if !pg.scope.has_node_type(&node.node_type) {
            return Err(Error::invalid(
                entity(&node.key),
                format!(
                    "node type {:?} is outside the subgraph being saved",
                    node.node_type
                ),
            ));
        }
        if want_nodes.insert(&node.key, node).is_some() {
            return Err(Error::invalid(
                entity(&node.key),
                "appears twice in the petgraph graph",
            ));
        }
    }
    Ok(want_nodes)
}

/// The edges the graph should hold, by key, with their ends: each of a
/// type in the scope, and no key twice.
fn wanted_edges(pg: &PetGraph) -> Result<HashMap<&str, EdgeEnds<'_>>> {
    let entity = |key: &str| Entity::Edge {
        graph: pg.name.clone(),
        key: key.to_owned(),
    };
    let mut want_edges: HashMap<&str, EdgeEnds<'_>> = HashMap::new();
    for (weight, source, target) in edges_with_ends(pg) {
        if !pg.scope.has_edge_type(&weight.edge_type) {
            return Err(Error::invalid(
                entity(&weight.key),
                format!(
                    "edge type {:?} is outside the subgraph being saved",
                    weight.edge_type
                ),
            ));
        }
        if want_edges
            .insert(&weight.key, (weight, source, target))
            .is_some()
        {
            return Err(Error::invalid(
                entity(&weight.key),
                "appears twice in the petgraph graph",
            ));
        }
    }
    Ok(want_edges)
}

/// Creates the graph if it does not exist; refuses one of another type.
fn ensure_graph(tx: &mut WriteTxn<'_>, pg: &PetGraph) -> Result<()> {
    let name = pg.name.as_str();
    match tx.graph(name)? {
        Some(existing) if existing.graph_type != pg.graph_type => Err(Error::invalid(
            Entity::Graph(name.to_owned()),
            format!(
                "is of graph type {:?}, not {:?} as the petgraph graph says",
                existing.graph_type, pg.graph_type
            ),
        )),
        Some(_) => Ok(()),
        None => {
            tx.create_graph(name, &pg.graph_type)?;
            Ok(())
        }
    }
}

/// The writes of [`save_petgraph`] to one graph, and their count.
struct Saving<'s, 't> {
    tx: &'s mut WriteTxn<'t>,
    name: &'s str,
    saved: Saved,
}

impl Saving<'_, '_> {
    /// Removes the edges that are gone or changed in type, endpoints or
    /// direction; returns the others by key.
    fn remove_reshaped_edges<'c>(
        &mut self,
        current_edges: &[EdgeEnds<'c>],
        want_edges: &HashMap<&str, EdgeEnds<'_>>,
    ) -> Result<HashMap<&'c str, &'c EdgeWeight>> {
        let mut live_edges: HashMap<&str, &EdgeWeight> = HashMap::new();
        for (edge, source, target) in current_edges {
            let same_shape = want_edges.get(edge.key.as_str()).is_some_and(|(w, s, t)| {
                w.edge_type == edge.edge_type
                    && w.undirected == edge.undirected
                    && s == source
                    && t == target
            });
            if same_shape {
                live_edges.insert(&edge.key, edge);
            } else {
                self.tx.remove_edge(self.name, &edge.key)?;
                if !want_edges.contains_key(edge.key.as_str()) {
                    self.saved.edges_removed += 1;
                }
            }
        }
        Ok(live_edges)
    }

    /// Removes the nodes that are gone or changed in type; returns the
    /// others by key, and the keys removed.
    fn remove_retyped_nodes<'c>(
        &mut self,
        current: &'c PetGraph,
        want_nodes: &HashMap<&str, &NodeWeight>,
    ) -> Result<(HashMap<&'c str, &'c NodeWeight>, HashSet<&'c str>)> {
        let mut current_nodes: Vec<&NodeWeight> = current.graph.node_weights().collect();
        current_nodes.sort_by(|a, b| a.key.cmp(&b.key));
        let mut live_nodes: HashMap<&str, &NodeWeight> = HashMap::new();
        let mut removed: HashSet<&str> = HashSet::new();
        for node in current_nodes {
            match want_nodes.get(node.key.as_str()) {
                Some(w) if w.node_type == node.node_type => {
                    live_nodes.insert(&node.key, node);
                }
                found => {
                    self.tx.remove_node(self.name, &node.key)?;
                    removed.insert(&node.key);
                    if found.is_none() {
                        self.saved.nodes_removed += 1;
                    }
                }
            }
        }
        Ok((live_nodes, removed))
    }

    /// Adds the wanted nodes that are not live (re-adding the `removed`),
    /// and replaces the attributes of live ones that differ.
    fn write_nodes(
        &mut self,
        want_nodes: &HashMap<&str, &NodeWeight>,
        live_nodes: &HashMap<&str, &NodeWeight>,
        removed: &HashSet<&str>,
    ) -> Result<()> {
        let mut wanted: Vec<&NodeWeight> = want_nodes.values().copied().collect();
        wanted.sort_by(|a, b| a.key.cmp(&b.key));
        for node in wanted {
            let attributes = || Value::Object(node.attributes.clone());
            match live_nodes.get(node.key.as_str()) {
                Some(existing) => {
                    if existing.attributes != node.attributes {
                        self.tx.replace_node(self.name, &node.key, &attributes())?;
                        self.saved.nodes_updated += 1;
                    }
                }
                None => {
                    self.tx
                        .add_node(self.name, &node.key, &node.node_type, &attributes())?;
                    if removed.contains(node.key.as_str()) {
                        self.saved.nodes_updated += 1;
                    } else {
                        self.saved.nodes_added += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds the wanted edges that are not live (re-adding those of
    /// `current_edges` removed), and replaces the attributes of live ones
    /// that differ.
    fn write_edges(
        &mut self,
        want_edges: &HashMap<&str, EdgeEnds<'_>>,
        live_edges: &HashMap<&str, &EdgeWeight>,
        current_edges: &[EdgeEnds<'_>],
    ) -> Result<()> {
        let existed: HashSet<&str> = current_edges
            .iter()
            .map(|(e, _, _)| e.key.as_str())
            .collect();
        let mut wanted: Vec<EdgeEnds<'_>> = want_edges.values().copied().collect();
        wanted.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        for (edge, source, target) in wanted {
            let attributes = || Value::Object(edge.attributes.clone());
            match live_edges.get(edge.key.as_str()) {
                Some(existing) => {
                    if existing.attributes != edge.attributes {
                        self.tx.replace_edge(self.name, &edge.key, &attributes())?;
                        self.saved.edges_updated += 1;
                    }
                }
                None => {
                    let attributes = attributes();
                    self.tx.add_edge(
                        self.name,
                        NewEdge::new(&edge.edge_type, source, target)
                            .key(&edge.key)
                            .attributes(&attributes)
                            .undirected(edge.undirected),
                    )?;
                    if existed.contains(edge.key.as_str()) {
                        self.saved.edges_updated += 1;
                    } else {
                        self.saved.edges_added += 1;
                    }
                }
            }
        }
        Ok(())
    }
}
