//! `type define | list | show | drop`: graph types with their node and edge
//! types.

use std::fmt::Write as _;
use std::path::PathBuf;

use alknet_graphs::{
    DropPolicy, EdgeType, Endpoints, Entity, Error, GraphConfig, GraphKind, GraphType, NodeType,
    Reader,
};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Value};

use super::output::{list_or_none, show};
use super::{parse_json, read_text, CliError, CliResult, Ctx, Output};

#[derive(Debug, Subcommand)]
pub enum TypeCommand {
    /// Define a graph type with its node and edge types from a JSON file
    /// (`-` for stdin), all in one transaction
    ///
    /// The file: {"name": "people", "config": {"kind": "directed", "multi":
    /// false, "allow_self_loops": false, "acyclic": false}, "node_types":
    /// [{"name": "person", "schema": {…}}], "edge_types": [{"name": "knows",
    /// "schema": {…}, "source": ["person"], "target": ["person"]}]}.
    /// `config` takes graphology's names too (`type`, `allowSelfLoops`);
    /// an absent `schema` accepts any attributes, absent `source`/`target`
    /// any node type.
    Define {
        /// The definition file, or `-` for stdin
        file: PathBuf,
    },
    /// List graph types
    List,
    /// Show a graph type: its rules, node types with their schemas, edge
    /// types with their endpoints
    Show {
        /// The graph type's name
        name: String,
    },
    /// Drop a graph type with its node and edge types
    Drop {
        /// The graph type's name
        name: String,
        /// Drop its graphs too (otherwise a type that has graphs is kept)
        #[arg(long)]
        cascade: bool,
    },
}

pub fn run(ctx: &Ctx, command: TypeCommand) -> CliResult {
    match command {
        TypeCommand::Define { file } => define(ctx, &file),
        TypeCommand::List => list(ctx),
        TypeCommand::Show { name } => show_type(ctx, &name),
        TypeCommand::Drop { name, cascade } => drop_type(ctx, &name, cascade),
    }
}

/// A graph type definition file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    name: String,
    #[serde(default)]
    config: ConfigDoc,
    #[serde(default)]
    node_types: Vec<TypeDoc>,
    #[serde(default)]
    edge_types: Vec<EdgeTypeDoc>,
}

/// [`GraphConfig`] in the file: snake_case names, with graphology's as aliases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigDoc {
    #[serde(alias = "type", default)]
    kind: GraphKind,
    #[serde(default)]
    multi: bool,
    #[serde(alias = "allowSelfLoops", default = "yes")]
    allow_self_loops: bool,
    #[serde(default)]
    acyclic: bool,
}

fn yes() -> bool {
    true
}

impl Default for ConfigDoc {
    fn default() -> Self {
        let config = GraphConfig::default();
        ConfigDoc {
            kind: config.kind,
            multi: config.multi,
            allow_self_loops: config.allow_self_loops,
            acyclic: config.acyclic,
        }
    }
}

impl ConfigDoc {
    fn config(&self) -> GraphConfig {
        let base = match self.kind {
            GraphKind::Directed => GraphConfig::directed(),
            GraphKind::Undirected => GraphConfig::undirected(),
            GraphKind::Mixed => GraphConfig::default(),
        };
        base.multi(self.multi)
            .allow_self_loops(self.allow_self_loops)
            .acyclic(self.acyclic)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeDoc {
    name: String,
    #[serde(default = "any_schema")]
    schema: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeTypeDoc {
    name: String,
    #[serde(default = "any_schema")]
    schema: Value,
    #[serde(default)]
    source: Option<Vec<String>>,
    #[serde(default)]
    target: Option<Vec<String>>,
}

fn any_schema() -> Value {
    json!({})
}

fn define(ctx: &Ctx, file: &std::path::Path) -> CliResult {
    let shown = if file == std::path::Path::new("-") {
        "stdin".to_owned()
    } else {
        file.display().to_string()
    };
    let text = read_text(file)?;
    let value = parse_json(&shown, &text)?;
    let definition: Definition = serde_json::from_value(value)
        .map_err(|e| CliError::invalid(format!("{shown}: not a graph type definition: {e}")))?;
    let store = ctx.open()?;
    let mut tx = store.begin_write()?;
    let name = definition.name.as_str();
    tx.define_graph_type(name, definition.config.config())?;
    for node_type in &definition.node_types {
        tx.define_node_type(name, &node_type.name, &node_type.schema)?;
    }
    for edge_type in &definition.edge_types {
        let endpoints = Endpoints {
            source: edge_type.source.clone(),
            target: edge_type.target.clone(),
        };
        tx.define_edge_type(name, &edge_type.name, &edge_type.schema, &endpoints)?;
    }
    let revision = tx.commit()?;
    let node_names: Vec<&str> = definition
        .node_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let edge_names: Vec<&str> = definition
        .edge_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    Ok(Output::new(
        json!({
            "graph_type": name,
            "node_types": node_names,
            "edge_types": edge_names,
            "revision": revision,
        }),
        format!(
            "defined graph type {} ({}) with node types {} and edge types {} (revision {revision})",
            show(name),
            describe_config(&definition.config.config()),
            list_or_none(&node_names),
            list_or_none(&edge_names),
        ),
    ))
}

fn list(ctx: &Ctx) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let mut items = Vec::new();
    let mut text = String::new();
    for graph_type in read.graph_types()? {
        let node_types = read.node_types(&graph_type.name)?;
        let edge_types = read.edge_types(&graph_type.name)?;
        let node_names: Vec<&str> = node_types.iter().map(|t| t.name.as_str()).collect();
        let edge_names: Vec<&str> = edge_types.iter().map(|t| t.name.as_str()).collect();
        let _ = writeln!(
            text,
            "{}  {}  nodes: {}  edges: {}",
            show(&graph_type.name),
            describe_config(&graph_type.config),
            list_or_none(&node_names),
            list_or_none(&edge_names)
        );
        items.push(json!({
            "name": graph_type.name,
            "config": graph_type.config,
            "version": graph_type.version,
            "node_types": node_names,
            "edge_types": edge_names,
        }));
    }
    if items.is_empty() {
        text.push_str("no graph types");
    }
    Ok(Output::new(json!({ "graph_types": items }), text))
}

fn show_type(ctx: &Ctx, name: &str) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    let graph_type = require_graph_type(&read, name)?;
    let node_types = read.node_types(name)?;
    let edge_types = read.edge_types(name)?;
    let mut text = format!(
        "graph type {} (version {}): {}\n",
        show(&graph_type.name),
        graph_type.version,
        describe_config(&graph_type.config)
    );
    text.push_str("node types:\n");
    if node_types.is_empty() {
        text.push_str("  (none)\n");
    }
    for node_type in &node_types {
        let _ = writeln!(
            text,
            "  {} (version {}): schema {}",
            show(&node_type.name),
            node_type.version,
            node_type.schema
        );
    }
    text.push_str("edge types:\n");
    if edge_types.is_empty() {
        text.push_str("  (none)\n");
    }
    for edge_type in &edge_types {
        let _ = writeln!(
            text,
            "  {} (version {}): {} -> {}, schema {}",
            show(&edge_type.name),
            edge_type.version,
            ends(edge_type.endpoints.source.as_deref()),
            ends(edge_type.endpoints.target.as_deref()),
            edge_type.schema
        );
    }
    Ok(Output::new(
        graph_type_json(&graph_type, &node_types, &edge_types),
        text,
    ))
}

fn drop_type(ctx: &Ctx, name: &str, cascade: bool) -> CliResult {
    let store = ctx.open()?;
    let policy = if cascade {
        DropPolicy::Cascade
    } else {
        DropPolicy::Restrict
    };
    let mut tx = store.begin_write()?;
    tx.drop_graph_type(name, policy)?;
    let revision = tx.commit()?;
    Ok(Output::new(
        json!({"dropped": name, "revision": revision}),
        format!("dropped graph type {} (revision {revision})", show(name)),
    ))
}

fn require_graph_type(read: &Reader, name: &str) -> CliResult<GraphType> {
    read.graph_type(name)?.ok_or_else(|| {
        CliError::Store(Error::NotFound {
            entity: Entity::GraphType(name.to_owned()),
        })
    })
}

fn graph_type_json(graph_type: &GraphType, nodes: &[NodeType], edges: &[EdgeType]) -> Value {
    json!({
        "name": graph_type.name,
        "config": graph_type.config,
        "version": graph_type.version,
        "node_types": nodes.iter().map(|t| json!({
            "name": t.name,
            "schema": t.schema,
            "version": t.version,
        })).collect::<Vec<_>>(),
        "edge_types": edges.iter().map(|t| json!({
            "name": t.name,
            "schema": t.schema,
            "source": t.endpoints.source,
            "target": t.endpoints.target,
            "version": t.version,
        })).collect::<Vec<_>>(),
    })
}

fn ends(names: Option<&[String]>) -> String {
    match names {
        None => "any".to_owned(),
        Some(names) => list_or_none(names),
    }
}

/// `directed, acyclic, no self-loops`: the rules in words.
pub fn describe_config(config: &GraphConfig) -> String {
    let kind = match config.kind {
        GraphKind::Directed => "directed",
        GraphKind::Undirected => "undirected",
        GraphKind::Mixed => "mixed",
    };
    let mut parts = vec![kind];
    if config.multi {
        parts.push("multi");
    }
    if !config.allow_self_loops {
        parts.push("no self-loops");
    }
    if config.acyclic {
        parts.push("acyclic");
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_takes_snake_case_and_graphology_names() {
        let doc: ConfigDoc = serde_json::from_value(
            json!({"kind": "directed", "multi": true, "allow_self_loops": false, "acyclic": true}),
        )
        .unwrap();
        assert_eq!(
            doc.config(),
            GraphConfig::directed()
                .multi(true)
                .allow_self_loops(false)
                .acyclic(true)
        );
        let doc: ConfigDoc =
            serde_json::from_value(json!({"type": "undirected", "allowSelfLoops": false})).unwrap();
        assert_eq!(
            doc.config(),
            GraphConfig::undirected().allow_self_loops(false)
        );
        assert!(serde_json::from_value::<ConfigDoc>(json!({"kindd": "directed"})).is_err());
        assert_eq!(ConfigDoc::default().config(), GraphConfig::default());
    }

    #[test]
    fn rules_read_as_words() {
        assert_eq!(
            describe_config(
                &GraphConfig::directed()
                    .acyclic(true)
                    .allow_self_loops(false)
            ),
            "directed, no self-loops, acyclic"
        );
        assert_eq!(describe_config(&GraphConfig::default()), "mixed");
    }
}
