//! `pyhost`: the agent as a program. Loads every check configured under the
//! conf directory and runs its instances on a worker pool at their
//! intervals, with timeouts and hot reload, sending what they submit to the
//! chosen outputs. Usage and semantics: `docs/agent.md`.

mod signals;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use pyhost::WorkerPool;
use pyhost_agent::aggregator::{Aggregator, AggregatorOptions};
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::isolation::Isolation;
use pyhost_agent::scheduler::{Scheduler, SchedulerOptions};
use pyhost_agent::setup::HostSetup;
use pyhost_agent::sinks::{DogStatsdSink, JsonSink, Sink, StderrSink, TableSink};

/// Run Datadog Agent checks (Python) embedded in one process: each instance on
/// a thread-affine Python worker at its interval, with timeouts and hot reload.
#[derive(Debug, Parser)]
#[command(name = "pyhost", version)]
struct Options {
    #[command(flatten)]
    setup: HostSetup,
    /// Python worker threads (each keeps one thread state for life)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// What is printed on stdout at each flush
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Also send metrics, service checks and events to a DogStatsD server
    #[arg(long, value_name = "HOST:PORT")]
    dogstatsd: Option<String>,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM)
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    duration: Option<Duration>,
    /// Run every instance once, flush, and exit
    #[arg(long)]
    once: bool,
    /// A run still going after this many seconds is cancelled and reported
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "30")]
    check_timeout: Duration,
    /// Where checks run: all in the main interpreter, or each in its own
    /// sub-interpreter with its own GIL (3.12+; in parallel) [default: subinterpreter
    /// on a default build of 3.12+, else shared]
    #[arg(long, value_enum)]
    isolation: Option<Isolation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// A readable table per flush
    Table,
    /// One JSON object per line
    Json,
    /// Nothing (with --dogstatsd, say)
    None,
}

fn seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("needs a positive number of seconds, got {v:?}"))
}

fn main() -> ExitCode {
    // `pyhost __worker`: a worker process of `--isolation process`.
    if let Some(code) = pyhost_agent::process::child::main_if_worker() {
        return code;
    }
    // Usage errors exit 2 and --help/--version exit 0, as clap does.
    let opts = Options::parse();
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
    let conf_dir = setup.conf_dir();
    if setup.uses_bundled_examples() {
        eprintln!(
            "pyhost: no ./conf.d here; running the bundled example checks from {} (see --help)",
            conf_dir.display()
        );
    }
    if !conf_dir.is_dir() {
        return Err(format!("{} is not a directory", conf_dir.display()).into());
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
    let stop = signals::install_stop_signals()?;

    let mut host = AgentHost::new(setup.host_config("agent")?)?;
    // Only the aggregated view is reported: do not keep raw submissions.
    host.aggregator = Aggregator::with_options(AggregatorOptions {
        keep_raw: false,
        ..AggregatorOptions::default()
    });
    let host = host::install(host).map_err(|_| "the agent host was already installed")?;

    // No bytecode files: a rewritten check must be re-read from source on reload.
    HostSetup::start(setup.interpreter("pyhost")?.write_bytecode(false))?;
    // YAML budgets, context limit, crash report, child reaper; flushes the
    // checks' pending output when dropped at exit.
    let _guards = setup.limits.install(&host)?;
    let pool = WorkerPool::builder()
        .workers(opts.workers as usize)
        .name("pyhost-check")
        .build()?;

    let mut sched_opts = SchedulerOptions::new(&conf_dir, setup.checks_dir());
    sched_opts.check_timeout = opts.check_timeout;
    sched_opts.once = opts.once;
    sched_opts.duration = opts.duration;
    if let Some(isolation) = opts.isolation {
        if isolation == Isolation::Subinterpreter && !pyhost::subinterpreter::supported() {
            return Err(format!(
                "--isolation subinterpreter needs Python 3.12 or newer; pyhost was built against {}",
                pyhost::interpreter::compiled_version()
            )
            .into());
        }
        sched_opts.isolation = isolation;
    }
    let mut scheduler = Scheduler::new(sched_opts, host.clone(), pool, sinks);
    scheduler.run(stop)?;
    // The interpreter is not finalized: a worker abandoned in a stuck check
    // may still hold a thread state, and exiting the process is enough.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("pyhost").chain(s.split_whitespace()))
    }

    #[test]
    fn parses_every_option() {
        let o = parse(
            "--conf-dir c --checks-dir k --data-dir d --hostname h --workers 2 --output json \
             --dogstatsd 127.0.0.1:8125 --duration 1.5 --once --check-timeout 3 --isolation shared",
        )
        .unwrap();
        assert_eq!(o.setup.conf_dir(), std::path::PathBuf::from("c"));
        assert_eq!(o.setup.checks_dir(), std::path::PathBuf::from("k"));
        assert_eq!(o.setup.hostname(), "h");
        assert_eq!(o.workers, 2);
        assert_eq!(o.output, Output::Json);
        assert_eq!(o.dogstatsd.as_deref(), Some("127.0.0.1:8125"));
        assert_eq!(o.duration, Some(Duration::from_millis(1500)));
        assert!(o.once);
        assert_eq!(o.check_timeout, Duration::from_secs(3));
        assert_eq!(o.isolation, Some(Isolation::Shared));
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "--workers 0",
            "--output xml",
            "--duration -1",
            "--conf-dir",
            "stray",
            "--no-such-flag",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }

    #[test]
    fn command_is_well_formed() {
        use clap::CommandFactory;
        Options::command().debug_assert();
    }
}
