//! Randomized handovers between two real mmbot processes on one account, a real etcd between
//! them: each trial does one of SIGTERM, SIGKILL, cutting the active's link to etcd, or
//! restarting etcd (down for a random time, sometimes longer than the active can bear), then
//! waits until one instance quotes again and a replacement stands by. The exchange's order log
//! judges: no two runs' orders ever rest together, in any trial. `MMBOT_HA_TRIALS` trials (4
//! here; `bench/ha.sh` runs 100 and prints the gaps' percentiles), seed `MMBOT_HA_SEED`.

#[path = "support/etcd.rs"]
mod etcd;
#[path = "support/ha_pair.rs"]
mod ha_pair;
#[path = "support/order_log.rs"]
mod order_log;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ha_pair::{status, Lease, ORDERS, SYMBOLS};
use rand::{Rng, SeedableRng};
use support::*;

const TTL_MS: u64 = 3_000;
const RENEW_MS: u64 = 300;
const MARGIN_MS: u64 = 2_000;
const LEASE: Lease = Lease {
    ttl: TTL_MS,
    renew: RENEW_MS,
    margin: MARGIN_MS,
    request_timeout: 250,
};

struct Member {
    bot: Bot,
    link: etcd::Link,
    run_id: String,
}

async fn start_member(name: String, sim: &bybit_sim::SimHandle, etcd_url: &str) -> Member {
    let link = etcd::Link::to(etcd_url.trim_start_matches("http://").parse().unwrap());
    let url = link.url();
    let mut bot = start_bot(&name, sim, ha_pair::options(&[&url], LEASE, ""));
    let started = Instant::now();
    let run_id = loop {
        assert!(bot.is_running(), "{} exited at start; see {}", name, bot.stderr_path.display());
        if let Some(s) = status(&bot).await {
            break s["run_id"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Member { bot, link, run_id }
}

/// Poll both until one is active with its quotes resting on the exchange; never two active.
async fn wait_one_quoting(members: &mut [Member], sim: &bybit_sim::SimHandle, limit: Duration) -> usize {
    let started = Instant::now();
    loop {
        let mut active = Vec::new();
        for (i, m) in members.iter_mut().enumerate() {
            if !m.bot.is_running() {
                continue;
            }
            if status(&m.bot).await.is_some_and(|s| s["ha"]["role"] == "active") {
                active.push(i);
            }
        }
        assert!(active.len() <= 1, "two instances say active: {active:?}");
        if let Some(&i) = active.first() {
            let open = bot_orders(sim, &SYMBOLS).await;
            let mine = open
                .iter()
                .filter(|o| o["orderLinkId"].as_str().unwrap_or("").contains(&members[i].run_id))
                .count();
            if mine >= ORDERS {
                return i;
            }
        }
        assert!(started.elapsed() < limit, "nobody quoting within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Sigterm,
    Sigkill,
    CutLink,
    RestartEtcd,
}

#[actix_rt::test]
async fn randomized_handovers_never_leave_two_runs_quoting() {
    let mut etcd = etcd::Etcd::start(temp_dir("ha-trials-etcd"));
    let trials: usize = std::env::var("MMBOT_HA_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let seed: u64 = std::env::var("MMBOT_HA_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("ha trials: {trials}, seed {seed} (MMBOT_HA_SEED={seed} repeats them)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sim = start_sim();
    // A round trip to the exchange (every REST answer delayed; MMBOT_HA_RTT_MS).
    let rtt: u64 = std::env::var("MMBOT_HA_RTT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if rtt > 0 {
        set_faults(&sim, serde_json::json!({"latency_ms": {"*": rtt}})).await;
        eprintln!("exchange round trip: {rtt} ms");
    }
    let mut spawned = 0;
    let mut members = Vec::new();
    for _ in 0..2 {
        spawned += 1;
        members.push(start_member(format!("ha-trial-{spawned}"), &sim, &etcd.url()).await);
    }
    // Per action: (book empty: old run's last close → new run's first open; action → new first open).
    let mut gaps: BTreeMap<Action, Vec<(f64, f64)>> = BTreeMap::new();
    let mut kept = 0;
    for trial in 0..trials {
        let active = wait_one_quoting(&mut members, &sim, Duration::from_secs(60)).await;
        // The other one is up and standing by before anything happens to the active.
        let standby = 1 - active;
        let ready = Instant::now();
        while status(&members[standby].bot).await.is_none_or(|s| s["ha"]["role"] != "standby") {
            assert!(
                members[standby].bot.is_running(),
                "standby exited; see {}",
                members[standby].bot.stderr_path.display()
            );
            assert!(ready.elapsed() < Duration::from_secs(60));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let action = match rng.gen_range(0..4) {
            0 => Action::Sigterm,
            1 => Action::Sigkill,
            2 => Action::CutLink,
            _ => Action::RestartEtcd,
        };
        let old = members[active].run_id.clone();
        let at_us = order_log::now_us();
        match action {
            Action::Sigterm => members[active].bot.signal(libc::SIGTERM),
            Action::Sigkill => members[active].bot.signal(libc::SIGKILL),
            Action::CutLink => members[active].link.cut(),
            Action::RestartEtcd => {
                etcd.kill();
                tokio::time::sleep(Duration::from_millis(rng.gen_range(0..2 * TTL_MS))).await;
                etcd.start_again();
            }
        }
        if action == Action::RestartEtcd {
            // The active either bore the outage (renewed within TTL − margin) or gave up and
            // exits: either way it knows within TTL − margin of the restart.
            tokio::time::sleep(Duration::from_millis(TTL_MS - MARGIN_MS + RENEW_MS)).await;
        } else {
            let gone = Instant::now();
            while members[active].bot.is_running() {
                assert!(gone.elapsed() < Duration::from_secs(60), "the old active did not exit");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let now_active = wait_one_quoting(&mut members, &sim, Duration::from_secs(60)).await;
        let new = members[now_active].run_id.clone();
        let log = order_log::read(&sim.rest_url(), PREFIX).await;
        let both = order_log::overlaps(&log);
        assert!(
            both.is_empty(),
            "trial {trial} ({action:?}): two runs rested together: {:?}",
            &both[..both.len().min(5)]
        );
        if new == old {
            kept += 1;
            eprintln!("trial {trial}: {action:?}: the active kept its lease");
        } else {
            let first = order_log::first_opened_us(&log, &new).unwrap() as f64;
            let closed = order_log::last_closed_us(&log, &old).expect("the old run's orders all closed") as f64;
            let (gap, since) = ((first - closed) / 1000.0, (first - at_us as f64) / 1000.0);
            eprintln!("trial {trial}: {action:?}: book empty {gap:.1} ms, quoting again {since:.1} ms after the action");
            gaps.entry(action).or_default().push((gap, since));
        }
        // Whoever is not running any more is replaced: a new instance stands by.
        for (i, member) in members.iter_mut().enumerate() {
            if i != now_active && !member.bot.is_running() {
                spawned += 1;
                *member = start_member(format!("ha-trial-{spawned}"), &sim, &etcd.url()).await;
            }
        }
    }
    for m in members.iter_mut() {
        m.bot.signal(libc::SIGTERM);
    }
    for m in members {
        let exit = m.bot.wait_exit(Duration::from_secs(60));
        assert!(exit.code == 0, "exit {}: {}", exit.code, exit.stderr);
    }
    let log = order_log::read(&sim.rest_url(), PREFIX).await;
    assert!(order_log::overlaps(&log).is_empty());
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "nothing left resting");
    eprintln!(
        "{trials} trials, {} runs, 0 overlaps; the active kept its lease in {kept}",
        order_log::runs(&log).len()
    );
    eprintln!("action       n   book empty p50/p90/max ms   quoting again p50/p90/max ms");
    for (action, v) in &gaps {
        let (g, s): (Vec<f64>, Vec<f64>) = v.iter().copied().unzip();
        let p = |v: &[f64], q| order_log::percentile(v, q);
        eprintln!(
            "{:<12} {:>3}   {:>7.1} {:>7.1} {:>7.1}        {:>7.1} {:>7.1} {:>7.1}",
            format!("{action:?}"),
            v.len(),
            p(&g, 0.5),
            p(&g, 0.9),
            p(&g, 1.0),
            p(&s, 0.5),
            p(&s, 0.9),
            p(&s, 1.0)
        );
    }
}
