//! What the whole-process benchmarks share: the release binary they start, a free loopback
//! port for its control server, and the command line of a run against the simulator.

// Each benchmark uses a part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

/// The binary under test: `MMBOT_BIN`, else the release build.
pub fn mmbot_bin() -> String {
    std::env::var("MMBOT_BIN").unwrap_or_else(|_| "target/release/mmbot".into())
}

/// `exchange.connector_thread` for the run: `BENCH_CONNECTOR_THREAD` ("market" or "main"), else
/// the default.
pub fn connector_thread() -> String {
    std::env::var("BENCH_CONNECTOR_THREAD").unwrap_or_else(|_| "market".into())
}

/// A free loopback address for a control server.
pub fn free_control_addr() -> String {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string()
}

/// `mmbot run --config <config>` with the simulator account's credentials and a control token,
/// logging at `log`; where its output goes is the caller's choice.
pub fn mmbot_run(config: &Path, key: &str, secret: &str, log: &str) -> Command {
    let mut cmd = Command::new(mmbot_bin());
    cmd.args(["run", "--config"])
        .arg(config)
        .env("MMBOT_API_KEY", key)
        .env("MMBOT_API_SECRET", secret)
        .env("MMBOT_CONTROL_TOKEN", "bench-token-0123456789")
        .env("RUST_LOG", log);
    cmd
}
