//! The agent's side of process isolation: N worker processes, each owned by
//! a slot thread that sends it one request at a time and watches it die.
//!
//! A check lives in one worker (its objects keep state between runs), the
//! least loaded when it is first loaded. A slot thread takes its commands in
//! order: loads, runs, unloads. For each run it waits for the reply until
//! the check timeout, then sends `cancel` and waits a grace period, then
//! kills the process (`SIGKILL`): a run stuck in C cannot stop on its own.
//! A worker that dies (a signal, `os._exit`, the OOM killer, our kill) is
//! reported against the check and instance it was running, with its exit
//! status and the last lines of its standard error, and replaced before the
//! slot's next command, after a back-off that doubles per consecutive death
//! (100 ms up to 30 s, reset after a minute of health). The new process loads
//! the slot's checks again before it runs them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command as Process, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::wire::{Reply, Request, WireConfig, WireLoadError};
use crate::aggregator::Submission;
use crate::check::LoadError;
use crate::host::AgentHost;
use crate::value::Value;

/// Lines of a worker's standard error kept for its death report.
const TAIL_LINES: usize = 20;
/// How long a new worker may take to start its interpreter.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A worker that lived this long resets the back-off.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// How to start worker processes.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Worker processes.
    pub workers: usize,
    /// The program (the agent's own executable) and its arguments for the
    /// worker role.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The host configuration the workers serve to `datadog_agent.get_config`.
    pub host_config: Value,
    /// After a timed-out run is cancelled, how long it may take to stop
    /// before its worker is killed.
    pub cancel_grace: Duration,
}

/// How a run ended in a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteOutcome {
    /// `run()`'s text (`""` for success).
    pub result: String,
    /// `result` as a list of errors.
    pub errors: Value,
    pub warnings: Vec<String>,
    /// Measured around `run()` in the worker.
    pub duration: Duration,
}

/// Why a run has no outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteError {
    /// Past the check timeout (cancelled, and its worker killed if it did
    /// not stop); the message says which.
    TimedOut(String),
    /// The worker died during the run: the message names the check and
    /// instance, the exit status and the last lines of standard error.
    Died(String),
    /// The run could not start (no worker, or the check did not load there).
    NotRun(String),
}

/// What a run produces.
pub type RemoteResult = Result<RemoteOutcome, RemoteError>;

struct RunState {
    result: Option<RemoteResult>,
    notify: Option<Box<dyn Fn() + Send + Sync>>,
}

/// A run in a worker process, like a [`JobHandle`](pyhost::JobHandle): ask
/// whether it finished, or wait for it.
#[derive(Clone)]
pub struct RemoteRun {
    state: Arc<(Mutex<RunState>, Condvar)>,
}

impl std::fmt::Debug for RemoteRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteRun")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl RemoteRun {
    fn new(notify: Option<Box<dyn Fn() + Send + Sync>>) -> RemoteRun {
        RemoteRun {
            state: Arc::new((Mutex::new(RunState { result: None, notify }), Condvar::new())),
        }
    }

    fn finish(&self, r: RemoteResult) {
        let notify = {
            let mut st = self.state.0.lock();
            st.result = Some(r);
            st.notify.take()
        };
        self.state.1.notify_all();
        if let Some(n) = notify {
            n();
        }
    }

    /// True once the result is in.
    pub fn is_finished(&self) -> bool {
        self.state.0.lock().result.is_some()
    }

    /// Wait for the result.
    pub fn wait(self) -> RemoteResult {
        let mut st = self.state.0.lock();
        while st.result.is_none() {
            self.state.1.wait(&mut st);
        }
        st.result.take().expect("checked above")
    }
}

/// A check loaded in a worker.
#[derive(Debug)]
pub struct RemoteLoaded {
    /// The module its class came from.
    pub module: String,
    /// The module's `__version__`.
    pub version: Option<String>,
    /// Per instance, its check id or why it could not be created.
    pub instances: Vec<Result<String, LoadError>>,
}

enum Command {
    Load {
        check: String,
        module: Option<String>,
        configs: Vec<WireConfig>,
        reload: bool,
        timeout: Duration,
        reply: Sender<Result<RemoteLoaded, LoadError>>,
    },
    Run {
        check: String,
        index: usize,
        timeout: Duration,
        run: RemoteRun,
    },
    Unload {
        check: String,
    },
}

/// N worker processes running checks; see the module docs. Dropping it
/// closes the workers' input and waits (briefly) for them to exit.
pub struct ProcessPool {
    slots: Vec<(Sender<Command>, thread::JoinHandle<()>)>,
    /// Which slot each check lives in.
    homes: Mutex<BTreeMap<String, usize>>,
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessPool")
            .field("workers", &self.slots.len())
            .finish()
    }
}

impl ProcessPool {
    /// Start the slot threads (each starts its worker process with its
    /// first command). Submissions of every run are replayed into `host`'s
    /// aggregator as they arrive, before the run is reported finished.
    pub fn new(opts: ProcessOptions, host: Arc<AgentHost>) -> io::Result<ProcessPool> {
        let opts = Arc::new(opts);
        let mut slots = Vec::new();
        for slot in 0..opts.workers.max(1) {
            let (tx, rx) = mpsc::channel();
            let (opts, host) = (Arc::clone(&opts), Arc::clone(&host));
            let t = thread::Builder::new()
                .name(format!("pyhost-proc-{slot}"))
                .spawn(move || Slot::new(slot, opts, host).serve(rx))?;
            slots.push((tx, t));
        }
        Ok(ProcessPool {
            slots,
            homes: Mutex::new(BTreeMap::new()),
        })
    }

    /// The slot of `check`, assigning the least loaded one the first time.
    fn home(&self, check: &str) -> usize {
        let mut homes = self.homes.lock();
        if let Some(&s) = homes.get(check) {
            return s;
        }
        let mut load = vec![0usize; self.slots.len()];
        for &s in homes.values() {
            load[s] += 1;
        }
        let s = (0..load.len()).min_by_key(|&i| load[i]).unwrap_or(0);
        homes.insert(check.to_string(), s);
        s
    }

    fn send(&self, slot: usize, cmd: Command) -> bool {
        self.slots[slot].0.send(cmd).is_ok()
    }

    /// Load (or reload) `check` in its worker and wait for the answer.
    /// `module`: where its class is (a system check's), else rtloader's lookup.
    pub fn load(
        &self,
        check: &str,
        module: Option<&str>,
        configs: Vec<WireConfig>,
        reload: bool,
        timeout: Duration,
    ) -> Result<RemoteLoaded, LoadError> {
        let (reply, rx) = mpsc::channel();
        let cmd = Command::Load {
            check: check.to_string(),
            module: module.map(str::to_owned),
            configs,
            reload,
            timeout,
            reply,
        };
        let gone = || LoadError {
            message: "the worker process slot has shut down".into(),
            traceback: None,
        };
        if !self.send(self.home(check), cmd) {
            return Err(gone());
        }
        rx.recv().unwrap_or_else(|_| Err(gone()))
    }

    /// Queue a run of `check`'s instance `index`. `notify` is called (from
    /// the slot's thread) once it has finished.
    pub fn run(
        &self,
        check: &str,
        index: usize,
        timeout: Duration,
        notify: Option<Box<dyn Fn() + Send + Sync>>,
    ) -> RemoteRun {
        let run = RemoteRun::new(notify);
        let cmd = Command::Run {
            check: check.to_string(),
            index,
            timeout,
            run: run.clone(),
        };
        if !self.send(self.home(check), cmd) {
            run.finish(Err(RemoteError::NotRun("the worker process slot has shut down".into())));
        }
        run
    }

    /// Forget `check` (its instances get `cancel()` in the worker).
    pub fn unload(&self, check: &str) {
        let slot = self.homes.lock().remove(check);
        if let Some(s) = slot {
            self.send(
                s,
                Command::Unload {
                    check: check.to_string(),
                },
            );
        }
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        for (tx, t) in std::mem::take(&mut self.slots) {
            drop(tx);
            let _ = t.join();
        }
    }
}

/// What the protocol reader thread passes to the slot thread.
enum Event {
    Reply(Reply),
    /// The worker closed its channel: it exited (or is exiting).
    Closed,
}

/// A live worker process.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    events: Receiver<Event>,
    tail: Arc<Mutex<VecDeque<String>>>,
    started: Instant,
    /// Checks loaded in this process.
    loaded: BTreeSet<String>,
}

/// How a request to a worker ended, when it did not get its reply.
enum Lost {
    /// No reply in time.
    Timeout,
    /// The process died (or closed its channel).
    Died,
}

struct Slot {
    slot: usize,
    opts: Arc<ProcessOptions>,
    host: Arc<AgentHost>,
    worker: Option<Worker>,
    /// The module and configuration of every check living here, to load it
    /// again in a replacement process.
    checks: BTreeMap<String, (Option<String>, Vec<WireConfig>)>,
    deaths: u32,
    next_start: Instant,
}

impl Slot {
    fn new(slot: usize, opts: Arc<ProcessOptions>, host: Arc<AgentHost>) -> Slot {
        Slot {
            slot,
            opts,
            host,
            worker: None,
            checks: BTreeMap::new(),
            deaths: 0,
            next_start: Instant::now(),
        }
    }

    fn serve(mut self, rx: Receiver<Command>) {
        for cmd in rx {
            match cmd {
                Command::Load {
                    check,
                    module,
                    configs,
                    reload,
                    timeout,
                    reply,
                } => {
                    self.checks.insert(check.clone(), (module, configs));
                    let r = self.load(&check, reload, timeout);
                    let _ = reply.send(r);
                }
                Command::Run {
                    check,
                    index,
                    timeout,
                    run,
                } => {
                    let r = self.run(&check, index, timeout);
                    run.finish(r);
                }
                Command::Unload { check } => {
                    self.checks.remove(&check);
                    if let Some(w) = &mut self.worker {
                        if w.loaded.remove(&check) {
                            let _ = write_request(&mut w.stdin, &Request::Unload { check });
                        }
                    }
                }
            }
        }
        if let Some(w) = self.worker.take() {
            stop(w);
        }
    }

    /// The live worker, starting one (after the back-off) if needed.
    fn worker(&mut self) -> Result<&mut Worker, String> {
        if self.worker.is_none() {
            let wait = self.next_start.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                thread::sleep(wait);
            }
            match spawn(self.slot, &self.opts, &self.host) {
                Ok(w) => self.worker = Some(w),
                Err(e) => {
                    self.died_now();
                    return Err(format!("could not start a worker process: {e}"));
                }
            }
        }
        Ok(self.worker.as_mut().expect("set above"))
    }

    /// Count a death for the back-off.
    fn died_now(&mut self) {
        self.deaths += 1;
        let exp = self.deaths.saturating_sub(1).min(16);
        let backoff = BACKOFF_FIRST.saturating_mul(1 << exp).min(BACKOFF_MAX);
        self.next_start = Instant::now() + backoff;
    }

    /// The worker is gone (or must go): reap it and build its report.
    fn lose_worker(&mut self, doing: &str) -> String {
        let Some(w) = self.worker.take() else {
            return format!("no worker process while {doing}");
        };
        if w.started.elapsed() >= HEALTHY_AFTER {
            self.deaths = 0;
        }
        self.died_now();
        let pid = w.child.id();
        let status = reap(w.child);
        let tail: Vec<String> = w.tail.lock().iter().cloned().collect();
        let mut msg = format!("the worker process (pid {pid}) {} while {doing}", describe(status));
        if !tail.is_empty() {
            msg.push_str("; the last lines of its stderr:\n");
            msg.push_str(&tail.join("\n"));
        }
        eprintln!("ERROR    pyhost: {}", msg.lines().next().unwrap_or(""));
        msg
    }

    /// Send `request` and wait for the reply `want` accepts, until `deadline`.
    fn ask(&mut self, request: &Request, deadline: Instant, want: impl Fn(&Reply) -> bool) -> Result<Reply, Lost> {
        let w = self.worker.as_mut().expect("a worker");
        if write_request(&mut w.stdin, request).is_err() {
            return Err(Lost::Died);
        }
        wait_for(w, deadline, want)
    }

    fn load(&mut self, check: &str, reload: bool, timeout: Duration) -> Result<RemoteLoaded, LoadError> {
        let err = |message: String| LoadError {
            message,
            traceback: None,
        };
        self.worker().map_err(err)?;
        let (module, configs) = self.checks.get(check).cloned().unwrap_or_default();
        let request = Request::Load {
            check: check.to_string(),
            module,
            configs,
            reload,
        };
        let doing = format!("loading check '{check}'");
        match self.ask(&request, Instant::now() + timeout, |r| {
            matches!(r, Reply::Loaded { .. })
        }) {
            Ok(Reply::Loaded {
                module,
                version,
                instances,
                ..
            }) => {
                let module = module.map_err(LoadError::from)?;
                if let Some(w) = &mut self.worker {
                    w.loaded.insert(check.to_string());
                }
                Ok(RemoteLoaded {
                    module,
                    version,
                    instances: instances.into_iter().map(|i| i.map_err(WireLoadError::into)).collect(),
                })
            }
            Ok(_) => unreachable!("wait_for returns what `want` accepts"),
            Err(Lost::Timeout) => {
                kill(self.worker.as_mut());
                let report = self.lose_worker(&doing);
                Err(err(format!("loading timed out after {timeout:?}; {report}")))
            }
            Err(Lost::Died) => Err(err(self.lose_worker(&doing))),
        }
    }

    fn run(&mut self, check: &str, index: usize, timeout: Duration) -> RemoteResult {
        self.worker().map_err(RemoteError::NotRun)?;
        let loaded = self.worker.as_ref().is_some_and(|w| w.loaded.contains(check));
        if !loaded {
            // A replacement process: load the check again first.
            if let Err(e) = self.load(check, false, timeout) {
                return Err(RemoteError::NotRun(format!(
                    "check '{check}' could not be loaded again in a new worker process: {}",
                    e.message
                )));
            }
        }
        let doing = format!("running check '{check}' instance {index}");
        let request = Request::Run {
            check: check.to_string(),
            index,
        };
        let is_ran = |r: &Reply| matches!(r, Reply::Ran { .. });
        let outcome = match self.ask(&request, Instant::now() + timeout, is_ran) {
            Ok(reply) => return Ok(outcome(reply)),
            Err(Lost::Died) => return Err(RemoteError::Died(self.lose_worker(&doing))),
            Err(Lost::Timeout) => {
                let cancel = Request::Cancel {
                    check: check.to_string(),
                    index,
                };
                self.ask(&cancel, Instant::now() + self.opts.cancel_grace, is_ran)
            }
        };
        let limit = format!(
            "the run passed the check timeout ({timeout:?}); pyhost.JobCancelled was raised in it and cancel() called"
        );
        match outcome {
            Ok(_) => Err(RemoteError::TimedOut(limit)),
            Err(Lost::Died) => Err(RemoteError::TimedOut(format!("{limit}; {}", self.lose_worker(&doing)))),
            Err(Lost::Timeout) => {
                kill(self.worker.as_mut());
                let report = self.lose_worker(&doing);
                Err(RemoteError::TimedOut(format!(
                    "{limit}, and it did not stop within {:?}: its worker process was ended ({report})",
                    self.opts.cancel_grace
                )))
            }
        }
    }
}

fn outcome(reply: Reply) -> RemoteOutcome {
    match reply {
        Reply::Ran {
            result,
            errors,
            warnings,
            duration_us,
            ..
        } => RemoteOutcome {
            result,
            errors,
            warnings,
            duration: Duration::from_micros(duration_us),
        },
        _ => unreachable!("only Ran is accepted"),
    }
}

fn write_request(stdin: &mut BufWriter<ChildStdin>, r: &Request) -> io::Result<()> {
    serde_json::to_writer(&mut *stdin, r)?;
    stdin.write_all(b"\n")?;
    stdin.flush()
}

/// Wait for the reply `want` accepts (others, from an abandoned request,
/// are dropped), the process's death, or `deadline`.
fn wait_for(w: &mut Worker, deadline: Instant, want: impl Fn(&Reply) -> bool) -> Result<Reply, Lost> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match w.events.recv_timeout(left) {
            Ok(Event::Reply(r)) if want(&r) => return Ok(r),
            Ok(Event::Reply(_)) => continue,
            Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => return Err(Lost::Died),
            Err(RecvTimeoutError::Timeout) => return Err(Lost::Timeout),
        }
    }
}

fn kill(w: Option<&mut Worker>) {
    if let Some(w) = w {
        let _ = w.child.kill();
    }
}

/// Wait for the process (it has exited or been killed; a worker that closed
/// its channel and lingers gets killed after 5 s).
fn reap(mut child: Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                return child.wait().ok();
            }
            Err(_) => return None,
        }
    }
}

/// Close the worker's input (it finishes and exits) and reap it.
fn stop(w: Worker) {
    let Worker { child, stdin, .. } = w;
    drop(stdin);
    reap(child);
}

/// "exited with status 3", "was killed by signal 9 (SIGKILL)".
fn describe(status: Option<ExitStatus>) -> String {
    match status {
        None => "ended (its status could not be read)".into(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(sig)) => format!("was killed by signal {sig} ({})", signal_name(sig)),
            _ => format!("ended ({s})"),
        },
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// Start a worker process and wait for it to be ready.
fn spawn(slot: usize, opts: &ProcessOptions, host: &Arc<AgentHost>) -> io::Result<Worker> {
    let mut child = Process::new(&opts.program)
        .args(&opts.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let stdin = BufWriter::new(child.stdin.take().expect("piped"));
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let t = Arc::clone(&tail);
    thread::Builder::new()
        .name(format!("pyhost-proc-{slot}-err"))
        .spawn(move || forward_stderr(stderr, &t))?;
    let (tx, events) = mpsc::channel();
    let host = Arc::clone(host);
    thread::Builder::new()
        .name(format!("pyhost-proc-{slot}-out"))
        .spawn(move || read_replies(stdout, &host, &tx))?;
    let mut w = Worker {
        child,
        stdin,
        events,
        tail,
        started: Instant::now(),
        loaded: BTreeSet::new(),
    };
    let init = Request::Init {
        host_config: opts.host_config.clone(),
    };
    let fail = |w: Worker, what: &str| {
        let tail: Vec<String> = w.tail.lock().iter().cloned().collect();
        let mut child = w.child;
        let _ = child.kill();
        let status = reap(child);
        io::Error::other(format!(
            "worker process (pid {pid}) {what}: {}; {}",
            describe(status),
            tail.join(" | ")
        ))
    };
    if write_request(&mut w.stdin, &init).is_err() {
        return Err(fail(w, "could not be given its configuration"));
    }
    match wait_for(&mut w, Instant::now() + START_TIMEOUT, |r| {
        matches!(r, Reply::Ready { .. })
    }) {
        Ok(_) => Ok(w),
        Err(Lost::Timeout) => Err(fail(w, "did not start in time")),
        Err(Lost::Died) => Err(fail(w, "exited at start-up")),
    }
}

/// The worker's stderr: its log. Forwarded line by line to ours; the last
/// lines kept for a death report.
fn forward_stderr(stderr: impl io::Read, tail: &Mutex<VecDeque<String>>) {
    let mut out = io::stderr();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(out, "{line}");
        let mut t = tail.lock();
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(line);
    }
}

/// The protocol channel: submissions replayed into the agent's aggregator
/// at once (before the run's end is passed on), the rest passed on.
fn read_replies(stdout: impl io::Read, host: &AgentHost, tx: &Sender<Event>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let reply: Reply = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("ERROR    pyhost: unreadable reply from a worker process ({e}): {line:.200}");
                continue;
            }
        };
        if let Reply::Submissions { check_id, items } = reply {
            for item in items {
                match Submission::try_from(item) {
                    Ok(s) => host.aggregator.replay(&check_id, s),
                    Err(e) => eprintln!("ERROR    pyhost: a worker process sent a bad submission: {e}"),
                }
            }
            continue;
        }
        if tx.send(Event::Reply(reply)).is_err() {
            return;
        }
    }
    let _ = tx.send(Event::Closed);
}
