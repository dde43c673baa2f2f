//! What an operator touches besides the dashboard, through the real binary: `check-config`'s
//! cross-field checks, words and advice (a grace period; a core to spare for busy polling); `--help`; a fatal start said once; JSON logs with
//! fields and the summary as one JSON object; HEAD on every GET route; `/metrics` clean under
//! `promtool check metrics` (Debian's `prometheus`; .ci/run installs it), every series the
//! Grafana dashboard queries present from the first scrape, and the previous run's shutdown
//! exported by the next run.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::*;

const PROMTOOL: &str = "/usr/bin/promtool";

fn mmbot(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("MMBOT_LOG_FORMAT")
        .output()
        .expect("mmbot runs")
}

#[test]
fn check_config_catches_cross_field_mistakes_in_words_and_gives_grace_advice() {
    let dir = temp_dir("check-config");
    // check-config on a file holding `text`: its exit code and stderr.
    let check = |name: &str, text: &str| {
        let file = dir.join(name);
        std::fs::write(&file, format!("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[shutdown]\n{text}")).unwrap();
        let out = mmbot(&["check-config", "--config", file.to_str().unwrap()]);
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, err) = check("bad.toml", "deadline_ms = 36000000\norder_manager_ms = 50000000\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("shutdown.deadline_ms: expected at most 3600000"), "{err}");
    assert!(
        err.contains("shutdown.order_manager_ms: expected at most shutdown.deadline_ms"),
        "{err}"
    );
    let (code, err) = check("typo.toml", "deadline_ms = \"40s\"\n");
    assert_eq!(code, Some(1));
    assert!(err.contains("expected a whole number") && !err.contains("u64"), "{err}");

    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml");
    let out = mmbot(&["check-config", "--config", default]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("advice:") && text.contains("docker stop -t 50"), "{text}");
}

/// `[market_thread] busy_poll` on a process held to one CPU (its affinity, as a container's
/// cpuset would): check-config advises a second core; on every CPU the machine has, it does not
/// (when the machine has two or more).
#[test]
fn check_config_advises_a_core_to_spare_for_busy_polling() {
    use std::os::unix::process::CommandExt;
    let dir = temp_dir("check-busy-poll");
    let file = dir.join("busy.toml");
    std::fs::write(
        &file,
        "mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[market_thread]\nbusy_poll = true\n",
    )
    .unwrap();
    let check = |one_cpu: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmbot"));
        cmd.args(["check-config", "--config", file.to_str().unwrap()]);
        if one_cpu {
            // SAFETY: sched_setaffinity on the child between fork and exec; no allocation.
            unsafe {
                cmd.pre_exec(|| {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(0, &mut set);
                    if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let out = cmd.output().expect("mmbot runs");
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let pinned = check(true);
    assert!(
        pinned.contains("busy_poll keeps one core at 100 %") && pinned.contains("1 CPU"),
        "{pinned}"
    );
    if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
        let free = check(false);
        assert!(!free.contains("busy_poll keeps"), "{free}");
    }
}

#[test]
fn help_explains_every_flag_and_the_environment() {
    let out = mmbot(&["run", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config",
        "--rest-url",
        "--ws-public-url",
        "--ws-private-url",
        "--ws-trade-url",
        "--control-listen",
        "--data-dir",
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(flag) || l.contains(&format!(", {flag} ")))
            .unwrap_or_else(|| panic!("{flag} in {help}"));
        // clap puts the description on the flag's line (or the next one when it is long).
        let described = line.trim_start().split_once("  ").is_some_and(|(_, d)| !d.trim().is_empty());
        let next = help.lines().skip_while(|l| *l != line).nth(1).unwrap_or("");
        assert!(described || next.starts_with("          "), "{flag} has no help text:\n{help}");
    }
    for var in [
        "MMBOT_API_KEY",
        "MMBOT_API_SECRET",
        "MMBOT_CONTROL_TOKEN",
        "MMBOT_LOG_FORMAT",
        "RUST_LOG",
        "MMBOT_REST_URL",
    ] {
        assert!(help.contains(var), "{var} in help");
    }
}

#[test]
fn a_failed_start_is_said_once() {
    let dir = temp_dir("failed-start");
    let config = dir.join("mmbot.toml");
    let port = free_port();
    std::fs::write(
        &config,
        format!(
            "mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[exchange]\nrest_url = \"http://{port}\"\nws_public_url = \"ws://{port}/p\"\nws_private_url = \"ws://{port}/q\"\nrequest_timeout_ms = 500\n[recorder]\ndir = \"{}\"\n[control]\nlisten = \"{}\"\n",
            dir.join("data").display(),
            free_port()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("MMBOT_API_KEY", KEY)
        .env("MMBOT_API_SECRET", SECRET)
        .env_remove("RUST_LOG")
        .env_remove("MMBOT_LOG_FORMAT")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("could not start").count(), 1, "said once:\n{err}");
    assert!(err.contains("exchange unreachable"), "{err}");
}

#[actix_rt::test]
async fn json_logs_carry_fields_and_the_summary_is_one_json_object() {
    let sim = start_sim();
    let mut bot = start_bot(
        "json-logs",
        &sim,
        BotOptions {
            env: vec![("MMBOT_LOG_FORMAT", "json"), ("RUST_LOG", "")],
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &["BTCUSDT", "ETHUSDT", "SOLUSDT"], 24, Duration::from_secs(30)).await;
    bot.wait_ready(Duration::from_secs(20)).await;
    // HEAD on every GET route: the headers of GET, no body.
    let http = awc::Client::new();
    for path in [
        "/",
        "/dashboard.js",
        "/healthz",
        "/readyz",
        "/status",
        "/events",
        "/history",
        "/metrics",
    ] {
        let mut r = http.head(bot.control_url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "HEAD {path}");
        assert!(r.body().await.unwrap().is_empty(), "HEAD {path} has no body");
    }
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stderr);
    let lines: Vec<Value> = exit
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let run = lines.iter().find_map(|l| l["run"].as_str()).expect("lines name the run");
    assert!(lines.iter().skip_while(|l| l["run"].is_null()).all(|l| l["run"] == run));
    // Library chatter stays below warn by default: every info line is mmbot's own.
    for l in lines.iter().filter(|l| l["level"] == "INFO") {
        let t = l["target"].as_str().unwrap();
        assert!(
            ["mmbot", "bybit_v5", "bybit_sim"].iter().any(|c| t.starts_with(c)),
            "library info line: {l}"
        );
    }
    let step = lines
        .iter()
        .find(|l| l["step"] == "order_manager" && l["status"] == "ok")
        .expect("the step's line carries step/status/elapsed_ms fields");
    assert!(step["elapsed_ms"].is_u64(), "{step}");
    let summary: Vec<Value> = exit.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(summary.len(), 1, "one JSON object on stdout: {}", exit.stdout);
    let report = &summary[0]["shutdown_report"];
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["steps"].as_array().map(Vec::len), Some(STEPS.len()));
}

fn content_type<T>(r: &awc::ClientResponse<T>) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn metric_names_in_grafana() -> Vec<String> {
    let dash: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grafana-dashboard.json")).unwrap())
            .unwrap();
    let mut names = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("mmbot_") || word.starts_with("process_") {
                    names.push(word.to_string());
                }
            }
        }
    }
    names
}

#[actix_rt::test]
async fn metrics_lint_clean_and_every_dashboard_series_exists_from_the_first_scrape() {
    let sim = start_sim();
    let dir = temp_dir("metrics-lint");
    let mut bot = start_bot_in(dir.clone(), &sim, BotOptions::default());
    // The first scrape the moment the server answers: before any order, fill or reconnect.
    let http = awc::Client::new();
    let first = loop {
        if let Ok(mut r) = http.get(bot.control_url("/metrics")).insert_header(("Accept", "*/*")).send().await {
            assert!(content_type(&r).starts_with("text/plain; version=0.0.4"));
            break String::from_utf8(r.body().await.unwrap().to_vec()).unwrap();
        }
        assert!(bot.is_running());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for name in metric_names_in_grafana() {
        assert!(
            first.lines().any(|l| l.starts_with(&name)),
            "{name} queried by Grafana but not in the first scrape"
        );
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(first.lines().any(|l| l.starts_with(name)), "{name}");
    }
    // Prometheus asks for OpenMetrics and gets it.
    let mut r = http
        .get(bot.control_url("/metrics"))
        .insert_header((
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        ))
        .send()
        .await
        .unwrap();
    assert!(content_type(&r).starts_with("application/openmetrics-text"));
    assert!(String::from_utf8(r.body().await.unwrap().to_vec()).unwrap().ends_with("# EOF\n"));
    wait_for_orders(&sim, &mut bot, &["BTCUSDT", "ETHUSDT", "SOLUSDT"], 24, Duration::from_secs(30)).await;
    let live = bot.metrics().await;
    assert!(
        std::path::Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is not installed (apt-get install prometheus); .ci/run installs it"
    );
    let mut lint = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .output_with_stdin(live.as_bytes());
    assert!(
        lint.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&std::mem::take(&mut lint.stderr))
    );
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
    // The next run exports how the last one stopped.
    let mut again = start_bot_in(dir, &sim, BotOptions::default());
    wait_for_orders(&sim, &mut again, &["BTCUSDT", "ETHUSDT", "SOLUSDT"], 24, Duration::from_secs(30)).await;
    let m = again.metrics().await;
    assert!(m.contains("mmbot_last_shutdown_exit_code 0"), "{m}");
    assert!(m.contains("mmbot_last_shutdown_cancelled_orders 24"), "{m}");
    let status = again.status().await;
    assert_eq!(status["previous_shutdown"]["exit_code"], 0);
    again.signal(libc::SIGTERM);
    assert_eq!(again.wait_exit(Duration::from_secs(40)).code, 0);
}

trait OutputWithStdin {
    fn output_with_stdin(&mut self, input: &[u8]) -> std::process::Output;
}

impl OutputWithStdin for Command {
    fn output_with_stdin(&mut self, input: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }
}

#[actix_rt::test]
async fn a_forced_exit_under_json_logs_prints_one_json_object() {
    let sim = start_sim();
    let opts = BotOptions {
        order_manager: "dcp_window_s = 0",
        env: vec![("MMBOT_LOG_FORMAT", "json")],
        ..Default::default()
    };
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let mut bot = start_bot("json-forced", &sim, opts);
    wait_for_orders(&sim, &mut bot, &symbols, 24, Duration::from_secs(30)).await;
    set_faults(
        &sim,
        serde_json::json!({"hang": ["/v5/order/cancel-all", "/v5/order/cancel-batch", "/v5/order/cancel", "/v5/trade"]}),
    )
    .await;
    bot.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(700)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.code, 5);
    let out: Vec<Value> = exit
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line not JSON ({e}): {l}")))
        .collect();
    assert_eq!(out.len(), 1, "{}", exit.stdout);
    let forced = &out[0]["forced_exit"];
    assert_eq!(forced["exit_code"], 5);
    let named: usize = forced["believed_open"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum();
    assert_eq!(named, 24, "{forced}");
    set_faults(&sim, serde_json::json!({})).await;
}
