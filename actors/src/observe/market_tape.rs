//! MarketTape: with `[recorder] market = true`, every public-stream frame the bot receives —
//! book, trades, tickers — written as received in the market-data format (`market-data`:
//! `{local_ts_ns} {raw_frame}` lines, gzip, a file per symbol per UTC day), so a paper or live
//! run can be replayed exactly as the bot saw it. Flushed every second; its stop step closes
//! every file whole. Runs on an arbiter of its own, like the Recorder: compressing never delays
//! the market thread.

use std::path::Path;
use std::time::Duration;

use actix::prelude::*;

use market_data::DailyFiles;

use crate::messages::record::TapeFrame;
use crate::messages::stop::{StepStatus, Stop, StopAck};

const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub struct MarketTape {
    files: Option<DailyFiles>,
    frames: u64,
    /// The first write failure, said once; the tape stops there (the run goes on).
    failed: Option<String>,
}

impl MarketTape {
    pub fn new(dir: &Path) -> Self {
        Self {
            files: Some(DailyFiles::new(dir)),
            frames: 0,
            failed: None,
        }
    }
}

impl Actor for MarketTape {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(FLUSH_EVERY, |act, _| {
            if let Some(Err(e)) = act.files.as_mut().map(DailyFiles::flush) {
                act.fail(e.to_string());
            }
        });
    }
}

impl MarketTape {
    fn fail(&mut self, why: String) {
        if self.failed.is_none() {
            log::error!("market tape: {why}; no more market data is written this run");
            self.failed = Some(why);
        }
    }
}

crate::answers_ping!(MarketTape);

impl Handler<TapeFrame> for MarketTape {
    type Result = ();

    fn handle(&mut self, f: TapeFrame, _: &mut Self::Context) {
        if self.failed.is_some() {
            return;
        }
        let Some(files) = self.files.as_mut() else { return };
        match files.write(&f.symbol, f.local_ns, &f.text) {
            Ok(()) => self.frames += 1,
            Err(e) => self.fail(format!("writing {}: {e}", f.symbol)),
        }
    }
}

impl Handler<Stop> for MarketTape {
    type Result = MessageResult<Stop>;

    /// Every frame sent before Stop is already written (the mailbox is FIFO): close the files.
    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        ctx.stop();
        let Some(files) = self.files.take() else {
            return MessageResult(StopAck::ok("closed already"));
        };
        MessageResult(match (files.finish(), &self.failed) {
            (Ok(written), None) => StopAck::ok(format!("{} market frames in {} file(s), closed whole", self.frames, written.len())),
            (Ok(_), Some(why)) => StopAck::with_status(StepStatus::Failed, format!("the market tape stopped early: {why}")),
            (Err(e), _) => StopAck::with_status(StepStatus::Failed, format!("closing the market tape: {e}")),
        })
    }
}
