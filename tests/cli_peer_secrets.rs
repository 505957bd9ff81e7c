//! Peer secrets through the binary: tokens generated and shown once, or
//! read from stdin; short tokens refused; no output and no audit entry
//! holding a token hash; refusals that name no owner; `peer history`.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use alknet_graphs::identity::AuthToken;
use common::cli::{dump, utf8, Env};
use serde_json::{json, Value};

const FP_A: &str = "ed25519:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const FP_B: &str = "ed25519:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const TOKEN: &str = "s3cret-peer-token-0123456789abcdef";

/// Runs `args` with `input` on stdin.
fn with_stdin(env: &Env, args: &[&str], input: &str) -> Output {
    let mut child = env
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for the binary")
}

/// As [`with_stdin`] with `--json`, expecting exit 0.
fn ok_with_stdin(env: &Env, args: &[&str], input: &str) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = with_stdin(env, &all, input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {} {}",
        utf8(&out.stdout),
        utf8(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// As [`with_stdin`] with `--json`, expecting exit 1 and no change to the
/// store; returns the error's kind and message.
fn fails_with_stdin(env: &Env, args: &[&str], input: &str) -> (String, String) {
    let before = dump(&env.db);
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = with_stdin(env, &all, input);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        utf8(&out.stdout)
    );
    assert_eq!(dump(&env.db), before, "{args:?} changed the store");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    (
        report["error"]["kind"].as_str().unwrap().to_owned(),
        report["error"]["message"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_generated_token_is_shown_once_and_resolves() {
    let env = Env::init();
    let out = env.run(&[
        "--actor",
        "ops",
        "peer",
        "add",
        "ci-bot",
        "--fingerprint",
        FP_A,
        "--generate-token",
        "--scope",
        "ci",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", utf8(&out.stderr));
    let text = utf8(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("added peer ci-bot with 1 fingerprint and a token, holding ci"),
        "{text}"
    );
    let token = lines[1].strip_prefix("token: alk_").expect("the token");
    let token = format!("alk_{token}");
    assert_eq!(token.len(), 68);
    assert_eq!(lines[2], "this token will not be shown again: store it now");

    let resolved = ok_with_stdin(
        &env,
        &["peer", "resolve", "--token-stdin"],
        &format!("{token}\n"),
    );
    assert_eq!(resolved["id"], "ci-bot");
    assert_eq!(resolved["via"], "token");

    // Shown once: nothing else prints it, or its hash.
    let hash = AuthToken::new(token.as_str()).hash();
    for args in [
        &["peer", "show", "ci-bot"][..],
        &["peer", "list"],
        &["peer", "history", "ci-bot"],
        &["audit", "list"],
    ] {
        let json = env.ok(args).to_string();
        let text = env.text_ok(args);
        for output in [&json, &text] {
            assert!(!output.contains(&token), "{args:?}: {output}");
            assert!(!output.contains(&hash), "{args:?}: {output}");
        }
    }

    // With --json the token is a field of the answer.
    let added = env.ok(&["peer", "add", "edge-01", "--generate-token"]);
    let token = added["generated_token"].as_str().unwrap();
    assert!(token.starts_with("alk_"));
    assert_eq!(added["token"], "set");
    assert_eq!(
        env.ok(&["peer", "resolve", "--token", token])["id"],
        "edge-01"
    );
}

#[test]
fn a_short_token_is_refused_however_it_is_given() {
    let env = Env::init();
    env.ok(&["peer", "add", "ci-bot"]);
    let (kind, message) = env.fails(&["peer", "add", "x", "--token", "hunter2"], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"peer "x": a token must be at least 32 bytes (got 7); generate one with --generate-token"#
    );
    let (kind, message) = env.fails(&["peer", "update", "ci-bot", "--token", " "], 1);
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"peer "ci-bot": a token must be at least 32 bytes (got 1); generate one with --generate-token"#
    );
    for input in ["hunter2\n", "\n", ""] {
        let (kind, message) =
            fails_with_stdin(&env, &["peer", "update", "ci-bot", "--token-stdin"], input);
        assert_eq!(kind, "invalid");
        let len = input.trim_end().len();
        assert_eq!(
            message,
            format!(
                "peer \"ci-bot\": a token must be at least 32 bytes (got {len}); generate one with --generate-token"
            )
        );
    }
    // Only one source of a token at a time.
    for args in [
        &["peer", "add", "y", "--generate-token", "--token", TOKEN][..],
        &["peer", "add", "y", "--generate-token", "--token-stdin"],
        &["peer", "add", "y", "--token", TOKEN, "--token-stdin"],
    ] {
        let (kind, _) = env.fails(args, 2);
        assert_eq!(kind, "usage");
    }
}

#[test]
fn a_token_on_stdin_is_one_line_without_its_line_ending() {
    let env = Env::init();
    let added = ok_with_stdin(
        &env,
        &["peer", "add", "ci-bot", "--token-stdin"],
        &format!("{TOKEN}\r\nignored second line\n"),
    );
    assert_eq!(added["token"], "set");
    assert!(added.get("generated_token").is_none());
    // The same token resolves however it is presented.
    assert_eq!(
        env.ok(&["peer", "resolve", "--token", TOKEN])["id"],
        "ci-bot"
    );
    let resolved = ok_with_stdin(&env, &["peer", "resolve", "--token-stdin"], TOKEN);
    assert_eq!(resolved["id"], "ci-bot");
    let (kind, _) = fails_with_stdin(
        &env,
        &["peer", "resolve", "--token-stdin"],
        &format!("{TOKEN} \n"),
    );
    assert_eq!(kind, "not_found");
}

#[test]
fn refusals_of_a_taken_credential_name_no_owner() {
    let env = Env::init();
    ok_with_stdin(
        &env,
        &[
            "peer",
            "add",
            "owner",
            "--fingerprint",
            FP_A,
            "--token-stdin",
        ],
        &format!("{TOKEN}\n"),
    );
    let (kind, message) = env.fails(&["peer", "add", "b", "--fingerprint", FP_A], 1);
    assert_eq!(kind, "duplicate");
    assert_eq!(
        message,
        format!("peer \"b\": fingerprint {FP_A:?} is already registered to another peer")
    );
    let (kind, message) = fails_with_stdin(&env, &["peer", "add", "b", "--token-stdin"], TOKEN);
    assert_eq!(kind, "duplicate");
    assert_eq!(
        message,
        r#"peer "b": the token is already in use by another peer"#
    );
    let key = env.ok(&["apikey", "create", "--name", "k", "--owner", "owner"]);
    let key_token = key["token"].as_str().unwrap();
    let (kind, message) = fails_with_stdin(&env, &["peer", "add", "b", "--token-stdin"], key_token);
    assert_eq!(kind, "duplicate");
    assert_eq!(
        message,
        r#"peer "b": the token is already in use by an API key"#
    );
}

#[test]
fn no_output_and_no_audit_entry_holds_a_token_hash() {
    let env = Env::init();
    let other = "other-peer-token-0123456789abcdef0123";
    ok_with_stdin(
        &env,
        &["--actor", "ops", "peer", "add", "p", "--token-stdin"],
        &format!("{TOKEN}\n"),
    );
    ok_with_stdin(
        &env,
        &[
            "--actor",
            "ops",
            "peer",
            "update",
            "p",
            "--token-stdin",
            "--scope",
            "ci",
        ],
        &format!("{other}\n"),
    );
    let rotated = env.ok(&["peer", "update", "p", "--generate-token"]);
    let generated = rotated["generated_token"].as_str().unwrap().to_owned();
    let hashes: Vec<String> = [TOKEN, other, &generated]
        .iter()
        .map(|t| AuthToken::new(*t).hash())
        .collect();

    let shown = env.ok(&["peer", "show", "p"]);
    assert_eq!(shown["token"], "set");
    assert!(shown.get("auth_token_hash").is_none(), "{shown}");
    let listed = env.ok(&["peer", "list"]);
    assert_eq!(listed["peers"][0]["token"], "set");
    assert_eq!(listed["peers"][0]["token_set_at"], shown["token_set_at"]);
    let text = env.text_ok(&["peer", "show", "p"]);
    assert!(text.contains("\n  token: set 20"), "{text}");
    env.ok(&["--actor", "ops", "peer", "rm", "p"]);

    let cells = common::audit_cells(&env.db);
    assert!(cells.len() > 4);
    let outputs = [
        shown.to_string(),
        listed.to_string(),
        text,
        env.ok(&["audit", "list"]).to_string(),
    ];
    for hash in &hashes {
        for cell in &cells {
            assert!(
                !cell.contains(hash.as_str()),
                "a token hash in the audit log: {cell}"
            );
        }
        for output in &outputs {
            assert!(!output.contains(hash.as_str()), "{output}");
        }
    }
    let audit = env.ok(&["audit", "list"]);
    let tokens: Vec<(Value, Value)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = |name: &str| match e[name].as_str() {
                Some(text) => serde_json::from_str::<Value>(text).unwrap()["token"].clone(),
                None => e[name]["token"].clone(),
            };
            (field("before"), field("after"))
        })
        .collect();
    assert_eq!(
        tokens,
        [
            (Value::Null, json!("set")),
            (json!("set"), json!("changed")),
            (json!("set"), json!("changed")),
            (json!("set"), Value::Null),
        ]
    );
}

#[test]
fn peer_history_lists_every_credential_with_who_and_when() {
    let env = Env::init();
    env.ok(&[
        "--actor",
        "ops",
        "peer",
        "add",
        "edge",
        "--fingerprint",
        FP_A,
        "--generate-token",
    ]);
    env.ok(&[
        "--actor",
        "security",
        "peer",
        "update",
        "edge",
        "--fingerprint",
        FP_B,
        "--generate-token",
    ]);
    let history = env.ok(&["peer", "history", "edge"]);
    assert_eq!(history["peer"], "edge");
    assert_eq!(history["exists"], true);
    let records = history["history"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str, Option<&str>)> = records
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["value"].as_str().unwrap(),
                r["added_by"].as_str().unwrap(),
                r["removed_by"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("fingerprint", FP_A, "ops", Some("security")),
            ("token", "#1", "ops", Some("security")),
            ("fingerprint", FP_B, "security", None),
            ("token", "#2", "security", None),
        ]
    );
    assert!(records.iter().all(|r| r["added_at"].as_i64().is_some()));
    assert!(records[2]["removed_at"].is_null());

    let text = env.text_ok(&["peer", "history", "edge"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with(&format!("fingerprint {FP_A}  added 20")),
        "{text}"
    );
    assert!(lines[0].contains(" by ops  removed 20"), "{text}");
    assert!(lines[0].ends_with(" by security"), "{text}");
    assert!(lines[1].starts_with("token #1  added 20"), "{text}");
    assert!(lines[3].starts_with("token #2  added 20"), "{text}");
    assert!(lines[3].ends_with(" by security  current"), "{text}");

    // The rotated-out fingerprint resolves to nothing.
    let (kind, _) = env.fails(&["peer", "resolve", "--fingerprint", FP_A], 1);
    assert_eq!(kind, "not_found");

    // Removal closes what is open; the history outlives the peer.
    env.ok(&["--actor", "ops", "peer", "rm", "edge"]);
    let history = env.ok(&["peer", "history", "edge"]);
    assert_eq!(history["exists"], false);
    let records = history["history"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    assert!(records
        .iter()
        .all(|r| r["removed_at"].as_i64().is_some() && r["removed_by"].is_string()));
    assert_eq!(records[3]["removed_by"], "ops");

    // A peer with no credential, and an id never seen.
    env.ok(&["peer", "add", "bare"]);
    assert_eq!(
        env.text_ok(&["peer", "history", "bare"]),
        "peer bare has held no fingerprint or token\n"
    );
    let (kind, message) = env.fails(&["peer", "history", "ghost"], 1);
    assert_eq!(kind, "not_found");
    assert_eq!(
        message,
        r#"peer "ghost" does not exist and has no credential history"#
    );
}
