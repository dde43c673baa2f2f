//! Market data as it was received: one line per public-stream frame, exactly as Bybit sent it,
//! prefixed by the local receive time in nanoseconds since the Unix epoch —
//! `{local_ts_ns} {raw_frame}`, the format of hftbacktest's collector, so a recording is usable
//! there too. Files are gzip'd when written here; readers take gzip, zstd and plain text, told
//! apart by their first bytes. docs/market-data.md describes the format.

pub mod book;
pub mod cache;
pub mod continuity;
pub mod daily;
pub mod event;
pub mod feed_latency;
pub mod import;
pub mod ladder;
pub mod line;
pub mod price_key;
pub mod reader;
pub mod tape;
pub mod writer;

pub use book::{Book, Changes};
pub use continuity::{BookContinuity, Continuity};
pub use daily::{DailyFiles, Written};
pub use event::{parse_event, Aggressor, BookFrame, Event, Kind, Trade};
pub use feed_latency::FeedLatency;
pub use ladder::Ladder;
pub use line::{format_line, parse_line, Line, LineError};
pub use price_key::PriceKey;
pub use reader::{Compression, ReadError, Reader, Record};
pub use tape::{FileReport, Tape, TapeError, TapeItem};
pub use writer::Writer;
