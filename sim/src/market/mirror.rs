//! A live market mirrored: the simulator subscribes a Bybit public stream (or another
//! bybit-sim's) for its symbols — the book at depth [`MIRROR_DEPTH`], trades and tickers — and
//! applies each frame as it arrives, on the wall clock. It reconnects with a doubling backoff;
//! a reconnect is a gap (each book waits for the snapshot the new subscription brings). The
//! instruments can be read from the same venue's REST API, so the mirror trades with its real
//! tick and lot sizes.

use std::time::Duration;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use market_data::{parse_event, Event, Kind};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::market::instrument::InstrumentSpec;
use crate::server::state::AppState;

/// The book depth subscribed upstream (Bybit's linear depths: 1, 50, 200, 1000).
pub const MIRROR_DEPTH: u32 = 200;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(20);
/// Nothing heard for this long: the connection is dead.
const SILENT_LIMIT: Duration = Duration::from_secs(60);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

fn http() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .max_http_version(awc::http::Version::HTTP_11)
        .finish()
}

async fn get_list(url: &str) -> Result<Vec<Value>, String> {
    let mut res = http().get(url).send().await.map_err(|e| e.to_string())?;
    let body: Value = res.json().limit(32 * 1024 * 1024).await.map_err(|e| e.to_string())?;
    if body["retCode"] != 0 {
        return Err(format!("retCode {} {}", body["retCode"], body["retMsg"]));
    }
    Ok(body["result"]["list"].as_array().cloned().unwrap_or_default())
}

fn dec(v: &Value) -> Option<Decimal> {
    v.as_str()?.parse().ok()
}

/// One instrument as `/v5/market/instruments-info` lists it.
fn spec_of(item: &Value, last_price: Option<Decimal>, fallback: &InstrumentSpec) -> Option<InstrumentSpec> {
    let lot = &item["lotSizeFilter"];
    Some(InstrumentSpec {
        symbol: item["symbol"].as_str()?.to_string(),
        base_coin: item["baseCoin"].as_str()?.to_string(),
        tick_size: dec(&item["priceFilter"]["tickSize"])?,
        qty_step: dec(&lot["qtyStep"])?,
        min_qty: dec(&lot["minOrderQty"])?,
        max_qty: dec(&lot["maxOrderQty"])?,
        max_mkt_qty: dec(&lot["maxMktOrderQty"]).unwrap_or(fallback.max_mkt_qty),
        min_notional: dec(&lot["minNotionalValue"]).unwrap_or(fallback.min_notional),
        max_leverage: item["leverageFilter"]["maxLeverage"]
            .as_str()
            .unwrap_or(&fallback.max_leverage)
            .to_string(),
        start_price: last_price.unwrap_or(fallback.start_price),
        launch_time: item["launchTime"].as_str().unwrap_or(&fallback.launch_time).to_string(),
        maker_fee: fallback.maker_fee,
        taker_fee: fallback.taker_fee,
    })
}

/// The configured symbols' instruments as the venue at `rest_url` lists them.
pub async fn instruments(rest_url: &str, configured: &[InstrumentSpec]) -> Result<Vec<InstrumentSpec>, String> {
    let base = rest_url.trim_end_matches('/');
    let listed = get_list(&format!("{base}/v5/market/instruments-info?category=linear&limit=1000")).await?;
    let tickers = get_list(&format!("{base}/v5/market/tickers?category=linear"))
        .await
        .unwrap_or_default();
    configured
        .iter()
        .map(|c| {
            let item = listed
                .iter()
                .find(|i| i["symbol"] == c.symbol.as_str())
                .ok_or_else(|| format!("{} is not listed there", c.symbol))?;
            let last = tickers
                .iter()
                .find(|t| t["symbol"] == c.symbol.as_str())
                .and_then(|t| dec(&t["lastPrice"]));
            spec_of(item, last, c).ok_or_else(|| format!("{}: an instrument without its filters: {item}", c.symbol))
        })
        .collect()
}

/// Mirror `ws_url` for `symbols` until the simulator stops.
pub async fn run(state: AppState, ws_url: String, symbols: Vec<String>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match session(&state, &ws_url, &symbols).await {
            Ok(()) => backoff = Duration::from_millis(250),
            Err(e) => log::warn!("mirror {ws_url}: {e}; reconnecting in {} ms", backoff.as_millis()),
        }
        {
            let mut ex = state.exchange();
            for s in &symbols {
                let gap = Event {
                    exchange_ms: ex.market_time_ms,
                    kind: Kind::Gap {
                        symbol: s.clone(),
                        reason: "mirror reconnecting".into(),
                    },
                };
                let at = ex.market_time_ms;
                ex.apply_market_event(at, &gap, 0);
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection: subscribe, apply frames until it ends. `Ok` when it ran long enough to
/// reset the backoff.
async fn session(state: &AppState, ws_url: &str, symbols: &[String]) -> Result<(), String> {
    let connect = awc::Client::builder()
        .max_http_version(awc::http::Version::HTTP_11)
        .finish()
        .ws(ws_url)
        .max_frame_size(bybit_v5::ws::MAX_FRAME_BYTES)
        .connect();
    let (_, mut conn) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let topics: Vec<String> = symbols
        .iter()
        .flat_map(|s| {
            [
                format!("orderbook.{MIRROR_DEPTH}.{s}"),
                format!("publicTrade.{s}"),
                format!("tickers.{s}"),
            ]
        })
        .collect();
    // Bybit takes at most 10 topics per subscribe.
    for chunk in topics.chunks(10) {
        let req = json!({"op": "subscribe", "args": chunk});
        conn.send(ws::Message::Text(req.to_string().into()))
            .await
            .map_err(|e| e.to_string())?;
    }
    log::info!("mirroring {ws_url}: {}", topics.join(", "));
    let started = std::time::Instant::now();
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            frame = tokio::time::timeout(SILENT_LIMIT, conn.next()) => {
                let text = match frame {
                    Err(_) => return Err("silent for a minute".into()),
                    Ok(None) => break,
                    Ok(Some(Err(e))) => return Err(e.to_string()),
                    Ok(Some(Ok(ws::Frame::Text(t)))) => t,
                    Ok(Some(Ok(ws::Frame::Ping(p)))) => { let _ = conn.send(ws::Message::Pong(p)).await; continue; }
                    Ok(Some(Ok(ws::Frame::Close(_)))) => break,
                    Ok(Some(Ok(_))) => continue,
                };
                let Ok(text) = std::str::from_utf8(&text) else { continue };
                match parse_event(text) {
                    Ok(Some(event)) => {
                        let mut ex = state.exchange();
                        let delay = match ex.feed_latency {
                            crate::market::source::FeedLatency::Constant(ms) => ms,
                            // Live frames already took their time to get here.
                            _ => 0,
                        };
                        ex.apply_market_event(event.exchange_ms, &event, delay);
                    }
                    Ok(None) => {}
                    Err(e) => log::warn!("mirror {ws_url}: a frame that does not read: {e}"),
                }
            }
            _ = ping.tick() => {
                conn.send(ws::Message::Text(json!({"op": "ping"}).to_string().into())).await.map_err(|e| e.to_string())?;
            }
        }
    }
    if started.elapsed() > Duration::from_secs(10) {
        Ok(())
    } else {
        Err("closed by the upstream".into())
    }
}
