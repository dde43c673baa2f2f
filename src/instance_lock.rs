//! One mmbot per data directory and per exchange account on a host: an exclusive lock on
//! `<recorder.dir>/mmbot.lock`, and one on a lock file in the temp directory named after the
//! account (exchange URL + API key, hashed). The OS releases both when the process ends, however
//! it ends, so a restart right after any exit finds them free.

use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Held for the life of the process.
pub struct InstanceLock {
    _files: Vec<File>,
}

fn lock(path: &Path, what: &str) -> anyhow::Result<File> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("mmbot pid {holder}")
            };
            bail!(
                "{what} is in use by {holder} (lock {}); two mmbot processes must never share it",
                path.display()
            );
        }
        Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
    }
    f.set_len(0)?;
    f.rewind()?;
    write!(f, "{}", std::process::id())?;
    f.flush()?;
    Ok(f)
}

fn account_lock_path(rest_url: &str, api_key: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (rest_url, api_key).hash(&mut h);
    std::env::temp_dir().join(format!("mmbot-account-{:016x}.lock", h.finish()))
}

/// Lock the data directory, and the account unless it is the embedded simulator's (unique per process).
pub fn acquire(data_dir: &Path, account: Option<(&str, &str)>) -> anyhow::Result<InstanceLock> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let mut files = vec![lock(
        &data_dir.join("mmbot.lock"),
        &format!("data directory {}", data_dir.display()),
    )?];
    if let Some((url, key)) = account {
        let path = account_lock_path(url, key);
        match lock(&path, &format!("the account at {url}")) {
            Ok(f) => files.push(f),
            // Someone holds it: refuse. Cannot create it (read-only root filesystem): go on with
            // the data-directory lock alone, and say so.
            Err(e) if e.to_string().contains("is in use by") => return Err(e),
            Err(e) => log::warn!("account lock unavailable ({e:#}); only the data directory is locked"),
        }
    }
    Ok(InstanceLock { _files: files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_is_gone() {
        let dir = std::env::temp_dir().join(format!("mmbot-lock-test-{}", std::process::id()));
        let first = acquire(&dir, Some(("http://x", "k"))).unwrap();
        let err = acquire(&dir, None).err().unwrap().to_string();
        assert!(err.contains("in use by mmbot pid"), "{err}");
        let other_dir = dir.join("other");
        let err = acquire(&other_dir, Some(("http://x", "k"))).err().unwrap().to_string();
        assert!(err.contains("the account at http://x"), "{err}");
        drop(first);
        assert!(acquire(&dir, Some(("http://x", "k"))).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
