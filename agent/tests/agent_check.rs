//! Scenario: the check lifecycle with pyhost's shipped base only (no Python
//! package installed): class lookup rules, instantiation, run, warnings,
//! cancel, check ids.

use pyhost::Interpreter;
use pyhost_agent::check::{self, check_id, instantiate, load_check_class, run_check};
use pyhost_agent::config::HostConfig;
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::value::Value;
use pyhost_agent::{modules, pybase};

const CUSTOM: &str = r#"
from checks import AgentCheck

__version__ = '0.4.2'


class IntermediateBase(AgentCheck):
    """Imported bases with subclasses are skipped (rtloader's leaf rule)."""


class ZLeafCheck(IntermediateBase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.was_canceled = False
        self.runs = 0

    def check(self, instance):
        self.runs += 1
        self.gauge('leaf.runs', self.runs, tags=['port:%d' % instance['port']])
        self.warning('warned on run %d', self.runs)
        if self.init_config.get('fail'):
            raise ValueError('configured to fail')

    def cancel(self):
        self.was_canceled = True
"#;

#[test]
fn lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.d");
    std::fs::create_dir_all(&checks).unwrap();
    std::fs::write(checks.join("leafy.py"), CUSTOM).unwrap();
    // An installed integration is preferred over a custom check of the same name.
    let pkg = dir.path().join("site").join("datadog_checks").join("shadowed");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("__init__.py"),
        "from checks import AgentCheck\n\nclass PackagedCheck(AgentCheck):\n    def check(self, instance):\n        self.gauge('from.package', 1)\n",
    )
    .unwrap();
    std::fs::write(checks.join("shadowed.py"), "raise RuntimeError('the wheel must win')\n").unwrap();
    std::fs::write(checks.join("empty_mod.py"), "from checks import AgentCheck\n").unwrap();

    let host =
        host::install(AgentHost::new(HostConfig::with_defaults("h", &dir.path().join("data"))).unwrap()).unwrap();
    let interp = modules::add_builtin_modules(Interpreter::builder())
        .add_path(&checks)
        .add_path(dir.path().join("site"))
        .write_bytecode(false)
        .init()
        .unwrap();

    interp.with_gil(|py| {
        pybase::install(py).unwrap();
        // `from checks import AgentCheck` works with nothing installed, in agent mode.
        let running: bool = py
            .eval("__import__('checks').AGENT_RUNNING", None, None)
            .unwrap()
            .extract()
            .unwrap();
        assert!(running);

        let class = load_check_class(py, "leafy").unwrap();
        assert_eq!(class.module_name, "leafy");
        assert_eq!(class.class.bind(py).name().unwrap(), "ZLeafCheck");
        assert_eq!(class.version.as_deref(), Some("0.4.2"));

        let instance = serde_json::from_str::<Value>(r#"{"port": 8080}"#).unwrap();
        let init = serde_json::from_str::<Value>(r#"{"fail": false}"#).unwrap();
        let id = check_id("leafy", &instance, &init);
        assert!(id.starts_with("leafy:") && id.len() == "leafy:".len() + 16, "{id}");
        assert_eq!(id, check_id("leafy", &instance, &init), "stable");
        assert_ne!(
            id,
            check_id(
                "leafy",
                &serde_json::from_str::<Value>(r#"{"port": 8081}"#).unwrap(),
                &init
            )
        );

        let check = instantiate(py, &class, &init, &instance, &id).unwrap();
        assert_eq!(check.getattr("check_id").unwrap().extract::<String>().unwrap(), id);
        assert_eq!(check.getattr("name").unwrap().extract::<String>().unwrap(), "leafy");
        let instances = check.getattr("instances").unwrap();
        assert_eq!(instances.len().unwrap(), 1);

        let out = run_check(&check);
        assert!(out.is_ok(), "{}", out.result);
        assert_eq!(out.warnings, vec!["warned on run 1"]);
        // get_warnings cleared them.
        assert_eq!(check.call_method0("get_warnings").unwrap().len().unwrap(), 0);
        let subs = host.aggregator.take_submissions(&id);
        assert_eq!(subs.len(), 1, "{subs:?}");

        let out = run_check(&check);
        assert_eq!(out.warnings, vec!["warned on run 2"]);
        host.aggregator.take_submissions(&id);

        // A failing run: the base's JSON error list.
        let failing = instantiate(
            py,
            &class,
            &serde_json::from_str::<Value>(r#"{"fail": true}"#).unwrap(),
            &instance,
            "leafy:f",
        )
        .unwrap();
        let out = run_check(&failing);
        let errors = serde_json::from_str::<Value>(&out.result).unwrap();
        let first = &errors.as_array().unwrap()[0];
        assert_eq!(first.get("message").and_then(Value::as_str), Some("configured to fail"));
        assert!(first
            .get("traceback")
            .and_then(Value::as_str)
            .unwrap()
            .contains("leafy.py"));

        // cancel_check calls check.cancel().
        check::cancel_check(&check).unwrap();
        assert!(check.getattr("was_canceled").unwrap().extract::<bool>().unwrap());

        // The integration package wins over the checks.d module.
        let class = load_check_class(py, "shadowed").unwrap();
        assert_eq!(class.module_name, "datadog_checks.shadowed");
        assert_eq!(class.class.bind(py).name().unwrap(), "PackagedCheck");

        // rtloader's messages.
        let e = load_check_class(py, "empty_mod").unwrap_err();
        assert_eq!(
            e.message,
            "unable to find a subclass of the base check in module 'empty_mod': cannot find a subclass"
        );
        let e = load_check_class(py, "does_not_exist").unwrap_err();
        assert!(
            e.message
                .starts_with("unable to import module 'does_not_exist': ModuleNotFoundError"),
            "{e}"
        );
    });
}
