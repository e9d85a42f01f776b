//! Run Datadog-style checks once or a few times and print every submission
//! as JSON lines (schema: docs/run_check.md).
//!
//! ```text
//! cargo run --release -p pyhost-agent --example run_check -- [--conf-dir D] [--checks-dir D]
//!     [--venv V] [--times N] [--data-dir D] [--hostname H] [NAME ...]
//! ```
//!
//! Configuration follows the Agent's layout: `D/NAME.d/conf.yaml` (or
//! `D/NAME.yaml`) with `init_config` and `instances`; the code is
//! `checks.d/NAME.py` or an installed `datadog_checks.NAME` package. With no
//! NAME, every check configured in the conf directory runs. `--venv V`
//! makes the interpreter use that virtual environment (its site-packages,
//! and its python as `sys.executable`), which is how checks built on
//! `datadog-checks-base` run.
//!
//! A failing check is reported in the output (`load_error`, or a
//! `run_result` carrying the error and traceback) and the others keep
//! running; the exit status is non-zero only when the tool itself fails.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use pyhost_agent::config::{discover_check_names, load_check_configs};
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::setup::HostSetup;
use pyhost_agent::{output, runner};

/// Run Datadog-style checks a few times and print every submission as JSON
/// lines (docs/run_check.md).
#[derive(Debug, Parser)]
#[command(name = "run_check", version)]
struct Options {
    #[command(flatten)]
    setup: HostSetup,
    /// Run each instance N times (rates and monotonic counts need two runs)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    times: u32,
    /// The checks to run [default: every check configured in the conf directory]
    #[arg(value_name = "NAME")]
    names: Vec<String>,
}

fn main() -> ExitCode {
    match run(Options::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("run_check: {e}");
            ExitCode::from(1)
        }
    }
}

/// Ok(false) when some configuration could not be read (reported on stderr).
fn run(opts: Options) -> Result<bool, Box<dyn std::error::Error>> {
    let setup = &opts.setup;
    let conf_dir = setup.conf_dir();
    let names = if opts.names.is_empty() {
        discover_check_names(&conf_dir).map_err(|e| format!("cannot read {}: {e}", conf_dir.display()))?
    } else {
        opts.names.clone()
    };
    if names.is_empty() {
        return Err(format!("no check configured under {}", conf_dir.display()).into());
    }

    let host = host::install(AgentHost::new(setup.host_config("run_check")?)?)
        .map_err(|_| "the agent host was already installed")?;
    let interp = HostSetup::start(setup.interpreter("run_check")?)?;
    // YAML budgets, context limit, crash report, child reaper.
    let _guards = setup.limits.install(&host)?;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut configs_ok = true;
    for name in &names {
        let configs = match load_check_configs(&conf_dir, name) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("run_check: {name}: {e}");
                configs_ok = false;
                continue;
            }
        };
        interp.with_gil(|py| {
            runner::run_configured(py, &host, name, &configs, opts.times as usize, |line| {
                output::write_line(&mut out, &line)
            })
        })?;
        out.flush()?;
    }
    Ok(configs_ok)
}
