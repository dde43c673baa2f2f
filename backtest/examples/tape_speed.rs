//! How fast the recording alone is read (gunzip, lines, JSON, events, continuity): the floor
//! under a backtest's time. `cargo run --release -p backtest --example tape_speed -- FILE…`
fn main() {
    let files: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let t = std::time::Instant::now();
    let n = market_data::Tape::open(&files).expect("recordings").count();
    let s = t.elapsed().as_secs_f64();
    println!("{n} events in {s:.2} s: {:.0} k events/s", n as f64 / s / 1000.0);
}
