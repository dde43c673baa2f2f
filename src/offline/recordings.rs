//! Recordings named on the command line: a file as given; a directory for every recording under
//! it (as `mmbot record` and `mmbot import` lay them out, a folder per symbol), in path order.
//! Hidden files are left out, as a shell's `market/*/*.gz` leaves them: a backtest keeps its
//! parsed cache beside a recording as `.NAME.HASH.mmbt`.

use std::path::{Path, PathBuf};

fn hidden(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Every recording under `dir`, at any depth, in path order.
pub fn under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for p in std::fs::read_dir(&d).into_iter().flatten().flatten().map(|e| e.path()) {
            if hidden(&p) {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `paths` with each directory replaced by the recordings under it; a directory with none is
/// an error (a run on nothing would report a market that never was).
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = under(p);
            anyhow::ensure!(!found.is_empty(), "{}: no recordings under it", p.display());
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_its_recordings_without_the_hidden_caches() {
        let d = std::env::temp_dir().join(format!("mmbot-recordings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for f in [
            "market/SOLUSDT/b.gz",
            "market/SOLUSDT/.b.gz.1234.mmbt",
            "market/BTCUSDT/a.gz",
            "other.gz",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::create_dir_all(d.join("empty")).unwrap();
        let got = expand(&[d.join("market"), d.join("other.gz")]).unwrap();
        assert_eq!(
            got,
            [d.join("market/BTCUSDT/a.gz"), d.join("market/SOLUSDT/b.gz"), d.join("other.gz")]
        );
        assert!(expand(&[d.join("empty")]).unwrap_err().to_string().contains("no recordings"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
