//! Crash reports and forking jobs, each scenario in a child process (this
//! test binary run again with `PYHOST_SCENARIO` set): a crash ends the
//! process, and a fork is best done away from the test harness's threads.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use std::time::Duration;

use pyhost::worker::{JobOptions, PoolBuilder, WorkerPool};
use pyhost::{crash, Interpreter, SubInterpreterConfig};

/// Run `scenario` in a child process and return what it did.
fn run_scenario(scenario: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "scenario", "--ignored", "--nocapture", "--test-threads=1"])
        .env("PYHOST_SCENARIO", scenario)
        .output()
        .expect("run the test binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The child side: one scenario per process.
#[test]
#[ignore = "run by the other tests in a child process"]
fn scenario() {
    let which = std::env::var("PYHOST_SCENARIO").expect("PYHOST_SCENARIO");
    let interp = Interpreter::builder().write_bytecode(false).init().unwrap();
    interp.with_gil(crash::install_crash_report).unwrap();
    match which.as_str() {
        "segv" => segfault(PoolBuilder::default().workers(2).name("crash-test")),
        "segv-sub" => segfault(
            PoolBuilder::default()
                .workers(2)
                .name("crash-sub")
                .subinterpreters(SubInterpreterConfig::default()),
        ),
        "abort" => {
            let pool = WorkerPool::builder().workers(1).build().unwrap();
            let _ = pool
                .submit(|py| {
                    let _l = crash::set_label("job calling abort()");
                    py.run("import os\nos.abort()\n", None, None)
                })
                .unwrap()
                .wait();
        }
        "fork" => fork(),
        other => panic!("unknown scenario {other}"),
    }
    unreachable!("the scenario should have ended the process");
}

const CRASH: &str = "import ctypes, time\n\
def crash():\n    ctypes.string_at(0)\n\
time.sleep(0.3)\n\
crash()\n";

/// Worker 1 sleeps in Python under one label; worker 0 reads address 0
/// under another.
fn segfault(builder: PoolBuilder) {
    let pool = builder.build().unwrap();
    let sleeper = pool
        .submit_with(JobOptions::new().on_worker(1), |py| {
            let _l = crash::set_label("job B (sleeping)");
            py.run("import time\ndef nap():\n    time.sleep(30)\nnap()\n", None, None)
        })
        .unwrap();
    let crasher = pool
        .submit_with(JobOptions::new().on_worker(0), |py| {
            let _l = crash::set_label("job A (crashing)");
            py.run(CRASH, None, None)
        })
        .unwrap();
    let _ = crasher.wait_timeout(Duration::from_secs(20));
    drop(sleeper);
}

fn assert_crash_report(out: &Output, sig: i32, crashing: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.signal(), Some(sig), "died by the signal itself\n{stderr}");
    assert!(stderr.contains("pyhost: fatal signal"), "{stderr}");
    assert!(stderr.contains(&format!("running: {crashing}")), "{stderr}");
    assert!(stderr.contains("Fatal Python error"), "faulthandler's dump\n{stderr}");
    stderr
}

#[test]
fn a_segfault_names_every_workers_label_and_dumps_the_tracebacks() {
    let out = run_scenario("segv");
    let stderr = assert_crash_report(&out, libc::SIGSEGV, "job A (crashing)");
    assert!(stderr.contains("(SIGSEGV)"), "{stderr}");
    assert!(
        stderr.contains("job B (sleeping)"),
        "the other worker's label\n{stderr}"
    );
    assert!(stderr.contains("<- this thread"), "{stderr}");
    // Both Python threads: the crashing frame and the sleeping one.
    assert!(stderr.contains("in crash"), "{stderr}");
    assert!(stderr.contains("in nap"), "{stderr}");
}

#[test]
fn a_segfault_in_a_sub_interpreter_is_reported_too() {
    if !pyhost::subinterpreter::supported() {
        return;
    }
    let out = run_scenario("segv-sub");
    let stderr = assert_crash_report(&out, libc::SIGSEGV, "job A (crashing)");
    // Every worker's label; the crashing interpreter's traceback.
    assert!(stderr.contains("job B (sleeping)"), "{stderr}");
    assert!(stderr.contains("in crash"), "{stderr}");
}

#[test]
fn an_abort_is_reported_and_ends_by_sigabrt() {
    let out = run_scenario("abort");
    let stderr = assert_crash_report(&out, libc::SIGABRT, "job calling abort()");
    assert!(stderr.contains("(SIGABRT)"), "{stderr}");
}

/// A job forks; the child returns from the job. The parent waits for it
/// (bounded) and reports its status; the pool keeps working.
fn fork() {
    let pool = WorkerPool::builder().workers(1).name("fork-test").build().unwrap();
    let status: i64 = pool
        .submit(|py| {
            let _l = crash::set_label("the forking job");
            let g = py.new_globals()?;
            py.run(
                "import os, time\n\
                 pid = os.fork()\n\
                 if pid == 0:\n    result = 'child'\n\
                 else:\n    deadline = time.time() + 20\n    result = -1\n    \
                 while time.time() < deadline:\n        p, st = os.waitpid(pid, os.WNOHANG)\n        \
                 if p:\n            result = st\n            break\n        time.sleep(0.01)\n    \
                 else:\n        os.kill(pid, 9)\n        os.waitpid(pid, 0)\n",
                Some(&g),
                None,
            )?;
            // In the child this is a str and the extraction fails: either
            // way the child must not get past the job.
            g.get_item("result")?.map_or(Ok(-2), |v| v.extract())
        })
        .unwrap()
        .wait()
        .unwrap();
    let again: i64 = pool
        .submit(|py| py.eval("6 * 7", None, None)?.extract())
        .unwrap()
        .wait()
        .unwrap();
    println!("FORK-RESULT status={status} again={again}");
    std::process::exit(0);
}

#[test]
fn a_forked_child_that_returns_from_its_job_exits_at_once() {
    let out = run_scenario("fork");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FORK-RESULT status=0 again=42"),
        "the child exited with status 0 and the pool still works\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("returned into the worker loop") && stderr.contains("the forking job"),
        "{stderr}"
    );
    assert_eq!(
        stdout.matches("FORK-RESULT").count(),
        1,
        "only the parent got past the job"
    );
}
