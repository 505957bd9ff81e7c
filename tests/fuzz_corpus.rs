//! Replays the committed fuzz corpus through the fuzz targets' checks, so
//! plain `cargo test` covers every input the fuzzers kept.
//!
//! The checks are `fuzz/src/checks.rs`, compiled here as a module: the
//! targets and this replay cannot drift apart.

#[path = "../fuzz/src/audit.rs"]
mod audit;
#[path = "../fuzz/src/checks.rs"]
mod checks;
#[path = "../fuzz/src/credentials.rs"]
mod credentials;
#[path = "../fuzz/src/policy.rs"]
mod policy;

use std::path::Path;

use serde_json::Value;

/// Every input in `fuzz/corpus/{target}` that parses as JSON, by file name.
/// Inputs that do not parse are skipped, as the targets skip them.
fn corpus(target: &str) -> Vec<(String, Value)> {
    let inputs: Vec<(String, Value)> = raw_corpus(target)
        .into_iter()
        .filter_map(|(name, bytes)| Some((name, serde_json::from_slice(&bytes).ok()?)))
        .collect();
    assert!(
        inputs.len() >= 20,
        "fuzz/corpus/{target} holds only {} JSON inputs",
        inputs.len()
    );
    inputs
}

#[test]
fn attributes_corpus_replays() {
    let fixture = checks::Fixture::open();
    for (name, attributes) in corpus("attributes") {
        eprintln!("{name}");
        fixture.check_attributes(&attributes);
    }
}

#[test]
fn schema_corpus_replays() {
    let fixture = checks::Fixture::open();
    for (name, schema) in corpus("schema") {
        eprintln!("{name}");
        fixture.check_schema(&schema);
    }
}

/// Every file in `fuzz/corpus/{target}` as raw bytes, by file name: the
/// `graphology` target takes text, so malformed JSON is an input too.
fn raw_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read the corpus directory") {
        let path = entry.expect("list the corpus directory").path();
        let bytes = std::fs::read(&path).expect("read a corpus file");
        inputs.push((path.display().to_string(), bytes));
    }
    inputs.sort();
    assert!(
        inputs.len() >= 20,
        "{} holds only {} inputs",
        dir.display(),
        inputs.len()
    );
    inputs
}

#[test]
fn graphology_corpus_replays() {
    let fixture = checks::GraphologyFixture::open();
    for (name, text) in raw_corpus("graphology") {
        eprintln!("{name}");
        fixture.check_graphology(&text);
    }
}

#[test]
fn credentials_corpus_replays() {
    let fixture = credentials::CredentialsFixture::open();
    for (name, bytes) in raw_corpus("credentials") {
        eprintln!("{name}");
        fixture.check_credentials(&bytes);
    }
}

#[test]
fn audit_corpus_replays() {
    let fixture = audit::AuditFixture::open();
    for (name, bytes) in raw_corpus("audit") {
        eprintln!("{name}");
        fixture.check_audit(&bytes);
    }
}

#[test]
fn policy_corpus_replays() {
    for (name, bytes) in raw_corpus("policy") {
        eprintln!("{name}");
        policy::check_policy(&bytes);
    }
}
