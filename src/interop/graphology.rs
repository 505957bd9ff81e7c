//! graphology's serialized JSON: a streaming export and a validated,
//! atomic, streaming import.
//!
//! - [`export`]: `write_graphology` writes straight to an `io::Write`,
//!   compact or pretty, reading the graph a page at a time.
//! - [`import`]: one importer fed item by item, either by a streaming
//!   parser (`import_graphology_reader`, `import_graphology_str`) or from
//!   a parsed document (`import_graphology`).
//! - [`keys`]: numeric keys as graphology stores them.

mod export;
mod import;
mod keys;

pub use export::{
    export_graphology, export_graphology_with, write_graphology, write_graphology_with_progress,
    ExportOptions, TypeTags,
};
pub use import::{
    import_graphology, import_graphology_reader, import_graphology_str, ImportOptions, Imported,
};
pub use keys::number_key;

use crate::GraphKind;

/// The reserved attribute that carries a node's or an edge's type in a
/// graphology document. It is added on export and removed before
/// validation on import, so a type's schema never sees it.
pub const TYPE_ATTRIBUTE: &str = "@type";

/// The document attribute naming the graph type.
pub const GRAPH_TYPE_ATTRIBUTE: &str = "@graphType";

/// The document attribute naming the graph.
pub const NAME_ATTRIBUTE: &str = "name";

fn kind_name(kind: GraphKind) -> &'static str {
    match kind {
        GraphKind::Directed => "directed",
        GraphKind::Undirected => "undirected",
        GraphKind::Mixed => "mixed",
    }
}

/// One reference token of a JSON pointer (RFC 6901).
fn token(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
