//! Run Datadog-style checks once or a few times and print every submission
//! as JSON lines (schema: docs/run_check.md).
//!
//! ```text
//! cargo run --release --example run_check -- [--conf-dir D] [--checks-dir D]
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

use pyhost::agent::config::{discover_check_names, load_check_configs};
use pyhost::agent::host::{self, AgentHost};
use pyhost::agent::runner;
use pyhost::agent::setup::HostSetup;

struct Options {
    setup: HostSetup,
    times: usize,
    names: Vec<String>,
}

const USAGE: &str =
    "usage: run_check [--conf-dir D] [--checks-dir D] [--venv V] [--times N] [--data-dir D] [--hostname H] [NAME ...]";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        setup: HostSetup::new("pyhost-run_check"),
        times: 1,
        names: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        if o.setup.parse_flag(&a, &mut value)? {
            continue;
        }
        match a.as_str() {
            "--times" => {
                let v = value("--times")?;
                o.times = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--times needs a positive integer, got {v:?}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            name => o.names.push(name.to_string()),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(opts) {
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
    let names = if opts.names.is_empty() {
        discover_check_names(&setup.conf_dir).map_err(|e| format!("cannot read {}: {e}", setup.conf_dir.display()))?
    } else {
        opts.names.clone()
    };
    if names.is_empty() {
        return Err(format!("no check configured under {}", setup.conf_dir.display()).into());
    }

    let host =
        host::install(AgentHost::new(setup.host_config()?)?).map_err(|_| "the agent host was already installed")?;
    let interp = HostSetup::start(setup.interpreter("run_check")?)?;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut configs_ok = true;
    for name in &names {
        let configs = match load_check_configs(&setup.conf_dir, name) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("run_check: {name}: {e}");
                configs_ok = false;
                continue;
            }
        };
        interp.with_gil(|py| {
            runner::run_configured(py, &host, name, &configs, opts.times, |line| {
                writeln!(out, "{}", line.to_json())
            })
        })?;
        out.flush()?;
    }
    Ok(configs_ok)
}
