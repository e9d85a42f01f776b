//! `pyhost run` (and `pyhost` alone): the agent until stopped, `--duration`
//! or `--once`.

use std::error::Error;
use std::io::LineWriter;
use std::sync::{Arc, OnceLock};

use pyhost_agent::containment::reserve_stdout;
use pyhost_agent::scheduler::{RunLimit, Scheduler, SchedulerWaker};
use pyhost_agent::sinks::{DogStatsdSink, JsonSink, Sink, StderrSink, TableSink};
use pyhost_agent::status::server::StatusServer;
use pyhost_agent::status::{self, ProcessInfo, StatusBoard};

use crate::args::{Output, RunArgs};
use crate::{signals, start};

pub fn run(opts: RunArgs) -> Result<(), Box<dyn Error>> {
    // Sinks and addresses first, so a bad --dogstatsd or --status-addr
    // fails before anything starts.
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(StderrSink)];
    match opts.output {
        Output::Table => sinks.push(Box::new(TableSink::new(LineWriter::new(reserve_stdout()?)))),
        Output::Json => sinks.push(Box::new(JsonSink::new(LineWriter::new(reserve_stdout()?)))),
        Output::None => {}
    }
    let dogstatsd = match &opts.dogstatsd {
        Some(addr) => Some(DogStatsdSink::connect(addr).map_err(|e| format!("--dogstatsd {addr}: {e}"))?),
        None => None,
    };
    let status_addr = opts
        .status_addr
        .as_deref()
        .map(|a| status::resolve_addr(a, opts.status_allow_remote).map_err(|e| format!("--status-addr {e}")))
        .transpose()?;

    let waker: Arc<OnceLock<SchedulerWaker>> = Arc::new(OnceLock::new());
    let signal_waker = Arc::clone(&waker);
    let stop = signals::install_stop_signals(move || {
        if let Some(w) = signal_waker.get() {
            w.wake();
        }
    })?;

    let started = start::start(&opts.common, opts.workers, false)?;
    if let Some(sink) = dogstatsd {
        sinks.push(Box::new(sink.with_hostname(started.hostname.clone())));
    }
    // Dropped last, after the scheduler: flushes the checks' pending output.
    let _guards = started.guards;
    let mut options = started.options;
    options.flush_interval = opts.flush_interval;
    options.duration = opts.duration;
    if opts.once {
        options.limit = Some(RunLimit::once());
    }
    let mut _server = None;
    if let Some(addr) = status_addr {
        let board = StatusBoard::new(ProcessInfo {
            hostname: started.hostname.clone(),
            isolation: options.isolation.as_str().to_string(),
            workers: started.workers as usize,
            flush_interval_s: opts.flush_interval.as_secs_f64(),
        });
        sinks.push(Box::new(board.sink()));
        let server = StatusServer::start(addr, board).map_err(|e| format!("--status-addr {addr}: {e}"))?;
        eprintln!(
            "INFO     pyhost: status on http://{0}/ and http://{0}/status.json",
            server.local_addr()
        );
        _server = Some(server);
    }
    let mut scheduler = Scheduler::new(options, started.host, started.pool, sinks);
    if let Some(procs) = started.procs {
        scheduler = scheduler.with_processes(procs);
    }
    let _ = waker.set(scheduler.waker());
    scheduler.run(stop)?;
    // The interpreter is not finalized: a worker abandoned in a stuck check
    // may still hold a thread state, and exiting the process is enough.
    Ok(())
}
