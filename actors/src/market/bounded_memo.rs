//! Answers kept by their question, at most a bounded number: when full, the half asked least
//! recently is dropped, so a long run's memory stays flat and what the run keeps asking stays.
//! Hashed with foldhash: a key of a few decimals' bits, where SipHash would cost a good part of
//! the work the memo saves.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug)]
pub struct BoundedMemo<K, V> {
    /// Each answer, with when it was last asked (a count of questions).
    seen: HashMap<K, (u64, V), foldhash::fast::FixedState>,
    asked: u64,
    kept: usize,
}

impl<K: Hash + Eq, V> BoundedMemo<K, V> {
    /// At most `kept` answers (at least 2).
    pub fn new(kept: usize) -> Self {
        Self {
            seen: HashMap::default(),
            asked: 0,
            kept: kept.max(2),
        }
    }

    /// The answer to `key`, worked out by `work` when it is not kept. One hash when it is.
    pub fn get_or_work(&mut self, key: K, work: impl FnOnce() -> V) -> V
    where
        V: Clone,
    {
        self.asked += 1;
        if let Some((when, answer)) = self.seen.get_mut(&key) {
            *when = self.asked;
            return answer.clone();
        }
        if self.seen.len() >= self.kept {
            self.forget_oldest_half();
        }
        let answer = work();
        self.seen.insert(key, (self.asked, answer.clone()));
        answer
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn forget_oldest_half(&mut self) {
        let mut ages: Vec<u64> = self.seen.values().map(|(asked, _)| *asked).collect();
        let middle = ages.len() / 2;
        let cut = *ages.select_nth_unstable(middle).1;
        self.seen.retain(|_, (asked, _)| *asked > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_its_bound_and_what_was_asked_last() {
        let mut memo = BoundedMemo::new(100);
        let mut worked = 0;
        for i in 0..250u32 {
            let v = memo.get_or_work(i, || {
                worked += 1;
                i * 2
            });
            assert_eq!(v, i * 2);
            assert!(memo.len() <= 100, "{} kept", memo.len());
        }
        assert_eq!(worked, 250);
        // The newest are kept: asked again, none is worked out.
        for i in 240..250u32 {
            assert_eq!(memo.get_or_work(i, || unreachable!("kept")), i * 2);
        }
        // The oldest went.
        memo.get_or_work(0, || {
            worked += 1;
            0
        });
        assert_eq!(worked, 251);
    }
}
