//! Untrusted policy test files, read as JSON and as TOML.
//!
//! Checks that parsing never panics, that a refusal names a line of the
//! text, and that a small parsed file runs and reports only lines of its
//! assertions (see `fuzz/src/policy.rs`).
//!
//! Run from `fuzz/`: `cargo fuzz run -s none policy -- -dict=json.dict`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    alknet_graphs_fuzz::check_policy(data);
});
