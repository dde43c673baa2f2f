//! `mmbot`: the binary. Parses the command line, loads the configuration, starts the actor
//! system and turns the Supervisor's verdict into the process's exit code (DESIGN.md).

mod app;
mod cli;
mod config;
mod instance_lock;
mod startup;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, RunArgs};
use mmbot_actors::report::exit_code;

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
}

fn check_config(args: &RunArgs) -> i32 {
    match config::load(&args.config, &args.overrides()) {
        Ok(c) => {
            println!(
                "{}: OK (mode {}, symbols {})",
                args.config.display(),
                c.mode.as_str(),
                c.symbols.join(",")
            );
            exit_code::CLEAN
        }
        Err(e) => {
            eprintln!("{e}");
            exit_code::COULD_NOT_START
        }
    }
}

fn run(args: &RunArgs) -> i32 {
    let config = match config::load(&args.config, &args.overrides()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mmbot: could not start: {e}");
            return exit_code::COULD_NOT_START;
        }
    };
    let system = actix_rt::System::new();
    let running = match system.block_on(app::start(config)) {
        Ok(r) => r,
        Err(e) => {
            log::error!("could not start: {e:#}");
            eprintln!("mmbot: could not start: {e:#}");
            return exit_code::COULD_NOT_START;
        }
    };
    let code = system.run_with_code().unwrap_or_else(|e| {
        log::error!("actor system failed: {e}");
        exit_code::ORDERS_MAY_REMAIN
    });
    if let Some(sim) = running.sim {
        sim.stop();
    }
    code
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let code = match cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(&args),
        Some(Command::CheckConfig(args)) => check_config(&args),
    };
    ExitCode::from(code as u8)
}
