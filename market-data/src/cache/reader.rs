//! Reading a cache back, item by item; a cache cut short is not read at all.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::bytes::R;
use super::{TapeStream, MAGIC};
use crate::event::{Aggressor, BookFrame, Event, Kind, Trade};
use crate::reader::Counted;
use crate::tape::TapeItem;

/// The item count a whole cache ends with (then `file` is rewound); an error for one cut short.
fn whole_cache_items(file: &mut File, size: u64) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    if size < 8 + 1 + 8 + 8 {
        return Err(io::Error::other("a cache cut short"));
    }
    let mut end = [0u8; 17];
    file.seek(SeekFrom::End(-17))?;
    file.read_exact(&mut end)?;
    file.seek(SeekFrom::Start(0))?;
    if end[0] != 0 || &end[9..] != MAGIC {
        return Err(io::Error::other("a cache cut short, or another version's"));
    }
    Ok(u64::from_le_bytes(end[1..9].try_into().expect("8 bytes")))
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
        })
    }

    fn item(&mut self) -> io::Result<Option<TapeItem>> {
        let r = &mut self.r;
        if r.u8()? == 0 {
            if self.seen != self.items {
                return Err(io::Error::other(format!("{} items of {}", self.seen, self.items)));
            }
            return Ok(None);
        }
        self.seen += 1;
        let (file, line, local_ns, at_ms, exchange_ms) = (r.u32()? as usize, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let kind = match r.u8()? {
            0 => Kind::Book(BookFrame {
                symbol: r.str()?,
                depth: r.u32()?,
                snapshot: r.u8()? == 1,
                u: r.u64()?,
                seq: r.u64()?,
                bids: r.levels()?,
                asks: r.levels()?,
            }),
            1 => {
                let symbol = r.str()?;
                let n = r.u32()? as usize;
                let mut trades = Vec::with_capacity(n);
                for _ in 0..n {
                    trades.push(Trade {
                        time_ms: r.u64()?,
                        aggressor: if r.u8()? == 1 { Aggressor::Buy } else { Aggressor::Sell },
                        price: r.dec()?,
                        qty: r.dec()?,
                        id: r.str()?,
                    });
                }
                Kind::Trades { symbol, trades }
            }
            2 => {
                let symbol = r.str()?;
                let n = r.u32()? as usize;
                let fields = (0..n).map(|_| Ok((r.str()?, r.str()?))).collect::<io::Result<_>>()?;
                Kind::Ticker { symbol, fields }
            }
            3 => Kind::Gap {
                symbol: r.str()?,
                reason: r.str()?,
            },
            k => return Err(io::Error::other(format!("an unknown event kind {k}"))),
        };
        Ok(Some(TapeItem {
            file,
            line,
            local_ns,
            at_ms,
            event: Event { exchange_ms, kind },
        }))
    }
}

impl Iterator for CacheReader {
    type Item = TapeItem;

    fn next(&mut self) -> Option<TapeItem> {
        if self.done {
            return None;
        }
        match self.item() {
            Ok(Some(it)) => Some(it),
            Ok(None) => {
                self.done = true;
                None
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
                None
            }
        }
    }
}

impl TapeStream for CacheReader {
    fn fraction_read(&self) -> f64 {
        if self.size == 0 {
            1.0
        } else {
            self.read.load(std::sync::atomic::Ordering::Relaxed) as f64 / self.size as f64
        }
    }
}
