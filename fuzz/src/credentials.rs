//! The property the `credentials` target checks: untrusted fingerprints and
//! bearer tokens, as presented by callers and by registry writes.
//!
//! Compiled twice, like `checks.rs`: by the fuzz crate and by the root
//! crate's `tests/fuzz_corpus.rs`. Uses only `alknet_graphs` and `tempfile`.
//!
//! The reference for a valid fingerprint is written here from the rule
//! (`ed25519:` or `SHA256:`, any case, then 64 hex digits, any case); the
//! registry must agree with it, store only the canonical form, resolve
//! every spelling of it, and change nothing when it refuses a write. A
//! peer given the fuzzed token is refused exactly when the token is
//! shorter than [`MIN_TOKEN_BYTES`] or taken.

use alknet_graphs::identity::{
    normalize_fingerprint, AuthToken, IdentityProvider, PeerEntry, SqliteIdentityProvider,
    StoreError, MIN_TOKEN_BYTES,
};
use alknet_graphs::Store;
use tempfile::TempDir;

/// The fixture's resident peer: its fingerprint and token.
const RESIDENT_ID: &str = "resident";
const RESIDENT_TOKEN: &str = "resident-token-0123456789abcdef01";

fn resident_fingerprint() -> String {
    format!("ed25519:{}", "5a".repeat(32))
}

/// The canonical form by the rule, or `None`.
fn reference(fingerprint: &str) -> Option<String> {
    let (prefix, hex) = fingerprint.split_once(':')?;
    let prefix = match prefix.to_ascii_lowercase().as_str() {
        "ed25519" => "ed25519",
        "sha256" => "SHA256",
        _ => return None,
    };
    let valid = hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit());
    valid.then(|| format!("{prefix}:{}", hex.to_ascii_lowercase()))
}

/// A store with one resident peer, and a provider on it.
pub struct CredentialsFixture {
    store: Store,
    ids: SqliteIdentityProvider,
    // Declared last so that it is dropped after the store's connections.
    _dir: TempDir,
}

impl CredentialsFixture {
    /// Sets up the store in a new temporary directory, removed on drop.
    pub fn open() -> CredentialsFixture {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let store = Store::open(dir.path().join("fuzz.db")).expect("open the store");
        let ids = SqliteIdentityProvider::builder()
            .listen(false)
            .open(&store)
            .expect("open the provider");
        ids.insert_peer(
            PeerEntry::new(RESIDENT_ID)
                .fingerprint(resident_fingerprint())
                .token(&AuthToken::new(RESIDENT_TOKEN)),
        )
        .expect("register the resident peer");
        CredentialsFixture {
            store,
            ids,
            _dir: dir,
        }
    }

    /// `data` is a fingerprint, then (after the first newline) a token.
    ///
    /// Resolving either never panics and finds the resident peer exactly
    /// when it is its credential; normalization agrees with the reference;
    /// a peer registered with a valid fingerprint resolves by it and by
    /// its canonical form, and a refused one changes nothing and names the
    /// value.
    pub fn check_credentials(&self, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let (fingerprint, token) = text.split_once('\n').unwrap_or((&text, ""));
        let canonical = reference(fingerprint);

        let found = self.ids.resolve_from_fingerprint(fingerprint).map(|i| i.id);
        let is_resident = canonical.as_deref() == Some(resident_fingerprint().as_str());
        assert_eq!(found.as_deref(), is_resident.then_some(RESIDENT_ID));
        let found = self
            .ids
            .resolve_from_token(&AuthToken::new(token))
            .map(|i| i.id);
        assert_eq!(
            found.as_deref(),
            (token == RESIDENT_TOKEN).then_some(RESIDENT_ID)
        );

        match (&canonical, normalize_fingerprint(fingerprint)) {
            (Some(want), Ok(got)) => {
                assert_eq!(&got, want);
                assert_eq!(normalize_fingerprint(&got).as_ref(), Ok(&got));
            }
            (None, Err(StoreError::Invalid(message))) => {
                assert!(message.contains(&format!("{fingerprint:?}")), "{message}");
            }
            (want, got) => panic!("{fingerprint:?}: reference {want:?}, registry {got:?}"),
        }

        let revision = self.store.revision().expect("read the revision");
        let outcome = self
            .ids
            .insert_peer(PeerEntry::new("fuzzed").fingerprint(fingerprint));
        match (canonical, outcome) {
            (Some(canonical), Ok(())) => {
                assert!(!is_resident, "a taken fingerprint was accepted");
                for spelling in [fingerprint, canonical.as_str()] {
                    let id = self.ids.resolve_from_fingerprint(spelling).map(|i| i.id);
                    assert_eq!(id.as_deref(), Some("fuzzed"));
                }
                let stored = self.ids.peer("fuzzed").expect("read the peer");
                assert_eq!(stored.map(|p| p.fingerprints), Some(vec![canonical]));
                self.ids
                    .delete_peer("fuzzed")
                    .expect("remove the fuzzed peer");
            }
            (Some(canonical), Err(StoreError::Duplicate(message))) if is_resident => {
                // The refusal does not say who holds the fingerprint.
                assert_eq!(
                    message,
                    format!(
                        "peer \"fuzzed\": fingerprint {canonical:?} is already registered to another peer"
                    )
                );
                assert_eq!(self.store.revision().expect("revision"), revision);
            }
            (None, Err(StoreError::Invalid(_))) => {
                assert_eq!(self.store.revision().expect("revision"), revision);
            }
            (want, got) => panic!("{fingerprint:?}: reference {want:?}, insert {got:?}"),
        }
        self.check_token_rule(token);
    }

    /// A peer given `token` is added exactly when the token is long enough
    /// and not taken; a refusal names the length, or no owner, and
    /// changes nothing.
    fn check_token_rule(&self, token: &str) {
        let revision = self.store.revision().expect("read the revision");
        let given = AuthToken::new(token);
        let outcome = self
            .ids
            .insert_peer(PeerEntry::new("fuzzed-token").token(&given));
        match outcome {
            Ok(()) => {
                assert!(token.len() >= MIN_TOKEN_BYTES && token != RESIDENT_TOKEN);
                let id = self.ids.resolve_from_token(&given).map(|i| i.id);
                assert_eq!(id.as_deref(), Some("fuzzed-token"));
                self.ids
                    .delete_peer("fuzzed-token")
                    .expect("remove the fuzzed peer");
            }
            Err(StoreError::Invalid(message)) => {
                assert!(token.len() < MIN_TOKEN_BYTES, "{message}");
                assert_eq!(
                    message,
                    format!(
                        "peer \"fuzzed-token\": a token must be at least 32 bytes (got {}); \
                         generate one with PeerEntry::generate_token",
                        token.len()
                    )
                );
                assert_eq!(self.store.revision().expect("revision"), revision);
            }
            Err(StoreError::Duplicate(message)) => {
                assert_eq!(token, RESIDENT_TOKEN);
                assert_eq!(
                    message,
                    "peer \"fuzzed-token\": the token is already in use by another peer"
                );
                assert_eq!(self.store.revision().expect("revision"), revision);
            }
            Err(other) => panic!("{token:?}: insert {other:?}"),
        }
    }
}
