//! Which of the wanted order changes go out now, when the account's budget cannot take them all.
//!
//! Cancels first (they only ever reduce risk); then, across every symbol, the levels nearest the
//! touch, and within a level the order furthest from where it should be. What does not fit is not
//! queued: the next plan starts again from the latest desired quotes, so nothing stale is ever
//! sent. Under a tight budget the outer levels lag, never the inner ones.

use rust_decimal::Decimal;

use crate::orders::order_diff::Action;

/// Units each order endpoint can take now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Room {
    pub create: u32,
    pub amend: u32,
    pub cancel: u32,
}

/// One wanted change, with where its order stands in the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub symbol: String,
    pub action: Action,
    /// 0 = nearest the touch.
    pub level: u32,
    /// How far the order is from its quote, in basis points (creates: missing, so the most).
    pub off_bps: Decimal,
}

/// How many changes the budget held back, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub create: usize,
    pub amend: usize,
    pub cancel: usize,
}

impl Held {
    pub fn any(&self) -> bool {
        self.create + self.amend + self.cancel > 0
    }
}

fn rank(w: &Wanted) -> (u8, u32, std::cmp::Reverse<Decimal>) {
    let class = match w.action {
        Action::Cancel { .. } => 0,
        _ => 1,
    };
    (class, w.level, std::cmp::Reverse(w.off_bps))
}

/// The changes to send now, most urgent first, and what had to wait.
pub fn select(mut wanted: Vec<Wanted>, mut room: Room) -> (Vec<Wanted>, Held) {
    wanted.sort_by_key(rank);
    let mut held = Held::default();
    let mut chosen = Vec::with_capacity(wanted.len());
    for w in wanted {
        let (left, waiting) = match w.action {
            Action::Create(_) => (&mut room.create, &mut held.create),
            Action::Amend { .. } => (&mut room.amend, &mut held.amend),
            Action::Cancel { .. } => (&mut room.cancel, &mut held.cancel),
        };
        if *left == 0 {
            *waiting += 1;
        } else {
            *left -= 1;
            chosen.push(w);
        }
    }
    (chosen, held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::quoting::Quote;
    use bybit_v5::Side;
    use rust_decimal_macros::dec;

    fn amend(symbol: &str, level: u32, off: Decimal) -> Wanted {
        Wanted {
            symbol: symbol.into(),
            action: Action::Amend {
                link_id: format!("{symbol}-{level}-{off}"),
                price: Some(dec!(1)),
                qty: None,
            },
            level,
            off_bps: off,
        }
    }

    fn create(symbol: &str, level: u32) -> Wanted {
        Wanted {
            symbol: symbol.into(),
            action: Action::Create(Quote {
                side: Side::Buy,
                level,
                price: dec!(1),
                qty: dec!(1),
            }),
            level,
            off_bps: Decimal::MAX,
        }
    }

    fn cancel(symbol: &str, level: u32) -> Wanted {
        Wanted {
            symbol: symbol.into(),
            action: Action::Cancel {
                link_id: format!("{symbol}-c{level}"),
            },
            level,
            off_bps: Decimal::ZERO,
        }
    }

    #[test]
    fn inner_levels_of_every_symbol_before_outer_levels_of_any() {
        let wanted = vec![
            amend("BTC", 3, dec!(50)),
            amend("ETH", 0, dec!(3)),
            amend("BTC", 0, dec!(4)),
            amend("SOL", 1, dec!(9)),
            amend("SOL", 0, dec!(2.5)),
        ];
        let room = Room {
            amend: 3,
            ..Default::default()
        };
        let (chosen, held) = select(wanted, room);
        let picked: Vec<(&str, u32)> = chosen.iter().map(|w| (w.symbol.as_str(), w.level)).collect();
        // Level 0 everywhere, furthest off first; the outer levels wait.
        assert_eq!(picked, vec![("BTC", 0), ("ETH", 0), ("SOL", 0)]);
        assert_eq!(
            held,
            Held {
                amend: 2,
                ..Default::default()
            }
        );
    }

    #[test]
    fn cancels_go_first_and_each_endpoint_spends_its_own_room() {
        let wanted = vec![
            amend("BTC", 0, dec!(5)),
            create("ETH", 2),
            cancel("BTC", 7),
            create("ETH", 0),
            cancel("SOL", 1),
        ];
        let room = Room {
            create: 1,
            amend: 0,
            cancel: 5,
        };
        let (chosen, held) = select(wanted, room);
        assert!(matches!(chosen[0].action, Action::Cancel { .. }));
        assert!(matches!(chosen[1].action, Action::Cancel { .. }));
        assert_eq!(chosen.len(), 3);
        assert_eq!((chosen[2].symbol.as_str(), chosen[2].level), ("ETH", 0));
        assert_eq!(
            held,
            Held {
                create: 1,
                amend: 1,
                cancel: 0
            }
        );
        assert!(held.any());
    }
}
