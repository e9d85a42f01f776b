//! `_util` (rtloader's `common/builtins/_util.c`) and `util` (`util.c`).
//!
//! `_util.subprocess_output(command, raise_on_empty=<unset>, *, env=None)`
//! and its alias `get_subprocess_output` run `command` (a non-empty list of
//! strings, executed directly: never a shell) with
//! [`subprocess_output`], the
//! GIL released while the child runs, and return `(stdout, stderr,
//! returncode)`. As rtloader (format `"O|O$O:get_subprocess_output"`):
//!
//! * `TypeError`: `command args is not a list`, `invalid command: empty
//!   list`, `command argument must be valid strings` (str or bytes),
//!   `env is not a dict`, `env key is not a string`, `env value is not a
//!   string`, `bad raise_on_empty argument: should be bool`, and the
//!   argument-parsing errors of `get_subprocess_output()`;
//! * `env` is passed as the child's whole environment; `None` or `{}`
//!   inherits the host's (rtloader passes no array for an empty dict);
//! * with `raise_on_empty=True` and nothing on stdout:
//!   `_util.SubprocessOutputEmptyError("get_subprocess_output expected
//!   output but had none.")` (the type from the module's state);
//! * a command that cannot be started: `Exception("internal error starting
//!   subprocess: ...")`, the Agent's message;
//! * no host installed: `None` (rtloader with the callback unset).
//!
//! `util.headers(*args, **kwargs)` is `datadog_agent.headers`.

use super::c_tables::util_empty_output_error;
use super::pyarg::{self, KwArgs, KwSpec};
use crate::host::host;
use crate::subprocess::subprocess_output;
use pyhost::module::Args;
use pyhost::{Bound, Error, ExcKind, PyException, Python, Result, ToPython};

pyhost::host_function!(
    /// `_util.subprocess_output(...)`: rtloader's `subprocess_output`.
    pyhost_rs_dd__util_subprocess_output,
    "subprocess_output",
    run_subprocess
);
pyhost::host_function!(
    /// `_util.get_subprocess_output(...)`: the same function under the name
    /// `datadog-checks-base` imports.
    pyhost_rs_dd__util_get_subprocess_output,
    "get_subprocess_output",
    run_subprocess
);
pyhost::host_function!(
    /// `util.headers(*args, **kwargs)`: rtloader's `_public_headers`.
    pyhost_rs_dd_util_headers,
    "headers",
    super::datadog_agent::headers
);

static SUBPROCESS_OUTPUT: KwSpec = KwSpec {
    fname: Some("get_subprocess_output"),
    kwlist: &["command", "raise_on_empty", "env"],
    required: 1,
    max_positional: 2,
};

/// The message of `SubprocessOutputEmptyError`.
pub const EMPTY_OUTPUT_MESSAGE: &str = "get_subprocess_output expected output but had none.";

fn run_subprocess<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    if host().is_none() {
        return Ok(py.None());
    }
    let p = KwArgs::parse(args, &SUBPROCESS_OUTPUT)?;
    let command = p.required(0)?;
    let raise_on_empty = p.get(1);
    let env = p.get(2);
    p.finish()?;

    if !command.is_list() {
        return Err(Error::type_error("command args is not a list"));
    }
    let command = command.downcast_list()?;
    if command.is_empty() {
        return Err(Error::type_error("invalid command: empty list"));
    }
    let mut argv = Vec::with_capacity(command.len());
    let mut i = 0;
    while i < command.len() {
        let item = command.get(i)?;
        i += 1;
        match pyarg::as_string(Some(&item)) {
            Some(a) => argv.push(a.into_owned()),
            None => return Err(Error::type_error("command argument must be valid strings")),
        }
    }

    let mut vars = None;
    if let Some(env) = env.filter(|e| !e.is_none()) {
        let Ok(env) = env.downcast_dict() else {
            return Err(Error::type_error("env is not a dict"));
        };
        let mut pairs = Vec::with_capacity(env.len());
        for (k, v) in env.items() {
            let Some(k) = pyarg::as_string(Some(&k)).map(|k| k.into_owned()) else {
                return Err(Error::type_error("env key is not a string"));
            };
            let Some(v) = pyarg::as_string(Some(&v)).map(|v| v.into_owned()) else {
                return Err(Error::type_error("env value is not a string"));
            };
            pairs.push((k, v));
        }
        if !pairs.is_empty() {
            vars = Some(pairs);
        }
    }

    let raise = match raise_on_empty {
        Some(r) if !r.is_bool() => {
            return Err(Error::type_error("bad raise_on_empty argument: should be bool"));
        }
        Some(r) => r.is_true(),
        None => false,
    };

    let result = py.allow_threads(|| subprocess_output(&argv, vars.as_deref()));

    let (stdout, stderr, code) = match result {
        Ok(out) => out,
        Err(_) if raise => return Err(empty_output_error(args)),
        Err(e) => {
            return Err(Error::new(
                ExcKind::Exception,
                format!("internal error starting subprocess: {e}"),
            ));
        }
    };
    if raise && stdout.is_empty() {
        return Err(empty_output_error(args));
    }
    (stdout, stderr, code).to_python(py)
}

/// `SubprocessOutputEmptyError(EMPTY_OUTPUT_MESSAGE)`, the type taken from
/// the state of the `_util` module this call came through.
fn empty_output_error(args: &Args<'_, '_>) -> Error {
    match util_empty_output_error(args.self_obj()).and_then(|ty| ty.call1((EMPTY_OUTPUT_MESSAGE,))) {
        Ok(exc) => Error::Python(PyException::from_value(exc)),
        Err(e) => e,
    }
}
