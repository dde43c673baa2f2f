//! The market around the accounts' orders: the instruments that trade, where the rest of the
//! book and the trades come from (a random walk, a recording, or a live public stream), and how
//! the book is published on the depth feeds.

pub mod feed;
pub mod instrument;
pub mod synthetic;
