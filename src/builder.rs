//! Opening a store: [`StoreBuilder`]'s options, and the commit hooks of
//! the layers above the store (the change feed's retention and in-process
//! followers, the audit log's checkpoints) assembled into it.

use std::path::Path;
use std::time::Duration;

use crate::audit::{AutoCheckpoint, Checkpoints, SigningKey};
use crate::error::Result;
use crate::feed::{Followers, Pruner, Retention};
use crate::limits::Limits;
use crate::store::{self, Hooks, Options, Store};

/// Options for opening a [`Store`].
///
/// Defaults: [`Limits::default()`]; up to 4 idle reader connections kept
/// open for reuse; the file watcher polls every 1 ms; [`Retention::default()`];
/// writable unless the file is not ([`read_only`](StoreBuilder::read_only)
/// `false`); an existing empty file is refused
/// ([`initialize_empty`](StoreBuilder::initialize_empty) `false`); no
/// automatic audit checkpoints (no [`checkpoint_key`](StoreBuilder::checkpoint_key));
/// with a key, one every 1000 audit entries or once the oldest entry not
/// covered is an hour old.
#[derive(Debug, Clone)]
pub struct StoreBuilder {
    limits: Limits,
    max_idle_readers: usize,
    poll_interval: Duration,
    retention: Retention,
    read_only: bool,
    initialize_empty: bool,
    checkpoint_key: Option<SigningKey>,
    checkpoint_every: u64,
    checkpoint_interval: Duration,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        StoreBuilder {
            limits: Limits::default(),
            max_idle_readers: 4,
            poll_interval: Duration::from_millis(1),
            retention: Retention::default(),
            read_only: false,
            initialize_empty: false,
            checkpoint_key: None,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(3600),
        }
    }
}

impl StoreBuilder {
    /// Size bounds checked on every write.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many idle reader connections to keep open (at least 1).
    pub fn max_idle_readers(mut self, n: usize) -> Self {
        self.max_idle_readers = n.max(1);
        self
    }

    /// How often the file watcher checks for commits (at least 1 µs). One
    /// watcher serves every subscription of a file in a process; the first
    /// one started sets the interval. An idle watcher costs about 3% of a
    /// core at 1 ms and 16% at 100 µs.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_micros(1));
        self
    }

    /// How long change notifications and stream batches are kept.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Opens the store read-only (`true`): nothing is written to the file,
    /// not even a migration, and [`Store::begin_write`] is refused with
    /// [`Error::ReadOnly`](crate::Error::ReadOnly). Default `false`, but a store whose file, or whose
    /// directory (where SQLite keeps the `-wal` and `-shm` files), this
    /// process cannot write is opened read-only anyway.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether an existing empty file (zero bytes, or a SQLite database
    /// without any table) is made into a store (`true`) or refused with
    /// [`Error::NotAStore`](crate::Error::NotAStore) (default `false`, so that a file truncated by
    /// accident is never mistaken for a store that holds nothing). A path
    /// where no file exists is always created.
    pub fn initialize_empty(mut self, initialize: bool) -> Self {
        self.initialize_empty = initialize;
        self
    }

    /// Signs audit checkpoints automatically with `key` (default: none,
    /// so checkpoints are made only by [`Store::create_checkpoint`]).
    ///
    /// A checkpoint is made inside the write transaction that makes one
    /// due, so it commits with the entries it covers; the
    /// [`on_checkpoint`](Store::on_checkpoint) callbacks run after that
    /// commit. Due means: [`checkpoint_every`](StoreBuilder::checkpoint_every)
    /// entries are not covered yet, or the oldest entry not covered is
    /// [`checkpoint_interval`](StoreBuilder::checkpoint_interval) old. It is
    /// checked only when a write commits: a store nobody writes makes no
    /// checkpoints (nor needs any). A key on the machine protects only
    /// against someone who cannot read it; prefer a key kept elsewhere and
    /// [`Store::create_checkpoint`] run from there when the file's writers
    /// are not trusted. If the entries since the last checkpoint do not
    /// verify, the write that would make the checkpoint fails naming the
    /// entry, and nothing of it is committed.
    pub fn checkpoint_key(mut self, key: SigningKey) -> Self {
        self.checkpoint_key = Some(key);
        self
    }

    /// With a [`checkpoint_key`](StoreBuilder::checkpoint_key): a
    /// checkpoint once this many audit entries are not covered (at least
    /// 1; default 1000).
    pub fn checkpoint_every(mut self, entries: u64) -> Self {
        self.checkpoint_every = entries.max(1);
        self
    }

    /// With a [`checkpoint_key`](StoreBuilder::checkpoint_key): a
    /// checkpoint at the first commit after the oldest entry not covered
    /// turns this old (default one hour).
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Opens the store at `path`, creating it when no file exists there,
    /// and brings its schema up to date.
    ///
    /// A new store file is created with mode 0600 on Unix, whatever the
    /// umask (it holds token hashes and credentials); SQLite gives its
    /// `-wal` and `-shm` files the same mode. An existing file that is not
    /// a store is refused and left as it was.
    ///
    /// # Errors
    ///
    /// [`Error::NotAStore`](crate::Error::NotAStore) for an empty file (unless
    /// [`initialize_empty`](StoreBuilder::initialize_empty)), a SQLite
    /// database of another application, or a file that is not a SQLite
    /// database; [`Error::SchemaTooNew`](crate::Error::SchemaTooNew) when the file was written by a
    /// newer version of this library; [`Error::NeedsMigration`](crate::Error::NeedsMigration) when a
    /// read-only store was written by an older one; [`Error::StoreFile`](crate::Error::StoreFile)
    /// when the file cannot be created or read (a read-only store is never
    /// created); [`Error::Sqlite`](crate::Error::Sqlite) when SQLite fails.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{GraphConfig, Store};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("graphs.db");
    /// std::fs::File::create(&path)?; // an empty file
    /// let err = Store::open(&path).err().expect("an empty file is not a store");
    /// assert!(err.is_not_a_store());
    /// assert_eq!(std::fs::metadata(&path)?.len(), 0, "left as it was");
    ///
    /// let store = Store::builder().initialize_empty(true).open(&path)?;
    /// store.write(|tx| tx.define_graph_type("plain", GraphConfig::default()))?;
    /// drop(store);
    ///
    /// let store = Store::builder().read_only(true).open(&path)?;
    /// assert!(store.is_read_only());
    /// assert!(store.begin_read()?.graph_type("plain")?.is_some());
    /// assert!(store.begin_write().err().expect("read-only").is_read_only());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(self, path: impl AsRef<Path>) -> Result<Store> {
        let mut hooks = Hooks::default();
        hooks.push(Pruner::new(self.retention));
        hooks.push(Checkpoints::new(self.checkpoint_key.map(|key| {
            AutoCheckpoint {
                key,
                every: self.checkpoint_every,
                interval: self.checkpoint_interval,
            }
        })));
        hooks.push(Followers);
        let options = Options {
            limits: self.limits,
            max_idle_readers: self.max_idle_readers,
            poll_interval: self.poll_interval,
            read_only: self.read_only,
            initialize_empty: self.initialize_empty,
        };
        store::open(path.as_ref(), options, hooks)
    }
}

impl Store {
    /// Opens the store at `path` with default options, creating it when no
    /// file exists there; see [`StoreBuilder::open`].
    ///
    /// # Errors
    ///
    /// As [`StoreBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        StoreBuilder::default().open(path)
    }

    /// Opens the existing store at `path` read-only: every read works,
    /// [`begin_write`](Store::begin_write) is refused, and nothing is
    /// written to the file. Same as `Store::builder().read_only(true).open(path)`.
    ///
    /// A store this process cannot write, nor any process have open for
    /// writing (no `-wal` file), is read as immutable: with no locks and no
    /// `-wal`/`-shm` files, so it can be read in a read-only directory or
    /// mount. Its change feed cannot be subscribed to then (nothing can
    /// change it).
    ///
    /// # Errors
    ///
    /// As [`StoreBuilder::open`]; [`Error::StoreFile`](crate::Error::StoreFile) when no file exists at
    /// `path`; [`Error::NeedsMigration`](crate::Error::NeedsMigration) when the file was written by an
    /// older version of this library (opening it writable once migrates it).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::{GraphConfig, Store};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("graphs.db");
    /// Store::open(&path)?.write(|tx| tx.define_graph_type("plain", GraphConfig::default()))?;
    ///
    /// let store = Store::open_read_only(&path)?;
    /// assert_eq!(store.revision()?, 1);
    /// let err = store.begin_write().err().expect("refused");
    /// assert_eq!(err.to_string(), format!("store {} is read-only", path.display()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        StoreBuilder::default().read_only(true).open(path)
    }

    /// Options for opening a store.
    pub fn builder() -> StoreBuilder {
        StoreBuilder::default()
    }
}
