//! The strategy on a real exchange: fills happen and move PnL, inventory skews the quotes,
//! position limits stop the side that would grow the position, a stale book pulls its quotes,
//! and the kill switch stops the bot cleanly through the Supervisor.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

fn quiet_sim() -> bybit_sim::SimHandle {
    start_sim_with(|c| {
        c.market.volatility_bps = 0.0;
        c.market.trade_probability = 0.0;
    })
}

async fn sell_into_the_bot(sim: &bybit_sim::SimHandle, qty: &str) {
    let r: Value = awc::Client::new()
        .post(format!("{}/sim/trade", sim.rest_url()))
        .send_json(&json!({"symbol": "BTCUSDT", "side": "Sell", "qty": qty}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["filled"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
}

/// (mid - best own bid, best own ask - mid) of the bot's resting orders.
async fn own_distances(sim: &bybit_sim::SimHandle) -> (f64, f64) {
    let c = exchange(sim);
    let ob = c
        .public("/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=200")
        .await
        .unwrap();
    let orders = bot_orders(sim, &["BTCUSDT"]).await;
    let price = |o: &Value| o["price"].as_str().unwrap().parse::<f64>().unwrap();
    let bid = orders.iter().filter(|o| o["side"] == "Buy").map(price).fold(f64::MIN, f64::max);
    let ask = orders.iter().filter(|o| o["side"] == "Sell").map(price).fold(f64::MAX, f64::min);
    // The market's own mid: the synthetic book's best levels (the bot quotes wider than them).
    let level = |side: &str| ob.body["result"][side][0][0].as_str().unwrap().parse::<f64>().unwrap();
    let mid = (level("b") + level("a")) / 2.0;
    (mid - bid, ask - mid)
}

#[actix_rt::test]
async fn fills_move_pnl_and_inventory_skews_quotes() {
    let sim = quiet_sim();
    let opts = BotOptions {
        symbols: vec!["BTCUSDT"],
        levels: 2,
        strategy: "inventory_skew_bps = 5",
        ..Default::default()
    };
    let mut bot = start_bot("skew", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (bid_flat, ask_flat) = own_distances(&sim).await;
    assert!(
        (bid_flat - ask_flat).abs() < 1.0,
        "flat quotes are symmetric: {bid_flat} / {ask_flat}"
    );
    // Sell through the synthetic bids into the bot's: it buys, so it is long.
    sell_into_the_bot(&sim, "6.000").await;
    let started = Instant::now();
    let (bid_long, ask_long) = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let d = own_distances(&sim).await;
        let s = bot.status().await;
        let long = s["positions"]["BTCUSDT"]
            .as_str()
            .map(|p| p.parse::<f64>().unwrap() > 0.0)
            .unwrap_or(false);
        if long && d.1 < d.0 - 1.0 {
            break d;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "quotes skew after the fill: {d:?}, status {}",
            s["positions"]
        );
    };
    assert!(
        ask_long < ask_flat && bid_long > bid_flat,
        "long: asks come closer, bids move away ({bid_long}, {ask_long})"
    );
    let s = bot.status().await;
    let pnl = &s["pnl"]["symbols"]["BTCUSDT"];
    assert!(pnl["position"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{pnl}");
    assert!(
        pnl["fees"].as_str().unwrap().parse::<f64>().unwrap() > 0.0,
        "maker fees counted: {pnl}"
    );
    let metrics = bot.metrics().await;
    assert!(metrics.contains("mmbot_pnl_usdt{symbol=\"BTCUSDT\"}"));
    assert!(metrics.contains("mmbot_fills_total{"));
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
    assert!(bot_orders(&sim, &["BTCUSDT"]).await.is_empty());
}

#[actix_rt::test]
async fn position_limit_stops_the_growing_side() {
    let sim = quiet_sim();
    let opts = BotOptions {
        symbols: vec!["BTCUSDT"],
        levels: 2,
        risk: "max_position_notional = 100",
        ..Default::default()
    };
    let mut bot = start_bot("poslimit", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(30)).await;
    sell_into_the_bot(&sim, "6.000").await;
    let started = Instant::now();
    loop {
        let orders = bot_orders(&sim, &["BTCUSDT"]).await;
        let bids = orders.iter().filter(|o| o["side"] == "Buy").count();
        let asks = orders.iter().filter(|o| o["side"] == "Sell").count();
        if bids == 0 && asks > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "only the reducing side is quoted: {bids} bids, {asks} asks"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.signal(libc::SIGINT);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}

#[actix_rt::test]
async fn stale_book_pulls_quotes() {
    let sim = start_sim();
    let opts = BotOptions {
        symbols: vec!["BTCUSDT"],
        levels: 2,
        risk: "stale_book_ms = 600",
        ..Default::default()
    };
    let mut bot = start_bot("stale", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(30)).await;
    let http = awc::Client::new();
    http.post(format!("{}/sim/market?paused=true", sim.rest_url()))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    while !bot_orders(&sim, &["BTCUSDT"]).await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "quotes pulled when the book goes stale"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    http.post(format!("{}/sim/market?paused=false", sim.rest_url()))
        .send()
        .await
        .unwrap();
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(10)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(exit.stderr.contains("pulling its quotes"));
}

#[actix_rt::test]
async fn kill_switch_stops_the_bot_cleanly_and_stays_tripped() {
    let sim = quiet_sim();
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let opts = || BotOptions {
        symbols: symbols.to_vec(),
        levels: 2,
        risk: "max_drawdown = 0.05\non_kill = \"cancel_and_close\"",
        ..Default::default()
    };
    let mut bot = start_bot("killswitch", &sim, opts());
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    // The market drops 1 %: the bot's bids are filled on the way down and its long loses.
    let r = awc::Client::new()
        .post(format!("{}/sim/shock", sim.rest_url()))
        .send_json(&json!({"symbol": "BTCUSDT", "bps": -100.0}))
        .await
        .unwrap();
    assert!(r.status().is_success());
    let dir = bot.dir.clone();
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "a kill switch stops like any shutdown:\n{}", exit.stdout);
    assert!(exit.stdout.contains("kill switch: drawdown"), "{}", exit.stdout);
    assert_all_steps_ok(&exit.stdout);
    assert!(bot_orders(&sim, &symbols).await.is_empty());
    for symbol in symbols {
        let left = exchange_position(&sim, symbol).await;
        assert!(
            left.is_zero(),
            "on_kill = cancel_and_close closes {symbol}: {left} left\n{}",
            exit.stdout
        );
    }
    assert!(dir.join("data/kill-switch.json").exists(), "the trip is recorded");

    // The restart Kubernetes would make at once: refused, before any request to the exchange.
    let admin = bybit_sim::testkit::Admin::new(&sim.rest_url());
    let requests_before = admin.requests(0).await.len();
    let again = start_bot_in(dir.clone(), &sim, opts()).wait_exit(Duration::from_secs(30));
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("kill switch tripped") && again.stderr.contains("clear-kill-switch"),
        "{}",
        again.stderr
    );
    assert_eq!(admin.requests(0).await.len(), requests_before, "a tripped bot sends nothing");

    let (_, check) = mmbot_subcommand("check-config", &dir);
    assert!(check.contains("kill switch: TRIPPED"), "{check}");
    let (code, clear) = mmbot_subcommand("clear-kill-switch", &dir);
    assert_eq!(code, 0, "{clear}");
    assert!(clear.contains("cleared"), "{clear}");

    // Cleared: it quotes again.
    let mut bot = start_bot_in(dir, &sim, opts());
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}

#[actix_rt::test]
async fn avellaneda_model_quotes_per_symbol() {
    let sim = start_sim();
    let opts = BotOptions {
        symbols: vec!["BTCUSDT", "ETHUSDT"],
        levels: 3,
        strategy: "[strategy.symbols.ETHUSDT]\nmodel = \"avellaneda\"\nlevels = 2",
        ..Default::default()
    };
    let mut bot = start_bot("avellaneda", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT", "ETHUSDT"], 10, Duration::from_secs(30)).await;
    let eth = bot_orders(&sim, &["ETHUSDT"]).await.len();
    let btc = bot_orders(&sim, &["BTCUSDT"]).await.len();
    assert_eq!((btc, eth), (6, 4), "per-symbol levels");
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}

#[actix_rt::test]
async fn orders_the_exchange_will_not_amend_are_cancelled_and_replaced() {
    let sim = quiet_sim();
    let opts = BotOptions {
        symbols: vec!["BTCUSDT"],
        levels: 2,
        ..Default::default()
    };
    let mut bot = start_bot("replace", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(30)).await;
    let before: Vec<String> = bot_orders(&sim, &["BTCUSDT"])
        .await
        .iter()
        .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
        .collect();
    set_faults(&sim, json!({"refuse_amends": true})).await;
    // Move the market well past the tolerance: the bot wants new prices, amends are refused.
    let http = awc::Client::new();
    http.post(format!("{}/sim/shock", sim.rest_url()))
        .send_json(&json!({"symbol": "BTCUSDT", "bps": 30.0}))
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let now: Vec<String> = bot_orders(&sim, &["BTCUSDT"])
            .await
            .iter()
            .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
            .collect();
        if now.len() == 4 && now.iter().all(|l| !before.contains(l)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "replaced by new orders: before {before:?}, now {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(bot_orders(&sim, &["BTCUSDT"]).await.is_empty());
}

#[actix_rt::test]
async fn a_symbol_below_its_minimum_order_is_skipped_when_configured() {
    let sim = start_sim();
    let symbols = ["BTCUSDT", "ETHUSDT"];
    // BTCUSDT's smallest order is 0.001 (30 USDT at the simulator's 30000): 10 USDT is far below.
    let mut bot = start_bot(
        "below-minimum",
        &sim,
        BotOptions {
            symbols: symbols.to_vec(),
            levels: 2,
            strategy: "below_minimum = \"skip\"\n[strategy.symbols.BTCUSDT]\norder_notional = 10",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &["ETHUSDT"], 4, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(bot_orders(&sim, &["BTCUSDT"]).await.is_empty(), "BTCUSDT is skipped");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(
        exit.stderr.contains("preflight order size BTCUSDT") && exit.stderr.contains("not quoted"),
        "{}",
        exit.stderr
    );
}
