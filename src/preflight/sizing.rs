//! What the configured quotes cost on this account: each order's real size once the
//! instrument's minimums apply, the leverage each symbol runs at, and the margin that full
//! quotes plus the maximum positions tie up against the available balance.

use rust_decimal::Decimal;
use serde_json::Value;

use mmbot_actors::market::quoting::{qty_for, rounds_far_up, BelowMinimum, Filters, QuoteParams};

use super::{row, Row, Verdict};

/// Above this the leverage row warns: a 4 % move takes the whole margin of a position.
const LEVERAGE_WARN: i64 = 25;

/// What `order_notional` becomes at `price` once the instrument's minimum quantity, lot step
/// and minimum notional apply: a WARN when the real order is more than 1.5× the configured one,
/// saying what `strategy.below_minimum` does with it.
pub fn size_row(symbol: &str, notional: Decimal, f: &Filters, price: Decimal, policy: BelowMinimum) -> Row {
    let qty = qty_for(notional, f, price);
    let real = (qty * price).round_dp(2);
    let check = format!("order size {symbol}");
    if !rounds_far_up(notional, f, price) {
        return row(check, Verdict::Ok, format!("{qty} per order (≈ {real} USDT at {price})"));
    }
    let what = match policy {
        BelowMinimum::RoundUp => format!(
            "each order is rounded up to {qty} (≈ {real} USDT at {price}), {}× the configured size (strategy.below_minimum = \"round_up\")",
            (real / notional).round_dp(1)
        ),
        BelowMinimum::Skip => format!(
            "{symbol} is not quoted while its smallest order (≈ {real} USDT at {price}) is above 1.5× it (strategy.below_minimum = \"skip\")"
        ),
    };
    row(
        check,
        Verdict::Warn,
        format!("order_notional {notional} is below what {symbol} allows: {what} — raise order_notional or drop the symbol"),
    )
}

/// The notional of every quote a symbol rests at once (both sides, every level) at `price`.
pub fn full_quotes_notional(params: &QuoteParams, f: &Filters, price: Decimal) -> Decimal {
    let mut total = Decimal::ZERO;
    let mut notional = params.order_notional;
    for _ in 0..params.levels {
        total += qty_for(notional, f, price) * price * Decimal::TWO;
        notional *= params.size_growth;
    }
    total
}

/// The leverage a symbol's position rows carry (Bybit keeps it per symbol, set from the UI or
/// `set-leverage`).
pub fn leverage_of(positions: &Value, symbol: &str) -> Option<Decimal> {
    super::position_mode::rows_of(positions, symbol)
        .filter_map(|p| p["leverage"].as_str().and_then(|l| l.parse::<Decimal>().ok()))
        .find(|l| *l > Decimal::ZERO)
}

/// One symbol's leverage row, with the margin its full quotes and maximum position need.
pub fn leverage_row(symbol: &str, leverage: Decimal, quotes: Decimal, max_position: Decimal) -> Row {
    let need = ((quotes + max_position) / leverage).round_dp(2);
    let detail = format!(
        "{}×: full quotes (≈ {} USDT) and the maximum position ({max_position} USDT) tie up ≈ {need} USDT of margin",
        leverage.normalize(),
        quotes.round_dp(2)
    );
    if leverage > Decimal::from(LEVERAGE_WARN) {
        let liquidating_move = (Decimal::from(100) / leverage).round_dp(1);
        return row(
            format!("leverage {symbol}"),
            Verdict::Warn,
            format!("{detail}; at this leverage a {liquidating_move} % move takes a position's margin — set account.leverage"),
        );
    }
    row(format!("leverage {symbol}"), Verdict::Ok, detail)
}

/// The whole account's margin need against the available balance: short of it, quoting halts
/// per symbol when the exchange refuses for margin (the refusal breaker), so this warns.
pub fn margin_row(need: Decimal, available: Decimal) -> Row {
    let need = need.round_dp(2);
    if need > available {
        row(
            "margin",
            Verdict::Warn,
            format!("available {available} USDT cannot carry full quotes and the maximum positions (≈ {need} USDT): the exchange will refuse creates for margin (110007) and quoting halts until the balance is topped up — top up, or lower order_notional / risk.max_position_notional"),
        )
    } else {
        row("margin", Verdict::Ok, format!("≈ {need} USDT needed of {available} USDT available"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn btc() -> Filters {
        Filters {
            tick_size: dec("0.1"),
            qty_step: dec("0.001"),
            min_qty: dec("0.001"),
            max_qty: dec("100"),
            min_notional: dec("5"),
        }
    }

    #[test]
    fn a_notional_below_the_minimum_warns_with_the_real_size() {
        let r = size_row("BTCUSDT", dec("20"), &btc(), dec("95000"), BelowMinimum::RoundUp);
        assert_eq!(r.verdict, Verdict::Warn);
        assert!(
            r.detail.contains("0.001") && r.detail.contains("95.00") && r.detail.contains("4.8×"),
            "{}",
            r.detail
        );
        let skip = size_row("BTCUSDT", dec("20"), &btc(), dec("95000"), BelowMinimum::Skip);
        assert!(skip.detail.contains("not quoted"), "{}", skip.detail);
        assert_eq!(
            size_row("BTCUSDT", dec("500"), &btc(), dec("95000"), BelowMinimum::RoundUp).verdict,
            Verdict::Ok
        );
    }

    #[test]
    fn margin_counts_every_level_and_the_maximum_position() {
        let params = QuoteParams {
            levels: 2,
            order_notional: dec("300"),
            size_growth: dec("1"),
            ..Default::default()
        };
        // 0.01 BTC per order at 30000: 300 USDT × 2 sides × 2 levels.
        assert_eq!(full_quotes_notional(&params, &btc(), dec("30000")), dec("1200"));
        let pos = json!({"list": [{"symbol": "BTCUSDT", "positionIdx": 0, "leverage": "10", "size": "0"}]});
        let lev = leverage_of(&pos, "BTCUSDT").unwrap();
        let r = leverage_row("BTCUSDT", lev, dec("1200"), dec("2000"));
        assert_eq!(r.verdict, Verdict::Ok);
        assert!(r.detail.contains("320"), "{}", r.detail);
        assert_eq!(leverage_row("BTCUSDT", dec("100"), dec("1200"), dec("2000")).verdict, Verdict::Warn);
        assert_eq!(margin_row(dec("320"), dec("1000")).verdict, Verdict::Ok);
        let short = margin_row(dec("320"), dec("0.5"));
        assert_eq!(short.verdict, Verdict::Warn);
        assert!(short.detail.contains("110007"));
    }
}
