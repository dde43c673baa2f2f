//! The process's stdout and stderr, written so that nothing written there can panic or block:
//! a closed pipe (`mmbot | tee` after Ctrl+C, a log shipper that died), a hung-up terminal (EIO)
//! or a reader that stopped reading must never keep the shutdown from ending. `println!` panics
//! on EPIPE, and a blocking write to a full pipe never returns.
//!
//! Each stream has a writer thread fed by a bounded queue: callers hand a line over and go on; a
//! full queue drops the line (counted); the first write error is logged once (and recorded when a
//! recorder is wired), every later write is discarded. [`drain`] waits, bounded, for what is
//! queued before the process exits.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Lines a stream may hold before new ones are dropped.
const QUEUE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

enum Item {
    Text(Vec<u8>),
    /// Answered once everything queued before it is written (or discarded).
    Drained(SyncSender<()>),
}

struct Writer {
    queue: SyncSender<Item>,
    failed: AtomicBool,
    dropped: AtomicU64,
}

/// Called once with the stream and the error of its first failed write.
type FailureNote = Box<dyn Fn(Stream, &std::io::Error) + Send + Sync>;

static STDOUT: OnceLock<Writer> = OnceLock::new();
static STDERR: OnceLock<Writer> = OnceLock::new();
static ON_FAILURE: Mutex<Option<FailureNote>> = Mutex::new(None);

fn writer(stream: Stream) -> &'static Writer {
    let cell = match stream {
        Stream::Stdout => &STDOUT,
        Stream::Stderr => &STDERR,
    };
    cell.get_or_init(|| {
        let (queue, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name(format!("console-{}", stream.name()))
            .spawn(move || write_loop(stream, rx))
            .expect("spawning a console writer thread");
        Writer {
            queue,
            failed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    })
}

fn write_loop(stream: Stream, rx: Receiver<Item>) {
    for item in rx {
        match item {
            Item::Drained(done) => {
                let _ = done.send(());
            }
            Item::Text(bytes) => {
                let w = writer(stream);
                if w.failed.load(Ordering::Relaxed) {
                    continue;
                }
                let result = match stream {
                    Stream::Stdout => std::io::stdout().lock().write_all(&bytes).and_then(|_| std::io::stdout().flush()),
                    Stream::Stderr => std::io::stderr().lock().write_all(&bytes),
                };
                if let Err(e) = result {
                    w.failed.store(true, Ordering::Relaxed);
                    note_failure(stream, &e);
                }
            }
        }
    }
}

fn note_failure(stream: Stream, e: &std::io::Error) {
    if stream == Stream::Stdout {
        // stderr may still work; if it does not, the log line is discarded the same way.
        log::warn!("{} cannot be written ({e}); further output to it is discarded", stream.name());
    }
    if let Some(note) = ON_FAILURE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        note(stream, e);
    }
}

/// Where the first failure of each stream is noted besides the log (the recorder).
pub fn on_failure(note: impl Fn(Stream, &std::io::Error) + Send + Sync + 'static) {
    *ON_FAILURE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(note));
}

/// Hand `text` to the stream; never blocks, never panics.
pub fn write(stream: Stream, text: impl Into<Vec<u8>>) {
    let w = writer(stream);
    if w.failed.load(Ordering::Relaxed) {
        return;
    }
    if let Err(TrySendError::Full(_)) = w.queue.try_send(Item::Text(text.into())) {
        w.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// A line to stdout.
pub fn out(line: impl std::fmt::Display) {
    write(Stream::Stdout, format!("{line}\n"));
}

/// A line to stderr.
pub fn err(line: impl std::fmt::Display) {
    write(Stream::Stderr, format!("{line}\n"));
}

/// Whether a write to the stream has failed.
pub fn failed(stream: Stream) -> bool {
    writer(stream).failed.load(Ordering::Relaxed)
}

/// Lines dropped because the stream's reader did not keep up.
pub fn dropped(stream: Stream) -> u64 {
    writer(stream).dropped.load(Ordering::Relaxed)
}

/// Wait until what is queued on both streams is written, at most `limit` in all. False when
/// something was still queued (a reader that does not read).
pub fn drain(limit: Duration) -> bool {
    let end = Instant::now() + limit;
    [Stream::Stdout, Stream::Stderr].into_iter().all(|stream| {
        let (tx, rx) = sync_channel(1);
        let queued = writer(stream).queue.try_send(Item::Drained(tx)).is_ok();
        queued && rx.recv_timeout(end.saturating_duration_since(Instant::now())).is_ok()
    })
}

/// A `Write` for the logger: each record goes to stderr through the queue.
pub struct StderrPipe;

impl Write for StderrPipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        write(Stream::Stderr, buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_handed_over_and_drained() {
        out("console test line");
        assert!(drain(Duration::from_secs(5)));
        assert!(!failed(Stream::Stdout));
    }
}
