//! `validate`: everything wrong with a configuration, each with the file's key and what was
//! expected, all at once.

use rust_decimal::Decimal;

use mmbot_actors::exchange::rest_connector::OrderEntry;
use mmbot_actors::order_manager::{CancelScope, LeftoverPolicy};
use mmbot_actors::orders::link_id::valid_prefix;

use super::*;

/// One hour: no container platform's grace period goes near it.
pub(super) const MAX_DEADLINE_MS: u64 = 3_600_000;

pub(super) fn url_ok(u: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|s| u.starts_with(&format!("{s}://")) && u.len() > s.len() + 3)
}

/// Every problem, each naming its key and what is expected.
pub fn validate(c: &Config) -> Vec<String> {
    let mut p = Vec::new();
    let mut need = |ok: bool, key: &str, expected: &str| {
        if !ok {
            p.push(format!("{key}: expected {expected}"));
        }
    };
    need(!c.symbols.is_empty(), "symbols", "at least one symbol, e.g. [\"BTCUSDT\"]");
    for s in &c.symbols {
        need(
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "symbols",
            &format!("upper-case symbols like BTCUSDT, got {s:?}"),
        );
    }
    let mut dedup = c.symbols.clone();
    dedup.sort();
    dedup.dedup();
    need(dedup.len() == c.symbols.len(), "symbols", "each symbol once");
    let e = &c.exchange;
    let embedded = c.mode != Mode::Live && e.rest_url.is_empty();
    if !embedded {
        need(url_ok(&e.rest_url, &["http", "https"]), "exchange.rest_url", "an http(s):// URL");
        need(url_ok(&e.ws_public_url, &["ws", "wss"]), "exchange.ws_public_url", "a ws(s):// URL");
        if c.mode != Mode::DryRun {
            need(
                url_ok(&e.ws_private_url, &["ws", "wss"]),
                "exchange.ws_private_url",
                "a ws(s):// URL",
            );
            need(
                e.ws_trade_url.is_empty() || url_ok(&e.ws_trade_url, &["ws", "wss"]),
                "exchange.ws_trade_url",
                "a ws(s):// URL, or empty for none",
            );
            need(
                e.order_entry != Some(OrderEntry::Websocket) || !e.ws_trade_url.is_empty(),
                "exchange.order_entry",
                "\"rest\" when exchange.ws_trade_url is empty (\"websocket\" needs the trade socket's URL)",
            );
            need(
                !e.api_key.is_empty(),
                "exchange.api_key",
                "an API key (or MMBOT_API_KEY in the environment)",
            );
            need(
                !e.api_secret.is_empty(),
                "exchange.api_secret",
                "an API secret (or MMBOT_API_SECRET in the environment)",
            );
        }
    }
    need((1..=60_000).contains(&e.recv_window_ms), "exchange.recv_window_ms", "1 to 60000");
    need(
        (100..=60_000).contains(&e.request_timeout_ms),
        "exchange.request_timeout_ms",
        "100 to 60000",
    );
    let rl = &e.rate_limits;
    need(
        (1..=100_000).contains(&rl.orders_per_sec),
        "exchange.rate_limits.orders_per_sec",
        "1 to 100000 order units per second (Bybit's default tier: 10)",
    );
    need(
        (1..=100_000).contains(&rl.reads_per_sec),
        "exchange.rate_limits.reads_per_sec",
        "1 to 100000 (Bybit: 50)",
    );
    need(
        rl.ip_requests_per_5s >= 10,
        "exchange.rate_limits.ip_requests_per_5s",
        "at least 10 (Bybit: 600)",
    );
    need(
        rl.cancel_reserve + rl.ip_margin < rl.ip_requests_per_5s,
        "exchange.rate_limits.cancel_reserve",
        "with exchange.rate_limits.ip_margin, fewer than exchange.rate_limits.ip_requests_per_5s",
    );
    need(rl.ip_ban_ms >= 1000, "exchange.rate_limits.ip_ban_ms", "at least 1000");
    need(
        rl.window_margin_ms <= 500,
        "exchange.rate_limits.window_margin_ms",
        "at most 500 (a third of the budget given up at 500)",
    );
    for (path, n) in &rl.endpoints {
        need(
            path.starts_with("/v5/") && *n >= 1,
            &format!("exchange.rate_limits.endpoints.\"{path}\""),
            "a /v5/ path with a budget of at least 1 per second",
        );
    }
    if c.mode == Mode::Live {
        if let Some(why) = super::token::live_token_problem(&c.control.token) {
            need(false, "control.token", &format!("a token of your own in live mode — {why}"));
        }
    }
    let s = &c.strategy;
    let mut quote_sets = vec![("strategy".to_string(), s.quote_params(""))];
    for sym in s.symbols.keys() {
        need(
            c.symbols.contains(sym),
            &format!("strategy.symbols.{sym}"),
            "a symbol listed in `symbols`",
        );
        quote_sets.push((format!("strategy.symbols.{sym}"), s.quote_params(sym)));
    }
    for (at, q) in &quote_sets {
        let bps = |v: Decimal| v >= Decimal::ZERO && v <= Decimal::from(1000);
        need(
            (1..=250).contains(&q.levels),
            &format!("{at}.levels"),
            "1 to 250 (Bybit allows 500 open orders per symbol)",
        );
        need(bps(q.spread_bps), &format!("{at}.spread_bps"), "0 to 1000");
        need(bps(q.level_step_bps), &format!("{at}.level_step_bps"), "0 to 1000");
        need(
            q.order_notional > Decimal::ZERO,
            &format!("{at}.order_notional"),
            "a positive amount of USDT",
        );
        need(
            q.size_growth > Decimal::ZERO && q.size_growth <= Decimal::from(10),
            &format!("{at}.size_growth"),
            "more than 0, at most 10",
        );
        need(
            q.inventory_skew_bps >= Decimal::ZERO,
            &format!("{at}.inventory_skew_bps"),
            "0 or more",
        );
        need(q.risk_aversion > Decimal::ZERO, &format!("{at}.risk_aversion"), "more than 0");
        need(q.horizon_s >= Decimal::ZERO, &format!("{at}.horizon_s"), "0 or more seconds");
        need(q.liquidity_k > Decimal::ZERO, &format!("{at}.liquidity_k"), "more than 0");
    }
    need(
        s.volatility_half_life_s > 0.0,
        "strategy.volatility_half_life_s",
        "more than 0 seconds",
    );
    let r = &c.risk;
    need(
        r.max_position_notional > Decimal::ZERO,
        "risk.max_position_notional",
        "a positive amount of USDT",
    );
    need(
        r.max_total_notional > Decimal::ZERO,
        "risk.max_total_notional",
        "a positive amount of USDT",
    );
    need(r.max_open_orders >= 2, "risk.max_open_orders", "at least 2");
    need(
        r.max_drawdown >= Decimal::ZERO,
        "risk.max_drawdown",
        "0 (off) or a positive amount of USDT",
    );
    need(r.stale_book_ms >= 100, "risk.stale_book_ms", "at least 100");
    need(
        valid_prefix(&c.order_manager.link_prefix),
        "order_manager.link_prefix",
        "1 to 12 characters of [A-Za-z0-9_]",
    );
    need(
        c.order_manager.reconcile_interval_ms >= 100,
        "order_manager.reconcile_interval_ms",
        "100 or more",
    );
    let dcp = c.order_manager.dcp_window_s;
    need(
        dcp == 0 || (3..=300).contains(&dcp),
        "order_manager.dcp_window_s",
        "0 (off) or 3 to 300 seconds",
    );
    need([1, 50, 200, 1000].contains(&c.ws.depth), "ws.depth", "1, 50, 200 or 1000");
    need(
        (1_000..=60_000).contains(&c.ws.ping_interval_ms),
        "ws.ping_interval_ms",
        "1000 to 60000 (Bybit recommends 20000)",
    );
    need(
        c.ws.stale_after_ms == 0 || (c.ws.stale_after_ms >= 1_000 && c.ws.stale_after_ms <= 600_000),
        "ws.stale_after_ms",
        "0 (twice the ping interval) or 1000 to 600000: shorter would declare a healthy stream dead between pongs",
    );
    need(
        c.recorder.flush_interval_ms >= 1 && c.recorder.flush_interval_ms <= 60_000,
        "recorder.flush_interval_ms",
        "1 to 60000",
    );
    let f = &c.recorder.file_name;
    need(
        !f.is_empty() && !f.contains('/') && f != "." && f != "..",
        "recorder.file_name",
        "a file name (no '/'), e.g. events-{run_id}.jsonl",
    );
    need(c.monitor.interval_ms >= 100, "monitor.interval_ms", "at least 100");
    need(
        c.account.leverage.is_none_or(|l| l >= Decimal::ONE && l <= Decimal::from(100)),
        "account.leverage",
        "1 to 100",
    );
    need(
        sd_slippage_ok(c.shutdown.close_slippage_bps),
        "shutdown.close_slippage_bps",
        "more than 0 and at most 1000",
    );
    need(
        (50..=60_000).contains(&c.order_manager.escalate_after_ms),
        "order_manager.escalate_after_ms",
        "50 to 60000",
    );
    need(
        (1..=c.order_manager.escalate_after_ms.max(1)).contains(&c.order_manager.escalate_floor_ms),
        "order_manager.escalate_floor_ms",
        "1 to order_manager.escalate_after_ms",
    );
    need(
        c.order_manager.escalate_rtt_factor <= 100,
        "order_manager.escalate_rtt_factor",
        "0 (off) to 100",
    );
    let sd = &c.shutdown;
    need(sd.deadline_ms >= 1000, "shutdown.deadline_ms", "at least 1000");
    for (key, v) in [
        ("shutdown.order_manager_ms", sd.order_manager_ms),
        ("shutdown.strategy_ms", sd.strategy_ms),
        ("shutdown.ws_connector_ms", sd.ws_connector_ms),
        ("shutdown.rest_connector_ms", sd.rest_connector_ms),
        ("shutdown.web_server_ms", sd.web_server_ms),
        ("shutdown.recorder_ms", sd.recorder_ms),
        ("shutdown.positions_ms", sd.positions_ms),
    ] {
        need(v >= 100, key, "at least 100 ms (the overall deadline still bounds every step)");
        need(
            v <= sd.deadline_ms,
            key,
            &format!(
                "at most shutdown.deadline_ms ({} ms): a step cannot outlast the whole sequence",
                sd.deadline_ms
            ),
        );
    }
    need(
        sd.deadline_ms <= MAX_DEADLINE_MS,
        "shutdown.deadline_ms",
        "at most 3600000 (one hour): a longer deadline is almost always seconds written as milliseconds, \
         and no orchestrator waits that long before SIGKILL",
    );
    need(
        (0.0..=1.0).contains(&c.paper.trade_probability),
        "paper.trade_probability",
        "0 to 1",
    );
    need(c.paper.volatility_bps >= 0.0, "paper.volatility_bps", "0 or more");
    let paper = &c.paper;
    need(
        ["synthetic", "replay", "mirror"].contains(&paper.market.as_str()),
        "paper.market",
        "synthetic, replay or mirror",
    );
    if paper.market == "replay" {
        need(
            !paper.replay_files.is_empty() && paper.replay_files.iter().all(|f| f.is_file()),
            "paper.replay_files",
            "recordings that exist (market = \"replay\" plays them)",
        );
        need(
            paper.replay_speed.is_finite() && paper.replay_speed > 0.0,
            "paper.replay_speed",
            "more than 0",
        );
    }
    if paper.market == "mirror" {
        need(
            paper.mirror_url.starts_with("ws://") || paper.mirror_url.starts_with("wss://"),
            "paper.mirror_url",
            "a ws:// or wss:// public stream (market = \"mirror\" follows it)",
        );
    }
    if paper.market != "synthetic" {
        need(
            embedded,
            "paper.market",
            "the embedded exchange (no exchange.rest_url): it is the one that replays or mirrors",
        );
    }
    need(
        fill_model::QueueModel::parse(&paper.queue_model).is_ok(),
        "paper.queue_model",
        "risk_averse or prob_power:N (N > 0)",
    );
    need(
        bybit_sim::market::source::FeedLatency::parse(&paper.feed_latency_ms.as_arg()).is_ok(),
        "paper.feed_latency_ms",
        "milliseconds or \"recorded\"",
    );
    if let Some(ha) = &c.ha {
        need(
            c.mode != Mode::DryRun,
            "ha",
            "paper or live mode: a dry run places no order, so there is nothing to hand over",
        );
        need(
            !embedded,
            "ha",
            "an exchange both instances share (exchange.rest_url): the embedded simulator is each process's own",
        );
        need(
            c.order_manager.cancel_scope == CancelScope::Own,
            "order_manager.cancel_scope",
            "\"own\" with [ha]: a cancel-all would take the other instance's orders",
        );
        need(
            c.order_manager.leftovers == LeftoverPolicy::Cancel,
            "order_manager.leftovers",
            "\"cancel\" with [ha]: a new active cancels the previous active's orders before its first quote",
        );
        // After a lost lease the fence closes margin_ms before the lease could lapse: closes at
        // the stop must be sent and land inside that (else they are withheld at run time).
        let closes_need = c.exchange.recv_window_ms + 1_000 + c.shutdown.positions_ms;
        need(
            !c.shutdown.close_positions || ha.margin_ms >= closes_need,
            "ha.margin_ms",
            &format!("at least exchange.recv_window_ms + 1000 + shutdown.positions_ms ({closes_need}) with shutdown.close_positions: after a lost lease the closes must land before it can lapse (or turn close_positions off: the next active inherits the positions)"),
        );
        p.extend(ha.problems(c.exchange.recv_window_ms));
    }
    p
}

pub(super) fn sd_slippage_ok(bps: Decimal) -> bool {
    bps > Decimal::ZERO && bps <= Decimal::from(1000)
}

#[cfg(test)]
mod ha_tests {
    use super::*;

    fn with_secrets(mut c: Config) -> Config {
        c.exchange.api_key = "k".into();
        c.exchange.api_secret = "s".into();
        c.control.token = "3f9c1a7be04d2c85f6a19e3b7d0c4e2a91b8f7c6d5e4a3b2c1d0e9f8a7b6c5d4".into();
        c
    }

    fn shipped(relative: &str) -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
    }

    #[test]
    fn the_shipped_high_availability_configs_are_valid() {
        let compose: Config = toml::from_str(&shipped("config/ha.toml")).unwrap();
        assert_eq!(validate(&with_secrets(compose)), Vec::<String>::new());
        // The Kubernetes manifest's ConfigMap, as the pod reads it.
        let yaml = shipped("deploy/kubernetes-ha.yaml");
        let block = yaml.split("mmbot.toml: |\n").nth(1).unwrap().split("\n---").next().unwrap();
        let text: String = block
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
            .collect();
        let k8s: Config = toml::from_str(&text).unwrap();
        assert!(k8s.ha.is_some());
        assert_eq!(validate(&with_secrets(k8s)), Vec::<String>::new());
    }

    #[test]
    fn a_lease_needs_a_shared_exchange_own_cancels_and_orders_to_hand_over() {
        let base = shipped("config/ha.toml");
        let problems = |edit: &dyn Fn(&mut Config)| {
            let mut c = with_secrets(toml::from_str(&base).unwrap());
            edit(&mut c);
            validate(&c)
        };
        let has = |p: Vec<String>, key: &str| p.iter().any(|x| x.starts_with(key));
        assert!(has(
            problems(&|c| c.order_manager.cancel_scope = CancelScope::Symbol),
            "order_manager.cancel_scope"
        ));
        assert!(has(
            problems(&|c| c.order_manager.leftovers = LeftoverPolicy::Adopt),
            "order_manager.leftovers"
        ));
        assert!(has(problems(&|c| c.mode = Mode::DryRun), "ha: expected paper or live"));
        assert!(has(
            problems(&|c| c.exchange.rest_url.clear()),
            "ha: expected an exchange both instances share"
        ));
        assert!(has(problems(&|c| c.exchange.recv_window_ms = 6_000), "ha.margin_ms"));
    }

    #[test]
    fn closes_at_the_stop_under_a_lease_need_a_margin_they_can_land_in() {
        let base = shipped("config/ha.toml");
        let mut c: Config = with_secrets(toml::from_str(&base).unwrap());
        c.shutdown.close_positions = true;
        let need = c.exchange.recv_window_ms + 1_000 + c.shutdown.positions_ms;
        c.ha.as_mut().unwrap().margin_ms = need - 1;
        assert!(validate(&c)
            .iter()
            .any(|p| p.starts_with("ha.margin_ms") && p.contains("close_positions")));
        c.ha.as_mut().unwrap().margin_ms = need;
        c.ha.as_mut().unwrap().lease_ttl_ms = (need / 1_000 + 4) * 1_000;
        assert_eq!(validate(&c), Vec::<String>::new());
    }
}
