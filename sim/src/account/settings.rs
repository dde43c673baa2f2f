//! The account's settings as the exchange keeps them: position mode and leverage per symbol,
//! and the rows a position has in each mode. Plain methods on the exchange, like matching.

use rust_decimal::Decimal;

use bybit_v5::{RetCode, Side};

use crate::account::options::AccountOptions;
use crate::error::ApiError;
use crate::exchange::{Exchange, LEVERAGE};

/// `/v5/position/switch-mode` modes.
pub const MODE_ONE_WAY: u8 = 0;
pub const MODE_HEDGE: u8 = 3;

impl Exchange {
    /// Apply `options` to the account with this key (at start).
    pub fn set_options(&mut self, api_key: &str, options: AccountOptions) {
        let symbols: Vec<String> = self.markets.keys().cloned().collect();
        if let Some(a) = self.accounts.iter_mut().find(|a| a.api_key == api_key) {
            if options.hedge {
                a.hedge.extend(symbols);
            }
            a.options = options;
        }
    }

    pub fn leverage(&self, account: usize, symbol: &str) -> Decimal {
        self.accounts[account].leverage.get(symbol).copied().unwrap_or(LEVERAGE)
    }

    pub fn is_hedge(&self, account: usize, symbol: &str) -> bool {
        self.accounts[account].hedge.contains(symbol)
    }

    /// The position rows of a symbol: one in one-way mode, two in hedge mode.
    pub fn position_rows(&self, account: usize, symbol: &str) -> &'static [u8] {
        if self.is_hedge(account, symbol) {
            &[1, 2]
        } else {
            &[0]
        }
    }

    /// Signed size of one row.
    pub fn row_size(&self, account: usize, symbol: &str, idx: u8) -> Decimal {
        self.accounts[account]
            .positions
            .get(&(symbol.to_string(), idx))
            .map_or(Decimal::ZERO, |p| p.size)
    }

    /// Sum over the account's rows of |size| × mark (what maintenance margin is charged on).
    pub fn position_value(&self, account: usize) -> Decimal {
        self.accounts[account]
            .positions
            .iter()
            .filter_map(|((s, _), p)| self.markets.get(s).map(|m| p.size.abs() * m.mid))
            .sum()
    }

    /// The row an order lands in, as Bybit checks it: one-way takes positionIdx 0 (or none),
    /// hedge mode requires 1 (long) or 2 (short). In hedge mode a Sell on the long row (or a Buy
    /// on the short row) closes, so it is reduce-only whatever the flag says.
    pub fn row_for_order(&self, account: usize, symbol: &str, idx: Option<u8>, side: Side) -> Result<(u8, bool), ApiError> {
        let idx = idx.unwrap_or(0);
        let mismatch = || ApiError::param("position idx not match position mode");
        if !self.is_hedge(account, symbol) {
            return if idx == 0 { Ok((0, false)) } else { Err(mismatch()) };
        }
        match (idx, side) {
            (1, Side::Buy) | (2, Side::Sell) => Ok((idx, false)),
            (1, Side::Sell) | (2, Side::Buy) => Ok((idx, true)),
            _ => Err(mismatch()),
        }
    }

    /// `/v5/position/switch-mode`: only with no position and no open order on the symbol.
    pub fn switch_mode(&mut self, account: usize, symbol: &str, mode: u8) -> Result<(), ApiError> {
        let hedge = match mode {
            MODE_ONE_WAY => false,
            MODE_HEDGE => true,
            m => return Err(ApiError::param(format!("params error: mode {m} invalid (0 one-way, 3 hedge)"))),
        };
        if self.is_hedge(account, symbol) == hedge {
            return Err(ApiError::new(RetCode::Other(110025), "Position mode is not modified"));
        }
        if self
            .position_rows(account, symbol)
            .iter()
            .any(|i| !self.row_size(account, symbol, *i).is_zero())
        {
            return Err(ApiError::new(
                RetCode::Other(110024),
                "You have an existing position, so position mode cannot be switched",
            ));
        }
        if self.orders.values().any(|o| o.account == account && o.info.symbol == symbol) {
            return Err(ApiError::new(
                RetCode::Other(110028),
                "You have existing open orders, so position mode cannot be switched",
            ));
        }
        let a = &mut self.accounts[account];
        if hedge {
            a.hedge.insert(symbol.to_string());
        } else {
            a.hedge.remove(symbol);
        }
        a.positions.retain(|(s, _), p| s != symbol || !p.size.is_zero());
        Ok(())
    }

    /// `/v5/position/set-leverage`: both sides alike (cross margin), within the instrument's
    /// range; 110043 when it is already so.
    pub fn set_leverage(&mut self, account: usize, symbol: &str, buy: Decimal, sell: Decimal) -> Result<(), ApiError> {
        if buy != sell {
            return Err(ApiError::param("params error: buyLeverage must equal sellLeverage in cross margin"));
        }
        let max: Decimal = self.markets[symbol].spec.max_leverage.parse().unwrap_or(LEVERAGE);
        if buy < Decimal::ONE || buy > max {
            return Err(ApiError::new(
                RetCode::Other(110013),
                format!("cannot set leverage {buy}: the range is 1 to {max}"),
            ));
        }
        if self.leverage(account, symbol) == buy {
            return Err(ApiError::new(RetCode::Other(110043), "leverage not modified"));
        }
        self.accounts[account].leverage.insert(symbol.to_string(), buy);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::MarketParams;
    use crate::market::instrument::default_instruments;
    use rust_decimal_macros::dec;

    fn exchange() -> Exchange {
        Exchange::new(
            default_instruments(),
            vec![("k".into(), "s".into())],
            MarketParams::default(),
            1,
            dec!(1000),
        )
    }

    #[test]
    fn hedge_rows_need_their_index() {
        let mut ex = exchange();
        ex.set_options(
            "k",
            AccountOptions {
                hedge: true,
                ..Default::default()
            },
        );
        assert_eq!(ex.position_rows(0, "BTCUSDT"), &[1, 2]);
        assert!(ex.row_for_order(0, "BTCUSDT", None, Side::Buy).is_err());
        assert_eq!(ex.row_for_order(0, "BTCUSDT", Some(1), Side::Buy).unwrap(), (1, false));
        assert_eq!(ex.row_for_order(0, "BTCUSDT", Some(1), Side::Sell).unwrap(), (1, true));
        ex.switch_mode(0, "BTCUSDT", MODE_ONE_WAY).unwrap();
        assert_eq!(ex.switch_mode(0, "BTCUSDT", MODE_ONE_WAY).unwrap_err().code.code(), 110025);
        assert_eq!(ex.row_for_order(0, "BTCUSDT", None, Side::Buy).unwrap(), (0, false));
    }

    #[test]
    fn leverage_is_checked_and_unchanged_is_110043() {
        let mut ex = exchange();
        assert_eq!(ex.set_leverage(0, "BTCUSDT", dec!(10), dec!(10)).unwrap_err().code.code(), 110043);
        ex.set_leverage(0, "BTCUSDT", dec!(2), dec!(2)).unwrap();
        assert_eq!(ex.leverage(0, "BTCUSDT"), dec!(2));
        assert!(ex.set_leverage(0, "BTCUSDT", dec!(1000), dec!(1000)).is_err());
    }
}
