//! Bybit's public trade archive (`public.bybit.com/trading/<SYMBOL>/<SYMBOL><date>.csv.gz`):
//! `timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
//! foreignNotional`, the timestamp in seconds with a fraction. Each row becomes the
//! `publicTrade` frame Bybit's stream would have carried (one trade each), received at the
//! trade's time plus the configured feed latency.

use std::io::BufRead;
use std::path::Path;

use super::{Frame, ImportError, Report};
use crate::reader::open_text;

const HEADER: &str = "timestamp,symbol,side,size,price,tickDirection,trdMatchID";

pub fn import(path: &Path, feed_latency_ms: u64, out: &mut dyn FnMut(Frame)) -> Result<Report, ImportError> {
    let (_, text) = open_text(path).map_err(|e| ImportError::Unreadable {
        file: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let mut report = Report::default();
    for (i, row) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                report.truncated_after = Some(report.lines);
                log::warn!("{}: cut short after line {} ({e})", path.display(), report.lines);
                break;
            }
        };
        report.lines = line;
        if line == 1 {
            if !row.starts_with(HEADER) {
                return Err(ImportError::NotThisFormat {
                    file: path.to_path_buf(),
                    expected: "a Bybit public trade CSV",
                    why: format!("its header is {:?}", row.chars().take(80).collect::<String>()),
                });
            }
            continue;
        }
        let f: Vec<&str> = row.split(',').collect();
        let parsed = (f.len() >= 7)
            .then(|| (f[0].parse::<f64>().ok(), f[3].parse::<f64>().ok(), f[4].parse::<f64>().ok()))
            .and_then(|(t, q, p)| Some((t?, q?, p?)));
        let Some((seconds, _, _)) = parsed.filter(|_| matches!(f[2], "Buy" | "Sell")) else {
            report.malformed(line, format!("not a trade row: {}", row.chars().take(80).collect::<String>()));
            continue;
        };
        let ms = (seconds * 1000.0).round() as u64;
        let text = serde_json::json!({
            "topic": format!("publicTrade.{}", f[1]),
            "type": "snapshot",
            "ts": ms,
            "data": [{"T": ms, "s": f[1], "S": f[2], "v": f[3], "p": f[4], "L": f[5], "i": f[6], "BT": false}],
        })
        .to_string();
        report.frames += 1;
        out(Frame {
            local_ns: (ms + feed_latency_ms) * 1_000_000,
            symbol: f[1].to_string(),
            text,
        });
    }
    Ok(report)
}
