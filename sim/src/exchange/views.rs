//! An account's position rows and wallet as Bybit shows them: margins, PnL, balances.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::{CoinBalance, Position, WalletAccount};

use super::*;

/// Maintenance margin as a share of position value (one flat tier; Bybit's first tier is 0.5 %).
pub const MAINTENANCE_RATE: Decimal = dec!(0.005);

impl Exchange {
    /// One position row as Bybit shows it (`idx`: 0 one-way, 1/2 the hedge rows).
    pub fn position_view(&self, account: usize, symbol: &str, idx: u8) -> Position {
        let m = &self.markets[symbol];
        let p = self.accounts[account]
            .positions
            .get(&(symbol.to_string(), idx))
            .cloned()
            .unwrap_or_default();
        let mark = m.spec.fmt_price(m.mid);
        let flat = p.size.is_zero();
        let size = p.size.abs();
        let leverage = self.leverage(account, symbol);
        let im = (size * m.mid / leverage).round_dp(8).to_string();
        let mm = (size * m.mid * MAINTENANCE_RATE).round_dp(8).to_string();
        // Empty while flat, as Bybit sends them.
        let when_open = |v: String| if flat { String::new() } else { v };
        Position {
            position_idx: idx,
            risk_id: 1,
            risk_limit_value: "2000000".into(),
            symbol: symbol.to_string(),
            side: p.side_str().to_string(),
            size: m.spec.fmt_qty(size),
            avg_price: p.avg_price.round_dp(8),
            position_value: when_open((size * p.avg_price).round_dp(8).to_string()),
            trade_mode: 0,
            auto_add_margin: 0,
            position_status: "Normal".into(),
            leverage: leverage.normalize().to_string(),
            break_even_price: when_open(p.avg_price.round_dp(8).to_string()),
            mark_price: mark,
            liq_price: String::new(),
            bust_price: String::new(),
            position_im: if flat { "0".into() } else { im.clone() },
            position_im_by_mp: if flat { "0".into() } else { im.clone() },
            position_mm: if flat { "0".into() } else { mm.clone() },
            position_mm_by_mp: if flat { "0".into() } else { mm },
            position_balance: if flat { "0".into() } else { im },
            tpsl_mode: "Full".into(),
            take_profit: self.tpsl_price(account, symbol, "TakeProfit"),
            stop_loss: self.tpsl_price(account, symbol, "StopLoss"),
            trailing_stop: "0".into(),
            session_avg_price: String::new(),
            unrealised_pnl: when_open(p.unrealised(m.mid).round_dp(8).to_string()),
            cur_realised_pnl: p.cur_realised.round_dp(8),
            cum_realised_pnl: p.cum_realised.round_dp(8),
            adl_rank_indicator: if flat { 0 } else { 2 },
            created_time: p.created_ms.to_string(),
            updated_time: p.updated_ms.to_string(),
            open_time: p.open_ms,
            seq: if p.created_ms == 0 { -1 } else { p.seq },
            is_reduce_only: false,
            mmr_sys_updated_time: String::new(),
            leverage_sys_updated_time: String::new(),
        }
    }

    pub(crate) fn order_im(&self, account: usize) -> Decimal {
        self.orders
            .values()
            .filter(|o| o.account == account)
            .map(|o| o.info.leaves_qty * o.info.price / self.leverage(account, &o.info.symbol))
            .sum()
    }

    pub(crate) fn position_im_and_upl(&self, account: usize) -> (Decimal, Decimal) {
        let mut im = Decimal::ZERO;
        let mut upl = Decimal::ZERO;
        for ((sym, _), p) in &self.accounts[account].positions {
            if let Some(m) = self.markets.get(sym) {
                im += p.size.abs() * m.mid / self.leverage(account, sym);
                upl += p.unrealised(m.mid);
            }
        }
        (im, upl)
    }

    pub fn available_balance(&self, account: usize) -> Decimal {
        let (pos_im, upl) = self.position_im_and_upl(account);
        self.accounts[account].wallet_balance + upl - pos_im - self.order_im(account)
    }

    pub fn wallet_view(&self, account: usize) -> WalletAccount {
        let a = &self.accounts[account];
        let (pos_im, upl) = self.position_im_and_upl(account);
        let pos_mm = self.position_value(account) * MAINTENANCE_RATE;
        let order_im = self.order_im(account);
        let equity = (a.wallet_balance + upl).round_dp(8);
        let cum: Decimal = a.positions.values().map(|p| p.cum_realised).sum();
        let rate = |x: Decimal| {
            if equity.is_zero() {
                Decimal::ZERO
            } else {
                (x / equity).round_dp(4)
            }
        };
        let im = (pos_im + order_im).round_dp(8);
        WalletAccount {
            account_type: "UNIFIED".into(),
            account_im_rate: rate(im),
            account_im_rate_by_mp: rate(im),
            account_mm_rate: rate(pos_mm),
            account_mm_rate_by_mp: rate(pos_mm),
            total_equity: equity,
            total_wallet_balance: a.wallet_balance.round_dp(8),
            total_margin_balance: equity,
            total_available_balance: (equity - pos_im - order_im).round_dp(8),
            total_perp_upl: upl.round_dp(8),
            total_initial_margin: im,
            total_initial_margin_by_mp: im,
            total_maintenance_margin: pos_mm.round_dp(8),
            total_maintenance_margin_by_mp: pos_mm.round_dp(8),
            account_ltv: Decimal::ZERO,
            coin: vec![CoinBalance {
                coin: "USDT".into(),
                equity,
                usd_value: equity,
                wallet_balance: a.wallet_balance.round_dp(8),
                total_order_im: order_im.round_dp(8),
                total_position_im: pos_im.round_dp(8),
                total_position_mm: pos_mm.round_dp(8),
                unrealised_pnl: upl.round_dp(8),
                cum_realised_pnl: cum.round_dp(8),
                margin_collateral: true,
                collateral_switch: true,
                col_res: "0".into(),
                ..Default::default()
            }],
        }
    }
}
