//! Where a check's Python runs.
//!
//! * [`Isolation::Shared`]: every check in the main interpreter, on the
//!   agent's worker pool: rtloader's model. Under one GIL the checks take
//!   turns; on a free-threaded build (3.13t) they run in parallel anyway.
//! * [`Isolation::Subinterpreter`]: each check in an interpreter of its own
//!   with its own GIL (CPython 3.12+), on a thread of its own; the instances
//!   of a check share it (their class and module globals must). Checks run in
//!   parallel, and one check's globals, imports and monkey-patches cannot
//!   reach another. The Datadog modules work in every interpreter and submit
//!   into the one Rust aggregator.
//!
//! * [`Isolation::Process`]: checks in N worker processes, each the
//!   agent's program in a worker role with its own interpreter; each check
//!   lives in one of them. A segfault, `os._exit` or the OOM killer ends a
//!   worker, which is reported against the check and instance it ran and
//!   replaced; the agent and the other workers' checks go on. What the
//!   checks submit is replayed into the agent's aggregator, exactly. Each
//!   worker has its own GIL, so this runs checks in parallel on 3.11 too.
//!   See [`crate::process`].
//!
//! A check whose imports refuse sub-interpreters (a single-phase extension
//! module raises `ImportError: module X does not support loading in
//! subinterpreters`; `pydantic_core` is one, so is any Python 2 era
//! extension) falls back to the main interpreter by itself, reported once
//! when it loads.

use std::time::Duration;

use pyhost::worker::PoolBuilder;
use pyhost::{SubInterpreterConfig, WorkerPool};

use crate::check::LoadError;
use crate::pybase;

/// Where checks run; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    /// All checks in the main interpreter, on the shared worker pool.
    Shared,
    /// Each check in its own sub-interpreter with its own GIL (3.12+).
    Subinterpreter,
    /// Checks in worker processes (the agent's program in a worker role):
    /// a crash ends a worker, never the agent (see [`crate::process`]).
    Process,
}

impl Isolation {
    /// What is fastest and safe for the Python this was built against:
    /// sub-interpreters where they bring parallelism (a default build of 3.12
    /// or newer), the shared interpreter elsewhere (before 3.12 there are no
    /// own-GIL interpreters; a free-threaded build runs the shared pool in
    /// parallel already, without an interpreter per check to pay for).
    pub fn best_for_build() -> Isolation {
        if pyhost::subinterpreter::supported() && !pyhost::interpreter::compiled_free_threaded() {
            Isolation::Subinterpreter
        } else {
            Isolation::Shared
        }
    }

    /// `"shared"`, `"subinterpreter"` or `"process"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Shared => "shared",
            Isolation::Subinterpreter => "subinterpreter",
            Isolation::Process => "process",
        }
    }
}

/// A check's own interpreter: a one-worker pool whose worker owns an own-GIL
/// sub-interpreter with the `checks` base package installed (the checks
/// directory is already on its `sys.path`: the main interpreter's additions
/// are applied to every new interpreter).
pub(crate) fn own_interpreter(check: &str, stuck_grace: Duration) -> pyhost::Result<WorkerPool> {
    PoolBuilder::default()
        .workers(1)
        .name(format!("pyhost-{check}"))
        .stuck_grace(stuck_grace)
        .subinterpreters(SubInterpreterConfig::default())
        .setup(|py| pybase::install(py).map(drop))
        .build()
}

/// Whether a load failed because something the check imports cannot live
/// in a sub-interpreter (CPython's message for a single-phase extension).
pub(crate) fn refuses_subinterpreters(err: &LoadError) -> bool {
    let text = |s: &str| s.contains("does not support loading in subinterpreters");
    text(&err.message) || err.traceback.as_deref().is_some_and(text)
}
