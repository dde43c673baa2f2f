//! A price as a book's key. Its order is the decimal's value, exactly. Two prices with the same
//! number of decimals compare as integers: one book's prices all do, because Bybit writes a
//! symbol's prices to its tick. A decimal comparison is two calls that rescale; a book applies
//! millions of levels, and each one searches a tree.

use std::cmp::Ordering;

use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy)]
pub struct PriceKey(pub Decimal);

impl Ord for PriceKey {
    fn cmp(&self, o: &Self) -> Ordering {
        if self.0.scale() == o.0.scale() {
            // Same scale: the value's order is the mantissa's (a negative zero's mantissa is 0).
            self.0.mantissa().cmp(&o.0.mantissa())
        } else {
            self.0.cmp(&o.0)
        }
    }
}

impl PartialOrd for PriceKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for PriceKey {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for PriceKey {}

/// `a == b` by value, as one integer compare when both have the same scale (a feed writes all
/// its sizes, as all its prices, to one number of decimals).
pub fn same_value(a: Decimal, b: Decimal) -> bool {
    PriceKey(a) == PriceKey(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u32..=12).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        #[test]
        fn orders_as_the_decimal_value(a in decimal(), b in decimal(), same_scale in any::<bool>()) {
            let b = if same_scale { Decimal::from_i128_with_scale(b.mantissa(), a.scale()) } else { b };
            prop_assert_eq!(PriceKey(a).cmp(&PriceKey(b)), a.cmp(&b));
            prop_assert_eq!(PriceKey(a) == PriceKey(b), a == b);
        }
    }

    #[test]
    fn equal_values_written_differently_are_one_key() {
        let (a, b) = (Decimal::new(650001, 1), Decimal::new(6500010, 2));
        assert_eq!(PriceKey(a), PriceKey(b));
        assert_eq!(PriceKey(-Decimal::ZERO), PriceKey(Decimal::ZERO));
    }
}
