//! Two real mmbot processes on one account of one bybit-sim, a real etcd between them: exactly
//! one quotes. Judged from the exchange's own order log (`/sim/orders`: every order's open and
//! close in the exchange's event order): orders of two runs never rest together, and the gap
//! between the old active's last order and the new one's first is measured.

#[path = "support/etcd.rs"]
mod etcd;
#[path = "support/ha_pair.rs"]
mod ha_pair;
#[path = "support/order_log.rs"]
mod order_log;
mod support;

use std::time::{Duration, Instant};

use ha_pair::{assert_no_overlap, events_so_far, recorded, requests_sent, role, run_id, stop_all_flat, wait_role, Lease, ORDERS, SYMBOLS};
use support::*;

const LEASE: Lease = Lease {
    ttl: TTL_MS,
    renew: RENEW_MS,
    margin: 2_000,
    request_timeout: 300,
};
const TTL_MS: u64 = 4_000;
const RENEW_MS: u64 = 400;

fn ha_bot(name: &str, sim: &bybit_sim::SimHandle, etcd_url: &str) -> Bot {
    start_bot(name, sim, ha_pair::options(&[etcd_url], LEASE, ""))
}

fn ha_bot_with(name: &str, sim: &bybit_sim::SimHandle, etcd_url: &str, risk: &'static str) -> Bot {
    start_bot(name, sim, ha_pair::options(&[etcd_url], LEASE, risk))
}

/// An active with its quotes resting, and a standby that is warm, sends nothing and says so.
async fn active_and_standby(name: &str, sim: &bybit_sim::SimHandle, etcd_url: &str) -> (Bot, Bot) {
    let mut a = ha_bot(&format!("{name}-a"), sim, etcd_url);
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let mut b = ha_bot(&format!("{name}-b"), sim, etcd_url);
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    b.wait_ready(Duration::from_secs(60)).await;
    let before = requests_sent(&b).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = requests_sent(&b).await;
    assert_eq!(after.1, 0.0, "a standby sends no order request");
    assert_eq!(after.0, before.0, "a standby reads nothing on a schedule: {before:?} → {after:?}");
    let status = b.status().await;
    assert_eq!(status["open_orders"].as_array().map(Vec::len), Some(0));
    assert!(
        status["ha"]["holder"].as_str().unwrap_or("").contains(&run_id(&a).await),
        "the standby names the active: {}",
        status["ha"]
    );
    let m = b.metrics().await;
    assert_eq!(metric(&m, "mmbot_ha_role "), 0.0, "{m}");
    assert_eq!(metric(&a.metrics().await, "mmbot_ha_role "), 1.0);
    (a, b)
}

#[actix_rt::test]
async fn a_planned_handover_by_sigterm_leaves_no_moment_with_two_runs_quoting() {
    let etcd = etcd::Etcd::start(temp_dir("ha-planned-etcd"));
    let sim = start_sim();
    let (a, mut b) = active_and_standby("ha-planned", &sim, &etcd.url()).await;
    let (run_a, run_b) = (run_id(&a).await, run_id(&b).await);

    a.signal(libc::SIGTERM);
    let exit = a.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 0, "stdout:\n{}\nstderr:\n{}", exit.stdout, exit.stderr);
    assert!(exit.stdout.contains("lease released"), "{}", exit.stdout);
    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;

    let log = assert_no_overlap(&sim).await;
    let gap_ms = (order_log::first_opened_us(&log, &run_b).unwrap() as f64
        - order_log::last_closed_us(&log, &run_a).expect("every order of the old active closed") as f64)
        / 1000.0;
    eprintln!("planned handover: quoting gap {gap_ms:.1} ms");
    assert!(gap_ms > 0.0 && gap_ms < 5_000.0, "gap {gap_ms} ms");
    let m = b.metrics().await;
    assert_eq!(metric(&m, "mmbot_ha_role "), 1.0);
    assert_eq!(
        metric(&m, "mmbot_ha_transitions_total{from=\"standby\",to=\"taking over\"}"),
        1.0,
        "{m}"
    );
    recorded(&b, |e| e["kind"] == "ha_role" && e["to"] == "active").await;
    let roles: Vec<String> = events_so_far(&b)
        .iter()
        .filter(|e| e["kind"] == "ha_role")
        .map(|e| format!("{} → {}", e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        ["standby → taking over", "taking over → active"],
        "the audit trail has every role change"
    );

    b.signal(libc::SIGTERM);
    let exit = b.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 0, "{}", exit.stderr);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn after_sigkill_of_the_active_the_standby_cancels_its_orders_and_quotes_within_the_ttl() {
    let etcd = etcd::Etcd::start(temp_dir("ha-kill-etcd"));
    let sim = start_sim();
    let (mut a, mut b) = active_and_standby("ha-kill", &sim, &etcd.url()).await;
    let (run_a, run_b) = (run_id(&a).await, run_id(&b).await);

    let killed = Instant::now();
    a.signal(libc::SIGKILL);
    let _ = a.child.wait();
    wait_role(&mut b, "active", Duration::from_millis(TTL_MS) + Duration::from_secs(20)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    let took = killed.elapsed();
    eprintln!(
        "SIGKILL takeover: quoting again {} ms after the kill (TTL {TTL_MS} ms)",
        took.as_millis()
    );
    // The lease lapses no earlier than its TTL after the last renewal (≤ RENEW_MS before the kill).
    assert!(
        took >= Duration::from_millis(TTL_MS - RENEW_MS - 100),
        "took over before the lease could lapse: {took:?}"
    );

    let log = assert_no_overlap(&sim).await;
    assert!(
        order_log::last_closed_us(&log, &run_a).is_some(),
        "the killed run's orders are all cancelled"
    );
    assert!(order_log::first_opened_us(&log, &run_b).is_some());
    let reconciled = recorded(&b, |e| e["kind"] == "startup_reconciliation").await;
    assert_eq!(reconciled["cancelled"].as_u64(), Some(ORDERS as u64), "{reconciled}");
}

#[actix_rt::test]
async fn an_active_cut_off_from_etcd_flattens_before_its_lease_can_lapse_and_only_then_the_standby_quotes() {
    let etcd = etcd::Etcd::start(temp_dir("ha-cut-etcd"));
    let sim = start_sim();
    let link = etcd::Link::to(etcd.url().trim_start_matches("http://").parse().unwrap());
    let mut a = ha_bot("ha-cut-a", &sim, &link.url());
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let mut b = ha_bot("ha-cut-b", &sim, &etcd.url());
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    let (run_a, run_b) = (run_id(&a).await, run_id(&b).await);

    let cut_us = order_log::now_us();
    link.cut();
    let exit = a.wait_exit(Duration::from_secs(60));
    assert!(exit.stdout.contains("lease not renewed"), "stdout:\n{}", exit.stdout);
    assert!(exit.stdout.contains("zero open orders verified"), "stdout:\n{}", exit.stdout);
    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;

    let log = assert_no_overlap(&sim).await;
    let a_flat = order_log::last_closed_us(&log, &run_a).expect("the cut-off active cancelled all its orders");
    let b_first = order_log::first_opened_us(&log, &run_b).unwrap();
    // The lease was last renewed at most RENEW_MS (+ a round trip) before the cut, so it lapses no
    // earlier than cut + TTL − RENEW_MS − that; the active had to be flat before then.
    let lapse_floor = cut_us + (TTL_MS - RENEW_MS - 100) * 1000;
    eprintln!(
        "etcd cut: active flat {} ms after the cut, standby's first order {} ms after it",
        (a_flat - cut_us) / 1000,
        (b_first - cut_us) / 1000
    );
    assert!(a_flat < lapse_floor, "flat {} ms after the cut", (a_flat - cut_us) / 1000);
    assert!(b_first > a_flat);
    let reconciled = recorded(&b, |e| e["kind"] == "startup_reconciliation").await;
    assert_eq!(
        reconciled["cancelled"].as_u64(),
        Some(0),
        "the old active left nothing: {reconciled}"
    );
}

#[actix_rt::test]
async fn two_started_at_once_make_exactly_one_active() {
    let etcd = etcd::Etcd::start(temp_dir("ha-race-etcd"));
    let sim = start_sim();
    // One of them names a dead etcd endpoint first: it moves on to the next.
    let dead = format!("http://{}", free_port());
    let mut a = start_bot("ha-race-a", &sim, ha_pair::options(&[&dead, &etcd.url()], LEASE, ""));
    let mut b = ha_bot("ha-race-b", &sim, &etcd.url());
    let limit = Instant::now() + Duration::from_secs(60);
    let (active, standby) = loop {
        assert!(a.is_running() && b.is_running());
        let (ra, rb) = (role(&a).await, role(&b).await);
        match (ra.as_str(), rb.as_str()) {
            ("active", "standby") => break (a, b),
            ("standby", "active") => break (b, a),
            ("active", "active") => panic!("both active"),
            _ => {}
        }
        assert!(Instant::now() < limit, "roles {ra}/{rb}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut active = active;
    wait_for_orders(&sim, &mut active, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(role(&standby).await, "standby");
    // Both reach etcd (the one whose first endpoint is dead too) and the standby names the active.
    let s = standby.status().await;
    assert_eq!(s["ha"]["etcd"], "ok", "{}", s["ha"]);
    assert!(
        s["ha"]["holder"].as_str().unwrap_or("").contains(&run_id(&active).await),
        "{}",
        s["ha"]
    );
    assert_eq!(active.status().await["ha"]["etcd"], "ok");
    standby.wait_ready(Duration::from_secs(5)).await;
    let log = assert_no_overlap(&sim).await;
    let runs: Vec<String> = order_log::runs(&log).into_keys().collect();
    assert_eq!(runs, vec![run_id(&active).await], "only the active ever placed an order");
    stop_all_flat(&sim, vec![active, standby]).await;
}

#[actix_rt::test]
async fn a_kill_switch_on_the_active_holds_the_account_until_an_operator_clears_it() {
    let etcd = etcd::Etcd::start(temp_dir("ha-kill-switch-etcd"));
    let sim = start_quiet_sim();
    let mut a = ha_bot_with("ha-kill-switch-a", &sim, &etcd.url(), "max_drawdown = 0.05");
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    // The standby would not trip on the position it inherits: its own limit is wide.
    let mut b = ha_bot_with("ha-kill-switch-b", &sim, &etcd.url(), "max_drawdown = 1000");
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    let run_b = run_id(&b).await;

    // The market drops 1 %: the active's bids fill on the way down and its long loses.
    bybit_sim::testkit::Admin::new(&sim.rest_url()).shock("BTCUSDT", -100.0).await;
    let exit = a.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(exit.stdout.contains("kill switch: drawdown"), "{}", exit.stdout);
    assert!(exit.stdout.contains("the kill switch is kept for the account"), "{}", exit.stdout);

    // Well past the lease's TTL: the standby stands by, says why, and has sent no order.
    tokio::time::sleep(Duration::from_millis(TTL_MS + 2_000)).await;
    let status = b.status().await;
    assert_eq!(status["ha"]["role"], "standby", "{}", status["ha"]);
    assert!(
        status["ha"]["kill_switch"].as_str().unwrap_or("").contains("drawdown"),
        "{}",
        status["ha"]
    );
    assert_eq!(requests_sent(&b).await.1, 0.0);
    let log = order_log::read(&sim.rest_url(), PREFIX).await;
    assert!(order_log::first_opened_us(&log, &run_b).is_none());

    // The operator clears it (from either instance's config): the standby takes over.
    let (code, out) = mmbot_subcommand("clear-kill-switch", &b.dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("deleted from etcd"), "{out}");
    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    assert_no_overlap(&sim).await;
    b.signal(libc::SIGTERM);
    assert_eq!(b.wait_exit(Duration::from_secs(60)).code, 0);
}

#[actix_rt::test]
async fn a_take_over_slower_than_the_lease_margin_keeps_renewing_and_quotes() {
    let etcd = etcd::Etcd::start(temp_dir("ha-slow-etcd"));
    let sim = start_sim();
    // TTL − margin is 2 s; the receive window (under the margin) lets a 2.5 s answer through
    // with room to spare on a loaded host.
    let lease = Lease {
        ttl: 6_000,
        renew: 400,
        margin: 4_000,
        request_timeout: 300,
    };
    let opts = || BotOptions {
        exchange: "recv_window_ms = 3900",
        ..ha_pair::options(&[&etcd.url()], lease, "")
    };
    let mut a = start_bot("ha-slow-a", &sim, opts());
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let mut b = start_bot("ha-slow-b", &sim, opts());
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    let run_b = run_id(&b).await;
    // The positions answer after 2.5 s: the take-over (which reads them before the first quote)
    // outlasts TTL − margin (2 s), so the lease must be renewed while it runs. The old active
    // releases the lease before its own positions step.
    set_faults(&sim, serde_json::json!({"latency_ms": {"/v5/position/list": 2_500}})).await;
    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(Duration::from_secs(60)).code, 0);
    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    let taken = recorded(&b, |e| e["kind"] == "ha_role" && e["to"] == "active").await;
    let ms: u64 = taken["why"]
        .as_str()
        .unwrap()
        .split(" in ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(ms >= 2_000, "the take-over was meant to outlast the margin: {ms} ms");
    let log = assert_no_overlap(&sim).await;
    assert!(order_log::first_opened_us(&log, &run_b).is_some());
    set_faults(&sim, serde_json::json!({})).await;
    b.signal(libc::SIGTERM);
    assert_eq!(b.wait_exit(Duration::from_secs(60)).code, 0);
}

/// Order units and reads the exchange refused with 10006 on the test account, from `/sim/stats`.
async fn refused_for_budget(sim: &bybit_sim::SimHandle) -> (u64, u64) {
    let stats = bybit_sim::testkit::Admin::new(&sim.rest_url()).stats().await;
    let account = stats["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["api_key"] == KEY)
        .unwrap()
        .clone();
    (
        account["rate_limited_units"].as_u64().unwrap(),
        account["rate_limited_reads"].as_u64().unwrap(),
    )
}

#[actix_rt::test]
async fn a_handover_right_after_the_active_quoted_stays_inside_the_exchanges_budget() {
    let etcd = etcd::Etcd::start(temp_dir("ha-budget-etcd"));
    let sim = start_sim();
    let mut a = ha_bot("ha-budget-a", &sim, &etcd.url());
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    let mut b = ha_bot("ha-budget-b", &sim, &etcd.url());
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    // A's quotes go out just before it is stopped: its creates and cancels are still in the
    // exchange's one-second windows when B sends its own.
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let quoted = Instant::now();
    a.signal(libc::SIGTERM);
    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    eprintln!("B quoting {} ms after A's quotes rested", quoted.elapsed().as_millis());
    assert_eq!(a.wait_exit(Duration::from_secs(60)).code, 0);
    assert_eq!(
        refused_for_budget(&sim).await,
        (0, 0),
        "the new active knew what the old one had spent in the last second"
    );
    assert_no_overlap(&sim).await;
    b.signal(libc::SIGTERM);
    assert_eq!(b.wait_exit(Duration::from_secs(60)).code, 0);
}

#[actix_rt::test]
async fn a_standby_changes_nothing_on_the_account_and_makes_the_changes_once_it_takes_over() {
    let etcd = etcd::Etcd::start(temp_dir("ha-account-etcd"));
    let sim = start_sim();
    let with_leverage = |name: &str| {
        let opts = BotOptions {
            account: "leverage = 3",
            ..ha_pair::options(&[&etcd.url()], LEASE, "")
        };
        start_bot(name, &sim, opts)
    };
    let mut a = with_leverage("ha-account-a");
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let since = order_log::now_us();
    let mut b = with_leverage("ha-account-b");
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    b.wait_ready(Duration::from_secs(60)).await;
    assert_eq!(
        requests_on(&sim, "/v5/position/set-leverage", since).await,
        0,
        "a standby sets nothing on the live account"
    );
    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(Duration::from_secs(60)).code, 0);
    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    assert_eq!(
        requests_on(&sim, "/v5/position/set-leverage", since).await,
        SYMBOLS.len(),
        "the new active sets the leverage, once per symbol"
    );
    b.signal(libc::SIGTERM);
    assert_eq!(b.wait_exit(Duration::from_secs(60)).code, 0);
}
