//! What `run` and `check` do before the scheduler starts: read the settings
//! file, resolve flags over it, install the host, start Python and the pool.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use pyhost::WorkerPool;
use pyhost_agent::aggregator::{Aggregator, AggregatorOptions};
use pyhost_agent::cli::settings::{self, AgentSettings};
use pyhost_agent::containment::ProcessGuards;
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::isolation::Isolation;
use pyhost_agent::process::child::WORKER_ROLE;
use pyhost_agent::process::{ProcessOptions, ProcessPool};
use pyhost_agent::scheduler::{SchedulerOptions, DEFAULT_INTERVAL};
use pyhost_agent::setup::HostSetup;

use crate::args::CommonArgs;

/// The default number of workers (the Agent's `check_runners` default).
const DEFAULT_WORKERS: u16 = 4;

/// A started agent, ready for a scheduler.
pub struct Started {
    pub host: Arc<AgentHost>,
    pub pool: WorkerPool,
    pub options: SchedulerOptions,
    pub workers: u16,
    pub hostname: String,
    /// YAML budgets, context limit, crash report, child reaper; flushes the
    /// checks' pending output when dropped at exit.
    pub guards: ProcessGuards,
    /// The worker processes, with `--isolation process`.
    pub procs: Option<ProcessPool>,
}

/// Resolve the settings (`--config`, then flags), check the conf dir,
/// install the host and start Python and the worker pool. `quiet` leaves
/// out the note about the bundled examples (the `check` command).
pub fn start(common: &CommonArgs, workers_flag: Option<u16>, quiet: bool) -> Result<Started, Box<dyn Error>> {
    let settings = common.config.as_deref().map(AgentSettings::load).transpose()?;
    let mut setup: HostSetup = common.setup.clone();
    if let Some(s) = &settings {
        s.apply_to(&mut setup);
    }
    let conf_dir = setup.conf_dir();
    if setup.uses_bundled_examples() && !quiet {
        eprintln!(
            "pyhost: no ./conf.d here; running the bundled example checks from {} (see --help)",
            conf_dir.display()
        );
    }
    if !conf_dir.is_dir() {
        return Err(format!("{} is not a directory", conf_dir.display()).into());
    }
    let file_workers = settings
        .as_ref()
        .map(AgentSettings::check_runners)
        .transpose()?
        .flatten();
    let workers = workers_flag.or(file_workers).unwrap_or(DEFAULT_WORKERS);
    let interval = settings
        .as_ref()
        .map(AgentSettings::min_collection_interval)
        .transpose()?
        .flatten()
        .unwrap_or(DEFAULT_INTERVAL);

    let config = settings::host_config(&setup, settings.as_ref(), "agent", workers, interval)?;
    let hostname = config.hostname().unwrap_or("").to_string();
    let mut host = AgentHost::new(config)?;
    // Only the aggregated view is reported: do not keep raw submissions.
    // What a check submits without a hostname is this host's, as in the Agent.
    host.aggregator = Aggregator::with_options(AggregatorOptions {
        keep_raw: false,
        default_hostname: hostname.clone(),
        ..AggregatorOptions::default()
    });
    let host = host::install(host).map_err(|_| "the agent host was already installed")?;

    let mut options = SchedulerOptions::new(&conf_dir, setup.checks_dir());
    options.check_timeout = common.check_timeout;
    options.default_interval = interval;
    options.system_checks = !common.no_system_checks;
    if let Some(isolation) = common.isolation {
        if isolation == Isolation::Subinterpreter && !pyhost::subinterpreter::supported() {
            return Err(format!(
                "--isolation subinterpreter needs Python 3.12 or newer; pyhost was built against {}",
                pyhost::interpreter::compiled_version()
            )
            .into());
        }
        options.isolation = isolation;
    }

    // No bytecode files: a rewritten check must be re-read from source on reload.
    HostSetup::start(setup.interpreter("pyhost")?.write_bytecode(false))?;
    let guards = setup.limits.install(&host)?;
    let procs = if options.isolation == Isolation::Process {
        let opts = ProcessOptions {
            workers: workers as usize,
            program: std::env::current_exe()?,
            args: std::iter::once(WORKER_ROLE.into()).chain(setup.to_args()).collect(),
            host_config: host.config.read().as_value().clone(),
            cancel_grace: common.check_timeout.min(Duration::from_secs(5)),
        };
        Some(ProcessPool::new(opts, Arc::clone(&host))?)
    } else {
        None
    };
    // With worker processes, the checks do not run here.
    let local_workers = if procs.is_some() { 1 } else { workers as usize };
    let pool = WorkerPool::builder()
        .workers(local_workers)
        .name("pyhost-check")
        .build()?;
    Ok(Started {
        host,
        pool,
        options,
        workers,
        hostname,
        guards,
        procs,
    })
}

/// `--delay MS` as a duration.
pub fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
