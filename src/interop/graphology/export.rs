//! Export: the document written straight to an `io::Write`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{kind_name, GRAPH_TYPE_ATTRIBUTE, NAME_ATTRIBUTE, TYPE_ATTRIBUTE};
use crate::{Edge, Entity, Error, GraphConfig, GraphKind, ListOptions, Node, Reader, Result};

/// Which items an export tags with [`TYPE_ATTRIBUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TypeTags {
    /// Every node and edge (the default): the document imports into any
    /// graph type with the same type names.
    #[default]
    Always,
    /// Only where the graph type has more than one node type (for nodes) or
    /// edge type (for edges). The output is plain graphology where the type
    /// is unambiguous, and items without attributes are written as graphology
    /// writes them, without an `attributes` member. Import still works as
    /// long as the graph type keeps a single node (edge) type.
    WhenAmbiguous,
}

/// Options for [`export_graphology_with`] and [`write_graphology`].
///
/// Defaults: [`TypeTags::Always`], compact output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Which items carry [`TYPE_ATTRIBUTE`].
    pub type_tags: TypeTags,
    /// Whether [`write_graphology`] indents the document (two spaces, one
    /// member per line) instead of writing it on one line.
    pub pretty: bool,
}

impl ExportOptions {
    /// The defaults.
    pub fn new() -> Self {
        ExportOptions::default()
    }

    /// Sets which items carry [`TYPE_ATTRIBUTE`].
    pub fn type_tags(mut self, type_tags: TypeTags) -> Self {
        self.type_tags = type_tags;
        self
    }

    /// Sets whether [`write_graphology`] pretty-prints.
    pub fn pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }
}

/// Exports `graph` as a graphology serialized graph, tagging every item
/// with its type. See [`export_graphology_with`].
///
/// # Errors
///
/// As [`export_graphology_with`].
pub fn export_graphology(reader: &Reader, graph: &str) -> Result<Value> {
    export_graphology_with(reader, graph, &ExportOptions::default())
}

/// Exports `graph` in graphology's serialized format as a JSON value; see
/// [`write_graphology`] for the format, and use it instead to write a large
/// graph without holding the document in memory.
///
/// # Errors
///
/// As [`write_graphology`].
pub fn export_graphology_with(
    reader: &Reader,
    graph: &str,
    options: &ExportOptions,
) -> Result<Value> {
    let mut bytes = Vec::new();
    write_graphology(reader, graph, options, &mut bytes)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::corrupt("exported graphology document", e))
}

/// Writes `graph` in graphology's serialized format to `out`:
/// `{options, attributes, nodes, edges}`, nodes and edges in key order, and
/// returns the number of bytes written.
///
/// - `attributes` holds [`GRAPH_TYPE_ATTRIBUTE`] and [`NAME_ATTRIBUTE`],
///   then the graph's own attributes
///   ([`Graph::attributes`](crate::Graph::attributes));
/// - `options` are the ones the graph's document declared
///   ([`Graph::graphology_options`](crate::Graph::graphology_options)),
///   exactly, when it was imported with some. Otherwise they are derived
///   from the graph type: its `type` and `allowSelfLoops`, and `multi`,
///   which is also `true` when the graph holds two edges of *different*
///   edge types between the same endpoints (in the same direction, or both
///   undirected). This store forbids parallel edges per edge type,
///   graphology per graph, so such a graph is a multigraph to graphology;
///   [`import_graphology`](super::import_graphology) accepts `multi: true`
///   back into a graph type that is not multi and checks each edge instead;
/// - items carry their type in [`TYPE_ATTRIBUTE`] (see [`TypeTags`]), and an
///   item whose attributes end up empty has no `attributes` member;
/// - `undirected: true` appears only on undirected edges of mixed graphs, as
///   graphology writes it.
///
/// # Errors
///
/// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`] if a
/// node or edge has an attribute named [`TYPE_ATTRIBUTE`] itself, or the
/// graph's own attributes hold [`GRAPH_TYPE_ATTRIBUTE`] or
/// [`NAME_ATTRIBUTE`] (the document could not tell them apart);
/// [`Error::Invalid`] naming the graph if `out` fails.
///
/// # Complexity
///
/// O(V + E) rows read, a page of 10,000 at a time; memory holds one page,
/// not the document.
///
/// # Example
///
/// ```
/// use alknet_graphs::interop::{write_graphology, ExportOptions, TypeTags};
/// use alknet_graphs::{Endpoints, GraphConfig, NewEdge, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("road", GraphConfig::undirected())?;
///     tx.define_node_type("road", "town", &json!({}))?;
///     tx.define_edge_type("road", "way", &json!({}), &Endpoints::any())?;
///     tx.create_graph_with_attributes("map", "road", &json!({"year": 1850}))?;
///     tx.add_node("map", "a", "town", &json!({}))?;
///     tx.add_node("map", "b", "town", &json!({}))?;
///     tx.add_edge("map", NewEdge::new("way", "a", "b").key("ab"))?;
///     Ok(())
/// })?;
/// let mut out = Vec::new();
/// let options = ExportOptions::new().type_tags(TypeTags::WhenAmbiguous);
/// store.read(|r| write_graphology(r, "map", &options, &mut out))?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     r#"{"options":{"type":"undirected","multi":false,"allowSelfLoops":true},"attributes":{"@graphType":"road","name":"map","year":1850},"nodes":[{"key":"a"},{"key":"b"}],"edges":[{"key":"ab","source":"a","target":"b"}]}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_graphology(
    reader: &Reader,
    graph: &str,
    options: &ExportOptions,
    out: impl Write,
) -> Result<u64> {
    write_graphology_with_progress(reader, graph, options, out, &|_| {})
}

/// [`write_graphology`], calling `progress` with the number of nodes and
/// edges written so far after each one (for a progress bar: the total is
/// [`Reader::node_count`] + [`Reader::edge_count`]).
///
/// # Errors
///
/// As [`write_graphology`].
///
/// # Example
///
/// ```
/// use std::cell::Cell;
/// use alknet_graphs::interop::{write_graphology_with_progress, ExportOptions};
/// use alknet_graphs::{GraphConfig, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("g.db"))?;
/// store.write(|tx| {
///     tx.define_graph_type("plain", GraphConfig::default())?;
///     tx.define_node_type("plain", "n", &json!({}))?;
///     tx.create_graph("g", "plain")?;
///     tx.add_node("g", "a", "n", &json!({}))?;
///     tx.add_node("g", "b", "n", &json!({}))
/// })?;
/// let seen = Cell::new(0);
/// let read = store.begin_read()?;
/// write_graphology_with_progress(&read, "g", &ExportOptions::new(), std::io::sink(), &|n| seen.set(n))?;
/// assert_eq!(seen.get(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_graphology_with_progress(
    reader: &Reader,
    graph: &str,
    options: &ExportOptions,
    out: impl Write,
    progress: &dyn Fn(u64),
) -> Result<u64> {
    let found = reader.graph(graph)?.ok_or_else(|| Error::NotFound {
        entity: Entity::Graph(graph.to_owned()),
    })?;
    let graph_type = reader
        .graph_type(&found.graph_type)?
        .ok_or_else(|| Error::NotFound {
            entity: Entity::GraphType(found.graph_type.clone()),
        })?;
    let config = graph_type.config;
    let always = options.type_tags == TypeTags::Always;
    let tag_nodes = always || reader.node_types(&graph_type.name)?.len() != 1;
    let tag_edges = always || reader.edge_types(&graph_type.name)?.len() != 1;

    let doc_options = match found.graphology_options {
        Some(declared) => declared,
        None => derived_options(reader, graph, config)?,
    };
    let attributes = document_attributes(graph, &graph_type.name, &found.name, found.attributes)?;

    let failed = RefCell::new(None);
    let done = std::cell::Cell::new(0u64);
    let mixed = config.kind == GraphKind::Mixed;
    let nodes = Items {
        pages: RefCell::new(Pages::new(reader, graph, Reader::nodes)),
        item: |node: Node| node_item(graph, node, tag_nodes),
        failed: &failed,
        done: &done,
        progress,
    };
    let edges = Items {
        pages: RefCell::new(Pages::new(reader, graph, Reader::edges)),
        item: |edge: Edge| edge_item(graph, edge, tag_edges, mixed),
        failed: &failed,
        done: &done,
        progress,
    };
    let doc = Document {
        options: &doc_options,
        attributes: &attributes,
        nodes: &nodes,
        edges: &edges,
    };
    write_document(&doc, options.pretty, out, &failed, graph)
}

/// The graphology options of a graph not imported with its own: its graph
/// type's kind and self-loop rule, and whether it is or may be multi.
fn derived_options(
    reader: &Reader,
    graph: &str,
    config: GraphConfig,
) -> Result<Map<String, Value>> {
    let mut derived = Map::new();
    derived.insert("type".into(), Value::from(kind_name(config.kind)));
    let multi = config.multi || crate::metagraph::has_parallel_types(reader.conn(), graph)?;
    derived.insert("multi".into(), Value::Bool(multi));
    derived.insert(
        "allowSelfLoops".into(),
        Value::Bool(config.allow_self_loops),
    );
    Ok(derived)
}

/// The document's `attributes`: the graph type and name, then the graph's
/// own, which must not use those two names.
fn document_attributes(
    graph: &str,
    graph_type: &str,
    name: &str,
    own: Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut attributes = Map::new();
    attributes.insert(
        GRAPH_TYPE_ATTRIBUTE.into(),
        Value::String(graph_type.to_owned()),
    );
    attributes.insert(NAME_ATTRIBUTE.into(), Value::String(name.to_owned()));
    for (name, value) in own {
        if name == GRAPH_TYPE_ATTRIBUTE || name == NAME_ATTRIBUTE {
            return Err(Error::invalid(
                Entity::Graph(graph.to_owned()),
                format!(
                    "has a graph attribute {name:?}, which graphology documents reserve for the graph's {}; rename it to export this graph",
                    if name == NAME_ATTRIBUTE { "name" } else { "type" }
                ),
            ));
        }
        attributes.insert(name, value);
    }
    Ok(attributes)
}

/// Serializes `doc` to `out` and returns the bytes written; the store error
/// that stopped the items, kept in `failed`, comes before any write error.
fn write_document(
    doc: &impl Serialize,
    pretty: bool,
    out: impl Write,
    failed: &RefCell<Option<Error>>,
    graph: &str,
) -> Result<u64> {
    let mut counted = Counted { out, bytes: 0 };
    let written = if pretty {
        let mut ser = serde_json::Serializer::pretty(&mut counted);
        doc.serialize(&mut ser)
    } else {
        let mut ser = serde_json::Serializer::new(&mut counted);
        doc.serialize(&mut ser)
    };
    if let Some(err) = failed.borrow_mut().take() {
        return Err(err);
    }
    let io_error = |e: std::io::Error| {
        Error::invalid(
            Entity::Graph(graph.to_owned()),
            format!("cannot write the graphology document: {}", io_text(&e)),
        )
    };
    written.map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
    if pretty {
        counted.write_all(b"\n").map_err(io_error)?;
    }
    counted.flush().map_err(io_error)?;
    Ok(counted.bytes)
}

/// An I/O error's text without the `(os error N)` suffix.
fn io_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_lowercase(),
        None => text.to_lowercase(),
    }
}

fn node_item(graph: &str, node: Node, tag: bool) -> Result<Value> {
    let entity = || Entity::Node {
        graph: graph.to_owned(),
        key: node.key.clone(),
    };
    let attributes = tagged(node.attributes, &node.node_type, tag, entity)?;
    let mut item = Map::new();
    item.insert("key".into(), Value::String(node.key));
    if !attributes.is_empty() {
        item.insert("attributes".into(), Value::Object(attributes));
    }
    Ok(Value::Object(item))
}

fn edge_item(graph: &str, edge: Edge, tag: bool, mixed: bool) -> Result<Value> {
    let entity = || Entity::Edge {
        graph: graph.to_owned(),
        key: edge.key.clone(),
    };
    let attributes = tagged(edge.attributes, &edge.edge_type, tag, entity)?;
    let mut item = Map::new();
    item.insert("key".into(), Value::String(edge.key));
    item.insert("source".into(), Value::String(edge.source));
    item.insert("target".into(), Value::String(edge.target));
    if !attributes.is_empty() {
        item.insert("attributes".into(), Value::Object(attributes));
    }
    if mixed && edge.undirected {
        item.insert("undirected".into(), Value::Bool(true));
    }
    Ok(Value::Object(item))
}

/// The attributes with the type tag first, when tagging.
fn tagged(
    attributes: Map<String, Value>,
    type_name: &str,
    tag: bool,
    entity: impl FnOnce() -> Entity,
) -> Result<Map<String, Value>> {
    if attributes.contains_key(TYPE_ATTRIBUTE) {
        return Err(Error::invalid(
            entity(),
            format!(
                "has an attribute {TYPE_ATTRIBUTE:?}, which graphology documents reserve for the type; rename it to export this graph"
            ),
        ));
    }
    if !tag {
        return Ok(attributes);
    }
    let mut out = Map::with_capacity(attributes.len() + 1);
    out.insert(TYPE_ATTRIBUTE.into(), Value::String(type_name.to_owned()));
    out.extend(attributes);
    Ok(out)
}

/// A listing read a page at a time.
struct Pages<'r, T> {
    reader: &'r Reader,
    graph: &'r str,
    list: fn(&Reader, &str, &ListOptions) -> Result<crate::Page<T>>,
    buffer: VecDeque<T>,
    next: Option<ListOptions>,
}

impl<'r, T> Pages<'r, T> {
    fn new(
        reader: &'r Reader,
        graph: &'r str,
        list: fn(&Reader, &str, &ListOptions) -> Result<crate::Page<T>>,
    ) -> Self {
        Pages {
            reader,
            graph,
            list,
            buffer: VecDeque::new(),
            next: Some(ListOptions::new().limit(10_000)),
        }
    }

    fn next_item(&mut self) -> Result<Option<T>> {
        if self.buffer.is_empty() {
            let Some(options) = self.next.take() else {
                return Ok(None);
            };
            let page = (self.list)(self.reader, self.graph, &options)?;
            self.buffer.extend(page.items);
            self.next = page.next.map(|after| options.after(after));
        }
        Ok(self.buffer.pop_front())
    }
}

/// An array of items serialized as they are read; a store error stops the
/// serializer and is kept in `failed`.
struct Items<'a, 'r, T, F> {
    pages: RefCell<Pages<'r, T>>,
    item: F,
    failed: &'a RefCell<Option<Error>>,
    /// Items written so far, of both arrays.
    done: &'a std::cell::Cell<u64>,
    progress: &'a dyn Fn(u64),
}

impl<T, F: Fn(T) -> Result<Value>> Serialize for Items<'_, '_, T, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        loop {
            let next = self
                .pages
                .borrow_mut()
                .next_item()
                .and_then(|item| item.map(&self.item).transpose());
            match next {
                Ok(Some(value)) => {
                    seq.serialize_element(&value)?;
                    self.done.set(self.done.get() + 1);
                    (self.progress)(self.done.get());
                }
                Ok(None) => break,
                Err(err) => {
                    let text = err.to_string();
                    *self.failed.borrow_mut() = Some(err);
                    return Err(S::Error::custom(text));
                }
            }
        }
        seq.end()
    }
}

struct Document<'a, N, E> {
    options: &'a Map<String, Value>,
    attributes: &'a Map<String, Value>,
    nodes: &'a N,
    edges: &'a E,
}

impl<N: Serialize, E: Serialize> Serialize for Document<'_, N, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("options", self.options)?;
        map.serialize_entry("attributes", self.attributes)?;
        map.serialize_entry("nodes", self.nodes)?;
        map.serialize_entry("edges", self.edges)?;
        map.end()
    }
}

/// Counts the bytes written through it.
struct Counted<W> {
    out: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
