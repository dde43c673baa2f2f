//! Micro-benchmarks of the hot paths: signing, WebSocket frame decoding, order-book delta
//! application, quote computation, order diffing, the hot-path rehearsal and recorder appends.
//! `cargo bench -p mmbot-actors` — criterion prints time per iteration and change vs the last run.

use std::hint::black_box;
use std::io::BufWriter;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::Level;
use bybit_v5::ws::{decode, BookData, BookMessage, Frame, UpdateType};
use bybit_v5::{sign, Side};
use mmbot_actors::market::book::{LocalBook, Top};
use mmbot_actors::market::quoting::{compute_quotes, Filters, MarketState, QuoteParams, Sides};
use mmbot_actors::market_thread::hot_path_rehearsal::HotPathRehearsal;
use mmbot_actors::messages::events::Event;
use mmbot_actors::observe::recorder::append_line;
use mmbot_actors::orders::order_diff::diff;
use mmbot_actors::orders::order_table::{Phase, TrackedOrder};

fn snapshot(levels: usize) -> BookMessage {
    let lvl = |i: usize, sign: i64| (Decimal::new(300_000 + sign * (i as i64 + 1), 1), dec!(0.125));
    BookMessage {
        topic: "orderbook.50.BTCUSDT".into(),
        kind: UpdateType::Snapshot,
        ts: 1,
        data: BookData {
            s: "BTCUSDT".into(),
            b: (0..levels).map(|i| lvl(i, -1)).collect(),
            a: (0..levels).map(|i| lvl(i, 1)).collect(),
            u: 1,
            seq: 1,
        },
        cts: 1,
    }
}

fn delta_text(u: u64) -> String {
    let b: Vec<Level> = vec![(dec!(29999.9), dec!(0.250)), (dec!(29999.5), dec!(0)), (dec!(29998.7), dec!(1.125))];
    let a: Vec<Level> = vec![(dec!(30000.1), dec!(0.500)), (dec!(30000.6), dec!(0.031))];
    let m = BookMessage {
        topic: "orderbook.50.BTCUSDT".into(),
        kind: UpdateType::Delta,
        ts: 1,
        data: BookData {
            s: "BTCUSDT".into(),
            b,
            a,
            u,
            seq: u,
        },
        cts: 1,
    };
    serde_json::to_string(&m).unwrap()
}

fn benches(c: &mut Criterion) {
    let body = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.004","price":"29976","timeInForce":"PostOnly","orderLinkId":"mmb-abcdefgh-1"}]}"#;
    c.bench_function("sign_rest_post", |b| {
        b.iter(|| sign::sign_rest(black_box("secret"), black_box(1_700_000_000_000), "key", "5000", black_box(body)))
    });

    let text = delta_text(2);
    let mut g = c.benchmark_group("ws");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_book_delta", |b| b.iter(|| decode(black_box(&text)).unwrap()));
    // The simulator's market moves shift whole ladders: deltas of ~100 levels are common.
    let wide = serde_json::to_string(&BookMessage {
        kind: UpdateType::Delta,
        ..snapshot(50)
    })
    .unwrap();
    g.bench_function("decode_book_delta_100_levels", |b| b.iter(|| decode(black_box(&wide)).unwrap()));
    let Frame::Book(delta) = decode(&text).unwrap() else {
        unreachable!()
    };
    g.bench_function("apply_book_delta_50", |b| {
        let mut book = LocalBook::default();
        book.apply(&snapshot(50)).unwrap();
        let mut d = delta.clone();
        b.iter(|| {
            d.data.u = book.u.unwrap() + 1;
            book.apply(black_box(&d)).unwrap();
            black_box(book.top());
        })
    });
    g.finish();

    let f = Filters::btcusdt();
    let state = MarketState {
        top: Top {
            bid: dec!(29999.9),
            bid_size: dec!(1),
            ask: dec!(30000.1),
            ask_size: dec!(1),
        },
        sigma: 3.0,
        inventory: dec!(0.012),
    };
    let fixed = QuoteParams::default();
    let avellaneda = QuoteParams {
        model: mmbot_actors::market::quoting::Model::Avellaneda,
        ..Default::default()
    };
    c.bench_function("quotes_fixed_4_levels", |b| {
        b.iter(|| compute_quotes(black_box(&fixed), &f, black_box(&state), Sides::BOTH))
    });
    c.bench_function("quotes_avellaneda_4_levels", |b| {
        b.iter(|| compute_quotes(black_box(&avellaneda), &f, black_box(&state), Sides::BOTH))
    });

    let desired = compute_quotes(&fixed, &f, &state, Sides::BOTH);
    let live: Vec<TrackedOrder> = desired
        .iter()
        .enumerate()
        .map(|(i, q)| TrackedOrder {
            link_id: format!("mmb-abcdefgh-{i}"),
            order_id: Some(format!("{i}")),
            symbol: "BTCUSDT".into(),
            side: q.side,
            level: q.level,
            price: if i % 2 == 0 { q.price } else { q.price + dec!(5) },
            qty: q.qty,
            filled: Decimal::ZERO,
            phase: Phase::Live,
            amend_from: None,
        })
        .collect();
    let live_refs: Vec<&TrackedOrder> = live.iter().collect();
    c.bench_function("order_diff_8", |b| {
        b.iter(|| diff(black_box(&desired), black_box(&live_refs), dec!(2)))
    });

    // What a busy-polling market thread spends every `rehearse_every_us` (200 µs by default).
    let mut rehearsal = HotPathRehearsal::new(QuoteParams::default());
    c.bench_function("hot_path_rehearsal_4_levels", |b| b.iter(|| rehearsal.run()));

    let event = Event::OrderSent {
        action: "create".into(),
        link_id: "mmb-abcdefgh-17".into(),
        symbol: "BTCUSDT".into(),
        side: Some(Side::Buy),
        price: Some(dec!(29976.0)),
        qty: Some(dec!(0.004)),
    };
    let file = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let mut seq = 0;
    c.bench_function("recorder_append", |b| {
        b.iter(|| {
            seq += 1;
            append_line(&mut out, seq, 1_700_000_000_000, black_box(&event)).unwrap()
        })
    });
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);
