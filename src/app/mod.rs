//! Wiring: resolve the exchange (embedded simulator or configured URLs), check what must be
//! true before quoting (exchange reachable, symbols listed, credentials accepted), then start
//! the actors and hand the stop sequence to the Supervisor.

mod actors;
mod exchange;
mod lease;
mod view;

use actors::*;
use exchange::*;
use view::*;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rust_decimal::Decimal;

use actix::prelude::*;
use anyhow::{bail, Context as _};

use bybit_sim::SimHandle;
use mmbot_actors::account::watch::{AccountOutlets, AccountWatch};
use mmbot_actors::budget::rate_governor::Governor;
use mmbot_actors::exchange::rest_client::RestClient;
use mmbot_actors::exchange::rest_connector::RestConnector;
use mmbot_actors::exchange::secret::Secret;
use mmbot_actors::exchange::trade_link::TradeLink;
use mmbot_actors::exchange::ws_connector::{WsConnector, WsEndpoints, WsTargets};
use mmbot_actors::ha::fence::Fence;
use mmbot_actors::market::quoting::Filters;
use mmbot_actors::messages::status::{StatusPatch, StatusView};
use mmbot_actors::observe::monitor::Monitor;
use mmbot_actors::observe::web_server::{WebServer, WebServerSettings};
use mmbot_actors::order_manager::{CancelScope, UseExitPaths};
use mmbot_actors::orders::link_id::{new_run_id, LinkIds};
use mmbot_actors::shutdown::exit_positions::ExitPositions;
use mmbot_actors::shutdown::flatten::{DeadMan, Transports};
use mmbot_actors::shutdown::last_resort::LastResort;
use mmbot_actors::shutdown::panic_hook;
use mmbot_actors::shutdown::signal::{Signal, Signals};
use mmbot_actors::shutdown::supervisor::{Outlets, Supervisor};
use mmbot_actors::strategy::Strategy;

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

/// A control token: configured, or generated into the data directory (never logged).
fn control_token(c: &Config) -> anyhow::Result<Secret> {
    if !c.control.token.is_empty() {
        return Ok(Secret::new(c.control.token.clone()));
    }
    // 256 random bits, as `openssl rand -hex 32` would make.
    let token = hex::encode(rand::random::<[u8; 32]>());
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

/// Each symbol's configured order notional with its instrument's filters (the size check).
/// What the account checks measure against: this configuration's symbols, sizes and limits.
fn plan(c: &Config, filters: &std::collections::HashMap<String, Filters>, read_dcp: bool) -> crate::preflight::Plan {
    use crate::preflight::{DcpPlan, Plan, SymbolPlan};
    Plan {
        symbols: c
            .symbols
            .iter()
            .filter_map(|s| {
                Some(SymbolPlan {
                    symbol: s.clone(),
                    params: c.strategy.quote_params(s),
                    filters: filters.get(s)?.clone(),
                })
            })
            .collect(),
        max_position_notional: c.risk.max_position_notional,
        switch_to_one_way: c.account.position_mode == Some(crate::config::PositionMode::OneWay),
        below_minimum: c.strategy.below_minimum,
        dcp: read_dcp.then(|| DcpPlan {
            window_s: c.order_manager.dcp_window_s,
            scope_own: c.order_manager.cancel_scope == CancelScope::Own,
        }),
    }
}

/// The account checks before the first order: each row logged; a blocker fails the start.
/// The rows go to `/status.account`.
async fn preflight(client: &RestClient, plan: &crate::preflight::Plan) -> anyhow::Result<Vec<crate::preflight::Row>> {
    let rows = crate::preflight::run(client, plan).await;
    for r in &rows {
        match r.verdict {
            crate::preflight::Verdict::Ok => log::info!("preflight {}: {}", r.check, r.detail),
            crate::preflight::Verdict::Warn => log::warn!("preflight {}: {}", r.check, r.detail),
            crate::preflight::Verdict::Blocker => log::error!("preflight {}: {}", r.check, r.detail),
        }
    }
    let blockers = crate::preflight::blockers(&rows);
    if !blockers.is_empty() {
        bail!(
            "the account is not ready to quote ({}); `mmbot check-account` prints every check",
            blockers.iter().map(|r| r.detail.as_str()).collect::<Vec<_>>().join("; ")
        );
    }
    Ok(rows)
}

/// `mmbot check-account`: the preflight's table against the configured exchange, read-only
/// (the embedded simulator in paper mode). Blockers: exit 1.
pub async fn check_account(c: Config) -> anyhow::Result<bool> {
    let exchange = resolve_exchange(&c)?;
    let governor = Governor::new(c.exchange.rate_limits.clone());
    let metrics = metrics_for(&c);
    let client = connect(&c, &exchange, &governor, &metrics).await?;
    let filters = load_filters(&client, &c.symbols).await?;
    check_credentials(&client).await?;
    let rows = crate::preflight::run(&client, &plan(&c, &filters, true)).await;
    mmbot_actors::telemetry::console::out(format_args!("{}", crate::preflight::table(&rows).trim_end()));
    if let Some(sim) = exchange.sim {
        sim.stop();
    }
    Ok(crate::preflight::blockers(&rows).is_empty())
}

async fn start_with(c: Config) -> anyhow::Result<(Running, SignalSlot)> {
    let account =
        (c.mode == Mode::Live || !c.exchange.rest_url.is_empty()).then_some((c.exchange.rest_url.as_str(), c.exchange.api_key.as_str()));
    crate::data_dir::ensure_writable(&c.recorder.dir)?;
    // Under a lease two instances share the account by design (on one host or two): the lease
    // decides which quotes; the data directory stays one per process.
    let lock = instance_lock::acquire(&c.recorder.dir, account.filter(|_| c.ha.is_none()))?;
    // A standby sends nothing until it wins the lease; a single instance always may.
    let fence = if c.ha.is_some() { Fence::closed() } else { Fence::always_open() };
    let standby = c.ha.is_some();
    if c.mode != Mode::DryRun {
        crate::kill_switch::refuse_if_tripped(&c)?;
    }
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
    let (starting_equity, starting_available) = if dry_run { (None, None) } else { check_credentials(&client).await? };
    let account_checks = if dry_run {
        Vec::new()
    } else {
        // A standby changes nothing on the live account: the [account] changes are the active's,
        // made when it takes over.
        if !standby {
            crate::account_setup::apply(&client, &c.account, &c.symbols).await?;
        }
        preflight(&client, &plan(&c, &filters, false)).await?
    };
    let run_id = new_run_id();
    crate::logging::set_run_id(&run_id);
    let supervisor_ctx = Context::<Supervisor>::new();
    let supervisor = supervisor_ctx.address();
    let (recorder, recorder_file) = start_recorder(&c, &run_id, &metrics, supervisor.clone().recipient())?;

    // The control port before any order request: taken, the start fails before reconciling;
    // free, /healthz answers (and /readyz says "starting") through a long reconciliation.
    let view = Arc::new(RwLock::new(StatusView {
        run_id: run_id.clone(),
        recorder_file: recorder_file.clone(),
        previous_shutdown,
        starting_equity,
        starting_available,
        account: account_checks.iter().map(crate::preflight::Row::to_status).collect(),
        ..initial_view(&c, &filters)
    }));
    let token = control_token(&c)?;
    let web = WebServer::bind(
        &WebServerSettings {
            listen: c.control.listen,
            read_auth: c.control.read_auth,
            metrics_auth: c.control.metrics_auth,
        },
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
    let market_tape = start_market_tape(&c);
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
    let transports = Transports {
        rest: rest.clone().recipient(),
        governor: governor.clone(),
        trade_socket,
        order_entry,
        dead_man: None,
    };
    // A standby leaves the account to the active: it reconciles, arms DCP and reads the
    // positions when it takes over (lease.rs).
    if !dry_run && !standby {
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
    let dcp =
        !dry_run && !standby && startup::arm_dead_man_switch(&rest.clone().recipient(), c.order_manager.dcp_window_s, &recorder).await;
    if dcp {
        startup::confirm_dead_man_switch(
            rest.clone().recipient(),
            c.order_manager.dcp_window_s,
            c.order_manager.cancel_scope == CancelScope::Own,
            web.clone().recipient(),
        );
    }
    // The exchange's positions before the first quote: skew, limits and PnL start from them.
    let inherited = if dry_run || standby {
        BTreeMap::new()
    } else {
        startup::inherited_positions(&rest.clone().recipient(), &c.symbols).await?
    };
    // On the exchange's clock: executions are stamped in it, and this floor is compared with them.
    let run_started_ms = client.exchange_now_ms();

    let order_manager = start_order_manager(
        &c,
        &market,
        &run_id,
        &rest,
        &governor,
        &recorder,
        &web,
        &metrics,
        standby.then(|| fence.clone()),
    );
    let exit_positions = ExitPositions::new(
        rest.clone().recipient(),
        c.symbols.clone(),
        tick_sizes,
        c.shutdown.close_slippage_bps,
        LinkIds::new(&c.order_manager.link_prefix, &run_id),
        web.clone().recipient(),
        dry_run,
    )
    .closing(c.shutdown.close_positions)
    // A close sent at the stop may land up to the receive window later (plus clock error, as
    // for a create): under a lease it must land before the lease could lapse.
    .under_lease(fence.clone(), Duration::from_millis(c.exchange.recv_window_ms + 1000))
    .start();
    let strategy = Strategy::new(
        c.strategy.clone(),
        c.risk.clone(),
        filters,
        order_manager.clone().recipient(),
        web.clone().recipient(),
        supervisor.clone().recipient(),
        metrics.clone(),
    )
    .with_inherited(&inherited)
    .with_close_at_exit(exit_positions.clone().recipient());
    for symbol in &c.symbols {
        let size = inherited.get(symbol).map_or(Decimal::ZERO, |p| p.size);
        web.do_send(StatusPatch::Position {
            symbol: symbol.clone(),
            size,
        });
    }
    web.do_send(StatusPatch::Pnl(strategy.pnl().clone()));
    let strategy = Strategy::start_in_arbiter(&market, move |_| strategy);
    let account = AccountWatch::new(
        rest.clone().recipient(),
        c.symbols.clone(),
        (!dry_run).then(|| Duration::from_millis(c.order_manager.reconcile_interval_ms)),
        inherited.iter().map(|(s, p)| (s.clone(), p.size)).collect(),
        run_started_ms,
        LinkIds::new(&c.order_manager.link_prefix, &run_id),
        AccountOutlets {
            strategy_fills: strategy.clone().recipient(),
            strategy_position: strategy.clone().recipient(),
            orders_executions: order_manager.clone().recipient(),
            orders_positions: order_manager.clone().recipient(),
            status: web.clone().recipient(),
            metrics: metrics.clone(),
        },
    );
    let account = if standby { account.standby() } else { account }.start();
    let (dcp_tx, dcp_rx) = tokio::sync::watch::channel(dcp);
    let ws = WsConnector::new(
        c.ws.clone(),
        WsEndpoints {
            public_url: exchange.ws_public_url.clone(),
            private_url: exchange.ws_private_url.clone(),
            credentials: (!dry_run).then(|| (exchange.api_key.clone(), exchange.api_secret.clone())),
            dcp: dcp_rx,
            dcp_window: Duration::from_secs(c.order_manager.dcp_window_s.into()),
        },
        c.symbols.clone(),
        WsTargets {
            tape: market_tape.as_ref().map(|t| t.clone().recipient()),
            ..ws_targets(&strategy, &account, &order_manager, &web, &recorder, &supervisor, metrics.clone())
        },
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
    let elector = c.ha.as_ref().map(|settings| {
        lease::start_elector(
            lease::Candidate {
                settings,
                key: settings.key_for(&exchange.rest_url, &exchange.api_key),
                run_id: &run_id,
                control: control_addr,
            },
            fence.clone(),
            lease::TakeOverParts {
                transports: transports.clone(),
                symbols: c.symbols.clone(),
                ids: LinkIds::new(&c.order_manager.link_prefix, &run_id),
                settings: c.order_manager.clone(),
                budget: Duration::from_millis(c.shutdown.order_manager_ms),
                recorder: recorder.clone(),
                status: web.clone().recipient(),
                dcp: dcp_tx.clone(),
                order_manager: order_manager.clone(),
                strategy: strategy.clone().recipient(),
                account: account.clone().recipient(),
                ws: ws.clone(),
                client: client.clone(),
                account_settings: c.account.clone(),
            },
            supervisor.clone().recipient(),
            metrics.clone(),
        )
    });
    let actors = Actors {
        order_manager,
        exit_positions,
        strategy,
        ws,
        rest,
        web,
        recorder,
        supervisor,
        elector,
        market_tape,
    };
    Monitor::new(
        Duration::from_millis(c.monitor.interval_ms),
        actors.mailboxes(),
        actors.recorder.clone().recipient(),
        actors.web.clone().recipient(),
        metrics.clone(),
    )
    .start();
    let last_resort = (!dry_run).then(|| LastResort {
        rest: client.settings().clone(),
        governor: governor.clone(),
        metrics: Some(metrics.clone()),
        symbols: c.symbols.clone(),
        link_prefix: c.order_manager.link_prefix.clone(),
        by_id: c.order_manager.cancel_scope == CancelScope::Own,
        lease: standby.then(|| (run_id.clone(), fence.clone())),
    });
    let steps = actors.stop_steps(&c, last_resort);
    let outlets = Outlets {
        recorder: actors.recorder.clone().recipient(),
        flush: actors.recorder.clone().recipient(),
        web: actors.web.clone().recipient(),
        metrics,
    };
    let supervisor = Supervisor::new(steps, Duration::from_millis(c.shutdown.deadline_ms), outlets)
        .with_believed_open(actors.order_manager.clone().recipient())
        .with_report(Some(c.recorder.dir.clone()), crate::logging::json_logs());
    supervisor_ctx.run(match &actors.elector {
        Some(elector) => supervisor.with_kill_switch_outlet(elector.clone().recipient()),
        None => supervisor,
    });
    panic_hook::route_to(actors.supervisor.clone().recipient());
    let supervisor = actors.supervisor.clone();
    let signal_slot: SignalSlot = Box::new(move |signals| {
        Signal::new(supervisor.clone().recipient(), supervisor.recipient(), signals).start();
    });
    actors.web.do_send(StatusPatch::Started);
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
