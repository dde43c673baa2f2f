//! Other sources into the market-data format, frame by frame: Bybit's historical order-book
//! archives (`*_ob500.data`, zipped or not; no local time), Bybit's public trade CSVs (no local
//! time), and cryptofeed's captures (real frames with their receive time, linear and spot
//! connections apart). Where a source has no local time, the exchange time plus an assumed feed
//! latency stands for it, and the first line of each output says so. Every book goes through
//! the same continuity judgement as a recording: a gap is marked and the book waits for the next
//! snapshot; an out-of-order frame is dropped; each counted with its file and line.

pub mod bybit_archive;
pub mod bybit_trades;
pub mod cryptofeed;
mod guard;

use std::path::{Path, PathBuf};

pub use guard::BookGuard;

/// The sources `mmbot import --from` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    BybitArchive,
    BybitTrades,
    Cryptofeed,
}

pub const KNOWN: &str = "bybit-archive (Bybit's *_ob500.data[.zip] order-book lines), bybit-trades (public.bybit.com/trading CSV, .csv or .csv.gz), cryptofeed (its .jsonl[.zst] capture)";

impl Source {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "bybit-archive" => Source::BybitArchive,
            "bybit-trades" => Source::BybitTrades,
            "cryptofeed" => Source::Cryptofeed,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Source::BybitArchive => "bybit-archive",
            Source::BybitTrades => "bybit-trades",
            Source::Cryptofeed => "cryptofeed",
        }
    }
}

/// One frame for the output, with the symbol whose file it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub local_ns: u64,
    pub symbol: String,
    pub text: String,
}

/// What an import of one file did.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: u64,
    pub frames: u64,
    /// `line N: why` for each line that could not be read (the first 20), and how many in all.
    pub malformed: Vec<String>,
    pub malformed_count: u64,
    pub gaps: u64,
    pub out_of_order: u64,
    /// Frames of no interest (another connection's, replies, other topics).
    pub skipped: u64,
    /// The file ended early (a truncated compressed tail): after which line.
    pub truncated_after: Option<u64>,
}

impl Report {
    /// The next line of `text` into `buf` (newline included), counted; false at the end — and at
    /// a read error, which a compressed file cut short gives: noted, with the last good line.
    pub fn next_line(&mut self, text: &mut dyn std::io::BufRead, buf: &mut Vec<u8>, path: &Path) -> bool {
        buf.clear();
        match text.read_until(b'\n', buf) {
            Ok(0) => false,
            Ok(_) => {
                self.lines += 1;
                true
            }
            Err(e) => {
                self.truncated_after = Some(self.lines);
                log::warn!("{}: cut short after line {} ({e})", path.display(), self.lines);
                false
            }
        }
    }

    pub fn malformed(&mut self, line: u64, why: impl std::fmt::Display) {
        self.malformed_count += 1;
        if self.malformed.len() < 20 {
            self.malformed.push(format!("line {line}: {why}"));
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {why}")]
    Unreadable { file: PathBuf, why: String },
    #[error("{file}: not {expected}: {why}; the formats known are {KNOWN}")]
    NotThisFormat {
        file: PathBuf,
        expected: &'static str,
        why: String,
    },
}

/// The line that opens each symbol's output: where it came from and, when the source had no
/// receive time, the feed latency assumed for it.
pub fn source_line(source: Source, file: &Path, assumed_latency_ms: Option<u64>) -> String {
    serde_json::json!({
        "topic": "mmbot.source",
        "from": source.name(),
        "file": file.display().to_string(),
        "assumed_feed_latency_ms": assumed_latency_ms,
    })
    .to_string()
}

/// Import one file, handing each frame to `out`.
pub fn import(source: Source, path: &Path, feed_latency_ms: u64, out: &mut dyn FnMut(Frame)) -> Result<Report, ImportError> {
    match source {
        Source::BybitArchive => bybit_archive::import(path, feed_latency_ms, out),
        Source::BybitTrades => bybit_trades::import(path, feed_latency_ms, out),
        Source::Cryptofeed => cryptofeed::import(path, out),
    }
}
