//! What the whole-process benchmarks share: the release binary they start, a free loopback
//! port for its control server, and the command line of a run against the simulator.

// Each benchmark uses a part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bybit_sim::{SimConfig, SimHandle};

/// The binary under test: `MMBOT_BIN`, else the release build.
pub fn mmbot_bin() -> String {
    std::env::var("MMBOT_BIN").unwrap_or_else(|_| "target/release/mmbot".into())
}

/// `exchange.connector_thread` for the run: `BENCH_CONNECTOR_THREAD` ("market" or "main"), else
/// the default.
pub fn connector_thread() -> String {
    std::env::var("BENCH_CONNECTOR_THREAD").unwrap_or_else(|_| "market".into())
}

/// `[market_thread] busy_poll` for the run: `BENCH_BUSY_POLL=1` turns it on (default: off).
pub fn busy_poll() -> bool {
    matches!(std::env::var("BENCH_BUSY_POLL").as_deref(), Ok("1") | Ok("true") | Ok("on"))
}

/// The `[market_thread]` section of a run's configuration; `BENCH_REHEARSE_EVERY_US` sets
/// `rehearse_every_us` (0: busy-poll without rehearsing).
pub fn market_thread_toml() -> String {
    let rehearse = std::env::var("BENCH_REHEARSE_EVERY_US")
        .map(|v| format!("rehearse_every_us = {v}\n"))
        .unwrap_or_default();
    format!("[market_thread]\nbusy_poll = {}\n{rehearse}", busy_poll())
}

/// How a table's header names the market thread's mode.
pub fn market_thread_label() -> &'static str {
    if busy_poll() && std::env::var("BENCH_REHEARSE_EVERY_US").as_deref() == Ok("0") {
        "market thread busy-polling without rehearsals"
    } else if busy_poll() {
        "market thread busy-polling"
    } else {
        "market thread parking when idle"
    }
}

/// The `[exchange]` section's four URLs of `sim` (REST, public, private and trade sockets).
pub fn exchange_urls(sim: &SimHandle) -> String {
    format!(
        "rest_url = \"{}\"\nws_public_url = \"{}\"\nws_private_url = \"{}\"\nws_trade_url = \"{}\"\n",
        sim.rest_url(),
        sim.ws_public_url(),
        sim.ws_private_url(),
        sim.ws_trade_url()
    )
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

/// A simulator with one account and a market that moves every 20 ms (the soaks' setting).
pub fn active_sim(key: &str, secret: &str) -> SimHandle {
    bybit_sim::spawn(SimConfig {
        accounts: vec![(key.into(), secret.into())],
        tick: Duration::from_millis(20),
        ..Default::default()
    })
    .expect("bybit-sim starts")
}

/// A run directory `<tmp>/mmbot-<name>-<pid>` and in it a paper config against `sim` for the
/// three default symbols, control on `control`; `extra` adds sections (`[order_manager]`, ...).
/// Returns the directory and the config's path.
pub fn paper_run(name: &str, sim: &SimHandle, control: &str, extra: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mmbot-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("mmbot.toml");
    std::fs::write(
        &config,
        format!(
            "mode = \"paper\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\", \"SOLUSDT\"]\n[exchange]\nrest_url = \"{}\"\nws_public_url = \"{}\"\nws_private_url = \"{}\"\n[control]\nlisten = \"{control}\"\n[recorder]\ndir = \"{}\"\n{extra}",
            sim.rest_url(),
            sim.ws_public_url(),
            sim.ws_private_url(),
            dir.join("data").display()
        ),
    )
    .unwrap();
    (dir, config)
}
