//! `graph`, `node`, `edge` and `neighbors`: the instance level.

use std::fmt::Write as _;

use alknet_graphs::{
    taskgraph, workflow, Direction, Edge, Entity, Error, ListOptions, NewEdge, Node, Reader, Store,
};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use super::output::show;
use super::{attrs_arg, CliError, CliResult, Ctx, Output};

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Create an empty graph of a graph type
    Create {
        /// The graph's name
        name: String,
        /// Its graph type
        #[arg(long = "type", value_name = "GRAPH_TYPE")]
        graph_type: String,
        /// The graph's own attributes: a JSON object, or @FILE
        #[arg(long, value_name = "JSON")]
        attrs: Option<String>,
    },
    /// Show a graph: its type, its own attributes, and its node and edge counts
    Get {
        /// The graph's name
        name: String,
    },
    /// Replace a graph's own attributes (--attrs), or merge into them
    /// (--patch, an RFC 7396 JSON merge patch: null removes a member)
    Update {
        /// The graph's name
        name: String,
        /// The new attributes: a JSON object, or @FILE
        #[arg(
            long,
            value_name = "JSON",
            required_unless_present = "patch",
            conflicts_with = "patch"
        )]
        attrs: Option<String>,
        /// A merge patch: a JSON object, or @FILE
        #[arg(long, value_name = "JSON")]
        patch: Option<String>,
    },
    /// List graphs with their node and edge counts
    List,
    /// Drop a graph with all its nodes and edges
    Drop {
        /// The graph's name
        name: String,
    },
    #[command(flatten)]
    Algo(super::algo::AlgoCommand),
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Add a node
    Add {
        #[arg(long)]
        graph: String,
        /// Its node type
        #[arg(long = "type", value_name = "NODE_TYPE")]
        node_type: String,
        /// Its key, unique in the graph
        key: String,
        /// Its attributes: a JSON object, or @FILE
        #[arg(long, value_name = "JSON")]
        attrs: Option<String>,
    },
    /// Show a node
    Get {
        #[arg(long)]
        graph: String,
        key: String,
    },
    /// List nodes in key order, a page at a time
    List {
        #[arg(long)]
        graph: String,
        /// Only nodes of this node type
        #[arg(long = "type", value_name = "NODE_TYPE")]
        node_type: Option<String>,
        /// At most this many (at most 10000)
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this key (the previous page's `next`)
        #[arg(long, value_name = "KEY")]
        after: Option<String>,
    },
    /// Replace a node's attributes, or merge into them with --merge
    Update {
        #[arg(long)]
        graph: String,
        key: String,
        /// The new attributes (a JSON object, or @FILE)
        #[arg(long, value_name = "JSON")]
        attrs: String,
        /// Apply --attrs as an RFC 7396 JSON merge patch (null removes a
        /// member) instead of replacing the whole document
        #[arg(long)]
        merge: bool,
    },
    /// Remove a node and its edges
    Rm {
        #[arg(long)]
        graph: String,
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EdgeCommand {
    /// Add an edge from SOURCE to TARGET
    Add {
        #[arg(long)]
        graph: String,
        /// Its edge type
        #[arg(long = "type", value_name = "EDGE_TYPE")]
        edge_type: String,
        /// The source node's key
        source: String,
        /// The target node's key
        target: String,
        /// Its key (default: a generated, time-ordered id)
        #[arg(long)]
        key: Option<String>,
        /// Its attributes: a JSON object, or @FILE
        #[arg(long, value_name = "JSON")]
        attrs: Option<String>,
        /// Make it undirected (in a mixed graph)
        #[arg(long)]
        undirected: bool,
    },
    /// Show an edge
    Get {
        #[arg(long)]
        graph: String,
        key: String,
    },
    /// List edges in key order, a page at a time
    List {
        #[arg(long)]
        graph: String,
        /// Only edges of this edge type
        #[arg(long = "type", value_name = "EDGE_TYPE")]
        edge_type: Option<String>,
        /// At most this many (at most 10000)
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this key (the previous page's `next`)
        #[arg(long, value_name = "KEY")]
        after: Option<String>,
    },
    /// Remove an edge
    Rm {
        #[arg(long)]
        graph: String,
        key: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Out,
    In,
    Both,
}

#[derive(Debug, Args)]
pub struct NeighborsArgs {
    #[arg(long)]
    graph: String,
    /// The node's key
    key: String,
    /// Which incident edges to follow
    #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
    direction: DirectionArg,
    /// Only along edges of this edge type
    #[arg(long = "edge-type", value_name = "EDGE_TYPE")]
    edge_type: Option<String>,
}

pub fn run_graph(ctx: &Ctx, command: GraphCommand) -> CliResult {
    let store = ctx.open()?;
    match command {
        GraphCommand::Create {
            name,
            graph_type,
            attrs,
        } => graph_create(&store, &name, &graph_type, attrs.as_deref()),
        GraphCommand::Get { name } => graph_get(&store, &name),
        GraphCommand::Update { name, attrs, patch } => {
            graph_update(&store, &name, attrs.as_deref(), patch.as_deref())
        }
        GraphCommand::List => graph_list(&store),
        GraphCommand::Algo(command) => super::algo::run_algo(&store, command),
        GraphCommand::Drop { name } => graph_drop(&store, &name),
    }
}

fn graph_create(store: &Store, name: &str, graph_type: &str, attrs: Option<&str>) -> CliResult {
    let attributes = attrs_arg(attrs)?;
    let mut tx = store.begin_write()?;
    tx.create_graph_with_attributes(name, graph_type, &attributes)?;
    let revision = tx.commit()?;
    Ok(Output::new(
        json!({"graph": name, "graph_type": graph_type, "attributes": attributes, "revision": revision}),
        format!(
            "created graph {} of type {} (revision {revision})",
            show(name),
            show(graph_type)
        ),
    ))
}

/// A graph's type, own attributes, graphology options and counts.
fn graph_get(store: &Store, name: &str) -> CliResult {
    let read = store.begin_read()?;
    let graph = read.graph(name)?.ok_or_else(|| no_graph(name))?;
    let nodes = read.node_count(name)?;
    let edges = read.edge_count(name)?;
    let attributes = Value::Object(graph.attributes.clone());
    let mut text = format!(
        "graph {}  type {}  {nodes} nodes, {edges} edges\n  attributes: {attributes}",
        show(&graph.name),
        show(&graph.graph_type)
    );
    if let Some(options) = &graph.graphology_options {
        let _ = write!(
            text,
            "\n  graphology options: {}",
            Value::Object(options.clone())
        );
    }
    Ok(Output::new(
        json!({
            "name": graph.name,
            "graph_type": graph.graph_type,
            "attributes": attributes,
            "graphology_options": graph.graphology_options,
            "nodes": nodes,
            "edges": edges,
            "id": graph.id,
            "created_at": graph.created_at,
            "updated_at": graph.updated_at,
        }),
        text,
    ))
}

/// Merges `patch` into a graph's attributes when given, else replaces them
/// with `attrs`.
fn graph_update(store: &Store, name: &str, attrs: Option<&str>, patch: Option<&str>) -> CliResult {
    let mut tx = store.begin_write()?;
    let (verb, attributes) = match patch {
        Some(patch) => {
            let patch = attrs_arg(Some(patch))?;
            ("merged into", tx.patch_graph_attributes(name, &patch)?)
        }
        None => {
            let attributes = attrs_arg(attrs)?;
            tx.replace_graph_attributes(name, &attributes)?;
            let graph = tx.graph(name)?.ok_or_else(|| no_graph(name))?;
            ("replaced", graph.attributes)
        }
    };
    let revision = tx.commit()?;
    let attributes = Value::Object(attributes);
    Ok(Output::new(
        json!({"graph": name, "attributes": attributes, "revision": revision}),
        format!(
            "{verb} the attributes of graph {}: {attributes} (revision {revision})",
            show(name)
        ),
    ))
}

fn graph_list(store: &Store) -> CliResult {
    let read = store.begin_read()?;
    let mut items = Vec::new();
    let mut text = String::new();
    for graph in read.graphs()? {
        let nodes = read.node_count(&graph.name)?;
        let edges = read.edge_count(&graph.name)?;
        let _ = writeln!(
            text,
            "{}  type {}  {nodes} nodes, {edges} edges",
            show(&graph.name),
            show(&graph.graph_type)
        );
        items.push(json!({
            "name": graph.name,
            "graph_type": graph.graph_type,
            "nodes": nodes,
            "edges": edges,
            "id": graph.id,
            "created_at": graph.created_at,
        }));
    }
    if items.is_empty() {
        text.push_str("no graphs");
    }
    Ok(Output::new(json!({ "graphs": items }), text))
}

fn graph_drop(store: &Store, name: &str) -> CliResult {
    // A taskgraph or a workflow is dropped by its own API (a
    // taskgraph's queued jobs go with it); the ACL's graph is not
    // dropped at all.
    let graph_type = store.read(|r| r.graph(name))?.map(|g| g.graph_type);
    // (The handles ensure their types with a write of their own,
    // so they are opened before this transaction begins.)
    let tasks = match graph_type.as_deref() {
        Some(taskgraph::GRAPH_TYPE) => Some(taskgraph::Taskgraphs::open(store)?),
        _ => None,
    };
    let flows = match graph_type.as_deref() {
        Some(workflow::GRAPH_TYPE) => Some(workflow::Workflows::open(store)?),
        _ => None,
    };
    let mut tx = store.begin_write()?;
    match (tasks, flows) {
        (Some(tasks), _) => tasks.drop_graph(&mut tx, name)?,
        (_, Some(flows)) => flows.drop_graph(&mut tx, name)?,
        _ => tx.drop_graph(name)?,
    }
    let revision = tx.commit()?;
    Ok(Output::new(
        json!({"dropped": name, "revision": revision}),
        format!("dropped graph {} (revision {revision})", show(name)),
    ))
}

fn no_graph(name: &str) -> CliError {
    CliError::Store(Error::NotFound {
        entity: Entity::Graph(name.to_owned()),
    })
}

pub fn run_node(ctx: &Ctx, command: NodeCommand) -> CliResult {
    match command {
        NodeCommand::Add {
            graph,
            node_type,
            key,
            attrs,
        } => node_add(ctx, &graph, &node_type, &key, attrs.as_deref()),
        NodeCommand::Get { graph, key } => {
            let store = ctx.open()?;
            let read = store.begin_read()?;
            let node = require_node(&read, &graph, &key)?;
            Ok(Output::new(node_json(&node), node_line(&node)))
        }
        NodeCommand::List {
            graph,
            node_type,
            limit,
            after,
        } => node_list(ctx, &graph, list_options(limit, after, node_type)),
        NodeCommand::Update {
            graph,
            key,
            attrs,
            merge,
        } => node_update(ctx, &graph, &key, &attrs, merge),
        NodeCommand::Rm { graph, key } => node_rm(ctx, &graph, &key),
    }
}

fn node_add(ctx: &Ctx, graph: &str, node_type: &str, key: &str, attrs: Option<&str>) -> CliResult {
    let attributes = attrs_arg(attrs)?;
    let store = ctx.open()?;
    let mut tx = store.begin_write()?;
    tx.add_node(graph, key, node_type, &attributes)?;
    let node = require_node(&tx, graph, key)?;
    let revision = tx.commit()?;
    Ok(Output::new(
        with_revision(node_json(&node), revision),
        format!(
            "added node {} ({}) to graph {} (revision {revision})",
            show(key),
            show(node_type),
            show(graph)
        ),
    ))
}

/// One page of a graph's nodes.
fn node_list(ctx: &Ctx, graph: &str, options: ListOptions) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let page = read.nodes(graph, &options)?;
    let lines: Vec<String> = page.items.iter().map(node_line).collect();
    Ok(Output::new(
        json!({
            "graph": graph,
            "items": page.items.iter().map(node_json).collect::<Vec<_>>(),
            "next": page.next,
        }),
        page_text(&lines, "no nodes", page.next.as_deref()),
    ))
}

/// Merges `attrs` into a node's attributes when `merge`, else replaces them.
fn node_update(ctx: &Ctx, graph: &str, key: &str, attrs: &str, merge: bool) -> CliResult {
    let attributes = attrs_arg(Some(attrs))?;
    let store = ctx.open()?;
    let mut tx = store.begin_write()?;
    if merge {
        tx.patch_node(graph, key, &attributes)?;
    } else {
        tx.replace_node(graph, key, &attributes)?;
    }
    let node = require_node(&tx, graph, key)?;
    let revision = tx.commit()?;
    let verb = if merge { "merged into" } else { "replaced" };
    Ok(Output::new(
        with_revision(node_json(&node), revision),
        format!(
            "{verb} the attributes of node {} in graph {}: {} (revision {revision})",
            show(key),
            show(graph),
            Value::Object(node.attributes.clone())
        ),
    ))
}

/// Removes a node with its edges, counting them.
fn node_rm(ctx: &Ctx, graph: &str, key: &str) -> CliResult {
    let store = ctx.open()?;
    let mut tx = store.begin_write()?;
    let edges = tx.neighbors(graph, key, Direction::Both, None)?.len();
    tx.remove_node(graph, key)?;
    let revision = tx.commit()?;
    Ok(Output::new(
        json!({"removed": key, "graph": graph, "edges_removed": edges, "revision": revision}),
        format!(
            "removed node {} and {edges} edge(s) from graph {} (revision {revision})",
            show(key),
            show(graph)
        ),
    ))
}

pub fn run_edge(ctx: &Ctx, command: EdgeCommand) -> CliResult {
    match command {
        EdgeCommand::Add {
            graph,
            edge_type,
            source,
            target,
            key,
            attrs,
            undirected,
        } => {
            let attributes = attrs_arg(attrs.as_deref())?;
            let mut new = NewEdge::new(&edge_type, &source, &target).attributes(&attributes);
            new.key = key.as_deref();
            if undirected {
                new = new.undirected(true);
            }
            edge_add(ctx, &graph, new)
        }
        EdgeCommand::Get { graph, key } => {
            let store = ctx.open()?;
            let read = store.begin_read()?;
            let edge = require_edge(&read, &graph, &key)?;
            Ok(Output::new(edge_json(&edge), edge_line(&edge)))
        }
        EdgeCommand::List {
            graph,
            edge_type,
            limit,
            after,
        } => edge_list(ctx, &graph, list_options(limit, after, edge_type)),
        EdgeCommand::Rm { graph, key } => edge_rm(ctx, &graph, &key),
    }
}

fn edge_add(ctx: &Ctx, graph: &str, new: NewEdge<'_>) -> CliResult {
    let store = ctx.open()?;
    let mut tx = store.begin_write()?;
    let (edge_type, source, target) = (new.edge_type, new.source, new.target);
    let key = tx.add_edge(graph, new)?;
    let edge = require_edge(&tx, graph, &key)?;
    let revision = tx.commit()?;
    Ok(Output::new(
        with_revision(edge_json(&edge), revision),
        format!(
            "added edge {} ({}: {} -> {}) to graph {} (revision {revision})",
            show(&key),
            show(edge_type),
            show(source),
            show(target),
            show(graph)
        ),
    ))
}

/// One page of a graph's edges.
fn edge_list(ctx: &Ctx, graph: &str, options: ListOptions) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let page = read.edges(graph, &options)?;
    let lines: Vec<String> = page.items.iter().map(edge_line).collect();
    Ok(Output::new(
        json!({
            "graph": graph,
            "items": page.items.iter().map(edge_json).collect::<Vec<_>>(),
            "next": page.next,
        }),
        page_text(&lines, "no edges", page.next.as_deref()),
    ))
}

fn edge_rm(ctx: &Ctx, graph: &str, key: &str) -> CliResult {
    let store = ctx.open()?;
    let mut tx = store.begin_write()?;
    tx.remove_edge(graph, key)?;
    let revision = tx.commit()?;
    Ok(Output::new(
        json!({"removed": key, "graph": graph, "revision": revision}),
        format!(
            "removed edge {} from graph {} (revision {revision})",
            show(key),
            show(graph)
        ),
    ))
}

/// A page of listed items, one line each (or `empty` when there are none),
/// and how to ask for the next page.
fn page_text(lines: &[String], empty: &str, next: Option<&str>) -> String {
    let mut text = String::new();
    for line in lines {
        let _ = writeln!(text, "{line}");
    }
    if lines.is_empty() {
        let _ = writeln!(text, "{empty}");
    }
    if let Some(next) = next {
        let _ = writeln!(text, "more after {} (--after {})", show(next), show(next));
    }
    text
}

pub fn neighbors(ctx: &Ctx, args: NeighborsArgs) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let direction = match args.direction {
        DirectionArg::Out => Direction::Out,
        DirectionArg::In => Direction::In,
        DirectionArg::Both => Direction::Both,
    };
    let found = read.neighbors(&args.graph, &args.key, direction, args.edge_type.as_deref())?;
    let mut text = String::new();
    for n in &found {
        let _ = writeln!(
            text,
            "{}  via {} ({}{})",
            show(&n.node),
            show(&n.edge),
            show(&n.edge_type),
            if n.undirected { ", undirected" } else { "" }
        );
    }
    if found.is_empty() {
        text.push_str("no neighbors");
    }
    Ok(Output::new(
        json!({
            "graph": args.graph,
            "key": args.key,
            "neighbors": found.iter().map(|n| json!({
                "node": n.node,
                "edge": n.edge,
                "edge_type": n.edge_type,
                "undirected": n.undirected,
            })).collect::<Vec<_>>(),
        }),
        text,
    ))
}

fn list_options(limit: usize, after: Option<String>, of_type: Option<String>) -> ListOptions {
    let mut options = ListOptions::new().limit(limit);
    options.after = after;
    options.of_type = of_type;
    options
}

fn require_node(read: &Reader, graph: &str, key: &str) -> CliResult<Node> {
    read.node(graph, key)?.ok_or_else(|| {
        CliError::Store(Error::NotFound {
            entity: Entity::Node {
                graph: graph.to_owned(),
                key: key.to_owned(),
            },
        })
    })
}

fn require_edge(read: &Reader, graph: &str, key: &str) -> CliResult<Edge> {
    read.edge(graph, key)?.ok_or_else(|| {
        CliError::Store(Error::NotFound {
            entity: Entity::Edge {
                graph: graph.to_owned(),
                key: key.to_owned(),
            },
        })
    })
}

fn with_revision(mut value: Value, revision: u64) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert("revision".into(), json!(revision));
    }
    value
}

pub fn node_json(node: &Node) -> Value {
    json!({
        "graph": node.graph,
        "key": node.key,
        "type": node.node_type,
        "attributes": Value::Object(node.attributes.clone()),
        "created_at": node.created_at,
        "updated_at": node.updated_at,
    })
}

pub fn edge_json(edge: &Edge) -> Value {
    json!({
        "graph": edge.graph,
        "key": edge.key,
        "type": edge.edge_type,
        "source": edge.source,
        "target": edge.target,
        "undirected": edge.undirected,
        "attributes": Value::Object(edge.attributes.clone()),
        "created_at": edge.created_at,
        "updated_at": edge.updated_at,
    })
}

fn attributes_text(attributes: &Map<String, Value>) -> String {
    if attributes.is_empty() {
        String::new()
    } else {
        format!("  {}", Value::Object(attributes.clone()))
    }
}

fn node_line(node: &Node) -> String {
    format!(
        "{}  ({}){}",
        show(&node.key),
        show(&node.node_type),
        attributes_text(&node.attributes)
    )
}

fn edge_line(edge: &Edge) -> String {
    let arrow = if edge.undirected { "--" } else { "->" };
    format!(
        "{}  ({}: {} {arrow} {}){}",
        show(&edge.key),
        show(&edge.edge_type),
        show(&edge.source),
        show(&edge.target),
        attributes_text(&edge.attributes)
    )
}
