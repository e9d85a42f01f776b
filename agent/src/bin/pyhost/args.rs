//! The command line (`clap`): `pyhost [run] [OPTIONS]`, `pyhost check NAME`,
//! `pyhost status --addr`. `run` is the default, so every option of the
//! program before subcommands existed works as it did (`pyhost --once`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use pyhost_agent::isolation::Isolation;
use pyhost_agent::setup::HostSetup;

/// Run Datadog Agent checks (Python) embedded in one process: each instance on
/// a thread-affine Python worker at its interval, with timeouts and hot reload,
/// the host's system metrics out of the box, and the Agent's flush cycle.
///
/// With no subcommand, `pyhost` runs the agent (`pyhost run`).
#[derive(Debug, Parser)]
#[command(name = "pyhost", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: every configured check at its interval (the default)
    Run(RunArgs),
    /// Run one check now, like `datadog-agent check NAME`, and print what it submitted
    Check(CheckArgs),
    /// Print the status of a running agent (started with --status-addr)
    Status(StatusArgs),
}

/// What `run` and `check` share: where the checks are and how they run.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub setup: HostSetup,
    /// The agent's settings, in the Datadog Agent's datadog.yaml layout
    /// (hostname, tags, proxy, check_runners, min_collection_interval,
    /// confd_path, ...); the command line overrides it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A run still going after this many seconds is cancelled and reported
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "30")]
    pub check_timeout: Duration,
    /// Where checks run: all in the main interpreter, or each in its own
    /// sub-interpreter with its own GIL (3.12+; in parallel) [default: subinterpreter
    /// on a default build of 3.12+, else shared]
    #[arg(long, value_enum)]
    pub isolation: Option<Isolation>,
    /// Do not run the system checks shipped with pyhost (cpu, memory, load,
    /// disk, io, network, uptime, file_handle) unless configured under the conf dir
    #[arg(long)]
    pub no_system_checks: bool,
}

/// `pyhost run` (and `pyhost` alone).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Python worker threads (each keeps one thread state for life)
    /// [default: check_runners of --config, else 4]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// What is printed on stdout at each flush
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Also send metrics, service checks and events to a DogStatsD server
    #[arg(long, value_name = "HOST:PORT")]
    pub dogstatsd: Option<String>,
    /// Aggregate what checks submit and flush it to the outputs this often
    /// (the Agent's flush interval)
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "15")]
    pub flush_interval: Duration,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM)
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub duration: Option<Duration>,
    /// Run every instance once, flush, and exit
    #[arg(long)]
    pub once: bool,
    /// Serve the status: /status.json and an HTML page at / (port 0 picks one)
    #[arg(long, value_name = "HOST:PORT")]
    pub status_addr: Option<String>,
    /// Let --status-addr be an address other hosts can reach (loopback only otherwise)
    #[arg(long, requires = "status_addr")]
    pub status_allow_remote: bool,
}

/// `pyhost check NAME`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The check: NAME.d/ in the conf dir (or a system check), code in the
    /// checks dir or an installed datadog_checks.NAME
    pub name: String,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Run each instance this many times
    #[arg(short = 't', long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub check_times: u32,
    /// Milliseconds between two runs of an instance
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub delay: u64,
    /// Run twice, one second apart, so rates show (the Agent's --check-rate)
    #[arg(short = 'r', long, conflicts_with_all = ["check_times", "delay"])]
    pub check_rate: bool,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `pyhost status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The agent's --status-addr
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: String,
    /// Print /status.json as it is
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pyhost").chain(s.split_whitespace()))
    }

    #[test]
    fn parses_every_run_option_with_or_without_run() {
        let line = "--conf-dir c --checks-dir k --data-dir d --hostname h --workers 2 --output json \
                    --dogstatsd 127.0.0.1:8125 --duration 1.5 --once --check-timeout 3 --isolation shared \
                    --flush-interval 2 --status-addr 127.0.0.1:0 --config dd.yaml --no-system-checks";
        for prefix in ["", "run "] {
            let cli = parse(&format!("{prefix}{line}")).unwrap();
            let o = match cli.command {
                None => cli.run,
                Some(Command::Run(r)) => r,
                Some(c) => panic!("{c:?}"),
            };
            assert_eq!(o.common.setup.conf_dir(), PathBuf::from("c"));
            assert_eq!(o.common.setup.checks_dir(), PathBuf::from("k"));
            assert_eq!(o.common.setup.hostname(), "h");
            assert_eq!(o.workers, Some(2));
            assert_eq!(o.output, Output::Json);
            assert_eq!(o.dogstatsd.as_deref(), Some("127.0.0.1:8125"));
            assert_eq!(o.duration, Some(Duration::from_millis(1500)));
            assert!(o.once && o.common.no_system_checks);
            assert_eq!(o.common.check_timeout, Duration::from_secs(3));
            assert_eq!(o.common.isolation, Some(Isolation::Shared));
            assert_eq!(o.flush_interval, Duration::from_secs(2));
            assert_eq!(o.status_addr.as_deref(), Some("127.0.0.1:0"));
            assert_eq!(o.common.config, Some(PathBuf::from("dd.yaml")));
        }
        let o = parse("").unwrap();
        assert!(o.command.is_none());
        assert_eq!((o.run.workers, o.run.flush_interval), (None, Duration::from_secs(15)));
    }

    #[test]
    fn parses_check_and_status() {
        let Some(Command::Check(c)) = parse("check cpu --check-times 3 --delay 50 --json --conf-dir x")
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!((c.name.as_str(), c.check_times, c.delay, c.json), ("cpu", 3, 50, true));
        assert_eq!(c.common.setup.conf_dir(), PathBuf::from("x"));
        let Some(Command::Check(c)) = parse("check cpu -r").unwrap().command else {
            panic!()
        };
        assert!(c.check_rate);
        let Some(Command::Status(s)) = parse("status --addr 127.0.0.1:5002").unwrap().command else {
            panic!()
        };
        assert_eq!(s.addr, "127.0.0.1:5002");
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "--workers 0",
            "--output xml",
            "--duration -1",
            "--flush-interval 0",
            "--conf-dir",
            "stray",
            "--no-such-flag",
            "--once check cpu",
            "check",
            "check cpu --check-times 0",
            "check cpu -r --check-times 2",
            "status",
            "--status-allow-remote",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }

    #[test]
    fn command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
