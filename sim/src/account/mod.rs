//! An account as the exchange keeps it: how it is set up (read-only, hedge, DCP, expiry), its
//! position mode and leverage per symbol, and one-way position accounting.

pub mod options;
pub mod position;
pub mod settings;
