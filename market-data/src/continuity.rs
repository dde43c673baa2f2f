//! Whether a book frame follows the one before it: Bybit's book deltas carry an update id `u`
//! that goes up by one per frame of a topic, and a cross sequence `seq` that only grows. A
//! snapshot starts over. A delta that skips an id is a gap (the book is wrong from there until
//! the next snapshot); one at or before the last id is out of order. Recorder, importer and
//! replay all judge a book this way, so a book never runs on a gap.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuity {
    /// The next delta.
    Follows,
    /// A snapshot: the book starts over from it.
    Snapshot,
    /// Ids `expected` … `got − 1` are missing: wait for a snapshot.
    Gap { expected: u64, got: u64 },
    /// An id already seen (or older): out of order, ignored.
    Stale { last: u64, got: u64 },
    /// A delta while no snapshot has been seen since the start or a gap.
    Unanchored,
}

impl Continuity {
    /// The frame may be applied to the book.
    pub fn applies(self) -> bool {
        matches!(self, Continuity::Follows | Continuity::Snapshot)
    }
}

/// One topic's book, by its update ids.
#[derive(Debug, Clone, Default)]
pub struct BookContinuity {
    last_u: Option<u64>,
    last_seq: u64,
}

impl BookContinuity {
    pub fn check(&mut self, snapshot: bool, u: u64, seq: u64) -> Continuity {
        if snapshot {
            self.last_u = Some(u);
            self.last_seq = seq;
            return Continuity::Snapshot;
        }
        let Some(last) = self.last_u else {
            return Continuity::Unanchored;
        };
        if u <= last || (seq != 0 && seq < self.last_seq) {
            return Continuity::Stale { last, got: u };
        }
        if u != last + 1 {
            self.last_u = None;
            return Continuity::Gap {
                expected: last + 1,
                got: u,
            };
        }
        self.last_u = Some(u);
        self.last_seq = self.last_seq.max(seq);
        Continuity::Follows
    }

    /// Forget the book (a reconnect): the next delta needs a snapshot first.
    pub fn reset(&mut self) {
        self.last_u = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_follow_a_snapshot_a_skip_is_a_gap_until_the_next_snapshot() {
        let mut c = BookContinuity::default();
        assert_eq!(c.check(false, 5, 50), Continuity::Unanchored);
        assert_eq!(c.check(true, 10, 100), Continuity::Snapshot);
        assert_eq!(c.check(false, 11, 101), Continuity::Follows);
        assert_eq!(c.check(false, 11, 101), Continuity::Stale { last: 11, got: 11 });
        assert_eq!(c.check(false, 13, 104), Continuity::Gap { expected: 12, got: 13 });
        assert_eq!(c.check(false, 14, 105), Continuity::Unanchored, "no book until a snapshot");
        assert!(c.check(true, 20, 200).applies());
        assert!(c.check(false, 21, 201).applies());
    }
}
