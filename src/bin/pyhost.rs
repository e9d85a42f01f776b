//! `pyhost`: the agent as a program. Loads every check configured under the
//! conf directory and runs its instances on a worker pool at their
//! intervals, with timeouts and hot reload, sending what they submit to the
//! chosen outputs. Usage and semantics: `docs/agent.md`.

use std::process::ExitCode;
use std::time::Duration;

use pyhost::agent::aggregator::{Aggregator, AggregatorOptions};
use pyhost::agent::host::{self, AgentHost};
use pyhost::agent::scheduler::{install_stop_signals, Scheduler, SchedulerOptions};
use pyhost::agent::setup::HostSetup;
use pyhost::agent::sinks::{DogStatsdSink, JsonSink, Sink, StderrSink, TableSink};
use pyhost::WorkerPool;

const USAGE: &str = "usage: pyhost [--conf-dir D] [--checks-dir D] [--venv V] [--data-dir D] [--hostname H] \
[--workers N] [--output table|json|none] [--dogstatsd HOST:PORT] [--duration SECS] [--once] [--check-timeout SECS]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Table,
    Json,
    None,
}

#[derive(Debug)]
struct Options {
    setup: HostSetup,
    workers: usize,
    output: Output,
    dogstatsd: Option<String>,
    duration: Option<Duration>,
    once: bool,
    check_timeout: Duration,
}

fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} needs a positive number of seconds, got {v:?}"))
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        setup: HostSetup::new("pyhost-agent"),
        workers: 4,
        output: Output::Table,
        dogstatsd: None,
        duration: None,
        once: false,
        check_timeout: Duration::from_secs(30),
    };
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        if o.setup.parse_flag(&a, &mut value)? {
            continue;
        }
        match a.as_str() {
            "--workers" => {
                let v = value("--workers")?;
                o.workers = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--workers needs a positive integer, got {v:?}"))?;
            }
            "--output" => {
                o.output = match value("--output")?.as_str() {
                    "table" => Output::Table,
                    "json" => Output::Json,
                    "none" => Output::None,
                    v => return Err(format!("--output must be table, json or none, got {v:?}")),
                }
            }
            "--dogstatsd" => o.dogstatsd = Some(value("--dogstatsd")?),
            "--duration" => o.duration = Some(seconds("--duration", &value("--duration")?)?),
            "--check-timeout" => o.check_timeout = seconds("--check-timeout", &value("--check-timeout")?)?,
            "--once" => o.once = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            s => return Err(format!("unexpected argument {s}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pyhost: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(opts: Options) -> Result<(), Box<dyn std::error::Error>> {
    let setup = &opts.setup;
    if !setup.conf_dir.is_dir() {
        return Err(format!("{} is not a directory", setup.conf_dir.display()).into());
    }
    // Sinks first, so a bad --dogstatsd address fails before anything starts.
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(StderrSink)];
    match opts.output {
        Output::Table => sinks.push(Box::new(TableSink::new(std::io::stdout()))),
        Output::Json => sinks.push(Box::new(JsonSink::new(std::io::stdout()))),
        Output::None => {}
    }
    if let Some(addr) = &opts.dogstatsd {
        let sink = DogStatsdSink::connect(addr).map_err(|e| format!("--dogstatsd {addr}: {e}"))?;
        sinks.push(Box::new(sink));
    }
    let stop = install_stop_signals()?;

    let mut host = AgentHost::new(setup.host_config()?)?;
    // Only the aggregated view is reported: do not keep raw submissions.
    host.aggregator = Aggregator::with_options(AggregatorOptions {
        keep_raw: false,
        ..AggregatorOptions::default()
    });
    let host = host::install(host).map_err(|_| "the agent host was already installed")?;

    // No bytecode files: a rewritten check must be re-read from source on reload.
    HostSetup::start(setup.interpreter("pyhost")?.write_bytecode(false))?;
    let pool = WorkerPool::builder()
        .workers(opts.workers)
        .name("pyhost-check")
        .build()?;

    let mut sched_opts = SchedulerOptions::new(&setup.conf_dir, &setup.checks_dir);
    sched_opts.check_timeout = opts.check_timeout;
    sched_opts.once = opts.once;
    sched_opts.duration = opts.duration;
    let mut scheduler = Scheduler::new(sched_opts, host.clone(), pool, sinks);
    scheduler.run(stop)?;
    // The interpreter is not finalized: a worker abandoned in a stuck check
    // may still hold a thread state, and exiting the process is enough.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_every_option() {
        let o = parse_args(args(
            "--conf-dir c --checks-dir k --data-dir d --hostname h --workers 2 --output json \
             --dogstatsd 127.0.0.1:8125 --duration 1.5 --once --check-timeout 3",
        ))
        .unwrap();
        assert_eq!(o.setup.conf_dir, std::path::PathBuf::from("c"));
        assert_eq!(o.setup.checks_dir, std::path::PathBuf::from("k"));
        assert_eq!(o.setup.hostname, "h");
        assert_eq!(o.workers, 2);
        assert_eq!(o.output, Output::Json);
        assert_eq!(o.dogstatsd.as_deref(), Some("127.0.0.1:8125"));
        assert_eq!(o.duration, Some(Duration::from_millis(1500)));
        assert!(o.once);
        assert_eq!(o.check_timeout, Duration::from_secs(3));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(parse_args(args("--workers 0")).is_err());
        assert!(parse_args(args("--output xml")).is_err());
        assert!(parse_args(args("--duration -1")).is_err());
        assert!(parse_args(args("--conf-dir")).is_err());
        assert!(parse_args(args("stray")).is_err());
    }
}
