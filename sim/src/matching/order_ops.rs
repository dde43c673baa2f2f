//! The six order operations — create, amend, cancel and their batch forms — as both REST and the
//! trade WebSocket carry them: the same request objects, the same per-item codes, the same budget
//! (a WebSocket op spends from its REST twin's window, as Bybit shares them).

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use bybit_v5::envelope::{BatchExtInfo, BatchItemCode};
use bybit_v5::rest::{path, AmendOrder, BatchItemResult, BatchRequest, CancelOrder, CreateOrder, OrderIds, MAX_BATCH_ITEMS};
use bybit_v5::{Category, RetCode};

use crate::error::ApiError;
use crate::exchange::Exchange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOp {
    Create,
    Amend,
    Cancel,
    CreateBatch,
    AmendBatch,
    CancelBatch,
}

impl OrderOp {
    const ALL: [Self; 6] = [
        Self::Create,
        Self::Amend,
        Self::Cancel,
        Self::CreateBatch,
        Self::AmendBatch,
        Self::CancelBatch,
    ];

    /// The operation a trade-WebSocket `op` names (the protocol crate maps REST paths to ops, so
    /// client and simulator cannot drift apart).
    pub fn from_ws(op: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| bybit_v5::rest::trade_op(o.path()) == Some(op))
    }

    /// The REST path, which is also the budget the operation spends.
    pub fn path(self) -> &'static str {
        match self {
            Self::Create => path::ORDER_CREATE,
            Self::Amend => path::ORDER_AMEND,
            Self::Cancel => path::ORDER_CANCEL,
            Self::CreateBatch => path::ORDER_CREATE_BATCH,
            Self::AmendBatch => path::ORDER_AMEND_BATCH,
            Self::CancelBatch => path::ORDER_CANCEL_BATCH,
        }
    }

    fn is_batch(self) -> bool {
        matches!(self, Self::CreateBatch | Self::AmendBatch | Self::CancelBatch)
    }

    /// Budget units the request spends: one per order in a batch.
    pub fn units(self, request: &Value) -> u32 {
        if self.is_batch() {
            request["request"]
                .as_array()
                .map_or(1, |l| l.len().clamp(1, MAX_BATCH_ITEMS) as u32)
        } else {
            1
        }
    }
}

fn parse<T: DeserializeOwned>(v: &Value) -> Result<T, ApiError> {
    serde_json::from_value(v.clone()).map_err(|e| ApiError::param(format!("params error: {e}")))
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("serialisable")
}

/// The error every amend gets under the `refuse_amends` fault.
pub fn amend_refused() -> ApiError {
    ApiError::param("params error: the simulator's refuse_amends fault is on")
}

/// Run `op` with `request` (a REST body or a trade-WebSocket arg) on the exchange; `granted` of
/// its units are within budget (batch items beyond it fail with 10006). Returns the result and,
/// for batches, the per-item codes (`retExtInfo`).
pub fn execute(
    op: OrderOp,
    ex: &mut Exchange,
    account: usize,
    request: &Value,
    granted: u32,
    refuse_amends: bool,
    now: u64,
) -> (Result<Value, ApiError>, Option<Value>) {
    let single = |r: Result<OrderIds, ApiError>| (r.map(to_value), None);
    match op {
        OrderOp::Create => single(parse::<CreateOrder>(request).and_then(|o| ex.create_order(account, &o, now))),
        OrderOp::Amend => single(parse::<AmendOrder>(request).and_then(|o| {
            if refuse_amends {
                Err(amend_refused())
            } else {
                ex.amend_order(account, &o, now)
            }
        })),
        OrderOp::Cancel => single(parse::<CancelOrder>(request).and_then(|o| ex.cancel_order(account, &o, now))),
        OrderOp::CreateBatch => batch(
            ex,
            account,
            request,
            granted,
            now,
            true,
            |o: &CreateOrder| &o.symbol,
            |ex, a, item, now| {
                let mut o = item.clone();
                o.category = Some(Category::Linear);
                ex.create_order(a, &o, now).map(|mut ids| {
                    if ids.order_link_id.is_empty() {
                        ids.order_link_id = item.order_link_id.clone().unwrap_or_default();
                    }
                    ids
                })
            },
        ),
        OrderOp::AmendBatch => batch(
            ex,
            account,
            request,
            granted,
            now,
            false,
            |o: &AmendOrder| &o.symbol,
            |ex, a, item, now| {
                if refuse_amends {
                    return Err(amend_refused());
                }
                let mut o = item.clone();
                o.category = Some(Category::Linear);
                ex.amend_order(a, &o, now)
            },
        ),
        OrderOp::CancelBatch => batch(
            ex,
            account,
            request,
            granted,
            now,
            false,
            |o: &CancelOrder| &o.symbol,
            |ex, a, item, now| {
                let mut o = item.clone();
                o.category = Some(Category::Linear);
                ex.cancel_order(a, &o, now)
            },
        ),
    }
}

/// A batch: at most 20 items, items beyond the granted budget fail with 10006, each item's
/// outcome in `retExtInfo.list`, the top-level code 0.
#[allow(clippy::too_many_arguments)]
fn batch<T, F>(
    ex: &mut Exchange,
    account: usize,
    request: &Value,
    granted: u32,
    now: u64,
    is_create: bool,
    symbol_of: fn(&T) -> &str,
    run: F,
) -> (Result<Value, ApiError>, Option<Value>)
where
    T: DeserializeOwned,
    F: FnMut(&mut Exchange, usize, &T, u64) -> Result<OrderIds, ApiError>,
{
    let b: BatchRequest<T> = match parse(request) {
        Ok(b) => b,
        Err(e) => return (Err(e), None),
    };
    if b.category != Category::Linear {
        return (Err(ApiError::param("params error: category must be linear")), None);
    }
    if b.request.is_empty() || b.request.len() > MAX_BATCH_ITEMS {
        return (
            Err(ApiError::param(format!("params error: a batch holds 1 to {MAX_BATCH_ITEMS} items"))),
            None,
        );
    }
    // The book changes once per batch on the public feed, not once per item.
    ex.coalescing_books(now, |ex| {
        batch_items(ex, account, &b.request, granted, now, is_create, symbol_of, run)
    })
}

#[allow(clippy::too_many_arguments)]
fn batch_items<T, F>(
    ex: &mut Exchange,
    account: usize,
    request: &[T],
    granted: u32,
    now: u64,
    is_create: bool,
    symbol_of: fn(&T) -> &str,
    mut run: F,
) -> (Result<Value, ApiError>, Option<Value>)
where
    F: FnMut(&mut Exchange, usize, &T, u64) -> Result<OrderIds, ApiError>,
{
    let mut list = Vec::new();
    let mut codes = Vec::new();
    for (i, item) in request.iter().enumerate() {
        let outcome = if (i as u32) < granted {
            run(ex, account, item, now)
        } else {
            Err(ApiError::new(RetCode::RateLimited, "Too many visits!"))
        };
        let (ids, code) = match outcome {
            Ok(ids) => (ids, BatchItemCode { code: 0, msg: "OK".into() }),
            Err(e) => (
                OrderIds::default(),
                BatchItemCode {
                    code: e.code.code(),
                    msg: e.msg,
                },
            ),
        };
        let ok = code.code == 0;
        list.push(BatchItemResult {
            category: "linear".into(),
            symbol: symbol_of(item).to_string(),
            order_id: ids.order_id,
            order_link_id: ids.order_link_id,
            create_at: is_create.then(|| if ok { now.to_string() } else { String::new() }),
        });
        codes.push(code);
    }
    (Ok(json!({"list": list})), Some(to_value(BatchExtInfo { list: codes })))
}
