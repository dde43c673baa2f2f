//! A test's own directory under the system temp dir. It is removed when the test passes and kept,
//! its path printed, when the test fails, for the logs in it: a suite that left every run's
//! directories behind filled a CI machine's disk (an etcd data dir alone is ~120 MB).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Shared by clones: the directory goes when the last holder (the test, its bot, its etcd) does.
#[derive(Clone)]
pub struct TestDir(Arc<Owned>);

struct Owned(PathBuf);

impl TestDir {
    /// A new empty directory named for the test, unique per process and moment.
    pub fn new(prefix: &str, name: &str) -> TestDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let d = std::env::temp_dir().join(format!("{prefix}-{name}-{}-{nanos}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TestDir(Arc::new(Owned(d)))
    }
}

impl Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0 .0
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        self
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: its files are kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
