//! Faults of one check, each run in the `pyhost` program (a subprocess):
//! what is reported, and that the other checks' runs go on (issue 14).
//! A fatal signal in a check, an alias bomb, unreadable paths, `print()`,
//! patched built-in modules, forks and abandoned children, too many contexts.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::program::{json_lines, of_kind, pyhost_in, s, wait_bounded, write};
use pyhost_agent::value::Value;

fn pyhost(dir: &Path) -> Command {
    let mut cmd = pyhost_in(&dir.join("conf.d"), &dir.join("checks.d"), &dir.join("data"));
    cmd.args(["--output", "json"])
        // About the checks each test writes; a series per check every 0.2 s,
        // so series can be counted per run.
        .args(["--no-system-checks", "--flush-interval", "0.2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn ok_runs(lines: &[Value], check: &str) -> usize {
    of_kind(lines, "run_result")
        .filter(|v| s(v, "check") == check && s(v, "status") == "ok")
        .count()
}

/// The values of series `name`, in order.
fn series(lines: &[Value], name: &str) -> Vec<f64> {
    of_kind(lines, "series")
        .filter(|v| s(v, "name") == name)
        .filter_map(|v| v.get("value").and_then(Value::as_f64))
        .collect()
}

/// A check named `name` whose `check()` body is `body` (indented 8).
fn check(dir: &Path, name: &str, interval: f64, body: &str) {
    write(
        &dir.join("conf.d").join(format!("{name}.d/conf.yaml")),
        &format!("init_config:\ninstances:\n  - min_collection_interval: {interval}\n"),
    );
    let body: String = body.lines().map(|l| format!("        {l}\n")).collect();
    write(
        &dir.join("checks.d").join(format!("{name}.py")),
        &format!(
            "import os, sys, time\nfrom checks import AgentCheck\n\n\nclass C(AgentCheck):\n    \
             def check(self, instance):\n{body}"
        ),
    );
}

/// The check every fault test runs beside the faulty one.
fn survivor(dir: &Path) {
    check(
        dir,
        "survivor",
        0.2,
        "self.gauge('survivor.alive', 1)\nself.count('survivor.runs', 1)",
    );
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The isolation modes this build has.
fn isolations() -> Vec<&'static str> {
    if pyhost::subinterpreter::supported() {
        vec!["shared", "subinterpreter"]
    } else {
        vec!["shared"]
    }
}

// ---- a fatal signal ---------------------------------------------------------

#[test]
fn a_segfault_names_the_check_and_instance_and_shows_the_traceback() {
    for isolation in isolations() {
        let dir = tempfile::tempdir().unwrap();
        survivor(dir.path());
        check(
            dir.path(),
            "crashy",
            0.2,
            "import ctypes\nself.n_runs = getattr(self, 'n_runs', 0) + 1\nif self.n_runs > 3:\n    ctypes.string_at(0)",
        );
        let child = pyhost(dir.path())
            .args(["--duration", "20", "--isolation", isolation])
            .spawn()
            .unwrap();
        let out = wait_bounded(child, Duration::from_secs(40));
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGSEGV),
            "{isolation}: dies by SIGSEGV\n{stderr}"
        );
        assert!(
            stderr.contains("pyhost: fatal signal 11 (SIGSEGV)")
                && stderr.contains("running: check crashy instance #0 (crashy:"),
            "{isolation}: names the check and instance\n{stderr}"
        );
        assert!(stderr.contains("Fatal Python error: Segmentation fault"), "{stderr}");
        assert!(
            stderr.contains("string_at") && stderr.contains("crashy.py\", line") && stderr.contains(" in check"),
            "{isolation}: the crashing thread's Python traceback\n{stderr}"
        );
        // Up to the crash, everything was reported, the survivor included.
        let lines = json_lines(&out.stdout);
        assert!(ok_runs(&lines, "crashy") >= 3, "{isolation}: {lines:?}");
        assert!(ok_runs(&lines, "survivor") >= 3, "{isolation}: {lines:?}");
    }
}

#[test]
fn under_process_isolation_a_crash_ends_only_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    survivor(dir.path());
    // Run 2 of each crashes its worker; runs 1 and 3+ are fine (run 3 in a
    // replacement worker, which loads the check again).
    let crash_on_second = |how: &str| {
        format!("self.n_runs = getattr(self, 'n_runs', 0) + 1\nself.gauge('runs', self.n_runs)\nif self.n_runs == 2:\n    {how}")
    };
    check(
        dir.path(),
        "segv",
        0.3,
        &crash_on_second("import ctypes; ctypes.string_at(0)"),
    );
    check(dir.path(), "quits", 0.3, &crash_on_second("os._exit(3)"));
    let child = pyhost(dir.path())
        .args(["--duration", "4", "--isolation", "process", "--workers", "3"])
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "the agent survives\n{stderr}");
    let lines = json_lines(&out.stdout);
    let runs = |check: &str| -> Vec<(u64, String, String)> {
        of_kind(&lines, "run_result")
            .filter(|v| s(v, "check") == check)
            .map(|v| {
                let run = v.get("run").and_then(Value::as_i64).unwrap_or(0) as u64;
                (
                    run,
                    s(v, "status").to_string(),
                    v.get("errors").map(|e| e.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    };
    for (check, cause) in [
        ("segv", "was killed by signal 11 (SIGSEGV)"),
        ("quits", "exited with status 3"),
    ] {
        let r = runs(check);
        let second = r
            .iter()
            .find(|(n, ..)| *n == 2)
            .unwrap_or_else(|| panic!("{check}: {r:?}"));
        assert_eq!(second.1, "error", "{check}: {r:?}");
        assert!(second.2.contains(cause), "{check}: {}", second.2);
        assert!(
            second.2.contains(&format!("running check '{check}' instance 0")),
            "{}",
            second.2
        );
        // Reported, replaced, and running again.
        assert!(
            r.iter().any(|(n, st, _)| *n >= 3 && st == "ok"),
            "{check} runs again: {r:?}"
        );
    }
    // The segfault's worker printed the label and the traceback, which the
    // agent forwarded from the worker's stderr.
    assert!(stderr.contains("running: check segv instance #0"), "{stderr}");
    assert!(stderr.contains("segv.py\", line"), "{stderr}");
    // The survivor's runs all succeeded, none missing.
    let r = runs("survivor");
    assert!(r.len() >= 8 && r.iter().all(|(_, st, _)| st == "ok"), "{r:?}");
    let numbers: Vec<u64> = r.iter().map(|(n, ..)| *n).collect();
    assert_eq!(numbers, (1..=r.len() as u64).collect::<Vec<_>>());
}

// ---- a YAML alias bomb ------------------------------------------------------

/// The issue's bomb: 9 levels of aliases, 10^9 nodes once expanded.
fn bomb() -> String {
    let mut s = String::from(
        "init_config:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..=9 {
        let items = vec![format!("*a{}", i - 1); 10].join(",");
        s.push_str(&format!("  a{i}: &a{i} [{items}]\n"));
    }
    s.push_str("instances: [{}]\n");
    s
}

/// Peak resident memory of a running process (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_yaml_alias_bomb_is_a_load_error_and_the_others_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    survivor(dir.path());
    write(
        &dir.path().join("checks.d/bomb.py"),
        "from checks import AgentCheck\n\nclass B(AgentCheck):\n    def check(self, i):\n        pass\n",
    );
    // Dropped into the running agent's conf dir, as in the issue: loaded
    // by the scheduler while the survivor runs.
    let mut child = pyhost(dir.path()).args(["--duration", "5"]).spawn().unwrap();
    let pid = child.id();
    let bomb_path = dir.path().join("conf.d/bomb.d/conf.yaml");
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1500));
        write(&bomb_path, &bomb());
    });
    // Sample the peak while it runs (the process is gone after).
    let sampler = thread::spawn(move || {
        let mut peak = 0;
        while let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
            thread::sleep(Duration::from_millis(100));
        }
        peak
    });
    let stdout = child.stdout.take().unwrap();
    child.stdout = None;
    let out_reader = thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map(|l| (Instant::now(), l.unwrap()))
            .collect::<Vec<_>>()
    });
    let out = wait_bounded_no_stdout(child, Duration::from_secs(30));
    let timed = out_reader.join().unwrap();
    let peak_mib = sampler.join().unwrap() / 1024;
    dropper.join().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<Value> = timed.iter().map(|(_, l)| serde_json::from_str(l).unwrap()).collect();
    let err = of_kind(&lines, "load_error")
        .find(|v| s(v, "check") == "bomb")
        .unwrap_or_else(|| panic!("no load_error for the bomb: {lines:?}"));
    let msg = err.to_string();
    assert!(
        msg.contains("bomb.d/conf.yaml")
            && msg.contains("over the YAML loading budget")
            && msg.contains("--yaml-max-nodes"),
        "{msg}"
    );
    // Memory stays bounded (the bomb itself took > 4 GB); generous, as a
    // debug build's interpreter alone is some 40 MiB.
    assert!(peak_mib < 400, "peak RSS {peak_mib} MiB");
    // The survivor ran all along, before and after the bomb was loaded,
    // with no gap longer than a second between two of its results.
    let at = |pred: &dyn Fn(&Value) -> bool| -> Vec<Instant> {
        timed
            .iter()
            .zip(&lines)
            .filter(|(_, v)| pred(v))
            .map(|((t, _), _)| *t)
            .collect()
    };
    let times = at(&|v| s(v, "kind") == "run_result" && s(v, "check") == "survivor");
    let loaded = at(&|v| s(v, "kind") == "load_error" && s(v, "check") == "bomb")[0];
    let (before, after) = (
        times.iter().filter(|&&t| t < loaded).count(),
        times.iter().filter(|&&t| t > loaded).count(),
    );
    assert!(
        before >= 3 && after >= 5,
        "survivor runs before/after the bomb: {before}/{after}"
    );
    let gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(gap < Duration::from_secs(1), "the survivor paused for {gap:?}");
}

/// [`wait_bounded`] for a child whose stdout is read elsewhere.
fn wait_bounded_no_stdout(mut child: Child, limit: Duration) -> Output {
    let stderr = child.stderr.take().unwrap();
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut BufReader::new(stderr), &mut buf).unwrap();
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "pyhost did not exit within {limit:?}\n{}",
                text(&err_reader.join().unwrap())
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: Vec::new(),
        stderr: err_reader.join().unwrap(),
    }
}

// ---- unreadable paths -------------------------------------------------------

/// Tests run as root, which `chmod 000` does not stop: the failures are made
/// with a dangling symlink, a symlink loop, directories where files are
/// expected, and a FIFO (which must not block the loader).
#[test]
fn unreadable_paths_are_load_errors_of_their_check_only() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    survivor(dir.path());
    symlink(dir.path().join("nowhere"), conf.join("dangling.d")).unwrap();
    symlink(conf.join("loop.d"), conf.join("loop.d")).unwrap();
    std::fs::create_dir_all(conf.join("dirconf.d/conf.yaml")).unwrap();
    std::fs::create_dir_all(conf.join("dirtop.yaml")).unwrap();
    write(&conf.join("fifo.d/keep"), "");
    let fifo = std::ffi::CString::new(conf.join("fifo.d/conf.yaml").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    // Check files: a directory, a dangling symlink.
    write(
        &conf.join("pydir.d/conf.yaml"),
        "instances:\n  - min_collection_interval: 0.5\n",
    );
    std::fs::create_dir_all(checks.join("pydir.py")).unwrap();
    write(
        &conf.join("pygone.d/conf.yaml"),
        "instances:\n  - min_collection_interval: 0.5\n",
    );
    symlink(dir.path().join("gone.py"), checks.join("pygone.py")).unwrap();

    let child = pyhost(dir.path()).args(["--duration", "3"]).spawn().unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "start-up does not fail: {stderr}");
    let lines = json_lines(&out.stdout);
    for (check, path, os_error) in [
        ("dangling", "conf.d/dangling.d", "No such file or directory"),
        ("loop", "conf.d/loop.d", "Too many levels of symbolic links"),
        ("dirconf", "conf.d/dirconf.d/conf.yaml", "Is a directory"),
        ("dirtop", "conf.d/dirtop.yaml", "Is a directory"),
        ("fifo", "conf.d/fifo.d/conf.yaml", "not a regular file (a FIFO)"),
        ("pydir", "checks.d/pydir.py", "Is a directory"),
        ("pygone", "checks.d/pygone.py", "No such file or directory"),
    ] {
        let errors: Vec<String> = of_kind(&lines, "load_error")
            .filter(|v| s(v, "check") == check)
            .map(Value::to_string)
            .collect();
        let full = dir.path().join(path).display().to_string();
        assert!(
            errors.iter().any(|e| e.contains(&full) && e.contains(os_error)),
            "{check}: {errors:?}\n{stderr}"
        );
        assert!(stderr.contains(&full), "{check}: the log names {full}\n{stderr}");
    }
    // Reported every interval (the instance's 0.5 s for a check file).
    let repeats = of_kind(&lines, "load_error")
        .filter(|v| s(v, "check") == "pydir")
        .count();
    assert!(repeats >= 3, "pydir reported {repeats} times");
    assert!(ok_runs(&lines, "survivor") >= 8, "the survivor ran: {lines:?}");
}

#[test]
fn start_up_fails_only_when_the_conf_dir_cannot_be_read_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.d");
    std::os::unix::fs::symlink(dir.path().join("missing"), &conf).unwrap();
    let child = pyhost(dir.path()).args(["--once"]).spawn().unwrap();
    let out = wait_bounded(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&conf.display().to_string()), "{stderr}");
}

// ---- print() ---------------------------------------------------------------

const CHATTY: &str = r#"
for i in range(2000):
    print('line', i, 'x' * 80)
print('to stderr', file=sys.stderr)
sys.stdout.buffer.write('bytes \xe9\n'.encode())
sys.__stdout__.write('via __stdout__\n')
sys.stdout.write('a tail without a newline')
# Below Python's streams: the descriptor itself, and a child's inherited stdout.
import subprocess
os.write(1, b'raw write to descriptor 1\n')
subprocess.run(['echo', 'a child process writing to its stdout'], check=True)
self.gauge('chatty.alive', 1)
"#;

#[test]
fn print_goes_to_the_log_with_the_check_id_and_nothing_is_lost() {
    for isolation in isolations() {
        let dir = tempfile::tempdir().unwrap();
        survivor(dir.path());
        check(dir.path(), "chatty", 0.2, CHATTY);
        let child = pyhost(dir.path())
            .args(["--once", "--isolation", isolation])
            .spawn()
            .unwrap();
        let out = wait_bounded(child, Duration::from_secs(30));
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        // Every stdout line is JSON (json_lines panics otherwise).
        let lines = json_lines(&out.stdout);
        assert_eq!(series(&lines, "chatty.alive"), [1.0], "{isolation}");
        assert_eq!(ok_runs(&lines, "survivor"), 1);
        let logged: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("| (sys.stdout) | line "))
            .collect();
        assert_eq!(logged.len(), 2000, "{isolation}: every line, once");
        assert!(
            logged[0].starts_with("INFO     chatty:") && logged[0].ends_with(&format!("| line 0 {}", "x".repeat(80))),
            "{}",
            logged[0]
        );
        for want in [
            "WARN     chatty:",
            "| (sys.stderr) | to stderr",
            "| (sys.stdout) | bytes é",
            "| (sys.stdout) | via __stdout__",
            "| (sys.stdout) | a tail without a newline",
            "raw write to descriptor 1",
            "a child process writing to its stdout",
        ] {
            assert!(stderr.contains(want), "{isolation}: {want:?} not in\n{stderr}");
        }
    }
}

// ---- patching the built-in modules ----------------------------------------

const PATCHER: &str = r#"
import aggregator, datadog_agent
refused = 0
try:
    aggregator.submit_metric = lambda *a, **k: None
except AttributeError:
    refused += 1
try:
    del datadog_agent.get_config
except AttributeError:
    refused += 1
self.gauge('patcher.refused', refused)
"#;

#[test]
fn a_check_cannot_replace_the_modules_functions_for_the_others() {
    for isolation in isolations() {
        let dir = tempfile::tempdir().unwrap();
        survivor(dir.path());
        check(dir.path(), "patcher", 0.2, PATCHER);
        let child = pyhost(dir.path())
            .args(["--duration", "1.5", "--isolation", isolation])
            .spawn()
            .unwrap();
        let out = wait_bounded(child, Duration::from_secs(30));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines = json_lines(&out.stdout);
        let refused = series(&lines, "patcher.refused");
        assert!(
            refused.len() >= 3 && refused.iter().all(|&v| v == 2.0),
            "{isolation}: {refused:?}"
        );
        // The others' submissions keep arriving, every run: the counts
        // flushed add up to the runs.
        let runs = ok_runs(&lines, "survivor");
        assert!(runs >= 4, "{isolation}: {runs}");
        let counted: f64 = series(&lines, "survivor.runs").iter().sum();
        assert_eq!(counted, runs as f64, "{isolation}");
    }
}

// ---- forks and abandoned children ------------------------------------------

const FORK_RETURNS: &str = r#"
pid = os.fork()
if pid == 0:
    return  # the child returns from check(): it must exit, not serve jobs
deadline = time.time() + 10
status = -1
while time.time() < deadline:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
    time.sleep(0.01)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
self.gauge('fork.child_status', status)
"#;

const ABANDONS: &str = r#"
self.runs = getattr(self, 'runs', 0) + 1
if self.runs <= 3:
    if os.fork() == 0:
        os._exit(7)
self.gauge('abandon.runs', self.runs)
"#;

const SUBPROCESSES: &str = r#"
import subprocess
import _util
self.runs = getattr(self, 'runs', 0) + 1
self.gauge('sub.run_rc', subprocess.run(['sh', '-c', 'exit 3']).returncode)
out, err, rc = _util.get_subprocess_output(['sh', '-c', 'exit 4'], False)
self.gauge('sub.util_rc', rc)
# A Popen kept across runs and waited for long after its child exited.
if self.runs == 1:
    self.held = subprocess.Popen(['sh', '-c', 'exit 5'])
    self.started = time.time()
elif getattr(self, 'held', None) is not None and time.time() - self.started > 6:
    self.gauge('sub.held_rc', self.held.wait())
    self.held = None
"#;

/// `pid`'s zombie children (from `/proc`) that are forked copies of the
/// agent (`sh` children belong to `subprocess`, whose waits are tested by
/// their exit codes).
fn forked_zombies(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|l| {
            l.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .filter(|c| {
            let stat = std::fs::read_to_string(format!("/proc/{c}/stat")).unwrap_or_default();
            let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
            zombie && !stat.contains("(sh)")
        })
        .collect()
}

#[test]
fn forked_children_exit_and_abandoned_ones_are_reaped_without_breaking_subprocess() {
    let dir = tempfile::tempdir().unwrap();
    survivor(dir.path());
    check(dir.path(), "forker", 0.3, FORK_RETURNS);
    check(dir.path(), "abandoner", 0.3, ABANDONS);
    check(dir.path(), "subprocs", 0.5, SUBPROCESSES);
    // Forks need the main interpreter (sub-interpreters refuse them).
    let mut child = pyhost(dir.path())
        .args(["--duration", "11", "--isolation", "shared"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut BufReader::new(stdout), &mut buf).unwrap();
        buf
    });
    // Watch the zombies: the abandoned ones appear, then are reaped while
    // the agent runs.
    let watcher = thread::spawn(move || {
        // pid -> (first seen, last seen) as a zombie.
        let mut seen: std::collections::BTreeMap<u32, (Instant, Instant)> = Default::default();
        let mut last = Instant::now();
        while std::fs::metadata(format!("/proc/{pid}/task")).is_ok() {
            last = Instant::now();
            for z in forked_zombies(pid) {
                seen.entry(z).or_insert((last, last)).1 = last;
            }
            thread::sleep(Duration::from_millis(100));
        }
        (seen, last)
    });
    let out = wait_bounded_no_stdout(child, Duration::from_secs(40));
    let (zombies, end) = watcher.join().unwrap();
    let lifetimes: Vec<f64> = zombies.values().map(|(a, b)| (*b - *a).as_secs_f64()).collect();
    let lines = json_lines(&out_reader.join().unwrap());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // A child that returned from check() exited at once, with status 0.
    let statuses = series(&lines, "fork.child_status");
    assert!(
        statuses.len() >= 10 && statuses.iter().all(|&s| s == 0.0),
        "{statuses:?}\n{stderr}"
    );
    assert!(
        stderr.contains("returned into the worker loop") && stderr.contains("check forker instance #0"),
        "{stderr}"
    );
    // No run of the forked copies was reported (one result per run number).
    let forker_runs: Vec<i64> = of_kind(&lines, "run_result")
        .filter(|v| s(v, "check") == "forker")
        .filter_map(|v| v.get("run").and_then(Value::as_i64))
        .collect();
    assert!(forker_runs.windows(2).all(|w| w[1] == w[0] + 1), "{forker_runs:?}");

    // The three abandoned children were reaped, and said so.
    let reaped = stderr
        .lines()
        .filter(|l| l.contains("reaped abandoned child process"))
        .count();
    assert_eq!(reaped, 3, "{stderr}");
    assert!(stderr.contains("(exit status 7"), "{stderr}");
    // Seen as zombies for the grace period (3 s), never much longer; none
    // left lingering at the end (the forker's children are zombies for a
    // few ms before their parent's waitpid).
    assert!(
        lifetimes.iter().filter(|&&l| l >= 2.0).count() >= 3,
        "the abandoned children were seen: {lifetimes:?}"
    );
    assert!(lifetimes.iter().all(|&l| l < 6.0), "reaped in time: {lifetimes:?}");
    let lingering = zombies
        .values()
        .filter(|(first, last)| *last + Duration::from_millis(250) >= end && end - *first > Duration::from_secs(1))
        .count();
    assert_eq!(lingering, 0, "zombies left at the end: {lifetimes:?}");

    // subprocess and get_subprocess_output kept their exit codes, including
    // a Popen waited for 6 s after its child exited.
    let run_rc = series(&lines, "sub.run_rc");
    assert!(run_rc.len() >= 10 && run_rc.iter().all(|&v| v == 3.0), "{run_rc:?}");
    let util_rc = series(&lines, "sub.util_rc");
    assert!(!util_rc.is_empty() && util_rc.iter().all(|&v| v == 4.0), "{util_rc:?}");
    assert_eq!(series(&lines, "sub.held_rc"), [5.0], "{stderr}");
    assert!(ok_runs(&lines, "survivor") >= 40);
}

#[test]
fn a_fork_in_a_sub_interpreter_is_refused_cleanly() {
    if !pyhost::subinterpreter::supported() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    survivor(dir.path());
    check(dir.path(), "forker", 0.3, FORK_RETURNS);
    let child = pyhost(dir.path())
        .args(["--once", "--isolation", "subinterpreter"])
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    let lines = json_lines(&out.stdout);
    let run = of_kind(&lines, "run_result")
        .find(|v| s(v, "check") == "forker")
        .unwrap();
    assert_eq!(s(run, "status"), "error");
    assert!(run.to_string().contains("fork not supported for"), "{run:?}");
    assert_eq!(ok_runs(&lines, "survivor"), 1);
}

// ---- too many contexts ------------------------------------------------------

#[test]
fn new_contexts_past_the_limit_are_dropped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    survivor(dir.path());
    check(
        dir.path(),
        "wide",
        0.3,
        "for i in range(5000):\n    self.gauge('wide.m', i, tags=['i:%d' % i])",
    );
    let child = pyhost(dir.path())
        .args(["--once", "--max-contexts-per-check", "1000"])
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines = json_lines(&out.stdout);
    assert_eq!(series(&lines, "wide.m").len(), 1000);
    let warning = stderr
        .lines()
        .find(|l| l.contains("samples of new metric contexts dropped"))
        .unwrap_or_else(|| panic!("no warning\n{stderr}"));
    assert!(
        warning.starts_with("WARN     wide:")
            && warning.contains("4000 samples")
            && warning.contains("holds 1000 contexts"),
        "{warning}"
    );
    assert_eq!(series(&lines, "survivor.alive"), [1.0]);
}
