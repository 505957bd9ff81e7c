//! Import: one importer, fed item by item by a streaming parser or from a
//! parsed document.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::Read;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::keys::number_key;
use super::{kind_name, token, GRAPH_TYPE_ATTRIBUTE, NAME_ATTRIBUTE, TYPE_ATTRIBUTE};
use crate::limits::kind_of;
use crate::{Entity, Error, GraphConfig, GraphKind, GraphType, NewEdge, NewNode, Result, WriteTxn};

/// Options for [`import_graphology`] and its streaming forms.
///
/// Defaults: the graph's name and graph type come from the document's
/// attributes; no graph type is defined; [`import_graphology_str`] accepts
/// documents of up to 256 MiB; the writer's page cache is 128 MiB while
/// importing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The graph to create; `None` takes the document's [`NAME_ATTRIBUTE`].
    pub graph: Option<String>,
    /// Its graph type; `None` takes the document's [`GRAPH_TYPE_ATTRIBUTE`].
    /// When both are given they must agree.
    pub graph_type: Option<String>,
    /// Define this graph type in the same transaction and import into it:
    /// its structure is the document's `options` (graphology's defaults —
    /// mixed, not multi, self-loops allowed — for those it leaves out), and
    /// every node and edge type the document uses (its [`TYPE_ATTRIBUTE`]
    /// tags, or `node` and `edge` for untagged items) is defined with the
    /// open schema `{}`. Implies [`graph_type`](ImportOptions::graph_type).
    pub define_type: Option<String>,
    /// The largest document text [`import_graphology_str`] parses, in bytes.
    pub max_document_bytes: usize,
    /// The writer's page cache while importing, in bytes; `None` leaves the
    /// connection's own (32 MiB). A large import inserts into the key and
    /// adjacency indexes at random places, and SQLite writes the pages that
    /// do not fit its cache to the write-ahead log and reads them back:
    /// a larger cache trades memory (at most this much) for time. The
    /// previous size is restored when the import ends.
    pub page_cache_bytes: Option<usize>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            graph: None,
            graph_type: None,
            define_type: None,
            max_document_bytes: 256 * 1024 * 1024,
            page_cache_bytes: Some(128 * 1024 * 1024),
        }
    }
}

impl ImportOptions {
    /// The defaults.
    pub fn new() -> Self {
        ImportOptions::default()
    }

    /// Imports into a graph of this name.
    pub fn graph(mut self, name: impl Into<String>) -> Self {
        self.graph = Some(name.into());
        self
    }

    /// Imports into a graph of this graph type.
    pub fn graph_type(mut self, name: impl Into<String>) -> Self {
        self.graph_type = Some(name.into());
        self
    }

    /// Defines a graph type of this name from the document and imports
    /// into it (see [`ImportOptions::define_type`]).
    pub fn define_type(mut self, name: impl Into<String>) -> Self {
        self.define_type = Some(name.into());
        self
    }

    /// Sets the writer's page cache while importing (see
    /// [`ImportOptions::page_cache_bytes`]).
    pub fn page_cache_bytes(mut self, bytes: Option<usize>) -> Self {
        self.page_cache_bytes = bytes;
        self
    }

    /// Sets the largest document [`import_graphology_str`] accepts.
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_document_bytes = bytes;
        self
    }
}

/// What an import created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The graph's name.
    pub graph: String,
    /// Its graph type.
    pub graph_type: String,
    /// How many nodes it holds.
    pub nodes: usize,
    /// How many edges it holds.
    pub edges: usize,
}

/// Parses `text` as it goes and imports it with [`import_graphology`]'s
/// rules, never building the whole document in memory.
///
/// # Errors
///
/// [`Error::TooLarge`] past [`ImportOptions::max_document_bytes`];
/// otherwise as [`import_graphology_reader`].
pub fn import_graphology_str(
    tx: &mut WriteTxn<'_>,
    text: &str,
    options: &ImportOptions,
) -> Result<Imported> {
    if text.len() > options.max_document_bytes {
        return Err(Error::TooLarge {
            entity: Entity::Graph(options.graph.clone().unwrap_or_default()),
            what: "graphology document",
            actual: text.len(),
            limit: options.max_document_bytes,
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    stream(tx, &mut de, options)
}

/// Imports a graphology document read from `reader` as it is parsed: each
/// node and edge is written as soon as it is read, so memory holds one item
/// (and the node keys), not the document. Wrap a file in a
/// [`BufReader`](std::io::BufReader).
///
/// Members may come in any order. What cannot be written yet is held back
/// until it can: items before the `attributes` that name the graph (or
/// before the graph type's graph schema can check them), edges before the
/// `nodes`, and, in a mixed graph type, edges before the `options` that say
/// which way they point. The document's `options` are checked against its
/// content once it has been read, in the same transaction.
///
/// # Errors
///
/// As [`import_graphology`]; a document that is not JSON is an
/// [`Error::Import`] naming the line and column, and the pointer of the
/// member or item being read (nesting deeper than 128 levels included; a
/// `\u` escape of a lone UTF-16 surrogate, which no string can hold, is
/// named as such).
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{import_graphology_reader, ImportOptions};
/// use alknet_graphs::Store;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// // Plain graphology, numeric keys and graph attributes included.
/// let text = r#"{"attributes": {"name": "t", "title": "Ties"},
///                "options": {"type": "undirected", "multi": false},
///                "nodes": [{"key": 1}, {"key": 2}],
///                "edges": [{"source": 1, "target": 2}]}"#;
/// let options = ImportOptions::new().define_type("ties");
/// let imported = store.write(|tx| import_graphology_reader(tx, text.as_bytes(), &options))?;
/// assert_eq!((imported.nodes, imported.edges), (2, 1));
/// let read = store.begin_read()?;
/// assert!(read.node("t", "1")?.is_some());
/// assert_eq!(read.graph("t")?.unwrap().attributes["title"], "Ties");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn import_graphology_reader(
    tx: &mut WriteTxn<'_>,
    reader: impl Read,
    options: &ImportOptions,
) -> Result<Imported> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    stream(tx, &mut de, options)
}

fn stream<'de, R: serde_json::de::Read<'de>>(
    tx: &mut WriteTxn<'_>,
    de: &mut serde_json::Deserializer<R>,
    options: &ImportOptions,
) -> Result<Imported> {
    with_page_cache(tx, options, |tx| {
        let mut importer = Importer::new(tx, options);
        let parsed = de
            .deserialize_any(DocVisitor {
                importer: &mut importer,
            })
            .and_then(|()| de.end());
        if let Err(e) = parsed {
            return Err(match importer.failed.take() {
                Some(err) => err,
                None => importer.parse_error(&e),
            });
        }
        importer.finish()
    })
}

/// Runs `import` with the writer's page cache at
/// [`ImportOptions::page_cache_bytes`], and puts it back after.
fn with_page_cache<T>(
    tx: &mut WriteTxn<'_>,
    options: &ImportOptions,
    import: impl FnOnce(&mut WriteTxn<'_>) -> Result<T>,
) -> Result<T> {
    let Some(bytes) = options.page_cache_bytes else {
        return import(tx);
    };
    let before = crate::metagraph::page_cache(tx.conn())?;
    let wanted = -((bytes / 1024).max(1) as i64);
    crate::metagraph::set_page_cache(tx.conn(), wanted)?;
    let outcome = import(tx);
    crate::metagraph::set_page_cache(tx.conn(), before)?;
    outcome
}

/// Imports a parsed graphology serialized graph as a new graph.
///
/// Every node and edge is written through the store's usual validation;
/// the first problem rejects the import with its JSON pointer. Run it in
/// its own transaction (as [`Store::write`](crate::Store::write) does) so a
/// rejected import leaves the store unchanged.
///
/// - The graph's name is [`ImportOptions::graph`] or the document's
///   [`NAME_ATTRIBUTE`] (a string); its type is [`ImportOptions::graph_type`]
///   or the document's [`GRAPH_TYPE_ATTRIBUTE`], or the one
///   [`ImportOptions::define_type`] defines. Every other graph attribute
///   is kept as the graph's own
///   ([`Graph::attributes`](crate::Graph::attributes)), validated by the
///   graph type's graph schema.
/// - `options` may be absent. Its `type` must fit the graph type (a
///   directed or undirected document imports into a graph type of the same
///   kind or a mixed one; a mixed document only into a mixed one). What it
///   declares holds for the document as graphology would hold it: with
///   `multi: false` no two edges join the same endpoints (in the same
///   direction, or undirected either way), with `allowSelfLoops: false` no
///   edge is a self-loop, and a `directed` (`undirected`) document has no
///   undirected (directed) edge; each edge must also satisfy the graph
///   type's own rules. Declared options are kept
///   ([`Graph::graphology_options`](crate::Graph::graphology_options)), so
///   an export reproduces them.
/// - Each item's type is its [`TYPE_ATTRIBUTE`], which is removed before the
///   attributes are validated; an item without one takes the graph type's
///   only node (edge) type, and is rejected if there are several.
/// - Keys (and an edge's `source` and `target`) are strings, or numbers,
///   which become the string graphology makes of them ([`number_key`]:
///   `1` → `"1"`, `1.50` → `"1.5"`, `1e21` → `"1e+21"`). An edge without a
///   key gets a generated one (a UUIDv7). `undirected` may only be `true`
///   in a mixed or undirected document.
///
/// # Errors
///
/// [`Error::Import`] naming the graph and the JSON pointer for every
/// problem with the document; when the store refused an item (its schema,
/// endpoint types, parallel edges, self-loops, cycles, sizes, an existing
/// graph) the refusal is its `cause`, so [`Error::kind`], [`Error::cycle`],
/// [`Error::violations`] and the predicates answer for it.
/// [`Error::NotFound`] if [`ImportOptions::graph_type`] names no graph
/// type; [`Error::Protected`] for a document of a built-in graph type,
/// which imports through its domain instead:
/// [`Acl::import_graphology`](crate::acl::Acl::import_graphology),
/// [`Taskgraphs::import_graphology`](crate::taskgraph::Taskgraphs::import_graphology),
/// [`Workflows::import_graphology`](crate::workflow::Workflows::import_graphology).
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{import_graphology, ImportOptions};
/// use alknet_graphs::{Endpoints, GraphConfig, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("social", GraphConfig::undirected())?;
///     tx.define_node_type("social", "person", &json!({"properties": {"age": {"type": "integer"}}}))?;
///     tx.define_edge_type("social", "knows", &json!({}), &Endpoints::any())?;
///     Ok(())
/// })?;
/// // Plain graphology: one node type and one edge type, so no "@type" is needed.
/// let doc = json!({
///     "attributes": {"name": "friends"},
///     "nodes": [{"key": "ada"}, {"key": "bob", "attributes": {"age": "old"}}],
///     "edges": [{"source": "ada", "target": "bob"}]
/// });
/// let options = ImportOptions::new().graph_type("social");
/// let err = store.write(|tx| import_graphology(tx, &doc, &options)).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"graph "friends": graphology document at /nodes/1/attributes/age: node "bob": attribute /age: "old" is not of type "integer""#
/// );
/// assert_eq!(err.kind(), "schema_violation");
/// assert_eq!(err.pointer(), Some("/nodes/1/attributes/age"));
/// assert_eq!(err.violations()[0].instance_path, "/age");
/// assert!(store.begin_read()?.graph("friends")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn import_graphology(
    tx: &mut WriteTxn<'_>,
    doc: &Value,
    options: &ImportOptions,
) -> Result<Imported> {
    with_page_cache(tx, options, |tx| import_value(tx, doc, options))
}

fn import_value(tx: &mut WriteTxn<'_>, doc: &Value, options: &ImportOptions) -> Result<Imported> {
    let mut importer = Importer::new(tx, options);
    importer.doc_name = doc
        .get("attributes")
        .and_then(|a| a.get(NAME_ATTRIBUTE))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let root = doc.as_object().ok_or_else(|| {
        importer.rejection(problem(
            "",
            format!("must be a JSON object, not {}", kind_of(doc)),
        ))
    })?;
    if let Some(unknown) = root.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(importer.rejection(unknown_member(unknown)));
    }
    for member in TOP_LEVEL {
        let Some(value) = root.get(member) else {
            continue;
        };
        match member {
            "attributes" => importer.attributes(value.clone())?,
            "options" => importer.options(value.clone())?,
            _ => {
                let nodes = member == "nodes";
                let items = value.as_array().ok_or_else(|| {
                    importer.rejection(problem(
                        format!("/{member}"),
                        format!("must be an array, not {}", kind_of(value)),
                    ))
                })?;
                for (i, item) in items.iter().enumerate() {
                    importer.item(nodes, i, item.clone())?;
                }
                if nodes {
                    importer.nodes_end()?;
                }
            }
        }
    }
    importer.finish()
}

const TOP_LEVEL: [&str; 4] = ["attributes", "options", "nodes", "edges"];
const OPTIONS: [&str; 3] = ["type", "multi", "allowSelfLoops"];
const NODE_MEMBERS: [&str; 2] = ["key", "attributes"];
const EDGE_MEMBERS: [&str; 5] = ["key", "source", "target", "attributes", "undirected"];

/// The node and edge type an untagged item takes in a graph type defined
/// by the import.
const DEFINED_NODE_TYPE: &str = "node";
const DEFINED_EDGE_TYPE: &str = "edge";

/// A problem at a JSON pointer of the document.
struct Problem {
    pointer: String,
    reason: String,
}

fn problem(pointer: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem {
        pointer: pointer.into(),
        reason: reason.into(),
    }
}

fn unknown_member(name: &str) -> Problem {
    problem(
        format!("/{}", token(name)),
        "unknown member; a graphology document has attributes, options, nodes and edges",
    )
}

/// The graph being written, once its name and type are settled.
struct Target {
    graph: String,
    graph_type: String,
    config: GraphConfig,
    node_types: Vec<String>,
    edge_types: Vec<String>,
    /// Whether the graph type was defined by this import (its node and
    /// edge types are defined as items name them).
    defined: bool,
    /// Whether the graph attributes still have to be written (the graph
    /// was created before the document's attributes were read).
    attributes_pending: bool,
}
impl Target {
    /// Its node types, or its edge types.
    fn types(&self, node: bool) -> &[String] {
        if node {
            &self.node_types
        } else {
            &self.edge_types
        }
    }

    fn types_mut(&mut self, node: bool) -> &mut Vec<String> {
        if node {
            &mut self.node_types
        } else {
            &mut self.edge_types
        }
    }
}

struct Importer<'t, 'c> {
    tx: &'t mut WriteTxn<'c>,
    options: &'t ImportOptions,
    /// The graph's own attributes (without the name and the graph type),
    /// once the document's `attributes` were read.
    attributes: Option<Map<String, Value>>,
    doc_name: Option<String>,
    doc_type: Option<String>,
    /// The document's `options`, once read (checked for shape).
    declared: Option<Map<String, Value>>,
    seen: Vec<&'static str>,
    target: Option<Target>,
    nodes_done: bool,
    pending_nodes: Vec<(usize, Value)>,
    pending_edges: Vec<(usize, Value)>,
    /// Checked items waiting to be written, at most [`BATCH`] of each.
    node_batch: Vec<PlannedNode>,
    edge_batch: Vec<PlannedEdge>,
    /// Node key → its index in the document.
    node_keys: HashMap<String, usize>,
    nodes: usize,
    edges: usize,
    /// Where the parser is, for a parse error.
    at: String,
    /// The rejection that stopped the parser.
    failed: Option<Error>,
}

impl<'t, 'c> Importer<'t, 'c> {
    fn new(tx: &'t mut WriteTxn<'c>, options: &'t ImportOptions) -> Self {
        Importer {
            tx,
            options,
            attributes: None,
            doc_name: None,
            doc_type: None,
            declared: None,
            seen: Vec::new(),
            target: None,
            nodes_done: false,
            pending_nodes: Vec::new(),
            pending_edges: Vec::new(),
            node_batch: Vec::new(),
            edge_batch: Vec::new(),
            node_keys: HashMap::new(),
            nodes: 0,
            edges: 0,
            at: String::new(),
            failed: None,
        }
    }

    /// The graph's name as far as it is known, for errors.
    fn provisional(&self) -> String {
        match &self.target {
            Some(target) => target.graph.clone(),
            None => self
                .options
                .graph
                .clone()
                .or_else(|| self.doc_name.clone())
                .unwrap_or_default(),
        }
    }

    fn rejection(&self, problem: Problem) -> Error {
        Error::Import {
            entity: Entity::Graph(self.provisional()),
            pointer: problem.pointer,
            reason: problem.reason,
            cause: None,
        }
    }

    fn caused(&self, pointer: String, reason: String, cause: Error) -> Error {
        Error::Import {
            entity: Entity::Graph(self.provisional()),
            pointer,
            reason,
            cause: Some(Box::new(cause)),
        }
    }

    fn parse_error(&self, err: &serde_json::Error) -> Error {
        let text = err.to_string();
        let reason = if text.contains("surrogate") || text.contains("hex escape") {
            format!(
                "not valid JSON at line {} column {}: a \\u escape that is a lone UTF-16 surrogate (or incomplete), which a string cannot hold",
                err.line(),
                err.column()
            )
        } else {
            format!("not valid JSON: {text}")
        };
        self.rejection(problem(self.at.clone(), reason))
    }

    /// A problem inside an item whose syntax the stream accepted (a `\u`
    /// escape that no string can hold), at the item's pointer.
    fn item_parse_error(&self, err: &serde_json::Error) -> Error {
        let text = err.to_string();
        let reason = if text.contains("surrogate") || text.contains("hex escape") {
            format!(
                "not valid JSON at line {} column {} of the item: a \\u escape that is a lone UTF-16 surrogate (or incomplete), which a string cannot hold",
                err.line(),
                err.column()
            )
        } else {
            format!("not valid JSON: {text} of the item")
        };
        self.rejection(problem(self.at.clone(), reason))
    }

    fn once(&mut self, member: &'static str) -> Result<()> {
        if self.seen.contains(&member) {
            return Err(self.rejection(problem(
                format!("/{member}"),
                "appears twice in the document",
            )));
        }
        self.seen.push(member);
        Ok(())
    }

    fn attributes(&mut self, value: Value) -> Result<()> {
        self.once("attributes")?;
        let Value::Object(map) = value else {
            return Err(self.rejection(problem(
                "/attributes",
                format!("must be an object, not {}", kind_of(&value)),
            )));
        };
        let mut own = Map::new();
        for (name, value) in map {
            let slot = match name.as_str() {
                NAME_ATTRIBUTE => &mut self.doc_name,
                GRAPH_TYPE_ATTRIBUTE => &mut self.doc_type,
                _ => {
                    own.insert(name, value);
                    continue;
                }
            };
            match value {
                Value::String(text) => *slot = Some(text),
                other => {
                    let pointer = format!("/attributes/{}", token(&name));
                    return Err(self.rejection(problem(
                        pointer,
                        format!("must be a string, not {}", kind_of(&other)),
                    )));
                }
            }
        }
        self.attributes = Some(own);
        if let Some(target) = &self.target {
            if target.attributes_pending {
                self.check_graph_type_agrees(&target.graph_type.clone())?;
            }
        }
        self.advance()
    }

    fn options(&mut self, value: Value) -> Result<()> {
        self.once("options")?;
        let Value::Object(map) = value else {
            return Err(self.rejection(problem(
                "/options",
                format!("must be an object, not {}", kind_of(&value)),
            )));
        };
        if let Some(unknown) = map.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(self.rejection(problem(
                format!("/options/{}", token(unknown)),
                "unknown option; graphology's options are type, multi and allowSelfLoops",
            )));
        }
        for flag in ["multi", "allowSelfLoops"] {
            match map.get(flag) {
                None | Some(Value::Bool(_)) => {}
                Some(other) => {
                    return Err(self.rejection(problem(
                        format!("/options/{flag}"),
                        format!("must be a boolean, not {}", kind_of(other)),
                    )))
                }
            }
        }
        match map.get("type") {
            None => {}
            Some(Value::String(text)) if parse_kind(text).is_some() => {}
            Some(Value::String(text)) => {
                return Err(self.rejection(problem(
                    "/options/type",
                    format!("{text:?} is not one of \"directed\", \"undirected\" or \"mixed\""),
                )))
            }
            Some(other) => {
                return Err(self.rejection(problem(
                    "/options/type",
                    format!("must be a string, not {}", kind_of(other)),
                )))
            }
        }
        self.declared = Some(map);
        if let Some(target) = &self.target {
            let (name, config) = (target.graph_type.clone(), target.config);
            self.check_kind_fits(&name, config)?;
        }
        self.advance()
    }

    /// The document's declared kind, if any.
    fn declared_kind(&self) -> Option<GraphKind> {
        self.declared
            .as_ref()
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .and_then(parse_kind)
    }

    fn declared_flag(&self, flag: &str) -> Option<bool> {
        self.declared
            .as_ref()
            .and_then(|d| d.get(flag))
            .and_then(Value::as_bool)
    }

    fn check_kind_fits(&self, graph_type: &str, config: GraphConfig) -> Result<()> {
        let Some(kind) = self.declared_kind() else {
            return Ok(());
        };
        if kind != config.kind && config.kind != GraphKind::Mixed {
            return Err(self.rejection(problem(
                "/options/type",
                format!(
                    "a {} document does not fit graph type {graph_type:?}, which is {}",
                    kind_name(kind),
                    kind_name(config.kind)
                ),
            )));
        }
        Ok(())
    }

    fn check_graph_type_agrees(&self, graph_type: &str) -> Result<()> {
        match &self.doc_type {
            Some(found) if found != graph_type => Err(self.rejection(problem(
                format!("/attributes/{}", token(GRAPH_TYPE_ATTRIBUTE)),
                format!("is {found:?}, but the import is into graph type {graph_type:?}"),
            ))),
            _ => Ok(()),
        }
    }

    fn item(&mut self, nodes: bool, i: usize, value: Value) -> Result<()> {
        if nodes {
            self.pending_nodes.push((i, value));
        } else {
            self.pending_edges.push((i, value));
        }
        self.advance()
    }

    fn nodes_end(&mut self) -> Result<()> {
        self.once("nodes")?;
        self.nodes_done = true;
        self.advance()
    }

    /// Settles the graph when it can be, and writes what can be written.
    fn advance(&mut self) -> Result<()> {
        if self.target.is_none() && !self.resolve(false)? {
            return Ok(());
        }
        if !self.pending_nodes.is_empty() {
            for (i, value) in std::mem::take(&mut self.pending_nodes) {
                self.node(i, value)?;
            }
        }
        let mixed = self
            .target
            .as_ref()
            .is_some_and(|t| t.config.kind == GraphKind::Mixed);
        let edges_ready = self.nodes_done && (!mixed || self.seen.contains(&"options"));
        if self.nodes_done {
            self.flush_nodes()?;
        }
        if edges_ready && !self.pending_edges.is_empty() {
            for (i, value) in std::mem::take(&mut self.pending_edges) {
                self.edge(i, value)?;
            }
        }
        Ok(())
    }

    /// Creates the graph (defining its type if asked) once its name and
    /// type are known; `at_end` when the document has been read. Returns
    /// whether the graph exists now.
    fn resolve(&mut self, at_end: bool) -> Result<bool> {
        let attributes_seen = self.attributes.is_some() || at_end;
        let Some(name) = self.graph_name(attributes_seen)? else {
            return Ok(false);
        };
        let Some((row, defined)) = self.settled_graph_type(attributes_seen, at_end)? else {
            return Ok(false);
        };
        if self.attributes.is_none() && !at_end && row.graph_schema.is_some() {
            // The graph schema must see the attributes at creation.
            return Ok(false);
        }
        self.check_kind_fits(&row.name, row.config)?;
        let node_types = self
            .tx
            .node_types(&row.name)?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let edge_types = self
            .tx
            .edge_types(&row.name)?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let own = Value::Object(self.attributes.clone().unwrap_or_default());
        if let Err(e) = self.tx.create_graph_with_attributes(&name, &row.name, &own) {
            return Err(self.creation_error(&name, e));
        }
        self.target = Some(Target {
            graph: name,
            graph_type: row.name,
            config: row.config,
            node_types,
            edge_types,
            defined,
            attributes_pending: self.attributes.is_none(),
        });
        Ok(true)
    }

    /// The graph's name: the options', else the document's; `None` while
    /// the document's attributes may still name it.
    fn graph_name(&self, attributes_seen: bool) -> Result<Option<String>> {
        match (&self.options.graph, &self.doc_name) {
            (Some(name), _) => Ok(Some(name.clone())),
            (None, Some(name)) => Ok(Some(name.clone())),
            (None, None) if !attributes_seen => Ok(None),
            (None, None) => Err(self.rejection(problem(
                format!("/attributes/{NAME_ATTRIBUTE}"),
                "missing, and the import options name no graph",
            ))),
        }
    }

    /// The graph type to import into, defined from the document's options
    /// when the import defines it (then with `true`); `None` while what
    /// decides it is still to be read.
    fn settled_graph_type(
        &mut self,
        attributes_seen: bool,
        at_end: bool,
    ) -> Result<Option<(GraphType, bool)>> {
        let type_pointer = format!("/attributes/{}", token(GRAPH_TYPE_ATTRIBUTE));
        let wanted = self
            .options
            .define_type
            .clone()
            .or_else(|| self.options.graph_type.clone());
        if wanted.is_none() && self.doc_type.is_none() && !attributes_seen {
            return Ok(None);
        }
        if self.options.define_type.is_some() && !self.seen.contains(&"options") && !at_end {
            return Ok(None);
        }
        let row = match (&wanted, &self.doc_type) {
            (Some(wanted), Some(found)) if wanted != found => {
                return Err(self.rejection(problem(
                    type_pointer,
                    format!("is {found:?}, but the import is into graph type {wanted:?}"),
                )))
            }
            (Some(wanted), _) if self.options.define_type.is_some() => {
                let config = GraphConfig {
                    kind: self.declared_kind().unwrap_or(GraphKind::Mixed),
                    multi: self.declared_flag("multi").unwrap_or(false),
                    allow_self_loops: self.declared_flag("allowSelfLoops").unwrap_or(true),
                    acyclic: false,
                };
                return Ok(Some((self.tx.define_graph_type(wanted, config)?, true)));
            }
            (Some(wanted), _) => self.tx.graph_type(wanted)?.ok_or_else(|| Error::NotFound {
                entity: Entity::GraphType(wanted.clone()),
            })?,
            (None, Some(found)) => match self.tx.graph_type(found)? {
                Some(row) => row,
                None => {
                    let found = found.clone();
                    return Err(self.rejection(problem(
                        type_pointer,
                        format!("graph type {found:?} does not exist"),
                    )));
                }
            },
            (None, None) => {
                return Err(self.rejection(problem(
                    type_pointer,
                    "missing, and the import options name no graph type",
                )))
            }
        };
        Ok(Some((row, false)))
    }

    /// A refusal to create the graph `name`, at the document's name when
    /// the name is the document's.
    fn creation_error(&self, name: &str, e: Error) -> Error {
        let from_document = self.options.graph.is_none();
        let name_pointer = format!("/attributes/{NAME_ATTRIBUTE}");
        match &e {
            Error::AlreadyExists { .. } => self.caused(
                if from_document {
                    name_pointer
                } else {
                    String::new()
                },
                format!("graph {name:?} already exists"),
                e,
            ),
            Error::Invalid { reason, .. } if from_document => {
                let reason = reason.clone();
                self.caused(name_pointer, reason, e)
            }
            Error::TooLarge {
                what: "name",
                actual,
                limit,
                ..
            } if from_document => {
                let reason = format!("the name is {actual} bytes, over the limit of {limit}");
                self.caused(name_pointer, reason, e)
            }
            _ => self.graph_attributes_error(e),
        }
    }

    /// A refusal of the graph's own attributes, at their pointer.
    fn graph_attributes_error(&self, err: Error) -> Error {
        match &err {
            Error::SchemaViolation { violations, .. } => {
                let first = violations
                    .first()
                    .map(|v| v.instance_path.clone())
                    .unwrap_or_default();
                let details: Vec<String> = violations.iter().map(ToString::to_string).collect();
                self.caused(format!("/attributes{first}"), details.join("; "), err)
            }
            Error::TooLarge { actual, limit, .. } => {
                let reason = format!("attributes are {actual} bytes, over the limit of {limit}");
                self.caused("/attributes".to_owned(), reason, err)
            }
            Error::Invalid { reason, .. } => {
                let reason = reason.clone();
                self.caused("/attributes".to_owned(), reason, err)
            }
            _ => err,
        }
    }

    /// Checks node `i` and queues it for writing; a problem with it is
    /// reported after the nodes before it are written, so the first
    /// problem in the document is the one reported.
    fn node(&mut self, i: usize, item: Value) -> Result<()> {
        match self.plan_node(i, item) {
            Ok(planned) => {
                self.node_keys.insert(planned.key.clone(), i);
                self.node_batch.push(planned);
                if self.node_batch.len() >= BATCH {
                    self.flush_nodes()?;
                }
                Ok(())
            }
            Err(err) => {
                self.flush_nodes()?;
                Err(err)
            }
        }
    }

    fn plan_node(&mut self, i: usize, item: Value) -> Result<PlannedNode> {
        let base = format!("/nodes/{i}");
        let mut object = self.members(item, &base, &NODE_MEMBERS, "node")?;
        let key = self.key(object.get("key"), &format!("{base}/key"))?;
        if let Some(first) = self.node_keys.get(&key) {
            return Err(self.rejection(problem(
                format!("{base}/key"),
                format!("node {key:?} appears twice (first at /nodes/{first})"),
            )));
        }
        let (node_type, attributes) =
            self.typed_attributes(object.remove("attributes"), &base, true)?;
        Ok(PlannedNode {
            index: i,
            key,
            node_type,
            attributes,
        })
    }

    /// Writes the queued nodes through the bulk path; a refusal is
    /// restated at the pointer of the node refused.
    fn flush_nodes(&mut self) -> Result<()> {
        if self.node_batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.node_batch);
        let graph = self.graph();
        match write_nodes(self.tx, &graph, &batch) {
            Ok(()) => {
                self.nodes += batch.len();
                Ok(())
            }
            Err(err) => {
                // The rows before the refused one are in the transaction.
                let written = self.tx.node_count(&graph)? as usize - self.nodes;
                let Some(refused) = batch.get(written) else {
                    return Err(err);
                };
                let base = format!("/nodes/{}", refused.index);
                Err(self.at_item(&base, "node", &refused.key, err))
            }
        }
    }

    /// Checks edge `i` and queues it for writing (see [`Importer::node`]).
    fn edge(&mut self, i: usize, item: Value) -> Result<()> {
        match self.plan_edge(i, item) {
            Ok(planned) => {
                self.edge_batch.push(planned);
                if self.edge_batch.len() >= BATCH {
                    self.flush_edges()?;
                }
                Ok(())
            }
            Err(err) => {
                self.flush_edges()?;
                Err(err)
            }
        }
    }

    fn plan_edge(&mut self, i: usize, item: Value) -> Result<PlannedEdge> {
        let base = format!("/edges/{i}");
        let mut object = self.members(item, &base, &EDGE_MEMBERS, "edge")?;
        let key = match object.get("key") {
            None => None,
            Some(value) => Some(self.key(Some(value), &format!("{base}/key"))?),
        };
        let mut ends = [String::new(), String::new()];
        for (end, slot) in ["source", "target"].into_iter().zip(ends.iter_mut()) {
            let pointer = format!("{base}/{end}");
            let node = self.key(object.get(end), &pointer)?;
            if !self.node_keys.contains_key(&node) {
                return Err(self.rejection(problem(
                    pointer,
                    format!("node {node:?} is not in the document"),
                )));
            }
            *slot = node;
        }
        let undirected = match object.get("undirected") {
            None => None,
            Some(Value::Bool(flag)) => Some(*flag),
            Some(other) => {
                return Err(self.rejection(problem(
                    format!("{base}/undirected"),
                    format!("must be a boolean, not {}", kind_of(other)),
                )))
            }
        };
        let config_kind = self
            .target
            .as_ref()
            .map_or(GraphKind::Mixed, |t| t.config.kind);
        let doc_kind = self.declared_kind().unwrap_or(config_kind);
        let undirected = match (doc_kind, undirected) {
            (GraphKind::Directed, Some(true)) => {
                return Err(self.rejection(problem(
                    format!("{base}/undirected"),
                    "an edge of a directed graph cannot be undirected",
                )))
            }
            (GraphKind::Undirected, Some(false)) => {
                return Err(self.rejection(problem(
                    format!("{base}/undirected"),
                    "an edge of an undirected graph cannot be directed",
                )))
            }
            (GraphKind::Undirected, _) => true,
            (_, flag) => flag.unwrap_or(false),
        };
        let (edge_type, attributes) =
            self.typed_attributes(object.remove("attributes"), &base, false)?;
        let [source, target] = ends;
        Ok(PlannedEdge {
            index: i,
            key,
            edge_type,
            source,
            target,
            undirected,
            attributes,
        })
    }

    /// Writes the queued edges through the bulk path; a refusal is
    /// restated at the pointer of the edge refused.
    fn flush_edges(&mut self) -> Result<()> {
        if self.edge_batch.is_empty() {
            return Ok(());
        }
        self.flush_nodes()?;
        let batch = std::mem::take(&mut self.edge_batch);
        let graph = self.graph();
        match write_edges(self.tx, &graph, &batch) {
            Ok(()) => {
                self.edges += batch.len();
                Ok(())
            }
            Err(err) => {
                let written = self.tx.edge_count(&graph)? as usize - self.edges;
                let Some(refused) = batch.get(written) else {
                    return Err(err);
                };
                let base = format!("/edges/{}", refused.index);
                let key = match err.entity() {
                    Some(Entity::Edge { key, .. }) => key.clone(),
                    _ => refused.key.clone().unwrap_or_default(),
                };
                if err.is_already_exists() {
                    let reason = format!("edge {key:?} appears twice in the document");
                    return Err(self.caused(format!("{base}/key"), reason, err));
                }
                Err(self.at_item(&base, "edge", &key, err))
            }
        }
    }

    fn graph(&self) -> String {
        self.target
            .as_ref()
            .map(|t| t.graph.clone())
            .unwrap_or_default()
    }

    /// An item as an object with only the members graphology defines.
    fn members(
        &self,
        item: Value,
        base: &str,
        allowed: &[&str],
        what: &str,
    ) -> Result<Map<String, Value>> {
        let Value::Object(object) = item else {
            return Err(self.rejection(problem(
                base,
                format!("a {what} must be an object, not {}", kind_of(&item)),
            )));
        };
        if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            let mut list = String::new();
            for (i, name) in allowed.iter().enumerate() {
                let sep = match i {
                    0 => "",
                    _ if i + 1 == allowed.len() => " and ",
                    _ => ", ",
                };
                let _ = write!(list, "{sep}{name}");
            }
            return Err(self.rejection(problem(
                format!("{base}/{}", token(unknown)),
                format!("unknown member; a graphology {what} has {list}"),
            )));
        }
        Ok(object)
    }

    /// A key: a string, or a number as graphology stringifies it.
    fn key(&self, value: Option<&Value>, pointer: &str) -> Result<String> {
        match value {
            None => Err(self.rejection(problem(pointer, "missing"))),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number_key(number)),
            Some(other) => Err(self.rejection(problem(
                pointer,
                format!("must be a string or a number, not {}", kind_of(other)),
            ))),
        }
    }

    /// An item's type (from [`TYPE_ATTRIBUTE`] or the only type there is)
    /// and its attributes without the tag; in a graph type this import
    /// defines, a type not seen before is defined.
    fn typed_attributes(
        &mut self,
        value: Option<Value>,
        base: &str,
        node: bool,
    ) -> Result<(String, Value)> {
        let what = if node { "node" } else { "edge" };
        let pointer = format!("{base}/attributes");
        let mut attributes = match value {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(self.rejection(problem(
                    pointer,
                    format!("must be an object, not {}", kind_of(&other)),
                )))
            }
        };
        let Some(target) = &self.target else {
            return Err(self.rejection(problem(base, "the graph is not settled")));
        };
        let tag_pointer = format!("{pointer}/{}", token(TYPE_ATTRIBUTE));
        let tag = attributes.shift_remove(TYPE_ATTRIBUTE);
        let wanted = item_type(target, tag, base, &pointer, node).map_err(|p| self.rejection(p))?;
        if !target.types(node).contains(&wanted) {
            if !target.defined {
                let graph_type = &target.graph_type;
                return Err(self.rejection(problem(
                    tag_pointer,
                    format!("{what} type {wanted:?} is not defined in graph type {graph_type:?}"),
                )));
            }
            self.define_item_type(&wanted, tag_pointer, node)?;
        }
        Ok((wanted, Value::Object(attributes)))
    }

    /// Defines the open node or edge type `name` in the graph type this
    /// import defines.
    fn define_item_type(&mut self, name: &str, tag_pointer: String, node: bool) -> Result<()> {
        let Some(target) = self.target.as_mut() else {
            return Ok(());
        };
        let open = Value::Object(Map::new());
        let defined = if node {
            self.tx
                .define_node_type(&target.graph_type, name, &open)
                .map(|_| ())
        } else {
            self.tx
                .define_edge_type(&target.graph_type, name, &open, &crate::Endpoints::any())
                .map(|_| ())
        };
        if let Err(e) = defined {
            let reason = e.to_string();
            return Err(self.caused(tag_pointer, reason, e));
        }
        target.types_mut(node).push(name.to_owned());
        Ok(())
    }

    /// A store rejection of the item at `base`, restated with its pointer.
    fn at_item(&self, base: &str, what: &str, key: &str, err: Error) -> Error {
        let (pointer, detail) = match &err {
            Error::SchemaViolation { violations, .. } => {
                let first = violations
                    .first()
                    .map(|v| v.instance_path.as_str())
                    .unwrap_or("");
                let details: Vec<String> = violations.iter().map(ToString::to_string).collect();
                (format!("{base}/attributes{first}"), details.join("; "))
            }
            Error::Invalid { reason, .. } => (base.to_owned(), reason.clone()),
            Error::Rule { rule, .. } => (base.to_owned(), rule.to_string()),
            Error::TooLarge {
                what: part,
                actual,
                limit,
                ..
            } => {
                let pointer = match *part {
                    "key" => format!("{base}/key"),
                    "attributes" => format!("{base}/attributes"),
                    _ => base.to_owned(),
                };
                (
                    pointer,
                    format!("{part} is {actual} bytes, over the limit of {limit}"),
                )
            }
            Error::Cycle { .. } | Error::AlreadyExists { .. } | Error::NotFound { .. } => {
                let text = err.to_string();
                let detail = match err.entity() {
                    Some(entity) => text
                        .strip_prefix(&entity.to_string())
                        .map(|rest| rest.trim_start_matches(": ").trim_start())
                        .unwrap_or(&text)
                        .to_owned(),
                    None => text.clone(),
                };
                (base.to_owned(), detail)
            }
            _ => return err,
        };
        self.caused(pointer, format!("{what} {key:?}: {detail}"), err)
    }

    /// Writes what is held back, checks the declared options against the
    /// content, and keeps the graph's attributes and options.
    fn finish(mut self) -> Result<Imported> {
        self.nodes_done = true;
        if self.target.is_none() {
            self.resolve(true)?;
        }
        self.seen.push("options");
        self.advance()?;
        self.flush_nodes()?;
        self.flush_edges()?;
        let Some(target) = self.target.take() else {
            return Err(self.rejection(problem("", "the graph is not settled")));
        };
        let graph = target.graph.clone();
        self.target = Some(target);
        if self.target.as_ref().is_some_and(|t| t.attributes_pending) {
            if let Some(own) = self.attributes.clone() {
                if let Err(e) = self
                    .tx
                    .replace_graph_attributes(&graph, &Value::Object(own))
                {
                    return Err(self.graph_attributes_error(e));
                }
            }
        }
        self.check_declared(&graph)?;
        if let Some(declared) = self.declared.take() {
            self.tx.set_graphology_options(&graph, Some(&declared))?;
        }
        let graph_type = self
            .target
            .as_ref()
            .map(|t| t.graph_type.clone())
            .unwrap_or_default();
        Ok(Imported {
            graph,
            graph_type,
            nodes: self.nodes,
            edges: self.edges,
        })
    }

    /// `multi: false` and `allowSelfLoops: false` hold for the imported
    /// edges, as graphology holds them for a document.
    fn check_declared(&self, graph: &str) -> Result<()> {
        let conn = self.tx.conn();
        if self.declared_flag("allowSelfLoops") == Some(false) {
            if let Some((id, key, node)) = crate::metagraph::first_self_loop(conn, graph)? {
                let i = crate::metagraph::edge_position(conn, graph, id)?;
                return Err(self.rejection(problem(
                    format!("/edges/{i}"),
                    format!(
                        "edge {key:?}: self-loop on node {node:?}, and the document's options say allowSelfLoops: false"
                    ),
                )));
            }
        }
        if self.declared_flag("multi") != Some(true) && self.declared.is_some() {
            if let Some((id, key, first)) = crate::metagraph::first_parallel(conn, graph)? {
                let i = crate::metagraph::edge_position(conn, graph, id)?;
                return Err(self.rejection(problem(
                    format!("/edges/{i}"),
                    format!(
                        "edge {key:?}: parallel to edge {first:?}, and the document's options say multi: false"
                    ),
                )));
            }
        }
        Ok(())
    }
}

fn parse_kind(text: &str) -> Option<GraphKind> {
    match text {
        "directed" => Some(GraphKind::Directed),
        "undirected" => Some(GraphKind::Undirected),
        "mixed" => Some(GraphKind::Mixed),
        _ => None,
    }
}
/// The type an item's tag names; without a tag, the type this import
/// defines for untagged items, or the graph type's only one.
fn item_type(
    target: &Target,
    tag: Option<Value>,
    base: &str,
    pointer: &str,
    node: bool,
) -> std::result::Result<String, Problem> {
    let what = if node { "node" } else { "edge" };
    let graph_type = &target.graph_type;
    match tag {
        Some(Value::String(name)) => Ok(name),
        Some(other) => Err(problem(
            format!("{pointer}/{}", token(TYPE_ATTRIBUTE)),
            format!("must be a string, not {}", kind_of(&other)),
        )),
        None if target.defined => Ok(if node {
            DEFINED_NODE_TYPE
        } else {
            DEFINED_EDGE_TYPE
        }
        .to_owned()),
        None => match target.types(node) {
            [only] => Ok(only.clone()),
            [] => Err(problem(
                base,
                format!("graph type {graph_type:?} has no {what} types"),
            )),
            several => {
                let names: Vec<String> = several.iter().map(|t| format!("{t:?}")).collect();
                Err(problem(
                    pointer,
                    format!(
                        "no {TYPE_ATTRIBUTE:?}, and graph type {graph_type:?} has {} {what} types ({}), so the type is ambiguous",
                        several.len(),
                        names.join(", ")
                    ),
                ))
            }
        },
    }
}

/// How many checked nodes (edges) an import holds before writing them.
const BATCH: usize = 1024;

/// A checked node, ready to write.
struct PlannedNode {
    index: usize,
    key: String,
    node_type: String,
    attributes: Value,
}

/// A checked edge, ready to write.
struct PlannedEdge {
    index: usize,
    key: Option<String>,
    edge_type: String,
    source: String,
    target: String,
    undirected: bool,
    attributes: Value,
}

/// The one place an import writes nodes: the store's bulk path, which
/// holds each row to the rules of `add_node`.
fn write_nodes(tx: &mut WriteTxn<'_>, graph: &str, batch: &[PlannedNode]) -> Result<()> {
    let rows = batch
        .iter()
        .map(|n| NewNode::new(&n.node_type, &n.key, &n.attributes));
    tx.add_nodes(graph, rows).map(|_| ())
}

/// The one place an import writes edges: the store's bulk path, which
/// holds each row to the rules of `add_edge`.
fn write_edges(tx: &mut WriteTxn<'_>, graph: &str, batch: &[PlannedEdge]) -> Result<()> {
    let rows = batch.iter().map(|e| {
        let mut new = NewEdge::new(&e.edge_type, &e.source, &e.target)
            .attributes(&e.attributes)
            .undirected(e.undirected);
        new.key = e.key.as_deref();
        new
    });
    tx.add_edges(graph, rows).map(|_| ())
}

// ---------------------------------------------------------------------------
// The streaming parser: hands each member and item to the importer as it
// is read.

/// Stops the parser with the importer's rejection.
fn stop<E: de::Error>(importer: &mut Importer<'_, '_>, err: Error) -> E {
    importer.failed = Some(err);
    E::custom("import rejected")
}

fn refuse<E: de::Error>(importer: &mut Importer<'_, '_>, p: Problem) -> E {
    let err = importer.rejection(p);
    stop(importer, err)
}

struct DocVisitor<'i, 't, 'c> {
    importer: &'i mut Importer<'t, 'c>,
}

/// What a JSON value is, for "must be an object, not …".
macro_rules! not_a {
    ($name:ident, $ty:ty, $kind:expr) => {
        fn $name<E: de::Error>(self, _: $ty) -> std::result::Result<Self::Value, E> {
            Err(self.wrong($kind))
        }
    };
}

impl DocVisitor<'_, '_, '_> {
    fn wrong<E: de::Error>(self, kind: &str) -> E {
        refuse(
            self.importer,
            problem("", format!("must be a JSON object, not {kind}")),
        )
    }
}

impl<'de> Visitor<'de> for DocVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a graphology document (a JSON object)")
    }

    not_a!(visit_bool, bool, "boolean");
    not_a!(visit_i64, i64, "number");
    not_a!(visit_u64, u64, "number");
    not_a!(visit_f64, f64, "number");
    not_a!(visit_str, &str, "string");

    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Err(self.wrong("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> std::result::Result<(), A::Error> {
        Err(self.wrong("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let importer = self.importer;
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if first && key == "$serde_json::private::Number" {
                return Err(refuse(
                    importer,
                    problem("", "must be a JSON object, not number"),
                ));
            }
            first = false;
            importer.at = format!("/{}", token(&key));
            match key.as_str() {
                "attributes" | "options" => {
                    let value: Value = map.next_value()?;
                    let done = if key == "attributes" {
                        importer.attributes(value)
                    } else {
                        importer.options(value)
                    };
                    done.map_err(|e| stop(importer, e))?;
                }
                "nodes" | "edges" => {
                    let nodes = key == "nodes";
                    map.next_value_seed(ItemsSeed {
                        importer: &mut *importer,
                        nodes,
                    })?;
                    if nodes {
                        importer.nodes_end().map_err(|e| stop(importer, e))?;
                    } else if importer.seen.contains(&"edges") {
                        return Err(refuse(
                            importer,
                            problem("/edges", "appears twice in the document"),
                        ));
                    } else {
                        importer.seen.push("edges");
                    }
                }
                other => return Err(refuse(importer, unknown_member(other))),
            }
        }
        importer.at = String::new();
        Ok(())
    }
}

struct ItemsSeed<'i, 't, 'c> {
    importer: &'i mut Importer<'t, 'c>,
    nodes: bool,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ItemsSeed<'_, '_, '_> {
    fn wrong<E: de::Error>(self, kind: &str) -> E {
        let member = if self.nodes { "/nodes" } else { "/edges" };
        refuse(
            self.importer,
            problem(member, format!("must be an array, not {kind}")),
        )
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of graphology items")
    }

    not_a!(visit_bool, bool, "boolean");
    not_a!(visit_i64, i64, "number");
    not_a!(visit_u64, u64, "number");
    not_a!(visit_f64, f64, "number");
    not_a!(visit_str, &str, "string");

    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Err(self.wrong("null"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let number = matches!(
            map.next_key::<String>()?.as_deref(),
            Some("$serde_json::private::Number")
        );
        Err(self.wrong(if number { "number" } else { "object" }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let member = if self.nodes { "nodes" } else { "edges" };
        let importer = self.importer;
        let mut i = 0usize;
        loop {
            importer.at = format!("/{member}/{i}");
            // The item's text is taken from the stream whole (checking its
            // syntax), then parsed from memory: parsing strings straight
            // from a reader goes a byte at a time, four times slower.
            let Some(raw) = seq.next_element::<Box<RawValue>>()? else {
                break;
            };
            let item: Value = match serde_json::from_str(raw.get()) {
                Ok(item) => item,
                Err(e) => {
                    let err = importer.item_parse_error(&e);
                    return Err(stop(importer, err));
                }
            };
            drop(raw);
            importer
                .item(self.nodes, i, item)
                .map_err(|e| stop(importer, e))?;
            i += 1;
        }
        importer.at = format!("/{member}");
        Ok(())
    }
}
