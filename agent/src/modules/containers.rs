//! `containers`: rtloader's `common/builtins/containers.c`.
//!
//! `is_excluded(name, image, namespace=None)` (`"ss|s"`) asks the installed
//! host's [`is_excluded`](crate::host::AgentHost::is_excluded)
//! filter and returns a bool, or `None` without a host or filter.

use super::pyarg;
use super::varargs;
use pyhost::module::Args;
use pyhost::Bound;
use pyhost::Python;
use pyhost::Result;

pyhost::host_function!(
    /// `containers.is_excluded(name, image, namespace=None)`: rtloader's `is_excluded`.
    pyhost_rs_dd_containers_is_excluded,
    "is_excluded",
    is_excluded
);

fn is_excluded<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((filter, a)) = varargs(args, 2, 3, |h| h.is_excluded.as_ref())? else {
        return Ok(py.None());
    };
    let name = pyarg::s(&a[0], 1)?;
    let image = pyarg::s(&a[1], 2)?;
    let namespace = a.get(2).map(|n| pyarg::s(n, 3)).transpose()?;
    Ok(py.bool(filter(name, image, namespace)))
}
