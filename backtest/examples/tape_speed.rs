//! How fast the recording alone is read: parsed (gunzip, lines, JSON, events, continuity) and,
//! the second time, from the binary cache — the floor under a backtest's time.
//! `cargo run --release -p backtest --example tape_speed -- FILE…`
fn main() {
    let files: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    // The first pass parses: a cache left by an earlier run would make it a second cached pass.
    if let Ok(cache) = market_data::cache::cache_path(&files) {
        let _ = std::fs::remove_file(cache);
    }
    for pass in ["parsed", "from the cache"] {
        let t = std::time::Instant::now();
        // Read as the backtest reads it: into one reused item.
        let mut stream = market_data::cache::open(&files).expect("recordings");
        let (mut item, mut n) = (market_data::cache::empty_item(), 0u64);
        while stream.next_into(&mut item) {
            n += 1;
        }
        let s = t.elapsed().as_secs_f64();
        println!("{pass}: {n} events in {s:.2} s: {:.0} k events/s", n as f64 / s / 1000.0);
    }
}
