//! `pyhost check NAME`: the Datadog Agent's `check` command. Loads only
//! that check, runs each instance `--check-times` times `--delay` apart
//! (each run flushed, as the Agent's sampler commits after every run), and
//! prints what the last run's flush held, with each run's outcome.

use std::error::Error;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use pyhost_agent::cli::check_report::CheckCollector;
use pyhost_agent::containment::reserve_stdout;
use pyhost_agent::scheduler::{RunLimit, Scheduler};

use crate::args::CheckArgs;
use crate::start;

/// Run the check; `Ok(true)` when it loaded and every run succeeded.
pub fn check(opts: CheckArgs) -> Result<bool, Box<dyn Error>> {
    // The report owns stdout; whatever the check's C code writes there goes to stderr.
    let mut stdout = reserve_stdout()?;
    let started = start::start(&opts.common, None, true)?;
    // Dropped last, after the scheduler: flushes the checks' pending output.
    let _guards = started.guards;
    let mut options = started.options;
    let (times, delay) = if opts.check_rate {
        (2, Duration::from_secs(1))
    } else {
        (opts.check_times, start::millis(opts.delay))
    };
    options.only = Some(opts.name.clone());
    options.limit = Some(RunLimit {
        times,
        delay,
        flush_each_run: true,
    });
    let collector = CheckCollector::new(&opts.name);
    let mut scheduler = Scheduler::new(options, started.host, started.pool, vec![Box::new(collector.clone())]);
    if let Some(procs) = started.procs {
        scheduler = scheduler.with_processes(procs);
    }
    // SIGINT keeps its default action here: a one-shot command.
    scheduler.run(&AtomicBool::new(false))?;
    let results = collector.results();
    if opts.json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&results.to_json())?)?;
    } else {
        write!(stdout, "{}", results.to_text())?;
    }
    Ok(results.succeeded())
}
