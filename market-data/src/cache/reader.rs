//! Reading a cache back, item by item; a cache cut short is not read at all.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::bytes::R;
use super::{TapeStream, MAGIC};
use crate::event::{Aggressor, BookFrame, Event, Kind, Trade};
use crate::reader::Counted;
use crate::tape::{FileReport, TapeItem};

/// The item count a whole cache ends with (then `file` is rewound); an error for one cut short.
/// (The end marker and the files' reports before the count are read when the items reach them.)
fn whole_cache_items(file: &mut File, size: u64) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    if size < 8 + 1 + 4 + 8 + 8 {
        return Err(io::Error::other("a cache cut short"));
    }
    let mut end = [0u8; 16];
    file.seek(SeekFrom::End(-16))?;
    file.read_exact(&mut end)?;
    file.seek(SeekFrom::Start(0))?;
    if &end[8..] != MAGIC {
        return Err(io::Error::other("a cache cut short, or another version's"));
    }
    Ok(u64::from_le_bytes(end[..8].try_into().expect("8 bytes")))
}

/// What reading each file met, as the parse that wrote the cache found it.
fn file_reports(r: &mut R<Counted<File>>) -> io::Result<Vec<FileReport>> {
    let n = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let file = PathBuf::from(r.str()?);
        let (events, malformed, gaps, out_of_order, cut) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        out.push(FileReport {
            file,
            events,
            malformed,
            gaps,
            out_of_order,
            truncated_after: cut.checked_sub(1),
        });
    }
    Ok(out)
}

/// A cache read back, item by item.
pub(super) struct CacheReader {
    r: R<Counted<File>>,
    done: bool,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    size: u64,
    /// The item count the end says, and the items read so far.
    items: u64,
    seen: u64,
    path: PathBuf,
    /// The files' reports, read at the end of the items.
    reports: Vec<FileReport>,
    /// Frames the items held before, per kind, kept for their allocations: an item takes one of
    /// its kind's and gives back what it held, so strings and lists are allocated only until
    /// there are enough of each kind in circulation (at most one per item slot).
    spare: Spares,
}

#[derive(Default)]
struct Spares {
    books: Vec<BookFrame>,
    trades: Vec<(String, Vec<Trade>)>,
    tickers: Vec<(String, Vec<(String, String)>)>,
}

impl CacheReader {
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut file = File::open(path)?;
        let size = file.metadata()?.len();
        let items = whole_cache_items(&mut file, size)?;
        let mut r = R::new(Counted::new(file, read.clone()));
        if &r.bytes::<8>()? != MAGIC {
            return Err(io::Error::other("another version's cache"));
        }
        Ok(Self {
            r,
            done: false,
            read,
            size,
            items,
            seen: 0,
            path: path.to_path_buf(),
            reports: Vec::new(),
            spare: Spares::default(),
        })
    }

    /// The next item into `it`, its strings and lists reused: false at the cache's end.
    fn item_into(&mut self, it: &mut TapeItem) -> io::Result<bool> {
        if self.r.u8()? == 0 {
            self.reports = file_reports(&mut self.r)?;
            if self.seen != self.items {
                return Err(io::Error::other(format!("{} items of {}", self.seen, self.items)));
            }
            return Ok(false);
        }
        self.seen += 1;
        let r = &mut self.r;
        let (file, line, local_ns, at_ms, exchange_ms) = (r.u32()? as usize, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        (it.file, it.line, it.local_ns, it.at_ms, it.event.exchange_ms) = (file, line, local_ns, at_ms, exchange_ms);
        // The item's last content goes back to the spares, and a spare of this kind is filled.
        match std::mem::replace(&mut it.event.kind, EMPTY) {
            Kind::Book(f) => self.spare.books.push(f),
            Kind::Trades { symbol, trades } => self.spare.trades.push((symbol, trades)),
            Kind::Ticker { symbol, fields } => self.spare.tickers.push((symbol, fields)),
            Kind::Gap { .. } => {}
        }
        let r = &mut self.r;
        it.event.kind = match r.u8()? {
            0 => {
                let mut f = self.spare.books.pop().unwrap_or_default();
                r.str_into(&mut f.symbol)?;
                f.depth = r.u32()?;
                f.snapshot = r.u8()? == 1;
                f.u = r.u64()?;
                f.seq = r.u64()?;
                r.levels_into(&mut f.bids)?;
                r.levels_into(&mut f.asks)?;
                Kind::Book(f)
            }
            1 => {
                let (mut symbol, mut trades) = self.spare.trades.pop().unwrap_or_default();
                r.str_into(&mut symbol)?;
                let n = r.u32()? as usize;
                trades.truncate(n);
                for i in 0..n {
                    let (time_ms, aggressor) = (r.u64()?, if r.u8()? == 1 { Aggressor::Buy } else { Aggressor::Sell });
                    let (price, qty) = (r.dec()?, r.dec()?);
                    if i == trades.len() {
                        trades.push(Trade {
                            time_ms,
                            aggressor,
                            price,
                            qty,
                            id: String::new(),
                        });
                    }
                    let t = &mut trades[i];
                    (t.time_ms, t.aggressor, t.price, t.qty) = (time_ms, aggressor, price, qty);
                    r.str_into(&mut t.id)?;
                }
                Kind::Trades { symbol, trades }
            }
            2 => {
                let (mut symbol, mut fields) = self.spare.tickers.pop().unwrap_or_default();
                r.str_into(&mut symbol)?;
                let n = r.u32()? as usize;
                fields.resize_with(n, Default::default);
                for (name, value) in &mut fields {
                    r.str_into(name)?;
                    r.str_into(value)?;
                }
                Kind::Ticker { symbol, fields }
            }
            3 => Kind::Gap {
                symbol: r.str()?,
                reason: r.str()?,
            },
            k => return Err(io::Error::other(format!("an unknown event kind {k}"))),
        };
        Ok(true)
    }

    /// The cache's end, or damage inside it: no more items.
    fn end(&mut self, read: io::Result<bool>) -> bool {
        match read {
            Ok(true) => true,
            Ok(false) => {
                self.done = true;
                false
            }
            Err(e) => {
                // Its end was checked at open: unreadable now means damaged inside. Said loudly,
                // and removed so that the next run parses the recordings again.
                log::error!(
                    "{}: a damaged tape cache ({e}): this run read only part of the recordings; the cache is removed",
                    self.path.display()
                );
                let _ = std::fs::remove_file(&self.path);
                self.done = true;
                false
            }
        }
    }
}

/// A placeholder kind that allocates nothing.
const EMPTY: Kind = Kind::Gap {
    symbol: String::new(),
    reason: String::new(),
};

/// An item to read into.
pub fn empty_item() -> TapeItem {
    TapeItem {
        file: 0,
        line: 0,
        local_ns: 0,
        at_ms: 0,
        event: Event {
            exchange_ms: 0,
            kind: EMPTY,
        },
    }
}

impl Iterator for CacheReader {
    type Item = TapeItem;

    fn next(&mut self) -> Option<TapeItem> {
        super::next_item(self)
    }
}

impl TapeStream for CacheReader {
    fn next_into(&mut self, item: &mut TapeItem) -> bool {
        if self.done {
            return false;
        }
        let read = self.item_into(item);
        self.end(read)
    }

    fn fraction_read(&self) -> f64 {
        if self.size == 0 {
            1.0
        } else {
            self.read.load(std::sync::atomic::Ordering::Relaxed) as f64 / self.size as f64
        }
    }

    fn file_reports(&self) -> Vec<FileReport> {
        self.reports.clone()
    }
}
