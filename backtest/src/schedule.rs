//! Timed events between the venue and the bot, in time order (ties: in the order scheduled),
//! so a run is the same every time. A symbol travels as its index in the venue's names (the
//! instruments in name order), never as a name: no allocation or comparison of names per event.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use bybit_v5::Side;
use mmbot_actors::orders::order_diff::Action;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
pub enum Timed {
    /// The bot sees the book of `symbol` as it was at the venue.
    BookSeen {
        sym: usize,
        bid: Decimal,
        bid_size: Decimal,
        ask: Decimal,
        ask_size: Decimal,
    },
    /// The bot sees that a book is gone (a gap).
    BookLost { sym: usize },
    /// The bot's pacing timer for `symbol`.
    Requote { sym: usize },
    /// The budget has room again: plan every symbol.
    Replan,
    /// A batch reaches the venue.
    Arrive {
        sym: usize,
        endpoint: &'static str,
        actions: Vec<(String, Action)>,
        sent_ms: u64,
    },
    /// The venue's answer reaches the bot: each action's link id and whether it stands.
    Answer {
        endpoint: &'static str,
        units: u32,
        sent_ms: u64,
        outcomes: Vec<(String, Outcome)>,
    },
    /// The bot hears of a fill.
    FillSeen(SeenFill),
    /// The bot hears of funding paid (positive) or received.
    FundingSeen { sym: usize, fee: Decimal },
}

/// A fill as the bot hears of it.
#[derive(Debug, Clone)]
pub struct SeenFill {
    pub sym: usize,
    pub link_id: String,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub fee: Decimal,
}

/// What became of one order action at the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Resting (created or amended), or gone (cancelled) as asked.
    Done,
    /// A post-only order that would have crossed: cancelled.
    PostOnlyCancelled,
    /// The order was no longer there (filled or cancelled before).
    NotFound,
}

/// One scheduled event, ordered by its time, then by when it was scheduled.
struct Entry {
    at: u64,
    seq: u64,
    what: Timed,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

#[derive(Default)]
pub struct Schedule {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Schedule {
    pub fn at(&mut self, ms: u64, what: Timed) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at: ms,
            seq: self.seq,
            what,
        }));
    }

    pub fn next_ms(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    pub fn pop(&mut self) -> Option<(u64, Timed)> {
        self.heap.pop().map(|Reverse(e)| (e.at, e.what))
    }
}
