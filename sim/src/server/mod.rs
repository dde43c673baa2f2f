//! Starting and running the simulator: a thread of its own owns the HTTP server (so it can stop
//! listening and listen again to simulate refused connections), the market's clock and DCP.

pub mod state;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokio::sync::{broadcast, mpsc, oneshot};

use bybit_v5::ws::path as ws_path;

use crate::api::rest::rate_limit::{Budget, IpVerdict, RateLimiter, RateLimits};
use crate::api::{admin, rest, ws::private as ws_private, ws::public as ws_public, ws::trade as ws_trade};
use crate::exchange::{now_ms, Exchange, MarketParams};
use crate::faults::{Faults, Verdict};
use crate::market::instrument::{default_instruments, InstrumentSpec};
use crate::market::mirror;
use crate::market::source::{FeedLatency, MarketSource};
use crate::server::state::{now_us, AppState, Control, Shared, Stats};
use fill_model::QueueModel;

/// The `forbidden` fault's body: a CDN's refusal page (CloudFront's, as Bybit's edge sends).
const FORBIDDEN_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\
<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\
<H1>403 ERROR</H1><H2>The request could not be satisfied.</H2>\
The Amazon CloudFront distribution is configured to block access from your country.</BODY></HTML>";

/// How often a replay is caught up to its clock when nothing else looks at the exchange.
const REPLAY_PUMP: Duration = Duration::from_millis(2);

/// Request bodies above this are refused (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen: SocketAddr,
    /// `(api_key, api_secret)` of each account.
    pub accounts: Vec<(String, String)>,
    /// How accounts (by API key) differ from a fresh one: read-only key, hedge mode, no DCP, …
    pub account_options: std::collections::BTreeMap<String, crate::AccountOptions>,
    pub seed: u64,
    pub tick: Duration,
    pub market: MarketParams,
    pub instruments: Vec<InstrumentSpec>,
    pub limits: RateLimits,
    pub faults: Faults,
    /// How long after its answer a cancel-all's orders leave the book (Bybit: asynchronous).
    pub cancel_all_delay: Duration,
    pub balance: Decimal,
    pub workers: usize,
    /// Start listening only after this long (connections are refused meanwhile).
    pub refuse_at_start: Duration,
    /// Where the market comes from: the random walk, a recording, or a live public stream.
    pub source: MarketSource,
    /// How the accounts' orders advance in their queues on a real market.
    pub queue_model: QueueModel,
    pub feed_latency: FeedLatency,
    pub order_latency: Duration,
}

impl SimConfig {
    /// Trade these symbols of the instrument table (sim/instruments.toml) instead of the default four.
    pub fn with_symbols<S: AsRef<str>>(mut self, symbols: &[S]) -> Result<Self, String> {
        self.instruments = crate::market::instrument::select(symbols)?;
        Ok(self)
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            accounts: vec![("sim-key".into(), "sim-secret".into())],
            account_options: Default::default(),
            seed: 1,
            tick: Duration::from_millis(100),
            market: MarketParams::default(),
            instruments: default_instruments(),
            limits: RateLimits::default(),
            faults: Faults::default(),
            cancel_all_delay: Duration::from_millis(5),
            balance: dec!(100000),
            workers: 2,
            refuse_at_start: Duration::ZERO,
            source: MarketSource::Synthetic,
            queue_model: QueueModel::RiskAverse,
            feed_latency: FeedLatency::None,
            order_latency: Duration::ZERO,
        }
    }
}

/// A running simulator. Dropping it stops the simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ws_public_url(&self) -> String {
        format!("ws://{}{}", self.addr, ws_path::PUBLIC_LINEAR)
    }

    pub fn ws_private_url(&self) -> String {
        format!("ws://{}{}", self.addr, ws_path::PRIVATE)
    }

    pub fn ws_trade_url(&self) -> String {
        format!("ws://{}{}", self.addr, ws_path::TRADE)
    }

    /// Stop serving and wait for the simulator's thread to end.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn faults_and_stats(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path().to_string();
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    if path.starts_with("/v5/") && state.with_faults(|f| f.forbidden) {
        // What a CDN or WAF in front of the API answers a refused region: HTML, no retCode.
        return Ok(req.into_response(actix_web::HttpResponse::Forbidden().content_type("text/html").body(FORBIDDEN_PAGE)));
    }
    let is_ws = path == ws_path::PUBLIC_LINEAR || path == ws_path::PRIVATE || path == ws_path::TRADE;
    if !path.starts_with("/v5/") || is_ws {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    state.stats.lock().unwrap_or_else(|e| e.into_inner()).record(&path, now_us());
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        let verdict = state
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ip_request(&state.limits, ip, now_ms());
        if let IpVerdict::Banned { until_ms } = verdict {
            state.stats.lock().unwrap_or_else(|e| e.into_inner()).ip_banned += 1;
            log::warn!(
                "IP {ip} over {} requests per 5 s: 403 until {until_ms}",
                state.limits.ip_requests_per_5s
            );
            // Bybit answers an IP ban with HTTP 403 "access too frequent" (its exact body is not
            // documented); a client learns nothing else from it.
            return Ok(req.into_response(
                actix_web::HttpResponse::Forbidden()
                    .content_type("text/plain; charset=utf-8")
                    .body("access too frequent"),
            ));
        }
    }
    let faults = state.faults();
    let latency = faults.latency_for(&path);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match faults.verdict(&path) {
        Verdict::Proceed => next.call(req).await.map(|r| r.map_into_boxed_body()),
        Verdict::Hang => std::future::pending().await,
        Verdict::BadGateway => Ok(req.into_response(
            actix_web::HttpResponse::BadGateway()
                .content_type("text/html")
                .body("<html><body>502 Bad Gateway</body></html>"),
        )),
        Verdict::RateLimited => {
            let now = now_ms();
            let budget = Budget {
                limit: state.limits.limit_for(&path),
                remaining: 0,
                reset_ms: now + 1000,
            };
            Ok(req.into_response(rest::rate_limited(budget)))
        }
    }
}

fn start_server(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<ServerHandle> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES))
            .wrap(from_fn(faults_and_stats))
            .configure(rest::configure)
            .route(ws_path::PUBLIC_LINEAR, web::get().to(ws_public::handler))
            .route(ws_path::PRIVATE, web::get().to(ws_private::handler))
            .route(ws_path::TRADE, web::get().to(ws_trade::handler))
            .configure(crate::api::admin::account::configure)
            .configure(admin::configure)
            .default_service(web::to(rest::not_found))
    })
    .workers(workers.max(1))
    // Answers go out as they are ready, not behind the previous one's ACK (Nagle): pipelined
    // trade-socket answers would otherwise wait for a delayed ACK (40 ms on Linux).
    .tcp_nodelay(true)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok(handle)
}

/// Start the simulator on its own thread; returns once it listens (or, with
/// `refuse_at_start`, once its address is reserved).
pub fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(config.listen)?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name("bybit-sim".into()).spawn(move || {
        let system = actix_rt::System::new();
        system.block_on(run(config, listener, addr, stop_rx, ready_tx));
    })?;
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("simulator thread ended before it was ready"))??;
    Ok(SimHandle {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

async fn run(
    config: SimConfig,
    listener: TcpListener,
    addr: SocketAddr,
    mut stop_rx: oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    let mut config = config;
    if let MarketSource::Mirror { rest_url: Some(url), .. } = &config.source {
        match mirror::instruments(url, &config.instruments).await {
            Ok(specs) => config.instruments = specs,
            Err(e) => {
                let _ = ready.send(Err(std::io::Error::other(format!("mirror instruments from {url}: {e}"))));
                return;
            }
        }
    }
    let mut exchange = Exchange::new(
        config.instruments.clone(),
        config.accounts.clone(),
        config.market.clone(),
        config.seed,
        config.balance,
    );
    for (key, options) in &config.account_options {
        exchange.set_options(key, options.clone());
    }
    if let Err(e) = exchange.use_source(&config.source, config.queue_model, config.feed_latency) {
        let _ = ready.send(Err(std::io::Error::other(e)));
        return;
    }
    let state: AppState = Arc::new(Shared {
        exchange: Mutex::new(exchange),
        faults: RwLock::new(config.faults.clone()),
        limits: config.limits,
        cancel_all_delay: config.cancel_all_delay,
        limiter: Mutex::new(RateLimiter::default()),
        stats: Mutex::new(Stats::default()),
        ws_kill: broadcast::channel(4).0,
        control: control_tx,
        conn_ids: AtomicU64::new(1),
        paused: Default::default(),
        order_latency: config.order_latency,
    });
    let mut pending_listener = Some(listener);
    if !config.refuse_at_start.is_zero() {
        // Refuse by not listening at all: close the reserved socket, listen again later.
        pending_listener = None;
        let _ = ready.send(Ok(()));
        tokio::time::sleep(config.refuse_at_start).await;
    }
    let listener = match pending_listener {
        Some(l) => Ok(l),
        None => TcpListener::bind(addr),
    };
    let mut handle = match listener.and_then(|l| start_server(state.clone(), l, config.workers)) {
        Ok(h) => {
            let _ = ready.send(Ok(()));
            h
        }
        Err(e) => {
            log::error!("bybit-sim could not listen on {addr}: {e}");
            let _ = ready.send(Err(e));
            return;
        }
    };
    log::info!("bybit-sim listening on {addr}");
    let mut ticker = tokio::time::interval(config.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // A replay's events are applied when the clock reaches them; looking at the exchange does it.
    let mut replay_pump = tokio::time::interval(REPLAY_PUMP);
    replay_pump.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let replaying = matches!(config.source, MarketSource::Replay { .. });
    if let MarketSource::Mirror { ws_url, .. } = &config.source {
        let symbols = config.instruments.iter().map(|i| i.symbol.clone()).collect();
        actix_rt::spawn(mirror::run(state.clone(), ws_url.clone(), symbols));
    }
    loop {
        tokio::select! {
            _ = &mut stop_rx => break,
            _ = ticker.tick() => if !state.paused.load(std::sync::atomic::Ordering::Relaxed) { state.exchange().tick(now_ms()) },
            _ = replay_pump.tick(), if replaying => drop(state.exchange()),
            Some(cmd) = control_rx.recv() => match cmd {
                Control::Refuse(ms) => {
                    log::warn!("refusing connections for {ms} ms");
                    // Let the admin answer leave before the sockets close.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    handle.stop(false).await;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    match TcpListener::bind(addr).and_then(|l| start_server(state.clone(), l, config.workers)) {
                        Ok(h) => handle = h,
                        Err(e) => { log::error!("bybit-sim could not listen again on {addr}: {e}"); break; }
                    }
                    log::info!("listening again on {addr}");
                }
            },
        }
    }
    handle.stop(false).await;
}
