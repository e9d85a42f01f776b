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
//! submodules below, defined with [`host_function!`](pyhost::host_function)
//! with the function's name as CPython's messages show it (the bare name for
//! rtloader's `METH_VARARGS` functions, `module.name` for its `METH_NOARGS`
//! ones).
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
//! The compatibility target is rtloader's behaviour (its
//! [`common/builtins/`](https://github.com/DataDog/datadog-agent/tree/main/rtloader/common/builtins)
//! sources and their tests): names, argument formats, constants,
//! exact error messages, and what a function returns when the host lacks
//! the service (rtloader's unset callback: usually `None`). The services
//! come from the [`AgentHost`](super::host::AgentHost) installed with
//! [`host::install`](super::host::install); with none installed, every
//! function behaves as rtloader with no callbacks set.
//!
//! ```no_run
//! use pyhost_agent::{host, modules};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let agent = host::AgentHost::new(pyhost_agent::config::HostConfig::new())?;
//! let _ = host::install(agent);
//! let interp = modules::add_builtin_modules(pyhost::Interpreter::builder()).init()?;
//! interp.with_gil(|py| py.run("import aggregator; print(aggregator.GAUGE)", None, None))?;
//! # Ok(()) }
//! ```

pub mod aggregator;
mod c_tables;
pub use c_tables::util_empty_output_error;
pub mod containers;
pub mod datadog_agent;
pub mod kubeutil;
mod pyarg;
pub mod tagger;
pub mod util;

use pyhost::interpreter::{Builder, InitFunc};
use pyhost::module::Args;
use pyhost::Bound;
use pyhost::Result;

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
pub const MODULES: [(&str, InitFunc); 7] = c_tables::INIT_FUNCS;

/// Register the seven modules as built-ins (`PyImport_AppendInittab`, what
/// rtloader's `Three::init` does before `Py_InitializeFromConfig`), and
/// pyhost's private `_pyhost_agent`. Call it
/// on the builder before [`Builder::init`]; install the
/// [`AgentHost`](super::host::AgentHost) before checks call the modules.
pub fn add_builtin_modules(builder: Builder) -> Builder {
    MODULES
        .iter()
        .fold(builder, |b, &(name, init)| b.add_init_func(name, init))
        // pyhost's own hooks for the base package (stdout capture, child
        // registry): see `containment`.
        .add_module(crate::containment::host_module())
}

/// What one of rtloader's `METH_VARARGS` functions goes through before its
/// work: CPython refuses keyword arguments (`f() takes no keyword
/// arguments`); the function returns `None` at once if its callback is
/// unset (here: no host is installed, or `service` finds nothing in it);
/// then `PyArg_ParseTuple` checks the number of arguments (`function takes
/// exactly 2 arguments (1 given)`).
///
/// `Ok(None)` means "return `None`"; otherwise the service (`Some` for the
/// host itself) and the positional arguments, for the format units to
/// convert.
#[inline(always)]
fn varargs<'a, 'py, S>(
    args: &Args<'a, 'py>,
    min: usize,
    max: usize,
    service: impl FnOnce(&'static crate::host::AgentHost) -> Option<S>,
) -> Result<Option<(S, &'a [Bound<'py>])>> {
    pyarg::no_keywords(args)?;
    let Some(service) = crate::host::host().and_then(|h| service(h)) else {
        return Ok(None);
    };
    Ok(Some((service, pyarg::count(args, min, max)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_init_functions_agree() {
        let names: Vec<&str> = MODULES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, MODULE_NAMES);
    }
}
