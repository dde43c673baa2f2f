//! `mmbot import --from bybit-archive|bybit-trades|cryptofeed --out DIR FILE…`: other sources of
//! Bybit's market into the market-data format (`market_data::import`), a file per symbol per UTC
//! day like `mmbot record` writes. Each file is imported on its own: a file refused (its format
//! is not the one named) or unreadable costs only itself; a malformed line, a book gap or an
//! out-of-order frame is named with its line, counted, and the import goes on (a book from its
//! next snapshot).

use std::collections::HashSet;

use market_data::import::{import, source_line, Source, KNOWN};
use market_data::DailyFiles;
use mmbot_actors::messages::report::exit_code;

use crate::cli::ImportArgs;

pub fn command(args: &ImportArgs) -> i32 {
    let Some(source) = Source::parse(&args.from) else {
        crate::logging::fatal(&format!("import: --from {}: the formats known are {KNOWN}", args.from));
        return exit_code::COULD_NOT_START;
    };
    let assumed = (source != Source::Cryptofeed).then_some(args.feed_latency_ms);
    let mut files = DailyFiles::new(&args.out);
    let mut refused = 0;
    let mut write_failed = None;
    for path in &args.files {
        let mut introduced: HashSet<String> = HashSet::new();
        let mut sink = |f: market_data::import::Frame| {
            if write_failed.is_some() {
                return;
            }
            if introduced.insert(f.symbol.clone()) {
                if let Err(e) = files.write(&f.symbol, f.local_ns, &source_line(source, path, assumed)) {
                    write_failed = Some(e.to_string());
                }
            }
            if let Err(e) = files.write(&f.symbol, f.local_ns, &f.text) {
                write_failed = Some(e.to_string());
            }
        };
        match import(source, path, args.feed_latency_ms, &mut sink) {
            Ok(r) => {
                println!(
                    "{}: {} lines, {} frames, {} malformed, {} book gaps, {} out of order, {} skipped{}",
                    path.display(),
                    r.lines,
                    r.frames,
                    r.malformed_count,
                    r.gaps,
                    r.out_of_order,
                    r.skipped,
                    r.truncated_after.map(|l| format!(", CUT SHORT after line {l}")).unwrap_or_default()
                );
                for m in &r.malformed {
                    println!("  {}: {m}", path.display());
                }
            }
            Err(e) => {
                refused += 1;
                eprintln!("mmbot import: {e}");
            }
        }
    }
    let written = files.finish();
    if let Some(e) = &write_failed {
        eprintln!("mmbot import: writing: {e}");
    }
    match written {
        Ok(list) => {
            for w in list {
                println!("wrote {} ({} lines)", w.path.display(), w.lines);
            }
        }
        Err(e) => {
            eprintln!("mmbot import: closing the output: {e}");
            return exit_code::COULD_NOT_START;
        }
    }
    if write_failed.is_some() || refused > 0 {
        exit_code::COULD_NOT_START
    } else {
        exit_code::CLEAN
    }
}
