//! The panic hook: any panic, on any thread, becomes a fatal shutdown with the reason
//! "panic: <message> at <location>". Without it a panicking actor dies alone (its arbiter
//! catches the unwind) and the process runs on with its quotes resting unmanaged.

use std::sync::Mutex;

use actix::prelude::*;

use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::telemetry::console;

static SUPERVISOR: Mutex<Option<Recipient<RequestShutdown>>> = Mutex::new(None);

/// "<message> at <file:line:col>", from what the panic carried.
pub fn describe(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    match info.location() {
        Some(l) => format!("{message} at {}:{}:{}", l.file(), l.line(), l.column()),
        None => message,
    }
}

/// Install the hook; until [`route_to`] names the Supervisor, a panic is only logged.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let reason = describe(info);
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        // try_lock: a panic while the route is being set must not deadlock the hook.
        let route = SUPERVISOR.try_lock().ok().and_then(|r| r.clone());
        match route {
            Some(supervisor) => {
                log::error!("PANIC in thread '{thread}': {reason}; starting the fatal shutdown");
                supervisor.do_send(RequestShutdown {
                    source: ShutdownSource::Panic(reason),
                });
            }
            None => {
                log::error!("PANIC in thread '{thread}': {reason}");
                console::err(format_args!("mmbot: panic in thread '{thread}': {reason}"));
            }
        }
    }));
}

/// From now on a panic asks `supervisor` for the shutdown.
pub fn route_to(supervisor: Recipient<RequestShutdown>) {
    *SUPERVISOR.lock().unwrap_or_else(|p| p.into_inner()) = Some(supervisor);
}
