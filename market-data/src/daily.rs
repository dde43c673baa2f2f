//! One recording file per symbol per UTC day: `<out>/<SYMBOL>/<YYYY-MM-DD>T<HHMMSS>Z.gz`, named
//! by when it was opened. A file per day keeps each one a size a backtest reads whole and lines
//! up with Bybit's daily archives; the time in the name keeps a restart the same day from ever
//! appending to a file another process finished (a gzip is only whole once its trailer is
//! written). At midnight UTC the next frame opens the next day's file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::writer::Writer;

/// The UTC day of `ns` (days since the epoch) and the file name for a file opened then.
fn day_and_name(ns: u64) -> (i64, String) {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let day = (ns / 86_400_000_000_000) as i64;
    let name = format!(
        "{:04}-{:02}-{:02}T{:02}{:02}{:02}Z.gz",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    (day, name)
}

/// What a finished file holds, for the summary.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub lines: u64,
}

pub struct DailyFiles {
    out: PathBuf,
    open: BTreeMap<String, (i64, Writer)>,
    finished: Vec<Written>,
}

impl DailyFiles {
    pub fn new(out: &Path) -> Self {
        Self {
            out: out.to_path_buf(),
            open: BTreeMap::new(),
            finished: Vec::new(),
        }
    }

    pub fn write(&mut self, symbol: &str, local_ns: u64, frame: &str) -> io::Result<()> {
        let (day, name) = day_and_name(local_ns);
        if self.open.get(symbol).is_some_and(|(d, _)| *d != day) {
            if let Some((_, w)) = self.open.remove(symbol) {
                self.finish_one(w)?;
            }
        }
        if !self.open.contains_key(symbol) {
            let w = Writer::create(&self.out.join(symbol).join(name))?;
            log::info!("writing {symbol} to {}", w.path().display());
            self.open.insert(symbol.to_string(), (day, w));
        }
        let (_, w) = self.open.get_mut(symbol).expect("opened above");
        w.write(local_ns, frame)
    }

    /// Everything written so far readable from the files, should the process die next.
    pub fn flush(&mut self) -> io::Result<()> {
        for (_, w) in self.open.values_mut() {
            w.flush()?;
        }
        Ok(())
    }

    fn finish_one(&mut self, w: Writer) -> io::Result<()> {
        let path = w.path().to_path_buf();
        let lines = w.finish()?;
        self.finished.push(Written { path, lines });
        Ok(())
    }

    /// Every file closed whole (gzip trailer, synced); what was written.
    pub fn finish(mut self) -> io::Result<Vec<Written>> {
        let open = std::mem::take(&mut self.open);
        for (_, (_, w)) in open {
            self.finish_one(w)?;
        }
        Ok(self.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_by_utc_day_and_opening_time() {
        // 2024-12-01T23:59:59.5Z and half a second later, the next day.
        let a = 1_733_097_599_500_000_000u64;
        let (d1, n1) = day_and_name(a);
        let (d2, n2) = day_and_name(a + 500_000_000);
        assert_eq!(n1, "2024-12-01T235959Z.gz");
        assert_eq!(n2, "2024-12-02T000000Z.gz");
        assert_eq!(d2, d1 + 1);
    }
}
