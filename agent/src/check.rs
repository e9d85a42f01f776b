//! The check lifecycle, as rtloader runs it (`get_class`, `get_check`,
//! `run_check`, `get_checks_warnings`, `cancel_check` of rtloader's
//! [`three/three.cpp`](https://github.com/DataDog/datadog-agent/blob/main/rtloader/three/three.cpp)).
//!
//! 1. **Find the class**: import `datadog_checks.<name>` (an installed
//!    integration) or else `<name>` (a custom check in a checks directory on
//!    `sys.path`), then take the first name in `dir(module)` order that is a
//!    class, a subclass of a known `AgentCheck` base but not the base itself,
//!    and a leaf (`klass.__subclasses__()` is empty): intermediate bases
//!    imported into the module are skipped, as rtloader's `_findSubclassOf`
//!    does.
//! 2. **Instantiate**: `klass(name=..., init_config=..., instances=(instance,))`,
//!    then set `check_id`.
//! 3. **Run**: `check.run()` returns `""` or a JSON list of `{message,
//!    traceback}`; then `get_warnings()` (which clears them).
//!
//! The known bases are pyhost's own `checks.AgentCheck` and, when the real
//! package is importable, `datadog_checks.base.AgentCheck` (rtloader imports
//! it as `datadog_checks.checks.AgentCheck`, the same class).
//!
//! Every failing step is reported with the Python traceback, which names the
//! check's file and line. Exceptions a check's base does not catch
//! (`SystemExit` from `sys.exit()`, `KeyboardInterrupt`) are reported as a
//! failed run; they never exit or stop the host.

use std::fmt;

use super::value::{json_loads, Value};
use pyhost::{Bound, Dict, Error, FromPython, Py, Python, Result, Tuple};

/// Why a check could not be loaded or instantiated. Serialized (the
/// `load_error` lines of both outputs).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadError {
    /// What failed, in rtloader's words (e.g. `unable to import module 'foo': ...`).
    pub message: String,
    /// The Python traceback, when Python raised.
    pub traceback: Option<String>,
}

impl LoadError {
    fn new(message: impl Into<String>) -> LoadError {
        LoadError {
            message: message.into(),
            traceback: None,
        }
    }

    fn from_python(context: &str, e: &Error) -> LoadError {
        match e.as_python() {
            Some(p) => LoadError {
                message: format!("{context}: {}: {}", p.type_name(), p.message()),
                traceback: p.traceback().map(str::to_owned),
            },
            None => LoadError::new(format!("{context}: {e}")),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(tb) = &self.traceback {
            write!(f, "\n{}", tb.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// A check class found by [`load_check_class`].
#[derive(Debug)]
pub struct CheckClass {
    /// The check's name (the config directory's name).
    pub name: String,
    /// The module it was found in (`datadog_checks.<name>` or `<name>`).
    pub module_name: String,
    /// The module object.
    pub module: Py,
    /// The class.
    pub class: Py,
    /// The module's `__version__`, if it has a string one.
    pub version: Option<String>,
}

/// The `AgentCheck` base classes checks may derive from.
pub fn base_classes(py: Python<'_>) -> Vec<Bound<'_>> {
    let mut bases = Vec::new();
    if let Ok(c) = py.import("checks").and_then(|m| m.getattr("AgentCheck")) {
        bases.push(c);
    }
    // Only if the real package is present: importing it is a no-op then.
    let has_real = py
        .import("importlib.util")
        .and_then(|u| u.getattr("find_spec")?.call1(("datadog_checks",)))
        .map(|spec| !spec.is_none())
        .unwrap_or(false);
    if has_real {
        if let Ok(c) = py.import("datadog_checks.base").and_then(|m| m.getattr("AgentCheck")) {
            bases.push(c);
        }
    }
    bases
}

/// rtloader's `get_class`: import the check's module and find its check class.
pub fn load_check_class(py: Python<'_>, name: &str) -> std::result::Result<CheckClass, LoadError> {
    let bases = base_classes(py);
    if bases.is_empty() {
        return Err(LoadError::new(
            "no AgentCheck base class is importable (pyhost's `checks` package is not installed)",
        ));
    }
    let wheel = format!("datadog_checks.{name}");
    let (module_name, module) = match py.import(&wheel) {
        Ok(m) => (wheel, m),
        Err(e) if is_missing_module(&e, &wheel) => match py.import(name) {
            Ok(m) => (name.to_string(), m),
            Err(e) => {
                if is_missing_module(&e, name) {
                    if let Some(why) = unreadable_module_file(py, name) {
                        return Err(LoadError::new(format!("unable to import module '{name}': {why}")));
                    }
                }
                return Err(LoadError::from_python(&format!("unable to import module '{name}'"), &e));
            }
        },
        Err(e) => {
            return Err(LoadError::from_python(
                &format!("unable to import module '{wheel}'"),
                &e,
            ))
        }
    };
    class_in_module(py, name, module_name, module, &bases)
}

/// [`load_check_class`] for a check whose module is known, e.g. a system
/// check shipped with the agent (`checks.system.cpu`): import that module
/// and find its check class.
pub fn load_check_class_from(
    py: Python<'_>,
    name: &str,
    module_name: &str,
) -> std::result::Result<CheckClass, LoadError> {
    let bases = base_classes(py);
    let module = py
        .import(module_name)
        .map_err(|e| LoadError::from_python(&format!("unable to import module '{module_name}'"), &e))?;
    class_in_module(py, name, module_name.to_string(), module, &bases)
}

/// The check class in an imported module (rtloader's `_findSubclassOf`).
fn class_in_module<'py>(
    py: Python<'py>,
    name: &str,
    module_name: String,
    module: Bound<'py>,
    bases: &[Bound<'py>],
) -> std::result::Result<CheckClass, LoadError> {
    let class = find_subclass(py, &module, bases)
        .map_err(|e| LoadError::from_python(&format!("unable to inspect module '{module_name}'"), &e))?
        .ok_or_else(|| {
            LoadError::new(format!(
                "unable to find a subclass of the base check in module '{module_name}': cannot find a subclass"
            ))
        })?;
    let version = module
        .getattr_opt("__version__")
        .ok()
        .flatten()
        .and_then(|v| v.extract::<String>().ok());
    Ok(CheckClass {
        name: name.to_string(),
        module_name,
        module: module.unbind(),
        class: class.unbind(),
        version,
    })
}

/// Why Python's import found no module `name` although a `NAME.py` is on
/// `sys.path`: the finder skips entries that are not regular files (a
/// directory, a dangling symlink, a FIFO) and says only "No module named".
/// The first such entry and its OS error, naming the path.
fn unreadable_module_file(py: Python<'_>, name: &str) -> Option<String> {
    let path = py.import("sys").and_then(|s| s.getattr("path")).ok()?;
    let dirs: Vec<String> = path.extract().ok()?;
    dirs.iter().find_map(|dir| {
        let file = std::path::Path::new(if dir.is_empty() { "." } else { dir }).join(format!("{name}.py"));
        std::fs::symlink_metadata(&file).ok()?;
        crate::config::open_regular_file(&file)
            .err()
            .map(|e| format!("{}: {e}", file.display()))
    })
}

/// True if `e` is the ModuleNotFoundError for `wanted` or one of its parent
/// packages (not for a module the check itself imports).
fn is_missing_module(e: &Error, wanted: &str) -> bool {
    if !e.is("ModuleNotFoundError") {
        return false;
    }
    let missing = e.as_python().and_then(|p| {
        let py_msg = p.message();
        py_msg
            .strip_prefix("No module named '")
            .and_then(|s| s.strip_suffix('\''))
            .map(str::to_owned)
    });
    match missing {
        Some(m) => wanted == m || wanted.starts_with(&format!("{m}.")),
        None => false,
    }
}

/// rtloader's `_findSubclassOf`: the first leaf subclass of a base in
/// `dir(module)` (alphabetical) order.
fn find_subclass<'py>(py: Python<'py>, module: &Bound<'py>, bases: &[Bound<'py>]) -> Result<Option<Bound<'py>>> {
    let dir = py.builtins()?.getattr("dir")?.call1((module.clone(),))?;
    let issubclass = py.builtins()?.getattr("issubclass")?;
    for name in dir.iter()? {
        let name = name?;
        let Ok(attr) = module.getattr(name.to_str()?) else {
            continue;
        };
        if !attr.is_type() {
            continue;
        }
        if bases.iter().any(|b| b.is(&attr)) {
            continue;
        }
        let mut derived = false;
        for base in bases {
            if issubclass.call1((attr.clone(), base.clone()))?.is_truthy()? {
                derived = true;
                break;
            }
        }
        if !derived {
            continue;
        }
        if attr.call_method0("__subclasses__")?.len()? == 0 {
            return Ok(Some(attr));
        }
    }
    Ok(None)
}

/// The Agent's check id for one instance: `<name>:<16 hex digits>`, a
/// 64-bit FNV-1a digest of the instance and `init_config` (the Agent hashes
/// the same inputs), so it is stable across runs and restarts.
pub fn check_id(name: &str, instance: &Value, init_config: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in instance
        .to_string()
        .bytes()
        .chain([0u8])
        .chain(init_config.to_string().bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{name}:{h:016x}")
}

/// rtloader's `get_check`: instantiate the class for one instance and set
/// its `check_id`.
pub fn instantiate<'py>(
    py: Python<'py>,
    class: &CheckClass,
    init_config: &Value,
    instance: &Value,
    check_id: &str,
) -> std::result::Result<Bound<'py>, LoadError> {
    let build = || -> Result<Bound<'py>> {
        let init = match init_config {
            Value::Null => Dict::new(py).into_any(),
            v => pyhost::ToPython::to_python(v, py)?,
        };
        let inst = pyhost::ToPython::to_python(instance, py)?;
        let kwargs = Dict::new(py);
        kwargs.set_item("name", class.name.as_str())?;
        kwargs.set_item("init_config", init)?;
        kwargs.set_item("instances", Tuple::new(py, &[inst]))?;
        class.class.bind(py).call((), Some(&kwargs))
    };
    let check =
        build().map_err(|e| LoadError::from_python(&format!("could not instantiate check '{}'", class.name), &e))?;
    check
        .setattr("check_id", check_id)
        .map_err(|e| LoadError::from_python(&format!("could not set check_id of '{}'", class.name), &e))?;
    Ok(check)
}

/// What one run produced, besides its submissions.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// `""` for success, otherwise the JSON list of `{message, traceback}`
    /// errors (as `AgentCheck.run()` returns it).
    pub result: String,
    /// `result` decoded by Python's `json.loads` (on the thread that ran
    /// the check): `[]` for success; a `result` that is not JSON is one
    /// error carrying it as the message.
    pub errors: Value,
    /// The warnings the run raised (`get_warnings()`, which clears them).
    pub warnings: Vec<String>,
}

impl RunOutcome {
    /// True if the run reported no error.
    pub fn is_ok(&self) -> bool {
        self.result.is_empty()
    }
}

/// rtloader's `run_check` + `get_checks_warnings`. An exception that escapes
/// `run()` (a base that does not catch `SystemExit`, or a `run` that is not
/// the base's) becomes an error result in the base's JSON format, naming
/// the exception and carrying its traceback.
pub fn run_check(check: &Bound<'_>) -> RunOutcome {
    let (result, errors) = match check.call_method0("run") {
        Ok(r) => match r.extract::<String>() {
            Ok(result) => {
                let errors = decode_errors(check.py(), &result);
                (result, errors)
            }
            Err(_) => failure(
                &format!("error invoking 'run' method: run() returned {}, not str", r.type_name()),
                None,
            ),
        },
        Err(e) => {
            let (msg, tb) = match e.as_python() {
                Some(p) => (
                    format!("{}: {}", p.type_name(), p.message()),
                    p.traceback().map(str::to_owned),
                ),
                None => (e.to_string(), None),
            };
            failure(&msg, tb.as_deref())
        }
    };
    let warnings = match check
        .call_method0("get_warnings")
        .and_then(|w| w.extract::<Vec<String>>())
    {
        Ok(w) => w,
        Err(e) => vec![format!("error invoking 'get_warnings' method: {e}")],
    };
    RunOutcome {
        result,
        errors,
        warnings,
    }
}

/// `run()`'s text as a list of errors (see [`RunOutcome::errors`]).
fn decode_errors(py: Python<'_>, result: &str) -> Value {
    if result.is_empty() {
        return Value::Array(Vec::new());
    }
    json_loads(py, result)
        .and_then(|v| Value::from_python(&v))
        .unwrap_or_else(|_| error_list(result, None))
}

/// A failed run's `(result, errors)` for one error.
fn failure(message: &str, traceback: Option<&str>) -> (String, Value) {
    let errors = error_list(message, traceback);
    (errors.to_string(), errors)
}

/// rtloader's `cancel_check`: `check.cancel()`.
pub fn cancel_check(check: &Bound<'_>) -> Result<()> {
    check.call_method0("cancel").map(drop)
}

/// `[{"message": ..., "traceback": ...}]`, the base's error format
/// (`traceback` `""` when there is none).
pub fn error_list(message: &str, traceback: Option<&str>) -> Value {
    let mut entry = Value::object();
    entry.insert("message", message);
    entry.insert("traceback", traceback.unwrap_or(""));
    Value::Array(vec![entry])
}

/// Remove a check's modules (`NAME`, `datadog_checks.NAME` and their
/// submodules) from `sys.modules` and invalidate the import caches, so the
/// next [`load_check_class`] reads the files again: a hot reload.
pub fn forget_check_modules(py: Python<'_>, name: &str) -> Result<()> {
    // The name is passed as a variable, never pasted into the source.
    let globals = py.new_globals()?;
    globals.set_item("_n", name)?;
    py.run(
        "import sys, importlib\n\
         for _k in [k for k in list(sys.modules) if k in (_n, 'datadog_checks.' + _n) \
         or k.startswith(_n + '.') or k.startswith('datadog_checks.' + _n + '.')]:\n    \
         del sys.modules[_k]\n\
         importlib.invalidate_caches()\n",
        Some(&globals),
        None,
    )
}
