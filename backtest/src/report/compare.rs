//! Two reports side by side (a live run and the backtest of the same hours, say): the figures
//! that matter, each with both values and the difference.

use std::fmt::Write;

use super::Report;

fn row(out: &mut String, name: &str, a: f64, b: f64) {
    let _ = writeln!(out, "  {name:<22} {a:>14.4} {b:>14.4} {:>+14.4}", b - a);
}

/// A count: whole numbers, and the difference also as a share of the first (how far a live
/// run's fills are from the backtest's is judged in per cent).
fn count_row(out: &mut String, name: &str, a: u64, b: u64) {
    let diff = b as i128 - a as i128;
    let share = if a > 0 {
        format!(" ({:+.1} %)", diff as f64 / a as f64 * 100.0)
    } else {
        String::new()
    };
    let _ = writeln!(out, "  {name:<22} {a:>14} {b:>14} {:>+14}{share}", diff);
}

pub fn compare(a: &Report, b: &Report, a_name: &str, b_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  {:<22} {:>14} {:>14} {:>14}", "", a_name, b_name, "difference");
    count_row(&mut out, "fills", a.fills, b.fills);
    count_row(&mut out, "fills buy", a.volume.buy.fills, b.volume.buy.fills);
    count_row(&mut out, "fills sell", a.volume.sell.fills, b.volume.sell.fills);
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
    let pct = |x: f64| format!("{:.1} %", x * 100.0);
    let _ = writeln!(
        out,
        "  {:<22} {:>14} {:>14} {:>+12.1} pp",
        "quote uptime",
        pct(a.quote_uptime),
        pct(b.quote_uptime),
        (b.quote_uptime - a.quote_uptime) * 100.0
    );
    row(&mut out, "max inventory USDT", a.max_inventory, b.max_inventory);
    row(&mut out, "max drawdown USDT", a.max_drawdown, b.max_drawdown);
    // Order changes sent (a batch counts its orders), as both a run's recorder and the backtest count them.
    let orders = |r: &Report| r.budget.endpoints.values().map(|e| e.units).sum::<u64>();
    count_row(&mut out, "order changes sent", orders(a), orders(b));
    out
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.4}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_with_their_share_and_uptime_in_per_cent() {
        let live = Report {
            fills: 40,
            quote_uptime: 0.95,
            ..Default::default()
        };
        let bt = Report {
            fills: 44,
            quote_uptime: 0.975,
            ..Default::default()
        };
        let out = compare(&live, &bt, "live", "bt");
        let line = |name: &str| out.lines().find(|l| l.trim_start().starts_with(name)).unwrap().to_string();
        let fills: Vec<String> = line("fills ").split_whitespace().map(String::from).collect();
        assert_eq!(fills, ["fills", "40", "44", "+4", "(+10.0", "%)"], "{out}");
        let uptime: Vec<String> = line("quote uptime").split_whitespace().map(String::from).collect();
        assert_eq!(uptime, ["quote", "uptime", "95.0", "%", "97.5", "%", "+2.5", "pp"], "{out}");
        assert!(line("fills buy").ends_with("+0"), "no share of nothing: {out}");
    }
}
