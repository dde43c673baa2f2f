//! The Strategy's settings (`[strategy]`) and the per-symbol overrides of its quote keys.

use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::market::quoting::{BelowMinimum, Model, QuoteParams};

/// Quote keys a symbol may override (`[strategy.symbols.ETHUSDT]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuoteOverride {
    pub model: Option<Model>,
    pub levels: Option<u32>,
    pub spread_bps: Option<Decimal>,
    pub level_step_bps: Option<Decimal>,
    pub order_notional: Option<Decimal>,
    pub size_growth: Option<Decimal>,
    pub inventory_skew_bps: Option<Decimal>,
    pub risk_aversion: Option<Decimal>,
    pub horizon_s: Option<Decimal>,
    pub liquidity_k: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategySettings {
    /// `fixed` or `avellaneda`.
    pub model: Model,
    /// Levels per side.
    pub levels: u32,
    /// Distance of the first level from the center, in basis points (a floor for avellaneda).
    pub spread_bps: Decimal,
    /// Distance between consecutive levels, in basis points.
    pub level_step_bps: Decimal,
    /// Value of the first level's order in USDT.
    pub order_notional: Decimal,
    /// Size multiplier from one level to the next.
    pub size_growth: Decimal,
    /// fixed: shift of both sides per order-size of inventory, in basis points.
    pub inventory_skew_bps: Decimal,
    /// avellaneda: risk aversion γ.
    pub risk_aversion: Decimal,
    /// avellaneda: horizon T in seconds.
    pub horizon_s: Decimal,
    /// avellaneda: order-arrival decay k, per basis point of distance.
    pub liquidity_k: Decimal,
    /// Half-life of the volatility estimate, seconds.
    pub volatility_half_life_s: f64,
    /// Least time between two quote updates of one symbol.
    pub min_requote_ms: u64,
    /// What a symbol whose minimum order is far above `order_notional` does: `round_up` (quote
    /// the minimum) or `skip` (quote nothing there).
    pub below_minimum: BelowMinimum,
    /// Per-symbol overrides of the quote keys above.
    pub symbols: BTreeMap<String, QuoteOverride>,
}

impl Default for StrategySettings {
    fn default() -> Self {
        let q = QuoteParams::default();
        Self {
            model: q.model,
            levels: q.levels,
            spread_bps: q.spread_bps,
            level_step_bps: q.level_step_bps,
            order_notional: q.order_notional,
            size_growth: q.size_growth,
            inventory_skew_bps: q.inventory_skew_bps,
            risk_aversion: q.risk_aversion,
            horizon_s: q.horizon_s,
            liquidity_k: q.liquidity_k,
            volatility_half_life_s: 30.0,
            below_minimum: BelowMinimum::RoundUp,
            min_requote_ms: 250,
            symbols: BTreeMap::new(),
        }
    }
}

impl StrategySettings {
    /// The quote parameters of one symbol: the defaults above with its overrides applied.
    pub fn quote_params(&self, symbol: &str) -> QuoteParams {
        let o = self.symbols.get(symbol).cloned().unwrap_or_default();
        QuoteParams {
            model: o.model.unwrap_or(self.model),
            levels: o.levels.unwrap_or(self.levels),
            spread_bps: o.spread_bps.unwrap_or(self.spread_bps),
            level_step_bps: o.level_step_bps.unwrap_or(self.level_step_bps),
            order_notional: o.order_notional.unwrap_or(self.order_notional),
            size_growth: o.size_growth.unwrap_or(self.size_growth),
            inventory_skew_bps: o.inventory_skew_bps.unwrap_or(self.inventory_skew_bps),
            risk_aversion: o.risk_aversion.unwrap_or(self.risk_aversion),
            horizon_s: o.horizon_s.unwrap_or(self.horizon_s),
            liquidity_k: o.liquidity_k.unwrap_or(self.liquidity_k),
        }
    }
}
