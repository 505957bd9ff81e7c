//! The identity registry: resolution, rejections, ACL grants, expiry,
//! cross-process invalidation, the async API and the audit chain.

mod common;

use std::future::Future;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal};
use alknet_graphs::identity::{
    AuthToken, CredentialStore, EncryptedData, IdentityProvider, IdentityStore, NewApiKey,
    PeerEntry, SqliteIdentityProvider, StoreError,
};
use alknet_graphs::Store;
use common::{snapshot, store};

fn fp(byte: u8) -> String {
    format!("ed25519:{}", format!("{byte:02x}").repeat(32))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Asserts that `write` fails with an error of `kind` whose message
/// contains `needle`, and that the store did not change.
fn refused(
    store: &Store,
    kind: &str,
    needle: &str,
    write: impl FnOnce() -> Result<(), StoreError>,
) -> StoreError {
    let before = snapshot(store);
    let err = write().expect_err("the write should be refused");
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(needle), "{err:?} lacks {needle:?}");
    assert_eq!(snapshot(store), before, "a refused write changed the store");
    err
}

#[test]
fn peers_resolve_by_fingerprint_and_token() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let token = AuthToken::new("peer-token-1-0123456789abcdef0123456789");
    ids.insert_peer(
        PeerEntry::new("build-01")
            .fingerprint(fp(0xab))
            .fingerprint(format!("SHA256:{}", "CD".repeat(32)))
            .token(&token)
            .scopes(["ci", "build"])
            .resource("repo", ["read"]),
    )
    .unwrap();

    let by_fp = ids.resolve_from_fingerprint(&fp(0xab)).unwrap();
    assert_eq!(by_fp.id, "build-01");
    assert_eq!(by_fp.scopes, ["build", "ci"]);
    assert_eq!(by_fp.resources["repo"], ["read"]);
    // Other spellings of the same fingerprints resolve too.
    let upper = format!("ED25519:{}", "AB".repeat(32));
    assert_eq!(ids.resolve_from_fingerprint(&upper).unwrap().id, "build-01");
    let sha = format!("sha256:{}", "cd".repeat(32));
    assert_eq!(ids.resolve_from_fingerprint(&sha).unwrap().id, "build-01");
    assert_eq!(ids.resolve_from_token(&token).unwrap(), by_fp);

    // Unknown or malformed credentials resolve to nothing.
    assert_eq!(ids.resolve_from_fingerprint(&fp(0x01)), None);
    assert_eq!(ids.resolve_from_fingerprint("ed25519:nothex"), None);
    assert_eq!(ids.resolve_from_fingerprint(""), None);
    assert_eq!(
        ids.resolve_from_token(&AuthToken::new("peer-token-2-0123456789abcdef0123456789")),
        None
    );

    // Updates and removal are seen by the next read.
    ids.replace_peer(
        PeerEntry::new("build-01")
            .fingerprint(fp(0xef))
            .scopes(["ci"]),
    )
    .unwrap();
    assert_eq!(ids.resolve_from_fingerprint(&fp(0xab)), None);
    assert_eq!(ids.resolve_from_token(&token), None);
    assert_eq!(
        ids.resolve_from_fingerprint(&fp(0xef)).unwrap().scopes,
        ["ci"]
    );
    ids.delete_peer("build-01").unwrap();
    assert_eq!(ids.resolve_from_fingerprint(&fp(0xef)), None);
    assert!(ids.peers().unwrap().is_empty());
}

#[test]
fn api_keys_resolve_until_disabled_revoked_or_expired() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    // A key's owner must exist and hold what the key grants.
    ids.insert_peer(PeerEntry::new("alice").scopes(["deploy"]))
        .unwrap();
    ids.insert_peer(PeerEntry::new("bob")).unwrap();
    let (key, token) = ids
        .create_api_key(NewApiKey::new("deploy script", "alice").scopes(["deploy"]))
        .unwrap();
    assert!(token.as_str().starts_with("alk_"));
    let identity = ids.resolve_from_token(&token).unwrap();
    assert_eq!(identity.id, "alice");
    assert_eq!(identity.scopes, ["deploy"]);
    // Only the hash is stored.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let stored: String = conn
        .query_row("SELECT key_hash FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, token.hash());
    assert!(!format!("{token:?}").contains(token.as_str()));

    ids.set_api_key_enabled(&key.id, false).unwrap();
    assert_eq!(ids.resolve_from_token(&token), None);
    ids.set_api_key_enabled(&key.id, true).unwrap();
    assert!(ids.resolve_from_token(&token).is_some());
    let revoked = ids.revoke_api_key(&key.id).unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(ids.resolve_from_token(&token), None);
    let err = ids.set_api_key_enabled(&key.id, true).unwrap_err();
    assert_eq!(err.kind(), "invalid", "{err}");
    assert_eq!(ids.resolve_from_token(&token), None, "revocation is final");

    // Expiry needs no write.
    let (_, short) = ids
        .create_api_key(NewApiKey::new("short", "bob").expires_at(now_ms() + 300))
        .unwrap();
    assert!(ids.resolve_from_token(&short).is_some());
    thread::sleep(Duration::from_millis(350));
    assert_eq!(ids.resolve_from_token(&short), None);

    let keys = ids.api_keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!keys[0].is_usable_at(now_ms()));
}

#[test]
fn every_bad_write_is_refused_and_changes_nothing() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let token = AuthToken::new("t".repeat(32));
    ids.insert_peer(PeerEntry::new("a").fingerprint(fp(1)).token(&token))
        .unwrap();
    let (_, key_token) = ids.create_api_key(NewApiKey::new("k", "a")).unwrap();

    refused(&store, "invalid", "\"ed25519:12\"", || {
        ids.insert_peer(PeerEntry::new("b").fingerprint("ed25519:12"))
    });
    refused(&store, "invalid", "\"rsa:abc\"", || {
        ids.insert_peer(PeerEntry::new("b").fingerprint("rsa:abc"))
    });
    refused(
        &store,
        "duplicate",
        &format!(
            "peer \"b\": fingerprint {:?} is already registered to another peer",
            fp(1)
        ),
        || {
            ids.insert_peer(
                PeerEntry::new("b").fingerprint(fp(1).to_uppercase().replace("ED25519", "ed25519")),
            )
        },
    );
    refused(&store, "duplicate", "peer \"a\" already exists", || {
        ids.insert_peer(PeerEntry::new("a"))
    });
    refused(
        &store,
        "duplicate",
        "peer \"b\": the token is already in use by another peer",
        || ids.insert_peer(PeerEntry::new("b").token(&token)),
    );
    refused(
        &store,
        "duplicate",
        "peer \"b\": the token is already in use by an API key",
        || ids.insert_peer(PeerEntry::new("b").token(&key_token)),
    );
    refused(
        &store,
        "not_found",
        "peer \"nobody\" does not exist",
        || ids.replace_peer(PeerEntry::new("nobody")),
    );
    refused(
        &store,
        "not_found",
        "peer \"nobody\" does not exist",
        || ids.delete_peer("nobody"),
    );
    refused(&store, "invalid", "\"plain\"", || {
        let mut peer = PeerEntry::new("b");
        peer.auth_token_hash = Some("plain".into());
        ids.insert_peer(peer)
    });
    refused(&store, "invalid", "peer_id must not be empty", || {
        ids.insert_peer(PeerEntry::new(""))
    });
    refused(&store, "invalid", "whitespace", || {
        ids.insert_peer(PeerEntry::new("b").scopes(["two words"]))
    });
    refused(
        &store,
        "not_found",
        "API key \"nope\" does not exist",
        || ids.revoke_api_key("nope").map(drop),
    );
    refused(&store, "invalid", "API key name", || {
        ids.create_api_key(NewApiKey::new("", "a")).map(drop)
    });
    refused(
        &store,
        "not_found",
        "credential \"github\" does not exist",
        || ids.delete_credential("github"),
    );
    // A fingerprint may move only once its owner lets go of it.
    ids.replace_peer(PeerEntry::new("a")).unwrap();
    ids.insert_peer(PeerEntry::new("b").fingerprint(fp(1)))
        .unwrap();
    assert_eq!(ids.resolve_from_fingerprint(&fp(1)).unwrap().id, "b");
}

#[test]
fn credentials_are_stored_opaque() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let data = EncryptedData {
        key_version: 3,
        salt: vec![1, 2],
        iv: vec![3; 12],
        ciphertext: vec![0, 255, 7],
    };
    assert_eq!(ids.get("github"), None);
    ids.put_credential("github", &data).unwrap();
    assert_eq!(ids.get("github"), Some(data.clone()));
    let newer = EncryptedData {
        key_version: 4,
        ..data
    };
    ids.put_credential("github", &newer).unwrap();
    assert_eq!(ids.get("github").unwrap().key_version, 4);
    // A second provider on the file sees it from its own load.
    let other = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store)
        .unwrap();
    assert_eq!(other.get("github"), Some(newer));
    ids.delete_credential("github").unwrap();
    assert_eq!(ids.get("github"), None);
    assert_eq!(
        other.get("github"),
        None,
        "same-process writes reach every provider"
    );
}

#[test]
fn acl_delegation_changes_what_a_peer_resolves_to() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("bot").fingerprint(fp(9)).scopes(["own"]))
        .unwrap();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(
        &Principal::new("alice", IdentityType::Account)
            .scopes(["deploy", "read"])
            .resource("repo", ["write"]),
    )
    .unwrap();
    acl.add_principal(&Principal::new("bot", IdentityType::Service))
        .unwrap();
    let scopes =
        |ids: &SqliteIdentityProvider| ids.resolve_from_fingerprint(&fp(9)).unwrap().scopes;
    assert_eq!(scopes(&ids), ["own"]);

    acl.delegate(
        &Delegation::new("alice", "bot")
            .scopes(["deploy"])
            .resource("repo", ["write"]),
    )
    .unwrap();
    // Read-your-writes: the ACL write returned, the next read sees it.
    let identity = ids.resolve_from_fingerprint(&fp(9)).unwrap();
    assert_eq!(identity.scopes, ["deploy", "own"]);
    assert_eq!(identity.resources["repo"], ["write"]);

    // A change upstream reaches the peer (alice loses deploy).
    acl.update_principal(&Principal::new("alice", IdentityType::Account).scopes(["read"]))
        .unwrap();
    assert_eq!(scopes(&ids), ["own"]);
    acl.update_principal(&Principal::new("alice", IdentityType::Account).scopes(["deploy"]))
        .unwrap();
    assert_eq!(scopes(&ids), ["deploy", "own"]);

    acl.revoke("alice", "bot").unwrap();
    assert_eq!(scopes(&ids), ["own"]);

    // Expiry removes the grant with no write.
    acl.update_delegation(
        &Delegation::new("alice", "bot")
            .scopes(["deploy"])
            .expires_at(now_ms() + 400),
    )
    .unwrap();
    assert_eq!(scopes(&ids), ["deploy", "own"]);
    let revision = ids.revision();
    thread::sleep(Duration::from_millis(450));
    assert_eq!(scopes(&ids), ["own"]);
    assert_eq!(store.revision().unwrap(), revision, "no write happened");

    acl.remove_principal("bot").unwrap();
    assert_eq!(scopes(&ids), ["own"]);
}

#[test]
fn a_principal_in_a_group_gets_the_group_grant_through_its_peer() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("ops", IdentityType::Role).scopes(["page"]))
        .unwrap();
    acl.add_principal(&Principal::new("node-7", IdentityType::Service))
        .unwrap();
    acl.add_membership(&alknet_graphs::acl::Membership::new("node-7", "ops"))
        .unwrap();
    // The provider opened after the ACL was written loads it whole.
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("node-7").fingerprint(fp(7)))
        .unwrap();
    assert_eq!(
        ids.resolve_from_fingerprint(&fp(7)).unwrap().scopes,
        ["page"]
    );
    acl.remove_membership("node-7", "ops").unwrap();
    assert!(ids
        .resolve_from_fingerprint(&fp(7))
        .unwrap()
        .scopes
        .is_empty());
}

// -- cross-process ------------------------------------------------------------

/// The writer half of the cross-process test, run as a child process.
#[test]
#[ignore = "run as a child process by writes_from_another_process_reach_the_provider"]
fn child_identity_writer() {
    let path = std::env::var("ALKNET_CHILD_DB").expect("ALKNET_CHILD_DB");
    let step = std::env::var("ALKNET_CHILD_STEP").expect("ALKNET_CHILD_STEP");
    let store = Store::open(path).unwrap();
    match step.as_str() {
        "update-peer" => {
            let ids = SqliteIdentityProvider::builder()
                .listen(false)
                .open(&store)
                .unwrap();
            ids.replace_peer(PeerEntry::new("edge-1").fingerprint(fp(5)).scopes(["v2"]))
                .unwrap();
        }
        "revoke" => {
            let mut acl = Acl::open(&store).unwrap();
            acl.revoke("root", "edge-1").unwrap();
        }
        other => panic!("unknown step {other}"),
    }
}

fn run_child(store: &Store, step: &str) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["child_identity_writer", "--exact", "--ignored", "--quiet"])
        .env("ALKNET_CHILD_DB", store.path())
        .env("ALKNET_CHILD_STEP", step)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "child {step} failed");
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn writes_from_another_process_reach_the_provider() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(["admin"]))
        .unwrap();
    acl.add_principal(&Principal::new("edge-1", IdentityType::Service))
        .unwrap();
    acl.delegate(&Delegation::new("root", "edge-1").scopes(["admin"]))
        .unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("edge-1").fingerprint(fp(5)).scopes(["v1"]))
        .unwrap();
    assert_eq!(
        ids.resolve_from_fingerprint(&fp(5)).unwrap().scopes,
        ["admin", "v1"]
    );

    run_child(&store, "update-peer");
    eventually("the peer update", || {
        ids.resolve_from_fingerprint(&fp(5)).unwrap().scopes == ["admin", "v2"]
    });
    run_child(&store, "revoke");
    eventually("the revocation", || {
        ids.resolve_from_fingerprint(&fp(5)).unwrap().scopes == ["v2"]
    });
    assert_eq!(ids.revision(), store.revision().unwrap());
    assert_eq!(ids.last_error(), None);
}

// -- async ----------------------------------------------------------------------

/// A minimal executor: polls one future on this thread, parking between
/// wakes.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

async fn exercise_async_api(ids: &SqliteIdentityProvider) {
    ids.put_peer(PeerEntry::new("async-1").fingerprint(fp(3)).scopes(["x"]))
        .await
        .unwrap();
    // Read-your-writes once the future completes.
    assert_eq!(ids.resolve_from_fingerprint(&fp(3)).unwrap().scopes, ["x"]);
    let err = ids.put_peer(PeerEntry::new("async-1")).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    ids.update_peer(PeerEntry::new("async-1").fingerprint(fp(3)).scopes(["y"]))
        .await
        .unwrap();
    assert_eq!(ids.resolve_from_fingerprint(&fp(3)).unwrap().scopes, ["y"]);
    let err = ids.update_peer(PeerEntry::new("ghost")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    ids.remove_peer("async-1").await.unwrap();
    assert_eq!(ids.resolve_from_fingerprint(&fp(3)), None);

    let data = EncryptedData {
        key_version: 1,
        salt: vec![9],
        iv: vec![8],
        ciphertext: vec![7],
    };
    ids.put("vault", data.clone()).await.unwrap();
    assert_eq!(ids.get("vault"), Some(data));
    ids.delete("vault").await.unwrap();
    assert_eq!(ids.get("vault"), None);
    assert!(matches!(
        ids.delete("vault").await,
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn async_writes_work_under_a_minimal_executor() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    block_on(exercise_async_api(&ids));
}

#[test]
fn async_writes_work_under_tokio() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(exercise_async_api(&ids));
    // And concurrently, from tasks of a multi-threaded runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..20u8)
            .map(|i| {
                let ids = ids.clone();
                tokio::spawn(async move {
                    ids.put_peer(PeerEntry::new(format!("t{i}")).fingerprint(fp(100 + i)))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    });
    for i in 0..20u8 {
        assert_eq!(
            ids.resolve_from_fingerprint(&fp(100 + i)).unwrap().id,
            format!("t{i}")
        );
    }
}

// -- audit ------------------------------------------------------------------------

#[test]
fn the_audit_log_records_every_mutation_and_detects_tampering() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store)
        .unwrap()
        .acting_as("admin");
    ids.insert_peer(PeerEntry::new("p1").fingerprint(fp(1)))
        .unwrap();
    ids.replace_peer(PeerEntry::new("p1").fingerprint(fp(2)))
        .unwrap();
    let (key, _) = ids.create_api_key(NewApiKey::new("k", "p1")).unwrap();
    ids.revoke_api_key(&key.id).unwrap();
    let mut acl = Acl::open(&store).unwrap();
    acl.set_actor(Some("root"));
    acl.add_principal(&Principal::new("p1", IdentityType::Service))
        .unwrap();
    acl.add_principal(&Principal::new("p0", IdentityType::Account).scopes(["s"]))
        .unwrap();
    acl.delegate(&Delegation::new("p0", "p1").scopes(["s"]))
        .unwrap();
    acl.revoke("p0", "p1").unwrap();
    ids.delete_peer("p1").unwrap();
    // A refused write records nothing.
    assert!(ids.delete_peer("p1").is_err());

    let read = store.begin_read().unwrap();
    let log = read.audit_log(0, 100).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "peer.create",
            "peer.update",
            "api_key.create",
            "api_key.revoke",
            "acl.principal.create",
            "acl.principal.create",
            "acl.delegate",
            "acl.revoke",
            "peer.delete",
        ]
    );
    assert_eq!(log[0].actor.as_deref(), Some("admin"));
    assert_eq!(log[4].actor.as_deref(), Some("root"));
    assert_eq!(log[1].entity, "peer \"p1\"");
    assert!(log[1].before.as_deref().unwrap().contains(&fp(1)));
    assert!(log[1].after.as_deref().unwrap().contains(&fp(2)));
    assert!(log[8].after.is_none());
    assert_eq!(read.verify_audit_chain().unwrap(), None);
    drop(read);

    // The table refuses edits; someone who drops the guard and edits a row
    // is caught at that row.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    assert!(conn
        .execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", [])
        .is_err());
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    let check = || store.begin_read().unwrap().verify_audit_chain().unwrap();

    conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    let broken = check().unwrap();
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("altered"), "{broken}");
    conn.execute("UPDATE audit_log SET actor = 'admin' WHERE seq = 3", [])
        .unwrap();
    assert_eq!(check(), None);

    // Rewriting a row with a recomputed-looking hash breaks the next link.
    conn.execute("UPDATE audit_log SET hash = prev_hash WHERE seq = 5", [])
        .unwrap();
    assert_eq!(check().unwrap().seq, 5);
    let original: String = store.begin_read().unwrap().audit_log(5, 1).unwrap()[0]
        .prev_hash
        .clone();
    conn.execute("UPDATE audit_log SET hash = ?1 WHERE seq = 5", [&original])
        .unwrap();
    assert_eq!(check(), None);

    // A deleted entry in the middle, and a truncated tail.
    conn.execute("DELETE FROM audit_log WHERE seq = 6", [])
        .unwrap();
    let broken = check().unwrap();
    assert_eq!(broken.seq, 6);
    assert!(broken.reason.contains("missing"), "{broken}");
    let (dir2, store2) = common::store();
    let ids2 = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store2)
        .unwrap();
    ids2.insert_peer(PeerEntry::new("a")).unwrap();
    ids2.insert_peer(PeerEntry::new("b")).unwrap();
    let conn2 = rusqlite::Connection::open(store2.path()).unwrap();
    conn2
        .execute_batch("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;")
        .unwrap();
    let broken = store2
        .begin_read()
        .unwrap()
        .verify_audit_chain()
        .unwrap()
        .unwrap();
    assert_eq!(broken.seq, 2);
    drop(dir2);
}
