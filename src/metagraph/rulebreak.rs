//! The structural rules of a graph type that a single edge can break, each
//! with one wording, used wherever the rule is checked: by an edge write,
//! by a change of a graph type's config against the edges it already has,
//! and by [`verify`](crate::verify()).

use std::fmt;

/// An end of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeEnd {
    /// Where the edge starts.
    Source,
    /// Where the edge ends.
    Target,
}

impl EdgeEnd {
    /// `source` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeEnd::Source => "source",
            EdgeEnd::Target => "target",
        }
    }
}

impl fmt::Display for EdgeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structural rule an edge breaks; carried by
/// [`Error::Rule`](crate::Error::Rule) together with the edge.
///
/// A cycle in an acyclic graph is [`Error::Cycle`](crate::Error::Cycle),
/// which carries the cycle's keys.
///
/// # Example
///
/// ```
/// use alknet_graphs::{Endpoints, GraphConfig, NewEdge, RuleBreak, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("graphs.db"))?;
/// let mut tx = store.begin_write()?;
/// tx.define_graph_type("org", GraphConfig::directed().allow_self_loops(false))?;
/// tx.define_node_type("org", "person", &json!({}))?;
/// tx.define_edge_type("org", "knows", &json!({}), &Endpoints::any())?;
/// tx.create_graph("acme", "org")?;
/// tx.add_node("acme", "ada", "person", &json!({}))?;
/// let err = tx.add_edge("acme", NewEdge::new("knows", "ada", "ada").key("me")).unwrap_err();
/// assert_eq!(
///     err.rule(),
///     Some(&RuleBreak::SelfLoop { graph_type: "org".into(), node: "ada".into() })
/// );
/// assert_eq!(err.kind(), "invalid");
/// assert_eq!(
///     err.to_string(),
///     r#"edge "me" in graph "acme": self-loop on node "ada": graph type "org" does not allow self-loops"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleBreak {
    /// An undirected edge in a directed graph type (`directed` true), or a
    /// directed edge in an undirected one.
    Direction {
        /// The graph type whose rule it is.
        graph_type: String,
        /// Whether the graph type is directed.
        directed: bool,
    },
    /// An edge from a node to itself where the graph type allows none.
    SelfLoop {
        /// The graph type whose rule it is.
        graph_type: String,
        /// The node.
        node: String,
    },
    /// An edge parallel to another (same edge type, same ends, same
    /// direction) where the graph type is not `multi`.
    Parallel {
        /// The graph type whose rule it is.
        graph_type: String,
        /// The key of the edge it is parallel to.
        existing: String,
        /// The edge type of both.
        edge_type: String,
        /// The source node key.
        source: String,
        /// The target node key.
        target: String,
    },
    /// An end naming a node that is not in the edge's graph.
    MissingEndpoint {
        /// Which end.
        end: EdgeEnd,
        /// The node key it names.
        node: String,
    },
    /// An end at a node whose node type the edge type does not allow there.
    EndpointType {
        /// The edge's type.
        edge_type: String,
        /// Which end.
        end: EdgeEnd,
        /// The node key.
        node: String,
        /// The node's type.
        node_type: String,
    },
}

impl RuleBreak {
    /// The rule's name, for machines: `direction`, `self_loop`,
    /// `parallel`, `missing_endpoint` or `endpoint_type`.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{EdgeEnd, RuleBreak};
    ///
    /// let rule = RuleBreak::MissingEndpoint { end: EdgeEnd::Target, node: "bob".into() };
    /// assert_eq!(rule.name(), "missing_endpoint");
    /// assert_eq!(rule.to_string(), r#"target node "bob" does not exist"#);
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            RuleBreak::Direction { .. } => "direction",
            RuleBreak::SelfLoop { .. } => "self_loop",
            RuleBreak::Parallel { .. } => "parallel",
            RuleBreak::MissingEndpoint { .. } => "missing_endpoint",
            RuleBreak::EndpointType { .. } => "endpoint_type",
        }
    }
}

impl fmt::Display for RuleBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleBreak::Direction {
                graph_type,
                directed: true,
            } => write!(
                f,
                "graph type {graph_type:?} is directed; undirected edges are not allowed"
            ),
            RuleBreak::Direction { graph_type, .. } => write!(
                f,
                "graph type {graph_type:?} is undirected; directed edges are not allowed"
            ),
            RuleBreak::SelfLoop { graph_type, node } => write!(
                f,
                "self-loop on node {node:?}: graph type {graph_type:?} does not allow self-loops"
            ),
            RuleBreak::Parallel {
                graph_type,
                existing,
                edge_type,
                source,
                target,
            } => write!(
                f,
                "parallel to edge {existing:?} ({edge_type:?} from {source:?} to {target:?}); graph type {graph_type:?} does not allow parallel edges"
            ),
            RuleBreak::MissingEndpoint { end, node } => {
                write!(f, "{end} node {node:?} does not exist")
            }
            RuleBreak::EndpointType {
                edge_type,
                end,
                node,
                node_type,
            } => write!(
                f,
                "{end} node {node:?} is of node type {node_type:?}, which edge type {edge_type:?} does not allow as its {end}"
            ),
        }
    }
}
