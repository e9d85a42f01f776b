//! Reaping the children that checks start and abandon.
//!
//! A check that forks (or `os.posix_spawn`s) and never waits leaves a
//! zombie per run. Reaping with `waitpid(-1)` would steal the exit status
//! of children that other code is about to wait for (`subprocess.Popen`
//! then sees `ECHILD` and reports exit code 0). So the reaper only takes a
//! child that is:
//!
//! 1. **ours and a zombie**: listed in `/proc/self/task/*/children` (or, on
//!    kernels without that file, by a scan of `/proc/*/stat` for our pid as
//!    parent) with state `Z`. Nothing is read unless
//!    `waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)` says at least one child
//!    has exited: an idle sweep is one system call, and peeking with
//!    `WNOWAIT` takes nobody's status;
//! 2. **not owned**: no live `subprocess.Popen` holds it (the base package
//!    wraps `Popen._execute_child` to register each child, and a
//!    `weakref.finalize` unregisters it when the `Popen` goes), and the
//!    host's own `get_subprocess_output` is not waiting for it;
//! 3. **old**: it has been a zombie for [`GRACE`] already, so code that
//!    waits for its own children (`os.waitpid` after `os.fork`, a
//!    `multiprocessing` join) has had the time to: a parent that waits in a
//!    loop, or blocks in `waitpid`, reaps its child the moment it exits.
//!
//! Then `waitid(P_PID, pid, WEXITED | WNOHANG)` reaps exactly that child,
//! and a `WARN` log record names it, its exit status and the thread that
//! started it. The one thing this gives up: code that forks a raw child
//! and waits for it more than [`GRACE`] after its exit finds it gone
//! (`ChildProcessError`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::host::{host, LogRecord};

/// How long a child stays a zombie before it counts as abandoned.
pub const GRACE: Duration = Duration::from_secs(3);
/// How often the reaper looks.
pub const SWEEP: Duration = Duration::from_secs(1);

/// Children some code will wait for: pid -> how many owners.
static OWNED: Mutex<Option<HashMap<i32, u32>>> = Mutex::new(None);

/// Register `pid` as a child some code will wait for (a `Popen`, the
/// host's own subprocess runner): the reaper leaves it alone.
pub fn own(pid: i32) {
    *OWNED.lock().get_or_insert_with(HashMap::new).entry(pid).or_insert(0) += 1;
}

/// Undo one [`own`].
pub fn disown(pid: i32) {
    let mut owned = OWNED.lock();
    if let Some(map) = owned.as_mut() {
        if let Some(n) = map.get_mut(&pid) {
            *n -= 1;
            if *n == 0 {
                map.remove(&pid);
            }
        }
    }
}

fn is_owned(pid: i32) -> bool {
    OWNED.lock().as_ref().is_some_and(|m| m.contains_key(&pid))
}

/// A child reaped as abandoned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaped {
    /// Its pid.
    pub pid: i32,
    /// `exit status N` or `killed by signal N`.
    pub status: String,
    /// The thread that started it (its name), if known.
    pub thread: Option<String>,
}

/// The reaper's memory between sweeps: when each zombie was first seen.
#[derive(Debug, Default)]
pub struct Reaper {
    first_seen: HashMap<i32, Instant>,
}

/// Start the reaper thread (once per process; later calls do nothing).
pub fn start() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new().name("pyhost-reaper".into()).spawn(|| {
            let mut reaper = Reaper::default();
            loop {
                std::thread::sleep(SWEEP);
                for r in reaper.sweep(Instant::now(), GRACE) {
                    log_reaped(&r);
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("WARN     pyhost: cannot start the child reaper: {e}");
        }
    });
}

fn log_reaped(r: &Reaped) {
    let by = r
        .thread
        .as_deref()
        .map_or(String::new(), |t| format!(", started by thread {t}"));
    let record = LogRecord {
        level: 30,
        message: format!(
            "pyhost | (reaper) | reaped abandoned child process {} ({}{by}): nobody waited for it {} s after it exited",
            r.pid,
            r.status,
            GRACE.as_secs()
        ),
    };
    match host() {
        Some(h) => (h.log)(&record),
        None => crate::host::stderr_log(&record),
    }
}

impl Reaper {
    /// One sweep at `now`: reap the children that have been unowned
    /// zombies for `grace`.
    pub fn sweep(&mut self, now: Instant, grace: Duration) -> Vec<Reaped> {
        self.sweep_among(now, grace, |_| true)
    }

    /// [`sweep`](Self::sweep) limited to the children `pick` accepts.
    fn sweep_among(&mut self, now: Instant, grace: Duration, pick: impl Fn(i32) -> bool) -> Vec<Reaped> {
        if !any_exited_child() {
            self.first_seen.clear();
            return Vec::new();
        }
        let mut zombies = zombie_children();
        zombies.retain(|(pid, _)| pick(*pid));
        self.first_seen.retain(|pid, _| zombies.iter().any(|(z, _)| z == pid));
        let mut reaped = Vec::new();
        for (pid, thread) in zombies {
            let since = *self.first_seen.entry(pid).or_insert(now);
            if now.duration_since(since) < grace || is_owned(pid) {
                continue;
            }
            if let Some(status) = reap(pid) {
                self.first_seen.remove(&pid);
                reaped.push(Reaped { pid, status, thread });
            }
        }
        reaped
    }
}

/// Whether some child has exited and waits to be reaped (takes nobody's status).
fn any_exited_child() -> bool {
    // SAFETY: a zeroed siginfo_t is valid; waitid writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: P_ALL with id 0 and a valid siginfo pointer; WNOWAIT leaves
    // the child waitable, WNOHANG returns at once.
    let rc = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
    // SAFETY: waitid filled the child fields (si_pid is 0 when none exited).
    rc == 0 && unsafe { info.si_pid() } != 0
}

/// Reap `pid` if it has exited; its status in words.
fn reap(pid: i32) -> Option<String> {
    // SAFETY: as in any_exited_child.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: P_PID selects exactly this child; valid siginfo pointer.
    let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG) };
    // SAFETY: waitid filled the child fields.
    let (got, status) = unsafe { (info.si_pid(), info.si_status()) };
    if rc != 0 || got != pid {
        return None;
    }
    Some(if info.si_code == libc::CLD_EXITED {
        format!("exit status {status}")
    } else {
        format!("killed by signal {status}")
    })
}

/// Our zombie children, with the name of the thread that started each
/// (when `/proc/self/task/*/children` tells).
fn zombie_children() -> Vec<(i32, Option<String>)> {
    let mut children: Vec<(i32, Option<String>)> = Vec::new();
    let mut have_children_files = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
                continue;
            };
            have_children_files = true;
            let name = std::fs::read_to_string(task.path().join("comm"))
                .ok()
                .map(|s| s.trim_end().to_string());
            children.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .map(|p| (p, name.clone())),
            );
        }
    }
    if !have_children_files {
        children = children_by_scan();
    }
    children.retain(|(pid, _)| proc_state(&Path::new("/proc").join(pid.to_string())).is_some_and(|(s, _)| s == 'Z'));
    children
}

/// `(state, ppid)` from `/proc/<pid>/stat` (the fields after the command,
/// which may itself contain spaces and parentheses).
fn proc_state(dir: &Path) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn children_by_scan() -> Vec<(i32, Option<String>)> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok().map(|pid| (pid, e.path())))
        .filter(|(_, dir)| proc_state(dir).is_some_and(|(_, ppid)| ppid == me))
        .map(|(pid, _)| (pid, None))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child that exits at once, not waited for.
    fn exited_child(code: i32) -> i32 {
        let child = std::process::Command::new("sh")
            .args(["-c", &format!("exit {code}")])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        std::mem::forget(child);
        // Until it is a zombie.
        let deadline = Instant::now() + Duration::from_secs(10);
        while proc_state(&Path::new("/proc").join(pid.to_string())).map(|s| s.0) != Some('Z') {
            assert!(Instant::now() < deadline, "child {pid} did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
        pid
    }

    #[test]
    fn reaps_old_unowned_zombies_only() {
        let abandoned = exited_child(7);
        let owned = exited_child(3);
        own(owned);
        // Other tests of this binary have children too: leave them alone.
        let ours = |pid| pid == abandoned || pid == owned;
        let mut r = Reaper::default();
        let t0 = Instant::now();
        let first = r.sweep_among(t0, Duration::from_secs(5), ours);
        assert!(first.is_empty(), "too young: {first:?}");
        let later = r.sweep_among(t0 + Duration::from_secs(6), Duration::from_secs(5), ours);
        let got = later.iter().find(|x| x.pid == abandoned).expect("reaped when old");
        assert_eq!(got.status, "exit status 7");
        assert!(
            later.iter().all(|x| x.pid != owned),
            "an owned child is left to its owner"
        );
        // The owner still gets its status.
        disown(owned);
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let rc = unsafe { libc::waitpid(owned, &mut status, 0) };
        assert_eq!(rc, owned);
        assert_eq!(libc::WEXITSTATUS(status), 3);
    }
}
