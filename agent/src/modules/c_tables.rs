//! The C side of the seven modules (`csrc/dd_*.c`, compiled by this
//! package's build script against the Python pyhost links): their init
//! functions, and the one state accessor the Rust bodies call. This file and
//! the `host_function!` entries the tables point at are the agent's only
//! contact with raw FFI.

use pyhost::interpreter::InitFunc;
use pyhost::{ffi, Bound, Error, Result};

extern "C" {
    fn pyhost_dd_aggregator_init() -> *mut ffi::PyObject;
    fn pyhost_dd_datadog_agent_init() -> *mut ffi::PyObject;
    fn pyhost_dd__util_init() -> *mut ffi::PyObject;
    fn pyhost_dd_util_init() -> *mut ffi::PyObject;
    fn pyhost_dd_tagger_init() -> *mut ffi::PyObject;
    fn pyhost_dd_containers_init() -> *mut ffi::PyObject;
    fn pyhost_dd_kubeutil_init() -> *mut ffi::PyObject;
    fn pyhost_dd__util_empty_output_error(module: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// Each module's name and init function (`PyModuleDef_Init` of its static
/// definition), in [`MODULE_NAMES`](super::MODULE_NAMES) order.
pub(super) const INIT_FUNCS: [(&str, InitFunc); 7] = [
    ("aggregator", pyhost_dd_aggregator_init),
    ("datadog_agent", pyhost_dd_datadog_agent_init),
    ("_util", pyhost_dd__util_init),
    ("util", pyhost_dd_util_init),
    ("tagger", pyhost_dd_tagger_init),
    ("containers", pyhost_dd_containers_init),
    ("kubeutil", pyhost_dd_kubeutil_init),
];

/// `_util.SubprocessOutputEmptyError`, from the state of the `_util` module
/// `module` (a `SystemError` for any other object).
pub fn util_empty_output_error<'py>(module: Option<&Bound<'py>>) -> Result<Bound<'py>> {
    let Some(module) = module else {
        return Err(Error::new(
            pyhost::ExcKind::SystemError,
            "not an initialised _util module",
        ));
    };
    // SAFETY: the GIL is held (a Bound exists); the C getter checks that
    // `module` is an initialised `_util` module and returns a reference
    // borrowed from its state, or NULL with SystemError set.
    let ty = unsafe { pyhost_dd__util_empty_output_error(module.as_ptr()) };
    if ty.is_null() {
        return Err(Error::fetch(module.py()));
    }
    // SAFETY: a live type object held by the module's state; we take our own reference.
    Ok(unsafe { Bound::from_borrowed_ptr(module.py(), ty) })
}
