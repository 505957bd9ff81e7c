//! Where a bench writes its store files.
//!
//! By default a fresh temporary directory, removed when the bench ends.
//! With `BENCH_KEEP_DIR=/some/dir` the files are written there instead
//! and kept, so that a profiler (or a second look with the CLI) can open
//! the very file a figure was measured on.

use std::path::{Path, PathBuf};

/// The directory a bench's files go in; dropping it removes a temporary
/// one and keeps a kept one.
pub enum BenchDir {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

impl BenchDir {
    /// `BENCH_KEEP_DIR/name` (emptied of `name`'s earlier files), or a new
    /// temporary directory.
    pub fn new(name: &str) -> BenchDir {
        match std::env::var_os("BENCH_KEEP_DIR") {
            Some(root) => {
                let dir = Path::new(&root).join(name);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).expect("empty the kept bench directory");
                }
                std::fs::create_dir_all(&dir).expect("create the kept bench directory");
                println!("bench files kept in {}", dir.display());
                BenchDir::Kept(dir)
            }
            None => BenchDir::Temporary(tempfile::tempdir().expect("temp dir")),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            BenchDir::Temporary(dir) => dir.path(),
            BenchDir::Kept(dir) => dir,
        }
    }
}
