//! Fuzz targets for `alknet-graphs`: untrusted JSON, fingerprints,
//! tokens, checkpoint documents, audit rows and policy test files reaching
//! the store.
//!
//! The properties live in `checks.rs`, which the root crate's
//! `tests/fuzz_corpus.rs` also compiles to replay the committed corpus.

mod audit;
mod checks;
mod credentials;
mod policy;

use std::sync::OnceLock;

pub use audit::AuditFixture;
pub use checks::{Fixture, GraphologyFixture};
pub use credentials::CredentialsFixture;
pub use policy::check_policy;

/// The fixture, set up on the first input and shared by all that follow.
///
/// A static is never dropped, so its temporary directory (one small
/// database) is left behind when the fuzzer exits.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::open)
}

/// The `graphology` target's fixture, set up on its first input and shared
/// by all that follow; left behind like [`fixture`]'s.
pub fn graphology_fixture() -> &'static GraphologyFixture {
    static FIXTURE: OnceLock<GraphologyFixture> = OnceLock::new();
    FIXTURE.get_or_init(GraphologyFixture::open)
}

/// The `credentials` target's fixture, set up on its first input and
/// shared by all that follow; left behind like [`fixture`]'s.
pub fn credentials_fixture() -> &'static CredentialsFixture {
    static FIXTURE: OnceLock<CredentialsFixture> = OnceLock::new();
    FIXTURE.get_or_init(CredentialsFixture::open)
}

/// The `audit` target's fixture, set up on its first input and shared by
/// all that follow; left behind like [`fixture`]'s.
pub fn audit_fixture() -> &'static AuditFixture {
    static FIXTURE: OnceLock<AuditFixture> = OnceLock::new();
    FIXTURE.get_or_init(AuditFixture::open)
}
