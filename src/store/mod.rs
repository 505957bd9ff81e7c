//! Opening a store, its connections, and typed read / write transactions.
//!
//! One writer connection serializes writes (`BEGIN IMMEDIATE`); a pool of
//! reader connections serves reads, which in WAL mode never wait on the
//! writer. Every connection is set up the honker-core way: default pragmas,
//! `notify()`, honker's SQL functions and schema, then this crate's
//! migrations. A store opened read-only has no writer and runs none of
//! that: its connections only read.

mod file;
mod hook;
mod migrate;

pub(crate) use hook::{CommitHook, Committed, Hooks};

pub(crate) use migrate::SCHEMA_VERSION;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use rusqlite::{Connection, OpenFlags};

use std::time::Duration;

use crate::error::{Error, NotAStoreReason, Result};
use crate::limits::Limits;
use crate::metagraph::catalog::TxnCache;
use crate::outbox::Outbox;
use crate::schema::{SchemaCache, TxnSchemas};

/// A handle to one SQLite file holding typed graphs.
///
/// `Store` is cheap to clone (an `Arc`); clones share the writer connection,
/// the reader pool and the compiled-schema cache. Any number of processes
/// may open the same file.
///
/// # Example
///
/// ```
/// use alknet_graphs::{GraphConfig, Store};
/// use serde_json::json;
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path().join("graphs.db"))?;
/// let mut tx = store.begin_write()?;
/// tx.define_graph_type("org", GraphConfig::directed())?;
/// tx.define_node_type("org", "person", &json!({"type": "object"}))?;
/// tx.create_graph("acme", "org")?;
/// tx.add_node("acme", "ada", "person", &json!({"name": "Ada"}))?;
/// let revision = tx.commit()?;
/// assert_eq!(revision, 1);
///
/// let ada = store.begin_read()?.node("acme", "ada")?.expect("committed");
/// assert_eq!(ada.attributes["name"], "Ada");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: PathBuf,
    /// The resolved path, naming the file for the process-wide watcher.
    canonical: PathBuf,
    poll_interval: Duration,
    limits: Limits,
    /// `None` for a read-only store.
    writer: Option<Mutex<Writer>>,
    /// How reader connections of a read-only store open the file.
    read_mode: Option<file::ReadMode>,
    writer_thread: Mutex<Option<ThreadId>>,
    readers: Mutex<Vec<Reader>>,
    max_idle_readers: usize,
    pub(crate) schemas: SchemaCache,
    /// What the layers above add to every commit.
    hooks: Hooks,
}

/// What [`open`] applies of a [`StoreBuilder`](crate::StoreBuilder)'s
/// options; the layers above the store bring theirs as [`Hooks`].
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) limits: Limits,
    pub(crate) max_idle_readers: usize,
    pub(crate) poll_interval: Duration,
    pub(crate) read_only: bool,
    pub(crate) initialize_empty: bool,
}

/// Opens the store at `path` (see [`StoreBuilder::open`](crate::StoreBuilder::open)),
/// with `hooks` run by every commit.
pub(crate) fn open(path: &Path, options: Options, hooks: Hooks) -> Result<Store> {
    let path = path.to_path_buf();
    let found = match file::inspect(&path)? {
        file::Found::Missing if options.read_only => {
            return Err(Error::store_file(
                &path,
                "open",
                std::io::ErrorKind::NotFound.into(),
            ));
        }
        file::Found::Missing => {
            file::create(&path)?;
            file::inspect(&path)?
        }
        found => found,
    };
    let canonical =
        std::fs::canonicalize(&path).map_err(|e| Error::store_file(&path, "open", e))?;
    let writable = file::writable(&path);
    let read_only = options.read_only || !writable;
    if matches!(found, file::Found::Empty) && (read_only || !options.initialize_empty) {
        return Err(Error::NotAStore {
            path,
            reason: NotAStoreReason::EmptyFile,
            source: None,
        });
    }
    let (writer, read_mode, first_reader) = if read_only {
        let (mode, conn) = open_read_only_store(&path, &canonical, writable)?;
        (None, Some(mode), Some(Reader { conn }))
    } else {
        let conn = open_writer(&path, options.initialize_empty)?;
        let writer = Writer {
            reader: Reader { conn },
            cache: TxnCache::default(),
            data_version: 0,
        };
        (Some(Mutex::new(writer)), None, None)
    };
    Ok(Store {
        inner: Arc::new(Inner {
            path,
            canonical,
            poll_interval: options.poll_interval,
            limits: options.limits,
            writer,
            read_mode,
            writer_thread: Mutex::new(None),
            readers: Mutex::new(first_reader.into_iter().collect()),
            max_idle_readers: options.max_idle_readers,
            schemas: SchemaCache::default(),
            hooks,
        }),
    })
}

/// Opens a store read-only, looking first without creating a `-wal` or
/// `-shm` file (which a reader of a foreign WAL database would leave
/// behind), then in the mode its journal needs.
fn open_read_only_store(
    path: &Path,
    canonical: &Path,
    writable: bool,
) -> Result<(file::ReadMode, Connection)> {
    let probe_mode = file::ReadMode::for_store(path, false);
    let probe = file::open_read_only(canonical, probe_mode)?;
    match file::schema(&probe, path)? {
        file::Schema::Store => file::check_current(&probe, path)?,
        file::Schema::Empty => return Err(empty_database(path.to_path_buf())),
        file::Schema::Unfinished => {
            return Err(Error::NeedsMigration {
                path: path.to_path_buf(),
                reason: "its creation did not finish".to_owned(),
            })
        }
    }
    let mode = file::ReadMode::for_store(path, writable);
    let conn = if mode == probe_mode {
        probe
    } else {
        drop(probe);
        file::open_read_only(canonical, mode)?
    };
    Ok((mode, conn))
}

fn empty_database(path: PathBuf) -> Error {
    Error::NotAStore {
        path,
        reason: NotAStoreReason::EmptyDatabase,
        source: None,
    }
}

/// Opens the writer connection of a store file that passed
/// [`file::inspect`]: checks what the database holds before setting
/// anything up (a refused file is closed untouched), then sets up honker
/// and runs the migrations.
fn open_writer(path: &Path, initialize_empty: bool) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    match file::schema(&conn, path)? {
        file::Schema::Store | file::Schema::Unfinished => {}
        file::Schema::Empty if initialize_empty => {}
        file::Schema::Empty => return Err(empty_database(path.to_path_buf())),
    }
    honker_core::apply_default_pragmas(&conn)?;
    // Deleted and overwritten content is zeroed in the file, so that a
    // redacted audit payload or a removed peer leaves no bytes behind.
    conn.execute_batch("PRAGMA secure_delete = ON")?;
    honker_core::attach_notify(&conn).map_err(honker_error)?;
    honker_core::attach_honker_functions(&conn)?;
    honker_core::bootstrap_honker_schema(&conn).map_err(honker_error)?;
    migrate::migrate(&conn)?;
    Ok(conn)
}

fn open_reader(inner: &Inner) -> Result<Connection> {
    if let Some(mode) = inner.read_mode {
        return file::open_read_only(&inner.canonical, mode);
    }
    let conn = Connection::open_with_flags(
        &inner.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    honker_core::apply_default_pragmas(&conn)?;
    conn.execute_batch("PRAGMA query_only = ON")?;
    Ok(conn)
}

fn honker_error(err: honker_core::Error) -> Error {
    match err {
        honker_core::Error::Sqlite(e) => Error::Sqlite(e),
    }
}

/// Runs a transaction-control statement through the statement cache, so it
/// is parsed once per connection rather than once per transaction.
fn run(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave the data half-updated here:
    // the writer rolls back in `WriteTxn::drop`, and the pool is a plain Vec.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Whether the store was opened read-only (asked for, or because this
    /// process cannot write the file or its directory).
    pub fn is_read_only(&self) -> bool {
        self.inner.writer.is_none()
    }

    /// Whether the file can change under this handle, so that watching it
    /// for commits makes sense: false for a store read as immutable.
    pub(crate) fn is_watchable(&self) -> bool {
        self.inner.read_mode != Some(file::ReadMode::Immutable)
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The size bounds this store checks on every write.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub(crate) fn canonical_path(&self) -> &Path {
        &self.inner.canonical
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        self.inner.poll_interval
    }

    /// The commit hook of type `H` this store was opened with.
    pub(crate) fn hook<H: CommitHook>(&self) -> Option<&H> {
        self.inner.hooks.get::<H>()
    }

    /// Moves every committed page into the main file and empties the
    /// write-ahead log (`PRAGMA wal_checkpoint(TRUNCATE)`), so that content
    /// erased by a redaction or a removal (zeroed in place: the writer runs
    /// with `secure_delete`) survives in no older page version on disk.
    ///
    /// Content deleted before schema version 4 (when `secure_delete` was
    /// not on) may remain in free space; `VACUUM` the file once to rewrite
    /// it.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] on a read-only store; [`Error::WriteInProgress`]
    /// inside a write transaction of this thread; [`Error::Sqlite`] (busy)
    /// when another connection's open read transaction keeps the log from
    /// being emptied (retry when it ends), or on a storage failure.
    pub fn scrub(&self) -> Result<()> {
        let Some(writer) = &self.inner.writer else {
            return Err(Error::ReadOnly {
                path: self.inner.path.clone(),
            });
        };
        if *lock(&self.inner.writer_thread) == Some(std::thread::current().id()) {
            return Err(Error::WriteInProgress);
        }
        let guard = lock(writer);
        let busy: i64 =
            guard
                .reader
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy != 0 {
            return Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some(
                    "the write-ahead log could not be emptied: another connection is reading; retry"
                        .to_owned(),
                ),
            )));
        }
        Ok(())
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`), waiting for the writer
    /// connection if another thread holds it.
    ///
    /// Commit with [`WriteTxn::commit`]; dropping the transaction rolls back.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] if the store was opened read-only;
    /// [`Error::WriteInProgress`] if this thread already holds a write
    /// transaction of this store (waiting would deadlock);
    /// [`Error::Sqlite`] if another process holds the file's write lock past
    /// the busy timeout (5 s).
    pub fn begin_write(&self) -> Result<WriteTxn<'_>> {
        let Some(writer) = &self.inner.writer else {
            return Err(Error::ReadOnly {
                path: self.inner.path.clone(),
            });
        };
        let me = std::thread::current().id();
        if *lock(&self.inner.writer_thread) == Some(me) {
            return Err(Error::WriteInProgress);
        }
        let mut guard = lock(writer);
        run(&guard.reader.conn, "BEGIN IMMEDIATE")?;
        // Graphs and types resolved by earlier transactions stay valid until
        // another connection (another handle or process) commits.
        let data_version: i64 = guard
            .reader
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        if data_version != guard.data_version {
            guard.cache.clear();
            guard.data_version = data_version;
        }
        // Writes made around the engine since its last commit are flagged
        // in this transaction's batch, so readers of the feed reload.
        let outside_writes = crate::outbox::written_outside(&guard.reader.conn)?;
        *lock(&self.inner.writer_thread) = Some(me);
        Ok(WriteTxn {
            inner: &self.inner,
            guard,
            outbox: Outbox::after(outside_writes),
            schemas: TxnSchemas::default(),
            domain: false,
            on_commit: Vec::new(),
            open: true,
        })
    }

    /// Starts a read transaction on a reader connection: a consistent
    /// snapshot of the last committed state, which never waits on writers.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if a reader connection cannot be opened.
    pub fn begin_read(&self) -> Result<ReadTxn<'_>> {
        let pooled = lock(&self.inner.readers).pop();
        let reader = match pooled {
            Some(reader) => reader,
            None => Reader {
                conn: open_reader(&self.inner)?,
            },
        };
        run(&reader.conn, "BEGIN DEFERRED")?;
        Ok(ReadTxn {
            inner: &self.inner,
            reader: Some(reader),
        })
    }

    /// Runs `f` in a write transaction and commits when it returns `Ok`;
    /// an `Err` rolls everything back.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns, or the errors of [`Store::begin_write`] and
    /// [`WriteTxn::commit`].
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::{GraphConfig, Store};
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("g.db"))?;
    /// let graph = store.write(|tx| {
    ///     tx.define_graph_type("plain", GraphConfig::default())?;
    ///     tx.create_graph("g", "plain")
    /// })?;
    /// assert_eq!(graph.graph_type, "plain");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write<T>(&self, f: impl FnOnce(&mut WriteTxn<'_>) -> Result<T>) -> Result<T> {
        let mut tx = self.begin_write()?;
        let value = f(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on a read snapshot.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns, or the errors of [`Store::begin_read`].
    pub fn read<T>(&self, f: impl FnOnce(&Reader) -> Result<T>) -> Result<T> {
        let tx = self.begin_read()?;
        f(&tx)
    }

    /// The store's revision: the number of write transactions that changed
    /// something and committed, by any process.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn revision(&self) -> Result<u64> {
        self.read(|r| r.revision())
    }
}

/// The read operations, available on both [`ReadTxn`] and [`WriteTxn`]
/// (through `Deref`). Inside a write transaction they see its own
/// uncommitted writes.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The schema version recorded in the file.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn schema_version(&self) -> Result<i64> {
        migrate::schema_version(&self.conn)
    }

    /// The store's revision as this transaction sees it.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn revision(&self) -> Result<u64> {
        crate::outbox::revision(&self.conn)
    }
}

/// A read snapshot on a pooled reader connection. Dereferences to [`Reader`].
pub struct ReadTxn<'s> {
    inner: &'s Inner,
    reader: Option<Reader>,
}

impl Deref for ReadTxn<'_> {
    type Target = Reader;

    fn deref(&self) -> &Reader {
        // `reader` is `Some` from construction until `drop`.
        self.reader.as_ref().expect("reader present until drop")
    }
}

impl Drop for ReadTxn<'_> {
    fn drop(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        // A read transaction has nothing to keep; a failure to end it means
        // the connection is unusable, so it is not returned to the pool.
        if run(&reader.conn, "COMMIT").is_ok() {
            let mut pool = lock(&self.inner.readers);
            if pool.len() < self.inner.max_idle_readers {
                pool.push(reader);
            }
        }
    }
}

/// A write transaction: every write made through it commits atomically with
/// its change events and a revision bump, or not at all.
///
/// Dereferences to [`Reader`], whose reads see this transaction's own
/// writes. Dropping it without [`commit`](WriteTxn::commit) rolls back.
pub struct WriteTxn<'s> {
    pub(crate) inner: &'s Inner,
    guard: MutexGuard<'s, Writer>,
    pub(crate) outbox: Outbox,
    pub(crate) schemas: TxnSchemas,
    /// Whether a built-in graph type's domain handle is writing (see
    /// `graph::guard`).
    pub(crate) domain: bool,
    /// Run once this transaction commits (see [`WriteTxn::on_commit`]).
    on_commit: Vec<Box<dyn FnOnce() + Send>>,
    open: bool,
}

/// The writer connection and what its transactions have resolved.
struct Writer {
    reader: Reader,
    /// Graphs and types resolved by committed transactions of this
    /// connection; cleared when another connection commits (seen through
    /// `PRAGMA data_version`), and after a rollback.
    cache: TxnCache,
    data_version: i64,
}

impl Deref for WriteTxn<'_> {
    type Target = Reader;

    fn deref(&self) -> &Reader {
        &self.guard.reader
    }
}

impl WriteTxn<'_> {
    /// Graphs and types resolved so far, valid for this transaction.
    pub(crate) fn cache(&mut self) -> &mut TxnCache {
        &mut self.guard.cache
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Commits: publishes the change events (one `notify()` and one stream
    /// row), bumps the revision if anything changed, and returns the
    /// revision the store is at after this transaction.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the commit fails; the transaction is then rolled
    /// back and nothing of it is visible.
    pub fn commit(mut self) -> Result<u64> {
        let revision = crate::outbox::publish(&self.guard.reader.conn, &self.outbox)?;
        let inner = self.inner;
        for hook in inner.hooks.iter() {
            hook.before_commit(&mut self)?;
        }
        run(&self.guard.reader.conn, "COMMIT")?;
        self.open = false;
        self.inner
            .schemas
            .promote(std::mem::take(&mut self.schemas));
        let changed = !self.outbox.is_empty();
        let on_commit = std::mem::take(&mut self.on_commit);
        // Release the writer before the hooks and callbacks run (they may
        // write).
        drop(self);
        let committed = Committed {
            path: &inner.canonical,
            revision,
            changed,
        };
        for hook in inner.hooks.iter() {
            hook.after_commit(&committed);
        }
        for action in on_commit {
            action();
        }
        Ok(revision)
    }

    /// Runs `action` once this transaction commits, after the commit
    /// hooks, outside the writer lock; never if it rolls back.
    pub(crate) fn on_commit(&mut self, action: impl FnOnce() + Send + 'static) {
        self.on_commit.push(Box::new(action));
    }

    /// Whether this transaction writes the file `store` is a handle to.
    pub(crate) fn is_of(&self, store: &Store) -> bool {
        self.inner.canonical == store.inner.canonical
    }

    /// Whether this transaction changes any entity so far.
    pub(crate) fn has_changes(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Rolls back every write of this transaction. Dropping it does the same.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if SQLite reports a failure while rolling back.
    pub fn rollback(mut self) -> Result<()> {
        self.open = false;
        self.guard.cache.clear();
        run(&self.guard.reader.conn, "ROLLBACK")?;
        Ok(())
    }
}

impl Drop for WriteTxn<'_> {
    fn drop(&mut self) {
        if self.open {
            // What this transaction resolved may not survive it.
            self.guard.cache.clear();
            // Never panic in drop; if ROLLBACK itself fails, SQLite has
            // already rolled the transaction back (the only failure modes
            // are "no transaction is active" and I/O errors that abort it).
            let _ = run(&self.guard.reader.conn, "ROLLBACK");
        }
        *lock(&self.inner.writer_thread) = None;
    }
}
