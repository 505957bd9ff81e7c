//! The identity registry and the ACL readers fail closed: a row they cannot
//! read never leaves them serving grants a committed write removed; API
//! keys are attenuated by their owner's current grant; a peer binds only
//! to an account or service principal; a revoked key stays revoked.

mod common;

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use alknet_graphs::acl::{Acl, Delegation, IdentityType, Membership, Permission, Principal};
use alknet_graphs::identity::{
    AuthToken, CredentialStore, EncryptedData, IdentityProvider, NewApiKey, PeerEntry,
    ProviderHealth, SqliteIdentityProvider, StoreError,
};
use alknet_graphs::Store;
use common::{fp, now_ms, raw_sql, snapshot, store};

/// Runs `change` (raw SQL) and publishes a change batch naming `events`
/// (JSON groups) in one transaction, as a writer that went around the
/// library would: the revision moves and the rows it names are read by the
/// next catch-up.
fn raw_write(store: &Store, change: &str, events: &str) {
    raw_sql(
        store,
        &format!(
            "BEGIN IMMEDIATE;
             {change};
             UPDATE _alknet_meta SET value = value + 1 WHERE key = 'revision';
             INSERT INTO _honker_stream (topic, key, payload)
             SELECT 'alknet_graphs.changes', NULL,
                    '{{\"revision\":' || value || ',\"events\":{events}}}'
             FROM _alknet_meta WHERE key = 'revision';
             COMMIT;"
        ),
    );
}

/// A `resource` node whose key is not `resource <type>[/<id>]`, inserted
/// with raw SQL and named by a batch.
fn insert_bad_resource(store: &Store) {
    raw_write(
        store,
        "INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
         SELECT g.id, 'resource oops', nt.id, '{\"resource_type\":\"repo\"}', 0, 0
         FROM graphs g JOIN node_types nt
           ON nt.graph_type_id = g.graph_type_id AND nt.name = 'resource'
         WHERE g.name = 'acl'",
        r#"[{"entity":"node","op":"create","graph":"acl","keys":["resource oops"]}]"#,
    );
}

fn remove_bad_resource(store: &Store) {
    raw_sql(store, "DELETE FROM nodes WHERE key = 'resource oops'");
}

const BAD_RESOURCE: &str = r#"node "resource oops" in graph "acl": a resource's key is "resource repo", from its resource_type and resource_id"#;

/// `root` (an account holding `admin`, `ci`) delegates `admin` to the
/// service `ci-bot`, a peer holding `ci` itself; `edge` is a peer of its
/// own. Keys: `bot-key` (ci-bot: admin, ci) and `root-key` (root, an ACL
/// principal only: admin).
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    ids: SqliteIdentityProvider,
    bot_key: String,
    bot_token: AuthToken,
    root_token: AuthToken,
}

fn fixture(listen: bool) -> Fixture {
    let (dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(["admin", "ci"]))
        .unwrap();
    acl.add_principal(&Principal::new("ci-bot", IdentityType::Service))
        .unwrap();
    acl.delegate(&Delegation::new("root", "ci-bot").scopes(["admin"]))
        .unwrap();
    let ids = SqliteIdentityProvider::builder()
        .listen(listen)
        .open(&store)
        .unwrap();
    ids.insert_peer(PeerEntry::new("ci-bot").fingerprint(fp(1)).scopes(["ci"]))
        .unwrap();
    ids.insert_peer(PeerEntry::new("edge").fingerprint(fp(2)).scopes(["edge"]))
        .unwrap();
    let (key, bot_token) = ids
        .create_api_key(NewApiKey::new("bot-key", "ci-bot").scopes(["admin", "ci"]))
        .unwrap();
    let (_, root_token) = ids
        .create_api_key(NewApiKey::new("root-key", "root").scopes(["admin"]))
        .unwrap();
    assert_eq!(
        ids.resolve_from_token(&bot_token).unwrap().scopes,
        ["admin", "ci"]
    );
    assert_eq!(
        ids.resolve_from_token(&root_token).unwrap().scopes,
        ["admin"]
    );
    Fixture {
        _dir: dir,
        store,
        ids,
        bot_key: key.id,
        bot_token,
        root_token,
    }
}

fn scopes(identity: Option<alknet_graphs::identity::Identity>) -> Option<Vec<String>> {
    identity.map(|i| i.scopes.into_iter().collect())
}

// -- 1. a row the ACL codec rejects ----------------------------------------------

#[test]
fn a_bad_acl_row_stops_every_acl_grant_and_removed_grants_stay_removed() {
    let f = fixture(false);
    let ids = &f.ids;
    insert_bad_resource(&f.store);

    // The write commits, and says the snapshot could not apply it.
    let err = ids.revoke_api_key(&f.bot_key).unwrap_err();
    let revision = f.store.revision().unwrap();
    assert_eq!(err.kind(), "unapplied");
    assert_eq!(
        err.to_string(),
        format!(
            "the write committed at revision {revision}, but the identity snapshot could not \
             apply it; until it can, no ACL grant is served: peers resolve to their own scopes \
             and resources only, and API keys of owners that are not peers resolve to nothing"
        )
    );
    let StoreError::Unapplied {
        revision: at,
        health,
        cause,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*at, revision);
    assert!(matches!(health, ProviderHealth::AclUnavailable { .. }));
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        format!("storage failure: {BAD_RESOURCE}")
    );
    assert_eq!(
        cause.to_string(),
        format!("storage failure: {BAD_RESOURCE}")
    );
    assert!(
        ids.api_keys().unwrap()[0].revoked_at.is_some(),
        "it committed"
    );

    // The revoked key and the removed peer are gone at once.
    assert_eq!(ids.resolve_from_token(&f.bot_token), None);
    assert_eq!(ids.delete_peer("edge").unwrap_err().kind(), "unapplied");
    assert_eq!(ids.resolve_from_fingerprint(&fp(2)), None);

    // What still resolves is the peers' own grant: no ACL grant.
    assert_eq!(
        scopes(ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["ci".into()])
    );
    assert_eq!(
        ids.resolve_from_token(&f.root_token),
        None,
        "root is no peer"
    );
    let status = ids.status();
    assert_eq!(status.revision, f.store.revision().unwrap());
    assert_eq!(
        status.health,
        ProviderHealth::AclUnavailable {
            reason: BAD_RESOURCE.into()
        }
    );
    assert_eq!(ids.last_error().as_deref(), Some(BAD_RESOURCE));

    // Another provider opening the file serves the same, and says so.
    let other = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&f.store)
        .unwrap();
    assert_eq!(other.status(), status);
    assert_eq!(
        scopes(other.resolve_from_fingerprint(&fp(1))),
        Some(vec!["ci".into()])
    );
    assert_eq!(other.resolve_from_token(&f.root_token), None);
    assert!(other.refresh().is_err());

    // Repaired: healthy again, and only what the store holds comes back.
    remove_bad_resource(&f.store);
    ids.refresh().unwrap();
    assert_eq!(ids.status().health, ProviderHealth::Healthy);
    assert_eq!(ids.last_error(), None);
    assert_eq!(
        scopes(ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["admin".into(), "ci".into()])
    );
    assert_eq!(
        scopes(ids.resolve_from_token(&f.root_token)),
        Some(vec!["admin".into()])
    );
    assert_eq!(ids.resolve_from_token(&f.bot_token), None);
    assert_eq!(ids.resolve_from_fingerprint(&fp(2)), None);
}

#[test]
fn a_principal_whose_identity_id_is_not_its_key_stops_the_acl_too() {
    let f = fixture(false);
    raw_write(
        &f.store,
        r#"UPDATE nodes SET attributes = json_set(attributes, '$.identity_id', 'someone')
           WHERE key = 'root'"#,
        r#"[{"entity":"node","op":"update","graph":"acl","keys":["root"]}]"#,
    );
    let err = f.ids.refresh().unwrap_err();
    assert!(
        err.to_string().contains("differs from the node key"),
        "{err}"
    );
    assert_eq!(
        scopes(f.ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["ci".into()])
    );
    assert_eq!(
        scopes(f.ids.resolve_from_token(&f.bot_token)),
        Some(vec!["ci".into()]),
        "the key keeps at most its owner's own grant"
    );
    assert_eq!(f.ids.resolve_from_token(&f.root_token), None);
}

#[test]
fn a_registry_row_that_does_not_decode_serves_nothing() {
    let f = fixture(false);
    f.ids
        .put_credential(
            "github",
            &EncryptedData {
                key_version: 1,
                salt: vec![1],
                iv: vec![2],
                ciphertext: vec![3],
            },
        )
        .unwrap();
    raw_write(
        &f.store,
        "UPDATE peers SET scopes = 'not json' WHERE peer_id = 'edge'",
        r#"[{"entity":"peer","op":"update","keys":["edge"]}]"#,
    );
    let err = f.ids.refresh().unwrap_err();
    assert!(err.to_string().contains("peers.scopes"), "{err}");
    let status = f.ids.status();
    assert!(matches!(status.health, ProviderHealth::Unavailable { .. }));
    assert_eq!(status.revision, f.store.revision().unwrap());
    assert_eq!(f.ids.resolve_from_fingerprint(&fp(1)), None);
    assert_eq!(f.ids.resolve_from_token(&f.root_token), None);
    assert_eq!(f.ids.get("github"), None);
    // A provider opening the file has nothing to serve: it refuses.
    let err = SqliteIdentityProvider::open(&f.store).unwrap_err();
    assert_eq!(err.kind(), "backend");

    raw_sql(
        &f.store,
        "UPDATE peers SET scopes = '[]' WHERE peer_id = 'edge'",
    );
    f.ids.refresh().unwrap();
    assert!(f.ids.status().health.is_healthy());
    assert!(f.ids.resolve_from_fingerprint(&fp(1)).is_some());
    assert!(f.ids.get("github").is_some());
}

#[test]
fn a_large_registry_decoded_beside_the_acl_load_refuses_a_row_that_does_not_decode() {
    // Enough peers that opening decodes them on a thread of its own.
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store)
        .unwrap();
    let fingerprint = |i: usize| format!("ed25519:{i:064x}");
    ids.insert_peers((0..5_000).map(|i| {
        PeerEntry::new(format!("p{i}"))
            .fingerprint(fingerprint(i))
            .scopes([format!("s{i}")])
    }))
    .unwrap();
    drop(ids);
    let reopened = SqliteIdentityProvider::open(&store).unwrap();
    for i in [0, 2_500, 4_999] {
        assert_eq!(
            scopes(reopened.resolve_from_fingerprint(&fingerprint(i))),
            Some(vec![format!("s{i}")])
        );
    }
    drop(reopened);
    raw_sql(
        &store,
        "UPDATE peers SET resources = '{\"repo\": 1}' WHERE peer_id = 'p4321'",
    );
    let err = SqliteIdentityProvider::open(&store).unwrap_err();
    assert_eq!(err.kind(), "backend");
    assert!(err.to_string().contains("peers.resources"), "{err}");
}

#[test]
fn the_listener_returns_to_healthy_once_the_file_is_repaired() {
    let f = fixture(true);
    insert_bad_resource(&f.store);
    eventually("the ACL failure", || !f.ids.status().health.is_healthy());
    assert_eq!(
        scopes(f.ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["ci".into()])
    );
    // Repaired with no write: the listener's retries notice.
    remove_bad_resource(&f.store);
    eventually("healthy again", || f.ids.status().health.is_healthy());
    assert_eq!(
        scopes(f.ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["admin".into(), "ci".into()])
    );
}

#[test]
fn the_acl_handle_serves_nothing_and_refuses_writes_until_it_catches_up() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(["admin"]))
        .unwrap();
    insert_bad_resource(&store);
    let err = acl.refresh().unwrap_err();
    assert_eq!(err.to_string(), BAD_RESOURCE);
    assert_eq!(acl.last_error(), Some(BAD_RESOURCE));
    assert_eq!(acl.effective("root"), None);
    assert_eq!(acl.identity("root"), None);
    assert_eq!(acl.graph().principal_count(), 0);

    let before = snapshot(&store);
    let err = acl
        .add_principal(&Principal::new("x", IdentityType::Account))
        .unwrap_err();
    assert_eq!(err.to_string(), BAD_RESOURCE);
    assert_eq!(
        snapshot(&store),
        before,
        "a refused write changed the store"
    );
    assert!(Acl::open(&store).is_err());

    remove_bad_resource(&store);
    assert!(acl.refresh().unwrap() || acl.effective("root").is_some());
    assert_eq!(acl.last_error(), None);
    assert!(acl.effective("root").unwrap().has_scope("admin"));
    acl.add_principal(&Principal::new("x", IdentityType::Account))
        .unwrap();
}

// -- 1, across processes -------------------------------------------------------------

/// The writer half of the cross-process test, run as a child process.
#[test]
#[ignore = "run as a child process by a_writer_in_another_process_is_seen_despite_a_bad_acl_row"]
fn child_fail_closed_writer() {
    let path = std::env::var("ALKNET_CHILD_DB").expect("ALKNET_CHILD_DB");
    let key = std::env::var("ALKNET_CHILD_KEY").expect("ALKNET_CHILD_KEY");
    let store = Store::open(path).unwrap();
    let ids = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&store)
        .unwrap();
    assert!(matches!(
        ids.status().health,
        ProviderHealth::AclUnavailable { .. }
    ));
    // Both writes commit; both say the snapshot serves without the ACL.
    assert_eq!(ids.revoke_api_key(&key).unwrap_err().kind(), "unapplied");
    assert_eq!(ids.delete_peer("ci-bot").unwrap_err().kind(), "unapplied");
    assert!(ids.peer("ci-bot").unwrap().is_none());
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_writer_in_another_process_is_seen_despite_a_bad_acl_row() {
    let f = fixture(true);
    insert_bad_resource(&f.store);
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_fail_closed_writer",
            "--exact",
            "--ignored",
            "--quiet",
        ])
        .env("ALKNET_CHILD_DB", f.store.path())
        .env("ALKNET_CHILD_KEY", &f.bot_key)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child failed");
    let committed = f.store.revision().unwrap();
    eventually("the revocation and the removal", || {
        f.ids.resolve_from_token(&f.bot_token).is_none()
            && f.ids.resolve_from_fingerprint(&fp(1)).is_none()
    });
    eventually("the revision", || f.ids.revision() >= committed);
    assert!(matches!(
        f.ids.status().health,
        ProviderHealth::AclUnavailable { .. }
    ));
    assert_eq!(f.ids.resolve_from_token(&f.root_token), None);
}

#[test]
fn rows_changed_by_plain_sql_are_noticed_without_any_event() {
    let f = fixture(false);
    let before = f.store.revision().unwrap();
    // A plain SQLite connection lowers root and lifts nothing: no change
    // batch, no revision; the write epoch's triggers count it.
    raw_sql(
        &f.store,
        "UPDATE nodes SET attributes = json_set(attributes, '$.scopes', json('[]'))
          WHERE key = 'root'",
    );
    assert_eq!(f.store.revision().unwrap(), before);
    f.ids.refresh().unwrap();
    assert_eq!(
        f.ids.resolve_from_token(&f.root_token).unwrap().scopes,
        Vec::<String>::new()
    );
    assert_eq!(
        scopes(f.ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["ci".into()])
    );
    // And one that leaves a row the ACL cannot load stops every ACL grant.
    raw_sql(
        &f.store,
        "UPDATE nodes SET attributes = json_set(attributes, '$.identity_id', 'mallory')
          WHERE key = 'ci-bot'",
    );
    assert!(f.ids.refresh().is_err());
    assert!(matches!(
        f.ids.status().health,
        ProviderHealth::AclUnavailable { .. }
    ));
    assert_eq!(
        scopes(f.ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["ci".into()])
    );
    assert_eq!(f.ids.resolve_from_token(&f.root_token), None);
}

// -- 2. API keys are attenuated like delegations ------------------------------------

#[test]
fn an_api_key_needs_an_owner_that_holds_what_it_grants() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("ops", IdentityType::Account).scopes(["deploy:prod"]))
        .unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(
        PeerEntry::new("ci-bot")
            .scopes(["deploy:staging"])
            .resource("repo", ["read"]),
    )
    .unwrap();

    let before = snapshot(&store);
    let err = ids
        .create_api_key(NewApiKey::new("k", "root").scopes(["*"]))
        .unwrap_err();
    assert_eq!(err.kind(), "not_found");
    assert_eq!(
        err.to_string(),
        r#"API key "k": owner "root" is neither a peer nor an ACL principal"#
    );
    let err = ids
        .create_api_key(
            NewApiKey::new("deploy", "ci-bot")
                .scopes(["deploy:staging", "deploy:prod"])
                .resource("repo", ["read", "write"]),
        )
        .unwrap_err();
    assert_eq!(err.kind(), "invalid");
    assert_eq!(
        err.to_string(),
        r#"API key "deploy": owner "ci-bot" does not hold "deploy:prod", write on "repo""#
    );
    let StoreError::NotHeld { missing, .. } = &err else {
        panic!("not a not-held refusal: {err:?}");
    };
    assert_eq!(
        missing,
        &[
            Permission::scope("deploy:prod"),
            Permission::resource("repo", "write")
        ]
    );
    assert_eq!(snapshot(&store), before, "a refused key changed the store");

    // A principal owner: its effective grant.
    let (_, token) = ids
        .create_api_key(NewApiKey::new("p", "ops").scopes(["deploy:prod"]))
        .unwrap();
    let identity = ids.resolve_from_token(&token).unwrap();
    assert_eq!(identity.id, "ops");
    assert_eq!(identity.scopes, ["deploy:prod"]);
    // A peer owner: its own grant ∪ its principal's.
    acl.add_principal(&Principal::new("ci-bot", IdentityType::Service))
        .unwrap();
    acl.delegate(&Delegation::new("ops", "ci-bot").scopes(["deploy:prod"]))
        .unwrap();
    let (_, token) = ids
        .create_api_key(
            NewApiKey::new("deploy", "ci-bot")
                .scopes(["deploy:staging", "deploy:prod"])
                .resource("repo", ["read"]),
        )
        .unwrap();
    let identity = ids.resolve_from_token(&token).unwrap();
    assert_eq!(identity.scopes, ["deploy:prod", "deploy:staging"]);
    assert_eq!(identity.resources["repo"], ["read"]);
}

#[test]
fn a_key_narrows_and_dies_with_its_owner_without_a_write_to_it() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(["admin", "ci"]))
        .unwrap();
    acl.add_principal(&Principal::new("ci-bot", IdentityType::Service))
        .unwrap();
    acl.delegate(&Delegation::new("root", "ci-bot").scopes(["admin"]))
        .unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("ci-bot").fingerprint(fp(1)).scopes(["ci"]))
        .unwrap();
    let (_, bot) = ids
        .create_api_key(NewApiKey::new("bot", "ci-bot").scopes(["admin", "ci"]))
        .unwrap();
    let (_, root) = ids
        .create_api_key(NewApiKey::new("root", "root").scopes(["admin", "ci"]))
        .unwrap();
    assert_eq!(
        scopes(ids.resolve_from_token(&bot)),
        Some(vec!["admin".into(), "ci".into()])
    );

    // The owner's ACL grant narrows: so does the key.
    acl.revoke("root", "ci-bot").unwrap();
    assert_eq!(
        scopes(ids.resolve_from_token(&bot)),
        Some(vec!["ci".into()])
    );
    // The owner's own grant narrows.
    ids.replace_peer(PeerEntry::new("ci-bot").fingerprint(fp(1)))
        .unwrap();
    assert_eq!(scopes(ids.resolve_from_token(&bot)), Some(vec![]));
    // The owner's principal and peer are removed: the key is dead.
    acl.remove_principal("ci-bot").unwrap();
    assert!(ids.resolve_from_token(&bot).is_some(), "still a peer");
    ids.delete_peer("ci-bot").unwrap();
    assert_eq!(ids.resolve_from_token(&bot), None);
    // A principal owner loses a scope, then is removed.
    acl.update_principal(&Principal::new("root", IdentityType::Account).scopes(["ci"]))
        .unwrap();
    assert_eq!(
        scopes(ids.resolve_from_token(&root)),
        Some(vec!["ci".into()])
    );
    acl.remove_principal("root").unwrap();
    assert_eq!(ids.resolve_from_token(&root), None);
    assert_eq!(ids.api_keys().unwrap().len(), 2, "no write to the keys");
}

#[test]
fn a_key_loses_what_its_owner_held_until_a_delegation_expired() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(["admin"]))
        .unwrap();
    acl.add_principal(&Principal::new("ops", IdentityType::Account))
        .unwrap();
    acl.delegate(
        &Delegation::new("root", "ops")
            .scopes(["admin"])
            .expires_at(now_ms() + 400),
    )
    .unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let (_, token) = ids
        .create_api_key(NewApiKey::new("k", "ops").scopes(["admin"]))
        .unwrap();
    assert_eq!(
        scopes(ids.resolve_from_token(&token)),
        Some(vec!["admin".into()])
    );
    thread::sleep(Duration::from_millis(450));
    assert_eq!(scopes(ids.resolve_from_token(&token)), Some(vec![]));
}

// -- 3. a peer binds only to an account or a service ------------------------------------

#[test]
fn a_peer_never_binds_to_an_org_or_a_role() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("release-managers", IdentityType::Role).scopes(["release"]))
        .unwrap();
    acl.add_principal(&Principal::new("acme", IdentityType::Org).scopes(["acme"]))
        .unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();

    let before = snapshot(&store);
    let err = ids
        .insert_peer(PeerEntry::new("release-managers").fingerprint(fp(1)))
        .unwrap_err();
    assert_eq!(err.kind(), "invalid");
    assert_eq!(
        err.to_string(),
        r#"peer "release-managers": ACL principal "release-managers" is a role; a peer binds only to an account or service principal"#
    );
    let err = ids.insert_peer(PeerEntry::new("acme")).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"peer "acme": ACL principal "acme" is an org; a peer binds only to an account or service principal"#
    );
    assert_eq!(snapshot(&store), before);

    // From the other side: a principal cannot become an org or a role
    // while a peer has its id.
    ids.insert_peer(PeerEntry::new("build-01").fingerprint(fp(2)))
        .unwrap();
    let before = snapshot(&store);
    let err = acl
        .add_principal(&Principal::new("build-01", IdentityType::Role).scopes(["release"]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"node "build-01" in graph "acl": peer "build-01": ACL principal "build-01" is a role; a peer binds only to an account or service principal"#
    );
    acl.refresh().unwrap();
    assert_eq!(snapshot(&store), before);
    acl.add_principal(&Principal::new("build-01", IdentityType::Service))
        .unwrap();
    let before = snapshot(&store);
    let err = acl
        .update_principal(&Principal::new("build-01", IdentityType::Org))
        .unwrap_err();
    assert!(
        err.to_string().contains("is an org; a peer binds only"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
    let err = ids
        .replace_peer(PeerEntry::new("release-managers"))
        .unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");

    // A member of the role gets its grant, through the membership.
    acl.add_membership(&Membership::new("build-01", "release-managers"))
        .unwrap();
    assert_eq!(
        scopes(ids.resolve_from_fingerprint(&fp(2))),
        Some(vec!["release".into()])
    );
}

#[test]
fn a_peer_named_like_a_role_in_a_raw_file_gets_nothing_from_it() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("release-managers", IdentityType::Service))
        .unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(
        PeerEntry::new("release-managers")
            .fingerprint(fp(1))
            .scopes(["own"]),
    )
    .unwrap();
    // The principal becomes a role holding `release`, around the API.
    raw_write(
        &store,
        r#"UPDATE nodes SET attributes = json_set(attributes, '$.identity_type', 'role',
                                                  '$.scopes', json('["release"]'))
           WHERE key = 'release-managers'"#,
        r#"[{"entity":"node","op":"update","graph":"acl","keys":["release-managers"]}]"#,
    );
    ids.refresh().unwrap();
    assert_eq!(
        scopes(ids.resolve_from_fingerprint(&fp(1))),
        Some(vec!["own".into()])
    );
}

// -- 4. a revoked key stays revoked ---------------------------------------------------

#[test]
fn a_revoked_key_cannot_be_enabled_or_disabled() {
    let (_dir, store) = store();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    ids.insert_peer(PeerEntry::new("p").scopes(["s"])).unwrap();
    let (key, token) = ids
        .create_api_key(NewApiKey::new("k", "p").scopes(["s"]))
        .unwrap();
    ids.revoke_api_key(&key.id).unwrap();
    let before = snapshot(&store);
    for enabled in [true, false] {
        let err = ids.set_api_key_enabled(&key.id, enabled).unwrap_err();
        assert_eq!(err.kind(), "invalid");
        assert_eq!(
            err.to_string(),
            format!(
                "API key {:?}: is revoked; a revoked key cannot be enabled or disabled",
                key.id
            )
        );
    }
    assert_eq!(snapshot(&store), before, "no change, no audit entry");
    assert_eq!(ids.resolve_from_token(&token), None);
    // Revoking again changes nothing either.
    ids.revoke_api_key(&key.id).unwrap();
    assert_eq!(snapshot(&store), before);
}

#[test]
fn removing_a_keys_last_owner_revokes_the_key_in_the_same_transaction() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("ops", IdentityType::Account).scopes(["deploy"]))
        .unwrap();
    acl.add_principal(&Principal::new("bot", IdentityType::Service).scopes(["ci"]))
        .unwrap();
    let ids = SqliteIdentityProvider::open(&store)
        .unwrap()
        .acting_as("admin");
    ids.insert_peer(PeerEntry::new("bot").scopes(["own"]))
        .unwrap();
    let (ops_key, _) = ids
        .create_api_key(NewApiKey::new("k", "ops").scopes(["deploy"]))
        .unwrap();
    let (bot_key, _) = ids
        .create_api_key(NewApiKey::new("k", "bot").scopes(["ci"]))
        .unwrap();
    let revoked = |id: &str| {
        ids.api_keys()
            .unwrap()
            .into_iter()
            .find(|k| k.id == id)
            .unwrap()
            .revoked_at
            .is_some()
    };
    // The principal was ops's only owner: its key is revoked with it.
    acl.set_actor(Some("admin"));
    acl.remove_principal("ops").unwrap();
    assert!(revoked(&ops_key.id));
    // bot is a peer and a principal: removing one leaves the other owner.
    acl.remove_principal("bot").unwrap();
    assert!(!revoked(&bot_key.id));
    ids.delete_peer("bot").unwrap();
    assert!(revoked(&bot_key.id));
    let read = store.begin_read().unwrap();
    let actions: Vec<(String, String)> = read
        .audit_log(0, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "api_key.revoke")
        .map(|e| (e.entity, e.actor.unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        [
            (format!("API key {:?}", ops_key.id), "admin".to_owned()),
            (format!("API key {:?}", bot_key.id), "admin".to_owned()),
        ]
    );
    drop(read);
    assert!(alknet_graphs::verify(&store).unwrap().is_clean());
}
