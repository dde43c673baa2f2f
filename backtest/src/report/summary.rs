//! The report for people: a few lines on stdout.

use std::fmt::Write;

use market_data::FileReport;

use super::Report;

/// A markout: to 0.001 bps, finer than one tick of BTCUSDT (~0.015 bps).
fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:+.3}"))
}

/// What reading the recordings met, in one line (None for a report with no recordings read).
fn data_line(files: &[FileReport]) -> Option<String> {
    if files.is_empty() {
        return None;
    }
    let sum = |f: fn(&FileReport) -> u64| files.iter().map(f).sum::<u64>();
    let mut line = format!(
        "  data: {} file{}, {} events; book gaps {}, malformed lines {}, frames out of order {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        sum(|f| f.events),
        sum(|f| f.gaps),
        sum(|f| f.malformed),
        sum(|f| f.out_of_order)
    );
    let cut: Vec<String> = files
        .iter()
        .filter_map(|f| f.truncated_after.map(|n| format!("{} after line {n}", f.file.display())))
        .collect();
    if !cut.is_empty() {
        line += &format!("; cut short: {}", cut.join(", "));
    }
    Some(line)
}

pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    let secs = r.to_ms.saturating_sub(r.from_ms) as f64 / 1000.0;
    let _ = writeln!(
        s,
        "{} of {} ({:.0} s of market, {} events, {} file{}){}",
        r.source,
        r.symbols.join(","),
        secs,
        r.events,
        r.data.len().max(1),
        if r.data.len() > 1 { "s" } else { "" },
        // A recorder file read afterwards has no run time of its own.
        if r.wall_ms > 0 {
            format!(" in {} ms", r.wall_ms)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        s,
        "  PnL {:+.4} USDT = spread capture {:+.4} + inventory {:+.4} + fees {:+.4} + funding {:+.4}",
        r.pnl.total, r.pnl.spread_capture, r.pnl.inventory, r.pnl.fees, r.pnl.funding
    );
    let _ = writeln!(
        s,
        "  fills {} (buy {}, sell {}), volume {:.2} USDT",
        r.fills, r.volume.buy.fills, r.volume.sell.fills, r.volume.notional
    );
    let m = |k: &str| r.markouts_bps.get(k).copied().flatten();
    let _ = writeln!(
        s,
        "  markouts (bps) 1s {} 5s {} 30s {} 60s {}",
        opt(m("1s")),
        opt(m("5s")),
        opt(m("30s")),
        opt(m("60s"))
    );
    let _ = writeln!(
        s,
        "  quoted both sides {:.1} % of the time, {} bps from the touch on average; max inventory {:.2} USDT, max drawdown {:.4} USDT",
        r.quote_uptime * 100.0,
        r.mean_touch_distance_bps.map_or("–".into(), |d| format!("{d:.2}")),
        r.max_inventory,
        r.max_drawdown
    );
    let requests: Vec<String> = r.requests.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        s,
        "  requests: {}; deferred by the budget: {}",
        if requests.is_empty() { "none".into() } else { requests.join(", ") },
        r.deferred
    );
    let busiest: Vec<String> = r
        .budget
        .endpoints
        .iter()
        .map(|(k, e)| match e.limit_per_s {
            Some(limit) => format!("{k} {} of {limit}", e.peak_units_per_s),
            None => format!("{k} {}", e.peak_units_per_s),
        })
        .collect();
    if !busiest.is_empty() {
        let _ = writeln!(
            s,
            "  busiest second (order units): {}; busiest 5 s: {} requests{}",
            busiest.join(", "),
            r.budget.peak_requests_per_5s,
            r.budget.ip_limit_per_5s.map_or(String::new(), |l| format!(" of {l}"))
        );
    }
    if r.source != "backtest" && r.events == 0 {
        let _ = writeln!(
            s,
            "  no market tape beside the recorder file (or --market): markouts, spread capture and touch distances need one ([recorder] market = true)"
        );
    }
    if let Some(line) = data_line(&r.data_quality) {
        let _ = writeln!(s, "{line}");
    }
    if !r.missing_symbols.is_empty() {
        let _ = writeln!(
            s,
            "  not backtested, no market data in the recordings: {} (--symbols picks the symbols a recording has)",
            r.missing_symbols.join(", ")
        );
    }
    if let Some(k) = &r.kill_switch {
        let _ = writeln!(s, "  kill switch tripped: {k}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_read_without_its_market_tape_says_what_that_leaves_out() {
        let paper = Report {
            source: "paper".into(),
            ..Default::default()
        };
        assert!(summary(&paper).contains("no market tape beside the recorder file"));
        let with_tape = Report { events: 681, ..paper };
        assert!(!summary(&with_tape).contains("no market tape"));
        let backtest = Report {
            source: "backtest".into(),
            data_quality: vec![FileReport {
                file: "a.gz".into(),
                events: 10,
                truncated_after: Some(12),
                ..Default::default()
            }],
            ..Default::default()
        };
        let s = summary(&backtest);
        assert!(!s.contains("no market tape"), "{s}");
        assert!(
            s.contains("data: 1 file, 10 events; book gaps 0, malformed lines 0, frames out of order 0; cut short: a.gz after line 12"),
            "{s}"
        );
    }
}
