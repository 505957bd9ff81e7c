//! Untrusted JSON Schemas offered as node types.
//!
//! Checks that `check_schema` never panics (it compiles offline: a `$ref` to
//! a remote or `file:` URI is an error, never a fetch); that
//! `define_node_type` accepts exactly the schemas `check_schema` accepts and
//! rejects the others as `InvalidSchema`; and that an accepted schema reads
//! back unchanged and, compiled again from its stored text, judges nodes as
//! `jsonschema` does. Nothing is committed, so the store never grows.
//!
//! Run from `fuzz/`: `cargo fuzz run -s none schema -- -dict=json.dict`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    alknet_graphs_fuzz::fixture().check_schema(&schema);
});
