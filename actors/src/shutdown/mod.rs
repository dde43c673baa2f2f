//! Stopping: the Signal actor turns SIGINT/SIGTERM into a request, the Supervisor actor walks
//! the Stop steps with their timeouts and writes the report; the flattener cancels and verifies
//! each symbol's orders by escalating cancel paths; the positions step; the report kept for the
//! next run (`last_shutdown`).

pub mod exit_positions;
pub mod flatten;
pub mod last_shutdown;
pub mod signal;
pub mod supervisor;
