//! Untrusted fingerprints and bearer tokens: resolution and registration.
//!
//! Checks that resolving never panics and finds only what is registered,
//! that fingerprint normalization agrees with the rule, and that a refused
//! registration changes nothing. Writes are committed and undone, so the
//! audit log grows by two entries per accepted input.
//!
//! Run from `fuzz/`: `cargo fuzz run -s none credentials`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    alknet_graphs_fuzz::credentials_fixture().check_credentials(data);
});
