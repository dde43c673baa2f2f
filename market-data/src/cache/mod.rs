//! A binary cache of a merged tape: the events of a list of recordings, parsed, judged and
//! merged once, written compactly so that the next run over the same files (a sweep, a second
//! backtest) reads them without gunzip or JSON. The cache is keyed by the files' paths, sizes
//! and modification times; any change, a cache written by another version or one cut short is
//! ignored and rebuilt. A cache that cannot be written costs only the speed-up.
//!
//! - `bytes`: the encoding; `writer`: written while the tape is read; `reader`: read back;
//!   `read_ahead`: any tape read on a thread of its own, ahead of its consumer; `prefetch`: its
//!   items' data asked for before the consumer reads it.

use std::hash::{Hash, Hasher};
use std::io;
use std::path::PathBuf;

use crate::tape::{FileReport, Tape, TapeError, TapeItem};

mod bytes;
mod prefetch;
mod read_ahead;
mod reader;
pub use read_ahead::ReadAhead;
pub use reader::empty_item;
mod writer;

use reader::CacheReader;
use writer::CacheWriter;

/// At the start of a cache, and again at its end after the item count: a cache without its end
/// was cut short and is not read.
const MAGIC: &[u8; 8] = b"MMBTAPE6";

/// Where the cache of `files` lives: beside the first file, named by a hash of the files' full
/// paths (one cache whatever directory the run starts in), sizes and modification times.
pub fn cache_path(files: &[PathBuf]) -> io::Result<PathBuf> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        let m = std::fs::metadata(f)?;
        std::fs::canonicalize(f)?.hash(&mut h);
        m.len().hash(&mut h);
        m.modified()?.hash(&mut h);
    }
    let first = files.first().ok_or_else(|| io::Error::other("no file"))?;
    let name = first.file_name().map_or("tape".into(), |n| n.to_string_lossy().into_owned());
    Ok(first.with_file_name(format!(".{name}.{:016x}.mmbt", h.finish())))
}

/// The events of `files`, in order: from the cache when it is there and current; else from the
/// files, written to the cache as they are read (kept only if the whole tape was read).
pub fn open(files: &[PathBuf]) -> Result<Box<dyn TapeStream>, TapeError> {
    let Ok(path) = cache_path(files) else {
        return Ok(Box::new(Tape::open(files)?));
    };
    if let Ok(cached) = CacheReader::open(&path) {
        return Ok(Box::new(cached));
    }
    let tape = Tape::open(files)?;
    match CacheWriter::create(&path) {
        Ok(writer) => Ok(Box::new(Tee {
            tape,
            writer: Some(writer),
            path,
        })),
        Err(e) => {
            log::info!(
                "{}: no cache written ({e}); the next run parses the recordings again",
                path.display()
            );
            Ok(Box::new(tape))
        }
    }
}

/// `Iterator::next` of a stream whose reading is `next_into`.
fn next_item(stream: &mut impl TapeStream) -> Option<TapeItem> {
    let mut item = empty_item();
    stream.next_into(&mut item).then_some(item)
}

/// A tape's events in order, and how far through it the reading is.
pub trait TapeStream: Iterator<Item = TapeItem> + Send {
    /// 0 to 1, by bytes read from disk.
    fn fraction_read(&self) -> f64;

    /// What reading each file met (events, malformed lines, book gaps, a cut-short end), once
    /// the stream has ended; a cache gives what the parse that wrote it met.
    fn file_reports(&self) -> Vec<FileReport>;

    /// The next item into `item` (false at the end): a reader that can reuses the item's
    /// strings and lists, so a run over millions of events allocates none per event.
    fn next_into(&mut self, item: &mut TapeItem) -> bool {
        match self.next() {
            Some(next) => {
                *item = next;
                true
            }
            None => false,
        }
    }
}

impl TapeStream for Tape {
    fn fraction_read(&self) -> f64 {
        Tape::fraction_read(self)
    }

    fn file_reports(&self) -> Vec<FileReport> {
        self.reports()
    }
}

impl TapeStream for Tee {
    fn fraction_read(&self) -> f64 {
        self.tape.fraction_read()
    }

    fn file_reports(&self) -> Vec<FileReport> {
        self.tape.reports()
    }
}

/// The tape, each item also written to the cache; the cache is put in place at the tape's end.
struct Tee {
    tape: Tape,
    writer: Option<CacheWriter>,
    path: PathBuf,
}

impl Iterator for Tee {
    type Item = TapeItem;

    fn next(&mut self) -> Option<TapeItem> {
        let item = self.tape.next();
        if let Some(w) = self.writer.as_mut() {
            let done = match &item {
                Some(it) => w.item(it).map(|_| false),
                None => Ok(true),
            };
            match done {
                Ok(false) => {}
                Ok(true) => {
                    if let Some(w) = self.writer.take() {
                        if let Err(e) = w.finish(&self.path, &self.tape.reports()) {
                            log::info!("{}: no cache written ({e})", self.path.display());
                        }
                    }
                }
                Err(e) => {
                    log::info!("{}: no cache written ({e})", self.path.display());
                    self.writer = None;
                }
            }
        }
        item
    }
}

/// Every event of `files` at once (small inputs, tests).
pub fn load(files: &[PathBuf]) -> Result<Vec<TapeItem>, TapeError> {
    Ok(open(files)?.collect())
}

#[cfg(test)]
mod tests {
    use super::bytes::{R, W};
    use super::*;
    use crate::Kind;

    /// A snapshot of book X, as the first line of a test recording.
    const SNAPSHOT: &str = "1 {\"topic\":\"orderbook.50.X\",\"type\":\"snapshot\",\"ts\":10,\"data\":{\"s\":\"X\",\"b\":[[\"1.5\",\"2\"]],\"a\":[[\"1.6\",\"3\"]],\"u\":1,\"seq\":1},\"cts\":9}\n";

    /// `rec.txt` holding `lines`, in a directory of the test's own (`name`).
    fn recording(name: &str, lines: &str) -> (PathBuf, PathBuf) {
        let d = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("rec.txt");
        std::fs::write(&f, lines).unwrap();
        (d, f)
    }

    #[test]
    fn a_cached_tape_reads_back_the_same_events_and_a_changed_file_is_parsed_again() {
        let (d, f) = recording(
            "tape-cache",
            &[
                SNAPSHOT,
                "2 {\"topic\":\"publicTrade.X\",\"ts\":11,\"data\":[{\"T\":11,\"S\":\"Sell\",\"v\":\"0.5\",\"p\":\"1.5\",\"i\":\"a\"}]}\n",
                "3 {\"topic\":\"tickers.X\",\"ts\":12,\"data\":{\"markPrice\":\"1.55\"}}\n",
            ]
            .concat(),
        );
        let files = vec![f.clone()];
        let parsed = load(&files).unwrap();
        assert!(cache_path(&files).unwrap().exists(), "written for next time");
        assert_eq!(
            cache_path(&[d.join(".").join("rec.txt")]).unwrap(),
            cache_path(&files).unwrap(),
            "one cache for one file, however it is named"
        );
        assert_eq!(load(&files).unwrap(), parsed, "the same events from the cache");
        let cache = cache_path(&files).unwrap();
        let whole = std::fs::read(&cache).unwrap();
        std::fs::write(&cache, &whole[..whole.len() - 40]).unwrap();
        assert_eq!(load(&files).unwrap(), parsed, "a cache cut short is not read: the files are");
        assert_eq!(std::fs::read(&cache).unwrap(), whole, "and the cache is written whole again");
        assert_eq!(parsed.len(), 3);
        std::fs::write(&f, "1 {\"topic\":\"tickers.X\",\"ts\":5,\"data\":{}}\n").unwrap();
        assert_eq!(load(&files).unwrap().len(), 1, "a changed file is parsed again");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Items read into slots that held other kinds, more or fewer trades, levels and ticker
    /// fields, longer or shorter strings (as the read-ahead's batches are refilled) are the
    /// items parsed, one by one.
    #[test]
    fn items_read_into_reused_slots_are_the_items_parsed() {
        let d = std::env::temp_dir().join(format!("tape-reuse-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("rec.txt");
        let mut lines = String::from(
            "1 {\"topic\":\"orderbook.50.X\",\"type\":\"snapshot\",\"ts\":10,\"data\":{\"s\":\"X\",\"b\":[[\"1.5\",\"2\"],[\"1.4\",\"1\"]],\"a\":[[\"1.6\",\"3\"]],\"u\":1,\"seq\":1},\"cts\":9}\n",
        );
        let mut u = 1;
        for i in 0..300u64 {
            let ts = 20 + i;
            let line = match i % 5 {
                0 | 3 => {
                    u += 1;
                    let levels: Vec<String> = (0..(i % 4)).map(|k| format!("[\"1.{}\",\"{}\"]", 4 - k % 3, (i + k) % 3)).collect();
                    format!(
                        "{{\"topic\":\"orderbook.50.X\",\"type\":\"delta\",\"ts\":{ts},\"data\":{{\"s\":\"X\",\"b\":[{}],\"a\":[],\"u\":{},\"seq\":{}}},\"cts\":{ts}}}",
                        levels.join(","),
                        u,
                        u
                    )
                }
                1 => {
                    let trades: Vec<String> = (0..(1 + i % 3))
                        .map(|k| format!("{{\"T\":{ts},\"S\":\"Buy\",\"v\":\"0.{k}1\",\"p\":\"1.6\",\"i\":\"{}\"}}", "t".repeat((i % 7 + k) as usize)))
                        .collect();
                    format!("{{\"topic\":\"publicTrade.X\",\"ts\":{ts},\"data\":[{}]}}", trades.join(","))
                }
                2 => {
                    let fields: Vec<String> = ["markPrice", "fundingRate", "lastPrice"][..(i % 3 + 1) as usize]
                        .iter()
                        .map(|k| format!("\"{k}\":\"{}\"", "1.5".repeat((i % 4 + 1) as usize)))
                        .collect();
                    format!("{{\"topic\":\"tickers.{}\",\"ts\":{ts},\"data\":{{{}}}}}", if i % 2 == 0 { "X" } else { "XY" }, fields.join(","))
                }
                _ => format!("{{\"topic\":\"publicTrade.XY\",\"ts\":{ts},\"data\":[{{\"T\":{ts},\"S\":\"Sell\",\"v\":\"2\",\"p\":\"3\",\"i\":\"x\"}}]}}"),
            };
            lines.push_str(&format!("{} {line}\n", ts * 1_000_000));
        }
        std::fs::write(&f, lines).unwrap();
        let files = vec![f];
        let parsed = load(&files).unwrap();
        assert!(cache_path(&files).unwrap().exists(), "read back from the cache");
        let kinds = |k: fn(&Kind) -> bool| parsed.iter().filter(|i| k(&i.event.kind)).count();
        assert!(
            kinds(|k| matches!(k, Kind::Book(f) if !f.bids.is_empty())) > 50,
            "books with levels"
        );
        assert!(kinds(|k| matches!(k, Kind::Ticker { .. })) > 50 && kinds(|k| matches!(k, Kind::Trades { .. })) > 50);
        for slots in [1, 3, 7] {
            let mut stream = open(&files).unwrap();
            let mut items: Vec<TapeItem> = (0..slots).map(|_| empty_item()).collect();
            for (n, want) in parsed.iter().enumerate() {
                let slot = &mut items[n % slots];
                assert!(stream.next_into(slot), "item {n} of {}", parsed.len());
                assert_eq!(slot, want, "item {n}, {slots} slots");
            }
            assert!(!stream.next_into(&mut items[0]), "and then the end");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    /// What reading the files met is the same from the parse, from the cache it wrote, and
    /// through the read-ahead.
    #[test]
    fn the_files_reports_survive_the_cache_and_the_read_ahead() {
        let (d, f) = recording(
            "tape-reports",
            &[
                SNAPSHOT,
                "2 not a frame\n",
                "3 {\"topic\":\"orderbook.50.X\",\"type\":\"delta\",\"ts\":12,\"data\":{\"s\":\"X\",\"b\":[],\"a\":[],\"u\":5,\"seq\":5},\"cts\":11}\n",
                "4 {\"topic\":\"publicTrade.X\",\"ts\":13,\"data\":[{\"T\":13,\"S\":\"Sell\",\"v\":\"0.5\",\"p\":\"1.5\",\"i\":\"a\"}]}\n",
            ]
            .concat(),
        );
        let files = vec![f];
        let drained = |mut s: Box<dyn TapeStream>| {
            let mut item = empty_item();
            while s.next_into(&mut item) {}
            s.file_reports()
        };
        let parsed = drained(open(&files).unwrap());
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            (parsed[0].malformed, parsed[0].gaps, parsed[0].truncated_after),
            (1, 1, None),
            "{parsed:?}"
        );
        assert!(cache_path(&files).unwrap().exists());
        assert_eq!(drained(open(&files).unwrap()), parsed, "from the cache");
        assert_eq!(
            drained(Box::new(ReadAhead::new(open(&files).unwrap()))),
            parsed,
            "through the read-ahead"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn fields_larger_than_the_read_chunk_and_a_damaged_length_read_safely() {
        let big = "7".repeat(3 << 20);
        let mut bytes = Vec::new();
        let mut w = W(&mut bytes);
        w.str(&big).unwrap();
        w.u64(42).unwrap();
        w.u32(u32::MAX).unwrap();
        let mut r = R::new(bytes.as_slice());
        assert_eq!(r.str().unwrap(), big, "a 3 MiB field across 1 MiB chunks");
        assert_eq!(r.u64().unwrap(), 42);
        assert!(r.str().is_err(), "a 4 GiB length is refused, not allocated");
    }
}
