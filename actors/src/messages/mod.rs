//! What the actors say to each other, and the records they share. Actors depend on these types,
//! not on one another: each holds `Recipient<M>` for what it sends, wired in one place (the
//! application), and handles what it receives in its own module. Besides the messages: the one
//! `Stop` every stoppable actor answers (`stop`), the shutdown report and its exit code
//! (`report`, `previous_shutdown`), the `/status` view and its patches (`status`), and the events
//! the Recorder writes (`events`), and the high-availability role (`ha`).

pub mod events;
pub mod ha;
pub mod market;
pub mod ping;
pub mod previous_shutdown;
pub mod private_stream;
pub mod quotes;
pub mod record;
pub mod report;
pub mod shutdown;
pub mod status;
pub mod stop;
