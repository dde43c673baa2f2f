//! A recorded frame read as a market event: a book snapshot or delta, a batch of trades, a
//! ticker, or a gap the recorder marked. The exchange time of each (a book frame's `cts`, the
//! matching engine's time that lines up with a trade's `T`; `ts` where there is no `cts`) is
//! what a replay runs on; the local receive time is what a feed latency is measured from.

use rust_decimal::Decimal;
use serde_json::Value;

/// The taker's side of a trade (Bybit's `S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggressor {
    Buy,
    Sell,
}

pub type Level = (Decimal, Decimal);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookFrame {
    pub symbol: String,
    /// The topic's depth (`orderbook.{depth}.{symbol}`).
    pub depth: u32,
    pub snapshot: bool,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub u: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub time_ms: u64,
    pub aggressor: Aggressor,
    pub price: Decimal,
    pub qty: Decimal,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Book(BookFrame),
    Trades {
        symbol: String,
        trades: Vec<Trade>,
    },
    /// A ticker snapshot or delta: the fields it carries, as strings.
    Ticker {
        symbol: String,
        fields: Vec<(String, String)>,
    },
    /// The recorder or importer lost frames here: the symbol's book waits for a snapshot.
    Gap {
        symbol: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub exchange_ms: u64,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

fn decimal(v: &Value) -> Option<Decimal> {
    v.as_str()?.parse().ok()
}

fn levels(v: &Value) -> Result<Vec<Level>, EventError> {
    let Some(items) = v.as_array() else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|l| match (decimal(&l[0]), decimal(&l[1])) {
            (Some(p), Some(q)) => Ok((p, q)),
            _ => Err(EventError(format!("a book level that is not [price, size]: {l}"))),
        })
        .collect()
}

fn number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

/// A book frame read straight into its fields (no JSON tree): the common case, fast.
#[derive(serde::Deserialize)]
struct FastBook<'a> {
    #[serde(borrow)]
    topic: &'a str,
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    ts: u64,
    #[serde(default)]
    cts: u64,
    #[serde(borrow)]
    data: FastBookData<'a>,
}

#[derive(serde::Deserialize)]
struct FastBookData<'a> {
    #[serde(borrow)]
    s: &'a str,
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
    u: u64,
    #[serde(default)]
    seq: u64,
}

#[derive(serde::Deserialize)]
struct FastTrades<'a> {
    #[serde(borrow)]
    topic: &'a str,
    #[serde(default)]
    ts: u64,
    #[serde(borrow)]
    data: Vec<FastTrade<'a>>,
}

#[derive(serde::Deserialize)]
struct FastTrade<'a> {
    #[serde(rename = "T")]
    t: u64,
    #[serde(rename = "S", borrow)]
    side: &'a str,
    #[serde(borrow)]
    v: &'a str,
    #[serde(borrow)]
    p: &'a str,
    #[serde(default, borrow)]
    i: &'a str,
}

fn fast_levels(l: &[[&str; 2]]) -> Option<Vec<Level>> {
    l.iter().map(|[p, q]| Some((p.parse().ok()?, q.parse().ok()?))).collect()
}

/// The fast path for book and trade frames as Bybit writes them; None sends the frame down the
/// general path (which also names what is wrong with a bad one).
fn parse_fast(frame: &str) -> Option<Event> {
    let at = frame.find("\"topic\":\"")? + 9;
    let rest = frame.get(at..)?;
    if rest.starts_with("orderbook.") {
        let f: FastBook = serde_json::from_str(frame).ok()?;
        let mut parts = f.topic.split('.');
        let (_, depth) = (parts.next()?, parts.next()?.parse().ok()?);
        let book = BookFrame {
            symbol: f.data.s.to_string(),
            depth,
            snapshot: f.kind == "snapshot",
            bids: fast_levels(&f.data.b)?,
            asks: fast_levels(&f.data.a)?,
            u: f.data.u,
            seq: f.data.seq,
        };
        let exchange_ms = if f.cts > 0 { f.cts } else { f.ts };
        return Some(Event {
            exchange_ms,
            kind: Kind::Book(book),
        });
    }
    if rest.starts_with("publicTrade.") {
        let f: FastTrades = serde_json::from_str(frame).ok()?;
        let symbol = f.topic.split('.').nth(1)?.to_string();
        let mut trades = Vec::with_capacity(f.data.len());
        for t in &f.data {
            let aggressor = match t.side {
                "Buy" => Aggressor::Buy,
                "Sell" => Aggressor::Sell,
                _ => return None,
            };
            trades.push(Trade {
                time_ms: t.t,
                aggressor,
                price: t.p.parse().ok()?,
                qty: t.v.parse().ok()?,
                id: t.i.to_string(),
            });
        }
        let exchange_ms = trades.iter().map(|t| t.time_ms).max().unwrap_or(f.ts);
        return Some(Event {
            exchange_ms,
            kind: Kind::Trades { symbol, trades },
        });
    }
    None
}

/// Read one frame. `Ok(None)` for frames of no market meaning (subscription answers, pongs,
/// the importer's `mmbot.source` line, topics not replayed).
pub fn parse_event(frame: &str) -> Result<Option<Event>, EventError> {
    if let Some(e) = parse_fast(frame) {
        return Ok(Some(e));
    }
    parse_general(frame)
}

fn parse_general(frame: &str) -> Result<Option<Event>, EventError> {
    let v: Value = serde_json::from_str(frame).map_err(|e| EventError(format!("not JSON: {e}")))?;
    let topic = v["topic"].as_str().unwrap_or("");
    let ts = number(&v["ts"]).unwrap_or(0);
    let parts: Vec<&str> = topic.split('.').collect();
    let kind = match parts.as_slice() {
        ["mmbot", "gap"] => Kind::Gap {
            symbol: v["symbol"].as_str().unwrap_or("").to_string(),
            reason: v["reason"].as_str().unwrap_or("").to_string(),
        },
        ["orderbook", depth, symbol] => {
            let d = &v["data"];
            let book = BookFrame {
                symbol: d["s"].as_str().unwrap_or(symbol).to_string(),
                depth: depth.parse().map_err(|_| EventError(format!("{topic}: depth is not a number")))?,
                snapshot: v["type"] == "snapshot",
                bids: levels(&d["b"])?,
                asks: levels(&d["a"])?,
                u: number(&d["u"]).ok_or_else(|| EventError(format!("{topic}: no update id u")))?,
                seq: number(&d["seq"]).unwrap_or(0),
            };
            let at = number(&v["cts"]).filter(|c| *c > 0).unwrap_or(ts);
            return Ok(Some(Event {
                exchange_ms: at,
                kind: Kind::Book(book),
            }));
        }
        ["publicTrade", symbol] => {
            let mut trades = Vec::new();
            for t in v["data"].as_array().into_iter().flatten() {
                let aggressor = match t["S"].as_str() {
                    Some("Buy") => Aggressor::Buy,
                    Some("Sell") => Aggressor::Sell,
                    _ => return Err(EventError(format!("{topic}: a trade without side S: {t}"))),
                };
                let (Some(price), Some(qty)) = (decimal(&t["p"]), decimal(&t["v"])) else {
                    return Err(EventError(format!("{topic}: a trade without price p or size v: {t}")));
                };
                trades.push(Trade {
                    time_ms: number(&t["T"]).unwrap_or(ts),
                    aggressor,
                    price,
                    qty,
                    id: t["i"].as_str().unwrap_or("").to_string(),
                });
            }
            let at = trades.iter().map(|t| t.time_ms).max().unwrap_or(ts);
            return Ok(Some(Event {
                exchange_ms: at,
                kind: Kind::Trades {
                    symbol: symbol.to_string(),
                    trades,
                },
            }));
        }
        ["tickers", symbol] => Kind::Ticker {
            symbol: symbol.to_string(),
            fields: v["data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, x)| (k.clone(), x.as_str().map_or_else(|| x.to_string(), String::from)))
                .collect(),
        },
        _ => return Ok(None),
    };
    Ok(Some(Event { exchange_ms: ts, kind }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_delta_is_timed_by_cts_a_trade_batch_by_its_last_t() {
        let book = r#"{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1000,"data":{"s":"BTCUSDT","b":[["100.5","0"]],"a":[["101","2.5"]],"u":7,"seq":70},"cts":998}"#;
        let e = parse_event(book).unwrap().unwrap();
        assert_eq!(e.exchange_ms, 998);
        let Kind::Book(b) = e.kind else { panic!() };
        assert_eq!((b.depth, b.snapshot, b.u, b.seq), (200, false, 7, 70));
        assert_eq!(b.bids, vec![(dec!(100.5), dec!(0))]);
        let trades = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1005,"data":[{"T":1001,"s":"BTCUSDT","S":"Sell","v":"0.1","p":"100.5","i":"a"},{"T":1003,"s":"BTCUSDT","S":"Buy","v":"0.2","p":"101","i":"b"}]}"#;
        let e = parse_event(trades).unwrap().unwrap();
        assert_eq!(e.exchange_ms, 1003);
        let Kind::Trades { trades, .. } = e.kind else { panic!() };
        assert_eq!(trades[0].aggressor, Aggressor::Sell);
        assert_eq!(trades[1].qty, dec!(0.2));
    }

    #[test]
    fn the_fast_path_reads_what_the_general_one_reads() {
        for f in [
            r#"{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1000,"data":{"s":"BTCUSDT","b":[["100.5","0"]],"a":[["101","2.5"]],"u":7,"seq":70},"cts":998}"#,
            r#"{"topic":"orderbook.50.X","type":"snapshot","ts":5,"data":{"s":"X","b":[],"a":[["1","2"]],"u":1}}"#,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1005,"data":[{"T":1001,"s":"BTCUSDT","S":"Sell","v":"0.1","p":"100.5","i":"a"}]}"#,
        ] {
            assert_eq!(parse_fast(f), parse_general(f).unwrap(), "{f}");
        }
    }

    #[test]
    fn answers_and_markers_of_no_market_meaning_are_none_and_bad_levels_are_errors() {
        assert_eq!(parse_event(r#"{"success":true,"op":"subscribe"}"#).unwrap(), None);
        assert_eq!(parse_event(r#"{"topic":"mmbot.source","from":"x"}"#).unwrap(), None);
        let bad = r#"{"topic":"orderbook.50.X","type":"delta","ts":1,"data":{"s":"X","b":[[1]],"a":[],"u":2}}"#;
        assert!(parse_event(bad).is_err());
        assert!(parse_event("{").is_err());
    }
}
