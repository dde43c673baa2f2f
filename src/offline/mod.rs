//! The commands that judge a configuration without an exchange: `mmbot backtest` (one run, or a
//! sweep over a grid of settings) and `mmbot report` (a paper or live run's recorder file in the
//! backtest's report shape, and two reports compared).

pub mod backtest;
pub mod events_report;
pub mod progress;
pub mod recordings;
pub mod settings;
pub mod sweep;
