//! `graph order`, `graph layers`, `graph cycles`, `graph path` and
//! `graph critical-path`: the graph algorithms of `Reader`, on any graph.

use std::fmt::Write as _;

use alknet_graphs::{Reader, Store};
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::{list_or_none, show};
use super::{CliResult, Output};

#[derive(Debug, Subcommand)]
pub enum AlgoCommand {
    /// The nodes in topological order
    ///
    /// Every edge's source comes before its target; among the nodes free to
    /// come next, the smallest key first. A graph with a directed cycle is
    /// refused naming the cycle, one with an undirected edge naming the edge
    Order {
        /// The graph's name
        name: String,
    },
    /// The nodes in generations (layers)
    ///
    /// First the nodes with no incoming edge, then those whose predecessors
    /// are all in earlier generations, and so on; refused as `order` is
    Layers {
        /// The graph's name
        name: String,
    },
    /// The directed cycles: components with cycles, and a shortest cycle
    ///
    /// Lists the strongly connected components of more than one node (each
    /// holds a directed cycle) and a shortest directed cycle, which may be a
    /// self-loop. Undirected edges are left out
    Cycles {
        /// The graph's name
        name: String,
    },
    /// A shortest path from FROM to TO
    ///
    /// The path with the fewest edges or, with --weight, the least total of
    /// a numeric edge attribute. Directed edges are followed from source to
    /// target, undirected edges both ways
    Path {
        /// The graph's name
        name: String,
        /// The first node's key
        from: String,
        /// The last node's key
        to: String,
        /// Weigh each edge by this numeric attribute (at least 0)
        #[arg(long, value_name = "ATTR")]
        weight: Option<String>,
    },
    /// The critical path by a numeric node attribute
    ///
    /// The path whose nodes' --weight attribute adds up to the most. Every
    /// node needs the attribute, a number of at least 0; refused as `order`
    /// is
    CriticalPath {
        /// The graph's name
        name: String,
        /// The node attribute to add up (a duration, a cost)
        #[arg(long, value_name = "ATTR")]
        weight: String,
    },
}

/// A number as JSON: an integer when it is a whole number that fits.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// Keys joined by " -> ".
fn arrows(keys: &[String]) -> String {
    keys.iter()
        .map(|k| show(k))
        .collect::<Vec<_>>()
        .join(" -> ")
}

pub fn run_algo(store: &Store, command: AlgoCommand) -> CliResult {
    let read = store.begin_read()?;
    match command {
        AlgoCommand::Order { name } => order(&read, &name),
        AlgoCommand::Layers { name } => layers(&read, &name),
        AlgoCommand::Cycles { name } => cycles(&read, &name),
        AlgoCommand::Path {
            name,
            from,
            to,
            weight,
        } => path(&read, &name, &from, &to, weight.as_deref()),
        AlgoCommand::CriticalPath { name, weight } => critical_path(&read, &name, &weight),
    }
}

fn order(read: &Reader, name: &str) -> CliResult {
    let order = read.topological_order(name)?;
    let mut text = String::new();
    for key in &order {
        let _ = writeln!(text, "{}", show(key));
    }
    if order.is_empty() {
        text.push_str("no nodes");
    }
    Ok(Output::new(
        json!({"graph": name, "order": order}),
        text.trim_end(),
    ))
}

fn layers(read: &Reader, name: &str) -> CliResult {
    let layers = read.generations(name)?;
    let mut text = String::new();
    for (i, layer) in layers.iter().enumerate() {
        let _ = writeln!(text, "{i}: {}", list_or_none(layer));
    }
    if layers.is_empty() {
        text.push_str("no nodes");
    }
    Ok(Output::new(
        json!({"graph": name, "layers": layers}),
        text.trim_end(),
    ))
}

/// The components holding a directed cycle, and a shortest cycle.
fn cycles(read: &Reader, name: &str) -> CliResult {
    let components: Vec<Vec<String>> = read
        .strongly_connected_components(name)?
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    let shortest = read.shortest_cycle(name)?;
    let mut text = String::new();
    match &shortest {
        Some(cycle) => {
            for component in &components {
                let _ = writeln!(text, "component: {}", list_or_none(component));
            }
            let _ = write!(text, "shortest cycle: {}", arrows(cycle));
        }
        None => text.push_str("no directed cycles"),
    }
    Ok(Output::new(
        json!({"graph": name, "components": components, "shortest_cycle": shortest}),
        text,
    ))
}

/// A shortest path by edge count, or by the `weight` edge attribute.
fn path(read: &Reader, name: &str, from: &str, to: &str, weight: Option<&str>) -> CliResult {
    let path = read.shortest_path(name, from, to, weight)?;
    Ok(match path {
        Some(path) => {
            let unit = match weight {
                Some(attribute) => format!("total {attribute} {}", number(path.cost)),
                None => format!("{} edge(s)", path.edges.len()),
            };
            Output::new(
                json!({
                    "graph": name, "from": from, "to": to, "weight": weight,
                    "found": true, "nodes": path.nodes, "edges": path.edges,
                    "cost": number(path.cost),
                }),
                format!("{} ({unit})", arrows(&path.nodes)),
            )
        }
        None => Output::new(
            json!({
                "graph": name, "from": from, "to": to, "weight": weight,
                "found": false,
            }),
            format!("no path from {} to {}", show(from), show(to)),
        ),
    })
}

fn critical_path(read: &Reader, name: &str, weight: &str) -> CliResult {
    let path = read.critical_path(name, weight)?;
    let text = if path.nodes.is_empty() {
        "no nodes".to_owned()
    } else {
        format!(
            "{} (total {weight} {})",
            arrows(&path.nodes),
            number(path.total)
        )
    };
    Ok(Output::new(
        json!({"graph": name, "weight": weight, "nodes": path.nodes, "total": number(path.total)}),
        text,
    ))
}
