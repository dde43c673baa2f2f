//! Stopping: the Signal actor turns SIGINT/SIGTERM/SIGHUP/SIGQUIT into a request, the panic hook
//! turns any panic into one; the Supervisor actor walks the Stop steps with their timeouts and
//! writes the report; the flattener cancels and verifies each symbol's orders by escalating cancel
//! paths, and the last resort does it without the actors when the OrderManager is gone; the
//! positions step; the report kept for the next run (`last_shutdown`).

pub mod exit_positions;
pub mod flatten;
pub mod kill_switch_record;
pub mod last_resort;
pub mod last_shutdown;
pub mod panic_hook;
mod settings;
pub mod signal;
pub mod supervisor;
