//! The continuity judgement every imported book goes through (see `continuity`): a frame that
//! applies passes; a gap passes a marker instead, and the book's deltas are dropped until its
//! next snapshot; an out-of-order frame is dropped. Trade and ticker frames always pass.

use std::collections::HashMap;

use serde_json::Value;

use super::{Frame, Report};
use crate::continuity::{BookContinuity, Continuity};

#[derive(Default)]
pub struct BookGuard {
    books: HashMap<String, BookContinuity>,
}

impl BookGuard {
    /// Pass `frame` (its JSON already parsed as `v`) on to `out`, or what stands for it.
    pub fn pass(&mut self, v: &Value, frame: Frame, line: u64, report: &mut Report, out: &mut dyn FnMut(Frame)) {
        let topic = v["topic"].as_str().unwrap_or("");
        if !topic.starts_with("orderbook.") {
            report.frames += 1;
            out(frame);
            return;
        }
        let snapshot = v["type"] == "snapshot";
        let u = v["data"]["u"].as_u64().unwrap_or(0);
        let seq = v["data"]["seq"].as_u64().unwrap_or(0);
        match self.books.entry(topic.to_string()).or_default().check(snapshot, u, seq) {
            Continuity::Follows | Continuity::Snapshot => {
                report.frames += 1;
                out(frame);
            }
            Continuity::Stale { last, got } => {
                report.out_of_order += 1;
                report.malformed(line, format!("{topic}: update {got} after {last}: out of order, dropped"));
            }
            Continuity::Gap { expected, got } => {
                report.gaps += 1;
                report.malformed(
                    line,
                    format!(
                        "{topic}: updates {expected}..{} missing: the book waits for the next snapshot",
                        got - 1
                    ),
                );
                let why = format!("{topic}: updates {expected}..{} missing", got - 1);
                let marker = serde_json::json!({"topic": "mmbot.gap", "symbol": frame.symbol, "reason": why}).to_string();
                out(Frame { text: marker, ..frame });
            }
            Continuity::Unanchored => report.skipped += 1,
        }
    }
}
