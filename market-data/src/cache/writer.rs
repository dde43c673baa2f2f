//! Writing a cache as the tape is read: to a file of its own, renamed into place at the end.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::bytes::W;
use super::MAGIC;
use crate::event::{Aggressor, Kind};
use crate::tape::{FileReport, TapeItem};

pub(super) struct CacheWriter {
    w: W<BufWriter<File>>,
    tmp: PathBuf,
    items: u64,
}

impl CacheWriter {
    pub(super) fn create(path: &Path) -> io::Result<Self> {
        // Runs of a sweep write the same cache at once: each to its own file, renamed in place.
        let tmp = path.with_extension(format!("{}.{:?}.tmp", std::process::id(), std::thread::current().id()).replace(['(', ')'], ""));
        let mut w = W(BufWriter::with_capacity(1 << 20, File::create(&tmp)?));
        w.0.write_all(MAGIC)?;
        Ok(Self { w, tmp, items: 0 })
    }

    pub(super) fn item(&mut self, it: &TapeItem) -> io::Result<()> {
        self.items += 1;
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

    /// The end marker, what reading each file met, the item count and the magic again; the
    /// cache in place.
    pub(super) fn finish(mut self, path: &Path, reports: &[FileReport]) -> io::Result<()> {
        self.w.u8(0)?;
        self.w.u32(reports.len() as u32)?;
        for r in reports {
            self.w.str(&r.file.to_string_lossy())?;
            for n in [r.events, r.malformed, r.gaps, r.out_of_order] {
                self.w.u64(n)?;
            }
            // A file cut short after line n: n + 1; read whole: 0.
            self.w.u64(r.truncated_after.map_or(0, |n| n + 1))?;
        }
        self.w.u64(self.items)?;
        self.w.0.write_all(MAGIC)?;
        self.w.0.flush()?;
        drop(self.w);
        std::fs::rename(&self.tmp, path)
    }
}
