//! Monitor: samples the process's resources and each actor's mailbox lag (time for a `Ping` to be
//! answered: a backlog shows as lag) every interval, into `/metrics`, `/status` and the recorder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use serde::Serialize;

use crate::messages::events::Event;
use crate::messages::ping::Ping;
use crate::messages::record::Record;
use crate::messages::status::StatusPatch;
use crate::telemetry::metrics::{labels, Metrics};
use crate::telemetry::resources::{sample, ResourceReport};

#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorSettings {
    /// How often resources and mailbox lag are sampled (and recorded).
    pub interval_ms: u64,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self { interval_ms: 10_000 }
    }
}

pub struct Monitor {
    interval: Duration,
    actors: Vec<(&'static str, Recipient<Ping>)>,
    recorder: Recipient<Record>,
    web: Recipient<StatusPatch>,
    metrics: Arc<Metrics>,
}

impl Monitor {
    pub fn new(
        interval: Duration,
        actors: Vec<(&'static str, Recipient<Ping>)>,
        recorder: Recipient<Record>,
        web: Recipient<StatusPatch>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            interval,
            actors,
            recorder,
            web,
            metrics,
        }
    }

    fn sample(&mut self, ctx: &mut Context<Self>) {
        let actors = self.actors.clone();
        let fut = async move {
            let lags = join_all(actors.into_iter().map(|(name, r)| async move {
                let t = Instant::now();
                let ok = r.send(Ping).timeout(Duration::from_secs(1)).await.is_ok();
                // Microsecond resolution: more digits are noise.
                (name.to_string(), ok.then(|| (t.elapsed().as_secs_f64() * 1e6).round() / 1e3))
            }))
            .await;
            ResourceReport {
                usage: sample(),
                mailbox_lag_ms: lags,
            }
        };
        ctx.spawn(fut.into_actor(self).map(|report, act, _| {
            let m = &act.metrics;
            let u = &report.usage;
            m.rss_bytes.set(u.rss_bytes.unwrap_or(0) as i64);
            m.open_fds.set(u.open_fds.unwrap_or(0) as i64);
            m.threads.set(u.threads.unwrap_or(0) as i64);
            m.set_cpu_seconds(u.cpu_seconds.unwrap_or(0.0));
            for (name, lag) in &report.mailbox_lag_ms {
                m.mailbox_lag
                    .get_or_create(&labels(&[("actor", name)]))
                    .set(lag.map(|l| l / 1000.0).unwrap_or(f64::INFINITY));
            }
            act.web.do_send(StatusPatch::Resources(report.clone()));
            act.recorder.do_send(Record(Event::Resources(report)));
        }));
    }
}

impl Actor for Monitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.sample(ctx);
        ctx.run_interval(self.interval, |act, ctx| act.sample(ctx));
    }
}
