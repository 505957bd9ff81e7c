//! The identity commands fail closed through the binary: API keys within
//! their owner's grant, peers bound only to accounts and services, revoked
//! keys that stay revoked, and `peer resolve` naming why the registry is
//! not healthy. Every refusal leaves the store unchanged.

#![allow(
    dead_code,
    reason = "the binary helper is shared in shape with tests/cli.rs"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_alknet-graphs");

/// A store in a temporary directory, and the binary pointed at it.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("store.db");
        Env { dir, db }
    }

    /// A fresh store with the built-in types.
    fn init() -> Env {
        let env = Env::new();
        env.ok(&["init"]);
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_remove("ALKNET_GRAPHS_DB")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run the binary")
    }

    /// Runs with `--json`, expects exit 0, and parses stdout.
    fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: stdout {} stderr {}",
            utf8(&out.stdout),
            utf8(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", utf8(&out.stdout)))
    }

    /// Runs without `--json`, expects exit 0, and returns stdout.
    fn text_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: stderr {}",
            utf8(&out.stderr)
        );
        utf8(&out.stdout)
    }

    /// Runs with `--json`, expects `code`, and returns the error report's
    /// kind and message; then runs it again as text and checks the one-line
    /// `error: …` on stderr says the same. The store must not change.
    fn fails(&self, args: &[&str], code: i32) -> (String, String) {
        let before = dump(&self.db);
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            utf8(&out.stdout)
        );
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", utf8(&out.stdout)));
        let kind = report["error"]["kind"].as_str().expect("kind").to_owned();
        let message = report["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned();
        let human = self.run(args);
        assert_eq!(human.status.code(), Some(code), "{args:?}");
        assert!(human.stdout.is_empty(), "{args:?}: {}", utf8(&human.stdout));
        if code != 2 {
            // One error line, last (a command may print a notice first).
            let stderr = utf8(&human.stderr);
            assert!(
                stderr.ends_with(&format!("error: {message}\n")),
                "{args:?}: {stderr}"
            );
            assert_eq!(stderr.matches("error: ").count(), 1, "{args:?}: {stderr}");
        }
        assert_eq!(dump(&self.db), before, "{args:?} changed the store");
        (kind, message)
    }
}

fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every row of every table, as text: equal dumps mean an unchanged store.
fn dump(db: &Path) -> String {
    if !db.exists() {
        return "(no file)".to_owned();
    }
    let conn = rusqlite::Connection::open(db).expect("open for dump");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        out.push_str(&format!("== {table}\n"));
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{table}\"")))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                out.push_str(&format!("{:?}|", row.get_ref(i).unwrap()));
            }
            out.push('\n');
        }
    }
    out
}

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
