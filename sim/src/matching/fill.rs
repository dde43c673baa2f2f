//! One fill of an open order: the order, its execution, the position and the wallet, and the
//! private frames that tell the account.

use crate::exchange::Exchange;
use bybit_v5::rest::{Execution, ExecutionView, OrderView, PositionView};
use bybit_v5::{OrderStatus, Side};
use rust_decimal::Decimal;

impl Exchange {
    /// Apply a fill of `qty` at `price` to an open order: order state, execution, position, wallet.
    pub(crate) fn fill(&mut self, seq: u64, price: Decimal, qty: Decimal, is_maker: bool, now: u64) {
        let rate = {
            let spec = &self.markets[&self.orders[&seq].info.symbol].spec;
            if is_maker {
                spec.maker_fee
            } else {
                spec.taker_fee
            }
        };
        let fee = (qty * price * rate).round_dp(8);
        let (account, symbol, side, info) = {
            let o = self.orders.get_mut(&seq).expect("open order");
            let i = &mut o.info;
            i.cum_exec_qty += qty;
            i.leaves_qty -= qty;
            i.cum_exec_value = (i.cum_exec_value + qty * price).round_dp(8);
            i.cum_exec_fee = (i.cum_exec_fee + fee).round_dp(8);
            i.cum_fee_detail.insert("USDT".into(), i.cum_exec_fee.to_string());
            i.avg_price = (i.cum_exec_value / i.cum_exec_qty).round_dp(8).to_string();
            i.leaves_value = (i.leaves_qty * i.price).round_dp(8);
            i.order_status = if i.leaves_qty.is_zero() {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            };
            i.updated_time = now.to_string();
            (o.account, i.symbol.clone(), i.side, i.clone())
        };
        let spec = self.markets[&symbol].spec.clone();
        let exec_id = self.new_order_id();
        let seq_no = {
            let m = self.markets.get_mut(&symbol).expect("known symbol");
            m.cross_seq += 1;
            m.cross_seq
        };
        let closes = {
            let held = self.row_size(account, &symbol, info.position_idx);
            let signed = if side == Side::Buy { qty } else { -qty };
            if held.is_zero() || held.is_sign_positive() == signed.is_sign_positive() {
                Decimal::ZERO
            } else {
                qty.min(held.abs())
            }
        };
        let mark = spec.fmt_price(self.markets[&symbol].mid).to_string();
        let mut exec = Execution {
            category: "linear".into(),
            symbol: symbol.clone(),
            is_leverage: "0".into(),
            order_id: info.order_id.clone(),
            order_link_id: info.order_link_id.clone(),
            side,
            order_price: info.price,
            order_qty: info.qty,
            leaves_qty: info.leaves_qty,
            create_type: info.create_type.clone(),
            order_type: info.order_type,
            stop_order_type: "UNKNOWN".into(),
            exec_fee: fee,
            exec_id,
            exec_price: spec.fmt_price(price),
            exec_qty: spec.fmt_qty(qty),
            exec_type: "Trade".into(),
            exec_value: (qty * price).round_dp(8),
            exec_time: now.to_string(),
            fee_currency: "USDT".into(),
            is_maker,
            fee_rate: rate,
            mark_price: mark,
            closed_size: spec.fmt_qty(closes),
            seq: seq_no,
            ..Default::default()
        };
        let a = &mut self.accounts[account];
        let pos = a.positions.entry((symbol.clone(), info.position_idx)).or_default();
        let realised = pos.apply_fill(side, qty, price, fee, now);
        pos.seq = seq_no as i64;
        exec.exec_pnl = realised.round_dp(8);
        a.wallet_balance += realised - fee;
        self.record_execution(account, exec.clone());
        if info.order_status == OrderStatus::Filled {
            self.finish(seq, OrderStatus::Filled, "UNKNOWN", "EC_NoError", now);
        } else {
            self.send_private(account, "order", vec![info.to_wire(OrderView::Stream)], now);
        }
        self.send_private(account, "execution", vec![exec.to_wire(ExecutionView::Stream)], now);
        let pos = self.position_view(account, &symbol, info.position_idx);
        self.send_private(account, "position", vec![pos.to_wire(PositionView::Stream)], now);
        let wallet = self.wallet_view(account);
        self.send_private(account, "wallet", vec![wallet], now);
    }
}
