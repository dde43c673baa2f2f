//! The run as an SVG, one panel pair per symbol: the mid with our best bid and ask and the fills
//! (buys green, sells red) above; the inventory and PnL below. Plain SVG, no script: it opens in
//! any browser.

use std::fmt::Write;

use bybit_v5::Side;
use rust_decimal::prelude::*;

use crate::collect::{ChartPoint, Collector};

const WIDTH: f64 = 1000.0;
const PANEL: f64 = 220.0;
const GAP: f64 = 40.0;

struct Scale {
    t0: f64,
    t1: f64,
    lo: f64,
    hi: f64,
    top: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        60.0 + (t - self.t0) / (self.t1 - self.t0).max(1.0) * (WIDTH - 80.0)
    }

    fn y(&self, v: f64) -> f64 {
        self.top + PANEL - (v - self.lo) / (self.hi - self.lo).max(1e-12) * PANEL
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

fn panel_frame(out: &mut String, top: f64, title: &str, lo: f64, hi: f64) {
    let _ = writeln!(
        out,
        r##"<rect x="60" y="{top}" width="{}" height="{PANEL}" fill="none" stroke="#ccc"/>"##,
        WIDTH - 80.0
    );
    let _ = writeln!(out, r#"<text x="60" y="{}" font-size="12">{title}</text>"#, top - 6.0);
    let _ = writeln!(out, r#"<text x="4" y="{}" font-size="10">{hi:.4}</text>"#, top + 10.0);
    let _ = writeln!(out, r#"<text x="4" y="{}" font-size="10">{lo:.4}</text>"#, top + PANEL);
}

pub fn chart(c: &Collector) -> String {
    let n = c.symbols.len().max(1) as f64;
    let height = n * 2.0 * (PANEL + GAP) + GAP;
    let mut out = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif">"#);
    out.push('\n');
    let (t0, t1) = (c.first_ms.unwrap_or(0) as f64, c.last_ms as f64);
    for (i, (symbol, r)) in c.symbols.iter().enumerate() {
        let top = GAP + i as f64 * 2.0 * (PANEL + GAP);
        let pts: &[ChartPoint] = &r.chart;
        let fills: Vec<_> = c.fills.iter().filter(|f| &f.symbol == symbol).collect();
        let (lo, hi) = range(
            pts.iter()
                .flat_map(|p| [Some(p.mid), p.bid, p.ask])
                .flatten()
                .map(f)
                .chain(fills.iter().map(|x| f(x.price))),
        );
        let s = Scale { t0, t1, lo, hi, top };
        panel_frame(
            &mut out,
            top,
            &format!("{symbol}: mid (grey), our best bid (green) and ask (red), fills"),
            lo,
            hi,
        );
        polyline(&mut out, &s, pts.iter().map(|p| (p.t as f64, f(p.mid))), "#888");
        polyline(&mut out, &s, pts.iter().filter_map(|p| Some((p.t as f64, f(p.bid?)))), "#2a2");
        polyline(&mut out, &s, pts.iter().filter_map(|p| Some((p.t as f64, f(p.ask?)))), "#c22");
        for x in &fills {
            let colour = if x.side == Side::Buy { "#080" } else { "#b00" };
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"/>"#,
                s.x(x.at_ms as f64),
                s.y(f(x.price))
            );
        }
        let top = top + PANEL + GAP;
        let (lo, hi) = range(pts.iter().flat_map(|p| [f(p.position), f(p.pnl)]));
        let s = Scale { t0, t1, lo, hi, top };
        panel_frame(
            &mut out,
            top,
            &format!("{symbol}: inventory (blue, base units) and PnL (black, USDT)"),
            lo,
            hi,
        );
        polyline(&mut out, &s, pts.iter().map(|p| (p.t as f64, f(p.position))), "#36c");
        polyline(&mut out, &s, pts.iter().map(|p| (p.t as f64, f(p.pnl))), "#000");
    }
    out.push_str("</svg>\n");
    out
}
