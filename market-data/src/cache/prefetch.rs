//! Asking the core for an item's lists and strings a few events before the run reads them. The
//! read-ahead thread wrote them on the other core, each in a heap block of its own, so the run's
//! first read of each is a miss across cores that no hardware prefetcher sees coming: ~85 % of
//! `book::set`'s CPU samples were its first load of a level, and the symbol's first compare
//! made `memcmp` 6 % of the run's. A prefetch is a hint: it changes no value and never faults.

use crate::event::Kind;
use crate::tape::TapeItem;

/// Lines asked for per list: a delta's levels and a frame's trades fit in these nearly always.
const LINES: usize = 4;
const LINE: usize = 64;

#[inline(always)]
fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads nothing into the program and cannot fault, for any address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

fn block<T>(s: &[T]) {
    let bytes = std::mem::size_of_val(s);
    let p = s.as_ptr().cast::<u8>();
    for i in 0..LINES.min(bytes.div_ceil(LINE)) {
        line(p.wrapping_add(i * LINE));
    }
}

/// Ask for `item`'s heap data: the symbol, and the levels or the trades.
pub fn item(item: &TapeItem) {
    match &item.event.kind {
        Kind::Book(f) => {
            block(f.symbol.as_bytes());
            block(&f.bids);
            block(&f.asks);
        }
        Kind::Trades { symbol, trades } => {
            block(symbol.as_bytes());
            block(trades);
        }
        Kind::Ticker { symbol, .. } | Kind::Gap { symbol, .. } => block(symbol.as_bytes()),
    }
}
