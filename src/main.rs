//! `mmbot`: the binary. Parses the command line, loads the configuration, starts the actor
//! system and turns the Supervisor's verdict into the process's exit code (DESIGN.md).

mod account_setup;
mod app;
mod cli;
mod config;
mod data_dir;
mod health;
mod import;
mod instance_lock;
mod kill_switch;
mod learned_limits;
mod logging;
mod offline;
mod preflight;
mod record;
mod startup;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, RunArgs};
use mmbot_actors::messages::report::exit_code;
use mmbot_actors::telemetry::console;

/// mimalloc: the allocations of one book update → order request (decode, quotes, batch body)
/// cost ~30 % less than with the system allocator on the tick bench (docs/benchmarks.md).
/// Built without transparent huge pages (`no_thp`): a fault on one zeroes 2 MiB in the faulting
/// thread, and mimalloc returns freed memory and faults it in again — 11 % of a backtest's CPU
/// samples were that zeroing, and the stall lands on whatever thread allocates next.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Set when SIGINT/SIGTERM/SIGHUP/SIGQUIT arrived before the Signal actor took over.
pub static EARLY_STOP: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> = std::sync::OnceLock::new();

fn check_config(args: &RunArgs) -> i32 {
    match config::load(&args.config, &args.overrides()) {
        Ok(c) if !learned_limits::problems(&c).is_empty() => {
            let problems = learned_limits::problems(&c);
            console::err(format_args!(
                "{}: {}",
                args.config.display(),
                problems.iter().map(|p| format!("\n  - {p}")).collect::<String>()
            ));
            exit_code::COULD_NOT_START
        }
        Ok(c) => {
            console::out(format_args!(
                "{}: OK (mode {}, symbols {})",
                args.config.display(),
                c.mode.as_str(),
                c.symbols.join(",")
            ));
            console::out(format_args!("  {}", config::cancel_scope_line(&c)));
            console::out(format_args!("  {}", kill_switch::state_line(&c)));
            if let Some(ha) = &c.ha {
                console::out(format_args!(
                    "  ha: a lease on etcd {} at {} (TTL {} ms, renewed every {} ms); the active stops sending orders and flattens {} ms before it could lapse; a crashed active is replaced after ~{} ms",
                    ha.endpoints.join(","),
                    ha.key_for(&c.exchange.rest_url, &c.exchange.api_key),
                    ha.lease_ttl_ms,
                    ha.renew_every_ms,
                    ha.margin_ms,
                    ha.lease_ttl_ms + 500
                ));
            }
            if let Some(w) = config::secrets_file_warning(&args.config) {
                console::out(format_args!("  warning: {w}"));
            }
            for w in config::size_warnings(&c) {
                console::out(format_args!("  order size: {w}"));
            }
            for a in config::advice(&c, config::usable_cpus()) {
                console::out(format_args!("  advice: {a}"));
            }
            exit_code::CLEAN
        }
        Err(e) => {
            console::err(e);
            exit_code::COULD_NOT_START
        }
    }
}

fn check_account(args: &RunArgs) -> i32 {
    let config = match config::load(&args.config, &args.overrides()) {
        Ok(c) => c,
        Err(e) => {
            console::err(e);
            return exit_code::COULD_NOT_START;
        }
    };
    let system = actix_rt::System::new();
    match system.block_on(app::check_account(config)) {
        Ok(true) => exit_code::CLEAN,
        Ok(false) => exit_code::COULD_NOT_START,
        Err(e) => {
            console::err(format_args!("check-account: {e:#}"));
            exit_code::COULD_NOT_START
        }
    }
}

fn run(args: &RunArgs) -> i32 {
    let config = match config::load(&args.config, &args.overrides()) {
        Ok(c) => c,
        Err(e) => {
            logging::fatal(&format!("could not start: {e}"));
            return exit_code::COULD_NOT_START;
        }
    };
    if let Some(w) = config::secrets_file_warning(&args.config) {
        log::warn!("{w}");
    }
    let system = actix_rt::System::new();
    let running = match system.block_on(app::start(config)) {
        Ok(r) => r,
        Err(e) => {
            logging::fatal(&format!("could not start: {e:#}"));
            return exit_code::COULD_NOT_START;
        }
    };
    let code = system.run_with_code().unwrap_or_else(|e| {
        log::error!("actor system failed: {e}");
        exit_code::ORDERS_MAY_REMAIN
    });
    if let Some((dir, url, key)) = &running.learned_limits_at {
        if let Err(e) = learned_limits::save(dir, url, key, &running.governor) {
            log::warn!("could not keep the exchange's budgets in {}: {e}", dir.display());
        }
    }
    if let Some(sim) = running.sim {
        sim.stop();
    }
    code
}

fn main() -> ExitCode {
    // First thing: from here on SIGINT/SIGTERM no longer kill the process outright; one that
    // arrives before the actors run aborts the start cleanly (see app::start).
    let early_stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
        if let Err(e) = signal_hook::flag::register(sig, early_stop.clone()) {
            console::err(format_args!("mmbot: cannot install the handler for signal {sig}: {e}"));
        }
    }
    EARLY_STOP.set(early_stop).ok();
    let cli = Cli::parse();
    logging::init();
    // Any panic from here on stops the bot through its shutdown, not by killing one actor.
    mmbot_actors::shutdown::panic_hook::install();
    let code = match cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(&args),
        Some(Command::CheckConfig(args)) => check_config(&args),
        Some(Command::CheckAccount(args)) => check_account(&args),
        Some(Command::ClearKillSwitch(args)) => kill_switch::clear_command(&args),
        Some(Command::Record(args)) => record::command(&args),
        Some(Command::Import(args)) => import::command(&args),
        Some(Command::Backtest(args)) => offline::backtest::command(&args),
        Some(Command::Report(args)) => offline::events_report::command(&args),
        Some(Command::Health { url }) => match health::check(&url) {
            Ok(()) => exit_code::CLEAN,
            Err(e) => {
                console::err(format_args!("unhealthy: {e:#}"));
                exit_code::COULD_NOT_START
            }
        },
    };
    // What is queued for the console goes out first, unless its reader stopped reading.
    console::drain(std::time::Duration::from_secs(2));
    ExitCode::from(code as u8)
}
