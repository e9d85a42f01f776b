//! The agent with 8 CPU-bound checks (about 20 ms of pure-Python work per
//! run, an interval of 1 ms so each instance runs again as soon as it can),
//! for 10 s in each isolation mode: runs completed per second. Under one GIL
//! the checks take turns (one core's worth); with a sub-interpreter per
//! check (3.12+), on a free-threaded build, or in worker processes (any
//! version), they use both cores.
//!
//! `cargo bench -p pyhost-agent --bench agent_parallel`; `--quick` runs 2 s.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyhost::{Interpreter, WorkerPool};
use pyhost_agent::config::HostConfig;
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::isolation::Isolation;
use pyhost_agent::process::child::WORKER_ROLE;
use pyhost_agent::process::{ProcessOptions, ProcessPool};
use pyhost_agent::scheduler::{Scheduler, SchedulerOptions};
use pyhost_agent::sinks::{Report, RunStatus, Sink};
use pyhost_agent::{modules, pybase};

const CHECKS: usize = 8;

const CHECK: &str = "from checks import AgentCheck\n\n\
class Busy(AgentCheck):\n    def check(self, instance):\n        x = 0\n        \
for i in range(instance['n']):\n            x += i * i % 7\n        self.gauge('busy.done', 1)\n";

/// Counts successful runs.
struct Count(Arc<AtomicU64>);

impl Sink for Count {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        if let Report::Run(r) = report {
            if r.status == RunStatus::Ok {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Iterations of the check's loop for about 20 ms here.
fn calibrate() -> u64 {
    pyhost::with_gil(|py| -> pyhost::Result<u64> {
        let f = py.eval("lambda n: sum(i * i % 7 for i in range(n))", None, None)?;
        let mut n = 20_000u64;
        loop {
            let t0 = std::time::Instant::now();
            f.call1((n,))?;
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            if ms > 5.0 {
                return Ok((n as f64 * 20.0 / ms) as u64);
            }
            n *= 2;
        }
    })
    .unwrap()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let secs = if quick { 2 } else { 10 };
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    std::fs::create_dir_all(&checks).unwrap();
    let host = host::install(AgentHost::new(HostConfig::with_defaults("benchhost", &dir.path().join("data"))).unwrap())
        .unwrap_or_else(|_| panic!("a host was already installed"));
    let interp = modules::add_builtin_modules(Interpreter::builder())
        .add_path(&checks)
        .write_bytecode(false)
        .init()
        .expect("Python starts");
    interp.with_gil(|py| pybase::install(py).map(drop)).unwrap();
    let n = calibrate();
    for i in 0..CHECKS {
        let d = conf.join(format!("busy{i}.d"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("conf.yaml"),
            format!("instances:\n  - n: {n}\n    min_collection_interval: 0.001\n"),
        )
        .unwrap();
        std::fs::write(checks.join(format!("busy{i}.py")), CHECK).unwrap();
    }
    println!(
        "Python {}{}; {CHECKS} checks of about 20 ms of bytecode each, {secs} s per mode.\n",
        pyhost::interpreter::compiled_version(),
        if pyhost::interpreter::compiled_free_threaded() {
            " (free-threaded)"
        } else {
            ""
        }
    );
    println!("| isolation | runs per second | what |");
    println!("|---|---|---|");
    let mut modes = vec![(Isolation::Shared, "all checks in the main interpreter, 4 workers")];
    if pyhost::subinterpreter::supported() {
        modes.push((Isolation::Subinterpreter, "one own-GIL sub-interpreter per check"));
    }
    modes.push((Isolation::Process, "4 worker processes, each with its interpreter"));
    for (isolation, what) in modes {
        let runs = Arc::new(AtomicU64::new(0));
        let mut opts = SchedulerOptions::new(&conf, &checks);
        opts.isolation = isolation;
        opts.duration = Some(Duration::from_secs(secs));
        opts.check_timeout = Duration::from_secs(30);
        opts.system_checks = false;
        let pool = WorkerPool::builder().workers(4).name("bench-check").build().unwrap();
        let sinks: Vec<Box<dyn Sink>> = vec![Box::new(Count(Arc::clone(&runs)))];
        let mut scheduler = Scheduler::new(opts, Arc::clone(&host), pool, sinks);
        if isolation == Isolation::Process {
            let procs = ProcessOptions {
                workers: 4,
                program: env!("CARGO_BIN_EXE_pyhost").into(),
                args: vec![
                    WORKER_ROLE.into(),
                    "--checks-dir".into(),
                    checks.clone().into(),
                    "--data-dir".into(),
                    dir.path().join("data").into(),
                ],
                host_config: host.config.read().as_value().clone(),
                cancel_grace: Duration::from_secs(5),
            };
            scheduler = scheduler.with_processes(ProcessPool::new(procs, Arc::clone(&host)).unwrap());
        }
        scheduler.run(&AtomicBool::new(false)).unwrap();
        let rate = runs.load(Ordering::Relaxed) as f64 / secs as f64;
        println!("| {} | {rate:.1} | {what} |", isolation.as_str());
    }
}
