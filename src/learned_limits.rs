//! What the exchange's `X-Bapi-Limit` headers said the account's budgets are, kept in the data
//! directory between runs, so `check-config` can reject a configured budget the account does not
//! have (the running bot already uses the lower of the two and warns).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use mmbot_actors::budget::rate_governor::Governor;

use crate::config::Config;

const FILE: &str = "exchange-limits.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedLimits {
    /// The exchange these limits belong to.
    pub rest_url: String,
    /// The account: the API key's last four characters (a key is an identifier, but the file
    /// needs no more of it than that).
    pub api_key_tail: String,
    /// Per endpoint, the budget per second the exchange's headers named.
    pub limits: BTreeMap<String, u32>,
}

fn tail(key: &str) -> String {
    key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Keep what the headers said in this run (merged over an earlier run's for the same account).
pub fn save(data_dir: &Path, rest_url: &str, api_key: &str, governor: &Governor) -> std::io::Result<()> {
    let heard = governor.with(|g| g.learned_all());
    if heard.is_empty() {
        return Ok(());
    }
    let mut learned = load_for(data_dir, rest_url, api_key).unwrap_or(LearnedLimits {
        rest_url: rest_url.to_string(),
        api_key_tail: tail(api_key),
        limits: BTreeMap::new(),
    });
    learned.limits.extend(heard);
    let text = serde_json::to_string_pretty(&learned).map_err(std::io::Error::other)?;
    std::fs::write(path(data_dir), text)
}

/// The limits learned for this exchange and account, if a run has learned any.
pub fn load_for(data_dir: &Path, rest_url: &str, api_key: &str) -> Option<LearnedLimits> {
    let text = std::fs::read_to_string(path(data_dir)).ok()?;
    let l: LearnedLimits = serde_json::from_str(&text).ok()?;
    (l.rest_url == rest_url && l.api_key_tail == tail(api_key)).then_some(l)
}

/// Every configured budget above what the exchange said the account has, as check-config problems.
pub fn problems(c: &Config) -> Vec<String> {
    let Some(learned) = load_for(&c.recorder.dir, c.exchange.rest_url.trim_end_matches('/'), &c.exchange.api_key) else {
        return Vec::new();
    };
    let rl = &c.exchange.rate_limits;
    let mut out = Vec::new();
    for (endpoint, exchange_says) in &learned.limits {
        let Some(configured) = rl.limit_for(endpoint) else { continue };
        if configured > *exchange_says {
            let key = if rl.endpoints.contains_key(endpoint) {
                format!("exchange.rate_limits.endpoints.\"{endpoint}\"")
            } else {
                match bybit_v5::limits::budget_of(endpoint) {
                    Some(bybit_v5::limits::Budget::Orders) => "exchange.rate_limits.orders_per_sec".into(),
                    _ => "exchange.rate_limits.reads_per_sec".into(),
                }
            };
            out.push(format!(
                "{key}: expected at most {exchange_says} for {endpoint} (configured {configured}; the exchange's \
                 X-Bapi-Limit header said {exchange_says} for this account, see {})",
                path(&c.recorder.dir).display()
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmbot_actors::budget::rate_governor::{LimitHeaders, RateLimitSettings};

    #[test]
    fn a_budget_above_what_the_exchange_said_is_a_problem() {
        let dir = std::env::temp_dir().join(format!("mmbot-learned-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let governor = Governor::new(RateLimitSettings::default());
        let headers = LimitHeaders {
            limit: Some(5),
            remaining: Some(5),
            reset_at: None,
        };
        governor.with(|g| g.observe("/v5/order/amend-batch", headers, std::time::Instant::now()));
        save(&dir, "http://127.0.0.1:9", "key-abcd", &governor).unwrap();
        let mut c: Config = toml::from_str(&format!(
            "mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[exchange]\nrest_url = \"http://127.0.0.1:9\"\napi_key = \"x-abcd\"\n[recorder]\ndir = \"{}\"\n",
            dir.display()
        ))
        .unwrap();
        let p = problems(&c);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("exchange.rate_limits.orders_per_sec: expected at most 5"), "{p:?}");
        c.exchange.rate_limits.orders_per_sec = 5;
        assert!(problems(&c).is_empty());
        // Another account's knowledge does not apply.
        c.exchange.rate_limits.orders_per_sec = 10;
        c.exchange.api_key = "other".into();
        assert!(problems(&c).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
