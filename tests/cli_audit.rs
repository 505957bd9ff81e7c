//! `audit keygen | checkpoint | verify | redact` and `peer erase` through
//! the binary.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::audit::forge_history;
use common::cli::{dump, utf8, Env};
use common::fp;
use serde_json::{json, Value};

/// Peers p1 and p2, an API key of p1's: three entries.
fn registry() -> Env {
    let env = Env::init();
    env.ok(&[
        "--actor",
        "admin",
        "peer",
        "add",
        "p1",
        "--fingerprint",
        &fp(1),
        "--scope",
        "ci",
    ]);
    env.ok(&[
        "--actor",
        "admin",
        "peer",
        "add",
        "p2",
        "--fingerprint",
        &fp(2),
        "--scope",
        "ci",
    ]);
    env.ok(&[
        "--actor", "admin", "apikey", "create", "--name", "k", "--owner", "p1", "--scope", "ci",
    ]);
    env
}

/// A key pair: the secret's file, and the public key as printed.
fn keygen(env: &Env, name: &str) -> (String, String) {
    let path = env.path(name).display().to_string();
    let out = env.ok(&["audit", "keygen", "--out", &path]);
    let public = out["public_key"].as_str().expect("public key").to_owned();
    (path, public)
}

/// Signs a checkpoint and keeps it in an anchor file, as an operator
/// would on another machine.
fn anchor(env: &Env, key: &str, name: &str) -> (Value, String) {
    let checkpoint = env.ok(&["audit", "checkpoint", "--key", key]);
    let path = env.write(name, &checkpoint.to_string());
    (checkpoint, path.display().to_string())
}

#[test]
fn a_forged_history_is_named_by_audit_verify_with_the_trusted_key() {
    let env = registry();
    let (key, public) = keygen(&env, "audit.key");
    let (checkpoint, anchor) = anchor(&env, &key, "anchor.json");
    assert_eq!(
        (checkpoint["seq"].clone(), checkpoint["audit_seq"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(checkpoint["public_key"], public.as_str());
    assert!(env
        .text_ok(&["audit", "verify", "--trusted-key", &public, "--anchor", &anchor])
        .starts_with("audit log intact (3 entries): 1 checkpoint(s) signed by the trusted key, 1 anchor(s) matched\n"));

    forge_history(&env.db);

    // Without a key, the stored checkpoint still disagrees with the chain;
    // the output says what a keyless check cannot promise.
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = utf8(&out.stdout);
    assert!(
        text.starts_with("audit chain broken: audit entry 2: does not match checkpoint 1"),
        "{text}"
    );
    assert!(
        text.contains("does not protect against someone who can rewrite the file"),
        "{text}"
    );

    let before = dump(&env.db);
    let out = env.run(&[
        "audit",
        "verify",
        "--trusted-key",
        &public,
        "--anchor",
        &anchor,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        utf8(&out.stdout),
        "audit chain broken: audit entry 2: does not match checkpoint 1, which covers entries 1 to 3 (the entry was altered or removed, or one was inserted before it)\n"
    );
    let out = env.run(&["--json", "audit", "verify", "--trusted-key", &public]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["break"]["kind"], "entry");
    assert_eq!(report["break"]["seq"], 2);
    assert_eq!(report["signatures_checked"], true);
    // The public key may also be given in a file.
    let key_file = env.write("trusted.pub", &format!("{public}\n"));
    let out = env.run(&[
        "audit",
        "verify",
        "--trusted-key",
        &key_file.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // `verify` compares the stored checkpoint with the chain too.
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(utf8(&out.stdout).contains("audit entry 2: does not match checkpoint 1"));
    assert_eq!(dump(&env.db), before, "verifying changes nothing");

    // A forger who also removes the checkpoints is caught by the anchor.
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;",
        )
        .unwrap();
    }
    assert!(env.text_ok(&["verify"]).starts_with("clean"));
    // The keyless chain is fooled now, and says that it can be.
    let text = env.text_ok(&["audit", "verify"]);
    assert!(
        text.starts_with("audit chain intact (2 entries)\nno trusted key given"),
        "{text}"
    );
    let out = env.run(&[
        "audit",
        "verify",
        "--trusted-key",
        &public,
        "--anchor",
        &anchor,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        utf8(&out.stdout),
        "audit chain broken: anchored checkpoint 1: is missing from the store (its checkpoints end at 0; they were removed)\n\
         also: audit entry 3: missing: anchored checkpoint 1 covers entries up to 3, but the log ends at 2\n"
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_rejected() {
    let env = registry();
    let (key, _) = keygen(&env, "a.key");
    let (_, other) = keygen(&env, "b.key");
    env.ok(&["audit", "checkpoint", "--key", &key]);
    let out = env.run(&["audit", "verify", "--trusted-key", &other]);
    assert_eq!(out.status.code(), Some(1));
    let text = utf8(&out.stdout);
    assert!(
        text.starts_with("audit chain broken: checkpoint 1: is signed by key "),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("not the trusted key {other}\n")),
        "{text}"
    );
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites() {
    let env = Env::new();
    let path = env.path("audit.key");
    let out = env.run(&["audit", "keygen", "--out", &path.display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    let public = utf8(&out.stdout);
    let public = public.trim_end();
    assert_eq!(public.len(), 64);
    assert!(public.bytes().all(|b| b.is_ascii_hexdigit()));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let secret = std::fs::read_to_string(&path).unwrap();
    assert_eq!(secret.trim_end().len(), 64);
    assert_ne!(secret.trim_end(), public, "the file holds the secret");

    let (kind, message) = env.fails(
        &["audit", "keygen", "--out", &path.display().to_string()],
        1,
    );
    assert_eq!(kind, "io");
    assert_eq!(
        message,
        format!("cannot create key file {}: file exists", path.display())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret, "kept");
}

#[test]
fn checkpoint_refuses_a_key_file_others_can_read_and_bad_arguments() {
    let env = registry();
    let (key, public) = keygen(&env, "audit.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (kind, message) = env.fails(&["audit", "checkpoint", "--key", &key], 1);
    assert_eq!(kind, "invalid_input");
    assert_eq!(
        message,
        format!("key file {key} can be read by other users (mode 0644); chmod 600 it")
    );
    let (kind, _) = env.fails(&["audit", "verify", "--anchor", &key], 2);
    assert_eq!(kind, "usage");
    let bad = env.write("bad.json", r#"{"seq": 1}"#).display().to_string();
    let (_, message) = env.fails(
        &[
            "audit",
            "verify",
            "--trusted-key",
            &public,
            "--anchor",
            &bad,
        ],
        1,
    );
    assert!(
        message.starts_with(&format!(
            "anchor {bad}: invalid checkpoint: missing field `audit_seq`"
        )),
        "{message}"
    );
    let (_, message) = env.fails(&["audit", "verify", "--trusted-key", "nothex"], 1);
    assert_eq!(message, "cannot read nothex: no such file or directory");
    let (kind, _) = env.fails(&["audit", "redact", "--reason", "r"], 2);
    assert_eq!(kind, "usage");
}

#[test]
fn a_redaction_keeps_every_check_clean_and_is_listed_as_a_tombstone() {
    let env = registry();
    let (key, public) = keygen(&env, "audit.key");
    let (_, anchor) = anchor(&env, &key, "anchor.json");
    let out = env.ok(&[
        "--actor",
        "dpo",
        "audit",
        "redact",
        "1",
        "--reason",
        "request 42",
    ]);
    assert_eq!(out, json!({"redacted": [1], "scrubbed": true}));
    assert_eq!(
        env.text_ok(&[
            "audit",
            "redact",
            "--entity",
            "peer \"p2\"",
            "--reason",
            "request 43"
        ]),
        "redacted audit entry 2 about peer \"p2\"\n"
    );

    let log = env.ok(&["audit", "list"]);
    let first = &log["entries"][0];
    assert_eq!(
        (first["before"].clone(), first["after"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(first["redacted"]["redacted"], true);
    assert_eq!(first["redacted"]["by"], 4);
    assert_eq!(first["redacted"]["reason"], "request 42");
    assert_eq!(
        first["redacted"]["after_sha256"].as_str().unwrap().len(),
        64
    );
    let record = &log["entries"][3];
    assert_eq!(
        (
            record["action"].clone(),
            record["entity"].clone(),
            record["actor"].clone()
        ),
        (json!("audit.redact"), json!("audit entry 1"), json!("dpo"))
    );
    assert!(env
        .text_ok(&["audit", "list"])
        .contains("peer \"p1\"  (redacted by 4)"));

    let text = env.text_ok(&[
        "audit",
        "verify",
        "--trusted-key",
        &public,
        "--anchor",
        &anchor,
    ]);
    assert_eq!(
        text,
        "audit log intact (5 entries, 2 redacted): 1 checkpoint(s) signed by the trusted key, 1 anchor(s) matched\n\
         entries 4 to 5 are not covered by a checkpoint yet (the chain alone protects them)\n"
    );
    assert_eq!(
        env.ok(&["audit", "verify", "--trusted-key", &public])["redacted"],
        json!([1, 2])
    );
    assert!(env.text_ok(&["verify"]).starts_with("clean"));

    let (_, message) = env.fails(&["audit", "redact", "1", "--reason", "again"], 1);
    assert_eq!(
        message,
        "audit entry 1: is already redacted (by audit entry 4)"
    );
    // Tampering with a redacted entry is not mistaken for the redaction.
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET after = '{}' WHERE seq = 1;",
        )
        .unwrap();
    }
    let out = env.run(&["audit", "verify", "--trusted-key", &public]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        utf8(&out.stdout),
        "audit chain broken: audit entry 1: after does not match its digest (the entry was altered)\n"
    );
}

#[test]
fn peer_erase_removes_the_peer_and_its_data_from_the_file() {
    let env = registry();
    let (key, public) = keygen(&env, "audit.key");
    env.ok(&["audit", "checkpoint", "--key", &key]);
    let out = env.ok(&[
        "--actor",
        "dpo",
        "peer",
        "erase",
        "p2",
        "--reason",
        "request 42",
    ]);
    assert_eq!(
        out,
        json!({"erased": "p2", "redacted": [2, 4], "scrubbed": true})
    );
    let (kind, _) = env.fails(&["peer", "show", "p2"], 1);
    assert_eq!(kind, "not_found");
    assert!(env
        .text_ok(&["audit", "verify", "--trusted-key", &public])
        .starts_with("audit log intact (6 entries, 2 redacted)"));
    assert!(env.text_ok(&["verify"]).starts_with("clean"));

    let mut bytes = std::fs::read(&env.db).unwrap();
    if let Ok(wal) = std::fs::read(env.path("store.db-wal")) {
        bytes.extend(wal);
    }
    let holds = |n: u8| {
        let hex = format!("{n:02x}").repeat(32);
        bytes.windows(64).any(|w| w == hex.as_bytes())
    };
    assert!(!holds(2), "p2's fingerprint is still in the file");
    assert!(holds(1), "p1's is kept");
    assert_eq!(
        env.text_ok(&["peer", "erase", "p2", "--reason", "again"]),
        "erased peer p2: no audit entry about peer \"p2\" holds a payload\n"
    );
}
