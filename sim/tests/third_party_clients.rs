//! Third-party clients against a standalone bybit-sim, unmodified but for their endpoint URLs:
//! Bybit's official Python SDK (pybit) and ccxt place, amend, cancel and list orders, read the
//! book and the private stream (`compat/pybit_check.py`, `compat/ccxt_check.py`). Without
//! pybit, ccxt and websocket-client installed this fails (`.ci/run` installs them).

#[path = "support/replay.rs"]
#[allow(dead_code)] // the replay tests use the rest
mod replay_support;

use std::process::Command;

use replay_support::{post, SimProcess};

fn check(script: &str, sim: &SimProcess) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args([sim.addr.as_str(), "sim-key", "sim-secret"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{script} (pip install pybit ccxt websocket-client): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn pybit_and_ccxt_trade_on_bybit_sim_unmodified() {
    // A round trip on the trade WebSocket, as Bybit's has: pybit sends an order operation before
    // it registers the answer's callback, and an answer on loopback under load can beat it (pybit
    // then drops it: "unregistered reqId").
    // A round trip on the trade WebSocket, as Bybit's has: pybit sends an order operation before
    // it registers the answer's callback, and an answer on loopback under load can beat it (pybit
    // then drops it: "unregistered reqId").
    let sim = SimProcess::start(&["--latency", "/v5/trade=200"]);
    // The random walk frozen: the checks price post-only orders from a book they read earlier,
    // and a moving market could cross one before its amend (110001) — the market, not the client.
    post(&sim.url("/sim/market?paused=true"));
    check("pybit_check.py", &sim);
    check("ccxt_check.py", &sim);
}
