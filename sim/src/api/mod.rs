//! What clients talk to: Bybit's REST paths, its public, private and trade WebSockets, and the
//! simulator's own `/sim/` control routes. Handlers translate wire requests into `Exchange`
//! calls; no state lives here.

pub mod admin;
pub mod rest;
pub mod ws;
