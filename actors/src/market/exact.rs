//! Decimal operations the hot path makes on every top change, done in integers and giving bit
//! for bit what `rust_decimal` gives: `x / 2` (a mid; the same digits and scale, so it prints
//! the same), `x` as an `f64` (a queue's sizes, the volatility's mid), and the larger or smaller
//! of two (a quote's bounds and sizes). The decimal forms go through 128-bit division or a
//! comparison that rescales; prices and sizes fit in 64 bits and mostly share a scale. Outside
//! that range these are the decimal forms themselves. Property tests compare them.

use std::cmp::Ordering;

use rust_decimal::Decimal;

/// `a.cmp(&b)`: two integers when both have the same scale (a negative zero's mantissa is 0).
pub fn cmp(a: Decimal, b: Decimal) -> Ordering {
    if a.scale() == b.scale() {
        a.mantissa().cmp(&b.mantissa())
    } else {
        a.cmp(&b)
    }
}

/// `a.max(b)`: `a` unless it is less (of two equal values, `a`, however it is written).
pub fn max(a: Decimal, b: Decimal) -> Decimal {
    if cmp(a, b) == Ordering::Less {
        b
    } else {
        a
    }
}

/// `a.min(b)`: `a` unless it is greater.
pub fn min(a: Decimal, b: Decimal) -> Decimal {
    if cmp(a, b) == Ordering::Greater {
        b
    } else {
        a
    }
}

/// `x / 2`, exactly as the decimal division writes it. An even mantissa halves at the same
/// scale; an odd one is times 50 two places further (that is how the division writes it up to
/// 12 decimals and 18 digits; beyond, or for zero, it is the division itself).
pub fn half(x: Decimal) -> Decimal {
    let (m, scale) = (x.mantissa(), x.scale());
    if m == 0 || scale > 12 || m.unsigned_abs() >= 10u128.pow(18) {
        return x / Decimal::TWO;
    }
    if m % 2 == 0 {
        Decimal::from_i128_with_scale(m / 2, scale)
    } else {
        Decimal::from_i128_with_scale(m * 50, scale + 2)
    }
}

/// `x.to_f64()`, the same bits: `Decimal::as_f64`'s steps with the integer part and the fraction
/// found by a 64-bit division when the mantissa and `10^scale` fit in 64 bits.
pub fn to_f64(x: Decimal) -> f64 {
    let scale = x.scale();
    let m = x.mantissa().unsigned_abs();
    let (Ok(m), true) = (u64::try_from(m), (1..=19).contains(&scale)) else {
        return slow(x);
    };
    let precision = 10u64.pow(scale);
    let (integral, frac) = (m / precision, m % precision);
    let frac_f64 = frac as f64 / precision as f64;
    let integral = integral as f64;
    let neg = x.is_sign_negative();
    if frac_f64 == 0.0 {
        return if neg { -integral } else { integral };
    }
    let round_to = 10f64.powi(scale as i32);
    let rounded = ((integral + frac_f64) * round_to).round() / round_to;
    if neg {
        -rounded
    } else {
        rounded
    }
}

fn slow(x: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    x.to_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal_macros::dec;

    #[test]
    fn mids_are_written_as_the_division_writes_them() {
        for (x, written) in [
            (dec!(130000.3), "65000.150"),
            (dec!(130000.2), "65000.1"),
            (dec!(-3), "-1.50"),
            (dec!(0.0), "0"),
        ] {
            assert_eq!(half(x).to_string(), written);
            assert_eq!((x / Decimal::TWO).to_string(), written);
        }
    }

    fn decimal() -> impl Strategy<Value = Decimal> {
        // Mantissas of every length up to 28 digits, scales 0..=28, either sign.
        (any::<i128>(), 1u32..=28, 0u32..=28).prop_map(|(m, digits, scale)| Decimal::from_i128_with_scale(m % 10i128.pow(digits), scale))
    }

    proptest! {
        #[test]
        fn half_is_the_division_by_two_digit_for_digit(x in decimal()) {
            let (h, d) = (half(x), x / Decimal::TWO);
            prop_assert_eq!((h.mantissa(), h.scale(), h.to_string()), (d.mantissa(), d.scale(), d.to_string()));
        }

        #[test]
        fn to_f64_is_the_decimal_conversion_bit_for_bit(x in decimal()) {
            prop_assert_eq!(to_f64(x).to_bits(), x.to_f64().unwrap().to_bits());
        }

        #[test]
        fn max_and_min_pick_what_the_decimal_ones_pick(a in decimal(), b in decimal(), same_scale in any::<bool>()) {
            // Often the same scale (a book's prices), sometimes equal values written differently.
            let b = if same_scale { Decimal::from_i128_with_scale(b.mantissa() % 10i128.pow(20), a.scale()) } else { b };
            let c = Decimal::try_from_i128_with_scale(a.mantissa() * 10, a.scale() + 1).unwrap_or(a);
            for (x, y) in [(a, b), (b, a), (a, c), (c, a)] {
                let repr = |d: Decimal| (d.mantissa(), d.scale());
                prop_assert_eq!(cmp(x, y), x.cmp(&y));
                prop_assert_eq!(repr(max(x, y)), repr(x.max(y)));
                prop_assert_eq!(repr(min(x, y)), repr(x.min(y)));
            }
        }
    }
}
