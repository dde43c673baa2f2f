//! One-way position accounting: signed size, average entry, realised PnL, as fills arrive.

use rust_decimal::Decimal;

use bybit_v5::Side;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PositionState {
    /// Positive long, negative short.
    pub size: Decimal,
    pub avg_price: Decimal,
    /// Realised PnL of the current position, fees included.
    pub cur_realised: Decimal,
    pub cum_realised: Decimal,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// When the current position opened (0 while flat).
    pub open_ms: u64,
    /// Cross sequence of the fill that last moved it.
    pub seq: i64,
}

impl PositionState {
    /// Apply a fill; returns the realised PnL of the part that closed (before fees).
    pub fn apply_fill(&mut self, side: Side, qty: Decimal, price: Decimal, fee: Decimal, now_ms: u64) -> Decimal {
        let was_flat = self.size.is_zero();
        let signed = if side == Side::Buy { qty } else { -qty };
        let mut realised = Decimal::ZERO;
        if self.size.is_zero() || self.size.is_sign_positive() == signed.is_sign_positive() {
            let new_size = self.size + signed;
            self.avg_price = (self.size.abs() * self.avg_price + qty * price) / new_size.abs();
            self.size = new_size;
        } else {
            let closing = qty.min(self.size.abs());
            let direction = if self.size.is_sign_positive() {
                Decimal::ONE
            } else {
                -Decimal::ONE
            };
            realised = closing * (price - self.avg_price) * direction;
            let new_size = self.size + signed;
            if new_size.is_zero() {
                self.avg_price = Decimal::ZERO;
            } else if new_size.is_sign_positive() != self.size.is_sign_positive() {
                self.avg_price = price;
            }
            self.size = new_size;
        }
        if self.created_ms == 0 {
            self.created_ms = now_ms;
        }
        if self.size.is_zero() {
            self.open_ms = 0;
        } else if was_flat {
            self.open_ms = now_ms;
        }
        self.updated_ms = now_ms;
        self.cur_realised += realised - fee;
        self.cum_realised += realised - fee;
        realised
    }

    pub fn unrealised(&self, mark: Decimal) -> Decimal {
        self.size * (mark - self.avg_price)
    }

    pub fn side_str(&self) -> &'static str {
        if self.size.is_zero() {
            ""
        } else if self.size.is_sign_positive() {
            "Buy"
        } else {
            "Sell"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn open_add_reduce_flip() {
        let mut p = PositionState::default();
        p.apply_fill(Side::Buy, dec!(1), dec!(100), dec!(0), 1);
        p.apply_fill(Side::Buy, dec!(1), dec!(110), dec!(0), 2);
        assert_eq!((p.size, p.avg_price), (dec!(2), dec!(105)));
        let r = p.apply_fill(Side::Sell, dec!(1), dec!(115), dec!(0.1), 3);
        assert_eq!(r, dec!(10));
        assert_eq!(p.cum_realised, dec!(9.9));
        let r = p.apply_fill(Side::Sell, dec!(3), dec!(100), dec!(0), 4);
        assert_eq!(r, dec!(-5));
        assert_eq!((p.size, p.avg_price), (dec!(-2), dec!(100)));
        assert_eq!(p.unrealised(dec!(90)), dec!(20));
        assert_eq!(p.side_str(), "Sell");
    }
}
