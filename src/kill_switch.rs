//! The binary's side of the sticky kill switch: a start refuses to quote while a trip is
//! recorded in the data directory, and `mmbot clear-kill-switch` is how an operator, having
//! looked at the account, lets it quote again.

use anyhow::bail;
use mmbot_actors::messages::report::exit_code;
use mmbot_actors::shutdown::kill_switch_record;
use mmbot_actors::telemetry::console;

use crate::cli::RunArgs;
use crate::config::{self, Config};

/// Exit 1 (could not start) rather than stay up not ready: nothing is connected, nothing is
/// read or sent, and the reason is the process's last words in every log collector.
pub fn refuse_if_tripped(c: &Config) -> anyhow::Result<()> {
    if let Some(trip) = kill_switch_record::load(&c.recorder.dir) {
        bail!(
            "the kill switch tripped {}; this bot will not quote until an operator has reviewed the account and cleared it: mmbot clear-kill-switch --config FILE (the record: {})",
            trip.describe(),
            kill_switch_record::path_in(&c.recorder.dir).display()
        );
    }
    Ok(())
}

/// For check-config: one line on the kill switch's state.
pub fn state_line(c: &Config) -> String {
    match kill_switch_record::load(&c.recorder.dir) {
        Some(trip) => format!("kill switch: TRIPPED {}; clear it with mmbot clear-kill-switch", trip.describe()),
        None => "kill switch: not tripped".into(),
    }
}

/// `mmbot clear-kill-switch --config FILE`.
pub fn clear_command(args: &RunArgs) -> i32 {
    let c = match config::load(&args.config, &args.overrides()) {
        Ok(c) => c,
        Err(e) => {
            console::err(e);
            return exit_code::COULD_NOT_START;
        }
    };
    if let Some(ha) = &c.ha {
        if let Err(code) = clear_for_the_account(&c, ha) {
            return code;
        }
    }
    match kill_switch_record::clear(&c.recorder.dir) {
        Ok(Some(trip)) => {
            console::out(format_args!("cleared: the kill switch had tripped {}", trip.describe()));
            exit_code::CLEAN
        }
        Ok(None) => {
            console::out(format_args!("the kill switch is not tripped ({})", c.recorder.dir.display()));
            exit_code::CLEAN
        }
        Err(e) => {
            console::err(format_args!("could not clear the kill switch in {}: {e}", c.recorder.dir.display()));
            exit_code::COULD_NOT_START
        }
    }
}

/// Under a lease the trip is the account's, kept in etcd: deleted there too, so that an instance
/// may take the key again.
fn clear_for_the_account(c: &Config, ha: &mmbot_actors::ha::HaSettings) -> Result<(), i32> {
    use mmbot_actors::ha::etcd::Etcd;
    let key = mmbot_actors::ha::HaSettings::kill_switch_key(&ha.key_for(&c.exchange.rest_url, &c.exchange.api_key));
    let timeout = std::time::Duration::from_millis(ha.request_timeout_ms.max(1_000));
    let deleted = actix_rt::System::new().block_on({
        let key = key.clone();
        let endpoints = ha.endpoints.clone();
        async move { Etcd::new(endpoints, timeout).delete(&key).await }
    });
    match deleted {
        Ok(true) => {
            console::out(format_args!(
                "cleared for the account: {key} deleted from etcd; an instance may take over"
            ));
            Ok(())
        }
        Ok(false) => {
            console::out(format_args!("the account's kill switch is not tripped ({key} is not in etcd)"));
            Ok(())
        }
        Err(e) => {
            console::err(format_args!("could not clear the account's kill switch in etcd: {e}"));
            Err(exit_code::COULD_NOT_START)
        }
    }
}
