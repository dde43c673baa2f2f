//! Bybit's answers drift: a field the bot never reads changes type (`seq` is already a string on
//! one endpoint and a number on another), a field it does read comes unreadable. A REST proxy in
//! front of bybit-sim rewrites `/v5/position/list` on a restart with an inherited position: the
//! bot never quotes believing it is flat.

#[path = "support/http_proxy.rs"]
mod http_proxy;
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bybit_sim::testkit::Admin;
use http_proxy::{Answer, HttpProxy};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

/// A proxy to the simulator's REST that passes every answer but the position list's, whose rows
/// `drift` rewrites.
fn position_proxy(sim: &bybit_sim::SimHandle, drift: fn(&mut Value)) -> HttpProxy {
    let upstream: SocketAddr = sim.rest_url().trim_start_matches("http://").parse().unwrap();
    HttpProxy::start(
        upstream,
        &[],
        Arc::new(move |x| {
            if !x.target.starts_with("/v5/position/list") {
                return Answer::Pass(x.response.to_vec());
            }
            let mut v: Value = serde_json::from_slice(x.response).unwrap();
            if let Some(rows) = v["result"]["list"].as_array_mut() {
                rows.iter_mut().for_each(drift);
            }
            Answer::Pass(v.to_string().into_bytes())
        }),
    )
}

/// Every field the bot does not read, in another type than Bybit documents.
fn drift_unused(row: &mut Value) {
    for (field, odd) in [
        ("tradeMode", json!("0")),
        ("seq", json!("9001")),
        ("adlRankIndicator", Value::Null),
        ("openTime", json!("")),
        ("isReduceOnly", json!("false")),
        ("riskId", json!("1")),
        ("autoAddMargin", Value::Null),
        ("positionIdx", json!("0")),
        ("positionBalance", json!(0)),
        ("liqPrice", Value::Null),
        ("curRealisedPnl", json!([])),
    ] {
        row[field] = odd;
    }
}

#[actix_rt::test]
async fn unused_position_fields_of_another_type_still_give_the_inherited_position() {
    let sim = start_sim();
    let held = buy_by_hand(&sim, "0.012").await;
    assert_eq!(held, "0.012".parse::<Decimal>().unwrap());
    let proxy = position_proxy(&sim, drift_unused);
    let mut bot = start_bot(
        "drift-unused",
        &sim,
        BotOptions {
            strategy: "inventory_skew_bps = 0.5",
            rest_url: Some(proxy.url()),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let status = bot.status().await;
    assert_eq!(dec(&status["positions"]["BTCUSDT"]), held, "{}", status["positions"]);
    let stats = Admin::new(&sim.rest_url()).stats().await;
    let q = &stats["accounts"][0]["quotes"]["BTCUSDT"];
    let (bid, ask) = (dec(&q["bid"]), dec(&q["ask"]));
    let mid = dec(&stats["markets"]["BTCUSDT"]["mid"]);
    assert!(mid - bid > ask - mid, "quoted knowing the long: bid {bid} ask {ask} mid {mid}");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stderr);
    assert!(exit.stderr.contains("BTCUSDT: inherited position 0.012"), "said at start");
    assert!(exit.stdout.contains("0.012"), "the positions step states the long: {}", exit.stdout);
}

#[actix_rt::test]
async fn an_unreadable_size_is_an_unknown_position_and_nothing_is_quoted() {
    let sim = start_sim();
    buy_by_hand(&sim, "0.012").await;
    let proxy = position_proxy(&sim, |row| {
        if row["symbol"] == "BTCUSDT" {
            row["size"] = json!(["0.012"]);
        }
    });
    let bot = start_bot(
        "drift-size",
        &sim,
        BotOptions {
            rest_url: Some(proxy.url()),
            ..Default::default()
        },
    );
    let exit = bot.wait_exit(Duration::from_secs(60));
    assert_ne!(exit.code, 0, "a start on an unknown position must fail");
    assert!(
        exit.stderr.contains("BTCUSDT") && exit.stderr.contains("unknown, not flat"),
        "says which position is unknown: {}",
        exit.stderr
    );
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "no quote on an unknown position");
    assert_eq!(exchange_position(&sim, "BTCUSDT").await, "0.012".parse::<Decimal>().unwrap());
}
