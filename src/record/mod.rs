//! `mmbot record`: the configured symbols' public streams — the order book at `ws.depth` (50 or
//! 200), `publicTrade`, `tickers`; no key needed — written as they arrive in the market-data
//! format (`market-data`: `{local_ts_ns} {raw_frame}` lines, gzip, one file per symbol per UTC
//! day). It reconnects with the bot's backoff, marks every hole (a lost connection, a book gap)
//! with a line the next snapshot follows, and stops like everything else here: SIGTERM, SIGINT
//! or SIGHUP close every file whole (the gzip trailer written and synced), so nothing received
//! is lost.

mod session;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mmbot_actors::exchange::backoff::reconnect_wait;
use mmbot_actors::messages::report::exit_code;

use crate::cli::RecordArgs;
use crate::config::{self, Config};
use market_data::DailyFiles;
use session::{gap_marker, now_ns, Ended, Session, Tally};

/// The streams of `symbols` a recording subscribes.
fn topics(depth: u32, symbols: &[String]) -> Vec<String> {
    symbols
        .iter()
        .flat_map(|s| [format!("orderbook.{depth}.{s}"), format!("publicTrade.{s}"), format!("tickers.{s}")])
        .collect()
}

/// Where and what to record, or why it cannot be.
fn plan(c: &Config, out: Option<PathBuf>) -> Result<(String, Vec<String>, PathBuf), String> {
    if c.exchange.ws_public_url.is_empty() {
        return Err("record needs a public stream to record: set exchange.ws_public_url (e.g. wss://stream.bybit.com/v5/public/linear) or --ws-public-url".into());
    }
    if !matches!(c.ws.depth, 50 | 200) {
        return Err(format!("record: ws.depth {} — record books at depth 50 or 200", c.ws.depth));
    }
    let out = out.unwrap_or_else(|| c.recorder.dir.join("market"));
    Ok((c.exchange.ws_public_url.clone(), topics(c.ws.depth, &c.symbols), out))
}

pub fn command(args: &RecordArgs) -> i32 {
    let planned = config::load(&args.run.config, &args.run.overrides())
        .map_err(|e| e.to_string())
        .and_then(|c| plan(&c, args.out.clone()).map(|p| (c, p)));
    let (c, (url, topics, out)) = match planned {
        Ok(p) => p,
        Err(e) => {
            crate::logging::fatal(&format!("could not start: {e}"));
            return exit_code::COULD_NOT_START;
        }
    };
    let stop = crate::EARLY_STOP.get().cloned().unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
    log::info!("recording {} topics from {url} into {}", topics.len(), out.display());
    let mut files = DailyFiles::new(&out);
    let mut tally = Tally::default();
    let session = Session {
        url: &url,
        topics: &topics,
        settings: &c.ws,
        stop: &stop,
    };
    let ended = actix_rt::System::new().block_on(async {
        let mut books = HashMap::new();
        let mut failures = 0u32;
        loop {
            match session.run(&mut files, &mut books, &mut tally).await {
                Ended::Stopped => return Ok(()),
                Ended::Lost(why) if why.starts_with("writing") => return Err(why),
                Ended::Lost(why) => {
                    log::warn!("record: {why}");
                    let now = now_ns();
                    for s in &c.symbols {
                        let _ = files.write(s, now, &gap_marker(s, &why));
                    }
                    tally.reconnects += 1;
                    failures = if why.starts_with("cannot connect") { failures + 1 } else { 1 };
                }
            }
            let wait = reconnect_wait(failures, c.ws.reconnect_max_ms);
            let until = tokio::time::Instant::now() + wait;
            while tokio::time::Instant::now() < until {
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    });
    let written = files.finish();
    let code = match (&ended, &written) {
        (Ok(()), Ok(_)) => exit_code::CLEAN,
        _ => exit_code::COULD_NOT_START,
    };
    if let Err(e) = &ended {
        log::error!("record stopped: {e}");
    }
    match written {
        Ok(list) => {
            println!(
                "mmbot record: {} frames, {} book gaps, {} out of order, {} reconnects",
                tally.frames, tally.gaps, tally.stale, tally.reconnects
            );
            for w in list {
                println!("  {} ({} lines)", w.path.display(), w.lines);
            }
        }
        Err(e) => log::error!("record: closing the files: {e}"),
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_symbol_records_its_book_trades_and_ticker() {
        assert_eq!(
            topics(200, &["BTCUSDT".into()]),
            ["orderbook.200.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"]
        );
    }
}
