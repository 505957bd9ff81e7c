//! Untrusted graphology documents imported as new graphs.
//!
//! Checks that the streaming importer (`import_graphology_str`, and
//! `import_graphology_reader` on any bytes) never panics; that it rejects a
//! bad document with `Import` (naming the place in the document, with the
//! store's refusal as its cause), never a storage error, and leaves nothing
//! behind; that the reader and the text agree; and
//! that an accepted document's export holds its nodes and edges with their
//! types and attributes, and imports again into a graph that exports
//! identically. The graph types cover directed (acyclic, no self-loops,
//! endpoint rules), undirected and mixed multigraphs. Nothing is committed,
//! so the store never grows.
//!
//! Run from `fuzz/`: `cargo fuzz run -s none graphology -- -dict=json.dict`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    alknet_graphs_fuzz::graphology_fixture().check_graphology(data);
});
