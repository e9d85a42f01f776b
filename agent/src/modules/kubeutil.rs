//! `kubeutil`: rtloader's `common/builtins/kubeutil.c`.
//!
//! `get_connection_info()` returns the kubelet connection settings from the
//! installed host's [`connection_info`](crate::host::AgentHost::connection_info)
//! as a dict: `{}` when it has none (or they are not an object, as
//! rtloader treats a NULL or non-dict payload), `None` without a host or
//! service.

use super::pyarg;
use crate::host::host;
use crate::value::Value;
use pyhost::module::Args;
use pyhost::Python;
use pyhost::Result;
use pyhost::ToPython;
use pyhost::{Bound, Dict};

pyhost::host_function!(
    /// `kubeutil.get_connection_info()`: rtloader's `get_connection_info`.
    pyhost_rs_dd_kubeutil_get_connection_info,
    "kubeutil.get_connection_info",
    get_connection_info
);

fn get_connection_info<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::noargs(args)?;
    let Some(info) = host().and_then(|h| h.connection_info.as_ref()) else {
        return Ok(py.None());
    };
    match info() {
        Some(v @ Value::Object(_)) => v.to_python(py),
        _ => Ok(Dict::new(py).into_any()),
    }
}
