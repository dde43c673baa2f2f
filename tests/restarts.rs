//! Restarts: after any exit (clean, forced, SIGKILL) a new mmbot on the same control port and
//! data directory starts at once and quotes within seconds, with no order of the old run left;
//! a second mmbot on a data directory in use refuses to start. Resource use is visible in
//! /metrics and /status and does not grow across restarts (the soak script's short form).

mod support;

use std::time::{Duration, Instant};

use support::*;

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

fn proc_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[actix_rt::test]
async fn restarts_on_the_same_port_and_data_dir_after_every_kind_of_exit() {
    let sim = start_sim();
    let dir = temp_dir("restarts");
    let control = free_port();
    let opts = || BotOptions {
        symbols: SYMBOLS.to_vec(),
        control: Some(control),
        order_manager: "dcp_window_s = 0",
        ..Default::default()
    };
    let mut fds = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for (round, how) in ["sigterm", "http", "forced", "sigkill", "sigint", "sigterm"].iter().enumerate() {
        let started = Instant::now();
        let mut bot = start_bot_in(dir.clone(), &sim, opts());
        // Quotes again within seconds, and nothing of the previous run rests next to the new quotes.
        loop {
            let orders = bot_orders(&sim, &SYMBOLS).await;
            let fresh = orders
                .iter()
                .filter(|o| !previous.iter().any(|p| o["orderLinkId"] == p.as_str()))
                .count();
            if fresh >= 16 {
                assert_eq!(fresh, orders.len(), "round {round}: orders of the previous run remain");
                break;
            }
            assert!(
                bot.is_running(),
                "round {round}: exited; {}",
                std::fs::read_to_string(&bot.stderr_path).unwrap_or_default()
            );
            assert!(started.elapsed() < Duration::from_secs(15), "round {round}: quoting within seconds");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if round == 0 {
            // A second bot on the same data directory refuses to start.
            let second = start_bot_in(
                dir.clone(),
                &sim,
                BotOptions {
                    control: Some(free_port()),
                    ..opts()
                },
            );
            let exit = second.wait_exit(Duration::from_secs(20));
            assert_eq!(exit.code, 1);
            assert!(exit.stderr.contains("is in use by mmbot pid"), "{}", exit.stderr);
        }
        let status = bot.status().await;
        assert!(
            status["resources"]["rss_bytes"].as_u64().unwrap() > 0,
            "resources in /status: {}",
            status["resources"]
        );
        let metrics = bot.metrics().await;
        let open_fds: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("process_open_fds "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        assert!(
            open_fds > 0.0 && metrics.contains("mmbot_mailbox_lag_seconds{actor=\"recorder\"}"),
            "{metrics}"
        );
        fds.push(proc_fds(bot.child.id()));
        previous = bot_orders(&sim, &SYMBOLS)
            .await
            .iter()
            .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
            .collect();
        let expected = match *how {
            "sigterm" => {
                bot.signal(libc::SIGTERM);
                0
            }
            "sigint" => {
                bot.signal(libc::SIGINT);
                0
            }
            "http" => {
                let r = awc::Client::new()
                    .post(bot.control_url("/shutdown"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202);
                0
            }
            "forced" => {
                // Every answer 3 s late: the first stop is still running when the second signal comes.
                set_faults(&sim, serde_json::json!({"latency_ms": {"*": 3000}})).await;
                bot.signal(libc::SIGTERM);
                tokio::time::sleep(Duration::from_millis(300)).await;
                bot.signal(libc::SIGTERM);
                5
            }
            _ => {
                bot.signal(libc::SIGKILL);
                -1
            }
        };
        let exit = bot.wait_exit(Duration::from_secs(40));
        set_faults(&sim, serde_json::json!({})).await;
        assert_eq!(exit.code, expected, "round {round} ({how})");
        if expected == 0 {
            assert!(
                bot_orders(&sim, &SYMBOLS).await.is_empty(),
                "round {round}: flat after a clean exit"
            );
        }
    }
    // Open descriptors stay flat from run to run.
    assert!(fds.iter().max().unwrap() - fds.iter().min().unwrap() <= 8, "fds per run: {fds:?}");
}
