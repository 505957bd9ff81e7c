//! The store file on disk, before SQLite sees it: creating a new store with
//! mode 0600, refusing files that are not stores, telling whether the file
//! can be written, and opening read-only connections.
//!
//! Everything here reads or creates files; nothing writes an existing file.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OpenFlags};

use super::migrate;
use crate::error::{Error, NotAStoreReason, Result};

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Pragmas of a read-only connection: no journal-mode change (that would
/// write), and `query_only` as a second guard.
const READ_ONLY_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;
     PRAGMA foreign_keys = ON;
     PRAGMA cache_size = -32000;
     PRAGMA temp_store = MEMORY;
     PRAGMA query_only = ON;";

/// What is at a store's path, judged from its bytes alone.
pub(crate) enum Found {
    /// Nothing: a store can be created there.
    Missing,
    /// A file of zero bytes.
    Empty,
    /// A file that starts with the SQLite header.
    Sqlite,
}

/// Looks at the file at `path` without opening it as a database.
///
/// # Errors
///
/// [`Error::NotAStore`] for a file that is not a SQLite database;
/// [`Error::StoreFile`] when it cannot be read.
pub(crate) fn inspect(path: &Path) -> Result<Found> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(Error::store_file(path, "open", e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::store_file(path, "open", e))?;
    if !meta.is_file() {
        return Err(not_a_store(path, NotAStoreReason::NotSqlite, None));
    }
    if meta.len() == 0 {
        return Ok(Found::Empty);
    }
    let mut header = [0u8; 16];
    match file.read_exact(&mut header) {
        Ok(()) if &header == SQLITE_HEADER => Ok(Found::Sqlite),
        Ok(()) => Err(not_a_store(path, NotAStoreReason::NotSqlite, None)),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
            Err(not_a_store(path, NotAStoreReason::NotSqlite, None))
        }
        Err(e) => Err(Error::store_file(path, "read", e)),
    }
}

/// What the tables of a SQLite database say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// A store of this library (it has `_alknet_meta`).
    Store,
    /// Only honker's tables: a store whose creation stopped before this
    /// crate's migrations ran.
    Unfinished,
    /// No tables at all.
    Empty,
}

/// Reads the schema of the database behind `conn`.
///
/// # Errors
///
/// [`Error::NotAStore`] for a database of another application, or a file
/// SQLite cannot read as a database.
pub(crate) fn schema(conn: &Connection, path: &Path) -> Result<Schema> {
    let names = table_names(conn).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(ref failure, _)
            if matches!(
                failure.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            not_a_store(path, NotAStoreReason::NotSqlite, Some(e))
        }
        e => Error::Sqlite(e),
    })?;
    if names.iter().any(|name| name == "_alknet_meta") {
        Ok(Schema::Store)
    } else if names.is_empty() {
        Ok(Schema::Empty)
    } else if names.iter().all(|name| name.starts_with("_honker")) {
        Ok(Schema::Unfinished)
    } else {
        Err(not_a_store(path, NotAStoreReason::ForeignDatabase, None))
    }
}

/// The names of every table and view in the database.
fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")?;
    let names = stmt.query_map([], |row| row.get(0))?;
    names.collect()
}

/// Refuses a read-only store whose schema is not this library's current
/// one: migrating it would need a write.
///
/// # Errors
///
/// [`Error::SchemaTooNew`] for a newer file; [`Error::NeedsMigration`] for
/// an older one, or one missing any of honker's tables.
pub(crate) fn check_current(conn: &Connection, path: &Path) -> Result<()> {
    let found = migrate::schema_version(conn)?;
    if found > migrate::SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: migrate::SCHEMA_VERSION,
        });
    }
    if found < migrate::SCHEMA_VERSION {
        return Err(Error::NeedsMigration {
            path: path.to_path_buf(),
            reason: format!(
                "its schema version is {found}, this library's is {}",
                migrate::SCHEMA_VERSION
            ),
        });
    }
    let present = table_names(conn)?;
    for table in honker_tables()? {
        if !present.contains(&table) {
            return Err(Error::NeedsMigration {
                path: path.to_path_buf(),
                reason: format!("it has no table {table}"),
            });
        }
    }
    Ok(())
}

/// The tables honker-core creates, read from a scratch in-memory database,
/// so the check follows honker-core's version.
fn honker_tables() -> Result<Vec<String>> {
    let conn = Connection::open_in_memory()?;
    honker_core::attach_notify(&conn).map_err(super::honker_error)?;
    honker_core::bootstrap_honker_schema(&conn).map_err(super::honker_error)?;
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    let names = stmt.query_map([], |row| row.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

fn not_a_store(path: &Path, reason: NotAStoreReason, source: Option<rusqlite::Error>) -> Error {
    Error::NotAStore {
        path: path.to_path_buf(),
        reason,
        source,
    }
}

/// Whether this process can write the store at `path`: the file itself,
/// and its `-wal` and `-shm` files, which must exist writable or be
/// creatable in the directory. Asks the file system by opening for writing
/// (which changes nothing), so it answers as `access(2)` would, for root
/// too, and says no on a read-only mount.
pub(crate) fn writable(path: &Path) -> bool {
    let opens = |p: &Path| OpenOptions::new().write(true).open(p).is_ok();
    if !opens(path) {
        return false;
    }
    let wal = sibling(path, "-wal");
    let shm = sibling(path, "-shm");
    if wal.exists() && shm.exists() {
        return opens(&wal) && opens(&shm);
    }
    if (wal.exists() && !opens(&wal)) || (shm.exists() && !opens(&shm)) {
        return false;
    }
    directory_writable(path)
}

/// Whether a file can be created beside `path`: creates a uniquely named
/// empty file there and removes it.
fn directory_writable(path: &Path) -> bool {
    match create_unique(path, "probe") {
        Ok(probe) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// `path` with `suffix` appended to its file name (`a.db` → `a.db-wal`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates a new, empty, uniquely named file in the directory of `path`,
/// readable and writable by its owner only.
fn create_unique(path: &Path, purpose: &str) -> std::io::Result<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    loop {
        let mut candidate = name.clone();
        candidate.push(format!(
            ".{}.{}.{purpose}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let candidate = dir.join(candidate);
        match owner_only().open(&candidate) {
            Ok(_) => return Ok(candidate),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Options that create a new file, mode 0600 on Unix.
fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Sets mode 0600 (the umask may have taken bits away at creation).
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a complete, empty store at `path`, mode 0600, unless a file
/// appears there first (then that file is left alone and opened as it is).
///
/// The store is built in a temporary file beside `path` and linked into
/// place only when complete, so no other process ever sees a half-made
/// store (or the empty file it starts as), and a crash leaves no file at
/// `path`. SQLite gives the `-wal` and `-shm` files the mode of the
/// database file, so they are 0600 too.
///
/// # Errors
///
/// [`Error::StoreFile`] when the file cannot be created;
/// [`Error::Sqlite`] when the schema cannot be written.
pub(crate) fn create(path: &Path) -> Result<()> {
    let tmp = create_unique(path, "new").map_err(|e| Error::store_file(path, "create", e))?;
    let outcome = restrict(&tmp)
        .map_err(|e| Error::store_file(path, "create", e))
        .and_then(|()| initialize(&tmp))
        .and_then(|()| link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_file(sibling(&tmp, "-journal"));
    outcome
}

/// Writes the honker and crate schema into the new file at `tmp` in
/// rollback-journal mode, so the file is complete on its own once closed.
fn initialize(tmp: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    honker_core::attach_notify(&conn).map_err(super::honker_error)?;
    honker_core::attach_honker_functions(&conn)?;
    honker_core::bootstrap_honker_schema(&conn).map_err(super::honker_error)?;
    migrate::migrate(&conn)?;
    conn.close().map_err(|(_, e)| Error::Sqlite(e))
}

/// Puts the finished file at `tmp` in place at `path`, never replacing a
/// file that is there.
fn link(tmp: &Path, path: &Path) -> Result<()> {
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        // Another process created it meanwhile: open theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        // A file system without hard links: rename, checking first (a
        // narrow race with another creator remains there).
        Err(_) if !path.exists() => {
            std::fs::rename(tmp, path).map_err(|e| Error::store_file(path, "create", e))
        }
        Err(_) => Ok(()),
    }
}

/// How a read-only connection reads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// `mode=ro`: shared locks and the WAL, so writes of other processes
    /// are seen. Needs the `-shm` file, or the right to create it.
    Shared,
    /// `immutable=1`: no locks and no `-wal`/`-shm`; for a file nobody can
    /// write that no writer has open.
    Immutable,
}

impl ReadMode {
    /// The mode for a store at `path` that this process opens read-only;
    /// `writable` says whether it could write it.
    pub(crate) fn for_store(path: &Path, writable: bool) -> ReadMode {
        if writable || sibling(path, "-wal").exists() {
            ReadMode::Shared
        } else {
            ReadMode::Immutable
        }
    }
}

/// Opens a read-only connection to the file at `canonical` (an absolute
/// path).
///
/// # Errors
///
/// [`Error::Sqlite`] when SQLite cannot open it.
pub(crate) fn open_read_only(canonical: &Path, mode: ReadMode) -> Result<Connection> {
    let parameter = match mode {
        ReadMode::Shared => "mode=ro",
        ReadMode::Immutable => "immutable=1",
    };
    let uri = format!("file://{}?{parameter}", uri_path(canonical));
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(READ_ONLY_PRAGMAS)?;
    Ok(conn)
}

/// An absolute path percent-encoded for a `file:` URI: every byte but
/// letters, digits and `/._~-` is escaped, so `?`, `#` and `%` in a name
/// stay part of it.
fn uri_path(path: &Path) -> String {
    let bytes = path_bytes(path);
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes.iter() {
        if byte.is_ascii_alphanumeric() || b"/._~-".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') {
        text
    } else {
        format!("/{text}")
    };
    std::borrow::Cow::Owned(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_escape_what_a_uri_would_read_as_syntax() {
        assert_eq!(
            uri_path(Path::new("/a b/c?d#e%f.db")),
            "/a%20b/c%3Fd%23e%25f.db"
        );
        assert_eq!(
            sibling(Path::new("/x/a.db"), "-wal"),
            Path::new("/x/a.db-wal")
        );
    }

    #[test]
    fn a_short_file_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.db");
        std::fs::write(&path, b"SQLite").unwrap();
        let err = inspect(&path).err().expect("refused");
        assert_eq!(
            err.to_string(),
            format!("store {} is not a SQLite database", path.display())
        );
        assert!(matches!(
            inspect(&dir.path().join("none.db")),
            Ok(Found::Missing)
        ));
    }
}
