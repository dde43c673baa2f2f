//! Answers lost at the wrong moment between an instance and etcd, through a fault proxy in front
//! of a real etcd, with two real mmbot processes on one bybit-sim account. Judged on the
//! exchange's order log: no moment with two runs' orders resting, and someone quoting at the end.

#[path = "support/etcd.rs"]
mod etcd;
#[path = "support/ha_pair.rs"]
mod ha_pair;
#[path = "support/http_proxy.rs"]
mod http_proxy;
#[path = "support/order_log.rs"]
mod order_log;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use ha_pair::{assert_no_overlap, requests_sent, role, run_id, stop_all_flat, wait_role, Lease, ORDERS, SYMBOLS};
use http_proxy::{Answer, HttpProxy};
use support::*;

const TTL_MS: u64 = 4_000;
const LEASE: Lease = Lease {
    ttl: TTL_MS,
    renew: 400,
    margin: 2_000,
    request_timeout: 300,
};

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

fn unb64(v: &Value) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or(""))
        .unwrap_or_default();
    String::from_utf8_lossy(&raw).into_owned()
}

/// Once armed: the first transaction that wins the key loses its answer, and from then on every
/// keep-alive of the lease it was put under loses its answer too. Watches pass nothing.
struct LostWin {
    armed: AtomicBool,
    lease: AtomicI64,
    txns_lost: AtomicUsize,
    keep_alives_lost: AtomicUsize,
}

impl LostWin {
    fn rule(self: &Arc<Self>) -> Arc<http_proxy::Rule> {
        let me = self.clone();
        Arc::new(move |x| {
            let pass = Answer::Pass(x.response.to_vec());
            if x.target.starts_with("/v3/kv/txn") && me.armed.load(Ordering::SeqCst) && json_of(x.response)["succeeded"] == true {
                let lease = json_of(x.request)["success"][0]["request_put"]["lease"]
                    .as_str()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                if me.txns_lost.fetch_add(1, Ordering::SeqCst) == 0 {
                    me.lease.store(lease, Ordering::SeqCst);
                    return Answer::Hold;
                }
            }
            if x.target.starts_with("/v3/lease/keepalive") {
                let id: i64 = json_of(x.request)["ID"].as_str().and_then(|l| l.parse().ok()).unwrap_or(-1);
                if id == me.lease.load(Ordering::SeqCst) {
                    me.keep_alives_lost.fetch_add(1, Ordering::SeqCst);
                    return Answer::Hold;
                }
            }
            pass
        })
    }
}

#[actix_rt::test]
async fn a_won_key_whose_answer_was_lost_under_a_lease_given_up_never_leaves_two_quoting() {
    let etcd = etcd::Etcd::start(temp_dir("ha-lost-win-etcd"));
    let sim = start_sim();
    let mut a = start_bot("ha-lost-win-a", &sim, ha_pair::options(&[&etcd.url()], LEASE, ""));
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;

    let faults = Arc::new(LostWin {
        armed: AtomicBool::new(false),
        lease: AtomicI64::new(-1),
        txns_lost: AtomicUsize::new(0),
        keep_alives_lost: AtomicUsize::new(0),
    });
    let proxy = HttpProxy::start(addr_of(&etcd.url()), &["/v3/watch"], faults.rule());
    // The watch is alive but never speaks: only the standby's periodic attempts find the key free.
    proxy.silence_streams();
    let mut b = start_bot("ha-lost-win-b", &sim, ha_pair::options(&[&proxy.url()], LEASE, ""));
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    let run_b = run_id(&b).await;

    faults.armed.store(true, Ordering::SeqCst);
    a.signal(libc::SIGKILL);
    let _ = a.child.wait();
    // The key lapses after the TTL; the standby's winning put loses its answer, then its lease's
    // keep-alives do: it must not quote on a key bound to a lease it no longer renews.
    wait_role(&mut b, "active", Duration::from_secs(40)).await;
    assert_eq!(faults.txns_lost.load(Ordering::SeqCst).min(1), 1, "the winning answer was lost");
    assert!(
        faults.keep_alives_lost.load(Ordering::SeqCst) >= 1,
        "the old lease's keep-alives were lost"
    );
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;

    // The first instance comes back (Kubernetes restarts it) once the given-up lease could have
    // lapsed: it must stand by, not quote beside the other.
    tokio::time::sleep(Duration::from_millis(TTL_MS + 500)).await;
    let mut a2 = start_bot("ha-lost-win-a2", &sim, ha_pair::options(&[&etcd.url()], LEASE, ""));
    wait_role(&mut a2, "standby", Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(TTL_MS + 2_000)).await;
    assert_eq!(role(&a2).await, "standby");
    assert_eq!(requests_sent(&a2).await.1, 0.0, "the restarted one sent no order request");

    let log = assert_no_overlap(&sim).await;
    let runs: Vec<String> = order_log::runs(&log).into_keys().collect();
    assert!(runs.contains(&run_b), "{runs:?}");
    assert_eq!(role(&b).await, "active", "someone quotes at the end");
    assert_eq!(bot_orders(&sim, &SYMBOLS).await.len(), ORDERS);
    stop_all_flat(&sim, vec![b, a2]).await;
}

#[actix_rt::test]
async fn a_kill_switch_whose_first_puts_fail_is_kept_and_the_standby_never_takes_over() {
    let etcd = etcd::Etcd::start(temp_dir("ha-kill-retry-etcd"));
    let sim = start_quiet_sim();
    let refused = Arc::new(AtomicUsize::new(0));
    let r = refused.clone();
    // The active's etcd member refuses the kill switch's first three puts, applying nothing.
    let proxy = HttpProxy::start_refusing(
        addr_of(&etcd.url()),
        &["/v3/watch"],
        Arc::new(move |target: &str, body: &[u8]| {
            let kill_put = target.starts_with("/v3/kv/put") && unb64(&json_of(body)["key"]).ends_with("/kill-switch");
            (kill_put && r.fetch_add(1, Ordering::SeqCst) < 3).then(|| (503, br#"{"error":"etcdserver: no leader","code":14}"#.to_vec()))
        }),
        Arc::new(|x| Answer::Pass(x.response.to_vec())),
    );
    let mut a = start_bot(
        "ha-kill-retry-a",
        &sim,
        ha_pair::options(&[&proxy.url()], LEASE, "max_drawdown = 0.05"),
    );
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let mut b = start_bot(
        "ha-kill-retry-b",
        &sim,
        ha_pair::options(&[&etcd.url()], LEASE, "max_drawdown = 1000"),
    );
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;
    let run_b = run_id(&b).await;

    bybit_sim::testkit::Admin::new(&sim.rest_url()).shock("BTCUSDT", -100.0).await;
    let exit = a.wait_exit(Duration::from_secs(60));
    assert!(exit.stdout.contains("kill switch: drawdown"), "{}", exit.stdout);
    assert!(refused.load(Ordering::SeqCst) >= 4, "the refused puts were tried again");
    assert!(exit.stdout.contains("the kill switch is kept for the account"), "{}", exit.stdout);

    tokio::time::sleep(Duration::from_millis(TTL_MS + 2_000)).await;
    let status = b.status().await;
    assert_eq!(status["ha"]["role"], "standby", "{}", status["ha"]);
    assert!(status["ha"]["kill_switch"].as_str().unwrap_or("").contains("drawdown"));
    let log = order_log::read(&sim.rest_url(), PREFIX).await;
    assert!(order_log::first_opened_us(&log, &run_b).is_none(), "the standby never quoted");
    b.signal(libc::SIGTERM);
    assert_eq!(b.wait_exit(Duration::from_secs(60)).code, 0);
}

#[actix_rt::test]
async fn an_active_that_lost_its_lease_sends_no_close_that_could_land_after_it_lapsed() {
    let etcd = etcd::Etcd::start(temp_dir("ha-lost-close-etcd"));
    let sim = start_sim_with(|c| c.market.volatility_bps = 0.0);
    let held = buy_by_hand(&sim, "0.012").await;
    // A margin that fits the stop's closes (recv window 1500 + 1000 + positions step 2000).
    let lease = Lease {
        ttl: 7_000,
        renew: 400,
        margin: 4_500,
        request_timeout: 300,
    };
    let closing = |urls: &[&str]| BotOptions {
        shutdown: "close_positions = true\npositions_ms = 2000",
        exchange: "recv_window_ms = 1500\norder_entry = \"rest\"",
        ..ha_pair::options(urls, lease, "")
    };
    let link = etcd::Link::to(addr_of(&etcd.url()));
    let mut a = start_bot("ha-lost-close-a", &sim, closing(&[&link.url()]));
    wait_role(&mut a, "active", Duration::from_secs(60)).await;
    wait_for_orders(&sim, &mut a, &SYMBOLS, ORDERS, Duration::from_secs(60)).await;
    let mut b = start_bot("ha-lost-close-b", &sim, closing(&[&etcd.url()]));
    wait_role(&mut b, "standby", Duration::from_secs(60)).await;

    // The active's cancels are slow: by the time its positions step runs, a close could land
    // after its lease could lapse — when the next active may have read the long as its own.
    let slow = serde_json::json!({"latency_ms": {"/v5/trade": 4500, "/v5/order/cancel": 4500, "/v5/order/cancel-batch": 4500, "/v5/order/cancel-all": 4500}});
    set_faults(&sim, slow).await;
    link.cut();
    let exit = a.wait_exit(Duration::from_secs(60));
    assert!(exit.stdout.contains("lease not renewed"), "{}", exit.stdout);
    assert!(exit.stdout.contains("closes withheld"), "{}", exit.stdout);
    set_faults(&sim, serde_json::json!({})).await;
    assert_eq!(exchange_position(&sim, "BTCUSDT").await, held, "no close of the old active landed");

    wait_role(&mut b, "active", Duration::from_secs(30)).await;
    wait_for_orders(&sim, &mut b, &SYMBOLS, ORDERS, Duration::from_secs(30)).await;
    let status = b.status().await;
    assert_eq!(dec(&status["positions"]["BTCUSDT"]), held, "the new active inherits the long");
    assert_no_overlap(&sim).await;
    b.signal(libc::SIGTERM);
    let exit = b.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(
        exchange_position(&sim, "BTCUSDT").await.is_zero(),
        "the active that held the lease closed it"
    );
}
