//! The data directory must be writable by the user the bot runs as. In the container that is uid
//! 10001; a bind-mounted host directory keeps its host owner, and the lock file then fails with a
//! bare "Permission denied". This check says what is wrong and how to fix it, before anything else.

use std::path::Path;

/// The effective uid and gid, from /proc (no libc call for two numbers).
fn ids() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |key: &str| -> Option<u32> { status.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(2)?.parse().ok() };
    Some((field("Uid:")?, field("Gid:")?))
}

/// The advice for a directory this process may not write.
pub fn not_writable_hint(dir: &Path, uid_gid: Option<(u32, u32)>) -> String {
    let who = uid_gid.map_or("this user".to_string(), |(u, g)| format!("uid {u} (gid {g})"));
    format!(
        "data directory {} is not writable by {who}. In the container mmbot runs as uid 10001; a \
         bind-mounted host directory keeps its host owner: run `sudo chown -R 10001 <host dir>` on \
         the host, or start the container with `--user $(id -u):$(id -g)`, or use a named volume",
        dir.display()
    )
}

/// Create the directory and prove it writable, or explain why not.
pub fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(".mmbot-write-probe");
    let result = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&probe, b"ok"));
    let _ = std::fs::remove_file(&probe);
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => anyhow::bail!(not_writable_hint(dir, ids())),
        Err(e) => Err(anyhow::Error::new(e).context(format!("preparing the data directory {}", dir.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_uid_and_the_fixes() {
        let h = not_writable_hint(Path::new("/data"), Some((10001, 10001)));
        assert!(h.contains("/data is not writable by uid 10001 (gid 10001)"), "{h}");
        assert!(h.contains("chown -R 10001") && h.contains("--user"), "{h}");
        assert!(ids().is_some());
    }

    #[test]
    fn a_writable_directory_passes() {
        let dir = std::env::temp_dir().join(format!("mmbot-data-dir-{}", std::process::id()));
        ensure_writable(&dir).unwrap();
        assert!(!dir.join(".mmbot-write-probe").exists());
        std::fs::remove_dir_all(dir).ok();
    }
}
