//! `tagger`: rtloader's `common/builtins/tagger.c`, asking the installed
//! host's [`tagger`](crate::host::AgentHost::tagger).
//!
//! * `tag(entity_id, cardinality)` (`"si"`): the entity's tags at
//!   `LOW = 0`, `ORCHESTRATOR = 1` or `HIGH = 2` (module constants); any
//!   other cardinality is `TypeError("Invalid cardinality")`.
//! * `get_tags(entity_id, high_card)` (`"si"`, deprecated): `HIGH` if
//!   `high_card > 0`, else `LOW` (so `True`/`False` work).
//!
//! Both return a list of strings, or `None` without a host or tagger.

use super::pyarg;
use super::varargs;
use pyhost::module::Args;
use pyhost::Bound;
use pyhost::Python;
use pyhost::ToPython;
use pyhost::{Error, Result};

/// `tagger.LOW`.
pub const LOW: i32 = 0;
/// `tagger.ORCHESTRATOR`.
pub const ORCHESTRATOR: i32 = 1;
/// `tagger.HIGH`.
pub const HIGH: i32 = 2;

pyhost::host_function!(
    /// `tagger.tag(entity_id, cardinality)`: rtloader's `tag`.
    pyhost_rs_dd_tagger_tag,
    "tag",
    tag
);
pyhost::host_function!(
    /// `tagger.get_tags(entity_id, high_card)`: rtloader's `get_tags`.
    pyhost_rs_dd_tagger_get_tags,
    "get_tags",
    get_tags
);

/// The host's tags for `id` as a list, or `None` without a tagger.
/// `cardinality` selects the cardinality from the parsed int.
fn lookup<'py>(py: Python<'py>, args: &Args<'_, 'py>, cardinality: fn(i32) -> Result<i32>) -> Result<Bound<'py>> {
    let Some((tagger, a)) = varargs(args, 2, 2, |h| h.tagger.as_ref())? else {
        return Ok(py.None());
    };
    let id = pyarg::s(&a[0], 1)?;
    let card = cardinality(pyarg::i(&a[1])?)?;
    tagger(id, card).to_python(py)
}

fn tag<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    lookup(py, args, |c| match c {
        LOW | ORCHESTRATOR | HIGH => Ok(c),
        _ => Err(Error::type_error("Invalid cardinality")),
    })
}

fn get_tags<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    lookup(py, args, |high_card| Ok(if high_card > 0 { HIGH } else { LOW }))
}
