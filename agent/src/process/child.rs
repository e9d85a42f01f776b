//! The worker role (`pyhost __worker`): one process, one interpreter with
//! the Datadog modules, running the checks the agent sends it, one run at a
//! time, and sending back what they submitted.
//!
//! Standard output is the protocol channel's only risk: a check's `print`,
//! or a C library writing to descriptor 1, would corrupt it. So the first
//! thing the worker does is move the channel to a descriptor of its own
//! and point descriptor 1 at standard error
//! ([`reserve_stdout`](crate::containment::reserve_stdout)), which the agent
//! reads as the worker's log. Requests arrive on standard input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use pyhost::worker::CancelHandle;
use pyhost::{Py, Python, WorkerPool};

use super::wire::{Reply, Request, WireConfig, WireLoadError, WireSubmission};
use crate::aggregator::{Aggregator, AggregatorOptions};
use crate::check::{
    cancel_check, check_id, forget_check_modules, instantiate, load_check_class, load_check_class_from, run_check,
};
use crate::config::HostConfig;
use crate::containment::RunScope;
use crate::host::{self, AgentHost};
use crate::setup::HostSetup;

/// The replies' writer, shared by the request loop and the jobs.
type Out = Arc<Mutex<BufWriter<File>>>;

fn send(out: &Out, reply: &Reply) {
    let mut w = out.lock();
    // A write error means the agent is gone: the next read of stdin ends
    // the loop, so there is nothing better to do with it here.
    let _ = serde_json::to_writer(&mut *w, reply);
    let _ = w.write_all(b"\n");
    let _ = w.flush();
}

/// What a loaded check keeps: per instance, its check id and object.
type Instances = Vec<Option<(String, Arc<Py>)>>;

/// The run in progress.
struct Running {
    seq: u64,
    check: String,
    index: usize,
    object: Arc<Py>,
    /// Set once the job is queued.
    cancel: Option<CancelHandle>,
}

#[derive(Default)]
struct State {
    checks: BTreeMap<String, Instances>,
    running: Option<Running>,
    seq: u64,
}

/// The worker role's command line: `pyhost __worker [OPTIONS]`, the
/// agent's own setup options (checks directory, virtual environment).
#[derive(Debug, clap::Parser)]
#[command(name = "pyhost __worker")]
struct WorkerArgs {
    #[command(flatten)]
    setup: HostSetup,
}

/// The first argument that selects the worker role.
pub const WORKER_ROLE: &str = "__worker";

/// If this process was started in the worker role (`argv[1]` is
/// [`WORKER_ROLE`]), run it and return its exit code; otherwise `None`.
/// The agent's `main` calls this first.
pub fn main_if_worker() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    let program = args.next()?;
    if args.next()? != WORKER_ROLE {
        return None;
    }
    let parsed = <WorkerArgs as clap::Parser>::parse_from(std::iter::once(program).chain(args));
    Some(worker_main(&parsed.setup))
}

/// Run the worker role until standard input closes. `setup` is the agent's
/// (checks directory, virtual environment); the host configuration comes in
/// the first request.
pub fn worker_main(setup: &HostSetup) -> ExitCode {
    match serve(setup) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR    pyhost worker {}: {e}", std::process::id());
            ExitCode::from(1)
        }
    }
}

fn serve(setup: &HostSetup) -> Result<(), String> {
    let out: Out = Arc::new(Mutex::new(BufWriter::new(
        crate::containment::reserve_stdout().map_err(|e| format!("protocol channel: {e}"))?,
    )));
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    let first = lines.next().ok_or("no request")?.map_err(|e| e.to_string())?;
    let host_config = match serde_json::from_str(&first) {
        Ok(Request::Init { host_config }) => host_config,
        _ => return Err(format!("the first request must be init, got {first:.80}")),
    };
    let mut config = HostConfig::new();
    config.merge(host_config)?;
    let mut agent_host = AgentHost::new(config).map_err(|e| e.to_string())?;
    // The worker only records: the agent aggregates what it sends back.
    agent_host.aggregator = Aggregator::with_options(AggregatorOptions {
        keep_raw: true,
        aggregate: false,
        ..AggregatorOptions::default()
    });
    let agent_host = host::install(agent_host).map_err(|_| "a host is already installed")?;
    let builder = setup.interpreter("pyhost-worker")?;
    let _interp = HostSetup::start(builder).map_err(|e| e.to_string())?;
    // Labels and a crash report (a segfault's traceback reaches the agent
    // in this worker's stderr), output to the log, the child reaper.
    let _guards = setup.limits.install(&agent_host).map_err(|e| e.to_string())?;
    let pool = Arc::new(
        WorkerPool::builder()
            .name("pyhost-worker-run")
            .workers(1)
            .build()
            .map_err(|e| e.to_string())?,
    );
    send(
        &out,
        &Reply::Ready {
            pid: std::process::id(),
            python: pyhost::interpreter::runtime_version_string(),
        },
    );
    let state = Arc::new(Mutex::new(State::default()));
    for line in lines {
        let line = line.map_err(|e| e.to_string())?;
        let request: Request = serde_json::from_str(&line).map_err(|e| format!("bad request {line:.80}: {e}"))?;
        match request {
            Request::Init { .. } => return Err("init sent twice".into()),
            Request::Load {
                check,
                module,
                configs,
                reload,
            } => {
                let (state, out) = (Arc::clone(&state), Arc::clone(&out));
                submit(&pool, move |py| {
                    let _scope = RunScope::load(&check);
                    load(py, &state, &out, &check, module.as_deref(), &configs, reload)
                })?;
            }
            Request::Run { check, index } => start_run(&pool, &state, &out, &agent_host, check, index)?,
            Request::Cancel { check, index } => cancel(&pool, &state, &check, index),
            Request::Unload { check } => {
                let gone = state.lock().checks.remove(&check).unwrap_or_default();
                for (_, object) in gone.into_iter().flatten() {
                    let _ = pool.submit(move |py| cancel_check(object.bind(py)));
                }
            }
        }
    }
    // The agent closed our stdin: finish what runs, then exit.
    pool.shutdown();
    Ok(())
}

fn submit(
    pool: &WorkerPool,
    job: impl FnOnce(Python<'_>) -> pyhost::Result<()> + Send + 'static,
) -> Result<(), String> {
    // The handle is not needed: the job replies itself.
    pool.submit(job).map(drop).map_err(|e| e.to_string())
}

fn load(
    py: Python<'_>,
    state: &Mutex<State>,
    out: &Out,
    check: &str,
    module: Option<&str>,
    configs: &[WireConfig],
    reload: bool,
) -> pyhost::Result<()> {
    let fail = |module: WireLoadError| Reply::Loaded {
        check: check.to_string(),
        module: Err(module),
        version: None,
        instances: Vec::new(),
    };
    // The instances this load replaces get cancel(), as in process.
    let old = state.lock().checks.remove(check).unwrap_or_default();
    for (_, object) in old.into_iter().flatten() {
        let _ = cancel_check(object.bind(py));
    }
    if reload {
        if let Err(e) = forget_check_modules(py, check) {
            let message = format!("could not unload module '{check}': {e}");
            send(
                out,
                &fail(WireLoadError {
                    message,
                    traceback: None,
                }),
            );
            return Ok(());
        }
    }
    let class = match module {
        Some(m) => load_check_class_from(py, check, m),
        None => load_check_class(py, check),
    };
    let class = match class {
        Ok(c) => c,
        Err(e) => {
            send(out, &fail(e.into()));
            return Ok(());
        }
    };
    let mut objects = Vec::new();
    let mut replies = Vec::new();
    for config in configs {
        for instance in &config.instances {
            let id = check_id(check, instance, &config.init_config);
            match instantiate(py, &class, &config.init_config, instance, &id) {
                Ok(obj) => {
                    objects.push(Some((id.clone(), Arc::new(obj.unbind()))));
                    replies.push(Ok(id));
                }
                Err(e) => {
                    objects.push(None);
                    replies.push(Err(e.into()));
                }
            }
        }
    }
    state.lock().checks.insert(check.to_string(), objects);
    send(
        out,
        &Reply::Loaded {
            check: check.to_string(),
            module: Ok(class.module_name.clone()),
            version: class.version.clone(),
            instances: replies,
        },
    );
    Ok(())
}

fn start_run(
    pool: &WorkerPool,
    state: &Arc<Mutex<State>>,
    out: &Out,
    agent_host: &Arc<AgentHost>,
    check: String,
    index: usize,
) -> Result<(), String> {
    let (seq, found) = {
        let mut st = state.lock();
        st.seq += 1;
        let found = st.checks.get(&check).and_then(|i| i.get(index).cloned().flatten());
        if let Some((_, object)) = &found {
            st.running = Some(Running {
                seq: st.seq,
                check: check.clone(),
                index,
                object: Arc::clone(object),
                cancel: None,
            });
        }
        (st.seq, found)
    };
    let Some((id, object)) = found else {
        // The agent only runs what loaded; answer anyway, so it never waits.
        let message = format!("instance {index} of check '{check}' is not loaded in this worker");
        let errors = crate::check::error_list(&message, None);
        let reply = Reply::Ran {
            check,
            index,
            result: errors.to_string(),
            errors,
            warnings: Vec::new(),
            duration_us: 0,
        };
        send(out, &reply);
        return Ok(());
    };
    let (job_state, job_out, job_host) = (Arc::clone(state), Arc::clone(out), Arc::clone(agent_host));
    let handle = pool
        .submit(move |py| {
            let started = Instant::now();
            let scope = RunScope::run(&check, index, &id);
            let outcome = run_check(object.bind(py));
            let duration_us = started.elapsed().as_micros() as u64;
            drop(scope);
            {
                let mut st = job_state.lock();
                if st.running.as_ref().is_some_and(|r| r.seq == seq) {
                    st.running = None;
                }
            }
            let items: Vec<WireSubmission> = job_host
                .aggregator
                .take_submissions(&id)
                .into_iter()
                .map(WireSubmission::from)
                .collect();
            send(&job_out, &Reply::Submissions { check_id: id, items });
            let reply = Reply::Ran {
                check,
                index,
                result: outcome.result,
                errors: outcome.errors,
                warnings: outcome.warnings,
                duration_us,
            };
            send(&job_out, &reply);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    if let Some(r) = state.lock().running.as_mut().filter(|r| r.seq == seq) {
        r.cancel = Some(handle.cancel_handle());
    }
    Ok(())
}

/// Cancel the run in progress if it is `check`'s instance `index`: raise
/// `pyhost.JobCancelled` in it, and call the instance's `cancel()` from a
/// thread of its own (it takes the GIL, which the run may hold for a while).
fn cancel(pool: &Arc<WorkerPool>, state: &Mutex<State>, check: &str, index: usize) {
    let st = state.lock();
    let Some(r) = st.running.as_ref().filter(|r| r.check == check && r.index == index) else {
        return;
    };
    if let Some(c) = &r.cancel {
        c.cancel();
    }
    let (pool, object) = (Arc::clone(pool), Arc::clone(&r.object));
    drop(st);
    let _ = std::thread::Builder::new()
        .name("pyhost-worker-cancel".into())
        .spawn(move || pool.enter(0, move |py| cancel_check(object.bind(py))));
}
