//! Commit hooks: what the layers above the store add to every commit of a
//! store (the change feed's retention and in-process followers, the audit
//! log's checkpoints), registered when the store is opened, so that the
//! store itself knows nothing of them.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use super::WriteTxn;
use crate::error::Result;

/// A step of every commit of a store.
///
/// The store runs each hook's [`before_commit`](CommitHook::before_commit)
/// in registration order inside the committing transaction, after its
/// change events are published, then `COMMIT`s, releases the writer, and
/// runs each [`after_commit`](CommitHook::after_commit) in the same order.
pub(crate) trait CommitHook: Send + Sync + 'static {
    /// Runs inside the transaction, just before `COMMIT`; an error rolls
    /// the transaction back and is what the commit returns.
    fn before_commit(&self, tx: &mut WriteTxn<'_>) -> Result<()> {
        let _ = tx;
        Ok(())
    }

    /// Runs once the transaction is committed and the writer released, on
    /// the committing thread.
    fn after_commit(&self, committed: &Committed<'_>) {
        let _ = committed;
    }
}

/// A transaction that has just committed.
pub(crate) struct Committed<'a> {
    /// The store file's resolved path.
    pub(crate) path: &'a Path,
    /// The store's revision after the transaction.
    pub(crate) revision: u64,
    /// Whether the transaction changed any entity (and so moved the
    /// revision and published change events).
    pub(crate) changed: bool,
}

/// The hooks of one store, in registration order.
#[derive(Default)]
pub(crate) struct Hooks {
    hooks: Vec<Arc<dyn CommitHook>>,
    /// The same hooks, to be found by type.
    by_type: Vec<Arc<dyn Any + Send + Sync>>,
}

impl Hooks {
    /// Adds `hook` after those added before it.
    pub(crate) fn push(&mut self, hook: impl CommitHook) {
        let hook = Arc::new(hook);
        self.by_type.push(hook.clone());
        self.hooks.push(hook);
    }

    /// The hook of type `H`, if one was added.
    pub(crate) fn get<H: CommitHook>(&self) -> Option<&H> {
        self.by_type
            .iter()
            .find_map(|hook| hook.downcast_ref::<H>())
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &dyn CommitHook> {
        self.hooks.iter().map(Arc::as_ref)
    }
}
