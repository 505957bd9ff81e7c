//! Peer secrets stay secret: tokens long enough to be secrets, hashes that
//! are never written to the audit log, refusals that do not say who holds
//! a credential; and the history of every fingerprint and token a peer has
//! held, written with the change that made it.

mod common;

use alknet_graphs::identity::{
    AuthToken, CredentialKind, CredentialRecord, IdentityProvider, NewApiKey, PeerEntry,
    SqliteIdentityProvider, StoreError, MIN_TOKEN_BYTES,
};
use alknet_graphs::Store;
use common::{fp, snapshot, store};

/// A token of `len` bytes, distinct per `seed`.
fn token(seed: char, len: usize) -> AuthToken {
    AuthToken::new(seed.to_string().repeat(len))
}

/// Asserts that `write` is refused with `kind` and exactly `message`, and
/// that the store (history included) is unchanged.
fn refused(
    store: &Store,
    kind: &str,
    message: &str,
    write: impl FnOnce() -> Result<(), StoreError>,
) {
    let before = snapshot(store);
    let err = write().expect_err("the write should be refused");
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.to_string(), message);
    assert_eq!(snapshot(store), before, "a refused write changed the store");
}

/// `(kind, value, current)` of each record.
fn held(history: &[CredentialRecord]) -> Vec<(CredentialKind, &str, bool)> {
    history
        .iter()
        .map(|r| (r.kind, r.value.as_str(), r.is_current()))
        .collect()
}

#[test]
fn a_token_shorter_than_32_bytes_is_refused_naming_the_peer() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("ci-bot")).unwrap();
    let hint = "generate one with PeerEntry::generate_token";
    for (text, len) in [("hunter2", 7), (" ", 1), ("", 0)] {
        let weak = AuthToken::new(text);
        refused(
            &store,
            "invalid",
            &format!("peer \"ci-bot\": a token must be at least 32 bytes (got {len}); {hint}"),
            || ids.replace_peer(PeerEntry::new("ci-bot").token(&weak)),
        );
        refused(
            &store,
            "invalid",
            &format!("peer \"new\": a token must be at least 32 bytes (got {len}); {hint}"),
            || ids.insert_peer(PeerEntry::new("new").token(&weak)),
        );
    }
    // The rule counts bytes.
    assert_eq!(MIN_TOKEN_BYTES, 32);
    refused(
        &store,
        "invalid",
        &format!("peer \"new\": a token must be at least 32 bytes (got 31); {hint}"),
        || ids.insert_peer(PeerEntry::new("new").token(&token('a', 31))),
    );
    // A batch with one weak token adds none of its peers.
    refused(
        &store,
        "invalid",
        &format!("peer \"b2\": a token must be at least 32 bytes (got 5); {hint}"),
        || {
            ids.insert_peers([
                PeerEntry::new("b1").token(&token('b', 40)),
                PeerEntry::new("b2").token(&AuthToken::new("short")),
            ])
            .map(drop)
        },
    );
    ids.insert_peer(PeerEntry::new("new").token(&token('a', 32)))
        .unwrap();
    assert_eq!(ids.resolve_from_token(&token('a', 32)).unwrap().id, "new");
    // Four bytes of UTF-8 per character: 8 characters are 32 bytes.
    ids.replace_peer(PeerEntry::new("ci-bot").token(&AuthToken::new("🔑".repeat(8))))
        .unwrap();
}

#[test]
fn a_hash_given_directly_is_taken_as_it_is() {
    // A hash copied from another registry cannot be measured: it is kept.
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let mut imported = PeerEntry::new("imported");
    imported.auth_token_hash = Some(AuthToken::new("legacy").hash());
    ids.insert_peer(imported).unwrap();
    assert_eq!(
        ids.resolve_from_token(&AuthToken::new("legacy"))
            .unwrap()
            .id,
        "imported"
    );
    // A weak token set, then replaced by a hash: the hash is what is written.
    let mut peer = PeerEntry::new("moved").token(&AuthToken::new("weak"));
    peer.auth_token_hash = Some(token('m', 40).hash());
    ids.insert_peer(peer).unwrap();
    assert_eq!(ids.resolve_from_token(&token('m', 40)).unwrap().id, "moved");
    // A peer read back can be written back as it is.
    let stored = ids.peer("imported").unwrap().unwrap();
    ids.replace_peer(stored.scopes(["ci"])).unwrap();
}

#[test]
fn a_generated_token_resolves_and_only_its_hash_is_stored() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let mut peer = PeerEntry::new("ci-bot").scopes(["ci"]);
    let first = peer.generate_token();
    assert!(first.as_str().starts_with("alk_"));
    assert!(first.as_str().len() >= MIN_TOKEN_BYTES);
    assert_eq!(peer.auth_token_hash, Some(first.hash()));
    ids.insert_peer(peer).unwrap();
    assert_eq!(ids.resolve_from_token(&first).unwrap().id, "ci-bot");

    // Rotating: a new one replaces it, and the old one resolves to nothing.
    let mut peer = ids.peer("ci-bot").unwrap().unwrap();
    let second = peer.generate_token();
    assert_ne!(first, second);
    ids.replace_peer(peer).unwrap();
    assert_eq!(ids.resolve_from_token(&first), None);
    assert_eq!(ids.resolve_from_token(&second).unwrap().id, "ci-bot");
    let dump = snapshot(&store).join("\n");
    assert!(
        !dump.contains(second.as_str()),
        "the token itself is stored"
    );
    assert!(!dump.contains(first.as_str()));
}

#[test]
fn duplicate_refusals_do_not_name_who_holds_the_credential() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let secret = token('s', 40);
    ids.insert_peer(PeerEntry::new("owner").fingerprint(fp(1)).token(&secret))
        .unwrap();
    ids.insert_peer(PeerEntry::new("b")).unwrap();
    let (_, key_token) = ids.create_api_key(NewApiKey::new("k", "owner")).unwrap();

    refused(
        &store,
        "duplicate",
        &format!(
            "peer \"b\": fingerprint {:?} is already registered to another peer",
            fp(1)
        ),
        || ids.replace_peer(PeerEntry::new("b").fingerprint(fp(1).to_uppercase())),
    );
    refused(
        &store,
        "duplicate",
        "peer \"c\": the token is already in use by another peer",
        || ids.insert_peer(PeerEntry::new("c").token(&secret)),
    );
    refused(
        &store,
        "duplicate",
        "peer \"b\": the token is already in use by an API key",
        || ids.replace_peer(PeerEntry::new("b").token(&key_token)),
    );
    // A peer keeping its own credentials is no duplicate.
    ids.replace_peer(
        PeerEntry::new("owner")
            .fingerprint(fp(1))
            .token(&secret)
            .scopes(["ci"]),
    )
    .unwrap();
}

#[test]
fn the_audit_log_never_holds_a_token_hash() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store)
        .unwrap()
        .acting_as("ops");
    let first = token('1', 40);
    let second = token('2', 40);
    ids.insert_peer(PeerEntry::new("p").token(&first)).unwrap();
    ids.replace_peer(PeerEntry::new("p").token(&first).scopes(["ci"]))
        .unwrap();
    ids.replace_peer(PeerEntry::new("p").token(&second))
        .unwrap();
    ids.replace_peer(PeerEntry::new("p")).unwrap();
    let mut peer = PeerEntry::new("p");
    let third = peer.generate_token();
    ids.replace_peer(peer).unwrap();
    ids.delete_peer("p").unwrap();

    let cells = common::audit_cells(store.path());
    assert!(!cells.is_empty());
    for secret in [&first, &second, &third] {
        for cell in &cells {
            assert!(!cell.contains(&secret.hash()), "a token hash in {cell}");
            assert!(!cell.contains(secret.as_str()), "a token in {cell}");
        }
    }

    // What is recorded instead: whether a token is set, and whether an
    // update changed it.
    let read = store.begin_read().unwrap();
    let token_of = |text: &Option<String>| {
        text.as_deref()
            .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap()["token"].clone())
    };
    let log: Vec<_> = read
        .audit_log(0, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.action, token_of(&e.before), token_of(&e.after)))
        .collect();
    let set = || Some(serde_json::json!("set"));
    let changed = Some(serde_json::json!("changed"));
    let none = Some(serde_json::Value::Null);
    assert_eq!(
        log,
        [
            ("peer.create".to_owned(), None, set()),
            ("peer.update".to_owned(), set(), set()),
            ("peer.update".to_owned(), set(), changed.clone()),
            ("peer.update".to_owned(), set(), none.clone()),
            ("peer.update".to_owned(), none, set()),
            ("peer.delete".to_owned(), set(), None),
        ]
    );
    assert_eq!(read.verify_audit_chain().unwrap(), None);
}

#[test]
fn the_history_records_every_credential_who_added_it_and_who_removed_it() {
    let (_dir, store) = store();
    let provider = SqliteIdentityProvider::open(&store).unwrap();
    let ops = provider.acting_as("ops");
    let sec = provider.acting_as("security");
    let old_token = token('o', 40);
    ops.insert_peer(
        PeerEntry::new("edge")
            .fingerprint(fp(1))
            .fingerprint(fp(2))
            .token(&old_token),
    )
    .unwrap();
    // An update that changes no credential records nothing.
    ops.replace_peer(
        PeerEntry::new("edge")
            .fingerprint(fp(2))
            .fingerprint(fp(1))
            .token(&old_token)
            .scopes(["ci"]),
    )
    .unwrap();
    assert_eq!(provider.history("edge").unwrap().len(), 3);

    // Rotate fingerprint 1 and the token.
    let mut rotated = PeerEntry::new("edge").fingerprint(fp(2)).fingerprint(fp(3));
    let new_token = rotated.generate_token();
    sec.replace_peer(rotated).unwrap();
    let history = provider.history("edge").unwrap();
    assert_eq!(
        held(&history),
        [
            (CredentialKind::Fingerprint, fp(1).as_str(), false),
            (CredentialKind::Fingerprint, fp(2).as_str(), true),
            (CredentialKind::Token, "#1", false),
            (CredentialKind::Fingerprint, fp(3).as_str(), true),
            (CredentialKind::Token, "#2", true),
        ]
    );
    assert!(history.iter().all(|r| r.added_by.as_deref()
        == Some(if r.value == "#2" || r.value == fp(3) {
            "security"
        } else {
            "ops"
        })));
    assert_eq!(history[0].removed_by.as_deref(), Some("security"));
    assert_eq!(history[2].removed_by.as_deref(), Some("security"));
    assert!(history[0].added_at.unwrap() <= history[0].removed_at.unwrap());
    assert_eq!(history[1].removed_at, None);
    assert_eq!(history[1].removed_by, None);
    // Never the hash.
    let text = format!("{history:?}");
    assert!(!text.contains(&old_token.hash()) && !text.contains(&new_token.hash()));

    // What was rotated out resolves to nothing; what is current does.
    assert_eq!(provider.resolve_from_fingerprint(&fp(1)), None);
    assert_eq!(provider.resolve_from_token(&old_token), None);
    assert_eq!(
        provider.resolve_from_fingerprint(&fp(3)).unwrap().id,
        "edge"
    );
    assert_eq!(provider.resolve_from_token(&new_token).unwrap().id, "edge");

    // Dropping the token closes it without opening another.
    ops.replace_peer(PeerEntry::new("edge").fingerprint(fp(2)).fingerprint(fp(3)))
        .unwrap();
    assert!(!provider.history("edge").unwrap()[4].is_current());
    assert_eq!(provider.resolve_from_token(&new_token), None);

    // A rotated-out fingerprint may go to another peer.
    ops.insert_peer(PeerEntry::new("other").fingerprint(fp(1)))
        .unwrap();
    assert_eq!(
        held(&provider.history("other").unwrap()),
        [(CredentialKind::Fingerprint, fp(1).as_str(), true)]
    );

    // Removing the peer closes what it held; the history outlives it.
    sec.delete_peer("edge").unwrap();
    let history = provider.history("edge").unwrap();
    assert_eq!(history.len(), 5);
    assert!(history.iter().all(|r| !r.is_current()));
    assert!(history
        .iter()
        .filter(|r| r.value == fp(2) || r.value == fp(3))
        .all(|r| r.removed_by.as_deref() == Some("security")));
    assert_eq!(provider.resolve_from_fingerprint(&fp(2)), None);

    // The same id added again continues the token ordinals.
    let mut again = PeerEntry::new("edge");
    again.generate_token();
    provider.insert_peer(again).unwrap();
    let history = provider.history("edge").unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.kind, last.value.as_str()),
        (CredentialKind::Token, "#3")
    );
    assert_eq!(last.added_by, None, "no actor given");
    assert!(last.is_current());

    assert!(provider.history("never-existed").unwrap().is_empty());
}

#[test]
fn a_refused_write_leaves_the_history_as_it_was() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("a").fingerprint(fp(1)))
        .unwrap();
    ids.insert_peer(PeerEntry::new("b").fingerprint(fp(2)))
        .unwrap();
    let before = ids.history("b").unwrap();
    // b would drop fingerprint 2 and take a's: refused whole.
    refused(
        &store,
        "duplicate",
        &format!(
            "peer \"b\": fingerprint {:?} is already registered to another peer",
            fp(1)
        ),
        || ids.replace_peer(PeerEntry::new("b").fingerprint(fp(1))),
    );
    assert_eq!(ids.history("b").unwrap(), before);
    refused(&store, "not_found", "peer \"c\" does not exist", || {
        ids.delete_peer("c")
    });
}

#[test]
fn credentials_held_before_the_history_began_are_recorded_without_a_time() {
    let (dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let secret = token('k', 40);
    ids.insert_peer(
        PeerEntry::new("old")
            .fingerprint(fp(7))
            .fingerprint(fp(6))
            .token(&secret),
    )
    .unwrap();
    ids.insert_peer(PeerEntry::new("bare")).unwrap();
    drop(ids);
    drop(store);
    // The file as schema version 4, before the history (migration 5),
    // was: no table. Later migrations only create what is missing.
    let path = dir.path().join("test.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row(
            "SELECT value FROM _alknet_meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    conn.execute_batch(
        "DROP TABLE peer_credentials_history;
         UPDATE _alknet_meta SET value = 4 WHERE key = 'schema_version';",
    )
    .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.begin_read().unwrap().schema_version().unwrap(),
        version
    );
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let history = ids.history("old").unwrap();
    assert_eq!(
        held(&history),
        [
            (CredentialKind::Fingerprint, fp(6).as_str(), true),
            (CredentialKind::Fingerprint, fp(7).as_str(), true),
            (CredentialKind::Token, "#1", true),
        ]
    );
    assert!(history
        .iter()
        .all(|r| r.added_at.is_none() && r.added_by.is_none()));
    assert!(ids.history("bare").unwrap().is_empty());
    // The next rotation closes them and counts on.
    let mut peer = PeerEntry::new("old").fingerprint(fp(6));
    peer.generate_token();
    ids.acting_as("ops").replace_peer(peer).unwrap();
    let history = ids.history("old").unwrap();
    assert_eq!(
        held(&history),
        [
            (CredentialKind::Fingerprint, fp(6).as_str(), true),
            (CredentialKind::Fingerprint, fp(7).as_str(), false),
            (CredentialKind::Token, "#1", false),
            (CredentialKind::Token, "#2", true),
        ]
    );
    assert_eq!(history[1].removed_by.as_deref(), Some("ops"));
    let report = alknet_graphs::verify(&store).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems());
}

#[test]
fn verify_finds_a_current_credential_the_history_does_not_hold_open() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(
        PeerEntry::new("p")
            .fingerprint(fp(1))
            .token(&token('p', 40)),
    )
    .unwrap();
    assert!(alknet_graphs::verify(&store).unwrap().is_clean());
    rusqlite::Connection::open(store.path())
        .unwrap()
        .execute_batch("UPDATE peer_credentials_history SET removed_at = 1")
        .unwrap();
    let report = alknet_graphs::verify(&store).unwrap();
    let messages: Vec<String> = report
        .problems()
        .iter()
        .map(|p| p.message.clone())
        .collect();
    assert_eq!(
        messages,
        [
            format!(
                "peer \"p\": fingerprint {:?} has no open record in the credential history",
                fp(1)
            ),
            "peer \"p\": its token has no open record in the credential history".to_owned(),
        ]
    );
    assert!(report
        .problems()
        .iter()
        .all(|p| p.kind == alknet_graphs::ProblemKind::Identity));
}
