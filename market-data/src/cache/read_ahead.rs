//! A tape read on a thread of its own, a batch ahead of the run that consumes it: parsing (or
//! reading the cache) overlaps the backtest's work on a second core. The items and their order
//! are the tape's exactly; only the time they take changes. Batches go back to the reader once
//! consumed, so their strings and lists are reused rather than allocated per event.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{empty_item, TapeStream};
use crate::tape::{FileReport, TapeItem};

/// Items per batch: a channel operation per this many events, not per event.
const BATCH: usize = 4096;
/// Batches in flight: the reader stays at most this far ahead.
const AHEAD: usize = 4;
/// How many items ahead of the consumer their data is asked for (`prefetch`): a few events'
/// work hides the fetch from the other core, and the lines stay in this core's cache until read.
const PREFETCH_LEAD: usize = 6;

pub struct ReadAhead {
    full: Receiver<Vec<TapeItem>>,
    empty: SyncSender<Vec<TapeItem>>,
    batch: Vec<TapeItem>,
    next: usize,
    /// `fraction_read` of the inner stream, as f64 bits, updated per batch.
    fraction: Arc<AtomicU64>,
    reader: Option<JoinHandle<Vec<FileReport>>>,
    /// The inner stream's file reports, once it ended.
    reports: Vec<FileReport>,
}

/// Fill batches from `inner` until it ends (its file reports) or the consumer goes away.
fn read(
    mut inner: Box<dyn TapeStream>,
    full: SyncSender<Vec<TapeItem>>,
    empty: Receiver<Vec<TapeItem>>,
    fraction: Arc<AtomicU64>,
) -> Vec<FileReport> {
    loop {
        let mut batch = empty.try_recv().unwrap_or_default();
        let mut n = 0;
        while n < BATCH {
            if n == batch.len() {
                batch.push(empty_item());
            }
            // A returned batch's items were last read on the consumer's core: the same misses
            // the other way, on the strings and lists about to be refilled.
            if let Some(ahead) = batch.get(n + PREFETCH_LEAD) {
                super::prefetch::item(ahead);
            }
            if !inner.next_into(&mut batch[n]) {
                break;
            }
            n += 1;
        }
        // Items past the end of this batch are kept for reuse by the next fill, not sent.
        let spare = batch.split_off(n);
        fraction.store(inner.fraction_read().to_bits(), Ordering::Relaxed);
        let end = n < BATCH;
        if n > 0 && full.send(batch).is_err() {
            return Vec::new();
        }
        drop(spare);
        if end {
            return inner.file_reports();
        }
    }
}

impl ReadAhead {
    pub fn new(inner: Box<dyn TapeStream>) -> Self {
        let (full_tx, full) = sync_channel(AHEAD);
        let (empty, empty_rx) = sync_channel(AHEAD + 2);
        let fraction = Arc::new(AtomicU64::new(0f64.to_bits()));
        let shared = fraction.clone();
        let reader = std::thread::Builder::new()
            .name("tape-read-ahead".into())
            .spawn(move || read(inner, full_tx, empty_rx, shared))
            .expect("a thread for reading the tape");
        Self {
            full,
            empty,
            batch: Vec::new(),
            next: 0,
            fraction,
            reader: Some(reader),
            reports: Vec::new(),
        }
    }
}

impl Iterator for ReadAhead {
    type Item = TapeItem;

    fn next(&mut self) -> Option<TapeItem> {
        super::next_item(self)
    }
}

impl TapeStream for ReadAhead {
    fn fraction_read(&self) -> f64 {
        f64::from_bits(self.fraction.load(Ordering::Relaxed))
    }

    fn file_reports(&self) -> Vec<FileReport> {
        self.reports.clone()
    }

    fn next_into(&mut self, item: &mut TapeItem) -> bool {
        if self.next == self.batch.len() {
            let done = std::mem::take(&mut self.batch);
            if !done.is_empty() {
                // The reader may be gone (the tape ended): the batch is then dropped here.
                let _ = self.empty.try_send(done);
            }
            match self.full.recv() {
                Ok(b) => self.batch = b,
                Err(_) => {
                    // The reader is done. If it died instead (a panic in a parser), the run must
                    // not go on as if the tape had ended there: its panic is the run's.
                    match self.reader.take().map(JoinHandle::join) {
                        Some(Err(panic)) => std::panic::resume_unwind(panic),
                        Some(Ok(reports)) => self.reports = reports,
                        None => {}
                    }
                    return false;
                }
            }
            self.next = 0;
        }
        // The caller's last item goes back into the batch, to be refilled by the reader.
        std::mem::swap(item, &mut self.batch[self.next]);
        self.next += 1;
        if let Some(ahead) = self.batch.get(self.next + PREFETCH_LEAD) {
            super::prefetch::item(ahead);
        }
        true
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Closing the channel makes a reader blocked on a full one stop; the join waits for a
        // cache being written to be put in place (or abandoned) before the run goes on.
        let (_, closed) = sync_channel(0);
        self.full = closed;
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Kind};

    struct Counting(u64, u64);

    impl Iterator for Counting {
        type Item = TapeItem;
        fn next(&mut self) -> Option<TapeItem> {
            (self.0 < self.1).then(|| {
                self.0 += 1;
                TapeItem {
                    file: 0,
                    line: self.0,
                    local_ns: 0,
                    at_ms: self.0,
                    event: Event {
                        exchange_ms: self.0,
                        kind: Kind::Gap {
                            symbol: format!("S{}", self.0 % 7),
                            reason: String::new(),
                        },
                    },
                }
            })
        }
    }

    impl TapeStream for Counting {
        fn fraction_read(&self) -> f64 {
            self.0 as f64 / self.1 as f64
        }

        fn file_reports(&self) -> Vec<FileReport> {
            Vec::new()
        }
    }

    #[test]
    fn every_item_arrives_once_and_in_order_across_batches() {
        for total in [0, 1, BATCH as u64 - 1, BATCH as u64, BATCH as u64 * 3 + 17] {
            let lines: Vec<u64> = ReadAhead::new(Box::new(Counting(0, total))).map(|i| i.line).collect();
            assert_eq!(lines, (1..=total).collect::<Vec<_>>(), "{total} items");
        }
        let mut r = ReadAhead::new(Box::new(Counting(0, 10)));
        let mut it = empty_item();
        while r.next_into(&mut it) {}
        assert_eq!(r.fraction_read(), 1.0);
    }

    /// Panics after `0` items.
    struct Breaking(u64);

    impl Iterator for Breaking {
        type Item = TapeItem;
        fn next(&mut self) -> Option<TapeItem> {
            assert!(self.0 > 0, "a parser's bug");
            self.0 -= 1;
            Some(empty_item())
        }
    }

    impl TapeStream for Breaking {
        fn fraction_read(&self) -> f64 {
            0.0
        }

        fn file_reports(&self) -> Vec<FileReport> {
            Vec::new()
        }
    }

    #[test]
    fn a_reader_that_panics_is_not_taken_for_the_tapes_end() {
        let run = std::panic::catch_unwind(|| ReadAhead::new(Box::new(Breaking(BATCH as u64 + 5))).count());
        assert!(run.is_err(), "the reader's panic reaches the consumer, not a short tape");
    }

    #[test]
    fn a_consumer_that_stops_early_does_not_leave_the_reader_blocked() {
        let mut r = ReadAhead::new(Box::new(Counting(0, BATCH as u64 * 50)));
        assert_eq!(r.next().map(|i| i.line), Some(1));
        drop(r); // joins the reader: the test would hang if it stayed blocked on a full channel
    }
}
