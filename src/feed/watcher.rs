//! One honker watcher per database file per process, shared by every
//! subscription, consumer and waiter of that file, and restarted when it
//! dies.
//!
//! The registry holds watchers weakly: when the last subscriber goes, the
//! watcher is dropped and its poll thread stops, so an idle store runs no
//! thread at all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use honker_core::{SharedUpdateWatcher, WatcherConfig};

/// A running honker watcher of one file.
pub(crate) struct Watcher {
    shared: SharedUpdateWatcher,
}

impl Watcher {
    /// Stops the poll thread; every subscriber sees a disconnect.
    fn stop(&self) {
        // A thread that already died reports its panic here; either way it
        // is gone, which is all stopping needs.
        let _ = self.shared.close();
    }
}

type Registry = Mutex<HashMap<PathBuf, Weak<Watcher>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

fn spawn(path: &Path, poll: Duration) -> Arc<Watcher> {
    // `with_poll_interval` only refuses zero, which `StoreBuilder` never passes.
    let config = WatcherConfig::default()
        .with_poll_interval(poll)
        .unwrap_or_default();
    Arc::new(Watcher {
        shared: SharedUpdateWatcher::new_with_config(path.to_path_buf(), config),
    })
}

/// The live watcher of `path`, started if there is none. When `dead` is
/// given and is still the registered watcher, it is replaced.
fn acquire(path: &Path, poll: Duration, dead: Option<&Arc<Watcher>>) -> Arc<Watcher> {
    let mut map = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(current) = map.get(path).and_then(Weak::upgrade) {
        let is_dead = dead.is_some_and(|dead| Arc::ptr_eq(dead, &current));
        if !is_dead {
            return current;
        }
    }
    map.retain(|_, watcher| watcher.strong_count() > 0);
    let watcher = spawn(path, poll);
    map.insert(path.to_path_buf(), Arc::downgrade(&watcher));
    watcher
}

/// Stops the watcher of `path` in this process, if one runs. Its
/// subscribers notice, start a new one, and report a restart.
pub(crate) fn restart(path: &Path) {
    let current = registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
        .and_then(Weak::upgrade);
    if let Some(watcher) = current {
        watcher.stop();
    }
}

/// Whether a watcher of `path` runs in this process.
pub(crate) fn is_running(path: &Path) -> bool {
    registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
        .is_some_and(|watcher| watcher.strong_count() > 0)
}

/// What ended a [`Wake::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// Something committed to the file (in this process or another).
    Changed,
    /// The deadline passed first.
    TimedOut,
    /// The watcher had died and a new one was started: changes made
    /// meanwhile may not have woken anyone, so the caller must re-read.
    Restarted,
}

/// One subscription to the shared watcher of a file.
pub(crate) struct Wake {
    path: PathBuf,
    poll: Duration,
    watcher: Arc<Watcher>,
    id: u64,
    rx: Receiver<()>,
}

impl Wake {
    pub(crate) fn new(path: &Path, poll: Duration) -> Wake {
        let watcher = acquire(path, poll, None);
        let (id, rx) = watcher.shared.subscribe();
        Wake {
            path: path.to_path_buf(),
            poll,
            watcher,
            id,
            rx,
        }
    }

    /// Waits for the next commit to the file, until `deadline` (forever when
    /// `None`). Call it only after reading everything there is to read:
    /// query first, then block, so no wake is lost.
    pub(crate) fn wait(&mut self, deadline: Option<Instant>) -> Woken {
        let outcome = match deadline {
            None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                self.rx.recv_timeout(left)
            }
        };
        match outcome {
            Ok(()) => {
                // Coalesce a burst into one wake.
                while let Ok(()) = self.rx.try_recv() {}
                Woken::Changed
            }
            Err(RecvTimeoutError::Timeout) => Woken::TimedOut,
            Err(RecvTimeoutError::Disconnected) => {
                self.resubscribe();
                Woken::Restarted
            }
        }
    }

    /// Whether a wake is pending, without blocking; restarts a dead watcher.
    pub(crate) fn poll_restart(&mut self) -> bool {
        match self.rx.try_recv() {
            Err(TryRecvError::Disconnected) => {
                self.resubscribe();
                true
            }
            Ok(()) | Err(TryRecvError::Empty) => false,
        }
    }

    fn resubscribe(&mut self) {
        self.watcher.shared.unsubscribe(self.id);
        self.watcher = acquire(&self.path, self.poll, Some(&self.watcher));
        let (id, rx) = self.watcher.shared.subscribe();
        self.id = id;
        self.rx = rx;
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.watcher.shared.unsubscribe(self.id);
    }
}
