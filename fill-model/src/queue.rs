//! Where a resting order stands in its price level's queue, estimated from what the market data
//! shows (quantities per price, trades): the quantity ahead of it.

/// How the queue ahead moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueModel {
    /// Advances only by trades at the order's price; a level that shrinks caps it.
    RiskAverse,
    /// Also advances by the share of an unexplained decrease estimated to have been ahead:
    /// with probability `f(back) / (f(back) + f(front))`, `f(x) = x^n`, it was behind.
    ProbPower(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue model {0:?}: expected risk_averse or prob_power:N (N > 0)")]
pub struct UnknownModel(pub String);

impl QueueModel {
    /// `risk_averse` or `prob_power:N`.
    pub fn parse(s: &str) -> Result<Self, UnknownModel> {
        match s.split_once(':') {
            None if s == "risk_averse" => Ok(QueueModel::RiskAverse),
            Some(("prob_power", n)) => n
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .map(QueueModel::ProbPower)
                .ok_or_else(|| UnknownModel(s.to_string())),
            _ => Err(UnknownModel(s.to_string())),
        }
    }

    pub fn name(&self) -> String {
        match self {
            QueueModel::RiskAverse => "risk_averse".into(),
            QueueModel::ProbPower(n) => format!("prob_power:{n}"),
        }
    }

    /// A new order at a level holding `level_qty`: everything there is ahead of it.
    pub fn join(&self, level_qty: f64) -> QueuePos {
        QueuePos {
            ahead: level_qty.max(0.0),
            traded: 0.0,
        }
    }

    /// `qty` traded at the order's price: that much of the queue ahead is gone.
    pub fn trade(&self, pos: &mut QueuePos, qty: f64) {
        pos.ahead -= qty;
        pos.traded += qty;
    }

    /// The level's quantity went from `prev` to `new`. What the trades since the last change
    /// took out is not counted twice.
    pub fn depth(&self, pos: &mut QueuePos, prev: f64, new: f64) {
        let unexplained = prev - new - std::mem::take(&mut pos.traded);
        match *self {
            QueueModel::RiskAverse => pos.ahead = pos.ahead.min(new),
            QueueModel::ProbPower(_) if unexplained <= 0.0 => pos.ahead = pos.ahead.min(new),
            QueueModel::ProbPower(n) => {
                let front = pos.ahead.max(0.0);
                let back = (prev - front).max(0.0);
                let f = |x: f64| x.powf(n);
                let behind = match f(back) / (f(back) + f(front)) {
                    p if p.is_finite() => p,
                    // Nothing ahead and nothing behind: the decrease was behind (nothing to take).
                    _ => 1.0,
                };
                // The share ahead comes off the front; what the share behind cannot take (there is
                // less behind than that) comes off the front too.
                let estimate = front - (1.0 - behind) * unexplained + (back - behind * unexplained).min(0.0);
                pos.ahead = estimate.min(new);
            }
        }
    }
}

/// An order's place in its queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuePos {
    /// The quantity ahead; below zero, trades at the price have reached into the order.
    pub ahead: f64,
    /// Traded at the price since the level's quantity last changed (the change includes it).
    traded: f64,
}

impl QueuePos {
    /// How much of the order the trades at its price have reached, in whole lots.
    pub fn reached(&self, lot: f64) -> f64 {
        if self.ahead < 0.0 && lot > 0.0 {
            ((-self.ahead / lot) + 1e-9).floor() * lot
        } else {
            0.0
        }
    }

    /// The order is at the front now (what reached it was filled).
    pub fn front(&mut self) {
        self.ahead = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        assert_eq!(QueueModel::parse("risk_averse"), Ok(QueueModel::RiskAverse));
        assert_eq!(QueueModel::parse("prob_power:3"), Ok(QueueModel::ProbPower(3.0)));
        assert!(QueueModel::parse("prob_power:0").is_err() && QueueModel::parse("fifo").is_err());
        assert_eq!(QueueModel::ProbPower(2.0).name(), "prob_power:2");
    }

    #[test]
    fn risk_averse_advances_by_trades_and_is_capped_by_a_shrinking_level() {
        let m = QueueModel::RiskAverse;
        let mut q = m.join(25.0);
        m.trade(&mut q, 10.0);
        assert_eq!(q.ahead, 15.0);
        m.depth(&mut q, 25.0, 60.0);
        assert_eq!(q.ahead, 15.0, "orders joining behind change nothing");
        m.depth(&mut q, 60.0, 8.0);
        assert_eq!(q.ahead, 8.0, "a level that shrinks below the queue ahead caps it");
        m.trade(&mut q, 10.5);
        assert_eq!(q.reached(1.0), 2.0, "2.5 past the front: 2 whole lots");
    }

    #[test]
    fn prob_power_splits_an_unexplained_decrease_by_position() {
        // 20 ahead, 80 behind, 10 cancelled: with N = 2 the chance it was behind is
        // 80² / (80² + 20²) = 16/17, so 10/17 comes off the front.
        let m = QueueModel::ProbPower(2.0);
        let mut q = m.join(20.0);
        m.depth(&mut q, 100.0, 90.0);
        assert!((q.ahead - (20.0 - 10.0 / 17.0)).abs() < 1e-9, "{}", q.ahead);
        // A trade of 5 at the price, then the level shows the 5 gone: not counted twice.
        m.trade(&mut q, 5.0);
        let before = q.ahead;
        m.depth(&mut q, 90.0, 85.0);
        assert_eq!(q.ahead, before);
    }

    #[test]
    fn at_the_back_a_decrease_is_all_ahead() {
        let m = QueueModel::ProbPower(3.0);
        let mut q = m.join(50.0);
        m.depth(&mut q, 50.0, 40.0);
        assert_eq!(q.ahead, 40.0, "nothing behind: the cancel was ahead");
    }
}
