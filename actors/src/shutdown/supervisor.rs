//! Supervisor: the stop sequence as data — a list of steps (name, recipient, timeout) walked in
//! order inside one overall deadline. Every way of stopping (signal, `POST /shutdown`, a fatal
//! error, a failed start) comes here as `RequestShutdown`; a second signal comes as `Force`.
//! Each step's outcome is logged as it completes, shown in `/status`, recorded, and summed up in
//! the report whose verdict is the process's exit code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::messages::events::Event;
use crate::messages::record::{Flush, Record};
use crate::messages::report::{exit_code, exit_code_for, ShutdownReport, StepReport};
use crate::messages::shutdown::{BelievedOpen, Force, RequestShutdown, ShutdownSource, ShutdownTicket};
use crate::messages::status::{RunningStep, ShutdownProgress, StatusPatch};
use crate::messages::stop::{OrdersOutcome, PositionsOutcome, StepStatus, Stop};
use crate::orders::link_id::new_run_id;
use crate::shutdown::last_resort::LastResort;
pub use crate::shutdown::settings::ShutdownSettings;
use crate::telemetry::console::{self, Stream};
use crate::telemetry::metrics::{labels, Metrics};

#[derive(Clone)]
pub struct Step {
    pub name: &'static str,
    pub recipient: Recipient<Stop>,
    pub timeout: Duration,
    /// What the Supervisor does itself when the step's actor is gone (the order step only).
    pub fallback: Option<LastResort>,
}

struct Started {
    id: String,
    reason: String,
    at: Instant,
    /// The sequence has run to its end: the verdict stands, a late signal changes nothing.
    finished: bool,
}

pub struct Supervisor {
    steps: Vec<Step>,
    deadline: Duration,
    recorder: Recipient<Record>,
    flush: Recipient<Flush>,
    web: Recipient<StatusPatch>,
    metrics: Arc<Metrics>,
    started: Option<Started>,
    /// Asked, on a forced exit, which orders may be live.
    believed_open: Option<Recipient<BelievedOpen>>,
    /// Where the report is kept for the next run (`last-shutdown.json`).
    report_dir: Option<PathBuf>,
    /// Print the summary as one JSON object (under JSON logs) rather than as text.
    json_summary: bool,
    /// Under a lease: who keeps a trip for the whole account.
    kill_switch_outlet: Option<Recipient<crate::messages::ha::KillSwitchTripped>>,
}

/// Where the sequence's messages go: the recorder, `/status` and the metrics.
#[derive(Clone)]
pub struct Outlets {
    pub recorder: Recipient<Record>,
    pub flush: Recipient<Flush>,
    pub web: Recipient<StatusPatch>,
    pub metrics: Arc<Metrics>,
}

impl Supervisor {
    pub fn new(steps: Vec<Step>, deadline: Duration, outlets: Outlets) -> Self {
        Self {
            steps,
            deadline,
            recorder: outlets.recorder,
            flush: outlets.flush,
            web: outlets.web,
            metrics: outlets.metrics,
            started: None,
            believed_open: None,
            report_dir: None,
            json_summary: false,
            kill_switch_outlet: None,
        }
    }

    /// A kill switch trip is told to `r` too (the lease's elector keeps it for the account).
    pub fn with_kill_switch_outlet(mut self, r: Recipient<crate::messages::ha::KillSwitchTripped>) -> Self {
        self.kill_switch_outlet = Some(r);
        self
    }

    /// Who knows the orders that may be live when a forced exit cannot wait for the exchange.
    pub fn with_believed_open(mut self, r: Recipient<BelievedOpen>) -> Self {
        self.believed_open = Some(r);
        self
    }

    /// Keep the report in `dir` for the next run; print the summary as JSON when `json`.
    pub fn with_report(mut self, dir: Option<PathBuf>, json: bool) -> Self {
        self.report_dir = dir;
        self.json_summary = json;
        self
    }

    /// Before any step runs: a trip must survive whatever happens to this shutdown.
    fn record_kill_switch(&self, why: &str, shutdown_id: &str) {
        if let Some(r) = &self.kill_switch_outlet {
            r.do_send(crate::messages::ha::KillSwitchTripped { reason: why.to_string() });
        }
        if let Some(dir) = &self.report_dir {
            crate::shutdown::kill_switch_record::record(dir, why, shutdown_id);
        }
    }

    fn outlets(&self) -> Outlets {
        Outlets {
            recorder: self.recorder.clone(),
            flush: self.flush.clone(),
            web: self.web.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

crate::answers_ping!(Supervisor);

/// One walk of the sequence: what has been reported so far, and where progress goes.
struct Walk {
    id: String,
    reason: String,
    during_startup: bool,
    /// A panic started it: the run did not end cleanly even when every step did.
    panicked: bool,
    started: Instant,
    deadline: Instant,
    out: Outlets,
    reports: Vec<StepReport>,
    orders: Option<OrdersOutcome>,
    positions: Option<PositionsOutcome>,
}

impl Walk {
    fn exit_code(&self) -> i32 {
        match exit_code_for(&self.reports, self.orders.as_ref(), self.during_startup) {
            exit_code::CLEAN if self.panicked => exit_code::LATER_STEP_FAILED,
            code => code,
        }
    }

    fn report(&self) -> ShutdownReport {
        ShutdownReport {
            shutdown_id: self.id.clone(),
            reason: self.reason.clone(),
            during_startup: self.during_startup,
            steps: self.reports.clone(),
            orders: self.orders.clone(),
            positions: self.positions.clone(),
            total_ms: self.started.elapsed().as_millis() as u64,
            exit_code: self.exit_code(),
        }
    }

    /// `/status` as the sequence stands: the finished steps, the one running, those to come.
    fn publish(&self, running: Option<RunningStep>, upcoming: &[Step], last_from_server: bool) {
        self.out.web.do_send(StatusPatch::Shutdown(Box::new(ShutdownProgress {
            shutdown_id: self.id.clone(),
            reason: self.reason.clone(),
            steps: self.reports.clone(),
            running,
            upcoming: upcoming.iter().map(|s| s.name.to_string()).collect(),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            deadline_ms: self.deadline.saturating_duration_since(self.started).as_millis() as u64,
            finished: false,
            last_from_server,
            // The web server and recorder steps are still to come: what the verdict is if they
            // succeed.
            exit_code: last_from_server.then(|| self.exit_code()),
            orders: self.orders.clone(),
            positions: self.positions.clone(),
        })));
    }

    async fn run_step(&mut self, step: &Step, budget: Duration) -> StepReport {
        let now = Instant::now();
        let timeout_ms = budget.as_millis() as u64;
        if budget.is_zero() {
            return StepReport {
                step: step.name.into(),
                status: StepStatus::TimedOut,
                elapsed_ms: 0,
                timeout_ms,
                detail: "skipped: the overall deadline has passed".into(),
            };
        }
        log::info!("shutdown step {}: stopping (timeout {} ms)", step.name, budget.as_millis());
        let outcome = step
            .recipient
            .send(Stop {
                deadline: now + budget,
                orders_flat: self.orders.as_ref().is_some_and(|o| o.verified_flat || o.skipped_dry_run),
            })
            .timeout(budget)
            .await;
        let (status, detail) = match outcome {
            Ok(ack) => {
                if let Some(o) = ack.orders {
                    self.orders = Some(o);
                }
                if let Some(p) = ack.positions {
                    self.positions = Some(p);
                }
                (ack.status, ack.detail)
            }
            Err(MailboxError::Timeout) => (
                StepStatus::TimedOut,
                format!("no answer within {} ms; abandoned", budget.as_millis()),
            ),
            Err(MailboxError::Closed) => match &step.fallback {
                Some(last_resort) => {
                    let ack = last_resort.flatten(&format!("the {} actor is gone", step.name), now + budget).await;
                    self.orders = ack.orders;
                    (ack.status, ack.detail)
                }
                None => (StepStatus::Failed, "actor already gone".into()),
            },
        };
        let elapsed_ms = now.elapsed().as_millis() as u64;
        StepReport {
            step: step.name.into(),
            status,
            elapsed_ms,
            timeout_ms,
            detail,
        }
    }
}

fn log_step(report: &StepReport) {
    if report.status == StepStatus::Ok {
        log::info!(step = report.step.as_str(), status = report.status.to_string().as_str(), elapsed_ms = report.elapsed_ms;
            "shutdown step {}: {} in {} ms — {}",
            report.step,
            report.status,
            report.elapsed_ms,
            report.detail
        );
    } else {
        log::error!(step = report.step.as_str(), status = report.status.to_string().as_str(), elapsed_ms = report.elapsed_ms;
            "shutdown step {}: {} after {} ms — {}",
            report.step,
            report.status,
            report.elapsed_ms,
            report.detail
        );
    }
}

/// Walk the steps; returns the report.
async fn walk(mut w: Walk, steps: Vec<Step>) -> ShutdownReport {
    for (i, step) in steps.iter().enumerate() {
        let now = Instant::now();
        let budget = step.timeout.min(w.deadline.saturating_duration_since(now));
        if step.name == "recorder" {
            // The report goes in before the recorder's own Stop: its mailbox is FIFO.
            w.out.recorder.do_send(Record(Event::ShutdownReport(w.report())));
        }
        // The step shows as it starts; before the web server goes, the page gets the verdict.
        let running = RunningStep {
            step: step.name.into(),
            timeout_ms: budget.as_millis() as u64,
            started_ms: w.started.elapsed().as_millis() as u64,
        };
        w.publish(Some(running), &steps[i + 1..], step.name == "web_server");
        let report = w.run_step(step, budget).await;
        log_step(&report);
        w.out
            .metrics
            .shutdown_step_seconds
            .get_or_create(&labels(&[("step", step.name)]))
            .set(report.elapsed_ms as f64 / 1000.0);
        if step.name != "recorder" {
            w.out.recorder.do_send(Record(Event::ShutdownStep(report.clone())));
        }
        w.reports.push(report);
        w.publish(None, &steps[i + 1..], false);
    }
    w.report()
}

impl Handler<RequestShutdown> for Supervisor {
    type Result = ShutdownTicket;

    fn handle(&mut self, msg: RequestShutdown, ctx: &mut Self::Context) -> ShutdownTicket {
        if let Some(s) = &self.started {
            let id = s.id.clone();
            // A trip during another shutdown (a lost lease's closes push the drawdown over the
            // limit) is still a trip: kept for the next start and the account, whatever else runs.
            if let ShutdownSource::KillSwitch(why) = &msg.source {
                log::error!(shutdown_id = id.as_str(); "{why} during shutdown {id}: the kill switch is kept");
                self.record_kill_switch(why, &id);
            } else {
                log::info!("shutdown {id} already in progress ({}); ignoring {}", s.reason, msg.source);
            }
            return ShutdownTicket {
                shutdown_id: id,
                already_started: true,
            };
        }
        let id = format!("sd-{}", new_run_id());
        let reason = msg.source.to_string();
        let at = Instant::now();
        // A fatal error is logged here, once, as the shutdown's reason.
        let level = match msg.source {
            ShutdownSource::Fatal(_)
            | ShutdownSource::StartupFailure(_)
            | ShutdownSource::Panic(_)
            | ShutdownSource::RecorderFailure(_)
            | ShutdownSource::KillSwitch(_) => log::Level::Error,
            _ => log::Level::Warn,
        };
        log::log!(level, shutdown_id = id.as_str(); "shutdown {id} started: {reason}; deadline {} ms", self.deadline.as_millis());
        if let ShutdownSource::KillSwitch(why) = &msg.source {
            self.record_kill_switch(why, &id);
        }
        let w = Walk {
            id: id.clone(),
            reason: reason.clone(),
            during_startup: matches!(msg.source, ShutdownSource::StartupFailure(_)),
            panicked: matches!(msg.source, ShutdownSource::Panic(_)),
            started: at,
            deadline: at + self.deadline,
            out: self.outlets(),
            reports: Vec::new(),
            orders: None,
            positions: None,
        };
        // Not ready from this moment; "shutdown started" reaches the disk at once.
        w.publish(None, &self.steps, false);
        self.recorder.do_send(Record(Event::ShutdownStarted {
            shutdown_id: id.clone(),
            reason,
        }));
        self.started = Some(Started {
            id: id.clone(),
            reason: w.reason.clone(),
            at,
            finished: false,
        });
        ctx.spawn(
            walk(w, self.steps.clone())
                .into_actor(self)
                .map(|report, act, _| act.conclude(report)),
        );
        ShutdownTicket {
            shutdown_id: id,
            already_started: false,
        }
    }
}

impl Supervisor {
    /// The sequence is over: keep the report for the next run (the recorder has it already),
    /// then print the summary, exit. The print cannot fail or block the exit (`console`).
    fn conclude(&mut self, report: ShutdownReport) {
        if let Some(dir) = &self.report_dir {
            if let Err(e) = crate::shutdown::last_shutdown::save(dir, &report) {
                log::warn!("could not keep the report in {}: {e}", dir.display());
            }
        }
        if self.json_summary {
            console::out(serde_json::json!({ "shutdown_report": &report }));
        } else {
            console::write(Stream::Stdout, report.summary());
        }
        log::info!(
            "shutdown {} finished in {} ms with exit code {}",
            report.shutdown_id,
            report.total_ms,
            report.exit_code
        );
        self.web.do_send(StatusPatch::Shutdown(Box::new(ShutdownProgress {
            shutdown_id: report.shutdown_id.clone(),
            reason: report.reason.clone(),
            steps: report.steps.clone(),
            elapsed_ms: report.total_ms,
            deadline_ms: self.deadline.as_millis() as u64,
            finished: true,
            exit_code: Some(report.exit_code),
            orders: report.orders.clone(),
            positions: report.positions.clone(),
            ..Default::default()
        })));
        if let Some(s) = self.started.as_mut() {
            s.finished = true;
        }
        System::current().stop_with_code(report.exit_code);
    }
}

impl Handler<Force> for Supervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Force, _: &mut Self::Context) -> Self::Result {
        if self.started.as_ref().is_some_and(|s| s.finished) {
            log::info!("second signal after the shutdown finished: exiting with its verdict");
            return Box::pin(async {}.into_actor(self));
        }
        let id = self.started.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let elapsed = self.started.as_ref().map(|s| s.at.elapsed().as_millis()).unwrap_or(0);
        log::error!("second signal: forcing exit of shutdown {id} after {elapsed} ms; the current step is abandoned and orders may remain (the exchange-side dead-man switch is the net)");
        let recorder = self.recorder.clone();
        let flush = self.flush.clone();
        let believed = self.believed_open.clone();
        let json = self.json_summary;
        Box::pin(
            async move {
                // A short question: the forced exit does not wait for a busy actor.
                let believed_open = match believed {
                    Some(r) => r.send(BelievedOpen).timeout(Duration::from_millis(300)).await.ok(),
                    None => None,
                };
                if json {
                    // Under JSON logs stdout stays machine-readable: one object, like the report.
                    let forced = serde_json::json!({"forced_exit": {
                        "shutdown_id": &id,
                        "exit_code": exit_code::FORCED,
                        "meaning": crate::messages::report::exit_meaning(exit_code::FORCED),
                        "believed_open": &believed_open,
                    }});
                    console::out(forced);
                } else {
                    console::out(believed_open_lines(believed_open.as_ref()));
                }
                recorder.do_send(Record(Event::ShutdownForced {
                    shutdown_id: id,
                    believed_open,
                }));
                match flush.send(Flush).timeout(Duration::from_secs(1)).await {
                    Ok(Ok(())) => log::info!("recorder flushed"),
                    Ok(Err(e)) => log::error!("recorder flush failed: {e}"),
                    Err(e) => log::error!("recorder did not flush in time: {e}"),
                }
                if !json {
                    console::out(format_args!(
                        "mmbot: forced exit (code {}): {}",
                        exit_code::FORCED,
                        crate::messages::report::exit_meaning(exit_code::FORCED)
                    ));
                }
                console::drain(Duration::from_millis(500));
                std::process::exit(exit_code::FORCED);
            }
            .into_actor(self),
        )
    }
}

/// What a forced exit prints about the orders that may be live.
fn believed_open_lines(believed: Option<&std::collections::BTreeMap<String, Vec<String>>>) -> String {
    match believed {
        None => "mmbot: forced exit: the order manager did not say which orders are open; ask the exchange".into(),
        Some(m) if m.is_empty() => "mmbot: forced exit: no order of the bot was believed open".into(),
        Some(m) => {
            let mut s = format!(
                "mmbot: forced exit: {} order(s) may be live on the exchange:",
                m.values().map(Vec::len).sum::<usize>()
            );
            for (symbol, ids) in m {
                s.push_str(&format!("\n  {symbol}: {}", ids.join(", ")));
            }
            s
        }
    }
}

#[cfg(test)]
#[path = "supervisor_tests.rs"]
mod tests;
