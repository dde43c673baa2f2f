//! A binary cache of a merged tape: the events of a list of recordings, parsed, judged and
//! merged once, written compactly so that the next run over the same files (a sweep, a second
//! backtest) reads them without gunzip or JSON. The cache is keyed by the files' paths, sizes
//! and modification times; any change, or a cache written by another version, is ignored and
//! rebuilt. A cache that cannot be written costs only the speed-up.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::event::{Aggressor, BookFrame, Event, Kind, Level, Trade};
use crate::reader::Counted;
use crate::tape::{Tape, TapeError, TapeItem};

const MAGIC: &[u8; 8] = b"MMBTAPE4";

/// Where the cache of `files` lives: beside the first file, named by a hash of the files' paths,
/// sizes and modification times.
pub fn cache_path(files: &[PathBuf]) -> io::Result<PathBuf> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        let m = std::fs::metadata(f)?;
        f.hash(&mut h);
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

/// A tape's events in order, and how far through it the reading is.
pub trait TapeStream: Iterator<Item = TapeItem> + Send {
    /// 0 to 1, by bytes read from disk.
    fn fraction_read(&self) -> f64;
}

impl TapeStream for Tape {
    fn fraction_read(&self) -> f64 {
        Tape::fraction_read(self)
    }
}

impl TapeStream for Tee {
    fn fraction_read(&self) -> f64 {
        self.tape.fraction_read()
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
                        if let Err(e) = w.finish(&self.path) {
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

struct W<T: Write>(T);

impl<T: Write> W<T> {
    fn u8(&mut self, v: u8) -> io::Result<()> {
        self.0.write_all(&[v])
    }
    fn u64(&mut self, v: u64) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    /// A price or size: its scale, then its mantissa (prices and sizes fit an i64).
    fn dec(&mut self, d: Decimal) -> io::Result<()> {
        let m = i64::try_from(d.mantissa()).map_err(|_| io::Error::other("a decimal too large for the cache"))?;
        self.u8(d.scale() as u8)?;
        self.0.write_all(&m.to_le_bytes())
    }
    fn str(&mut self, s: &str) -> io::Result<()> {
        self.u32(s.len() as u32)?;
        self.0.write_all(s.as_bytes())
    }
    fn levels(&mut self, l: &[Level]) -> io::Result<()> {
        self.u32(l.len() as u32)?;
        for (p, q) in l {
            self.dec(*p)?;
            self.dec(*q)?;
        }
        Ok(())
    }
}

struct CacheWriter {
    w: W<BufWriter<File>>,
    tmp: PathBuf,
}

impl CacheWriter {
    fn create(path: &Path) -> io::Result<Self> {
        // Runs of a sweep write the same cache at once: each to its own file, renamed in place.
        let tmp = path.with_extension(format!("{}.{:?}.tmp", std::process::id(), std::thread::current().id()).replace(['(', ')'], ""));
        let mut w = W(BufWriter::with_capacity(1 << 20, File::create(&tmp)?));
        w.0.write_all(MAGIC)?;
        Ok(Self { w, tmp })
    }

    fn item(&mut self, it: &TapeItem) -> io::Result<()> {
        let w = &mut self.w;
        w.u8(1)?;
        w.u32(it.file as u32)?;
        w.u64(it.line)?;
        w.u64(it.local_ns)?;
        w.u64(it.at_ms)?;
        w.u64(it.event.exchange_ms)?;
        match &it.event.kind {
            Kind::Book(b) => {
                w.u8(0)?;
                w.str(&b.symbol)?;
                w.u32(b.depth)?;
                w.u8(u8::from(b.snapshot))?;
                w.u64(b.u)?;
                w.u64(b.seq)?;
                w.levels(&b.bids)?;
                w.levels(&b.asks)?;
            }
            Kind::Trades { symbol, trades } => {
                w.u8(1)?;
                w.str(symbol)?;
                w.u32(trades.len() as u32)?;
                for t in trades {
                    w.u64(t.time_ms)?;
                    w.u8(u8::from(t.aggressor == Aggressor::Buy))?;
                    w.dec(t.price)?;
                    w.dec(t.qty)?;
                    w.str(&t.id)?;
                }
            }
            Kind::Ticker { symbol, fields } => {
                w.u8(2)?;
                w.str(symbol)?;
                w.u32(fields.len() as u32)?;
                for (k, v) in fields {
                    w.str(k)?;
                    w.str(v)?;
                }
            }
            Kind::Gap { symbol, reason } => {
                w.u8(3)?;
                w.str(symbol)?;
                w.str(reason)?;
            }
        }
        Ok(())
    }

    /// The end marker, and the cache in place.
    fn finish(mut self, path: &Path) -> io::Result<()> {
        self.w.u8(0)?;
        self.w.0.flush()?;
        drop(self.w);
        std::fs::rename(&self.tmp, path)
    }
}

struct R<T: Read>(T);

impl<T: Read> R<T> {
    fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.0.read_exact(&mut b)?;
        Ok(b)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.bytes::<1>()?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn dec(&mut self) -> io::Result<Decimal> {
        let scale = self.u8()? as u32;
        let m = i64::from_le_bytes(self.bytes()?);
        Decimal::try_from_i128_with_scale(i128::from(m), scale).map_err(io::Error::other)
    }
    fn str(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        let mut b = vec![0u8; n];
        self.0.read_exact(&mut b)?;
        String::from_utf8(b).map_err(io::Error::other)
    }
    fn levels(&mut self) -> io::Result<Vec<Level>> {
        let n = self.u32()? as usize;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.dec()?, self.dec()?));
        }
        Ok(out)
    }
}

/// A cache read back, item by item.
struct CacheReader {
    r: R<BufReader<Counted<File>>>,
    done: bool,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    size: u64,
}

impl CacheReader {
    fn open(path: &Path) -> io::Result<Self> {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        let mut r = R(BufReader::with_capacity(1 << 20, Counted::new(file, read.clone())));
        if &r.bytes::<8>()? != MAGIC {
            return Err(io::Error::other("another version's cache"));
        }
        Ok(Self {
            r,
            done: false,
            read,
            size,
        })
    }

    fn item(&mut self) -> io::Result<Option<TapeItem>> {
        let r = &mut self.r;
        if r.u8()? == 0 {
            return Ok(None);
        }
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
                // Written whole (renamed into place only at the end): unreadable means damaged.
                log::warn!("a tape cache cut short: {e}");
                self.done = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_tape_reads_back_the_same_events_and_a_changed_file_is_parsed_again() {
        let d = std::env::temp_dir().join(format!("tape-cache-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("rec.txt");
        std::fs::write(
            &f,
            concat!(
                "1 {\"topic\":\"orderbook.50.X\",\"type\":\"snapshot\",\"ts\":10,\"data\":{\"s\":\"X\",\"b\":[[\"1.5\",\"2\"]],\"a\":[[\"1.6\",\"3\"]],\"u\":1,\"seq\":1},\"cts\":9}\n",
                "2 {\"topic\":\"publicTrade.X\",\"ts\":11,\"data\":[{\"T\":11,\"S\":\"Sell\",\"v\":\"0.5\",\"p\":\"1.5\",\"i\":\"a\"}]}\n",
                "3 {\"topic\":\"tickers.X\",\"ts\":12,\"data\":{\"markPrice\":\"1.55\"}}\n",
            ),
        )
        .unwrap();
        let files = vec![f.clone()];
        let parsed = load(&files).unwrap();
        assert!(cache_path(&files).unwrap().exists(), "written for next time");
        assert_eq!(load(&files).unwrap(), parsed, "the same events from the cache");
        assert_eq!(parsed.len(), 3);
        std::fs::write(&f, "1 {\"topic\":\"tickers.X\",\"ts\":5,\"data\":{}}\n").unwrap();
        assert_eq!(load(&files).unwrap().len(), 1, "a changed file is parsed again");
    }
}
