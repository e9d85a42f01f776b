//! `pyhost`: the agent as a program. `pyhost run` (the default) loads every
//! check configured under the conf directory plus the system checks and
//! runs their instances on a worker pool at their intervals, with timeouts
//! and hot reload, flushing what they submit to the chosen outputs on the
//! Agent's flush cycle; `pyhost check NAME` runs one check now and prints
//! what it submitted; `pyhost status` asks a running agent for its status.
//! Usage and semantics: `docs/agent.md`.

mod args;
mod check;
mod run;
mod signals;
mod start;
mod status;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    // `pyhost __worker`: a worker process of `--isolation process`.
    if let Some(code) = pyhost_agent::process::child::main_if_worker() {
        return code;
    }
    // Usage errors exit 2 and --help/--version exit 0, as clap does.
    let cli = Cli::parse();
    let result = match cli.command {
        None => run::run(cli.run).map(|()| true),
        Some(Command::Run(opts)) => run::run(opts).map(|()| true),
        Some(Command::Check(opts)) => check::check(opts),
        Some(Command::Status(opts)) => status::status(opts).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // `check`: the check failed to load or a run failed (reported on stdout).
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("pyhost: {e}");
            ExitCode::from(1)
        }
    }
}
