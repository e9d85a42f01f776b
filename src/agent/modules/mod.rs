//! rtloader's seven built-in modules, for Datadog Agent checks.
//!
//! A check does `import aggregator, datadog_agent` and calls
//! `aggregator.submit_metric(self, check_id, aggregator.GAUGE, name, value,
//! tags, hostname, False)`; in the Agent those modules come from rtloader
//! (`rtloader/common/builtins/*.c`), whose functions call back into Go.
//! Here they are fixed host modules: one C file per module in `csrc/`
//! (`dd_aggregator.c`, `dd_datadog_agent.c`, `dd_util.c` for `_util` and
//! `util`, `dd_tagger.c`, `dd_containers.c`, `dd_kubeutil.c`) holding the
//! static `METH_FASTCALL | METH_KEYWORDS` method table and the PEP 489
//! definition, each entry a `#[no_mangle] extern "C"` function of the
//! submodules below that calls [`fastcall`](crate::module::fastcall).
//!
//! | module | Rust | reads |
//! |---|---|---|
//! | `aggregator` | [`aggregator`] | [`AgentHost::aggregator`](super::host::AgentHost::aggregator) |
//! | `datadog_agent` | [`datadog_agent`] | configuration, version, cluster name, log sink, cache, aggregator |
//! | `_util`, `util` | [`util`] | (runs subprocesses; `util.headers` is `datadog_agent.headers`) |
//! | `tagger` | [`tagger`] | [`AgentHost::tagger`](super::host::AgentHost::tagger) |
//! | `containers` | [`containers`] | [`AgentHost::is_excluded`](super::host::AgentHost::is_excluded) |
//! | `kubeutil` | [`kubeutil`] | [`AgentHost::connection_info`](super::host::AgentHost::connection_info) |
//!
//! The compatibility target is rtloader's behaviour (see
//! `reference/datadog-rtloader.md` §2): names, argument formats, constants,
//! exact error messages, and what a function returns when the host lacks
//! the service (rtloader's unset callback: usually `None`). The services
//! come from the [`AgentHost`](super::host::AgentHost) installed with
//! [`host::install`](super::host::install); with none installed, every
//! function behaves as rtloader with no callbacks set.
//!
//! ```no_run
//! use pyhost::agent::{host, modules};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let agent = host::AgentHost::new(pyhost::agent::config::HostConfig::new())?;
//! let _ = host::install(agent);
//! let interp = modules::add_builtin_modules(pyhost::Interpreter::builder()).init()?;
//! interp.with_gil(|py| py.run("import aggregator; print(aggregator.GAUGE)", None, None))?;
//! # Ok(()) }
//! ```

pub mod aggregator;
pub mod containers;
pub mod datadog_agent;
pub mod kubeutil;
mod pyarg;
pub mod tagger;
pub mod util;

use crate::ffi;
use crate::interpreter::{Builder, InitFunc};

/// The modules' names, as checks import them (rtloader's `*_MODULE_NAME`).
pub const MODULE_NAMES: [&str; 7] = [
    "aggregator",
    "datadog_agent",
    "_util",
    "util",
    "tagger",
    "containers",
    "kubeutil",
];

/// Each module's name and init function (`PyModuleDef_Init` of its static
/// definition in `csrc/dd_*.c`), in [`MODULE_NAMES`] order, for
/// [`Builder::add_init_func`].
pub const MODULES: [(&str, InitFunc); 7] = [
    ("aggregator", ffi::pyhost_dd_aggregator_init),
    ("datadog_agent", ffi::pyhost_dd_datadog_agent_init),
    ("_util", ffi::pyhost_dd__util_init),
    ("util", ffi::pyhost_dd_util_init),
    ("tagger", ffi::pyhost_dd_tagger_init),
    ("containers", ffi::pyhost_dd_containers_init),
    ("kubeutil", ffi::pyhost_dd_kubeutil_init),
];

/// Register the seven modules as built-ins (`PyImport_AppendInittab`, what
/// rtloader's `Three::init` does before `Py_InitializeFromConfig`). Call it
/// on the builder before [`Builder::init`]; install the
/// [`AgentHost`](super::host::AgentHost) before checks call the modules.
pub fn add_builtin_modules(builder: Builder) -> Builder {
    MODULES
        .iter()
        .fold(builder, |b, &(name, init)| b.add_init_func(name, init))
}

/// Define the `#[no_mangle] extern "C"` function a method table entry in
/// `csrc/dd_*.c` points at: a call to [`fastcall`](crate::module::fastcall)
/// with the function's name (as CPython's messages show it: the bare name
/// for rtloader's `METH_VARARGS` functions, `module.name` for its
/// `METH_NOARGS` ones) and its body, `fn(Python, &Args) -> Result<Bound>`
/// (or `fn(Python, module, &Args)` with `module =>`, for bodies that read
/// the module's state).
macro_rules! dd_function {
    ($(#[$doc:meta])* $cname:ident, $pyname:literal, $body:path) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// Called by CPython through the module's `METH_FASTCALL | METH_KEYWORDS`
        /// method table (`csrc/dd_*.c`).
        #[no_mangle]
        pub unsafe extern "C" fn $cname(
            _module: *mut $crate::ffi::PyObject,
            args: *const *mut $crate::ffi::PyObject,
            nargs: $crate::ffi::Py_ssize_t,
            kwnames: *mut $crate::ffi::PyObject,
        ) -> *mut $crate::ffi::PyObject {
            // SAFETY: CPython calls this entry as METH_FASTCALL | METH_KEYWORDS;
            // the arguments are forwarded unchanged.
            unsafe { $crate::module::fastcall($pyname, args, nargs, kwnames, |py, a| $body(py, a)) }
        }
    };
    ($(#[$doc:meta])* $cname:ident, $pyname:literal, module => $body:path) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// Called by CPython through the module's `METH_FASTCALL | METH_KEYWORDS`
        /// method table (`csrc/dd_*.c`), with the module as `module`.
        #[no_mangle]
        pub unsafe extern "C" fn $cname(
            module: *mut $crate::ffi::PyObject,
            args: *const *mut $crate::ffi::PyObject,
            nargs: $crate::ffi::Py_ssize_t,
            kwnames: *mut $crate::ffi::PyObject,
        ) -> *mut $crate::ffi::PyObject {
            // SAFETY: CPython calls this entry as METH_FASTCALL | METH_KEYWORDS;
            // the arguments are forwarded unchanged.
            unsafe { $crate::module::fastcall($pyname, args, nargs, kwnames, |py, a| $body(py, module, a)) }
        }
    };
}
pub(crate) use dd_function;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_init_functions_agree() {
        let names: Vec<&str> = MODULES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, MODULE_NAMES);
    }
}
