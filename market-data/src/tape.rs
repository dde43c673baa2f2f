//! Several recordings read as one stream of market events in exchange-time order — what a
//! replay and a backtest run on. Each file is read in its own order (receive order); a frame
//! stamped earlier than one before it in the same file keeps its place and counts at that
//! earlier frame's time, so time never runs back. Files are merged by that time (ties: the
//! file named first). Each symbol's book follows one topic: the first depth seen, or a deeper
//! one when it appears. A bad line, a book gap or a frame out of order is logged with its file
//! and line and counted; the book goes on from its next snapshot, and nothing of a good file is
//! dropped for a bad one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::continuity::{BookContinuity, Continuity};
use crate::event::{parse_event, Event, Kind};
use crate::reader::{ReadError, Reader};

/// One event of the merged tape.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeItem {
    /// Index of the file in the list given to [`Tape::open`].
    pub file: usize,
    pub line: u64,
    pub local_ns: u64,
    /// The event's exchange time, never before the file's previous event's.
    pub at_ms: u64,
    pub event: Event,
}

/// What reading one file met.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub events: u64,
    /// Lines that could not be read as a frame or an event (each logged with its number).
    pub malformed: u64,
    /// Book gaps (updates missing, or a gap the recorder marked): the book waited for a snapshot.
    pub gaps: u64,
    /// Book frames at or before one already applied: dropped.
    pub out_of_order: u64,
    /// The file ended early (a truncated compressed tail): after which line.
    pub truncated_after: Option<u64>,
}

struct Source {
    reader: Reader,
    next: Option<TapeItem>,
    last_ms: u64,
    books: HashMap<String, BookContinuity>,
    report: FileReport,
}

pub struct Tape {
    sources: Vec<Source>,
    /// The book topic each symbol follows (by depth).
    followed: HashMap<String, u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error(transparent)]
    Open(#[from] ReadError),
    #[error("no recording given")]
    Empty,
    #[error(
        "{0}: not the market-data format (`{{local_ts_ns}} {{frame}}` lines, gzip, zstd or plain); \
         other sources go through `mmbot import --from {known}` first",
        known = "bybit-archive|bybit-trades|cryptofeed"
    )]
    UnknownFormat(PathBuf),
}

/// Whether a file reads as recorded lines: of its first lines, at least one is one.
fn is_recording(path: &Path) -> Result<bool, ReadError> {
    let mut seen = 0;
    for r in Reader::open(path)?.take(SNIFF_LINES) {
        match r {
            Ok(_) => return Ok(true),
            Err(ReadError::Truncated { .. }) => break,
            Err(_) => seen += 1,
        }
    }
    Ok(seen == 0)
}

/// Lines read to tell a recording from another format.
const SNIFF_LINES: usize = 20;

impl Tape {
    pub fn open(files: &[impl AsRef<Path>]) -> Result<Self, TapeError> {
        if files.is_empty() {
            return Err(TapeError::Empty);
        }
        let mut sources = Vec::new();
        for f in files {
            if !is_recording(f.as_ref())? {
                return Err(TapeError::UnknownFormat(f.as_ref().to_path_buf()));
            }
            let reader = Reader::open(f.as_ref())?;
            sources.push(Source {
                reader,
                next: None,
                last_ms: 0,
                books: HashMap::new(),
                report: FileReport {
                    file: f.as_ref().to_path_buf(),
                    ..Default::default()
                },
            });
        }
        let mut tape = Self {
            sources,
            followed: HashMap::new(),
        };
        for i in 0..tape.sources.len() {
            tape.refill(i);
        }
        Ok(tape)
    }

    /// The exchange time of the next event, if any is left.
    pub fn peek_ms(&self) -> Option<u64> {
        self.sources.iter().filter_map(|s| s.next.as_ref().map(|n| n.at_ms)).min()
    }

    /// How much of the files has been read, 0 to 1 (by bytes on disk).
    pub fn fraction_read(&self) -> f64 {
        let total: u64 = self.sources.iter().map(|s| s.reader.size).sum();
        let read: u64 = self.sources.iter().map(|s| s.reader.bytes_read().min(s.reader.size)).sum();
        if total == 0 {
            1.0
        } else {
            read as f64 / total as f64
        }
    }

    pub fn reports(&self) -> Vec<FileReport> {
        self.sources.iter().map(|s| s.report.clone()).collect()
    }

    /// Read file `i` on to its next event that passes.
    fn refill(&mut self, i: usize) {
        loop {
            let s = &mut self.sources[i];
            let record = match s.reader.next() {
                None => {
                    s.next = None;
                    return;
                }
                Some(Err(ReadError::Truncated { line, .. })) => {
                    log::warn!(
                        "{}: cut short after line {line}: the rest of the file is lost",
                        s.report.file.display()
                    );
                    s.report.truncated_after = Some(line);
                    s.next = None;
                    return;
                }
                Some(Err(e)) => {
                    log::warn!("{e}: skipped");
                    s.report.malformed += 1;
                    continue;
                }
                Some(Ok(r)) => r,
            };
            let event = match parse_event(&record.frame) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(why) => {
                    log::warn!("{}: line {}: {why}: skipped", s.report.file.display(), record.line);
                    s.report.malformed += 1;
                    continue;
                }
            };
            let Some(event) = self.judge(i, record.line, event) else {
                continue;
            };
            let s = &mut self.sources[i];
            s.last_ms = s.last_ms.max(event.exchange_ms);
            s.report.events += 1;
            s.next = Some(TapeItem {
                file: i,
                line: record.line,
                local_ns: record.local_ns,
                at_ms: s.last_ms,
                event,
            });
            return;
        }
    }

    /// A book frame of the followed topic that applies passes; a gap becomes a `Gap` event;
    /// frames out of order and of other depths are dropped. Other events pass.
    fn judge(&mut self, i: usize, line: u64, event: Event) -> Option<Event> {
        let s = &mut self.sources[i];
        let file = s.report.file.display().to_string();
        let Kind::Book(b) = &event.kind else {
            if let Kind::Gap { symbol, reason } = &event.kind {
                s.report.gaps += 1;
                log::warn!("{file}: line {line}: {symbol}: gap marked ({reason}): the book waits for a snapshot");
                s.books.remove(symbol);
            }
            return Some(event);
        };
        let followed = self.followed.entry(b.symbol.clone()).or_insert(b.depth);
        if b.depth < *followed {
            return None;
        }
        let switched = b.depth > *followed;
        if switched {
            *followed = b.depth;
            s.books.remove(&b.symbol);
        }
        let verdict = s.books.entry(b.symbol.clone()).or_default().check(b.snapshot, b.u, b.seq);
        let symbol = b.symbol.clone();
        match verdict {
            Continuity::Follows | Continuity::Snapshot => Some(event),
            Continuity::Unanchored if switched => Some(Event {
                exchange_ms: event.exchange_ms,
                kind: Kind::Gap {
                    symbol,
                    reason: "a deeper book topic begins".into(),
                },
            }),
            Continuity::Unanchored => None,
            Continuity::Stale { last, got } => {
                s.report.out_of_order += 1;
                log::warn!("{file}: line {line}: {symbol}: update {got} after {last}: out of order, dropped");
                None
            }
            Continuity::Gap { expected, got } => {
                s.report.gaps += 1;
                let reason = format!("updates {expected}..{} missing", got - 1);
                log::warn!("{file}: line {line}: {symbol}: {reason}: the book waits for the next snapshot");
                Some(Event {
                    exchange_ms: event.exchange_ms,
                    kind: Kind::Gap { symbol, reason },
                })
            }
        }
    }
}

impl Iterator for Tape {
    type Item = TapeItem;

    fn next(&mut self) -> Option<TapeItem> {
        let i = (0..self.sources.len())
            .filter(|i| self.sources[*i].next.is_some())
            .min_by_key(|i| (self.sources[*i].next.as_ref().map(|n| n.at_ms), *i))?;
        let item = self.sources[i].next.take();
        self.refill(i);
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
        let p = dir.join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        p
    }

    fn book(t: u64, kind: &str, u: u64, bid: &str) -> String {
        format!(
            r#"1 {{"topic":"orderbook.50.X","type":"{kind}","ts":{t},"data":{{"s":"X","b":[["{bid}","1"]],"a":[],"u":{u},"seq":{u}}},"cts":{t}}}"#
        )
    }

    #[test]
    fn two_files_merge_by_time_and_a_gap_a_bad_line_and_a_stale_frame_are_counted() {
        let d = std::env::temp_dir().join(format!("tape-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let a = write(
            &d,
            "a.txt",
            &[
                &book(100, "snapshot", 1, "10"),
                &book(300, "delta", 2, "11"),
                "garbage",
                &book(310, "delta", 2, "12"),
                &book(400, "delta", 5, "13"),
                &book(500, "delta", 6, "14"),
                &book(600, "snapshot", 9, "15"),
            ],
        );
        let b = write(
            &d,
            "b.txt",
            &[r#"7 {"topic":"publicTrade.Y","ts":250,"data":[{"T":200,"S":"Buy","v":"1","p":"5","i":"t"}]}"#],
        );
        let mut tape = Tape::open(&[&a, &b]).unwrap();
        let items: Vec<TapeItem> = tape.by_ref().collect();
        let times: Vec<u64> = items.iter().map(|i| i.at_ms).collect();
        assert_eq!(
            times,
            vec![100, 200, 300, 400, 600],
            "the delta after the gap (u 6) waits for the snapshot"
        );
        assert!(matches!(items[3].event.kind, Kind::Gap { .. }), "{:?}", items[3]);
        assert_eq!((items[1].file, items[1].line), (1, 1));
        let r = &tape.reports()[0];
        assert_eq!((r.malformed, r.gaps, r.out_of_order), (1, 1, 1));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_file_of_another_format_is_refused_naming_the_importer() {
        let d = std::env::temp_dir().join(format!("tape-other-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let other = write(&d, "capture.jsonl", &[r#"{"t":"recv","conn":"x","data":"{}"}"#, r#"{"t":"recv"}"#]);
        let e = Tape::open(&[&other]).err().expect("refused").to_string();
        assert!(
            e.contains("capture.jsonl") && e.contains("mmbot import --from bybit-archive|bybit-trades|cryptofeed"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
