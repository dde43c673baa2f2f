//! The cancel requests themselves, one function per path: cancel-all (per symbol or account-wide),
//! cancel-batch, single cancels; what each answer means for the escalation.

use std::rc::Rc;
use std::time::Instant;

use actix::prelude::*;
use futures_util::future::join_all;
use futures_util::StreamExt;
use serde_json::json;

use bybit_v5::rest::{path, CANCEL_ALL_CAP, ONLY_ACTIVE_ORDERS};
use bybit_v5::RetCode;

use crate::budget::rate_governor::{Governor, Priority};
use crate::exchange::rest_client::RestError;
use crate::exchange::rest_connector::{Call, Rest, Route};
use crate::orders::batch_body::{batch_body, BatchItem};
use crate::orders::cancel_path::AttemptEnd;

use super::*;

/// A `Deferred` request never went out: take it off the count.
pub(super) fn note_sent(answer: &Result<Result<crate::exchange::rest_client::Answer, RestError>, MailboxError>, r: &Reporter) {
    if matches!(answer, Ok(Err(RestError::Deferred { .. }))) {
        r.unsent();
    }
}

/// A failed REST attempt: rate-limited until the budget has room again, or failed.
pub(super) fn rest_failure(e: &RestError, governor: &Governor, endpoint: &str) -> AttemptEnd {
    let now = Instant::now();
    match e {
        RestError::Exchange {
            code: RetCode::RateLimited,
            ..
        } => AttemptEnd::RateLimited {
            until: governor.with(|g| g.room_at(endpoint, 1, Priority::Cancel, now)),
        },
        RestError::Deferred { retry_in, .. } => AttemptEnd::NotSent { until: now + *retry_in },
        _ => AttemptEnd::Failed,
    }
}

pub(super) async fn cancel_all(t: &Transports, symbol: &str, target: &dyn Fn(&str) -> bool, r: &Reporter) -> AttemptEnd {
    // orderFilter: without it Bybit's cancel-all also takes the operator's stop-loss.
    let body = json!({"category": "linear", "symbol": symbol, "orderFilter": ONLY_ACTIVE_ORDERS}).to_string();
    let answer = t.rest.send(Call::post(path::ORDER_CANCEL_ALL, body).once()).await;
    note_sent(&answer, r);
    match answer {
        Ok(Ok(a)) => {
            let listed = a.result["list"].as_array().cloned().unwrap_or_default();
            r.taken(
                listed
                    .iter()
                    .filter_map(|o| o["orderLinkId"].as_str())
                    .filter(|l| target(l))
                    .map(String::from)
                    .collect(),
            );
            AttemptEnd::Accepted
        }
        Ok(Err(e)) => {
            log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: cancel-all: {e}");
            rest_failure(&e, &t.governor, path::ORDER_CANCEL_ALL)
        }
        Err(e) => {
            log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: cancel-all: {e}");
            AttemptEnd::Failed
        }
    }
}

/// One cancel-all for every USDT-settled order of the account; again while an answer lists
/// Bybit's cap (500 per call: more may remain), at most four calls.
pub(super) async fn cancel_all_account(rest: Rest, governor: Governor) -> AccountCancel {
    let mut taken = Vec::new();
    let mut end = AttemptEnd::Failed;
    let mut requests = 0;
    for _ in 0..4 {
        requests += 1;
        let body = json!({"category": "linear", "settleCoin": SETTLE_COIN, "orderFilter": ONLY_ACTIVE_ORDERS}).to_string();
        match rest.send(Call::post(path::ORDER_CANCEL_ALL, body).once()).await {
            Ok(Ok(a)) => {
                let list = a.result["list"].as_array().cloned().unwrap_or_default();
                taken.extend(list.iter().filter_map(|o| o["orderLinkId"].as_str()).map(String::from));
                end = AttemptEnd::Accepted;
                if list.len() < CANCEL_ALL_CAP {
                    break;
                }
            }
            Ok(Err(e)) => {
                log::warn!("cancel-all by settleCoin: {e}");
                if end != AttemptEnd::Accepted {
                    end = rest_failure(&e, &governor, path::ORDER_CANCEL_ALL);
                }
                break;
            }
            Err(e) => {
                log::warn!("cancel-all by settleCoin: {e}");
                break;
            }
        }
    }
    AccountCancel {
        end,
        taken: Rc::new(taken),
        requests,
    }
}

/// The items whose per-item code says the cancel was taken or the order is gone already.
pub(super) fn taken(links: &[String], codes: &[i64]) -> Vec<String> {
    links
        .iter()
        .zip(codes)
        .filter(|(_, c)| **c == 0 || RetCode::from_code(**c).means_order_gone())
        .map(|(l, _)| l.clone())
        .collect()
}

/// Fold the ends of several requests of one attempt: it worked if any request was answered;
/// else it was rate-limited, else it failed; "not sent" only if nothing went out.
pub(super) fn fold_ends(ends: &[AttemptEnd]) -> AttemptEnd {
    if ends.contains(&AttemptEnd::Accepted) {
        return AttemptEnd::Accepted;
    }
    if let Some(e) = ends.iter().find(|e| matches!(e, AttemptEnd::RateLimited { .. })) {
        return *e;
    }
    if ends.contains(&AttemptEnd::Failed) || ends.is_empty() {
        return AttemptEnd::Failed;
    }
    ends.iter()
        .filter_map(|e| match e {
            AttemptEnd::NotSent { until } => Some(*until),
            _ => None,
        })
        .min()
        .map_or(AttemptEnd::Failed, |until| AttemptEnd::NotSent { until })
}

/// `order.cancel-batch` by REST or by the trade socket (`route`): same body, same budget.
pub(super) async fn cancel_batch(t: &Transports, route: Route, symbol: &str, links: &[String], r: &Reporter) -> AttemptEnd {
    let what = if route == Route::TradeSocket {
        "order.cancel-batch"
    } else {
        "cancel-batch"
    };
    let chunks = links.chunks(cancel_batch_size(&t.governor)).map(|chunk| async move {
        let body = batch_body(chunk.iter().map(|l| BatchItem::cancel(symbol, l)).collect());
        let call = Call::batch(path::ORDER_CANCEL_BATCH, body, chunk.len()).once().via(route);
        let answer = t.rest.send(call).await;
        note_sent(&answer, r);
        match answer {
            Ok(Ok(a)) => {
                let codes: Vec<i64> = (0..chunk.len()).map(|i| a.ext["list"][i]["code"].as_i64().unwrap_or(-1)).collect();
                r.taken(taken(chunk, &codes));
                AttemptEnd::Accepted
            }
            Ok(Err(e)) => {
                log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: {what}: {e}");
                rest_failure(&e, &t.governor, path::ORDER_CANCEL_BATCH)
            }
            Err(e) => {
                log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: {what}: {e}");
                AttemptEnd::Failed
            }
        }
    });
    fold_ends(&join_all(chunks).await)
}

pub(super) async fn cancel_singles(t: &Transports, symbol: &str, links: &[String], r: &Reporter) -> AttemptEnd {
    let each = links.iter().map(|l| async move {
        let body = json!({"category": "linear", "symbol": symbol, "orderLinkId": l}).to_string();
        let answer = t.rest.send(Call::post(path::ORDER_CANCEL, body).once().via(Route::Rest)).await;
        note_sent(&answer, r);
        match answer {
            Ok(Ok(_)) => {
                r.taken(vec![l.clone()]);
                AttemptEnd::Accepted
            }
            Ok(Err(RestError::Exchange { code, .. })) if code.means_order_gone() => {
                r.taken(vec![l.clone()]);
                AttemptEnd::Accepted
            }
            Ok(Err(e)) => {
                log::debug!("{symbol}: cancel {l}: {e}");
                rest_failure(&e, &t.governor, path::ORDER_CANCEL)
            }
            Err(_) => AttemptEnd::Failed,
        }
    });
    // A few at a time: the budget paces them anyway (10/s by default), and each concurrent
    // request would hold a connection of its own.
    let ends: Vec<AttemptEnd> = futures_util::stream::iter(each).buffer_unordered(SINGLES_AT_ONCE).collect().await;
    fold_ends(&ends)
}
