//! One resting order of ours against the market's events: which of them fill it, and by how
//! much. Prices are in ticks, quantities in the instrument's units.

use crate::queue::{QueueModel, QueuePos};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resting {
    pub side: Side,
    pub price_tick: i64,
    /// What is left to fill.
    pub leaves: f64,
    pub queue: QueuePos,
}

impl Resting {
    /// A new order joining the back of a level holding `level_qty` (the market's, not ours).
    pub fn join(model: &QueueModel, side: Side, price_tick: i64, qty: f64, level_qty: f64) -> Self {
        Self {
            side,
            price_tick,
            leaves: qty,
            queue: model.join(level_qty),
        }
    }

    /// Whether `price_tick` is past this order's price, on the side a taker against it trades.
    fn through(&self, price_tick: i64) -> bool {
        match self.side {
            Side::Buy => price_tick < self.price_tick,
            Side::Sell => price_tick > self.price_tick,
        }
    }

    /// A market trade of `qty` at `price_tick` whose taker was on `aggressor`'s side: what it
    /// fills of this order. A taker on our own side does not trade against us; one through our
    /// price fills all; one at it fills what exceeds the queue ahead (whole lots).
    pub fn on_trade(&mut self, model: &QueueModel, aggressor: Side, price_tick: i64, qty: f64, lot: f64) -> f64 {
        if aggressor == self.side || self.leaves <= 0.0 {
            return 0.0;
        }
        if self.through(price_tick) {
            return std::mem::take(&mut self.leaves);
        }
        if price_tick != self.price_tick {
            return 0.0;
        }
        model.trade(&mut self.queue, qty);
        let filled = self.queue.reached(lot).min(self.leaves);
        if filled > 0.0 {
            self.leaves -= filled;
            self.queue.front();
        }
        filled
    }

    /// The market's quantity at this order's price went from `prev` to `new`.
    pub fn on_level(&mut self, model: &QueueModel, prev: f64, new: f64) {
        model.depth(&mut self.queue, prev, new);
    }

    /// The best price on the other side is now `best_tick`: crossing this order's price fills
    /// it (the market moved through it).
    pub fn on_opposite_best(&mut self, best_tick: i64) -> f64 {
        let crossed = match self.side {
            Side::Buy => best_tick <= self.price_tick,
            Side::Sell => best_tick >= self.price_tick,
        };
        if crossed {
            std::mem::take(&mut self.leaves)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RA: QueueModel = QueueModel::RiskAverse;

    #[test]
    fn twenty_five_ahead_fills_when_thirty_trade_at_the_price() {
        let mut bid = Resting::join(&RA, Side::Buy, 100, 5.0, 25.0);
        assert_eq!(bid.on_trade(&RA, Side::Sell, 100, 20.0, 1.0), 0.0);
        assert_eq!(
            bid.on_trade(&RA, Side::Sell, 100, 8.0, 1.0),
            3.0,
            "3 past the queue: a partial fill"
        );
        assert_eq!(bid.leaves, 2.0);
        assert_eq!(
            bid.on_trade(&RA, Side::Sell, 100, 1.0, 1.0),
            1.0,
            "at the front now: the next trade reaches it"
        );
    }

    #[test]
    fn only_the_other_sides_takers_count_and_a_trade_through_fills_all() {
        let mut ask = Resting::join(&RA, Side::Sell, 200, 4.0, 1_000.0);
        assert_eq!(
            ask.on_trade(&RA, Side::Sell, 200, 5_000.0, 1.0),
            0.0,
            "a seller does not take our offer"
        );
        assert_eq!(ask.on_trade(&RA, Side::Buy, 199, 5_000.0, 1.0), 0.0, "below our offer");
        assert_eq!(ask.on_trade(&RA, Side::Buy, 201, 0.5, 1.0), 4.0, "a buy through our price");
        assert_eq!(ask.leaves, 0.0);
    }

    #[test]
    fn the_opposite_touch_crossing_the_price_fills() {
        let mut bid = Resting::join(&RA, Side::Buy, 100, 2.0, 50.0);
        assert_eq!(bid.on_opposite_best(101), 0.0);
        assert_eq!(bid.on_opposite_best(100), 2.0);
    }
}
