//! How often an idle agent wakes up: the `pyhost` program with one check
//! every 60 s (and, for comparison, with the system checks' default
//! configuration: eight checks every 15 s), its context switches counted
//! per thread from `/proc/PID/task/*/status` over a window that starts once
//! the first runs and the start-up flush are done: the voluntary ones (a
//! thread blocking; each sleep that ends is a wake-up) and, apart, the
//! nonvoluntary ones (preemptions while running, which depend on the
//! machine's load more than on the agent).
//!
//! The floor for the first case is the loop's own timers: the reload tick
//! (1 s) and the flush (15 s), about 64 wake-ups a minute. The polling loop
//! this replaced slept 10 ms at a time: 6000 a minute.
//!
//! `cargo bench -p pyhost-agent --bench agent_idle` measures 60 s per case
//! (`PYHOST_IDLE_SECS` changes it); without `--bench` (as `cargo test`
//! runs benches), 3 s.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::context_switches;

const CHECK: &str = "from checks import AgentCheck\n\n\
class Idle(AgentCheck):\n    def check(self, instance):\n        self.gauge('idle.alive', 1)\n";

/// Run the agent with `args`, wait for its first flush, count its context
/// switches over `window`, per thread: (voluntary, nonvoluntary).
fn measure(dir: &Path, args: &[&str], window: Duration) -> BTreeMap<String, (u64, u64)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyhost"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--output", "json"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pyhost");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("\"kind\":\"flush\"") {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            panic!("pyhost exited before its first flush");
        }
    }
    // Keep draining stdout so the agent never blocks on it.
    let drain = std::thread::spawn(move || for _ in stdout.lines() {});
    std::thread::sleep(Duration::from_millis(500));
    let before = context_switches(child.id());
    std::thread::sleep(window);
    let after = context_switches(child.id());
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    child.wait().unwrap();
    drain.join().unwrap();
    after
        .into_iter()
        .map(|(name, (v, n))| {
            let (v0, n0) = *before.get(&name).unwrap_or(&(0, 0));
            (name, (v.saturating_sub(v0), n.saturating_sub(n0)))
        })
        .collect()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("PYHOST_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if bench { 60 } else { 3 });
    let window = Duration::from_secs(secs);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.d");
    std::fs::create_dir_all(conf.join("idle.d")).unwrap();
    std::fs::write(
        conf.join("idle.d/conf.yaml"),
        "instances:\n  - min_collection_interval: 60\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("checks.d")).unwrap();
    std::fs::write(dir.path().join("checks.d/idle.py"), CHECK).unwrap();
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let conf_args = ["--conf-dir", "conf.d", "--checks-dir", "checks.d"];
    println!("Context switches of the whole pyhost process over {secs} s, after its first flush.\n");
    println!("| agent | wake-ups (voluntary) | per second | preemptions (nonvoluntary) | wake-ups by thread |");
    println!("|---|---|---|---|---|");
    let cases: [(&str, Vec<&str>); 2] = [
        (
            "one check every 60 s",
            conf_args.iter().copied().chain(["--no-system-checks"]).collect(),
        ),
        ("the system checks (8 checks every 15 s)", vec!["--conf-dir", "empty"]),
    ];
    for (what, args) in cases {
        let per_thread = measure(dir.path(), &args, window);
        let wakeups: u64 = per_thread.values().map(|c| c.0).sum();
        let preemptions: u64 = per_thread.values().map(|c| c.1).sum();
        let threads: Vec<String> = per_thread
            .iter()
            .filter(|(_, c)| c.0 > 0)
            .map(|(name, c)| format!("{name} {}", c.0))
            .collect();
        println!(
            "| {what} | {wakeups} | {:.2} | {preemptions} | {} |",
            wakeups as f64 / secs as f64,
            threads.join(", ")
        );
    }
}
