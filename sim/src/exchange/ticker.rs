//! The `tickers` topic and `/v5/market/tickers`: what a perpetual's ticker carries, computed
//! from the market, and the deltas the stream sends.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::*;

impl Exchange {
    /// A perpetual's ticker as the `tickers` stream carries it (shared/bybit-v5-fields.md §19).
    pub fn ticker_fields(&self, symbol: &str) -> BTreeMap<&'static str, String> {
        let m = &self.markets[symbol];
        let (bids, asks) = self.aggregated(symbol);
        let (bp, bs) = bids.iter().next_back().map(|(p, s)| (*p, *s)).unwrap_or_default();
        let (ap, asz) = asks.iter().next().map(|(p, s)| (*p, *s)).unwrap_or_default();
        let mark = m.spec.fmt_price(m.mid);
        let open = m.spec.fmt_price(m.spec.start_price);
        let change = if open.is_zero() {
            Decimal::ZERO
        } else {
            ((m.last_price - open) / open).round_dp(6)
        };
        // Open interest: every account's position on the symbol (one side).
        let oi: Decimal = self
            .accounts
            .iter()
            .flat_map(|a| a.positions.iter())
            .filter(|((s, _), _)| s == symbol)
            .map(|(_, p)| p.size.abs())
            .sum();
        let oi = m.spec.fmt_qty(oi);
        let oi_value = (oi * m.mid).round_dp(2);
        let eight_hours = 8 * 3600 * 1000;
        let next_funding = (now_ms() / eight_hours + 1) * eight_hours;
        let mut fields = BTreeMap::from([
            ("symbol", symbol.to_string()),
            ("tickDirection", m.tick_direction.to_string()),
            ("price24hPcnt", change.to_string()),
            ("lastPrice", m.spec.fmt_price(m.last_price).to_string()),
            ("prevPrice24h", open.to_string()),
            ("highPrice24h", m.spec.fmt_price(m.high_price).to_string()),
            ("lowPrice24h", m.spec.fmt_price(m.low_price).to_string()),
            ("prevPrice1h", open.to_string()),
            ("markPrice", mark.to_string()),
            ("indexPrice", mark.to_string()),
            ("openInterest", (oi * Decimal::TWO).to_string()),
            ("openInterestValue", (oi_value * Decimal::TWO).to_string()),
            ("singleOpenInterest", oi.to_string()),
            ("singleOpenInterestValue", oi_value.to_string()),
            ("turnover24h", m.turnover24h.round_dp(4).to_string()),
            ("volume24h", m.volume24h.to_string()),
            ("fundingIntervalHour", "8".to_string()),
            ("fundingCap", "0.005".to_string()),
            ("nextFundingTime", next_funding.to_string()),
            ("fundingRate", "0.0001".to_string()),
            ("bid1Price", bp.to_string()),
            ("bid1Size", bs.to_string()),
            ("ask1Price", ap.to_string()),
            ("ask1Size", asz.to_string()),
            ("preOpenPrice", String::new()),
            ("preQty", String::new()),
            ("curPreListingPhase", String::new()),
        ]);
        // A real market's ticker is its source's, but for the top of the book, which has the
        // accounts' orders in it, and the open interest, which counts positions here.
        if let Some(real) = &m.real {
            for (k, v) in fields.iter_mut() {
                let ours = k.starts_with("bid1") || k.starts_with("ask1") || k.contains("penInterest") || *k == "symbol";
                if let Some(theirs) = real.ticker.get(*k).filter(|_| !ours) {
                    v.clone_from(theirs);
                }
            }
        }
        fields
    }

    /// The REST ticker: the stream's keys less `tickDirection`, plus the futures-only keys a
    /// perpetual sends empty (§5).
    pub fn rest_ticker(&self, symbol: &str) -> BTreeMap<&'static str, String> {
        let mut t = self.ticker_fields(symbol);
        t.remove("tickDirection");
        for (k, v) in [
            ("predictedDeliveryPrice", ""),
            ("basisRate", ""),
            ("basis", ""),
            ("deliveryFeeRate", ""),
            ("deliveryTime", "0"),
            ("basisRateYear", ""),
        ] {
            t.insert(k, v.to_string());
        }
        t
    }

    pub(crate) fn publish_ticker(&mut self, symbol: &str, now: u64) {
        let fields = self.ticker_fields(symbol);
        let m = self.markets.get_mut(symbol).expect("known symbol");
        let mut data = serde_json::Map::new();
        for (k, v) in &fields {
            if m.last_ticker.get(k) != Some(v) || *k == "symbol" {
                data.insert((*k).to_string(), serde_json::Value::from(v.clone()));
            }
        }
        m.last_ticker = fields;
        if data.len() <= 1 {
            return;
        }
        m.ticker_cs += 1;
        let topic = format!("tickers.{symbol}");
        let text = serde_json::json!({"topic": topic, "type": "delta", "cs": m.ticker_cs, "ts": now, "data": data}).to_string();
        let _ = self.public_tx.send(PublicEvent {
            topic,
            u: None,
            text: text.into(),
            visible_at: self.visible_at,
        });
    }

    pub fn ticker_snapshot(&self, symbol: &str, now: u64) -> Option<String> {
        let m = self.markets.get(symbol)?;
        let fields = self.ticker_fields(symbol);
        Some(
            serde_json::json!({"topic": format!("tickers.{symbol}"), "type": "snapshot", "cs": m.ticker_cs, "ts": now, "data": fields})
                .to_string(),
        )
    }
}
