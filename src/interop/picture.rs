//! Pictures of a graph: DOT for graphviz, and Mermaid flowcharts.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use super::{all_edges, all_nodes};
use crate::{Edge, Entity, Error, GraphKind, Node, Reader, Result};

/// The fill colour of each task status, as DOT and Mermaid draw it. A
/// cancelled task is also drawn dashed.
pub const STATUS_COLORS: [(&str, &str); 6] = [
    ("pending", "#e0e0e0"),
    ("ready", "#90caf9"),
    ("running", "#ffe082"),
    ("done", "#a5d6a7"),
    ("failed", "#ef9a9a"),
    ("cancelled", "#f5f5f5"),
];

/// What a picture shows.
///
/// Defaults: nodes labelled by key alone; nodes coloured by their `status`
/// attribute when it is one of the task statuses of [`STATUS_COLORS`]; edges
/// unlabelled; laid out top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureOptions {
    /// A node attribute shown under the key (strings as they are, other
    /// values as JSON); nodes without it show the key alone.
    pub label_attribute: Option<String>,
    /// The node attribute holding a task status to colour by; `None` draws
    /// every node alike.
    pub status_attribute: Option<String>,
    /// Whether edges are labelled with their edge type.
    pub edge_labels: bool,
    /// Left to right instead of top to bottom.
    pub left_to_right: bool,
}

impl Default for PictureOptions {
    fn default() -> Self {
        PictureOptions {
            label_attribute: None,
            status_attribute: Some("status".to_owned()),
            edge_labels: false,
            left_to_right: false,
        }
    }
}

impl PictureOptions {
    /// The defaults.
    pub fn new() -> Self {
        PictureOptions::default()
    }

    /// Shows this attribute under each node's key.
    pub fn label(mut self, attribute: impl Into<String>) -> Self {
        self.label_attribute = Some(attribute.into());
        self
    }

    /// Colours nodes by this status attribute (`None`: no colours).
    pub fn status(mut self, attribute: Option<&str>) -> Self {
        self.status_attribute = attribute.map(str::to_owned);
        self
    }

    /// Labels edges with their edge type.
    pub fn edge_labels(mut self, on: bool) -> Self {
        self.edge_labels = on;
        self
    }

    /// Lays the picture out left to right.
    pub fn left_to_right(mut self, on: bool) -> Self {
        self.left_to_right = on;
        self
    }
}

/// A graph as a picture: nodes (with synthetic ids `n0`, `n1`, … in key
/// order, so any key is safe), their label lines and status, and edges.
struct Picture {
    name: String,
    kind: GraphKind,
    nodes: Vec<(Vec<String>, Option<&'static str>)>,
    edges: Vec<(usize, usize, bool, String)>,
}

fn picture(reader: &Reader, graph: &str, options: &PictureOptions) -> Result<Picture> {
    let found = reader.graph(graph)?.ok_or_else(|| Error::NotFound {
        entity: Entity::Graph(graph.to_owned()),
    })?;
    let kind = reader
        .graph_type(&found.graph_type)?
        .map_or(GraphKind::Directed, |t| t.config.kind);
    let nodes: Vec<Node> = all_nodes(reader, graph, None)?;
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.key.as_str(), i))
        .collect();
    let mut drawn = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let mut lines = vec![node.key.clone()];
        if let Some(value) = options
            .label_attribute
            .as_ref()
            .and_then(|a| node.attributes.get(a))
        {
            lines.push(match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
        }
        let status = options
            .status_attribute
            .as_ref()
            .and_then(|a| node.attributes.get(a))
            .and_then(Value::as_str)
            .and_then(|s| STATUS_COLORS.iter().find(|(name, _)| *name == s))
            .map(|(name, _)| *name);
        drawn.push((lines, status));
    }
    let edges: Vec<Edge> = all_edges(reader, graph, None)?;
    let mut lines = Vec::with_capacity(edges.len());
    for edge in edges {
        if let (Some(&s), Some(&t)) = (
            index.get(edge.source.as_str()),
            index.get(edge.target.as_str()),
        ) {
            lines.push((s, t, edge.undirected, edge.edge_type));
        }
    }
    Ok(Picture {
        name: found.name,
        kind,
        nodes: drawn,
        edges: lines,
    })
}

fn color(status: &str) -> &'static str {
    STATUS_COLORS
        .iter()
        .find(|(name, _)| *name == status)
        .map_or("#ffffff", |(_, c)| *c)
}

/// `graph` in graphviz's DOT language: a `digraph` (a `graph` for
/// undirected graph types; undirected edges of mixed graphs are drawn
/// without arrowheads), rounded boxes labelled with the key and
/// [`PictureOptions::label_attribute`], filled by task status.
///
/// Node ids are synthetic (`n0`, `n1`, … in key order); keys appear only
/// in labels, escaped, so any key is safe. Render with
/// `dot -Tsvg graph.dot > graph.svg`.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist.
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{to_dot, PictureOptions};
/// use alknet_graphs::{Endpoints, GraphConfig, NewEdge, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("plan", GraphConfig::directed())?;
///     tx.define_node_type("plan", "step", &json!({}))?;
///     tx.define_edge_type("plan", "then", &json!({}), &Endpoints::any())?;
///     tx.create_graph("ship", "plan")?;
///     tx.add_node("ship", "build", "step", &json!({"status": "done", "title": "Build"}))?;
///     tx.add_node("ship", "test", "step", &json!({"status": "running"}))?;
///     tx.add_edge("ship", NewEdge::new("then", "build", "test"))?;
///     Ok(())
/// })?;
/// let dot = store.read(|r| to_dot(r, "ship", &PictureOptions::new().label("title")))?;
/// assert_eq!(dot, r##"digraph "ship" {
///   node [shape=box, style="rounded,filled", fillcolor="#ffffff"];
///   n0 [label="build\nBuild", fillcolor="#a5d6a7"];
///   n1 [label="test", fillcolor="#ffe082"];
///   n0 -> n1;
/// }
/// "##);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_dot(reader: &Reader, graph: &str, options: &PictureOptions) -> Result<String> {
    let picture = picture(reader, graph, options)?;
    let undirected_graph = picture.kind == GraphKind::Undirected;
    let mut out = String::new();
    let keyword = if undirected_graph { "graph" } else { "digraph" };
    let _ = writeln!(out, "{keyword} \"{}\" {{", dot_escape(&picture.name));
    if options.left_to_right {
        out.push_str("  rankdir=LR;\n");
    }
    out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];\n");
    for (i, (lines, status)) in picture.nodes.iter().enumerate() {
        let label: Vec<String> = lines.iter().map(|l| dot_escape(l)).collect();
        let _ = write!(out, "  n{i} [label=\"{}\"", label.join("\\n"));
        if let Some(status) = status {
            let _ = write!(out, ", fillcolor=\"{}\"", color(status));
            if *status == "cancelled" {
                out.push_str(", style=\"rounded,filled,dashed\"");
            }
        }
        out.push_str("];\n");
    }
    let arrow = if undirected_graph { "--" } else { "->" };
    for (s, t, undirected, edge_type) in &picture.edges {
        let mut attributes = Vec::new();
        if *undirected && !undirected_graph {
            attributes.push("dir=none".to_owned());
        }
        if options.edge_labels {
            attributes.push(format!("label=\"{}\"", dot_escape(edge_type)));
        }
        if attributes.is_empty() {
            let _ = writeln!(out, "  n{s} {arrow} n{t};");
        } else {
            let _ = writeln!(out, "  n{s} {arrow} n{t} [{}];", attributes.join(", "));
        }
    }
    out.push_str("}\n");
    Ok(out)
}

/// Text for a DOT double-quoted string: quotes and backslashes escaped (so
/// graphviz's `\N`-style substitutions cannot trigger), line breaks as
/// `\n`, other control characters as spaces.
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `graph` as a Mermaid flowchart: `-->` for directed edges, `---` for
/// undirected ones, node labels from the key and
/// [`PictureOptions::label_attribute`], and one `classDef` per task status
/// present.
///
/// Node ids are synthetic (`n0`, `n1`, … in key order), and label text is
/// entity-escaped, so any key is safe.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist.
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{to_mermaid, PictureOptions};
/// use alknet_graphs::{Endpoints, GraphConfig, NewEdge, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("plan", GraphConfig::directed())?;
///     tx.define_node_type("plan", "step", &json!({}))?;
///     tx.define_edge_type("plan", "then", &json!({}), &Endpoints::any())?;
///     tx.create_graph("ship", "plan")?;
///     tx.add_node("ship", "build", "step", &json!({"status": "done"}))?;
///     tx.add_node("ship", "say \"hi\"", "step", &json!({"status": "failed"}))?;
///     tx.add_edge("ship", NewEdge::new("then", "build", "say \"hi\""))?;
///     Ok(())
/// })?;
/// let chart = store.read(|r| to_mermaid(r, "ship", &PictureOptions::new().edge_labels(true)))?;
/// assert_eq!(chart, r##"%% graph "ship"
/// flowchart TB
///     n0["build"]
///     n1["say #34;hi#34;"]
///     n0 -->|"then"| n1
///     classDef done fill:#a5d6a7,stroke:#555555
///     classDef failed fill:#ef9a9a,stroke:#555555
///     class n0 done
///     class n1 failed
/// "##);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_mermaid(reader: &Reader, graph: &str, options: &PictureOptions) -> Result<String> {
    let picture = picture(reader, graph, options)?;
    let mut out = String::new();
    let _ = writeln!(out, "%% graph {:?}", picture.name);
    let direction = if options.left_to_right { "LR" } else { "TB" };
    let _ = writeln!(out, "flowchart {direction}");
    let mut by_status: BTreeMap<usize, (&str, Vec<usize>)> = BTreeMap::new();
    for (i, (lines, status)) in picture.nodes.iter().enumerate() {
        let label: Vec<String> = lines.iter().map(|l| mermaid_escape(l)).collect();
        let _ = writeln!(out, "    n{i}[\"{}\"]", label.join("<br/>"));
        if let Some(status) = status {
            let rank = STATUS_COLORS
                .iter()
                .position(|(name, _)| name == status)
                .unwrap_or(0);
            by_status
                .entry(rank)
                .or_insert((status, Vec::new()))
                .1
                .push(i);
        }
    }
    for (s, t, undirected, edge_type) in &picture.edges {
        let link = if *undirected { "---" } else { "-->" };
        if options.edge_labels {
            let _ = writeln!(
                out,
                "    n{s} {link}|\"{}\"| n{t}",
                mermaid_escape(edge_type)
            );
        } else {
            let _ = writeln!(out, "    n{s} {link} n{t}");
        }
    }
    for (status, _) in by_status.values() {
        let dash = if *status == "cancelled" {
            ",stroke-dasharray:5 5"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    classDef {status} fill:{},stroke:#555555{dash}",
            color(status)
        );
    }
    for (status, members) in by_status.values() {
        let ids: Vec<String> = members.iter().map(|i| format!("n{i}")).collect();
        let _ = writeln!(out, "    class {} {status}", ids.join(","));
    }
    Ok(out)
}

/// Text for a Mermaid quoted label: characters Mermaid would read as
/// syntax or markup become numeric entity codes (`#34;`), control
/// characters become spaces.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '#' | '&' | '<' | '>' | '`' | '|' | '\\' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_escapes_quotes_backslashes_and_line_breaks() {
        assert_eq!(dot_escape("a\"b\\N\nc\u{7}"), "a\\\"b\\\\N\\nc ");
    }

    #[test]
    fn mermaid_escapes_syntax_characters() {
        assert_eq!(
            mermaid_escape("a\"#<b>|`\\\t"),
            "a#34;#35;#60;b#62;#124;#96;#92; "
        );
    }
}
