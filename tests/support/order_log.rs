//! The exchange's order log (`/sim/orders`), judged: did orders of two runs ever rest together,
//! and how long was the book empty between one run's last order and the next run's first.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

/// One order's resting interval, in the exchange's event numbers (exact) and microseconds.
#[derive(Debug, Clone)]
pub struct Rested {
    pub link_id: String,
    /// `Buy` or `Sell`.
    pub side: String,
    pub run: String,
    pub opened_event: u64,
    pub closed_event: Option<u64>,
    pub opened_us: u64,
    pub closed_us: Option<u64>,
}

/// Every order with `prefix` the exchange remembers (open and closed), by run id.
pub async fn read(rest_url: &str, prefix: &str) -> Vec<Rested> {
    let url = format!("{rest_url}/sim/orders?prefix={prefix}-");
    let list: Vec<Value> = awc::Client::new()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .limit(1 << 26)
        .await
        .unwrap();
    list.iter()
        .map(|o| {
            let link_id = o["order_link_id"].as_str().unwrap_or("").to_string();
            Rested {
                run: link_id.split('-').nth(1).unwrap_or("").to_string(),
                side: o["side"].as_str().unwrap_or("").to_string(),
                link_id,
                opened_event: o["opened_event"].as_u64().unwrap(),
                closed_event: o["closed_event"].as_u64(),
                opened_us: o["opened_us"].as_u64().unwrap(),
                closed_us: o["closed_us"].as_u64(),
            }
        })
        .collect()
}

/// Pairs of orders of different runs that rested at the same moment (none is the goal).
pub fn overlaps(log: &[Rested]) -> Vec<(String, String)> {
    // Per run, when its first order opened and its last closed; then any order of another run
    // opened within a run's span is checked against that run's orders one by one.
    let mut out = Vec::new();
    let by_run = runs(log);
    for (run, mine) in &by_run {
        for (other, theirs) in &by_run {
            if run >= other {
                continue;
            }
            for a in mine {
                for b in theirs {
                    let start = a.opened_event.max(b.opened_event);
                    let end = a.closed_event.unwrap_or(u64::MAX).min(b.closed_event.unwrap_or(u64::MAX));
                    if start < end {
                        out.push((a.link_id.clone(), b.link_id.clone()));
                    }
                }
            }
        }
    }
    out
}

pub fn runs(log: &[Rested]) -> BTreeMap<String, Vec<&Rested>> {
    let mut by_run: BTreeMap<String, Vec<&Rested>> = BTreeMap::new();
    for o in log {
        by_run.entry(o.run.clone()).or_default().push(o);
    }
    by_run
}

/// When `run`'s last order closed (µs), if all of them have.
pub fn last_closed_us(log: &[Rested], run: &str) -> Option<u64> {
    let mine: Vec<&Rested> = log.iter().filter(|o| o.run == run).collect();
    if mine.iter().any(|o| o.closed_us.is_none()) {
        return None;
    }
    mine.iter().filter_map(|o| o.closed_us).max()
}

/// When `run`'s first order opened (µs).
pub fn first_opened_us(log: &[Rested], run: &str) -> Option<u64> {
    log.iter().filter(|o| o.run == run).map(|o| o.opened_us).min()
}

/// The `q` quantile (nearest rank) of `v`, in the same unit.
pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1]
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}
