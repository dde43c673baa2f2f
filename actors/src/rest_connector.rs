//! RestConnector: the one way to the exchange's REST API. Signed requests with timeouts;
//! refuses work once stopped and lets requests already in flight finish.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix::prelude::*;

use bybit_v5::rest::path;

use crate::in_flight::InFlight;
use crate::rest_client::{Admission, Answer, RestClient, RestError};
use crate::stop::{StepStatus, Stop, StopAck};

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
        }
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
        RestError::Stopped | RestError::Deferred { .. } => false,
        other => other.outcome_unknown(),
    }
}

pub struct RestConnector {
    client: Option<RestClient>,
    /// Creates and amends on their way: their outcome matters, so the Stop waits for them.
    /// Reads and cancels are idempotent: once the order step has verified flat, one still
    /// waiting for its timeout changes nothing, and the Stop does not wait for it.
    in_flight: Rc<Cell<usize>>,
}

impl RestConnector {
    pub fn new(client: RestClient) -> Self {
        Self {
            client: Some(client),
            in_flight: Rc::new(Cell::new(0)),
        }
    }
}

impl Actor for RestConnector {
    type Context = Context<Self>;
}

impl Handler<Call> for RestConnector {
    type Result = ResponseFuture<Result<Answer, RestError>>;

    fn handle(&mut self, call: Call, _: &mut Self::Context) -> Self::Result {
        let Some(client) = self.client.clone() else {
            return Box::pin(async { Err(RestError::Stopped) });
        };
        let guard = (!is_retryable(&call)).then(|| InFlight::new(&self.in_flight));
        Box::pin(async move {
            let _guard = guard;
            let retryable = !call.once && is_retryable(&call);
            let mut attempt = 0;
            loop {
                // Only the first attempt was paid for by the caller; a retry is a new request.
                let admission = match call.admitted {
                    Some(at) if attempt == 0 => Admission::Spent(call.units, at),
                    // A caller with its own escalation would rather hear "no room" than wait.
                    _ if call.once => Admission::AskNow(call.units),
                    _ => Admission::Ask(call.units),
                };
                let r = match call.method {
                    Method::PublicGet => client.public_get(call.endpoint, &call.payload).await,
                    Method::Get => client.get(call.endpoint, &call.payload).await,
                    Method::Post => client.post(call.endpoint, call.payload.clone(), admission).await,
                };
                attempt += 1;
                match r {
                    Err(e) if retryable && attempt < MAX_ATTEMPTS && is_transient(&e) => {
                        let wait = 50u64 << attempt;
                        let jitter = rand::random::<u64>() % (wait + 1);
                        log::debug!("{} failed ({e}); retry {attempt} in {} ms", call.endpoint, wait / 2 + jitter / 2);
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
            .map(|left, _, ctx| {
                ctx.stop();
                if left == 0 {
                    StopAck::ok("no create or amend in flight; HTTP client dropped")
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
