//! A live bot's control token must be one nobody else knows: not a placeholder this repository
//! ships (an operator who applies the examples unchanged would run with a token printed here),
//! and not guessable (≥ 128 bits by a simple estimate: length × log2 of the character pool).

/// Tokens written in this repository's examples and manifests.
const SHIPPED: &[&str] = &[
    "replace-me-with-a-long-random-token",
    "change-me-local-token",
    "e2e-container-token",
    "0123456789abcdef",
];

/// Words that mark a token as a placeholder wherever it came from.
const PLACEHOLDER_WORDS: &[&str] = &["replace-me", "change-me", "changeme", "replaceme"];

pub const MIN_BITS: f64 = 128.0;

pub const HOW_TO_MAKE_ONE: &str = "make one with `openssl rand -hex 32` and pass it as MMBOT_CONTROL_TOKEN";

/// Bits a token may hold: its length times log2 of the pool its characters come from (hex
/// when they are all hex digits). A token of few distinct characters ("aaaa…") counts only those.
pub fn estimated_bits(token: &str) -> f64 {
    let chars: Vec<char> = token.chars().collect();
    let hex = chars.iter().all(|c| c.is_ascii_hexdigit());
    let pool = if hex {
        16.0
    } else {
        let lower = chars.iter().any(char::is_ascii_lowercase) as u8 as f64 * 26.0;
        let upper = chars.iter().any(char::is_ascii_uppercase) as u8 as f64 * 26.0;
        let digit = chars.iter().any(char::is_ascii_digit) as u8 as f64 * 10.0;
        let other = chars.iter().any(|c| !c.is_ascii_alphanumeric()) as u8 as f64 * 33.0;
        (lower + upper + digit + other).max(1.0)
    };
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let per_char = pool.log2().min((distinct.len() as f64).log2().max(0.0) * 2.0);
    chars.len() as f64 * per_char
}

/// Why this token may not run a live bot, if it may not.
pub fn live_token_problem(token: &str) -> Option<String> {
    if token.is_empty() {
        return Some(format!("live mode needs a control token: {HOW_TO_MAKE_ONE}"));
    }
    let lower = token.to_ascii_lowercase();
    if SHIPPED.contains(&token) || PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return Some(format!(
            "the control token is a placeholder from the examples, known to anyone who read them: {HOW_TO_MAKE_ONE}"
        ));
    }
    let bits = estimated_bits(token);
    (bits < MIN_BITS)
        .then(|| format!("the control token is too easy to guess (~{bits:.0} bits, at least {MIN_BITS:.0} needed): {HOW_TO_MAKE_ONE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_short_tokens_are_refused() {
        for t in [
            "replace-me-with-a-long-random-token",
            "change-me-local-token",
            "my-CHANGE-ME-token-1234567890-abcdefgh",
        ] {
            assert!(live_token_problem(t).unwrap().contains("placeholder"), "{t}");
        }
        assert!(live_token_problem("0123456789abcdef0123").unwrap().contains("too easy"));
        assert!(live_token_problem(&"a".repeat(64)).is_some(), "one character repeated");
        assert!(live_token_problem("").is_some());
        // `openssl rand -hex 32`: 64 hex digits, 256 bits.
        let hex = "3f9c1a7be04d2c85f6a19e3b7d0c4e2a91b8f7c6d5e4a3b2c1d0e9f8a7b6c5d4";
        assert!(estimated_bits(hex) >= 255.0);
        assert_eq!(live_token_problem(hex), None);
        assert_eq!(
            live_token_problem("e2e-control-token-0123456789"),
            None,
            "28 chars of a 69-char pool"
        );
    }
}
