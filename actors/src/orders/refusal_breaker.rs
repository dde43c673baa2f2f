//! The refusal breaker: a symbol whose creates the exchange keeps refusing for a reason that
//! retrying cannot heal (no margin, a read-only key, the wrong position mode, a notional below
//! the minimum) stops quoting instead of re-sending the same refused order at the rate limit.
//! While tripped it probes with one create, further apart each time, and resumes on the first
//! accept (the balance was topped up, the mode fixed). Cancels never pass through it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Refusals in a row (of codes that do not heal) that trip a symbol.
pub const TRIP_AFTER: u32 = 3;
/// The first probe after a trip; each refused probe doubles the wait up to [`PROBE_MAX`].
pub const PROBE_FIRST: Duration = Duration::from_secs(10);
/// At most one probe per 10 s: ≤ 6 order requests a minute while tripped.
pub const PROBE_MAX: Duration = Duration::from_secs(30);

/// Codes that retrying the same order will not change: the account, the key or the order's own
/// terms must change first.
pub fn will_not_heal(code: i64) -> bool {
    matches!(
        code,
        10001 // parameter error: on a healthy config, "position idx not match position mode"
            | 10003 | 10004 | 10005 // key invalid, signature, permission denied (read-only key)
            | 10024 // compliance: the account may not trade
            | 10029 // symbol not whitelisted for this key
            | 33004 // API key expired
            | 110003 // price out of the permitted range
            | 110004 | 110006 | 110007 | 110012 // insufficient balance / margin
            | 110013 // leverage / risk limit does not allow the order
            | 110066 // trading on this symbol is not allowed now
            | 110074 // the contract is not live
            | 110094 // below the minimum notional
            | 110090 | 110091 // position would exceed the risk limit
    )
}

/// Why a symbol is halted, for logs, `/status` and the `reason` label.
#[derive(Debug, Clone, PartialEq)]
pub struct Halt {
    pub code: i64,
    pub message: String,
    pub since: Instant,
}

impl Halt {
    pub fn reason(&self) -> String {
        format!("{} {}", self.code, self.message)
    }
}

#[derive(Debug, Default)]
struct SymbolBreaker {
    streak: u32,
    halt: Option<Halt>,
    next_probe: Option<Instant>,
    backoff: Duration,
}

/// What a symbol may send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// Every desired quote.
    Full,
    /// Tripped, and a probe is due: one create.
    Probe,
    /// Tripped, waiting for the next probe: nothing but cancels.
    Halted,
}

/// What an answer changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    None,
    Tripped(Halt),
    Resumed { halted_for: Duration },
}

#[derive(Debug, Default)]
pub struct RefusalBreaker {
    symbols: HashMap<String, SymbolBreaker>,
}

impl RefusalBreaker {
    pub fn quoting(&self, symbol: &str, now: Instant) -> Quoting {
        match self.symbols.get(symbol) {
            Some(s) if s.halt.is_some() => {
                if s.next_probe.is_some_and(|t| now >= t) {
                    Quoting::Probe
                } else {
                    Quoting::Halted
                }
            }
            _ => Quoting::Full,
        }
    }

    /// A probe left: the next one waits longer (until an answer resumes the symbol).
    pub fn probe_sent(&mut self, symbol: &str, now: Instant) {
        if let Some(s) = self.symbols.get_mut(symbol).filter(|s| s.halt.is_some()) {
            s.next_probe = Some(now + s.backoff);
            s.backoff = (s.backoff * 2).min(PROBE_MAX);
        }
    }

    /// When the earliest probe is due, for a timer.
    pub fn next_probe(&self) -> Option<Instant> {
        self.symbols
            .values()
            .filter(|s| s.halt.is_some())
            .filter_map(|s| s.next_probe)
            .min()
    }

    /// A create refused with `code`. Transient codes neither count nor reset the streak.
    pub fn refused(&mut self, symbol: &str, code: i64, message: &str, now: Instant) -> Change {
        if !will_not_heal(code) {
            return Change::None;
        }
        let s = self.symbols.entry(symbol.to_string()).or_default();
        s.streak += 1;
        if s.halt.is_some() || s.streak < TRIP_AFTER {
            return Change::None;
        }
        let halt = Halt {
            code,
            message: message.to_string(),
            since: now,
        };
        s.halt = Some(halt.clone());
        s.next_probe = Some(now + PROBE_FIRST);
        s.backoff = (PROBE_FIRST * 2).min(PROBE_MAX);
        Change::Tripped(halt)
    }

    /// A create accepted: the streak ends, and a tripped symbol quotes again.
    pub fn accepted(&mut self, symbol: &str, now: Instant) -> Change {
        let Some(s) = self.symbols.get_mut(symbol) else {
            return Change::None;
        };
        s.streak = 0;
        s.next_probe = None;
        match s.halt.take() {
            Some(h) => Change::Resumed {
                halted_for: now.saturating_duration_since(h.since),
            },
            None => Change::None,
        }
    }

    pub fn halted(&self) -> BTreeMap<String, Halt> {
        self.symbols
            .iter()
            .filter_map(|(k, s)| s.halt.clone().map(|h| (k.clone(), h)))
            .collect()
    }

    pub fn all_halted(&self, symbols: &[String]) -> bool {
        !symbols.is_empty() && symbols.iter().all(|s| self.symbols.get(s).is_some_and(|b| b.halt.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_after_a_few_refusals_that_do_not_heal() {
        let mut b = RefusalBreaker::default();
        let t = Instant::now();
        assert_eq!(b.refused("BTCUSDT", 110007, "Insufficient balance", t), Change::None);
        assert_eq!(b.refused("BTCUSDT", 10006, "rate", t), Change::None, "transient: not counted");
        assert_eq!(b.refused("BTCUSDT", 110007, "Insufficient balance", t), Change::None);
        assert!(matches!(b.refused("BTCUSDT", 110007, "Insufficient balance", t), Change::Tripped(h) if h.code == 110007));
        assert_eq!(b.quoting("BTCUSDT", t), Quoting::Halted);
        assert_eq!(b.quoting("ETHUSDT", t), Quoting::Full);
        assert!(b.all_halted(&["BTCUSDT".into()]));
        assert!(!b.all_halted(&["BTCUSDT".into(), "ETHUSDT".into()]));
    }

    #[test]
    fn an_accept_ends_the_streak() {
        let mut b = RefusalBreaker::default();
        let t = Instant::now();
        b.refused("BTCUSDT", 10001, "position idx", t);
        b.refused("BTCUSDT", 10001, "position idx", t);
        assert_eq!(b.accepted("BTCUSDT", t), Change::None);
        assert_eq!(b.refused("BTCUSDT", 10001, "position idx", t), Change::None);
        assert_eq!(b.quoting("BTCUSDT", t), Quoting::Full);
    }

    #[test]
    fn probes_back_off_and_stay_within_six_a_minute() {
        let mut b = RefusalBreaker::default();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER {
            b.refused("BTCUSDT", 10005, "permission denied", t0);
        }
        let mut probes = Vec::new();
        let mut now = t0;
        while now < t0 + Duration::from_secs(120) {
            if b.quoting("BTCUSDT", now) == Quoting::Probe {
                probes.push(now);
                b.probe_sent("BTCUSDT", now);
                b.refused("BTCUSDT", 10005, "permission denied", now);
            }
            now += Duration::from_millis(100);
        }
        let gaps: Vec<u64> = probes.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
        assert_eq!(probes[0] - t0, PROBE_FIRST);
        assert_eq!(gaps[..3], [20, 30, 30], "backs off, capped");
        assert!(probes.len() <= 12, "{} probes in two minutes", probes.len());
    }

    #[test]
    fn an_accepted_probe_resumes() {
        let mut b = RefusalBreaker::default();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER {
            b.refused("BTCUSDT", 110007, "Insufficient balance", t0);
        }
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.quoting("BTCUSDT", later), Quoting::Probe);
        b.probe_sent("BTCUSDT", later);
        assert_eq!(
            b.accepted("BTCUSDT", later),
            Change::Resumed {
                halted_for: Duration::from_secs(11)
            }
        );
        assert_eq!(b.quoting("BTCUSDT", later), Quoting::Full);
        assert!(b.halted().is_empty());
        assert!(b.next_probe().is_none());
    }
}
