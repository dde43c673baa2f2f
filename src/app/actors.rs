//! Starting the actors and wiring them: the Recorder, the OrderManager with its exit paths, the
//! WebSocket targets, the busy-polling market thread; the Monitor's pings and the Supervisor's stop
//! steps over every started actor.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;

use mmbot_actors::account::watch::AccountWatch;
use mmbot_actors::budget::rate_governor::Governor;
use mmbot_actors::exchange::rest_connector::{OrderEntry, RestConnector};
use mmbot_actors::exchange::ws_connector::{AccountInbox, OrderInbox, WsConnector, WsTargets};
use mmbot_actors::exchange::ws_trade_client::WsTradeSettings;
use mmbot_actors::ha::elector::Elector;
use mmbot_actors::market_thread::busy_poll::busy_poll;
use mmbot_actors::market_thread::hot_path_rehearsal::HotPathRehearsal;
use mmbot_actors::messages::events::Event;
use mmbot_actors::messages::ping::Ping;
use mmbot_actors::messages::record::Record;
use mmbot_actors::messages::shutdown::RequestShutdown;
use mmbot_actors::observe::market_tape::MarketTape;
use mmbot_actors::observe::recorder::Recorder;
use mmbot_actors::observe::web_server::WebServer;
use mmbot_actors::order_manager::OrderManager;
use mmbot_actors::shutdown::exit_positions::ExitPositions;
use mmbot_actors::shutdown::last_resort::LastResort;
use mmbot_actors::shutdown::supervisor::{Step, Supervisor};
use mmbot_actors::strategy::Strategy;
use mmbot_actors::telemetry::console;
use mmbot_actors::telemetry::metrics::Metrics;

use crate::config::{Config, Mode};

use super::*;

/// `[market_thread] busy_poll`: the market thread never parks (one core at 100 %).
pub(super) fn busy_poll_if_configured(c: &Config, market: &ArbiterHandle, metrics: &Metrics) {
    let settings = &c.market_thread;
    if !settings.busy_poll {
        return;
    }
    let every = settings.rehearse_every();
    match every {
        Some(e) => log::info!(
            "market thread busy-polls (one core at 100 %), rehearsing the hot path every {} µs",
            e.as_micros()
        ),
        None => log::info!("market thread busy-polls (one core at 100 %)"),
    }
    if let Some(warning) = crate::config::busy_poll_warning(c, crate::config::usable_cpus()) {
        log::warn!("{warning}");
    }
    let params = c.strategy.quote_params(c.symbols.first().map(String::as_str).unwrap_or_default());
    let rehearsals = metrics.hot_path_rehearsals.clone();
    market.spawn(async move {
        busy_poll(every, HotPathRehearsal::new(params), rehearsals).await;
    });
}

/// The recorder on a thread of its own (its writes never hold up the market), with the run's
/// first event; and the file it writes.
pub(super) fn start_recorder(
    c: &Config,
    run_id: &str,
    metrics: &Arc<Metrics>,
    supervisor: Recipient<RequestShutdown>,
) -> anyhow::Result<(Addr<Recorder>, String)> {
    let recorder = Recorder::open(c.recorder.clone(), run_id, metrics.clone())
        .with_context(|| format!("opening the recorder in {}", c.recorder.dir.display()))?
        .stopping_through(supervisor);
    let file = recorder.path().display().to_string();
    let recorder = Recorder::start_in_arbiter(&Arbiter::new().handle(), move |_| recorder);
    recorder.do_send(Record(Event::Started {
        run_id: run_id.to_string(),
        mode: c.mode.as_str().into(),
        symbols: c.symbols.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
    }));
    // The first failed write to stdout or stderr goes into the audit trail.
    let note = recorder.clone().recipient::<Record>();
    console::on_failure(move |stream, e| {
        note.do_send(Record(Event::Error {
            source: format!("console {}", stream.name()),
            message: format!("cannot write ({e}); further output to it is discarded"),
        }))
    });
    Ok((recorder, file))
}

/// The trade socket, when one is configured and orders are placed; and the transport order
/// requests take (REST without a socket).
pub(super) fn order_entry_for(c: &Config, exchange: &Exchange, dry_run: bool) -> (Option<WsTradeSettings>, OrderEntry) {
    let socket = !exchange.ws_trade_url.is_empty() && !dry_run;
    let order_entry = match c.exchange.order_entry {
        Some(o) if socket => o,
        _ => OrderEntry::default(),
    };
    log::info!(order_entry = order_entry.as_str(); "order requests go by {}", order_entry.as_str());
    let settings = socket.then(|| WsTradeSettings {
        url: exchange.ws_trade_url.clone(),
        api_key: exchange.api_key.clone(),
        api_secret: exchange.api_secret.clone(),
        recv_window_ms: c.exchange.recv_window_ms,
        timeout: Duration::from_millis(c.exchange.request_timeout_ms),
    });
    (settings, order_entry)
}

/// The OrderManager on the market thread.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_order_manager(
    c: &Config,
    market: &ArbiterHandle,
    run_id: &str,
    rest: &Addr<RestConnector>,
    governor: &Governor,
    recorder: &Addr<Recorder>,
    web: &Addr<WebServer>,
    metrics: &Arc<Metrics>,
    lease: Option<Fence>,
) -> Addr<OrderManager> {
    let (settings, symbols, run_id) = (c.order_manager.clone(), c.symbols.clone(), run_id.to_string());
    let dry_run = c.mode == Mode::DryRun;
    let create_window = Duration::from_millis(c.exchange.recv_window_ms + 1000);
    let (rest, governor, recorder, web, metrics) = (
        rest.clone().recipient(),
        governor.clone(),
        recorder.clone().recipient(),
        web.clone().recipient(),
        metrics.clone(),
    );
    OrderManager::start_in_arbiter(market, move |_| {
        let om = OrderManager::new(
            settings,
            symbols,
            dry_run,
            &run_id,
            create_window,
            rest,
            governor,
            recorder,
            web,
            metrics,
        );
        match lease {
            Some(fence) => om.under_lease(fence),
            None => om,
        }
    })
}

/// Where the streams' data goes: each message to the actor that handles it.
pub(super) fn ws_targets(
    strategy: &Addr<Strategy>,
    account: &Addr<AccountWatch>,
    order_manager: &Addr<OrderManager>,
    web: &Addr<WebServer>,
    recorder: &Addr<Recorder>,
    supervisor: &Addr<Supervisor>,
    metrics: Arc<Metrics>,
) -> WsTargets {
    WsTargets {
        book: strategy.clone().recipient(),
        account: AccountInbox {
            executions: account.clone().recipient(),
            positions: account.clone().recipient(),
            gap: account.clone().recipient(),
        },
        orders: OrderInbox {
            updates: order_manager.clone().recipient(),
            ready: order_manager.clone().recipient(),
            reconcile: order_manager.clone().recipient(),
        },
        status: web.clone().recipient(),
        recorder: recorder.clone().recipient(),
        shutdown: supervisor.clone().recipient(),
        metrics,
        tape: None,
    }
}

/// With `[recorder] market = true`: the market tape, on a thread of its own, writing under
/// `<recorder.dir>/market`.
pub(super) fn start_market_tape(c: &Config) -> Option<Addr<MarketTape>> {
    c.recorder.market.then(|| {
        let tape = MarketTape::new(&c.recorder.dir.join("market"));
        MarketTape::start_in_arbiter(&Arbiter::new().handle(), move |_| tape)
    })
}

/// The actors a run starts, for what is wired after all of them run: the Monitor's pings and
/// the Supervisor's stop sequence.
pub(super) struct Actors {
    pub(super) order_manager: Addr<OrderManager>,
    pub(super) exit_positions: Addr<ExitPositions>,
    pub(super) strategy: Addr<Strategy>,
    pub(super) ws: Addr<WsConnector>,
    pub(super) rest: Addr<RestConnector>,
    pub(super) web: Addr<WebServer>,
    pub(super) recorder: Addr<Recorder>,
    pub(super) supervisor: Addr<Supervisor>,
    /// With `[ha]`: the lease, released by its own step.
    pub(super) elector: Option<Addr<Elector>>,
    /// With `[recorder] market = true`: closed whole by its own step, before the Recorder's.
    pub(super) market_tape: Option<Addr<MarketTape>>,
}

/// The actors whose mailbox lag the Monitor samples (their series exist from the start).
pub(super) const MAILBOXES: &[&str] = &[
    "order_manager",
    "strategy",
    "ws_connector",
    "rest_connector",
    "web_server",
    "recorder",
    "supervisor",
];

impl Actors {
    pub(super) fn mailboxes(&self) -> Vec<(&'static str, Recipient<Ping>)> {
        let all: Vec<Recipient<Ping>> = vec![
            self.order_manager.clone().recipient(),
            self.strategy.clone().recipient(),
            self.ws.clone().recipient(),
            self.rest.clone().recipient(),
            self.web.clone().recipient(),
            self.recorder.clone().recipient(),
            self.supervisor.clone().recipient(),
        ];
        MAILBOXES.iter().copied().zip(all).collect()
    }

    /// The stop sequence, in order, each step with its timeout.
    /// `last_resort`: the order step's own cancels, for when the OrderManager is gone.
    pub(super) fn stop_steps(&self, c: &Config, last_resort: Option<LastResort>) -> Vec<Step> {
        let sd = &c.shutdown;
        let step = |name, recipient, ms| Step {
            name,
            recipient,
            timeout: Duration::from_millis(ms),
            fallback: None,
        };
        let mut steps = vec![
            Step {
                fallback: last_resort,
                ..step("order_manager", self.order_manager.clone().recipient(), sd.order_manager_ms)
            },
            step("positions", self.exit_positions.clone().recipient(), sd.positions_ms),
            step("strategy", self.strategy.clone().recipient(), sd.strategy_ms),
            step("ws_connector", self.ws.clone().recipient(), sd.ws_connector_ms),
            step("rest_connector", self.rest.clone().recipient(), sd.rest_connector_ms),
            step("web_server", self.web.clone().recipient(), sd.web_server_ms),
            step("recorder", self.recorder.clone().recipient(), sd.recorder_ms),
        ];
        if let Some(tape) = &self.market_tape {
            steps.insert(steps.len() - 1, step("market_tape", tape.clone().recipient(), sd.recorder_ms));
        }
        if let (Some(elector), Some(ha)) = (&self.elector, &c.ha) {
            // A put and a revoke at most: their requests' timeouts, and a margin.
            steps.insert(
                ha_lease_step_at(c),
                step("ha_lease", elector.clone().recipient(), 2 * ha.request_timeout_ms + 100),
            );
        }
        debug_assert_eq!(steps.iter().map(|s| s.name).collect::<Vec<_>>(), step_names(c));
        steps
    }
}

/// The stop sequence's steps, in order (their series exist in /metrics from the start). With
/// `[ha]` the lease is released once the orders are flat — before the positions step, which then
/// only reads, or after it when it closes them (the standby must not quote beside the closes).
pub(super) fn step_names(c: &Config) -> Vec<&'static str> {
    let mut steps = vec![
        "order_manager",
        "positions",
        "strategy",
        "ws_connector",
        "rest_connector",
        "web_server",
        "recorder",
    ];
    if c.recorder.market {
        steps.insert(steps.len() - 1, "market_tape");
    }
    if c.ha.is_some() {
        steps.insert(ha_lease_step_at(c), "ha_lease");
    }
    steps
}

pub(super) fn ha_lease_step_at(c: &Config) -> usize {
    if c.shutdown.close_positions {
        2
    } else {
        1
    }
}
