//! End-to-end harness: a real bybit-sim on loopback, the real `mmbot` binary started against it
//! with a config written for the test, and the ways users stop it. Everything is checked by
//! asking the exchange (or reading the process's output and recorder file), never internals.

#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod captures;
mod exchange;
mod recorder;
pub mod replay;
mod test_dir;

pub use exchange::*;
pub use recorder::*;
pub use test_dir::TestDir;

use bybit_sim::{SimConfig, SimHandle};
use serde_json::Value;

pub const KEY: &str = "e2e-key";
pub const SECRET: &str = "e2e-secret";
pub const TOKEN: &str = "e2e-control-token-0123456789";
pub const PREFIX: &str = "e2e";

pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

pub fn start_sim() -> SimHandle {
    start_sim_with(|_| {})
}

/// A simulator with the test account at Bybit's default budgets (10 order units per second per
/// endpoint, 50 reads, 600 requests per 5 s per IP), adjusted by `f`.
pub fn start_sim_with(f: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut cfg = SimConfig {
        accounts: vec![(KEY.into(), SECRET.into())],
        ..Default::default()
    };
    f(&mut cfg);
    bybit_sim::spawn(cfg).expect("bybit-sim starts")
}

/// A still market: no random walk, no trades from the rest of the market — nothing fills and
/// no price moves unless the test makes it.
pub fn start_quiet_sim() -> SimHandle {
    start_sim_with(|c| {
        c.market.volatility_bps = 0.0;
        c.market.trade_probability = 0.0;
    })
}

/// A position the bot did not open: a taker buy of `qty` BTCUSDT on its account, by hand.
pub async fn buy_by_hand(sim: &SimHandle, qty: &str) -> rust_decimal::Decimal {
    let body = serde_json::json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": qty});
    let buy = exchange(sim).post("/v5/order/create", &body.to_string()).await.unwrap();
    assert_eq!(buy.ret_code(), 0, "{:?}", buy.body);
    exchange_position(sim, "BTCUSDT").await
}

/// The test's own directory: removed when the test passes, kept when it fails.
pub fn temp_dir(name: &str) -> TestDir {
    TestDir::new("mmbot-e2e", name)
}

/// Settings a test may change.
pub struct BotOptions {
    pub mode: &'static str,
    pub symbols: Vec<&'static str>,
    pub levels: u32,
    pub shutdown: &'static str,
    /// Extra lines for the [exchange], [order_manager] and [recorder] sections.
    pub exchange: &'static str,
    pub order_manager: &'static str,
    pub recorder: &'static str,
    pub strategy: &'static str,
    /// Lines of the [risk] section.
    pub risk: &'static str,
    /// Lines of the [market_thread] section.
    pub market_thread: &'static str,
    /// Lines of the [ws] section.
    pub ws: &'static str,
    /// Lines of the [account] section.
    pub account: &'static str,
    /// Extra lines of the [control] section.
    pub control_extra: &'static str,
    /// Control address (a free port when None).
    pub control: Option<SocketAddr>,
    /// Extra environment; an empty value removes the variable (e.g. RUST_LOG, for the defaults).
    pub env: Vec<(&'static str, &'static str)>,
    /// stdout is a pipe whose reader has gone (`mmbot | tee` after the terminal's Ctrl+C).
    pub stdout_closed_pipe: bool,
    /// RLIMIT_FSIZE for the bot (SIGXFSZ ignored): a write past it fails, as on a full disk.
    pub file_size_limit: Option<u64>,
    /// TOML appended to the file as written (e.g. an `[ha]` section naming a test's etcd).
    pub tail: String,
    /// The REST address the bot is given, when not the simulator's own (a proxy in front of it).
    pub rest_url: Option<String>,
    /// The subcommand (`run` unless set) and arguments after `--config FILE`.
    pub command: &'static str,
    pub args: Vec<String>,
}

impl Default for BotOptions {
    fn default() -> Self {
        // 4 levels x 2 sides x 3 symbols = 24 resting orders.
        Self {
            mode: "paper",
            symbols: vec!["BTCUSDT", "ETHUSDT", "SOLUSDT"],
            levels: 4,
            shutdown: "",
            exchange: "",
            order_manager: "",
            recorder: "",
            strategy: "",
            risk: "",
            market_thread: "",
            ws: "",
            account: "",
            control_extra: "",
            control: None,
            env: Vec::new(),
            stdout_closed_pipe: false,
            file_size_limit: None,
            tail: String::new(),
            rest_url: None,
            command: "run",
            args: Vec::new(),
        }
    }
}

pub struct Bot {
    pub child: Child,
    pub control: SocketAddr,
    pub dir: TestDir,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

pub struct Exit {
    pub code: i32,
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
}

pub fn start_bot(name: &str, sim: &SimHandle, opts: BotOptions) -> Bot {
    start_bot_in(temp_dir(name), sim, opts)
}

/// Start the bot with its files in `dir` (which may already hold a `data/` directory).
pub fn start_bot_in(dir: TestDir, sim: &SimHandle, opts: BotOptions) -> Bot {
    let control = opts.control.unwrap_or_else(free_port);
    let symbols = opts.symbols.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    let config = format!(
        r#"mode = "{mode}"
symbols = [{symbols}]

[exchange]
rest_url = "{rest}"
ws_public_url = "{wsp}"
ws_private_url = "{wsq}"
ws_trade_url = "{wst}"
{exchange_extra}

[strategy]
levels = {levels}
spread_bps = 20
level_step_bps = 10
order_notional = 50
min_requote_ms = 200
{strategy_extra}

[risk]
{risk}

[order_manager]
link_prefix = "{PREFIX}"
{om_extra}

[control]
listen = "{control}"
{control_extra}

[recorder]
dir = "{data}"
flush_interval_ms = 100
{recorder_extra}

[shutdown]
{shutdown}

[market_thread]
{market_thread}

[ws]
{ws}

[account]
{account}

{tail}
"#,
        mode = opts.mode,
        rest = opts.rest_url.clone().unwrap_or_else(|| sim.rest_url()),
        wsp = sim.ws_public_url(),
        wsq = sim.ws_private_url(),
        wst = sim.ws_trade_url(),
        levels = opts.levels,
        data = dir.join("data").display(),
        shutdown = opts.shutdown,
        account = opts.account,
        control_extra = opts.control_extra,
        exchange_extra = opts.exchange,
        om_extra = opts.order_manager,
        recorder_extra = opts.recorder,
        strategy_extra = opts.strategy,
        risk = opts.risk,
        market_thread = opts.market_thread,
        ws = opts.ws,
        tail = opts.tail,
    );
    let config_path = dir.join("mmbot.toml");
    std::fs::write(&config_path, config).unwrap();
    let stdout_path = dir.join("stdout.txt");
    let stderr_path = dir.join("stderr.txt");
    let mut command = Command::new(env!("CARGO_BIN_EXE_mmbot"));
    command
        .args([opts.command, "--config"])
        .arg(&config_path)
        .args(&opts.args)
        .env("MMBOT_API_KEY", KEY)
        .env("MMBOT_API_SECRET", SECRET)
        .env("MMBOT_CONTROL_TOKEN", TOKEN)
        .env("RUST_LOG", "info,mmbot::recorded=debug")
        .envs(opts.env.iter().filter(|(_, v)| !v.is_empty()).copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (k, _) in opts.env.iter().filter(|(_, v)| v.is_empty()) {
        command.env_remove(k);
    }
    if opts.stdout_closed_pipe {
        command.stdout(Stdio::piped());
    }
    if let Some(limit) = opts.file_size_limit {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls (signal, setrlimit).
        unsafe {
            command.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let rl = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn().expect("mmbot starts");
    // The reader goes away at once: every write to stdout meets EPIPE.
    drop(child.stdout.take());
    Bot {
        child,
        control,
        dir,
        stdout_path,
        stderr_path,
    }
}

impl Drop for Bot {
    /// A failed test must not leave its bot running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Bot {
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        let r = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(r, 0, "kill failed");
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait for the process to end (panics after `limit`).
    pub fn wait_exit(mut self, limit: Duration) -> Exit {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let read = |p: &Path| {
                    let mut s = String::new();
                    std::fs::File::open(p).unwrap().read_to_string(&mut s).unwrap();
                    s
                };
                return Exit {
                    code: status.code().unwrap_or(-1),
                    elapsed: started.elapsed(),
                    stdout: read(&self.stdout_path),
                    stderr: read(&self.stderr_path),
                };
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let mut err = String::new();
                let _ = std::fs::File::open(&self.stderr_path).and_then(|mut f| f.read_to_string(&mut err));
                panic!(
                    "mmbot did not exit within {limit:?}; stderr tail:\n{}",
                    err.lines()
                        .rev()
                        .take(30)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn recorder_lines(&self) -> Vec<Value> {
        recorder_lines_in(&self.dir)
    }

    pub fn control_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.control)
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        bybit_sim::testkit::scrape_metrics(&self.control.to_string()).await
    }

    /// Wait until `/readyz` answers 200 (the bot's own view has its quotes resting); panics after `limit`.
    pub async fn wait_ready(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            let r = awc::Client::new().get(self.control_url("/readyz")).send().await;
            if r.is_ok_and(|r| r.status().as_u16() == 200) {
                return;
            }
            assert!(started.elapsed() < limit, "/readyz not 200 within {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `/status` as JSON.
    pub async fn status(&self) -> Value {
        awc::Client::new()
            .get(self.control_url("/status"))
            .send()
            .await
            .unwrap()
            .json()
            .limit(1 << 22)
            .await
            .unwrap()
    }
}

/// The `[exchange]` line that sends order requests by REST (the default, pinned for tests of
/// REST's own faults).
pub const REST_ORDER_ENTRY: &str = "order_entry = \"rest\"";
/// The `[exchange]` line that sends order requests over the trade socket.
pub const WS_ORDER_ENTRY: &str = "order_entry = \"websocket\"";

pub const STEPS: [&str; 7] = [
    "order_manager",
    "positions",
    "strategy",
    "ws_connector",
    "rest_connector",
    "web_server",
    "recorder",
];

/// The printed summary lists all six steps as ok.
pub fn assert_all_steps_ok(stdout: &str) {
    for step in STEPS {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!(" {step} ")))
            .unwrap_or_else(|| panic!("step {step} missing from:\n{stdout}"));
        assert!(line.contains(" ok "), "step {step} not ok: {line}");
    }
}

/// The value of the first series in Prometheus text that starts with `series`; -1 when absent.
pub fn metric(metrics: &str, series: &str) -> f64 {
    bybit_sim::testkit::metric_value(metrics, series).unwrap_or(-1.0)
}

/// `mmbot <command> --config <dir>/mmbot.toml` (a bot's config) with the test's secrets: its exit
/// code and its stdout followed by its stderr.
pub fn mmbot_subcommand(command: &str, bot_dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args([command, "--config"])
        .arg(bot_dir.join("mmbot.toml"))
        .env("MMBOT_API_KEY", KEY)
        .env("MMBOT_API_SECRET", SECRET)
        .env("MMBOT_CONTROL_TOKEN", TOKEN)
        .output()
        .expect("mmbot runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// GET `url` (with a bearer token if given): the status and the body as text.
pub async fn http_get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = awc::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let mut r = req.send().await.unwrap();
    let body = r.body().limit(1 << 22).await.unwrap();
    (r.status().as_u16(), String::from_utf8_lossy(&body).trim().to_string())
}
