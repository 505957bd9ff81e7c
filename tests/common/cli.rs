//! Running the `alknet-graphs` binary against a store in a temporary
//! directory, for the command-line tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_alknet-graphs");

/// A store in a temporary directory, and the binary pointed at it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("store.db");
        Env { dir, db }
    }

    /// A fresh store with the built-in types.
    pub fn init() -> Env {
        let env = Env::new();
        env.ok(&["init"]);
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_as(&[], args)
    }

    /// The binary with `--db` pointed at the store, run directly or through
    /// `wrapper` (e.g. `setpriv` to run it as another user).
    pub fn command_as(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        command
            .env_remove("ALKNET_GRAPHS_DB")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_as(&[], args)
    }

    pub fn run_as(&self, wrapper: &[&str], args: &[&str]) -> Output {
        self.command_as(wrapper, args)
            .output()
            .expect("run the binary")
    }

    /// Runs with `--json`, expects exit 0, and parses stdout.
    pub fn ok(&self, args: &[&str]) -> Value {
        self.ok_as(&[], args)
    }

    pub fn ok_as(&self, wrapper: &[&str], args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run_as(wrapper, &all);
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

    pub fn text_ok(&self, args: &[&str]) -> String {
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
    pub fn fails(&self, args: &[&str], code: i32) -> (String, String) {
        let before = dump(&self.db);
        let refusal = self.refused_as(&[], args, code);
        assert_eq!(dump(&self.db), before, "{args:?} changed the store");
        refusal
    }

    /// As [`fails`](Env::fails), through `wrapper`, without reading the
    /// store (for files the check must not touch).
    pub fn refused_as(&self, wrapper: &[&str], args: &[&str], code: i32) -> (String, String) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run_as(wrapper, &all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: stdout {} stderr {}",
            utf8(&out.stdout),
            utf8(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", utf8(&out.stdout)));
        let kind = report["error"]["kind"].as_str().expect("kind").to_owned();
        let message = report["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned();
        let human = self.run_as(wrapper, args);
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
        (kind, message)
    }

    /// The names of the files in the store's directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("list the directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

pub fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every row of every table, as text: equal dumps mean an unchanged store.
pub fn dump(db: &Path) -> String {
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
