//! Keeping one check's misbehaviour away from the others and from the
//! outputs, in one process (`docs/reliability.md` has the whole picture).
//!
//! * [`RunScope`]: entered by every job that runs check code. It labels
//!   the worker thread for crash reports ([`pyhost::crash`]: a fatal
//!   signal prints which check and instance every worker was running, then
//!   the Python tracebacks) and names the check whose `print()`s the thread
//!   writes; on exit it flushes that output and, in a process a check
//!   forked, ends that process before it reaches the worker loop.
//! * [`output`]: `sys.stdout`/`sys.stderr` of every interpreter go to the
//!   log, line by line, under the writing check's id.
//! * [`reserve_stdout`]: descriptor 1 points at stderr and the outputs
//!   write to a copy of the real stdout, so a C `printf` or a child
//!   process cannot write into them either.
//! * [`reaper`]: children a check started and abandoned are reaped, never
//!   those a `subprocess.Popen` (or the host) will wait for.
//! * The built-in modules are read-only from Python (`checks._guards`): a
//!   check that assigns `aggregator.submit_metric = ...` gets an
//!   `AttributeError`, and every other check keeps the real function.
//! * [`Limits`]: the flags for the YAML loading budgets and the per-check
//!   context limit, applied by [`Limits::install`] with the process-wide
//!   guards (crash report, reaper).

pub mod output;
pub mod reaper;
mod stdout;

pub use stdout::reserve_stdout;

use std::sync::Arc;

use pyhost::module::HostModule;
use pyhost::{Bound, Python, Result};

use crate::config::{set_load_limits, LoadLimits};
use crate::host::AgentHost;

/// The private module through which `checks._guards` reaches the host.
pub const HOST_MODULE: &str = "_pyhost_agent";

/// `_pyhost_agent`: `output_write(fd, text)`, `output_flush(fd)`,
/// `own_child(pid)`, `disown_child(pid)`. Registered with the Datadog
/// modules by [`add_builtin_modules`](crate::modules::add_builtin_modules).
pub fn host_module() -> HostModule {
    HostModule::new(HOST_MODULE)
        .doc("pyhost's own hooks for the checks base package (not for checks).")
        .function("output_write", "output_write(fd, text)", |py, args| {
            args.check(&["fd", "text"], 2)?;
            let fd: i64 = args.get(0, "fd")?;
            let text: &str = args.get(1, "text")?;
            output::write(fd, text);
            Ok(py.None())
        })
        .function("output_flush", "output_flush(fd)", |py, args| {
            args.check(&["fd"], 1)?;
            output::flush_thread(args.get(0, "fd")?);
            Ok(py.None())
        })
        .function("own_child", "own_child(pid)", |py, args| {
            args.check(&["pid"], 1)?;
            reaper::own(args.get(0, "pid")?);
            Ok(py.None())
        })
        .function("disown_child", "disown_child(pid)", |py, args| {
            args.check(&["pid"], 1)?;
            reaper::disown(args.get(0, "pid")?);
            Ok(py.None())
        })
}

/// Install the Python side in the calling interpreter (the base package's
/// `checks._guards`): the output streams and the Popen registry when the
/// host module is there, read-only built-in modules always. Called by
/// [`pybase::install`](crate::pybase::install) in every interpreter.
pub(crate) fn install_in_interpreter<'py>(py: Python<'py>, guards: &Bound<'py>) -> Result<()> {
    let host = py.import(HOST_MODULE).ok();
    let mut names: Vec<&str> = crate::modules::MODULE_NAMES.to_vec();
    names.push(HOST_MODULE);
    guards
        .getattr("install")?
        .call1((host.unwrap_or_else(|| py.None()), names))?;
    Ok(())
}

/// What a job running check code is doing, for as long as it lives: see
/// the module docs.
#[derive(Debug)]
pub struct RunScope {
    _label: pyhost::crash::LabelGuard,
}

impl RunScope {
    /// A run (or `cancel()`) of instance `index` of check `check`.
    pub fn run(check: &str, index: usize, check_id: &str) -> RunScope {
        RunScope::enter(&format!("check {check} instance #{index} ({check_id})"), check_id)
    }

    /// Loading check `check` (import, instantiation).
    pub fn load(check: &str) -> RunScope {
        RunScope::enter(&format!("loading check {check}"), check)
    }

    fn enter(label: &str, writer: &str) -> RunScope {
        let label = pyhost::crash::set_label(label);
        output::set_writer(Some(Arc::from(writer)));
        RunScope { _label: label }
    }
}

impl Drop for RunScope {
    fn drop(&mut self) {
        // First: a forked child must not touch the locks below (another
        // thread of the parent may have held them at the fork).
        pyhost::worker::exit_if_forked_child();
        output::flush_thread(0);
        output::set_writer(None);
    }
}

/// The reliability flags every check-running program shares (a `clap`
/// group, flattened into [`HostSetup`](crate::setup::HostSetup)).
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Largest configuration file, and most text in one loaded YAML document
    /// (aliases counted at their expansion), in bytes
    #[arg(long, value_name = "BYTES", default_value_t = LoadLimits::DEFAULT.max_bytes)]
    pub yaml_max_bytes: usize,
    /// Most nodes in one loaded YAML document, aliases counted at their
    /// expansion (an alias bomb stops here)
    #[arg(long, value_name = "N", default_value_t = LoadLimits::DEFAULT.max_nodes)]
    pub yaml_max_nodes: usize,
    /// Deepest nesting in one YAML document
    #[arg(long, value_name = "N", default_value_t = LoadLimits::DEFAULT.max_depth)]
    pub yaml_max_depth: usize,
    /// Metric contexts one check instance may hold; samples of new contexts
    /// past it are dropped with a warning (0: no limit)
    #[arg(long, value_name = "N", default_value_t = crate::aggregator::DEFAULT_CONTEXT_LIMIT)]
    pub max_contexts_per_check: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            yaml_max_bytes: LoadLimits::DEFAULT.max_bytes,
            yaml_max_nodes: LoadLimits::DEFAULT.max_nodes,
            yaml_max_depth: LoadLimits::DEFAULT.max_depth,
            max_contexts_per_check: crate::aggregator::DEFAULT_CONTEXT_LIMIT,
        }
    }
}

/// The process-wide guards; dropping it flushes what checks wrote and did
/// not end with a newline.
#[derive(Debug)]
#[must_use = "dropping the guards flushes the checks' pending output: keep them until exit"]
pub struct ProcessGuards(());

impl Drop for ProcessGuards {
    fn drop(&mut self) {
        output::flush_all();
    }
}

impl Limits {
    /// The YAML budgets these flags set.
    pub fn load_limits(&self) -> LoadLimits {
        LoadLimits {
            max_bytes: self.yaml_max_bytes,
            max_nodes: self.yaml_max_nodes,
            max_depth: self.yaml_max_depth,
        }
    }

    /// Apply the limits and start the process-wide guards: the YAML budgets,
    /// `host`'s context limit, the crash report (needs the main
    /// interpreter running) and the child reaper. Call once, after
    /// [`HostSetup::start`](crate::setup::HostSetup::start) and before
    /// loading checks.
    pub fn install(&self, host: &AgentHost) -> Result<ProcessGuards> {
        set_load_limits(self.load_limits());
        host.aggregator.set_context_limit(self.max_contexts_per_check);
        pyhost::with_gil(pyhost::crash::install_crash_report)?;
        reaper::start();
        Ok(ProcessGuards(()))
    }
}
