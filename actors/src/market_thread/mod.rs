//! The market thread's keep-warm: busy polling so the thread never parks, and the hot path's
//! rehearsal on canned data so caches stay warm between book updates.

pub mod busy_poll;
pub mod hot_path_rehearsal;
