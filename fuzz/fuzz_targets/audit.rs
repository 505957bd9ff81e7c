//! Untrusted checkpoint documents and audit rows: decoding, verifying
//! anchors, and verifying a log whose entry 2 raw SQL rewrote.
//!
//! Checks that decoding never panics and round-trips, that only the genuine
//! checkpoint verifies, and that the log verifies exactly when the stored
//! row is the genuine one. Each input that names a column writes entry 2
//! and puts it back.
//!
//! Run from `fuzz/`: `cargo fuzz run -s none audit`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    alknet_graphs_fuzz::audit_fixture().check_audit(data);
});
