//! The identity commands fail closed through the binary: API keys within
//! their owner's grant, peers bound only to accounts and services, revoked
//! keys that stay revoked, and `peer resolve` naming why the registry is
//! not healthy. Every refusal leaves the store unchanged.

mod common;

use common::cli::{utf8, Env};
use serde_json::{json, Value};

const FP: &str = "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

/// `root` (an account holding deploy:prod and ci) and the service peer
/// `ci-bot` holding `ci` itself.
fn fixture() -> Env {
    let env = Env::init();
    env.ok(&[
        "acl",
        "principal",
        "add",
        "root",
        "--type",
        "account",
        "--scope",
        "deploy:prod",
        "--scope",
        "ci",
    ]);
    env.ok(&["acl", "principal", "add", "ci-bot", "--type", "service"]);
    env.ok(&[
        "acl",
        "delegate",
        "root",
        "ci-bot",
        "--scope",
        "deploy:prod",
    ]);
    env.ok(&[
        "peer",
        "add",
        "ci-bot",
        "--fingerprint",
        FP,
        "--scope",
        "ci",
    ]);
    env
}

#[test]
fn an_api_key_for_an_owner_that_is_missing_or_lacks_the_scope_is_refused() {
    let env = fixture();
    let (kind, message) = env.fails(
        &[
            "apikey", "create", "--name", "k", "--owner", "nobody", "--scope", "*",
        ],
        1,
    );
    assert_eq!(kind, "not_found");
    assert_eq!(
        message,
        r#"API key "k": owner "nobody" is neither a peer nor an ACL principal"#
    );
    let (kind, message) = env.fails(
        &[
            "apikey",
            "create",
            "--name",
            "deploy",
            "--owner",
            "ci-bot",
            "--scope",
            "deploy:staging",
            "--resource",
            "repo:write",
        ],
        1,
    );
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"API key "deploy": owner "ci-bot" does not hold "deploy:staging", write on "repo""#
    );
    // Within the owner's grant (its own ∪ its principal's): created.
    let created = env.ok(&[
        "apikey",
        "create",
        "--name",
        "deploy",
        "--owner",
        "ci-bot",
        "--scope",
        "deploy:prod",
        "--scope",
        "ci",
    ]);
    let token = created["token"].as_str().unwrap().to_owned();
    let resolved = env.ok(&["peer", "resolve", "--token", &token]);
    assert_eq!(resolved["scopes"], json!(["ci", "deploy:prod"]));
    // The owner loses the delegation: the key narrows with it.
    env.ok(&["acl", "revoke", "root", "ci-bot"]);
    let resolved = env.ok(&["peer", "resolve", "--token", &token]);
    assert_eq!(resolved["scopes"], json!(["ci"]));
    // The owner is removed: the key resolves to nothing.
    env.ok(&["acl", "principal", "rm", "ci-bot"]);
    env.ok(&["peer", "rm", "ci-bot"]);
    let (kind, _) = env.fails(&["peer", "resolve", "--token", &token], 1);
    assert_eq!(kind, "not_found");
}

#[test]
fn a_revoked_key_cannot_be_enabled_or_disabled() {
    let env = fixture();
    let created = env.ok(&[
        "apikey", "create", "--name", "k", "--owner", "ci-bot", "--scope", "ci",
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    env.ok(&["apikey", "revoke", &id]);
    for command in ["enable", "disable"] {
        let (kind, message) = env.fails(&["apikey", command, &id], 1);
        assert_eq!(kind, "invalid");
        assert_eq!(
            message,
            format!("API key {id:?}: is revoked; a revoked key cannot be enabled or disabled")
        );
    }
}

#[test]
fn a_peer_and_an_org_or_role_principal_never_share_an_id() {
    let env = fixture();
    env.ok(&[
        "acl",
        "principal",
        "add",
        "release-managers",
        "--type",
        "role",
        "--scope",
        "release",
    ]);
    let (kind, message) = env.fails(&["peer", "add", "release-managers", "--scope", "x"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"peer "release-managers": ACL principal "release-managers" is a role; a peer binds only to an account or service principal"#
    );
    env.ok(&["peer", "add", "edge-01"]);
    let (kind, message) = env.fails(&["acl", "principal", "add", "edge-01", "--type", "org"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"node "edge-01" in graph "acl": peer "edge-01": ACL principal "edge-01" is an org; a peer binds only to an account or service principal"#
    );
}

/// A `resource` node whose key breaks the ACL's key rule, written around
/// the API with a change batch naming it.
fn damage_acl(env: &Env) {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
         SELECT g.id, 'resource oops', nt.id, '{\"resource_type\":\"repo\"}', 0, 0
         FROM graphs g JOIN node_types nt
           ON nt.graph_type_id = g.graph_type_id AND nt.name = 'resource'
         WHERE g.name = 'acl';
         UPDATE _alknet_meta SET value = value + 1 WHERE key = 'revision';
         INSERT INTO _honker_stream (topic, key, payload)
         SELECT 'alknet_graphs.changes', NULL, '{\"revision\":' || value ||
                ',\"events\":[{\"entity\":\"node\",\"op\":\"create\",\"graph\":\"acl\",\"keys\":[\"resource oops\"]}]}'
         FROM _alknet_meta WHERE key = 'revision';
         COMMIT;",
    )
    .unwrap();
}

const BAD_RESOURCE: &str = r#"node "resource oops" in graph "acl": a resource's key is "resource repo", from its resource_type and resource_id"#;

#[test]
fn peer_resolve_exits_1_naming_why_the_registry_is_not_healthy() {
    let env = fixture();
    let healthy = env.ok(&["peer", "resolve", "--fingerprint", FP]);
    assert_eq!(healthy["scopes"], json!(["ci", "deploy:prod"]));
    assert!(healthy.get("status").is_none());
    damage_acl(&env);

    // JSON: what resolved without the ACL, and the status.
    let out = env.run(&["--json", "peer", "resolve", "--fingerprint", FP]);
    assert_eq!(out.status.code(), Some(1));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["id"], "ci-bot");
    assert_eq!(value["scopes"], json!(["ci"]), "no ACL grant");
    assert_eq!(value["status"]["health"], "acl_unavailable");
    assert_eq!(value["status"]["reason"], BAD_RESOURCE);
    assert!(value["status"]["revision"].as_u64().unwrap() > 0);

    // Text: the reason first, then the answer, labelled.
    let out = env.run(&["peer", "resolve", "--fingerprint", FP]);
    assert_eq!(out.status.code(), Some(1));
    let text = utf8(&out.stdout);
    assert_eq!(
        text,
        format!(
            "error: the identity registry is not healthy: the ACL is unavailable: {BAD_RESOURCE}; \
             no ACL grant is served: peers resolve to their own scopes and resources only, and \
             API keys of owners that are not peers resolve to nothing\n\
             resolved while not healthy (at most the true grant): ci-bot: ci\n"
        )
    );

    // Nothing resolves: the refusal names the reason too.
    let (kind, message) = env.fails(
        &[
            "peer",
            "resolve",
            "--fingerprint",
            &FP.replace("3b6a", "0000"),
        ],
        1,
    );
    assert_eq!(kind, "not_found");
    assert!(message.contains(BAD_RESOURCE), "{message}");

    // A write still commits, and says what is served meanwhile.
    let out = env.run(&["--json", "peer", "rm", "ci-bot"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["kind"], "unapplied");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the write committed at revision "),
        "{report}"
    );
    let (kind, _) = env.fails(&["peer", "show", "ci-bot"], 1);
    assert_eq!(kind, "not_found");
}
