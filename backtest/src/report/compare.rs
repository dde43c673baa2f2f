//! Two reports side by side (a live run and the backtest of the same hours, say): the figures
//! that matter, each with both values and the difference.

use std::fmt::Write;

use super::Report;

fn row(out: &mut String, name: &str, a: f64, b: f64) {
    let _ = writeln!(out, "  {name:<22} {a:>14.4} {b:>14.4} {:>+14.4}", b - a);
}

pub fn compare(a: &Report, b: &Report, a_name: &str, b_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  {:<22} {:>14} {:>14} {:>14}", "", a_name, b_name, "difference");
    row(&mut out, "fills", a.fills as f64, b.fills as f64);
    row(&mut out, "fills buy", a.volume.buy.fills as f64, b.volume.buy.fills as f64);
    row(&mut out, "fills sell", a.volume.sell.fills as f64, b.volume.sell.fills as f64);
    row(&mut out, "volume USDT", a.volume.notional, b.volume.notional);
    row(&mut out, "PnL total", a.pnl.total, b.pnl.total);
    row(&mut out, "PnL spread capture", a.pnl.spread_capture, b.pnl.spread_capture);
    row(&mut out, "PnL inventory", a.pnl.inventory, b.pnl.inventory);
    row(&mut out, "PnL fees", a.pnl.fees, b.pnl.fees);
    row(&mut out, "PnL funding", a.pnl.funding, b.pnl.funding);
    for h in ["1s", "5s", "30s", "60s"] {
        let get = |r: &Report| r.markouts_bps.get(h).copied().flatten();
        match (get(a), get(b)) {
            (Some(x), Some(y)) => row(&mut out, &format!("markout {h} bps"), x, y),
            (x, y) => {
                let _ = writeln!(out, "  {:<22} {:>14} {:>14}", format!("markout {h} bps"), fmt(x), fmt(y));
            }
        }
    }
    row(&mut out, "quote uptime", a.quote_uptime, b.quote_uptime);
    row(&mut out, "max inventory USDT", a.max_inventory, b.max_inventory);
    row(&mut out, "max drawdown USDT", a.max_drawdown, b.max_drawdown);
    // Order changes sent (a batch counts its orders), as both a run's recorder and the backtest count them.
    let orders = |r: &Report| r.budget.endpoints.values().map(|e| e.units).sum::<u64>() as f64;
    row(&mut out, "order changes sent", orders(a), orders(b));
    out
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.4}"))
}
