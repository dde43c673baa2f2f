//! What the process counts and reads of itself: the Prometheus metrics every actor updates,
//! their text form, and the process's own resource readings (CPU, memory, file descriptors).

pub mod metrics;
pub mod metrics_text;
pub mod resources;
