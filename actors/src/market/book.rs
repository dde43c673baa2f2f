//! A local order book kept from Bybit's `orderbook.{depth}` stream: a snapshot resets it, a
//! delta replaces sizes (size 0 deletes), and a gap in `u` means the book is wrong and the
//! stream must be resubscribed.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use bybit_v5::rest::Level;
use bybit_v5::ws::{BookMessage, UpdateType};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalBook {
    pub bids: BTreeMap<Decimal, Decimal>,
    pub asks: BTreeMap<Decimal, Decimal>,
    /// Update id of the last message applied; `None` until the first snapshot.
    pub u: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BookError {
    #[error("delta before any snapshot")]
    NoSnapshot,
    #[error("gap in update ids: expected {expected}, got {got}")]
    Gap { expected: u64, got: u64 },
}

/// Best prices of a book, what the strategy quotes around.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Top {
    pub bid: Decimal,
    pub bid_size: Decimal,
    pub ask: Decimal,
    pub ask_size: Decimal,
}

impl Top {
    pub fn mid(&self) -> Decimal {
        crate::market::exact::half(self.bid + self.ask)
    }
}

fn apply_levels(side: &mut BTreeMap<Decimal, Decimal>, levels: &[Level]) {
    for (price, size) in levels {
        if size.is_zero() {
            side.remove(price);
        } else {
            side.insert(*price, *size);
        }
    }
}

impl LocalBook {
    /// Apply one message. On a gap the book is cleared: it must not be quoted on.
    pub fn apply(&mut self, msg: &BookMessage) -> Result<(), BookError> {
        match msg.kind {
            UpdateType::Snapshot => {
                self.bids.clear();
                self.asks.clear();
            }
            UpdateType::Delta => {
                let Some(last) = self.u else {
                    return Err(BookError::NoSnapshot);
                };
                if msg.data.u != last + 1 {
                    self.clear();
                    return Err(BookError::Gap {
                        expected: last + 1,
                        got: msg.data.u,
                    });
                }
            }
        }
        apply_levels(&mut self.bids, &msg.data.b);
        apply_levels(&mut self.asks, &msg.data.a);
        self.u = Some(msg.data.u);
        Ok(())
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.u = None;
    }

    pub fn top(&self) -> Option<Top> {
        let (bid, bid_size) = self.bids.iter().next_back().map(|(p, s)| (*p, *s))?;
        let (ask, ask_size) = self.asks.iter().next().map(|(p, s)| (*p, *s))?;
        (bid < ask).then_some(Top {
            bid,
            bid_size,
            ask,
            ask_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bybit_v5::ws::BookData;
    use rust_decimal_macros::dec;

    fn msg(kind: UpdateType, u: u64, b: Vec<Level>, a: Vec<Level>) -> BookMessage {
        BookMessage {
            topic: "orderbook.50.X".into(),
            kind,
            ts: 0,
            data: BookData {
                s: "X".into(),
                b,
                a,
                u,
                seq: u,
            },
            cts: 0,
        }
    }

    #[test]
    fn snapshot_delta_delete_and_gap() {
        let mut book = LocalBook::default();
        assert_eq!(book.apply(&msg(UpdateType::Delta, 1, vec![], vec![])), Err(BookError::NoSnapshot));
        book.apply(&msg(
            UpdateType::Snapshot,
            10,
            vec![(dec!(99), dec!(1)), (dec!(98), dec!(2))],
            vec![(dec!(101), dec!(1))],
        ))
        .unwrap();
        assert_eq!(book.top().unwrap().mid(), dec!(100));
        book.apply(&msg(
            UpdateType::Delta,
            11,
            vec![(dec!(99), dec!(0)), (dec!(99.5), dec!(3))],
            vec![],
        ))
        .unwrap();
        assert_eq!(book.top().unwrap().bid, dec!(99.5));
        assert!(!book.bids.contains_key(&dec!(99)));
        assert_eq!(
            book.apply(&msg(UpdateType::Delta, 13, vec![], vec![])),
            Err(BookError::Gap { expected: 12, got: 13 })
        );
        assert!(book.top().is_none(), "a gapped book is not quoted on");
        // Any snapshot resets, even with a lower u.
        book.apply(&msg(UpdateType::Snapshot, 1, vec![(dec!(50), dec!(1))], vec![(dec!(51), dec!(1))]))
            .unwrap();
        assert_eq!(book.top().unwrap().bid, dec!(50));
    }
}
