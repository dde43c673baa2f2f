//! RestConnector: the one way to the exchange's API for requests and answers — REST, and the
//! order-entry WebSocket (`/v5/trade`) for order requests when it is the configured transport
//! (REST is the fallback while the socket is down). Signed requests with timeouts; refuses work
//! once stopped and lets requests already in flight finish.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix::prelude::*;

use bybit_v5::rest::{path, trade_op};
use serde::{Deserialize, Serialize};

use crate::exchange::in_flight::InFlight;
use crate::exchange::rest_client::{Admission, Answer, RestClient, RestError};
use crate::exchange::trade_link::TradeLink;
use crate::messages::stop::{StepStatus, Stop, StopAck};

/// Which transport carries order requests (creates, amends, cancels; not cancel-all, which the
/// trade socket does not offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderEntry {
    /// Signed HTTP requests. The default: bench/order_entry.sh measures it as fast as the
    /// socket or slightly faster at equal latency (docs/benchmarks.md).
    #[default]
    Rest,
    /// Bybit's `/v5/trade` socket: one kept-alive connection, no HTTP per request.
    Websocket,
}

impl OrderEntry {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderEntry::Rest => "rest",
            OrderEntry::Websocket => "websocket",
        }
    }
}

/// Which way one call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// Order requests by the configured transport (REST while the socket is down); the rest by REST.
    #[default]
    Primary,
    /// By REST whatever the configured transport: the other way, when the primary one fails.
    Rest,
    /// By the trade socket, connecting it first if needed.
    TradeSocket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    PublicGet,
    Get,
    Post,
}

/// One REST call. `payload` is the query string (GET) or the JSON body (POST), sent and signed as is.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Answer, RestError>")]
pub struct Call {
    pub method: Method,
    pub endpoint: &'static str,
    pub payload: String,
    /// Budget units the call spends: one per order for a batch, one otherwise.
    pub units: u32,
    /// When the caller spent the budget for this call (it planned with the governor).
    pub admitted: Option<std::time::Instant>,
    /// Never repeated here, even if it could be: the caller decides what follows a failure.
    pub once: bool,
    pub route: Route,
    /// When the book update behind this order request was received (for tick-to-wire latency).
    pub tick: Option<std::time::Instant>,
}

impl Call {
    pub fn get(endpoint: &'static str, query: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            endpoint,
            payload: query.into(),
            units: 1,
            admitted: None,
            once: false,
            route: Route::Primary,
            tick: None,
        }
    }

    pub fn post(endpoint: &'static str, body: impl Into<String>) -> Self {
        Self::batch(endpoint, body, 1)
    }

    /// A batch POST of `items` orders (each spends one unit of the endpoint's budget).
    pub fn batch(endpoint: &'static str, body: impl Into<String>, items: usize) -> Self {
        Self {
            method: Method::Post,
            endpoint,
            payload: body.into(),
            units: items.max(1) as u32,
            admitted: None,
            once: false,
            route: Route::Primary,
            tick: None,
        }
    }

    /// The book update behind this order request was received at `at`.
    pub fn tick(mut self, at: Option<std::time::Instant>) -> Self {
        self.tick = at;
        self
    }

    /// The budget for this call was spent at `at`: send without asking the governor (again).
    pub fn admitted(mut self, at: std::time::Instant) -> Self {
        self.admitted = Some(at);
        self
    }

    /// One attempt only, and no waiting for budget: a failure (or no room) comes back at once,
    /// for the caller's own escalation.
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    pub fn via(mut self, route: Route) -> Self {
        self.route = route;
        self
    }
}

const MAX_ATTEMPTS: u32 = 3;

/// The way to the exchange's REST API for everyone else: a recipient of `Call`, so that callers
/// depend on the message, not on this actor.
pub type Rest = Recipient<Call>;

/// Reads and cancels may be repeated safely; creates and amends never are (a repeated create
/// can double an order: its fate is learned from the exchange instead).
fn is_retryable(call: &Call) -> bool {
    matches!(call.method, Method::Get | Method::PublicGet)
        || matches!(
            call.endpoint,
            path::ORDER_CANCEL | path::ORDER_CANCEL_ALL | path::ORDER_CANCEL_BATCH
        )
}

fn is_transient(e: &RestError) -> bool {
    match e {
        RestError::Exchange { code, .. } => code.is_transient(),
        RestError::Stopped | RestError::Deferred { .. } | RestError::NotSent { .. } => false,
        other => other.outcome_unknown(),
    }
}

pub struct RestConnector {
    client: Option<RestClient>,
    order_entry: OrderEntry,
    /// The trade socket, when one is configured: kept up when it is the order transport,
    /// connected on demand otherwise (a way to cancel when REST fails).
    trade: Option<Rc<TradeLink>>,
    keeper: Option<tokio::task::JoinHandle<()>>,
    /// Creates and amends on their way: their outcome matters, so the Stop waits for them.
    /// Reads and cancels are idempotent: once the order step has verified flat, one still
    /// waiting for its timeout changes nothing, and the Stop does not wait for it.
    in_flight: Rc<Cell<usize>>,
}

impl RestConnector {
    pub fn new(client: RestClient, order_entry: OrderEntry, trade: Option<TradeLink>) -> Self {
        Self {
            client: Some(client),
            order_entry,
            trade: trade.map(Rc::new),
            keeper: None,
            in_flight: Rc::new(Cell::new(0)),
        }
    }
}

impl Actor for RestConnector {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        if self.order_entry == OrderEntry::Websocket {
            if let Some(link) = &self.trade {
                self.keeper = Some(actix_rt::spawn(link.clone().keep_up()));
            }
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(k) = self.keeper.take() {
            k.abort();
        }
    }
}

crate::answers_ping!(RestConnector);

/// Where one attempt of a call goes.
enum Via {
    Http,
    /// The open socket; REST if it turns out closed before sending.
    Socket(Rc<crate::exchange::ws_trade_client::WsTradeClient>),
    /// The socket at any cost: connect first.
    ConnectSocket(Rc<TradeLink>),
}

/// Which way an attempt of `call` goes now.
fn choose(trade: &Option<Rc<TradeLink>>, order_entry: OrderEntry, call: &Call) -> Via {
    let order = call.method == Method::Post && trade_op(call.endpoint).is_some();
    match (trade, call.route) {
        (Some(link), Route::TradeSocket) if order => Via::ConnectSocket(link.clone()),
        (Some(link), Route::Primary) if order && order_entry == OrderEntry::Websocket => link.open().map_or(Via::Http, Via::Socket),
        _ => Via::Http,
    }
}

async fn attempt(client: &RestClient, call: &Call, via: Via, admission: Admission) -> Result<Answer, RestError> {
    let socket = match via {
        Via::Http => None,
        Via::Socket(c) => Some(c),
        Via::ConnectSocket(link) => match link.connected().await {
            Ok(c) => Some(c),
            Err(e) => return Err(RestError::Transport(format!("trade socket: {e}"))),
        },
    };
    if let Some(ws) = socket {
        match client.post_ws(&ws, call.endpoint, &call.payload, admission).await {
            // Closed before it went: REST carries it, with the budget already spent.
            Err(RestError::NotSent { units, admitted }) if call.route != Route::TradeSocket => {
                return client
                    .post(call.endpoint, call.payload.clone(), Admission::Spent(units, admitted))
                    .await;
            }
            // A socket that stops answering is dropped: REST carries what follows while it is
            // reconnected (this request's outcome stays unknown, as a REST timeout's would).
            r @ Err(RestError::Timeout(_)) => {
                log::warn!(
                    "{}: no answer on the trade socket; dropping it (REST until it is back)",
                    call.endpoint
                );
                ws.abandon();
                return r;
            }
            r => return r,
        }
    }
    match call.method {
        Method::PublicGet => client.public_get(call.endpoint, &call.payload).await,
        Method::Get => client.get(call.endpoint, &call.payload).await,
        Method::Post => client.post(call.endpoint, call.payload.clone(), admission).await,
    }
}

impl Handler<Call> for RestConnector {
    type Result = ResponseFuture<Result<Answer, RestError>>;

    fn handle(&mut self, call: Call, _: &mut Self::Context) -> Self::Result {
        let Some(client) = self.client.clone() else {
            return Box::pin(async { Err(RestError::Stopped) });
        };
        let guard = (!is_retryable(&call)).then(|| InFlight::new(&self.in_flight));
        let (trade, order_entry) = (self.trade.clone(), self.order_entry);
        Box::pin(async move {
            let _guard = guard;
            let retryable = !call.once && is_retryable(&call);
            let mut attempt_no = 0;
            loop {
                // Only the first attempt was paid for by the caller; a retry is a new request.
                let admission = match call.admitted {
                    Some(at) if attempt_no == 0 => Admission::Spent(call.units, at),
                    // A caller with its own escalation would rather hear "no room" than wait.
                    _ if call.once => Admission::AskNow(call.units),
                    _ => Admission::Ask(call.units),
                };
                if attempt_no == 0 {
                    if let (Some(t), Some(m)) = (call.tick, client.metrics()) {
                        // Signing and the socket write follow without a wait.
                        m.tick_to_wire.observe(t.elapsed().as_secs_f64());
                    }
                }
                // A retry takes whichever way is open then.
                let r = attempt(&client, &call, choose(&trade, order_entry, &call), admission).await;
                attempt_no += 1;
                match r {
                    Err(e) if retryable && attempt_no < MAX_ATTEMPTS && is_transient(&e) => {
                        let wait = 50u64 << attempt_no;
                        let jitter = rand::random::<u64>() % (wait + 1);
                        log::debug!("{} failed ({e}); retry {attempt_no} in {} ms", call.endpoint, wait / 2 + jitter / 2);
                        tokio::time::sleep(Duration::from_millis(wait / 2 + jitter / 2)).await;
                    }
                    r => return r,
                }
            }
        })
    }
}

impl Handler<Stop> for RestConnector {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        // Refuse new work at once; requests already sent keep their client clone.
        self.client = None;
        let in_flight = self.in_flight.clone();
        Box::pin(
            async move {
                while in_flight.get() > 0 && tokio::time::Instant::now() < stop.deadline.into() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                in_flight.get()
            }
            .into_actor(self)
            .map(|left, act, ctx| {
                ctx.stop();
                if let Some(k) = act.keeper.take() {
                    k.abort();
                }
                let socket = act.trade.take().is_some_and(|l| l.open().is_some());
                if left == 0 {
                    StopAck::ok(if socket {
                        "no create or amend in flight; HTTP client dropped, trade socket closed"
                    } else {
                        "no create or amend in flight; HTTP client dropped"
                    })
                } else {
                    StopAck::with_status(
                        StepStatus::TimedOut,
                        format!("{left} creates/amends still in flight at the deadline"),
                    )
                }
            }),
        )
    }
}
