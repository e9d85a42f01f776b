//! # pyhost: embed CPython in a native host through raw FFI
//!
//! pyhost keeps Python as the extension language of a Rust (or C) program:
//! plugins that are updated without recompiling the host, run concurrently
//! on threads that each keep one Python thread state, and call back into the
//! host through modules that live in the host's memory.
//!
//! ```no_run
//! use pyhost::{Interpreter, Result};
//!
//! fn main() -> Result<()> {
//!     let interp = Interpreter::builder().add_path("plugins").init()?;
//!     let greeting: String = interp.with_gil(|py| {
//!         let plugin = py.import("hello")?;
//!         plugin.getattr("greet")?.call1(("host",))?.extract()
//!     })?;
//!     println!("{greeting}");
//!     Ok(())
//! }
//! ```
//!
//! ## Layers
//!
//! * [`ffi`]: CPython's C API (`python3-sys`) plus the C shim compiled against
//!   the very headers of the Python we link (`csrc/`).
//! * [`Interpreter`]: `PyConfig` start-up, the run-time version check and the
//!   finalisation policy.
//! * [`Python`], [`with_gil`], [`GilGuard`]: the GIL token and its scopes.
//! * [`Bound`], [`Py`], [`Dict`], [`List`], [`Tuple`]: object handles.
//! * [`Error`], [`PyException`]: exceptions with type, message and traceback.
//! * [`ToPython`], [`FromPython`]: conversions.
//! * [`HostModule`], [`module`]: Rust functions exposed to Python as built-in
//!   modules behind C method tables, and the Python 2 `Py_InitModule` port.
//! * [`WorkerPool`], [`worker`]: thread-affine workers that each own one
//!   Python thread state for life; jobs, handles (blocking and `Future`),
//!   cancellation and timeouts.
//! * [`SubInterpreter`], [`subinterpreter`]: interpreters with their own GIL
//!   (3.12+), each on its own thread, running Python in parallel; [`interp`]:
//!   which interpreter an object belongs to.
//! * [`crash`]: what each thread was running, printed with the Python
//!   tracebacks when a fatal signal ends the process.
//! * [`keep_thread_state`]: a lasting Python thread state for a host thread
//!   that enters Python again and again (C and Go hosts).
//!
//! ## GIL rules
//!
//! Every API that touches Python needs a [`Python`] token, and the only safe
//! ways to get one take the GIL. Tokens and GIL-bound handles are `!Send`, so
//! GIL state cannot migrate between OS threads (the crash the Datadog Agent
//! hit when Go moved goroutines). See the [`gil`] module for the
//! `compile_fail` proofs.

#![warn(missing_docs)]

pub mod ffi;

mod code;
mod conv;
pub mod crash;
mod err;
pub mod gil;
pub mod interp;
pub mod interpreter;
pub mod module;
mod number;
mod object;
mod panic;
mod sequence;
pub mod subinterpreter;
mod thread_state;
mod typecheck;
pub mod worker;

pub use code::Mode;
pub use conv::{str_from_utf8, Bytes, FromPython, ToPython};
pub use err::{Error, ExcKind, PyException, Result};
pub use gil::{try_with_gil, with_gil, GilGuard, Python};
pub use interpreter::{Builder, Interpreter};
pub use module::{Args, HostModule};
pub use object::{Bound, Dict, IntoArgs, Iter, List, Py, Tuple};
pub use panic::panic_message;
pub use sequence::FastSequence;
pub use subinterpreter::{SubInterpreter, SubInterpreterConfig};
pub use thread_state::{keep_thread_state, thread_state_is_kept};
pub use worker::{JobError, JobHandle, JobOptions, WorkerPool};
