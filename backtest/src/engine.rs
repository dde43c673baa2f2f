//! The event loop: the recording's events in exchange-time order, and the timed events between
//! the venue and the bot (what the bot sees `feed_latency` after the venue — a constant, or each
//! frame's own recorded latency, the feed never overtaking itself; its requests
//! reach the venue `order_latency_ms` after they leave, and their answers come back as late).
//! At equal times, what was scheduled comes before the next recorded event. The run ends at the
//! recording's last event.

use std::path::PathBuf;
use std::time::Instant;

use market_data::{Kind, TapeError};
use mmbot_actors::market::book::Top;

use crate::bot::Bot;
use crate::collect::Collector;
use crate::report::Report;
use crate::schedule::{Schedule, SeenFill, Timed};
use crate::settings::Settings;
use crate::venue::Venue;

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Tape(#[from] TapeError),
    #[error("{0} has no instrument filters")]
    UnknownSymbol(String),
    #[error("no market data for {0} in the recordings: nothing was backtested (--symbols picks the symbols a recording has)")]
    NoMarketData(String),
}

/// Told, about twice a second, the market events read so far and the share of the recordings
/// read (0–1): for progress on a terminal.
pub type OnProgress<'a> = &'a (dyn Fn(u64, f64) + Sync);

/// Calls `OnProgress` at most every half second; the clock is read once per 4 096 events.
struct Progress<'a> {
    on: Option<OnProgress<'a>>,
    last: Instant,
}

impl Progress<'_> {
    fn tick(&mut self, events: u64, fraction: impl FnOnce() -> f64) {
        let Some(on) = self.on else { return };
        if !events.is_multiple_of(4096) || self.last.elapsed().as_millis() < 500 {
            return;
        }
        self.last = Instant::now();
        on(events, fraction());
    }
}

/// The tape with its next item looked at, and how far the reading is. Two items take turns
/// (the current one and the next), so the reader can refill them in place.
struct Peeked {
    stream: Box<dyn market_data::cache::TapeStream>,
    current: market_data::TapeItem,
    next: market_data::TapeItem,
    has_next: bool,
}

impl Peeked {
    fn new(mut stream: Box<dyn market_data::cache::TapeStream>) -> Self {
        let mut next = market_data::cache::empty_item();
        let has_next = stream.next_into(&mut next);
        Self {
            stream,
            current: market_data::cache::empty_item(),
            next,
            has_next,
        }
    }

    fn peek(&self) -> Option<&market_data::TapeItem> {
        self.has_next.then_some(&self.next)
    }

    /// Move to the next item (`current`); false at the end.
    fn advance(&mut self) -> bool {
        if !self.has_next {
            return false;
        }
        std::mem::swap(&mut self.current, &mut self.next);
        self.has_next = self.stream.next_into(&mut self.next);
        true
    }

    fn fraction(&self) -> f64 {
        self.stream.fraction_read()
    }
}

/// A run's report, and what it was made from (for the chart).
pub struct Outcome {
    pub report: Report,
    pub collect: Collector,
    /// The fills as CSV, when asked for.
    pub fills_csv: Option<String>,
}

/// Run the backtest on `files`: its report.
pub fn run(settings: &Settings, files: &[PathBuf]) -> Result<Report, BacktestError> {
    Ok(run_full(settings, files, false, None)?.report)
}

/// Run the backtest on `files`; with `fills_csv`, the fills as CSV too, written on a second core
/// while the report is built (the reader's core is free by then); `on_progress` hears how far
/// it is.
pub fn run_full(
    settings: &Settings,
    files: &[PathBuf],
    fills_csv: bool,
    on_progress: Option<OnProgress<'_>>,
) -> Result<Outcome, BacktestError> {
    let started = Instant::now();
    for s in &settings.symbols {
        if !settings.instruments.contains_key(s) {
            return Err(BacktestError::UnknownSymbol(s.clone()));
        }
    }
    // Parsed once: the next run over the same files reads the binary cache. Either is read on
    // a second core, ahead of the run.
    let mut tape = Peeked::new(Box::new(market_data::cache::ReadAhead::new(market_data::cache::open(files)?)));
    let t0 = tape.peek().map_or(0, |i| i.at_ms);
    let mut venue = Venue::new(settings.queue_model, settings.instruments.clone());
    let mut bot = Bot::new(settings, t0);
    let mut collect = Collector::new(&settings.symbols);
    let mut schedule = Schedule::default();
    let mut progress = Progress {
        on: on_progress,
        last: started,
    };
    let mut end = t0;
    // When the bot sees the last market event: a stream delivers in order, so a frame recorded
    // with less latency than the one before it is seen after that one, not before.
    let mut seen_floor = 0u64;
    // By the venue's symbol index: whether the bot quotes it, and the top it last saw.
    let quoted: Vec<bool> = venue.names.iter().map(|n| settings.symbols.contains(n)).collect();
    let mut tops = vec![None; venue.names.len()];
    loop {
        let market = tape.peek().map(|i| i.at_ms);
        let timed = schedule.next_ms();
        let take_timed = match (market, timed) {
            (None, None) => break,
            (None, Some(t)) => {
                if t > end {
                    break;
                }
                true
            }
            (Some(_), None) => false,
            (Some(m), Some(t)) => t <= m,
        };
        if take_timed {
            let (now, what) = schedule.pop().expect("peeked");
            handle(what, now, &mut bot, &mut venue, &mut schedule, settings);
            continue;
        }
        tape.advance();
        let item = &tape.current;
        let at = item.at_ms;
        end = end.max(at);
        let symbol = match &item.event.kind {
            Kind::Book(f) => f.symbol.as_str(),
            Kind::Trades { symbol, .. } | Kind::Ticker { symbol, .. } | Kind::Gap { symbol, .. } => symbol.as_str(),
        };
        let sym = venue.id(symbol);
        let seen_at = (at + settings.feed_latency.of(item.event.exchange_ms, item.local_ns)).max(seen_floor);
        seen_floor = seen_at;
        let applied = venue.apply(at, sym, &item.event);
        for f in &applied.fills {
            collect.fill(f, &venue);
            schedule.at(
                seen_at,
                Timed::FillSeen(SeenFill {
                    sym: sym.expect("a fill is of a symbol the venue lists"),
                    link_id: f.link_id.clone(),
                    side: f.side,
                    price: f.price,
                    qty: f.qty,
                    fee: f.fee,
                }),
            );
        }
        for &(sym, fee) in &applied.funding {
            collect.funding(&venue.names[sym], fee);
            schedule.at(seen_at, Timed::FundingSeen { sym, fee });
        }
        let changed = sym.filter(|_| applied.book);
        collect.market(at, changed.map(|i| (i, symbol)), &venue);
        if let Some(sym) = changed.filter(|&i| quoted[i]) {
            let b = &venue.markets[sym].book;
            let top = match (b.top_bid(), b.top_ask(), applied.lost || !b.is_known()) {
                (Some((bid, bid_size)), Some((ask, ask_size)), false) => Some((bid, bid_size, ask, ask_size)),
                _ => None,
            };
            // As the public stream tells the Strategy: only when the top of the book changed.
            if tops[sym] == Some(top) {
                progress.tick(collect.events, || tape.fraction());
                continue;
            }
            tops[sym] = Some(top);
            let seen = match top {
                Some((bid, bid_size, ask, ask_size)) => Timed::BookSeen {
                    sym,
                    bid,
                    bid_size,
                    ask,
                    ask_size,
                },
                None => Timed::BookLost { sym },
            };
            schedule.at(seen_at, seen);
        }
        progress.tick(collect.events, || tape.fraction());
    }
    // A symbol whose book never applied has no figures: unknown, not zero (and not averaged in).
    let missing: Vec<String> = settings
        .symbols
        .iter()
        .filter(|s| venue.id(s).is_none_or(|i| tops[i].is_none()))
        .cloned()
        .collect();
    if missing.len() == settings.symbols.len() {
        return Err(BacktestError::NoMarketData(missing.join(", ")));
    }
    if !missing.is_empty() {
        log::warn!(
            "no market data for {} in the recordings: not backtested (--symbols picks the symbols a recording has)",
            missing.join(", ")
        );
    }
    let (report, fills_csv) = std::thread::scope(|scope| {
        let csv = fills_csv.then(|| scope.spawn(|| crate::report::fills_csv::fills_csv(&collect.fills)));
        let quality = tape.stream.file_reports();
        let report = Report::build(
            settings,
            files,
            &collect,
            &bot,
            &missing,
            quality,
            started.elapsed().as_millis() as u64,
        );
        (report, csv.map(|h| h.join().expect("the fills CSV is plain formatting")))
    });
    Ok(Outcome {
        report,
        collect,
        fills_csv,
    })
}

fn handle(what: Timed, now: u64, bot: &mut Bot, venue: &mut Venue, s: &mut Schedule, settings: &Settings) {
    match what {
        Timed::BookSeen {
            sym,
            bid,
            bid_size,
            ask,
            ask_size,
        } => bot.book_seen(
            sym,
            Some(Top {
                bid,
                bid_size,
                ask,
                ask_size,
            }),
            now,
            s,
        ),
        Timed::BookLost { sym } => bot.book_seen(sym, None, now, s),
        Timed::Requote { sym } => bot.requote_due(sym, now, s),
        Timed::Replan => bot.replan(now, s),
        Timed::Arrive {
            sym,
            endpoint,
            actions,
            sent_ms,
        } => {
            let outcomes = venue.arrive(sym, &actions);
            s.at(
                now + settings.order_latency_ms,
                Timed::Answer {
                    endpoint,
                    units: actions.len() as u32,
                    sent_ms,
                    outcomes,
                },
            );
        }
        Timed::Answer {
            endpoint,
            units,
            sent_ms,
            outcomes,
        } => bot.answer(endpoint, units, sent_ms, &outcomes, now, s),
        Timed::FillSeen(f) => bot.fill_seen(&f, now, s),
        Timed::FundingSeen { sym, fee } => bot.funding_seen(sym, fee, now, s),
    }
}
