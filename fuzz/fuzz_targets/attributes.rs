//! Untrusted attribute documents against fixed node types.
//!
//! Checks that `add_node` never panics and accepts a document exactly when it
//! is a JSON object within the store's limits that `jsonschema`, called
//! directly with format assertion on, finds valid against the node type's
//! schema; that every rejection is the error for its reason
//! (`SchemaViolation` listing at least one violation, each pointing into the
//! document). Nothing is committed, so the store never grows.
//!
//! Run from `fuzz/`: `cargo fuzz run -s none attributes -- -dict=json.dict`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(attributes) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    alknet_graphs_fuzz::fixture().check_attributes(&attributes);
});
