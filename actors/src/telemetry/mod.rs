//! What the process counts and reads of itself, and what it says on its console: the Prometheus
//! metrics every actor updates, their text form, the process's own resource readings (CPU,
//! memory, file descriptors), and stdout/stderr written so that no write can panic or block.

pub mod console;
pub mod metrics;
pub mod metrics_text;
pub mod resources;
