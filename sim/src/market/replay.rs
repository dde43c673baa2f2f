//! A recording replayed: its events, in exchange-time order, applied when the exchange's clock
//! reaches them. The clock is caught up whenever the exchange is looked at, so an order is
//! stamped after every event at or before its time and before every later one.

use std::path::PathBuf;

use market_data::{FileReport, Tape, TapeError};

pub struct Replay {
    pub tape: Tape,
    pub files: Vec<PathBuf>,
}

impl Replay {
    /// Open the recordings; the exchange time of their first event is where the clock starts.
    pub fn open(files: &[PathBuf]) -> Result<(Self, u64), TapeError> {
        let tape = Tape::open(files)?;
        let first = tape.peek_ms().unwrap_or(0);
        Ok((
            Self {
                tape,
                files: files.to_vec(),
            },
            first,
        ))
    }

    pub fn reports(&self) -> Vec<FileReport> {
        self.tape.reports()
    }
}

/// The symbols a recording trades, from its first events (a recording is per symbol or holds
/// all of its symbols from the start).
pub fn symbols_in(files: &[PathBuf]) -> Result<Vec<String>, TapeError> {
    const LOOK_AHEAD: usize = 20_000;
    let mut symbols = std::collections::BTreeSet::new();
    for item in Tape::open(files)?.take(LOOK_AHEAD) {
        let symbol = match item.event.kind {
            market_data::Kind::Book(b) => b.symbol,
            market_data::Kind::Trades { symbol, .. } | market_data::Kind::Ticker { symbol, .. } => symbol,
            market_data::Kind::Gap { .. } => continue,
        };
        symbols.insert(symbol);
    }
    Ok(symbols.into_iter().collect())
}
