//! Rounding to a tick or a lot step in whole numbers: `x / step` worked out as a ratio of
//! integer mantissas, so the floor or ceiling is exact. Quotes are computed on every top change,
//! and a decimal division is most of what one costs; these give the same values as
//! `(x / step).floor() * step` (a decimal division rounds at 28 digits, these never do), and
//! fall back to the decimal form where the mantissas would not fit in 128 bits.

use rust_decimal::Decimal;

/// `10^e` for `e` in 0..=38, or None: looked up (a rounding takes one or two).
fn pow10(e: u32) -> Option<i128> {
    const POW10: [i128; 39] = {
        let mut t = [1i128; 39];
        let mut i = 1;
        while i < 39 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    POW10.get(e as usize).copied()
}

/// `a / (b · step)` as a fraction of integers, both positive parts nonzero; None when it does
/// not fit (or `b · step` is not positive).
fn ratio(a: Decimal, b: Decimal, step: Decimal) -> Option<(i128, i128)> {
    let (am, bm, sm) = (a.mantissa(), b.mantissa(), step.mantissa());
    if bm <= 0 || sm <= 0 {
        return None;
    }
    // a/(b·s) = am·10^(bs + ss − as) / (bm·sm)
    let e = b.scale() as i64 + step.scale() as i64 - a.scale() as i64;
    let den = bm.checked_mul(sm)?;
    if e >= 0 {
        Some((am.checked_mul(pow10(e as u32)?)?, den))
    } else {
        Some((am, den.checked_mul(pow10((-e) as u32)?)?))
    }
}

/// ⌊num / den⌋ (den > 0), in 64 bits when both fit: a 128-bit division is several times slower.
fn div_floor(num: i128, den: i128) -> i128 {
    match (u64::try_from(num), u64::try_from(den)) {
        (Ok(n), Ok(d)) => i128::from(n / d),
        _ => num.div_euclid(den),
    }
}

/// ⌈num / den⌉ (den > 0).
fn div_ceil(num: i128, den: i128) -> i128 {
    match (u64::try_from(num), u64::try_from(den)) {
        (Ok(n), Ok(d)) => i128::from(n.div_ceil(d)),
        _ => -(-num).div_euclid(den),
    }
}

fn steps_to_decimal(n: i128, step: Decimal) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(n.checked_mul(step.mantissa())?, step.scale()).ok()
}

/// `x` rounded down to a multiple of `step` (> 0).
pub fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    ratio(x, Decimal::ONE, step)
        .and_then(|(num, den)| steps_to_decimal(div_floor(num, den), step))
        .unwrap_or_else(|| (x / step).floor() * step)
}

/// `x` rounded up to a multiple of `step` (> 0).
pub fn ceil_to(x: Decimal, step: Decimal) -> Decimal {
    ratio(x, Decimal::ONE, step)
        .and_then(|(num, den)| steps_to_decimal(div_ceil(num, den), step))
        .unwrap_or_else(|| (x / step).ceil() * step)
}

/// How many `step`s `x` is, when it is a whole number of them (a price on its tick): None otherwise.
pub fn whole_steps(x: Decimal, step: Decimal) -> Option<i128> {
    let (num, den) = ratio(x, Decimal::ONE, step)?;
    let n = div_floor(num, den);
    (n.checked_mul(den) == Some(num)).then_some(n)
}

/// `a / b` (b > 0) rounded up to a multiple of `step`: a size for a notional at a price, without
/// the division's rounding.
pub fn ceil_ratio_to(a: Decimal, b: Decimal, step: Decimal) -> Decimal {
    ratio(a, b, step)
        .and_then(|(num, den)| steps_to_decimal(div_ceil(num, den), step))
        .unwrap_or_else(|| ceil_to(a / b, step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn decimal_floor(x: Decimal, step: Decimal) -> Decimal {
        (x / step).floor() * step
    }

    fn decimal_ceil(x: Decimal, step: Decimal) -> Decimal {
        (x / step).ceil() * step
    }

    #[test]
    fn prices_and_sizes_round_as_the_decimal_division_does() {
        assert_eq!(floor_to(dec!(65000.149), dec!(0.1)), dec!(65000.1));
        assert_eq!(ceil_to(dec!(65000.101), dec!(0.1)), dec!(65000.2));
        assert_eq!(ceil_to(dec!(65000.1), dec!(0.10)), dec!(65000.10));
        assert_eq!(floor_to(dec!(-0.15), dec!(0.1)), dec!(-0.2));
        assert_eq!(ceil_to(dec!(-0.15), dec!(0.1)), dec!(-0.1));
        assert_eq!(floor_to(dec!(1.26), dec!(0.25)), dec!(1.25));
        assert_eq!(ceil_ratio_to(dec!(60), dec!(65000.1), dec!(0.001)), dec!(0.001));
        assert_eq!(ceil_ratio_to(dec!(100), dec!(2.5), dec!(1)), dec!(40));
        assert_eq!(ceil_ratio_to(dec!(100), dec!(3), dec!(0.1)), dec!(33.4));
        assert_eq!(ceil_ratio_to(Decimal::ZERO, dec!(3), dec!(0.1)), Decimal::ZERO);
        assert_eq!(whole_steps(dec!(65000.10), dec!(0.1)), Some(650001));
        assert_eq!(whole_steps(dec!(1.25), dec!(0.25)), Some(5));
        assert_eq!(whole_steps(dec!(65000.15), dec!(0.1)), None);
    }

    #[test]
    fn mantissas_too_large_for_128_bits_fall_back_to_the_decimal_form() {
        // 10^19 · 10^20 does not fit; a step of 1.00000000000000000001.
        let (x, step) = (Decimal::from(10u64.pow(19)), Decimal::from_i128_with_scale(10i128.pow(20) + 1, 20));
        assert!(ratio(x, Decimal::ONE, step).is_none());
        assert_eq!(floor_to(x, step), decimal_floor(x, step));
        assert_eq!(ceil_to(x, step), decimal_ceil(x, step));
        assert!(ratio(dec!(60), step, step).is_none());
        assert_eq!(ceil_ratio_to(dec!(60), step, step), decimal_ceil(dec!(60) / step, step));
    }

    fn price() -> impl Strategy<Value = Decimal> {
        // Prices as books carry them (0.0001 to 200 000, up to 6 decimals), and the products and
        // differences the quoting makes of them (up to 28 digits).
        (1i64..2_000_000_000_000, 0u32..=6, 0i64..1_000_000, 0u32..=22)
            .prop_map(|(m, s, f, fs)| Decimal::new(m, s + 2) * (Decimal::ONE - Decimal::new(f, fs + 6)))
    }

    fn step() -> impl Strategy<Value = Decimal> {
        (prop::sample::select(vec![1i64, 2, 5, 10, 25, 50]), 0u32..=8).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        #[test]
        fn the_same_values_as_the_decimal_division(x in price(), step in step(), notional in 1i64..10_000_000, k in -100_000i64..100_000) {
            let whole = |x: Decimal| {
                let q = x / step;
                (q.fract().is_zero()).then(|| q.mantissa() / 10i128.pow(q.scale()))
            };
            prop_assert_eq!(whole_steps(x, step), whole(x));
            prop_assert_eq!(whole_steps(step * Decimal::from(k), step), Some(i128::from(k)));
            prop_assert_eq!(floor_to(x, step), decimal_floor(x, step));
            prop_assert_eq!(ceil_to(x, step), decimal_ceil(x, step));
            prop_assert_eq!(floor_to(-x, step), decimal_floor(-x, step));
            let notional = Decimal::new(notional, 2);
            prop_assert_eq!(ceil_ratio_to(notional, x, step), decimal_ceil(notional / x, step));
        }
    }
}
