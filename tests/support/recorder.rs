//! The bot's recorder file, read back: its lines, the shutdown it records, its completeness.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Exit;

/// The recorder's file under `dir`'s data directory, once there is one.
pub fn recorder_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir.join("data"))
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("events-"))
}

/// Every line of the recorder file under `dir/data`, parsed.
pub fn recorder_lines_in(dir: &Path) -> Vec<Value> {
    let file = recorder_file(dir).expect("recorder file");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

/// Per symbol, the path the recorded shutdown says flattened it ("cancel-batch", …; "none").
pub fn flattened_by(dir: &Path) -> Vec<(String, String)> {
    let lines = recorder_lines_in(dir);
    let cancel = lines
        .iter()
        .find(|l| l["kind"] == "shutdown_cancel_orders")
        .expect("shutdown_cancel_orders recorded");
    cancel["symbols"]
        .as_array()
        .expect("per-symbol outcome recorded")
        .iter()
        .map(|s| {
            (
                s["symbol"].as_str().unwrap().to_string(),
                s["path"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

/// Every event the bot logged as recorded ("recorded #N") is in the file, and the file ends
/// with the shutdown report.
pub fn assert_recorder_complete(dir: &Path, exit: &Exit) {
    let lines = recorder_lines_in(dir);
    let seqs: std::collections::HashSet<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    let mut logged = 0;
    for line in exit.stderr.lines() {
        if let Some(rest) = line.split("recorded #").nth(1) {
            let n: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
            assert!(seqs.contains(&n), "event #{n} was logged as recorded but is not in the file");
            logged += 1;
        }
    }
    assert!(logged > 10, "the bot logged its recorded events ({logged})");
    assert_eq!(
        lines.last().unwrap()["kind"],
        "shutdown_report",
        "the file ends with the shutdown report"
    );
}
