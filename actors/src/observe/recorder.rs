//! Recorder: the append-only JSON-lines event log. Every event gets a sequence number when it is
//! accepted; the buffer is flushed and fsynced periodically (so a SIGKILL loses at most one
//! interval) and at once for urgent events (shutdown started, errors, the report). Runs on an
//! arbiter of its own so that a busy main thread never delays the disk.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde::{Deserialize, Serialize};

use crate::messages::events::Event;
use crate::messages::record::{Flush, Record};
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::messages::stop::{StepStatus, Stop, StopAck};
use crate::telemetry::metrics::Metrics;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecorderSettings {
    /// Directory of the event files.
    pub dir: PathBuf,
    /// Flush and fsync at least this often while events arrive.
    pub flush_interval_ms: u64,
    /// File name inside `dir`; `{run_id}` is replaced by the run id.
    pub file_name: String,
    /// What a write that fails (a full disk, an I/O error) does to the run.
    pub on_write_failure: OnWriteFailure,
    /// Also write the public streams as received (book, trades, tickers) in the market-data
    /// format, under `<dir>/market/<SYMBOL>/`: the run can be replayed as the bot saw it.
    pub market: bool,
}

/// `recorder.on_write_failure`: trade on without an audit trail, or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnWriteFailure {
    /// Keep quoting; the failure is loud and the exit code 3.
    Continue,
    /// Begin the graceful shutdown: orders cancelled and verified, exit 3.
    Stop,
}

impl Default for RecorderSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data"),
            flush_interval_ms: 200,
            file_name: "events-{run_id}.jsonl".into(),
            on_write_failure: OnWriteFailure::Stop,
            market: false,
        }
    }
}

pub struct Recorder {
    settings: RecorderSettings,
    path: PathBuf,
    out: Option<BufWriter<File>>,
    seq: u64,
    dirty: bool,
    failed: Option<String>,
    metrics: Arc<Metrics>,
    /// Reused buffer for one encoded line.
    line: Vec<u8>,
    /// Asked for the shutdown on the first failure, under `on_write_failure = "stop"`.
    supervisor: Option<Recipient<RequestShutdown>>,
}

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    ts_ms: u64,
    #[serde(flatten)]
    event: &'a Event,
}

/// Write one event as a JSON line: `{"seq", "ts_ms", "kind", ...}` and a newline.
pub fn append_line(out: &mut impl Write, seq: u64, ts_ms: u64, event: &Event) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &Line { seq, ts_ms, event })?;
    out.write_all(b"\n")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Recorder {
    /// Open (create or append) `events-{run_id}.jsonl` in the configured directory.
    pub fn open(settings: RecorderSettings, run_id: &str, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        std::fs::create_dir_all(&settings.dir)?;
        let path = settings.dir.join(settings.file_name.replace("{run_id}", run_id));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            settings,
            path,
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            seq: 0,
            dirty: false,
            failed: None,
            metrics,
            line: Vec::with_capacity(512),
            supervisor: None,
        })
    }

    /// Who starts the shutdown when a write fails under `on_write_failure = "stop"`.
    pub fn stopping_through(mut self, supervisor: Recipient<RequestShutdown>) -> Self {
        self.supervisor = Some(supervisor);
        self
    }

    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    fn write(&mut self, event: &Event) {
        let Some(out) = self.out.as_mut() else {
            log::error!("recorder is closed: event {} not recorded", event.kind());
            return;
        };
        self.seq += 1;
        self.line.clear();
        let result = append_line(&mut self.line, self.seq, now_ms(), event).and_then(|_| out.write_all(&self.line));
        match result {
            Ok(()) => {
                self.dirty = true;
                self.metrics.recorder_events.inc();
                self.metrics.recorder_bytes.inc_by(self.line.len() as u64);
                log::debug!(target: "mmbot::recorded", "recorded #{} {}", self.seq, event.kind());
            }
            Err(e) => self.fail(format!("writing {}: {e}", self.path.display())),
        }
    }

    fn fail(&mut self, msg: String) {
        self.metrics.recorder_write_errors.inc();
        if self.failed.is_none() {
            match (self.settings.on_write_failure, &self.supervisor) {
                (OnWriteFailure::Stop, Some(supervisor)) => {
                    log::error!("RECORDER FAILURE: {msg}; events may be lost; stopping (recorder.on_write_failure = \"stop\"): the orders are cancelled and verified");
                    supervisor.do_send(RequestShutdown {
                        source: ShutdownSource::RecorderFailure(msg.clone()),
                    });
                }
                _ => log::error!("RECORDER FAILURE: {msg}; events may be lost, the bot keeps running and will still cancel its orders"),
            }
        }
        self.failed = Some(msg);
    }

    fn flush(&mut self) -> Result<(), String> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        let r = out.flush().and_then(|_| out.get_ref().sync_data());
        match r {
            Ok(()) => {
                self.dirty = false;
                Ok(())
            }
            Err(e) => {
                let msg = format!("flushing {}: {e}", self.path.display());
                self.fail(msg.clone());
                Err(msg)
            }
        }
    }
}

impl Actor for Recorder {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(self.settings.flush_interval_ms.max(1)), |act, _| {
            let _ = act.flush();
        });
    }
}

crate::answers_ping!(Recorder);

impl Handler<Record> for Recorder {
    type Result = ();

    fn handle(&mut self, msg: Record, _: &mut Self::Context) {
        self.write(&msg.0);
        if msg.0.is_urgent() {
            let _ = self.flush();
        }
    }
}

impl Handler<Flush> for Recorder {
    type Result = Result<(), String>;

    fn handle(&mut self, _: Flush, _: &mut Self::Context) -> Self::Result {
        self.flush()
    }
}

impl Handler<Stop> for Recorder {
    type Result = MessageResult<Stop>;

    /// Everything sent before Stop is already written (the mailbox is FIFO); flush, fsync, close.
    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        let flushed = self.flush();
        self.out = None;
        ctx.stop();
        let detail = format!("{} events in {}", self.seq, self.path.display());
        MessageResult(match (flushed, &self.failed) {
            (Ok(()), None) => StopAck::ok(detail),
            (Err(e), _) => StopAck::with_status(StepStatus::Failed, format!("{detail}; write failure: {e}")),
            (Ok(()), Some(e)) => StopAck::with_status(StepStatus::Failed, format!("{detail}; earlier write failure: {e}")),
        })
    }
}
