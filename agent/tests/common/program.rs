//! Running the `pyhost` program in tests: commands, bounded waits, output
//! read as it comes, JSON lines.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::mpsc::{channel, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use pyhost_agent::value::Value;

/// The program, with nothing set.
pub fn pyhost_bare() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pyhost"))
}

/// The program on a configuration and checks directory, with its own data
/// directory and a fixed host name.
pub fn pyhost_in(conf: &Path, checks: &Path, data: &Path) -> Command {
    let mut cmd = pyhost_bare();
    cmd.arg("--conf-dir")
        .arg(conf)
        .arg("--checks-dir")
        .arg(checks)
        .arg("--data-dir")
        .arg(data)
        .arg("--hostname")
        .arg("test-host");
    cmd
}

/// Wait for the child, killing it if it outlives `limit` (then the test
/// fails). Its stdout and stderr are drained meanwhile, so a chatty run
/// never blocks on a full pipe.
pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = stream {
                s.read_to_end(&mut buf).unwrap();
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            let (out, err) = (out.join().unwrap(), err.join().unwrap());
            panic!(
                "pyhost did not exit within {limit:?} ({status})\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Every line of a stream, as it comes, on a channel.
pub fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Read lines until one satisfies `pred` (returned), within `limit`;
/// `seen` collects every line read.
pub fn wait_for_line(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    limit: Duration,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let end = Instant::now() + limit;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if pred(&line) {
                    return line;
                }
            }
            Err(_) => panic!("no {what} within {limit:?}; saw:\n{}", seen.join("\n")),
        }
    }
}

/// Ask the child to stop as an operator would (SIGINT).
pub fn interrupt(child: &Child) {
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn f(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

pub fn of_kind<'a>(lines: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    lines.iter().filter(move |v| s(v, "kind") == kind)
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
