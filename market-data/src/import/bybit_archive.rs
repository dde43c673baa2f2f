//! Bybit's historical order-book archives (`<date>_<SYMBOL>_ob500.data`, also as the `.zip` the
//! download site serves): one frame a line, `{"topic","type","ts","data":{"s","b","a","u","seq"},
//! "cts"}`, snapshot then deltas, no local receive time and no trades. The receive time assumed
//! is the frame's `cts` (the matching engine's time, which lines up with trades' `T`; `ts` where
//! it is missing) plus the configured feed latency.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use super::{BookGuard, Frame, ImportError, Report};
use crate::reader::open_text;

const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";

fn unreadable(path: &Path, why: impl std::fmt::Display) -> ImportError {
    ImportError::Unreadable {
        file: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// The archive's text: the `.data` file inside a zip, or the file itself (gzip, zstd, plain).
fn text_of(path: &Path) -> Result<Box<dyn BufRead>, ImportError> {
    let mut head = [0u8; 4];
    let zipped = File::open(path)
        .and_then(|mut f| f.read(&mut head).map(|n| n == 4 && head == ZIP_MAGIC))
        .map_err(|e| unreadable(path, e))?;
    if !zipped {
        return open_text(path).map(|(_, t)| t as Box<dyn BufRead>).map_err(|e| unreadable(path, e));
    }
    let mut zip = zip::ZipArchive::new(File::open(path).map_err(|e| unreadable(path, e))?).map_err(|e| unreadable(path, e))?;
    let index = (0..zip.len())
        .find(|i| zip.name_for_index(*i).is_some_and(|n| n.is_ok_and(|n| n.ends_with(".data"))))
        .ok_or_else(|| unreadable(path, "the zip holds no .data file"))?;
    // The archive's one file, whole in memory: a day of one symbol is what a backtest reads anyway.
    let mut entry = zip.by_index(index).map_err(|e| unreadable(path, e))?;
    let mut bytes = Vec::new();
    let read = entry.read_to_end(&mut bytes);
    if let Err(e) = read {
        // A damaged member: what was inflated before the damage still counts.
        log::warn!(
            "{}: the zipped archive is damaged ({e}); importing what could be read",
            path.display()
        );
    }
    Ok(Box::new(BufReader::new(std::io::Cursor::new(bytes))))
}

pub fn import(path: &Path, feed_latency_ms: u64, out: &mut dyn FnMut(Frame)) -> Result<Report, ImportError> {
    let mut text = text_of(path)?;
    let mut report = Report::default();
    let mut guard = BookGuard::default();
    let mut buf = Vec::new();
    while report.next_line(&mut *text, &mut buf, path) {
        let text_line = String::from_utf8_lossy(&buf);
        let line = text_line.trim_end();
        if line.is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) if report.frames == 0 && report.malformed_count == 0 => {
                return Err(ImportError::NotThisFormat {
                    file: path.to_path_buf(),
                    expected: "a Bybit order-book archive",
                    why: format!("line 1 is not JSON ({e})"),
                })
            }
            Err(e) => {
                report.malformed(report.lines, e);
                continue;
            }
        };
        let topic = v["topic"].as_str().unwrap_or("");
        if !topic.starts_with("orderbook.") || v.get("t").is_some() {
            if report.frames == 0 && report.lines == 1 {
                return Err(ImportError::NotThisFormat {
                    file: path.to_path_buf(),
                    expected: "a Bybit order-book archive",
                    why: format!("line 1 has no orderbook topic: {}", line.chars().take(80).collect::<String>()),
                });
            }
            report.malformed(report.lines, "not an order-book frame");
            continue;
        }
        let exchange_ms = v["cts"].as_u64().filter(|t| *t > 0).or_else(|| v["ts"].as_u64()).unwrap_or(0);
        let (Some(symbol), true) = (v["data"]["s"].as_str(), exchange_ms > 0) else {
            report.malformed(report.lines, "no symbol or time");
            continue;
        };
        let frame = Frame {
            local_ns: (exchange_ms + feed_latency_ms) * 1_000_000,
            symbol: symbol.to_string(),
            text: line.to_string(),
        };
        guard.pass(&v, frame, report.lines, &mut report, out);
    }
    Ok(report)
}
