//! Each execution once: the stream's, the back-fill's after a gap, and a stream push that
//! arrives late after the back-fill already had it all carry the same `execId`.

use std::collections::{HashSet, VecDeque};

use bybit_v5::rest::Execution;

/// How many execution ids are remembered: far more than one gap's back-fill.
const REMEMBERED: usize = 20_000;

#[derive(Debug, Default)]
pub struct FillLedger {
    seen: HashSet<String>,
    order: VecDeque<String>,
    /// The newest `execTime` seen (ms), where a back-fill starts.
    newest_ms: u64,
    /// Executions older than this are not this run's (0: every one is).
    floor_ms: u64,
}

impl FillLedger {
    /// Only executions from `ms` on count: the run's start (or a standby's take-over) — earlier
    /// fills, a leftover's among them, are in the inherited position, not in this run's PnL.
    pub fn from_ms(ms: u64) -> Self {
        Self {
            newest_ms: ms,
            floor_ms: ms,
            ..Self::default()
        }
    }

    /// The executions not seen before, in their order; every one is remembered.
    pub fn admit(&mut self, list: Vec<Execution>) -> Vec<Execution> {
        let mut fresh = Vec::new();
        for e in list {
            if e.exec_id.is_empty() || e.exec_time.parse::<u64>().is_ok_and(|t| t < self.floor_ms) || !self.seen.insert(e.exec_id.clone()) {
                continue;
            }
            self.order.push_back(e.exec_id.clone());
            while self.order.len() > REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
            // A timestamp from the future (a skewed or odd item) must not push the next
            // back-fill's start past executions still to come.
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(u64::MAX, |d| d.as_millis() as u64);
            self.newest_ms = self.newest_ms.max(e.exec_time.parse::<u64>().unwrap_or(0).min(now_ms));
            fresh.push(e);
        }
        fresh
    }

    pub fn newest_ms(&self) -> u64 {
        self.newest_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(id: &str, t: u64) -> Execution {
        Execution {
            exec_id: id.into(),
            exec_time: t.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn an_execution_is_admitted_once_whichever_way_it_comes() {
        let mut l = FillLedger::from_ms(100);
        assert_eq!(l.admit(vec![exec("a", 110), exec("b", 120)]).len(), 2);
        // The back-fill after a gap lists them again with a new one; a late push repeats one.
        let fresh = l.admit(vec![exec("b", 120), exec("c", 130), exec("a", 110)]);
        assert_eq!(fresh.iter().map(|e| e.exec_id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert!(l.admit(vec![exec("c", 130)]).is_empty());
        assert_eq!(l.newest_ms(), 130);
    }

    #[test]
    fn from_a_takeover_on_the_previous_actives_fills_are_not_counted() {
        let mut l = FillLedger::from_ms(1_000);
        let fresh = l.admit(vec![exec("old", 999), exec("new", 1_000)]);
        assert_eq!(fresh.iter().map(|e| e.exec_id.as_str()).collect::<Vec<_>>(), ["new"]);
    }

    #[test]
    fn an_execution_without_an_id_is_not_counted() {
        let mut l = FillLedger::from_ms(0);
        assert!(l.admit(vec![exec("", 5)]).is_empty());
    }
}
