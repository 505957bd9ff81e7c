//! Moving graphs in and out of the store: graphology's serialized JSON,
//! petgraph's `StableGraph`, and pictures in DOT (graphviz) and Mermaid.
//!
//! - **graphology** ([`export_graphology`], [`import_graphology`]): the
//!   format of graphology's `export()` / `import()`, `{attributes, options,
//!   nodes: [{key, attributes}], edges: [{key, source, target, attributes,
//!   undirected}]}`. graphology has no types, so node and edge types travel
//!   in the reserved attribute [`TYPE_ATTRIBUTE`] (`"@type"`), and the
//!   document's top-level attributes carry the graph type
//!   ([`GRAPH_TYPE_ATTRIBUTE`], `"@graphType"`) and the graph's name
//!   ([`NAME_ATTRIBUTE`]) beside the graph's own attributes. Export streams
//!   to any `io::Write` ([`write_graphology`]); import streams from any
//!   `io::Read` ([`import_graphology_reader`]), is validated item by item and
//!   atomic; a bad document is rejected with the JSON pointer of its first
//!   problem.
//! - **petgraph** ([`load_petgraph`], [`save_petgraph`]): a whole graph or a
//!   subgraph of some node and edge types as a [`PetGraph`], whose
//!   `StableDiGraph` carries every key, type and attribute, so petgraph's
//!   algorithms run on it directly; saving writes back exactly the
//!   differences. The round trip is lossless.
//! - **pictures** ([`to_dot`], [`to_mermaid`]): labels from keys and a
//!   chosen attribute, and a task's `status` as its colour.
//!
//! Every number round-trips exactly (the store keeps the digits it was
//! given), and any key a JSON string can hold is a valid key.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::interop::{export_graphology, import_graphology, ImportOptions};
//! use alknet_graphs::{Endpoints, GraphConfig, NewEdge, Store};
//! use serde_json::json;
//!
//! # let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("g.db"))?;
//! store.write(|tx| {
//!     tx.define_graph_type("org", GraphConfig::directed())?;
//!     tx.define_node_type("org", "person", &json!({"type": "object"}))?;
//!     tx.define_edge_type("org", "reports_to", &json!({}), &Endpoints::any())?;
//!     tx.create_graph("acme", "org")?;
//!     tx.add_node("acme", "ada", "person", &json!({"name": "Ada"}))?;
//!     tx.add_node("acme", "bob", "person", &json!({}))?;
//!     tx.add_edge("acme", NewEdge::new("reports_to", "bob", "ada").key("b-a"))?;
//!     Ok(())
//! })?;
//!
//! let doc = store.read(|r| export_graphology(r, "acme"))?;
//! assert_eq!(doc, json!({
//!     "attributes": {"@graphType": "org", "name": "acme"},
//!     "options": {"type": "directed", "multi": false, "allowSelfLoops": true},
//!     "nodes": [
//!         {"key": "ada", "attributes": {"@type": "person", "name": "Ada"}},
//!         {"key": "bob", "attributes": {"@type": "person"}}
//!     ],
//!     "edges": [
//!         {"key": "b-a", "source": "bob", "target": "ada", "attributes": {"@type": "reports_to"}}
//!     ]
//! }));
//!
//! // The same document imports as a copy under another name.
//! let imported = store.write(|tx| import_graphology(tx, &doc, &ImportOptions::new().graph("acme-copy")))?;
//! assert_eq!((imported.nodes, imported.edges), (2, 1));
//! assert_eq!(store.begin_read()?.node("acme-copy", "ada")?.unwrap().attributes["name"], "Ada");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod graphology;
mod pet;
mod picture;

pub use graphology::{
    export_graphology, export_graphology_with, import_graphology, import_graphology_reader,
    import_graphology_str, number_key, write_graphology, write_graphology_with_progress,
    ExportOptions, ImportOptions, Imported, TypeTags, GRAPH_TYPE_ATTRIBUTE, NAME_ATTRIBUTE,
    TYPE_ATTRIBUTE,
};
pub use pet::{load_petgraph, save_petgraph, EdgeWeight, NodeWeight, PetGraph, Saved, Subgraph};
pub use picture::{to_dot, to_mermaid, PictureOptions, STATUS_COLORS};

use crate::{Edge, ListOptions, Node, Reader, Result};

/// Every node of `graph`, in key order, read a page at a time.
pub(crate) fn all_nodes(reader: &Reader, graph: &str, of_type: Option<&str>) -> Result<Vec<Node>> {
    let mut out = Vec::new();
    let mut options = ListOptions::new().limit(10_000);
    options.of_type = of_type.map(str::to_owned);
    loop {
        let page = reader.nodes(graph, &options)?;
        out.extend(page.items);
        match page.next {
            Some(next) => options = options.after(next),
            None => return Ok(out),
        }
    }
}

/// Every edge of `graph`, in key order, read a page at a time.
pub(crate) fn all_edges(reader: &Reader, graph: &str, of_type: Option<&str>) -> Result<Vec<Edge>> {
    let mut out = Vec::new();
    let mut options = ListOptions::new().limit(10_000);
    options.of_type = of_type.map(str::to_owned);
    loop {
        let page = reader.edges(graph, &options)?;
        out.extend(page.items);
        match page.next {
            Some(next) => options = options.after(next),
            None => return Ok(out),
        }
    }
}
