//! Captures made with cryptofeed (JSON lines, zstd-compressed or not). Each line has a type in
//! `t`: a `connect` line names a connection and the endpoint it went to; a `recv` line carries,
//! for one connection, a frame as text and when it was received (seconds since the epoch, with a
//! fraction). Only connections to Bybit's linear endpoint are taken — its spot stream uses the
//! same topic names — and of their frames the book, trade and ticker topics, stamped with that
//! receive time.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::{BookGuard, Frame, ImportError, Report};
use crate::reader::open_text;

const TOPICS: [&str; 3] = ["orderbook.", "publicTrade.", "tickers."];

pub fn import(path: &Path, out: &mut dyn FnMut(Frame)) -> Result<Report, ImportError> {
    let (_, text) = open_text(path).map_err(|e| ImportError::Unreadable {
        file: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let mut report = Report::default();
    let mut guard = BookGuard::default();
    let mut linear: HashSet<String> = HashSet::new();
    let mut buf = Vec::new();
    let mut text = text;
    while report.next_line(&mut *text, &mut buf, path) {
        let line = report.lines;
        let v: Value = match serde_json::from_slice(&buf) {
            Ok(v) => v,
            Err(e) => {
                if line == 1 {
                    return Err(ImportError::NotThisFormat {
                        file: path.to_path_buf(),
                        expected: "a cryptofeed capture",
                        why: format!("line 1 is not JSON ({e})"),
                    });
                }
                report.malformed(line, e);
                continue;
            }
        };
        let kind = v["t"].as_str().unwrap_or("");
        if line == 1 && !matches!(kind, "header" | "connect" | "recv" | "send" | "http") {
            return Err(ImportError::NotThisFormat {
                file: path.to_path_buf(),
                expected: "a cryptofeed capture",
                why: "line 1 has no cryptofeed line type (\"t\")".into(),
            });
        }
        let conn = v["conn"].as_str().unwrap_or("");
        match kind {
            "connect" => {
                let addr = v["addr"].as_str().or(v["url"].as_str()).unwrap_or("");
                if addr.contains("/public/linear") {
                    linear.insert(conn.to_string());
                } else {
                    linear.remove(conn);
                }
            }
            "recv" if linear.contains(conn) => {
                let (Some(raw), Some(ts)) = (v["data"].as_str(), v["ts"].as_f64()) else {
                    report.malformed(line, "a recv line without data or ts");
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<Value>(raw) else {
                    report.malformed(line, "its frame is not JSON");
                    continue;
                };
                let topic = frame["topic"].as_str().unwrap_or("");
                if !TOPICS.iter().any(|t| topic.starts_with(t)) {
                    report.skipped += 1;
                    continue;
                }
                let symbol = topic.rsplit('.').next().unwrap_or("").to_string();
                let f = Frame {
                    local_ns: (ts * 1e9).round() as u64,
                    symbol,
                    text: raw.to_string(),
                };
                guard.pass(&frame, f, line, &mut report, out);
            }
            _ => report.skipped += 1,
        }
    }
    Ok(report)
}
