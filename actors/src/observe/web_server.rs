//! WebServer: the control and observability endpoints on 127.0.0.1 by default —
//! `/healthz`, `/readyz` (200 only while quoting: started, streams up, quotes resting, not every symbol
//! halted; 503 with the reason otherwise, from the moment shutdown starts too), `/status`, `/events` (the status
//! pushed as Server-Sent Events), `/history`, `/metrics` and `POST /shutdown` (bearer token; off
//! loopback the read endpoints too, see `control_auth`). Built with `disable_signals()`: signals belong to the
//! Signal actor, or actix-web would stop the whole system on its own.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use actix_web::dev::ServerHandle;
use actix_web::{guard, web, App, HttpRequest, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::exchange::secret::Secret;
use crate::messages::shutdown::{RequestShutdown, ShutdownSource, ShutdownTicket};
use crate::messages::status::{StatusPatch, StatusView};
use crate::messages::stop::{StepStatus, Stop, StopAck};
use crate::observe::control_auth::{AuthPolicy, Gate, ReadAuth, Refusal};
use crate::observe::history::History;
use crate::telemetry::metrics::Metrics;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebServerSettings {
    pub listen: SocketAddr,
    /// When the read endpoints need the token (off loopback, or always).
    pub read_auth: ReadAuth,
    /// `/metrics` needs the token too.
    pub metrics_auth: bool,
}

impl Default for WebServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            read_auth: ReadAuth::default(),
            metrics_auth: false,
        }
    }
}

struct Shared {
    view: Arc<RwLock<StatusView>>,
    history: Arc<RwLock<History>>,
    changes: tokio::sync::watch::Receiver<u64>,
    metrics: Arc<Metrics>,
    gate: Gate,
    supervisor: Recipient<RequestShutdown>,
}

pub struct WebServer {
    handle: Option<ServerHandle>,
    view: Arc<RwLock<StatusView>>,
    history: Arc<RwLock<History>>,
    /// Bumped on every patch; dropped when the server stops, which ends every `/events` stream
    /// after its final view.
    changes: Option<tokio::sync::watch::Sender<u64>>,
    pub addr: SocketAddr,
}

/// The answer to a request that may not pass (`needed`: this endpoint needs the token under
/// the server's policy); None lets it in.
fn denial(s: &Shared, req: &HttpRequest, needed: bool) -> Option<HttpResponse> {
    if !needed {
        return None;
    }
    s.gate.check(req).err().map(|r| refused(r, req.path() == "/"))
}

/// 401 (the dashboard's answer is the page that asks for the token) or 429 with Retry-After.
fn refused(r: Refusal, page: bool) -> HttpResponse {
    match r {
        Refusal::TooMany { retry_after } => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", retry_after.as_secs().max(1).to_string()))
            .json(json!({"error": "too many wrong tokens from this address; try again later"})),
        Refusal::Unauthorized if page => HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer"))
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'"))
            .body(LOGIN_HTML),
        Refusal::Unauthorized => HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer"))
            .json(json!({"error": "a valid bearer token is required"})),
    }
}

const DASHBOARD_HTML: &str = include_str!("dashboard/index.html");
const DASHBOARD_JS: &str = include_str!("dashboard/dashboard.js");
const LOGIN_HTML: &str = include_str!("dashboard/login.html");
const LOGIN_JS: &str = include_str!("dashboard/login.js");

/// The dashboard: plain HTML and one script over /status; nothing loaded from elsewhere.
async fn dashboard(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, s.gate.policy.reads) {
        return r;
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'"))
        .body(DASHBOARD_HTML)
}

async fn login_js() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(LOGIN_JS)
}

async fn dashboard_js() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(DASHBOARD_JS)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(s: web::Data<Shared>) -> HttpResponse {
    let v = s.view.read().unwrap_or_else(|e| e.into_inner());
    match v.readiness() {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready\n"),
        Err(why) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(format!("{why}\n")),
    }
}

async fn status(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, s.gate.policy.reads) {
        return r;
    }
    let v = s.view.read().unwrap_or_else(|e| e.into_inner()).clone();
    HttpResponse::Ok().json(v)
}

/// OpenMetrics for scrapers that ask for it (Prometheus), the text format for everyone else.
/// The status view pushed as Server-Sent Events (the dashboard's live feed).
async fn events(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, s.gate.policy.reads) {
        return r;
    }
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(crate::observe::status_stream::stream(s.view.clone(), s.changes.clone()))
}

/// The session's per-symbol samples for the dashboard's charts.
async fn history_json(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, s.gate.policy.reads) {
        return r;
    }
    let h = s.history.read().unwrap_or_else(|e| e.into_inner()).clone();
    HttpResponse::Ok().json(h)
}

/// HEAD /events: the stream's headers, without opening a stream that would never end.
async fn events_head(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, s.gate.policy.reads) {
        return r;
    }
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .finish()
}

async fn render_metrics(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, s.gate.policy.metrics) {
        return r;
    }
    let accept = req.headers().get("Accept").and_then(|v| v.to_str().ok());
    let (content_type, body) = s.metrics.render_for(accept);
    HttpResponse::Ok().content_type(content_type).body(body)
}

async fn shutdown(s: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = denial(&s, &req, true) {
        log::warn!("POST /shutdown refused: missing or wrong bearer token (from {:?})", req.peer_addr());
        return r;
    }
    match s
        .supervisor
        .send(RequestShutdown {
            source: ShutdownSource::Http,
        })
        .await
    {
        Ok(ShutdownTicket {
            shutdown_id,
            already_started,
        }) => HttpResponse::Accepted()
            .json(json!({"shutdown_id": shutdown_id, "status": if already_started { "already in progress" } else { "started" }})),
        Err(e) => HttpResponse::ServiceUnavailable().json(json!({"error": format!("supervisor unavailable: {e}")})),
    }
}

/// GET, and HEAD for monitors that only probe (actix sends HEAD's headers without the body).
fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

impl WebServer {
    /// Bind and start serving; fails at once if the address is taken.
    pub fn bind(
        settings: &WebServerSettings,
        view: Arc<RwLock<StatusView>>,
        metrics: Arc<Metrics>,
        token: Secret,
        supervisor: Recipient<RequestShutdown>,
    ) -> std::io::Result<Self> {
        let (changes, changes_rx) = tokio::sync::watch::channel(0u64);
        let history = Arc::new(RwLock::new(History::default()));
        let policy = AuthPolicy::new(settings.listen.ip(), settings.read_auth, settings.metrics_auth);
        let gate = Gate::new(token, policy, metrics.control_auth_failures.clone());
        let shared = web::Data::new(Shared {
            view: view.clone(),
            history: history.clone(),
            changes: changes_rx,
            metrics,
            gate,
            supervisor,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(web::PayloadConfig::new(16 * 1024))
                .route("/", get_or_head().to(dashboard))
                .route("/dashboard.js", get_or_head().to(dashboard_js))
                .route("/login.js", get_or_head().to(login_js))
                .route("/healthz", get_or_head().to(healthz))
                .route("/readyz", get_or_head().to(readyz))
                .route("/status", get_or_head().to(status))
                .route("/events", web::get().to(events))
                .route("/events", web::head().to(events_head))
                .route("/history", get_or_head().to(history_json))
                .route("/metrics", get_or_head().to(render_metrics))
                .route("/shutdown", web::post().to(shutdown))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(2)
        .client_request_timeout(Duration::from_secs(5))
        .bind(settings.listen)?;
        let addr = server.addrs().first().copied().unwrap_or(settings.listen);
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Ok(Self {
            handle: Some(handle),
            view,
            history,
            changes: Some(changes),
            addr,
        })
    }
}

impl Actor for WebServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(1), |act, _| {
            let view = act.view.read().unwrap_or_else(|e| e.into_inner());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            act.history.write().unwrap_or_else(|e| e.into_inner()).sample(&view, now);
        });
    }
}

crate::answers_ping!(WebServer);

impl Handler<StatusPatch> for WebServer {
    type Result = ();

    fn handle(&mut self, patch: StatusPatch, _: &mut Self::Context) {
        self.view.write().unwrap_or_else(|e| e.into_inner()).apply(patch);
        if let Some(c) = &self.changes {
            c.send_modify(|n| *n += 1);
        }
    }
}

impl Handler<Stop> for WebServer {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        let handle = self.handle.take();
        // Every live page gets the view as it stands (the supervisor's last word before this
        // step) and its stream ends, so the graceful stop below does not wait on it.
        self.changes.take();
        Box::pin(
            async move {
                let Some(h) = handle else {
                    return StopAck::ok("already stopped");
                };
                let budget = stop.deadline.saturating_duration_since(std::time::Instant::now());
                match tokio::time::timeout(budget, h.stop(true)).await {
                    Ok(()) => StopAck::ok("HTTP server stopped gracefully"),
                    Err(_) => StopAck::with_status(StepStatus::TimedOut, "HTTP server did not stop in time"),
                }
            }
            .into_actor(self)
            .map(|ack, _, ctx| {
                ctx.stop();
                ack
            }),
        )
    }
}
