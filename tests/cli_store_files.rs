//! The binary on store files that are not ordinary writable stores: empty
//! files, other applications' databases, random bytes, read-only stores
//! (asked for with `--read-only`, or a file or directory that cannot be
//! written), and the mode of the files it creates.

use std::path::Path;
use std::process::Command;

mod common;

use common::cli::{utf8, Env, BIN};

const FP: &str = "ed25519:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A store with a graph type, a graph, a node, an ACL principal and a
/// peer (so the audit log has entries).
fn populated() -> Env {
    let env = Env::new();
    env.ok(&["init"]);
    let types = env.dir.path().join("plain.json");
    std::fs::write(
        &types,
        r#"{"name": "plain", "node_types": [{"name": "item", "schema": {}}]}"#,
    )
    .expect("write the type file");
    env.ok(&["type", "define", types.to_str().expect("utf-8 path")]);
    std::fs::remove_file(&types).expect("remove the type file");
    env.ok(&["graph", "create", "g", "--type", "plain"]);
    env.ok(&[
        "node",
        "add",
        "--graph",
        "g",
        "--type",
        "item",
        "a",
        "--attrs",
        r#"{"n": 1}"#,
    ]);
    env.ok(&[
        "acl",
        "principal",
        "add",
        "ada",
        "--type",
        "account",
        "--scope",
        "repo:read",
    ]);
    env.ok(&["peer", "add", "ada", "--fingerprint", FP, "--scope", "ci"]);
    env
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read the store file")
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// How to run the binary as a user whom file permissions bind: directly
/// when this process is not root; as `nobody` through `setpriv` when it is
/// root and `setpriv` exists; `None` (the caller skips) otherwise.
#[cfg(unix)]
fn unprivileged() -> Option<Vec<&'static str>> {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0);
    if !root {
        return Some(Vec::new());
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let probe = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .ok()?;
    probe
        .success()
        .then(|| vec![setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"])
}

#[test]
fn an_empty_file_is_refused_by_every_command_but_init() {
    let env = Env::new();
    std::fs::File::create(&env.db).expect("create an empty file");
    let expected = format!(
        "store {} is an empty file, not an alknet-graphs store; run `alknet-graphs init` to initialise it",
        env.db.display()
    );
    for args in [
        &["graph", "list"][..],
        &["verify"],
        &["audit", "verify"],
        &["--read-only", "verify"],
        &["node", "add", "--graph", "g", "--type", "t", "k"],
    ] {
        let (kind, message) = env.refused_as(&[], args, 1);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("not_a_store", expected.as_str()),
            "{args:?}"
        );
        assert_eq!(bytes(&env.db), b"", "{args:?}: still zero bytes");
        assert_eq!(env.files(), ["store.db"], "{args:?}: no -wal or -shm left");
    }

    let init = env.ok(&["init"]);
    assert_eq!(init["created"], false);
    assert_eq!(init["schema_version"], 6);
    let out = env.run_as(&[], &["init"]);
    assert_eq!(
        utf8(&out.stdout)
            .lines()
            .next()
            .map(|l| l.starts_with("opened ")),
        Some(true)
    );
    let graphs = env.ok(&["graph", "list"]);
    let names: Vec<&str> = graphs["graphs"]
        .as_array()
        .expect("graphs")
        .iter()
        .map(|g| g["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["acl"]);
    assert_eq!(env.ok(&["verify"])["clean"], true);
}

#[test]
fn init_says_it_initialised_an_empty_file() {
    let env = Env::new();
    std::fs::File::create(&env.db).expect("create an empty file");
    let out = env.run_as(&[], &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", utf8(&out.stderr));
    assert_eq!(
        utf8(&out.stdout),
        format!(
            "initialised {}: schema version 6, revision 2\n",
            env.db.display()
        )
    );
}

#[test]
fn another_applications_database_and_random_bytes_are_refused_unchanged() {
    let env = Env::new();
    {
        let conn = rusqlite::Connection::open(&env.db).expect("open");
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .expect("wal");
        conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT);")
            .expect("create");
    }
    let foreign = bytes(&env.db);
    let expected = format!(
        "store {} is not an alknet-graphs store (a SQLite database without the alknet-graphs schema)",
        env.db.display()
    );
    for args in [
        &["graph", "list"][..],
        &["verify"],
        &["audit", "verify"],
        &["init"],
        &["--read-only", "graph", "list"],
    ] {
        let (kind, message) = env.refused_as(&[], args, 1);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("not_a_store", expected.as_str()),
            "{args:?}"
        );
        assert_eq!(bytes(&env.db), foreign, "{args:?}: byte-identical");
        assert_eq!(env.files(), ["store.db"], "{args:?}: no -wal or -shm left");
    }

    let noise: Vec<u8> = (0u32..8192)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&env.db, &noise).expect("write noise");
    let expected = format!("store {} is not a SQLite database", env.db.display());
    for args in [
        &["graph", "list"][..],
        &["verify"],
        &["init"],
        &["--read-only", "verify"],
    ] {
        let (kind, message) = env.refused_as(&[], args, 1);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("not_a_store", expected.as_str()),
            "{args:?}"
        );
        assert_eq!(bytes(&env.db), noise, "{args:?}: byte-identical");
        assert_eq!(env.files(), ["store.db"], "{args:?}");
    }
}

/// Every read command works on a read-only store and shows the data;
/// `node add` is refused. `wrapper` runs the binary (as another user, or
/// not); `flag` is `--read-only` or nothing.
fn reads_work_and_writes_are_refused(env: &Env, wrapper: &[&str], flag: &[&str]) {
    let with = |args: &[&str]| -> Vec<String> {
        flag.iter().chain(args).map(|s| (*s).to_owned()).collect()
    };
    let ok = |args: &[&str]| {
        let args = with(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.ok_as(wrapper, &args)
    };
    let graphs = ok(&["graph", "list"]);
    let mut names: Vec<&str> = graphs["graphs"]
        .as_array()
        .expect("graphs")
        .iter()
        .map(|g| g["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["acl", "g"]);
    let node = ok(&["node", "get", "--graph", "g", "a"]);
    assert_eq!(node["attributes"]["n"], 1, "{node}");
    let verify = ok(&["verify"]);
    assert_eq!(verify["clean"], true, "{verify}");
    assert_eq!(verify["nodes_checked"], 2, "{verify}");
    let audit = ok(&["audit", "verify"]);
    assert_eq!(audit["intact"], true, "{audit}");
    assert!(audit["entries"].as_u64().expect("entries") >= 2, "{audit}");
    let effective = ok(&["acl", "effective", "ada"]);
    assert_eq!(
        effective["scopes"],
        serde_json::json!(["repo:read"]),
        "{effective}"
    );
    let resolved = ok(&["peer", "resolve", "--fingerprint", FP]);
    assert_eq!(resolved["id"], "ada", "{resolved}");
    let peers = ok(&["peer", "list"]);
    assert_eq!(peers["peers"].as_array().map(Vec::len), Some(1), "{peers}");

    let args = with(&["node", "add", "--graph", "g", "--type", "item", "b"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (kind, message) = env.refused_as(wrapper, &args, 1);
    assert_eq!(kind, "read_only");
    assert_eq!(message, format!("store {} is read-only", env.db.display()));
}

#[test]
fn read_only_serves_reads_refuses_writes_and_changes_nothing() {
    let env = populated();
    let before = bytes(&env.db);
    reads_work_and_writes_are_refused(&env, &[], &["--read-only"]);
    assert_eq!(bytes(&env.db), before, "the store file is unchanged");
    let (kind, message) = env.refused_as(&[], &["--read-only", "init"], 2);
    assert_eq!(kind, "usage");
    assert_eq!(
        message,
        "--read-only: `init` writes the store; run it without --read-only"
    );
    // Writable again without the flag.
    env.ok(&["node", "add", "--graph", "g", "--type", "item", "b"]);
}

#[cfg(unix)]
#[test]
fn a_store_that_cannot_be_written_is_read_only_in_a_writable_or_read_only_directory() {
    let Some(wrapper) = unprivileged() else {
        eprintln!(
            "note: running as root without setpriv, so file permissions cannot be tested; skipped"
        );
        return;
    };
    let env = populated();
    let before = bytes(&env.db);
    // The directory is the test's own; let the unprivileged user in.
    set_mode(env.dir.path(), 0o777);
    set_mode(&env.db, 0o444);
    reads_work_and_writes_are_refused(&env, &wrapper, &[]);
    let (kind, message) = env.refused_as(&wrapper, &["init"], 1);
    assert_eq!(kind, "read_only");
    assert_eq!(message, format!("store {} is read-only", env.db.display()));
    assert_eq!(env.files(), ["store.db"], "no -wal or -shm created");
    assert_eq!(bytes(&env.db), before);

    set_mode(env.dir.path(), 0o555);
    reads_work_and_writes_are_refused(&env, &wrapper, &[]);
    reads_work_and_writes_are_refused(&env, &wrapper, &["--read-only"]);
    assert_eq!(env.files(), ["store.db"]);
    assert_eq!(bytes(&env.db), before);
    set_mode(env.dir.path(), 0o700);
}

#[cfg(unix)]
#[test]
fn store_files_are_created_owner_only_whatever_the_umask() {
    let env = Env::new();
    let script = format!(
        "umask 000; exec \"$0\" --db '{}' --json init",
        env.db.display()
    );
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .arg(BIN)
        .output()
        .expect("run through sh");
    assert_eq!(out.status.code(), Some(0), "{}", utf8(&out.stderr));
    assert_eq!(env.files(), ["store.db"], "no temporary file left behind");
    assert_eq!(mode(&env.db), 0o600);
}
