//! Untrusted graphology documents imported as new graphs.
//!
//! Checks that `import_graphology_str` never panics; that it rejects a bad
//! document with `Invalid` (naming the place in the document) or
//! `AlreadyExists`, never a storage error, and leaves nothing behind; and
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
