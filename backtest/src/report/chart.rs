//! The run as an SVG, three panels per symbol on one time axis: the mid with our best bid and ask
//! and the fills (buys green, sells red); the inventory; the PnL — each on its own scale (an
//! inventory of 0.05 BTC drawn on a PnL's scale of −100 USDT is a flat line). The time axis is
//! labelled in UTC. Plain SVG, no script: it opens in any browser.

use std::fmt::Write;

use bybit_v5::Side;
use rust_decimal::prelude::*;

use crate::collect::{ChartPoint, Collector};

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 70.0;
const PRICE: f64 = 220.0;
const SMALL: f64 = 110.0;
const GAP: f64 = 34.0;
/// One symbol's three panels and the axis under them.
const SYMBOL_HEIGHT: f64 = PRICE + 2.0 * SMALL + 3.0 * GAP + 24.0;

struct Scale {
    t0: f64,
    t1: f64,
    lo: f64,
    hi: f64,
    top: f64,
    height: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        LEFT + (t - self.t0) / (self.t1 - self.t0).max(1.0) * (WIDTH - LEFT - 20.0)
    }

    fn y(&self, v: f64) -> f64 {
        self.top + self.height - (v - self.lo) / (self.hi - self.lo).max(1e-12) * self.height
    }
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn polyline(out: &mut String, s: &Scale, pts: impl Iterator<Item = (f64, f64)>, colour: &str) {
    let points: Vec<String> = pts.map(|(t, v)| format!("{:.1},{:.1}", s.x(t), s.y(v))).collect();
    if points.len() > 1 {
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1" points="{}"/>"#,
            points.join(" ")
        );
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    }
}

/// A panel's frame, title and value range; its scale over `t0..t1`.
fn panel(out: &mut String, (t0, t1): (f64, f64), top: f64, height: f64, title: &str, (lo, hi): (f64, f64)) -> Scale {
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{top}" width="{}" height="{height}" fill="none" stroke="#ccc"/>"##,
        WIDTH - LEFT - 20.0
    );
    let _ = writeln!(out, r#"<text x="{LEFT}" y="{}" font-size="12">{title}</text>"#, top - 6.0);
    let _ = writeln!(out, r#"<text x="4" y="{}" font-size="10">{hi:.4}</text>"#, top + 10.0);
    let _ = writeln!(out, r#"<text x="4" y="{}" font-size="10">{lo:.4}</text>"#, top + height);
    Scale {
        t0,
        t1,
        lo,
        hi,
        top,
        height,
    }
}

/// `ms` since the epoch as UTC: the date and time to the second.
fn utc(ms: f64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Five ticks along the time axis under the panel at `s`, the first and last labelled in full.
fn time_axis(out: &mut String, s: &Scale) {
    let y = s.top + s.height;
    for k in 0..=4 {
        let t = s.t0 + (s.t1 - s.t0) * k as f64 / 4.0;
        let x = s.x(t);
        let _ = writeln!(out, r##"<line x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{}" stroke="#888"/>"##, y + 4.0);
        let label = utc(t);
        // The ends in full; between them the time of day.
        let label = if k == 0 || k == 4 {
            label
        } else {
            label.get(11..).unwrap_or_default().to_string()
        };
        let anchor = ["start", "middle", "middle", "middle", "end"][k];
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{}" font-size="10" text-anchor="{anchor}">{label}</text>"#,
            y + 15.0
        );
    }
}

pub fn chart(c: &Collector) -> String {
    let n = c.symbols.len().max(1) as f64;
    let height = n * SYMBOL_HEIGHT + GAP;
    let mut out = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif">"#);
    out.push('\n');
    let span = (c.first_ms.unwrap_or(0) as f64, c.last_ms as f64);
    for (i, (symbol, r)) in c.symbols.iter().enumerate() {
        let pts: &[ChartPoint] = &r.chart;
        let fills: Vec<_> = c.fills.iter().filter(|f| &f.symbol == symbol).collect();
        let mut top = GAP + i as f64 * SYMBOL_HEIGHT;
        let prices = range(
            pts.iter()
                .flat_map(|p| [Some(p.mid), p.bid, p.ask])
                .flatten()
                .map(f)
                .chain(fills.iter().map(|x| f(x.price))),
        );
        let title = format!("{symbol}: mid (grey), our best bid (green) and ask (red), fills");
        let s = panel(&mut out, span, top, PRICE, &title, prices);
        polyline(&mut out, &s, pts.iter().map(|p| (p.t as f64, f(p.mid))), "#888");
        polyline(&mut out, &s, pts.iter().filter_map(|p| Some((p.t as f64, f(p.bid?)))), "#2a2");
        polyline(&mut out, &s, pts.iter().filter_map(|p| Some((p.t as f64, f(p.ask?)))), "#c22");
        for x in &fills {
            let colour = if x.side == Side::Buy { "#080" } else { "#b00" };
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="1.5" fill="{colour}" fill-opacity="0.5"/>"#,
                s.x(x.at_ms as f64),
                s.y(f(x.price))
            );
        }
        top += PRICE + GAP;
        let inventory = range(pts.iter().map(|p| f(p.position)));
        let title = format!("{symbol}: inventory (base units)");
        let s = panel(&mut out, span, top, SMALL, &title, inventory);
        polyline(&mut out, &s, pts.iter().map(|p| (p.t as f64, f(p.position))), "#36c");
        top += SMALL + GAP;
        let pnl = range(pts.iter().map(|p| f(p.pnl)));
        let s = panel(&mut out, span, top, SMALL, &format!("{symbol}: PnL (USDT)"), pnl);
        polyline(&mut out, &s, pts.iter().map(|p| (p.t as f64, f(p.pnl))), "#000");
        time_axis(&mut out, &s);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc() {
        assert_eq!(utc(1_733_011_200_500.0), "2024-12-01 00:00:00 UTC");
        assert_eq!(utc(1_733_014_861_000.0), "2024-12-01 01:01:01 UTC");
    }

    #[test]
    fn each_panel_spans_its_own_values() {
        let mut out = String::new();
        let s = panel(&mut out, (0.0, 10.0), 0.0, 100.0, "x", range([0.001, 0.05].into_iter()));
        assert_eq!((s.y(0.001), s.y(0.05)), (100.0, 0.0), "an inventory fills its panel");
        assert!(out.contains(">0.0500<") && out.contains(">0.0010<"), "{out}");
    }
}
