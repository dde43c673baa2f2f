//! The shared real captures (`../shared/market-data`, read from there, never copied in),
//! imported into the market-data format for a test: one file per symbol.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A capture in `../shared/market-data` (the test fails, not skips, when it is missing).
pub fn shared_capture(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/market-data").join(name);
    let p = if p.exists() {
        p
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/market-data").join(name)
    };
    assert!(p.exists(), "test input {} is missing", p.display());
    p
}

/// The cryptofeed capture's linear frames, one market-data file per symbol; the files by symbol.
pub fn import_capture(name: &str, out: &Path) -> BTreeMap<String, PathBuf> {
    let mut files = market_data::DailyFiles::new(out);
    market_data::import::cryptofeed::import(&shared_capture(name), &mut |f| files.write(&f.symbol, f.local_ns, &f.text).unwrap()).unwrap();
    files
        .finish()
        .unwrap()
        .into_iter()
        .map(|w| (w.path.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned(), w.path))
        .collect()
}
