//! High availability: two instances on one account, one *active* (quoting) and one *standby*
//! (warm streams, no order), decided by a lease on etcd. The active renews well inside the
//! lease's TTL and stops placing orders (the [`fence`]) and flattens before the lease could
//! lapse; a standby becomes active only through an etcd transaction on the key with its lease.

pub mod elector;
pub mod etcd;
pub mod fence;
pub mod lease_clock;
pub mod settings;

pub use settings::HaSettings;
