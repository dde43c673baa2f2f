//! check-config's word on order sizes, offline: each symbol's smallest order from Bybit's
//! instrument table (as the simulator carries it) against `order_notional`. The embedded paper
//! exchange starts at the table's prices, so its verdict is exact; on a real exchange the price
//! moves, so the line says from which price the order is rounded up — the start and
//! `check-account` judge it at the live price.

use rust_decimal::Decimal;

use mmbot_actors::market::quoting::{qty_for, rounds_far_up, BelowMinimum, Filters};

use super::{Config, Mode};

pub fn size_warnings(c: &Config) -> Vec<String> {
    let embedded = c.mode != Mode::Live && c.exchange.rest_url.is_empty();
    let policy = match c.strategy.below_minimum {
        BelowMinimum::RoundUp => "rounded up to it (strategy.below_minimum = \"round_up\")",
        BelowMinimum::Skip => "not quoted (strategy.below_minimum = \"skip\")",
    };
    let table = bybit_sim::market::instrument::instrument_table();
    let mut out = Vec::new();
    for symbol in &c.symbols {
        let Some(spec) = table.iter().find(|s| &s.symbol == symbol) else {
            continue;
        };
        let notional = c.strategy.quote_params(symbol).order_notional;
        let f = Filters {
            tick_size: spec.tick_size,
            qty_step: spec.qty_step,
            min_qty: spec.min_qty,
            max_qty: spec.max_qty,
            min_notional: spec.min_notional,
        };
        if embedded {
            let price = spec.start_price;
            if rounds_far_up(notional, &f, price) {
                let qty = qty_for(notional, &f, price);
                out.push(format!(
                    "{symbol}: order_notional {notional} is below the smallest order, {qty} (≈ {} USDT at {price}): {policy}",
                    (qty * price).round_dp(2)
                ));
            }
        } else if !spec.min_qty.is_zero() {
            // Far above 1.5× from this price on.
            let from = (notional * Decimal::from(3) / Decimal::TWO / spec.min_qty).round_dp(2);
            out.push(format!(
                "{symbol}: the smallest order is {} (min notional {} USDT): above a price of {from} each order_notional {notional} order is {policy}; check-account and the start judge it at the live price",
                spec.min_qty.normalize(),
                spec.min_notional.normalize()
            ));
        }
    }
    out
}
