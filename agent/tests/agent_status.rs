//! The status (`--status-addr`): `/status.json`, `pyhost status`, and the
//! HTML page in a real headless browser (Debian's chromium, driven through
//! chromium-driver's WebDriver server).
//!
//! The browser test is skipped, with a message, when chromium or
//! chromium-driver is missing, except in CI (`CI=true`), where `.ci/browser`
//! installs them and their absence is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::program::{interrupt, lines_of, pyhost_bare, pyhost_in, s, wait_bounded, wait_for_line, write};
use pyhost_agent::status::{client, Snapshot};
use pyhost_agent::value::Value;

const GOOD: &str = r#"
from checks import AgentCheck

class Good(AgentCheck):
    def check(self, instance):
        self.gauge('good.value', 1)
        self.service_check('good.up', AgentCheck.OK)
"#;

const ERRATIC: &str = r#"
from checks import AgentCheck

class Erratic(AgentCheck):
    def check(self, instance):
        self.gauge('erratic.value', 1)
        raise ValueError('erratic failure on purpose')
"#;

/// A running agent with a status server, and its directory.
struct Agent {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
        write(
            &conf.join("good.d/conf.yaml"),
            "instances:\n  - min_collection_interval: 0.5\n",
        );
        write(&checks.join("good.py"), GOOD);
        write(
            &conf.join("erratic.d/conf.yaml"),
            "instances:\n  - min_collection_interval: 0.5\n",
        );
        write(&checks.join("erratic.py"), ERRATIC);
        write(&conf.join("broken.d/conf.yaml"), "instances:\n  - {}\n");
        write(&checks.join("broken.py"), "import no_such_module_for_status\n");
        // A system check configured by the user: shown like the others.
        write(&conf.join("uptime.d/conf.yaml"), "instances:\n  - {}\n");
        let mut child = pyhost_in(&conf, &checks, &dir.path().join("data"))
            .args(["--output", "none", "--no-system-checks", "--status-addr", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = lines_of(child.stderr.take().unwrap());
        let mut seen = Vec::new();
        let line = wait_for_line(&stderr, &mut seen, Duration::from_secs(30), "status address", |l| {
            l.contains("status on http://")
        });
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap()
            .to_string();
        // Keep reading stderr so the agent never blocks on it.
        std::thread::spawn(move || for _ in stderr {});
        let agent = Agent { child, addr, _dir: dir };
        agent.wait_for_runs();
        agent
    }

    fn get(&self, path: &str) -> client::HttpResponse {
        client::request(&self.addr, "GET", path, None, Duration::from_secs(5)).unwrap()
    }

    fn snapshot(&self) -> Snapshot {
        let r = self.get("/status.json");
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    /// Until `good` and `erratic` have run twice.
    fn wait_for_runs(&self) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let snap = self.snapshot();
            let runs = |name: &str| {
                snap.checks
                    .iter()
                    .find(|c| c.name == name)
                    .and_then(|c| c.instances.first())
                    .map_or(0, |i| i.runs)
            };
            if runs("good") >= 2 && runs("erratic") >= 2 {
                return;
            }
            assert!(Instant::now() < end, "the checks did not run: {snap:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(self) {
        interrupt(&self.child);
        let out = wait_bounded(self.child, Duration::from_secs(20));
        assert!(out.status.success(), "{:?}", out.status);
    }
}

#[test]
fn status_json_and_the_status_command() {
    let agent = Agent::start();
    let snap = agent.snapshot();
    assert!(snap.python.starts_with("3."), "{}", snap.python);
    assert_eq!(snap.workers, 4);
    assert!(snap.uptime_s > 0.0 && snap.rss_bytes.unwrap() > 1 << 20);
    let check = |name: &str| {
        snap.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}: {snap:?}"))
    };
    let names: Vec<&str> = snap.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["broken", "erratic", "good", "uptime"]);

    let broken = check("broken");
    assert_eq!(broken.state, "failed");
    let err = broken.error.as_ref().unwrap();
    assert!(err.message.contains("no_such_module_for_status"), "{err:?}");
    assert!(err.traceback.as_deref().unwrap_or("").contains("broken.py"), "{err:?}");

    let good = &check("good").instances[0];
    assert_eq!((good.errors, good.last_status.as_deref()), (0, Some("ok")));
    assert!(good.last_duration_ms.unwrap() > 0.0 && good.average_duration_ms.unwrap() > 0.0);
    assert!((snap.now - good.last_run.unwrap()).abs() < 5.0);
    assert_eq!(good.samples_last_run, 2, "a gauge and a service check");
    assert!(good.samples_total >= 4);
    assert_eq!(good.durations.len() as u64, good.runs);

    let erratic = &check("erratic").instances[0];
    assert_eq!(erratic.errors, erratic.runs);
    let last = erratic.last_error.as_ref().unwrap();
    assert_eq!(last.message, "erratic failure on purpose");
    let tb = last.traceback.as_deref().unwrap();
    assert!(
        tb.contains("erratic.py") && tb.contains("ValueError: erratic failure on purpose"),
        "{last:?}"
    );
    assert_eq!(check("uptime").module.as_deref(), Some("checks.system.uptime"));

    let out = pyhost_bare().args(["status", "--addr", &agent.addr]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for want in [
        "Running Checks",
        "  good (good, in ",
        "Instance 0 [OK] good:",
        "Instance 0 [ERROR] erratic:",
        "Last Error: erratic failure on purpose",
        "ValueError: erratic failure on purpose",
        "Loading Errors",
        "no_such_module_for_status",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let page = agent.get("/");
    assert!(page.body.contains("id=\"check-erratic\"") && page.body.contains("<svg class=\"chart\""));
    agent.stop();

    let out = pyhost_bare()
        .args(["status", "--addr", "127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach 127.0.0.1:9"));
}

#[test]
fn a_status_address_other_hosts_reach_needs_a_flag() {
    let out = pyhost_bare()
        .args(["--status-addr", "0.0.0.0:0", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--status-allow-remote"),
        "{err}"
    );
}

// ---- the page in a browser ----------------------------------------------------

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The browser binary (Debian's real one, not its wrapper script) and the driver.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["/usr/lib/chromium/chromium"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| find_program(&["chromium", "chromium-browser"]))?;
    let driver = find_program(&["chromedriver"])?;
    Some((chromium, driver))
}

/// A WebDriver server (chromedriver) on a free port, killed on drop.
struct Driver {
    child: Child,
    addr: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(path: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client::request(&driver.addr, "GET", "/status", None, Duration::from_secs(2))
                .ok()
                .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
                .is_some_and(|v| v.get("value").and_then(|v| v.get("ready")) == Some(&Value::Bool(true)));
            if ready {
                return driver;
            }
            assert!(Instant::now() < end, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A WebDriver command; its `value`.
    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let r = client::request(&self.addr, method, path, body.as_deref(), Duration::from_secs(60)).unwrap();
        let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {}", r.body));
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        v.get("value").cloned().unwrap_or(Value::Null)
    }
}

const PAGE_PROBE: &str = "\
const sections = Array.from(document.querySelectorAll('section.check'));
return JSON.stringify({
  title: document.title,
  text: document.body.innerText,
  checks: sections.map(s => ({name: s.dataset.check, height: s.getBoundingClientRect().height,
                               failed: s.classList.contains('failed'), text: s.innerText})),
  charts: Array.from(document.querySelectorAll('svg.chart')).map(c => {
    const r = c.getBoundingClientRect();
    return {width: r.width, height: r.height, points: c.querySelectorAll('circle').length};
  }),
});";

#[test]
fn the_status_page_in_a_headless_browser() {
    let Some((chromium, driver_path)) = browser() else {
        let msg = "chromium or chromium-driver (chromedriver) is not installed; `bash .ci/browser` installs them";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: {msg}");
        }
        eprintln!("SKIPPED the_status_page_in_a_headless_browser: {msg}");
        return;
    };
    let agent = Agent::start();
    let driver = Driver::start(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    let session = driver.call(
        "POST",
        "/session",
        Some(
            serde_json::json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--user-data-dir={}", profile.path().display())],
            }}}}),
        ),
    );
    let id = s(&session, "sessionId").to_string();
    assert!(!id.is_empty(), "{session}");
    let url = format!("http://{}/", agent.addr);
    driver.call(
        "POST",
        &format!("/session/{id}/url"),
        Some(serde_json::json!({ "url": url })),
    );
    let probe = driver.call(
        "POST",
        &format!("/session/{id}/execute/sync"),
        Some(serde_json::json!({"script": PAGE_PROBE, "args": []})),
    );
    let _ = driver.call("DELETE", &format!("/session/{id}"), None);
    let page: Value = serde_json::from_str(probe.as_str().unwrap()).unwrap();
    assert_eq!(s(&page, "title"), "pyhost status");
    let text = s(&page, "text");
    // Every configured check, shown (laid out, not hidden), the failing ones with their errors.
    let checks = page.get("checks").and_then(Value::as_array).unwrap();
    let names: Vec<&str> = checks.iter().map(|c| s(c, "name")).collect();
    assert_eq!(names, ["broken", "erratic", "good", "uptime"], "{text}");
    for c in checks {
        assert!(c.get("height").and_then(Value::as_f64).unwrap() > 0.0, "{c}");
    }
    let broken = &checks[0];
    assert_eq!(broken.get("failed"), Some(&Value::Bool(true)));
    assert!(s(broken, "text").contains("no_such_module_for_status"), "{broken}");
    let erratic = s(&checks[1], "text");
    assert!(
        erratic.contains("ValueError: erratic failure on purpose") && erratic.contains("erratic.py"),
        "{erratic}"
    );
    assert!(text.contains("Python 3."), "{text}");
    // A chart per check with instances, drawn, with a point per run.
    let charts = page.get("charts").and_then(Value::as_array).unwrap();
    assert_eq!(charts.len(), 3, "{charts:?}");
    for c in charts {
        assert!(c.get("width").and_then(Value::as_f64).unwrap() >= 600.0, "{c}");
        assert!(c.get("points").and_then(Value::as_f64).unwrap() >= 1.0, "{c}");
    }
    agent.stop();
}
