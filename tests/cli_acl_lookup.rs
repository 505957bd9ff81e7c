//! `acl who-has`, `acl resources` and `acl what-if` through the binary:
//! text and JSON pinned, `--at` honoured, refusals named, nothing written.

mod common;

use common::cli::Env;
use serde_json::json;

/// eng (org: repo:read, repo:write) ⊇ ada (member); ada delegates
/// repo:read to the service ci-bot until 2027-01-01; ci-bot holds read on
/// repo itself and is also a peer holding deploy.
fn fixture() -> Env {
    let env = Env::init();
    for args in [
        &[
            "acl",
            "principal",
            "add",
            "eng",
            "--type",
            "org",
            "--scope",
            "repo:read",
            "--scope",
            "repo:write",
        ][..],
        &["acl", "principal", "add", "ada", "--type", "account"],
        &[
            "acl",
            "principal",
            "add",
            "ci-bot",
            "--type",
            "service",
            "--resource",
            "repo:read",
        ],
        &["acl", "member", "add", "ada", "eng"],
        &[
            "acl",
            "delegate",
            "ada",
            "ci-bot",
            "--scope",
            "repo:read",
            "--expires-at",
            "2027-01-01T00:00:00Z",
        ],
        &["peer", "add", "ci-bot", "--scope", "deploy"],
        &["peer", "add", "ops", "--scope", "repo:write"],
    ] {
        env.ok(args);
    }
    env
}

#[test]
fn who_has_lists_principals_and_peers_now_and_at_another_time() {
    let env = fixture();
    assert_eq!(
        env.text_ok(&[
            "acl",
            "who-has",
            "repo:read",
            "--at",
            "2026-12-31T00:00:00Z"
        ]),
        "principals holding \"repo:read\": ada, ci-bot, eng\npeers holding \"repo:read\": ci-bot\n"
    );
    assert_eq!(
        env.text_ok(&[
            "acl",
            "who-has",
            "repo:read",
            "--at",
            "2027-01-01T00:00:00Z"
        ]),
        "principals holding \"repo:read\": ada, eng\npeers holding \"repo:read\": (none)\n"
    );
    let value = env.ok(&["acl", "who-has", "repo:write", "--at", "1800000000000"]);
    assert_eq!(
        value,
        json!({"permission": {"scope": "repo:write"}, "at": 1800000000000i64,
               "principals": ["ada", "eng"], "peers": ["ops"]})
    );
    let value = env.ok(&["acl", "who-has", "--resource", "repo", "--action", "read"]);
    assert_eq!(value["principals"], json!(["ci-bot"]));
    assert_eq!(value["peers"], json!(["ci-bot"]));
    env.fails(&["acl", "who-has", "--resource", "repo"], 2);
    env.fails(&["acl", "who-has"], 2);
}

#[test]
fn resources_lists_the_principals_and_the_peers() {
    let env = fixture();
    assert_eq!(
        env.text_ok(&["acl", "resources", "ci-bot"]),
        "principal ci-bot: read on repo\npeer ci-bot: read on repo\n"
    );
    let value = env.ok(&["acl", "resources", "eng"]);
    assert_eq!(value["principal"], json!({}));
    assert_eq!(value["peer"], json!(null));
    let (_, err) = env.fails(&["acl", "resources", "nobody"], 1);
    assert_eq!(err, "no principal or peer \"nobody\"");
}

#[test]
fn what_if_reports_gains_and_losses_and_writes_nothing() {
    let env = fixture();
    let revision = env.ok(&["audit", "verify"]);
    let out = env.text_ok(&["acl", "what-if", "member", "rm", "ada", "eng"]);
    let (head, rest) = out.split_once(":\n").unwrap();
    assert!(
        head.starts_with(
            "end \"ada\"'s membership of \"eng\" would change 3 effective grants (at "
        ),
        "{head}"
    );
    assert_eq!(
        rest,
        "  principal ada: loses repo:read, repo:write\n  principal ci-bot: loses repo:read\n  peer ci-bot: loses repo:read\n"
    );
    let value = env.ok(&[
        "acl",
        "what-if",
        "scopes",
        "eng",
        "--set",
        "repo:read",
        "--set",
        "deploy",
    ]);
    assert_eq!(
        value["principals"],
        json!([
            {"id": "ada", "gained": {"scopes": ["deploy"], "resources": {}}, "lost": {"scopes": ["repo:write"], "resources": {}}},
            {"id": "eng", "gained": {"scopes": ["deploy"], "resources": {}}, "lost": {"scopes": ["repo:write"], "resources": {}}},
        ])
    );
    assert_eq!(
        value["peers"],
        json!([]),
        "ci-bot's peer holds deploy itself"
    );
    let value = env.ok(&[
        "acl",
        "what-if",
        "delegate",
        "eng",
        "ci-bot",
        "--scope",
        "repo:write",
    ]);
    assert_eq!(value["change"], json!("delegate \"eng\" → \"ci-bot\""));
    assert_eq!(value["peers"][0]["gained"]["scopes"], json!(["repo:write"]));
    let value = env.ok(&["acl", "what-if", "revoke", "ada", "ci-bot"]);
    assert_eq!(
        value["principals"][0]["lost"]["scopes"],
        json!(["repo:read"])
    );
    let value = env.ok(&["acl", "what-if", "remove", "eng"]);
    let ids: Vec<&str> = value["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ada", "ci-bot", "eng"]);
    let out = env.text_ok(&["acl", "what-if", "member", "add", "ci-bot", "eng"]);
    assert!(out.contains("principal ci-bot: gains repo:write"), "{out}");

    let (_, err) = env.fails(
        &[
            "acl",
            "what-if",
            "delegate",
            "ci-bot",
            "ada",
            "--scope",
            "repo:write",
        ],
        1,
    );
    assert_eq!(
        err,
        "edge \"delegates ci-bot ada\" in graph \"acl\": delegator \"ci-bot\" does not hold \"repo:write\""
    );
    let (_, err) = env.fails(
        &[
            "acl", "what-if", "scopes", "ci-bot", "--set", "x", "--type", "role",
        ],
        1,
    );
    assert_eq!(
        err,
        "node \"ci-bot\" in graph \"acl\": peer \"ci-bot\": ACL principal \"ci-bot\" is a role; a peer binds only to an account or service principal"
    );
    // Nothing was written: the audit log is as it was.
    assert_eq!(env.ok(&["audit", "verify"]), revision);
    assert_eq!(
        env.text_ok(&["acl", "effective", "ci-bot"]),
        "ci-bot: repo:read; read on repo (until 2027-01-01T00:00:00Z)\n"
    );
}
