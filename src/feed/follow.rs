//! In-process followers: caches that must see a commit of this process
//! before the write call that made it returns (read-your-writes), without
//! waiting for the watcher's next poll.
//!
//! A follower registers for a file; every write transaction committed in
//! this process on that file calls it after the writer lock is released.
//! Writes from other processes still arrive through the watcher.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use crate::store::{CommitHook, Committed};

/// Something that derives state from the store and catches up on commit.
pub(crate) trait Follower: Send + Sync {
    /// A transaction of this process committed and produced `revision`.
    fn committed(&self, revision: u64);
}

type Registry = Mutex<HashMap<PathBuf, Vec<Weak<dyn Follower>>>>;

/// How many followers are registered, so commits skip the registry when
/// there are none.
static FOLLOWERS: AtomicUsize = AtomicUsize::new(0);

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers `follower` for the file at canonical `path`, for as long as
/// it lives.
pub(crate) fn register(path: &Path, follower: Weak<dyn Follower>) {
    let mut map = registry().lock().unwrap_or_else(PoisonError::into_inner);
    let list = map.entry(path.to_path_buf()).or_default();
    list.retain(|f| f.strong_count() > 0);
    list.push(follower);
    FOLLOWERS.store(map.values().map(Vec::len).sum(), Ordering::Relaxed);
}

/// Calls every live follower of `path`; run after a commit, outside the
/// writer lock.
pub(crate) fn committed(path: &Path, revision: u64) {
    if FOLLOWERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let live: Vec<Arc<dyn Follower>> = {
        let mut map = registry().lock().unwrap_or_else(PoisonError::into_inner);
        let Some(list) = map.get_mut(path) else {
            return;
        };
        list.retain(|f| f.strong_count() > 0);
        let live = list.iter().filter_map(Weak::upgrade).collect();
        let count = map.values().map(Vec::len).sum();
        FOLLOWERS.store(count, Ordering::Relaxed);
        live
    };
    for follower in live {
        follower.committed(revision);
    }
}

/// The commit hook that calls the in-process followers of a store's file
/// after each commit that changes something.
#[derive(Debug)]
pub(crate) struct Followers;

impl CommitHook for Followers {
    fn after_commit(&self, committed: &Committed<'_>) {
        if committed.changed {
            self::committed(committed.path, committed.revision);
        }
    }
}
