//! The positions step of the shutdown: ask the exchange what inventory is left per symbol and its
//! notional, so the report states it; with `shutdown.close_positions`, close it first with
//! reduce-only IOC limit orders no further than a slippage cap from the mark price. Reduce-only
//! can never open or flip a position, so after re-reading the position another close is safe
//! even when an earlier one's outcome is unknown.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;

use bybit_v5::position_item::Position;
use bybit_v5::rest::path;

use crate::exchange::rest_client::RestError;
use crate::exchange::rest_connector::{Call, Rest};
use crate::ha::fence::Fence;
use crate::messages::status::StatusPatch;
use crate::messages::stop::{CloseAtExit, PositionAtExit, PositionsOutcome, StepStatus, Stop, StopAck};
use crate::orders::link_id::LinkIds;

/// How many close rounds at most (each: send, settle, read).
const MAX_ROUNDS: usize = 3;

/// Kept for the read that states what is left.
const READ_RESERVE: Duration = Duration::from_millis(500);

pub struct ExitPositions {
    closer: Closer,
    symbols: Vec<String>,
    close: bool,
    /// Dry-run: the account is never touched, not even read.
    dry_run: bool,
    /// `/status` hears the positions as soon as they are read, before any close.
    status: Recipient<StatusPatch>,
    /// A standby that never became active leaves the positions to the active.
    fence: Fence,
}

/// What closing needs; cloned into the step's future.
#[derive(Clone)]
struct Closer {
    rest: Rest,
    tick_sizes: HashMap<String, Decimal>,
    slippage_bps: Decimal,
    /// The bot's prefix and run id; close orders end in `x` so they never equal a quote's id.
    ids: LinkIds,
    /// Under a lease: closes go only while they land before it could lapse.
    lease: Option<(Fence, Duration)>,
}

impl ExitPositions {
    pub fn new(
        rest: Rest,
        symbols: Vec<String>,
        tick_sizes: HashMap<String, Decimal>,
        // How far from the mark a close may fill, bps (closing is off until `closing(true)`).
        slippage_bps: Decimal,
        ids: LinkIds,
        status: Recipient<StatusPatch>,
        dry_run: bool,
    ) -> Self {
        Self {
            dry_run,
            status,
            closer: Closer {
                rest,
                tick_sizes,
                slippage_bps,
                ids,
                lease: None,
            },
            symbols,
            close: false,
            fence: Fence::always_open(),
        }
    }

    /// Under a lease: a close goes only while it lands before the lease could lapse;
    /// `land_within` is the exchange's receive window, the latest a close sent now can land.
    pub fn under_lease(mut self, fence: Fence, land_within: Duration) -> Self {
        self.closer.lease = Some((fence.clone(), land_within));
        self.fence = fence;
        self
    }
}

impl ExitPositions {
    /// Close the positions at exit (else report them only): `shutdown.close_positions`.
    pub fn closing(mut self, close: bool) -> Self {
        self.close = close;
        self
    }
}

impl Actor for ExitPositions {
    type Context = Context<Self>;
}

impl Handler<CloseAtExit> for ExitPositions {
    type Result = ();

    fn handle(&mut self, msg: CloseAtExit, _: &mut Self::Context) {
        log::warn!("positions will be closed at exit: {}", msg.reason);
        self.close = true;
    }
}

/// The open positions of these symbols, signed, with their notional at the mark price.
async fn read_positions(rest: &Rest, symbols: &[String]) -> Result<Vec<PositionAtExit>, RestError> {
    let a = rest
        .send(Call::get(path::POSITION_LIST, "category=linear&settleCoin=USDT&limit=200"))
        .await
        .map_err(|e| RestError::Transport(e.to_string()))??;
    let (list, skipped): (Vec<Position>, _) = bybit_v5::lenient::items(&a.result["list"]);
    if let Some(unknown) = crate::account::reads::unreadable_rows(&skipped, symbols) {
        return Err(unknown);
    }
    Ok(list
        .into_iter()
        .filter(|p| symbols.contains(&p.symbol) && !p.size.is_zero())
        .map(|p| {
            let size = if p.side == "Sell" { -p.size } else { p.size };
            PositionAtExit {
                notional: p.size * p.mark_price,
                symbol: p.symbol,
                size,
                mark_price: p.mark_price,
            }
        })
        .collect())
}

/// The worst price a close may get: `slippage_bps` from the mark, rounded to the tick toward the mark.
pub fn close_limit_price(mark: Decimal, closing_long: bool, slippage_bps: Decimal, tick: Decimal) -> Decimal {
    let cap = slippage_bps / Decimal::from(10_000);
    let (raw, strategy) = if closing_long {
        (mark * (Decimal::ONE - cap), RoundingStrategy::ToPositiveInfinity)
    } else {
        (mark * (Decimal::ONE + cap), RoundingStrategy::ToNegativeInfinity)
    };
    if tick.is_zero() {
        return raw;
    }
    ((raw / tick).round_dp_with_strategy(0, strategy) * tick).max(tick)
}

impl Closer {
    /// One reduce-only IOC per open position; returns how many the exchange accepted.
    async fn send_closes(&mut self, open: &[PositionAtExit]) -> usize {
        let mut requests = Vec::new();
        for p in open {
            let closing_long = p.size > Decimal::ZERO;
            let tick = self.tick_sizes.get(&p.symbol).copied().unwrap_or_default();
            let price = close_limit_price(p.mark_price, closing_long, self.slippage_bps, tick);
            let link = format!("{}x", self.ids.next_id());
            log::warn!(
                "closing {} {} at no worse than {price} (mark {}, cap {} bps)",
                p.symbol,
                p.size,
                p.mark_price,
                self.slippage_bps
            );
            let body = json!({"category": "linear", "symbol": p.symbol, "side": if closing_long {"Sell"} else {"Buy"},
                "orderType": "Limit", "timeInForce": "IOC", "reduceOnly": true, "qty": p.size.abs().to_string(),
                "price": price.to_string(), "orderLinkId": link})
            .to_string();
            let rest = self.rest.clone();
            let symbol = p.symbol.clone();
            requests.push(async move {
                match rest.send(Call::post(path::ORDER_CREATE, body)).await {
                    Ok(Ok(_)) => true,
                    Ok(Err(e)) => {
                        log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "close of {symbol} refused: {e}");
                        false
                    }
                    Err(e) => {
                        log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "close of {symbol}: {e}");
                        false
                    }
                }
            });
        }
        join_all(requests).await.into_iter().filter(|ok| *ok).count()
    }

    /// Close, re-read, and close what is left, up to MAX_ROUNDS or the deadline; the positions
    /// left (None when the last read failed), and whether closes were withheld because the
    /// lease could lapse before they landed.
    async fn close(&mut self, open: Vec<PositionAtExit>, symbols: &[String], end: Instant) -> (Option<Vec<PositionAtExit>>, bool) {
        // The last read needs time too: closes stop waiting a little before the end.
        let sends_end = end.checked_sub(READ_RESERVE).unwrap_or(end);
        let mut current = open;
        for round in 1..=MAX_ROUNDS {
            if current.is_empty() || Instant::now() >= sends_end {
                break;
            }
            if let Some((_, land_within)) = self.lease.as_ref().filter(|(f, w)| !f.lands_under_lease(*w)) {
                // The next active may already have read these positions as its own: a close now
                // could land after that and change what it inherited.
                log::error!(
                    "close round {round}: not sent — it could land (within {} ms) after this instance's lease could lapse; the positions are left to the next active",
                    land_within.as_millis()
                );
                return (Some(current), true);
            }
            let left = sends_end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.send_closes(&current)).await {
                Ok(accepted) => log::info!("close round {round}: {accepted} of {} close orders accepted", current.len()),
                Err(_) => log::warn!("close round {round}: no answer before the step's end"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, read_positions(&self.rest, symbols)).await {
                Ok(Ok(now)) => current = now,
                _ => return (None, false),
            }
        }
        (Some(current), false)
    }
}

/// The step's status and line.
fn verdict(o: &PositionsOutcome) -> (StepStatus, String) {
    let list = PositionAtExit::describe;
    match (&o.left, o.close_requested) {
        (Some(v), true) if o.lease_ended => (
            StepStatus::Failed,
            format!(
                "closes withheld: they could land after this instance's lease could lapse; left to the next active: {}",
                list(v)
            ),
        ),
        (None, true) => (
            StepStatus::Failed,
            "could not learn the positions from the exchange: closing unverified".into(),
        ),
        (None, false) => (StepStatus::Ok, "positions unknown: the exchange could not be asked".into()),
        (Some(v), _) if v.is_empty() && o.before_close.is_empty() => (StepStatus::Ok, "no position open".into()),
        (Some(v), true) if v.is_empty() => (StepStatus::Ok, format!("closed {}", list(&o.before_close))),
        (Some(v), true) => (
            StepStatus::Failed,
            format!("could not close within the slippage cap and time: {} left open", list(v)),
        ),
        (Some(v), false) => (StepStatus::Ok, format!("left open (shutdown.close_positions is off): {}", list(v))),
    }
}

impl Handler<Stop> for ExitPositions {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        if self.dry_run || !self.fence.ever_opened() {
            let detail = if self.dry_run {
                "dry-run: no order was ever sent, so no position"
            } else {
                "standby: never active; the account's positions are the active's"
            };
            return Box::pin(fut::ready(()).into_actor(self).map(move |(), _, ctx| {
                ctx.stop();
                StopAck::ok(detail)
            }));
        }
        let end = stop.deadline.checked_sub(Duration::from_millis(100)).unwrap_or(stop.deadline);
        let mut closer = self.closer.clone();
        let symbols = self.symbols.clone();
        let close = self.close;
        let status = self.status.clone();
        let work = async move {
            let left = end.saturating_duration_since(Instant::now());
            let first = tokio::time::timeout(left, read_positions(&closer.rest, &symbols))
                .await
                .ok()
                .and_then(Result::ok);
            let mut outcome = PositionsOutcome {
                left: first.clone(),
                close_requested: close,
                ..Default::default()
            };
            status.do_send(StatusPatch::ExitPositions(outcome.clone()));
            if let Some(open) = first.filter(|p| close && !p.is_empty()) {
                outcome.before_close = open.clone();
                (outcome.left, outcome.lease_ended) = closer.close(open, &symbols, end).await;
                status.do_send(StatusPatch::ExitPositions(outcome.clone()));
            }
            outcome
        };
        Box::pin(work.into_actor(self).map(|outcome, _, ctx| {
            ctx.stop();
            let (status, detail) = verdict(&outcome);
            StopAck {
                status,
                detail,
                orders: None,
                positions: Some(outcome),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_close_price_is_capped_and_on_the_tick_toward_the_mark() {
        // Closing a long sells no lower than 0.5% under the mark.
        assert_eq!(close_limit_price(dec!(100.03), true, dec!(50), dec!(0.1)), dec!(99.6));
        // Closing a short buys no higher than 0.5% over it.
        assert_eq!(close_limit_price(dec!(100.03), false, dec!(50), dec!(0.1)), dec!(100.5));
        assert_eq!(close_limit_price(dec!(0.01), true, dec!(5000), dec!(0.01)), dec!(0.01));
    }

    #[test]
    fn a_failed_close_fails_the_step_an_unrequested_one_does_not() {
        let p = PositionAtExit {
            symbol: "SOLUSDT".into(),
            size: dec!(0.6),
            mark_price: dec!(150),
            notional: dec!(90),
        };
        let left_open = PositionsOutcome {
            left: Some(vec![p.clone()]),
            close_requested: false,
            before_close: vec![],
            lease_ended: false,
        };
        assert_eq!(verdict(&left_open).0, StepStatus::Ok);
        assert!(verdict(&left_open).1.contains("SOLUSDT 0.6 (notional 90)"));
        let failed = PositionsOutcome {
            close_requested: true,
            before_close: vec![p.clone()],
            ..left_open.clone()
        };
        assert_eq!(verdict(&failed).0, StepStatus::Failed);
        let closed = PositionsOutcome {
            left: Some(vec![]),
            ..failed
        };
        assert_eq!(verdict(&closed), (StepStatus::Ok, "closed SOLUSDT 0.6 (notional 90)".into()));
    }
}
