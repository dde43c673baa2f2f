//! The market around the accounts' orders: the instruments that trade, where the rest of the
//! book and the trades come from (a random walk, a recording, or a live public stream), the
//! exchange's clock, and how the book is published on the depth feeds.

pub mod clock;
pub mod feed;
pub mod instrument;
pub mod mirror;
pub mod real;
pub mod replay;
pub mod source;
pub mod synthetic;
