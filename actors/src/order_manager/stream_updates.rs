//! Stream updates: order states, executions and positions from the private stream, and its
//! readiness (no quote goes out before it).

use actix::prelude::*;

use crate::messages::events::Event;
use crate::messages::private_stream::{Executions, OrderUpdates, Positions, PrivateStreamReady};
use crate::orders::order_table::Change;
use crate::telemetry::metrics::labels;

use super::*;

impl Handler<OrderUpdates> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: OrderUpdates, _: &mut Self::Context) {
        for info in &msg.0 {
            if let Change::Closed { status, reason } = self.table.apply(info) {
                self.replace.remove(&info.order_link_id);
                self.record(Event::OrderClosed {
                    link_id: info.order_link_id.clone(),
                    symbol: info.symbol.clone(),
                    status: format!("{status:?}"),
                    reason,
                });
            }
        }
        self.publish();
    }
}

impl Handler<Executions> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: Executions, _: &mut Self::Context) {
        for e in msg.0.into_iter().filter(|e| e.exec_type == "Trade") {
            self.metrics
                .fills
                .get_or_create(&labels(&[
                    ("symbol", &e.symbol),
                    ("side", if e.side == bybit_v5::Side::Buy { "buy" } else { "sell" }),
                ]))
                .inc();
            self.record(Event::Fill {
                link_id: e.order_link_id,
                symbol: e.symbol,
                side: e.side,
                price: e.exec_price,
                qty: e.exec_qty,
                fee: e.exec_fee,
                is_maker: e.is_maker,
            });
        }
    }
}

impl Handler<PrivateStreamReady> for OrderManager {
    type Result = ();

    fn handle(&mut self, _: PrivateStreamReady, ctx: &mut Self::Context) {
        if !self.stream_ready {
            log::info!("private stream ready: quoting starts");
            self.stream_ready = true;
            self.act(ctx);
        }
    }
}

impl Handler<Positions> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: Positions, _: &mut Self::Context) {
        for (symbol, size) in msg.0 {
            self.metrics
                .position
                .get_or_create(&labels(&[("symbol", &symbol)]))
                .set(size.try_into().unwrap_or(0.0));
            self.positions.insert(symbol, size);
        }
    }
}
