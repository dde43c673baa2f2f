//! Wiring: resolve the exchange (embedded simulator or configured URLs), check what must be
//! true before quoting (exchange reachable, symbols listed, credentials accepted), then start
//! the actors and hand the stop sequence to the Supervisor.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use anyhow::{bail, Context as _};
use rust_decimal::Decimal;

use bybit_sim::SimHandle;
use bybit_v5::rest::{path, Instrument};
use mmbot_actors::busy_poll::busy_poll;
use mmbot_actors::events::Event;
use mmbot_actors::exit_positions::ExitPositions;
use mmbot_actors::flatten::{DeadMan, Transports};
use mmbot_actors::hot_path_rehearsal::HotPathRehearsal;
use mmbot_actors::last_shutdown::{self, PreviousShutdown};
use mmbot_actors::link_id::{new_run_id, LinkIds};
use mmbot_actors::messages::ping::Ping;
use mmbot_actors::messages::record::Record;
use mmbot_actors::metrics::{Metrics, SeriesKeys};
use mmbot_actors::monitor::Monitor;
use mmbot_actors::order_manager::{OrderManager, UseExitPaths};
use mmbot_actors::quoting::Filters;
use mmbot_actors::rate_governor::Governor;
use mmbot_actors::recorder::Recorder;
use mmbot_actors::rest_client::{RestClient, RestError, RestSettings};
use mmbot_actors::rest_connector::{OrderEntry, RestConnector};
use mmbot_actors::secret::Secret;
use mmbot_actors::signal::{Signal, Signals};
use mmbot_actors::status::{InstrumentView, LimitsView, StatusPatch, StatusView};
use mmbot_actors::strategy::Strategy;
use mmbot_actors::supervisor::{Outlets, ShutdownSettings, Step, Supervisor};
use mmbot_actors::trade_link::TradeLink;
use mmbot_actors::web_server::{WebServer, WebServerSettings};
use mmbot_actors::ws_connector::{OrderInbox, WsConnector, WsEndpoints, WsTargets};
use mmbot_actors::ws_trade_client::WsTradeSettings;

use crate::config::{Config, ConnectorThread, Mode};
use crate::instance_lock::{self, InstanceLock};
use crate::startup;

/// What must outlive the actor system: the embedded simulator, if any, and what the run
/// learned about the account's budgets.
pub struct Running {
    pub sim: Option<SimHandle>,
    pub governor: Governor,
    /// Where the learned budgets are kept: `(data dir, REST URL, API key)`; None for the
    /// embedded simulator (its address changes every run).
    pub learned_limits_at: Option<(std::path::PathBuf, String, String)>,
    /// Released when the process ends.
    pub _lock: InstanceLock,
}

struct Exchange {
    rest_url: String,
    ws_public_url: String,
    ws_private_url: String,
    ws_trade_url: String,
    api_key: String,
    api_secret: Secret,
    sim: Option<SimHandle>,
}

fn resolve_exchange(c: &Config) -> anyhow::Result<Exchange> {
    let e = &c.exchange;
    if c.mode != Mode::Live && e.rest_url.is_empty() {
        let key = format!("paper-{}", new_run_id());
        let secret = format!("{}{}", new_run_id(), new_run_id());
        // The embedded exchange lists exactly the configured symbols, from its instrument table.
        let mut sim = bybit_sim::SimConfig {
            accounts: vec![(key.clone(), secret.clone())],
            seed: c.paper.seed,
            ..Default::default()
        }
        .with_symbols(&c.symbols)
        .map_err(anyhow::Error::msg)?;
        sim.market.volatility_bps = c.paper.volatility_bps;
        sim.market.trade_probability = c.paper.trade_probability;
        sim.limits.orders_per_sec = c.paper.order_rate_limit;
        let handle = bybit_sim::spawn(sim).context("starting the embedded bybit-sim")?;
        log::info!("paper trading on the embedded bybit-sim at {}", handle.rest_url());
        return Ok(Exchange {
            rest_url: handle.rest_url(),
            ws_public_url: handle.ws_public_url(),
            ws_private_url: handle.ws_private_url(),
            ws_trade_url: handle.ws_trade_url(),
            api_key: key,
            api_secret: Secret::new(secret),
            sim: Some(handle),
        });
    }
    Ok(Exchange {
        rest_url: e.rest_url.trim_end_matches('/').to_string(),
        ws_public_url: e.ws_public_url.clone(),
        ws_private_url: e.ws_private_url.clone(),
        ws_trade_url: e.ws_trade_url.clone(),
        api_key: e.api_key.clone(),
        api_secret: Secret::new(e.api_secret.clone()),
        sim: None,
    })
}

async fn load_filters(client: &RestClient, symbols: &[String]) -> anyhow::Result<HashMap<String, Filters>> {
    let mut out = HashMap::new();
    for s in symbols {
        let a = client
            .public_get(path::INSTRUMENTS, &format!("category=linear&symbol={s}"))
            .await
            .with_context(|| format!("instruments-info for {s}"))?;
        let list: Vec<Instrument> = serde_json::from_value(a.result["list"].clone()).context("decoding instruments-info")?;
        let Some(i) = list.into_iter().find(|i| &i.symbol == s) else {
            bail!("symbol {s} is not listed as a linear contract on the exchange")
        };
        if i.status != "Trading" {
            bail!("symbol {s} is not trading (status {})", i.status);
        }
        out.insert(
            s.clone(),
            Filters {
                tick_size: i.price_filter.tick_size,
                qty_step: i.lot_size_filter.qty_step,
                min_qty: i.lot_size_filter.min_order_qty,
                max_qty: i.lot_size_filter.max_order_qty,
                min_notional: i.lot_size_filter.min_notional_value.unwrap_or(Decimal::ZERO),
            },
        );
    }
    Ok(out)
}

/// A control token: configured, or generated into the data directory (never logged).
fn control_token(c: &Config) -> anyhow::Result<Secret> {
    if !c.control.token.is_empty() {
        return Ok(Secret::new(c.control.token.clone()));
    }
    let token = format!("{}{}{}", new_run_id(), new_run_id(), new_run_id());
    std::fs::create_dir_all(&c.recorder.dir).with_context(|| format!("creating {}", c.recorder.dir.display()))?;
    let path = c.recorder.dir.join("control-token");
    std::fs::write(&path, &token).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    log::info!("control token generated into {} (POST /shutdown needs it)", path.display());
    Ok(Secret::new(token))
}

/// Start everything; a SIGINT/SIGTERM before the actors run aborts the start (nothing has been
/// quoted yet) instead of killing the process mid-way.
pub async fn start(c: Config) -> anyhow::Result<Running> {
    let mut signals = Signals::install().context("installing signal handlers")?;
    if crate::EARLY_STOP.get().is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst)) {
        log::warn!("stop signal received during startup: not starting; no order of this run has been placed");
        bail!("interrupted during startup; no order was placed");
    }
    let mut startup = std::pin::pin!(start_with(c));
    let early = tokio::select! {
        r = &mut startup => return r.map(|(running, sig_slot)| { sig_slot(signals); running }),
        name = signals.recv() => name,
    };
    log::warn!("{early} received during startup: aborting the start; no order of this run has been placed");
    bail!("interrupted by {early} during startup; no order was placed")
}

type SignalSlot = Box<dyn FnOnce(Signals)>;

/// The stop sequence's steps, in order (their series exist in /metrics from the start).
const STEP_NAMES: &[&str] = &[
    "order_manager",
    "positions",
    "strategy",
    "ws_connector",
    "rest_connector",
    "web_server",
    "recorder",
];

/// The endpoints whose latency the dashboards chart.
const OBSERVED_ENDPOINTS: &[&str] = &[
    path::ORDER_CREATE_BATCH,
    path::ORDER_AMEND_BATCH,
    path::ORDER_CANCEL_BATCH,
    path::ORDER_CANCEL_ALL,
    path::ORDER_REALTIME,
    path::POSITION_LIST,
];

fn unix_now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `[market_thread] busy_poll`: the market thread never parks (one core at 100 %).
fn busy_poll_if_configured(c: &Config, market: &ArbiterHandle, metrics: &Metrics) {
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

fn metrics_for(c: &Config) -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::default());
    metrics.init_series(&SeriesKeys {
        symbols: &c.symbols,
        endpoints: OBSERVED_ENDPOINTS,
        streams: &["public", "private", "trade"],
        steps: STEP_NAMES,
        actors: MAILBOXES,
    });
    metrics.set_process_constants(unix_now_seconds(), mmbot_actors::resources::max_fds());
    metrics
}

/// The credentials work (a private read answers); the account's equity, which the header's
/// PnL moves from.
async fn check_credentials(client: &RestClient) -> anyhow::Result<Option<Decimal>> {
    match client.get(path::WALLET_BALANCE, "accountType=UNIFIED").await {
        Ok(a) => Ok(a.result["list"][0]["totalEquity"].as_str().and_then(|e| e.parse::<Decimal>().ok())),
        Err(RestError::Exchange { code, msg }) if code.is_auth_failure() => {
            bail!("credentials rejected by the exchange: {msg} ({})", code.code())
        }
        Err(e) => Err(e).context("checking credentials (wallet-balance)"),
    }
}

/// What `/status` shows before anything has happened: the run's configuration.
fn initial_view(c: &Config, filters: &HashMap<String, Filters>) -> StatusView {
    StatusView {
        mode: c.mode.as_str().into(),
        symbols: c.symbols.clone(),
        started_ms: (unix_now_seconds() * 1000.0) as u64,
        instruments: filters
            .iter()
            .map(|(s, f)| {
                let v = InstrumentView {
                    tick_size: f.tick_size,
                    qty_step: f.qty_step,
                };
                (s.clone(), v)
            })
            .collect(),
        limits: LimitsView {
            max_drawdown: c.risk.max_drawdown,
            max_position_notional: c.risk.max_position_notional,
        },
        ..Default::default()
    }
}

/// The previous run's shutdown report, if kept: exported to /metrics and logged.
fn previous_shutdown(c: &Config, metrics: &Metrics) -> Option<PreviousShutdown> {
    let p = last_shutdown::load(&c.recorder.dir)?;
    p.export(metrics);
    log::info!(
        "previous run: shutdown {} ({}) took {} ms, exit code {}",
        p.shutdown_id,
        p.reason,
        p.total_ms,
        p.exit_code
    );
    Some(p)
}

/// A REST client whose clock agrees with the exchange's (the first request: it proves the
/// exchange reachable).
async fn connect(c: &Config, exchange: &Exchange, governor: &Governor, metrics: &Arc<Metrics>) -> anyhow::Result<RestClient> {
    let client = RestClient::new(
        RestSettings {
            base_url: exchange.rest_url.clone(),
            api_key: exchange.api_key.clone(),
            api_secret: exchange.api_secret.clone(),
            recv_window_ms: c.exchange.recv_window_ms,
            timeout: Duration::from_millis(c.exchange.request_timeout_ms),
        },
        governor.clone(),
        Some(metrics.clone()),
    );
    let offset = client
        .sync_time()
        .await
        .with_context(|| format!("exchange unreachable at {}", exchange.rest_url))?;
    log::info!("exchange clock offset {offset} ms");
    Ok(client)
}

/// The recorder on a thread of its own (its writes never hold up the market), with the run's
/// first event; and the file it writes.
fn start_recorder(c: &Config, run_id: &str, metrics: &Arc<Metrics>) -> anyhow::Result<(Addr<Recorder>, String)> {
    let recorder = Recorder::open(c.recorder.clone(), run_id, metrics.clone())
        .with_context(|| format!("opening the recorder in {}", c.recorder.dir.display()))?;
    let file = recorder.path().display().to_string();
    let recorder = Recorder::start_in_arbiter(&Arbiter::new().handle(), move |_| recorder);
    recorder.do_send(Record(Event::Started {
        run_id: run_id.to_string(),
        mode: c.mode.as_str().into(),
        symbols: c.symbols.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
    }));
    Ok((recorder, file))
}

/// The trade socket, when one is configured and orders are placed; and the transport order
/// requests take (REST without a socket).
fn order_entry_for(c: &Config, exchange: &Exchange, dry_run: bool) -> (Option<WsTradeSettings>, OrderEntry) {
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
fn start_order_manager(
    c: &Config,
    market: &ArbiterHandle,
    run_id: &str,
    rest: &Addr<RestConnector>,
    governor: &Governor,
    recorder: &Addr<Recorder>,
    web: &Addr<WebServer>,
    metrics: &Arc<Metrics>,
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
        OrderManager::new(
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
        )
    })
}

/// Where the streams' data goes: each message to the actor that handles it.
fn ws_targets(
    strategy: &Addr<Strategy>,
    order_manager: &Addr<OrderManager>,
    web: &Addr<WebServer>,
    recorder: &Addr<Recorder>,
    supervisor: &Addr<Supervisor>,
    metrics: Arc<Metrics>,
) -> WsTargets {
    WsTargets {
        book: strategy.clone().recipient(),
        position: strategy.clone().recipient(),
        fills: strategy.clone().recipient(),
        orders: OrderInbox {
            updates: order_manager.clone().recipient(),
            executions: order_manager.clone().recipient(),
            positions: order_manager.clone().recipient(),
            ready: order_manager.clone().recipient(),
            reconcile: order_manager.clone().recipient(),
        },
        status: web.clone().recipient(),
        recorder: recorder.clone().recipient(),
        shutdown: supervisor.clone().recipient(),
        metrics,
    }
}

/// The actors a run starts, for what is wired after all of them run: the Monitor's pings and
/// the Supervisor's stop sequence.
struct Actors {
    order_manager: Addr<OrderManager>,
    exit_positions: Addr<ExitPositions>,
    strategy: Addr<Strategy>,
    ws: Addr<WsConnector>,
    rest: Addr<RestConnector>,
    web: Addr<WebServer>,
    recorder: Addr<Recorder>,
    supervisor: Addr<Supervisor>,
}

/// The actors whose mailbox lag the Monitor samples (their series exist from the start).
const MAILBOXES: &[&str] = &[
    "order_manager",
    "strategy",
    "ws_connector",
    "rest_connector",
    "web_server",
    "recorder",
    "supervisor",
];

impl Actors {
    fn mailboxes(&self) -> Vec<(&'static str, Recipient<Ping>)> {
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
    fn stop_steps(&self, sd: &ShutdownSettings) -> Vec<Step> {
        let step = |name, recipient, ms| Step {
            name,
            recipient,
            timeout: Duration::from_millis(ms),
        };
        let steps = vec![
            step("order_manager", self.order_manager.clone().recipient(), sd.order_manager_ms),
            step("positions", self.exit_positions.clone().recipient(), sd.positions_ms),
            step("strategy", self.strategy.clone().recipient(), sd.strategy_ms),
            step("ws_connector", self.ws.clone().recipient(), sd.ws_connector_ms),
            step("rest_connector", self.rest.clone().recipient(), sd.rest_connector_ms),
            step("web_server", self.web.clone().recipient(), sd.web_server_ms),
            step("recorder", self.recorder.clone().recipient(), sd.recorder_ms),
        ];
        debug_assert_eq!(steps.iter().map(|s| s.name).collect::<Vec<_>>(), STEP_NAMES);
        steps
    }
}

async fn start_with(c: Config) -> anyhow::Result<(Running, SignalSlot)> {
    let account =
        (c.mode == Mode::Live || !c.exchange.rest_url.is_empty()).then_some((c.exchange.rest_url.as_str(), c.exchange.api_key.as_str()));
    crate::data_dir::ensure_writable(&c.recorder.dir)?;
    let lock = instance_lock::acquire(&c.recorder.dir, account)?;
    let exchange = resolve_exchange(&c)?;
    let dry_run = c.mode == Mode::DryRun;
    let metrics = metrics_for(&c);
    let previous_shutdown = previous_shutdown(&c, &metrics);
    let governor = Governor::new(c.exchange.rate_limits.clone());
    if exchange.sim.is_none() {
        for p in crate::learned_limits::problems(&c) {
            log::warn!("{p}: the bot uses the exchange's figure");
        }
    }
    let client = connect(&c, &exchange, &governor, &metrics).await?;
    let filters = load_filters(&client, &c.symbols).await?;
    let tick_sizes = filters.iter().map(|(s, f)| (s.clone(), f.tick_size)).collect();
    let starting_equity = if dry_run { None } else { check_credentials(&client).await? };
    let run_id = new_run_id();
    crate::logging::set_run_id(&run_id);
    let (recorder, recorder_file) = start_recorder(&c, &run_id, &metrics)?;

    // The control port before any order request: taken, the start fails before reconciling;
    // free, /healthz answers (and /readyz says "starting") through a long reconciliation.
    let view = Arc::new(RwLock::new(StatusView {
        run_id: run_id.clone(),
        recorder_file: recorder_file.clone(),
        previous_shutdown,
        starting_equity,
        ..initial_view(&c, &filters)
    }));
    let supervisor_ctx = Context::<Supervisor>::new();
    let supervisor = supervisor_ctx.address();
    let token = control_token(&c)?;
    let web = WebServer::bind(
        &WebServerSettings { listen: c.control.listen },
        view,
        metrics.clone(),
        token,
        supervisor.clone().recipient(),
    )
    .with_context(|| format!("binding the control server on {}", c.control.listen))?;
    let control_addr = web.addr;
    let web = web.start();
    let (trade_settings, order_entry) = order_entry_for(&c, &exchange, dry_run);
    let trade_socket = trade_settings.is_some();
    // Market data, quoting and order management share a thread of their own: a book update
    // never waits behind the control server or the recorder. The connector joins them unless
    // configured otherwise: an order request then reaches the socket without waking another
    // thread (a parked thread's wake-up cost the tick-to-wire path p50 ~200 µs, p99 ~1 ms here).
    let market = Arbiter::new().handle();
    busy_poll_if_configured(&c, &market, &metrics);
    let connector_thread = match c.exchange.connector_thread {
        ConnectorThread::Market => market.clone(),
        ConnectorThread::Main => Arbiter::current(),
    };
    let rest = {
        let (settings, offset, governor, metrics) = (
            client.settings().clone(),
            client.clock_offset_ms(),
            governor.clone(),
            metrics.clone(),
        );
        RestConnector::start_in_arbiter(&connector_thread, move |_| {
            let client = RestClient::new(settings, governor, Some(metrics.clone())).with_clock_offset_ms(offset);
            RestConnector::new(client, order_entry, trade_settings.map(|s| TradeLink::new(s, Some(metrics))))
        })
    };
    if !dry_run {
        let transports = Transports {
            rest: rest.clone().recipient(),
            governor: governor.clone(),
            trade_socket,
            order_entry,
            dead_man: None,
        };
        startup::reconcile_leftovers(
            &transports,
            &c.symbols,
            &LinkIds::new(&c.order_manager.link_prefix, &run_id),
            &c.order_manager,
            Duration::from_millis(c.shutdown.order_manager_ms),
            &recorder,
        )
        .await?;
    }
    let dcp = !dry_run && startup::arm_dead_man_switch(&rest.clone().recipient(), c.order_manager.dcp_window_s, &recorder).await;

    let order_manager = start_order_manager(&c, &market, &run_id, &rest, &governor, &recorder, &web, &metrics);
    let strategy = Strategy::new(
        c.strategy.clone(),
        c.risk.clone(),
        filters,
        order_manager.clone().recipient(),
        web.clone().recipient(),
        supervisor.clone().recipient(),
        metrics.clone(),
    );
    let strategy = Strategy::start_in_arbiter(&market, move |_| strategy);
    let ws = WsConnector::new(
        c.ws.clone(),
        WsEndpoints {
            public_url: exchange.ws_public_url.clone(),
            private_url: exchange.ws_private_url.clone(),
            credentials: (!dry_run).then(|| (exchange.api_key.clone(), exchange.api_secret.clone())),
            dcp,
        },
        c.symbols.clone(),
        ws_targets(&strategy, &order_manager, &web, &recorder, &supervisor, metrics.clone()),
    );
    let ws = WsConnector::start_in_arbiter(&market, move |_| ws);
    order_manager.do_send(UseExitPaths {
        trade_socket,
        order_entry,
        dead_man: dcp.then(|| DeadMan {
            window: Duration::from_secs(c.order_manager.dcp_window_s.into()),
            close: ws.clone().recipient(),
        }),
    });
    let exit_positions = ExitPositions::new(
        rest.clone().recipient(),
        c.symbols.clone(),
        tick_sizes,
        c.shutdown.close_positions.then_some(c.shutdown.close_slippage_bps),
        LinkIds::new(&c.order_manager.link_prefix, &run_id),
        web.clone().recipient(),
        dry_run,
    )
    .start();
    let actors = Actors {
        order_manager,
        exit_positions,
        strategy,
        ws,
        rest,
        web,
        recorder,
        supervisor,
    };
    Monitor::new(
        Duration::from_millis(c.monitor.interval_ms),
        actors.mailboxes(),
        actors.recorder.clone().recipient(),
        actors.web.clone().recipient(),
        metrics.clone(),
    )
    .start();
    let steps = actors.stop_steps(&c.shutdown);
    let outlets = Outlets {
        recorder: actors.recorder.clone().recipient(),
        flush: actors.recorder.clone().recipient(),
        web: actors.web.clone().recipient(),
        metrics,
    };
    supervisor_ctx.run(
        Supervisor::new(steps, Duration::from_millis(c.shutdown.deadline_ms), outlets)
            .with_believed_open(actors.order_manager.clone().recipient())
            .with_report(Some(c.recorder.dir.clone()), crate::logging::json_logs()),
    );
    let supervisor = actors.supervisor.clone();
    let signal_slot: SignalSlot = Box::new(move |signals| {
        Signal::new(supervisor.clone().recipient(), supervisor.recipient(), signals).start();
    });
    actors.web.do_send(StatusPatch::Ready(true));
    log::info!(
        "mmbot {} run {run_id}: mode {}, symbols {}, control http://{control_addr}, events {recorder_file}; Ctrl+C stops it cleanly",
        env!("CARGO_PKG_VERSION"),
        c.mode.as_str(),
        c.symbols.join(","),
    );
    let learned_limits_at = exchange
        .sim
        .is_none()
        .then(|| (c.recorder.dir.clone(), exchange.rest_url.clone(), exchange.api_key.clone()));
    Ok((
        Running {
            sim: exchange.sim,
            governor,
            learned_limits_at,
            _lock: lock,
        },
        signal_slot,
    ))
}
