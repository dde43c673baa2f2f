//! Risk limits: which sides may be quoted given positions, how many orders may rest, and when
//! the kill switch must stop the bot. Pure functions over the numbers the Strategy keeps.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::market::quoting::{Quote, Sides};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskLimits {
    /// Largest position per symbol, as notional in USDT: beyond it only the reducing side is quoted.
    pub max_position_notional: Decimal,
    /// Largest sum of all positions' notionals: beyond it only reducing sides are quoted.
    pub max_total_notional: Decimal,
    /// Most orders resting at once across all symbols.
    pub max_open_orders: u32,
    /// Loss from the best equity seen (USDT) that trips the kill switch; 0 = off.
    pub max_drawdown: Decimal,
    /// A book without updates for this long is stale: its quotes are pulled.
    pub stale_book_ms: u64,
    /// What the kill switch's shutdown does with the positions: cancel the orders and keep them
    /// (report only), or close them too (reduce-only IOC within `shutdown.close_slippage_bps`).
    pub on_kill: OnKill,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnKill {
    #[default]
    Cancel,
    CancelAndClose,
}

impl Default for RiskLimits {
    fn default() -> Self {
        Self {
            max_position_notional: Decimal::from(2_000),
            max_total_notional: Decimal::from(5_000),
            max_open_orders: 100,
            max_drawdown: Decimal::from(500),
            stale_book_ms: 5_000,
            on_kill: OnKill::Cancel,
        }
    }
}

/// Sides allowed for one symbol.
pub fn allowed_sides(limits: &RiskLimits, position: Decimal, mid: Decimal, total_notional: Decimal) -> Sides {
    let notional = position * mid;
    let total_exceeded = total_notional >= limits.max_total_notional;
    let long_full = notional >= limits.max_position_notional || (total_exceeded && position > Decimal::ZERO);
    let short_full = -notional >= limits.max_position_notional || (total_exceeded && position < Decimal::ZERO);
    // When the total is exceeded, a flat symbol opens nothing.
    let flat_blocked = total_exceeded && position.is_zero();
    Sides {
        buy: !long_full && !flat_blocked,
        sell: !short_full && !flat_blocked,
    }
}

/// Keep at most `max` quotes, nearest levels first.
pub fn cap_orders(mut quotes: Vec<Quote>, max: usize) -> Vec<Quote> {
    quotes.sort_by_key(|q| q.level);
    quotes.truncate(max);
    quotes
}

/// Why the kill switch must trip, if it must.
pub fn kill_switch(limits: &RiskLimits, drawdown: Decimal) -> Option<String> {
    (limits.max_drawdown > Decimal::ZERO && drawdown > limits.max_drawdown).then(|| {
        format!(
            "kill switch: drawdown {} USDT exceeds risk.max_drawdown {} USDT",
            drawdown.round_dp(4),
            limits.max_drawdown
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bybit_v5::Side;
    use rust_decimal_macros::dec;

    #[test]
    fn sides_follow_position_limits() {
        let l = RiskLimits {
            max_position_notional: dec!(1000),
            max_total_notional: dec!(1500),
            ..Default::default()
        };
        assert_eq!(allowed_sides(&l, dec!(0), dec!(100), dec!(0)), Sides::BOTH);
        assert_eq!(allowed_sides(&l, dec!(10), dec!(100), dec!(1000)), Sides { buy: false, sell: true });
        assert_eq!(
            allowed_sides(&l, dec!(-10), dec!(100), dec!(1000)),
            Sides { buy: true, sell: false }
        );
        assert_eq!(allowed_sides(&l, dec!(5), dec!(100), dec!(1600)), Sides { buy: false, sell: true });
        assert_eq!(allowed_sides(&l, dec!(0), dec!(100), dec!(1600)), Sides { buy: false, sell: false });
    }

    #[test]
    fn caps_and_kill_switch() {
        let q = |level| Quote {
            side: Side::Buy,
            level,
            price: dec!(1),
            qty: dec!(1),
        };
        assert_eq!(cap_orders(vec![q(2), q(0), q(1)], 2), vec![q(0), q(1)]);
        let l = RiskLimits {
            max_drawdown: dec!(10),
            ..Default::default()
        };
        assert!(kill_switch(&l, dec!(10)).is_none());
        assert!(kill_switch(&l, dec!(10.5)).unwrap().contains("kill switch"));
        assert!(kill_switch(
            &RiskLimits {
                max_drawdown: dec!(0),
                ..Default::default()
            },
            dec!(1e6)
        )
        .is_none());
    }
}
