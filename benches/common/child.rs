//! The bench run again as a child process, to time what a process
//! starting on a store file meets: none of the bench's own memory,
//! threads or open connections.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alknet_graphs::acl::Acl;
use alknet_graphs::Store;

/// Set in a child to the role it plays; unset in the bench itself.
const ROLE: &str = "ALKNET_BENCH_CHILD";
/// The store file a child works on.
const DB: &str = "ALKNET_BENCH_DB";

/// The role this process plays and the store file it works on, when
/// [`run`] started it.
pub fn role() -> Option<(String, PathBuf)> {
    let role = std::env::var(ROLE).ok()?;
    let db = std::env::var_os(DB).expect("a child is given its store file");
    Some((role, PathBuf::from(db)))
}

/// This bench run again as the child `role` on `db`, with `vars` set;
/// what it printed.
pub fn run(role: &str, db: &Path, vars: &[(&str, String)]) -> String {
    let output = Command::new(std::env::current_exe().expect("bench executable"))
        .env(ROLE, role)
        .env(DB, db)
        .envs(vars.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .expect("run the child");
    assert!(output.status.success(), "the {role} child failed");
    String::from_utf8(output.stdout).expect("text")
}

/// `n` children in turn, each running `role` on `db` once and printing
/// what [`report`] prints; how long each took, sorted.
pub fn timed(role: &str, db: &Path, n: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let nanos = run(role, db, &[]);
            Duration::from_nanos(nanos.trim().parse().expect("nanoseconds"))
        })
        .collect();
    times.sort();
    times
}

/// In a child: prints how long its timed step took, as [`timed`] reads it.
pub fn report(elapsed: Duration) {
    println!("{}", elapsed.as_nanos());
}

/// In a child: opens the ACL of the store at `db` once and reports how
/// long that took.
pub fn open_acl(db: &Path) {
    let store = Store::open(db).expect("open store");
    let open = Instant::now();
    let acl = Acl::open(&store).expect("open");
    report(open.elapsed());
    drop(acl);
}
