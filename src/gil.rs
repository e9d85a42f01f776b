//! The GIL: the `Python<'py>` token, `with_gil`, `allow_threads`, and the
//! pool of reference-count decrements deferred until the GIL is next held.
//!
//! The rules the types enforce (the crashes from the Datadog talk):
//!
//! 1. Touching Python needs a [`Python`] token, and the only safe ways to get
//!    one acquire the GIL ([`with_gil`], a worker job, a host-module callback).
//! 2. A token, a [`GilGuard`] and every [`Bound`](crate::Bound) are `!Send` and
//!    `!Sync`: the GIL state taken on one OS thread cannot be released on another.
//! 3. [`Python::allow_threads`] releases the GIL around blocking Rust work; its
//!    closure must be `Send`, so it cannot capture the token or any GIL-bound value.
//!
//! On a free-threaded build (3.13t, `cfg(Py_GIL_DISABLED)`) there is no GIL:
//! the token then proves that the thread has an *attached thread state*, which
//! every C API call needs, and `allow_threads` detaches it around blocking
//! work. The rules above and the types that enforce them are unchanged; other
//! threads may run Python at the same time, and pyhost's own shared state is
//! protected by locks and atomics, never by the GIL (docs/cpython-abi.md).
//!
//! ```compile_fail,E0277
//! // The token cannot be sent to another thread.
//! pyhost::with_gil(|py| {
//!     std::thread::spawn(move || {
//!         let _ = py.None();
//!     });
//! });
//! ```
//!
//! ```compile_fail,E0277
//! // `allow_threads` releases the GIL; its closure cannot use the token.
//! pyhost::with_gil(|py| {
//!     py.allow_threads(|| {
//!         let _ = py.None();
//!     });
//! });
//! ```
//!
//! ```compile_fail,E0277
//! // A guard that holds the GIL cannot move to another thread, where it would
//! // call PyGILState_Release on a thread that never called Ensure.
//! let guard = pyhost::GilGuard::acquire();
//! std::thread::spawn(move || drop(guard));
//! ```
//!
//! ```compile_fail,E0277
//! // Nor can a Python object borrowed under the GIL.
//! pyhost::with_gil(|py| {
//!     let obj = py.None();
//!     std::thread::spawn(move || drop(obj));
//! });
//! ```

use crate::err::{Error, Result};
use crate::ffi;
use crate::interpreter;
use std::cell::Cell;
use std::marker::PhantomData;

thread_local! {
    /// How many GIL scopes this thread is inside. >0 means this thread holds
    /// the GIL (pyo3's design: nesting costs a thread-local increment).
    static GIL_COUNT: Cell<isize> = const { Cell::new(0) };
}

/// True if this thread holds the GIL through pyhost (a `with_gil` scope, a
/// worker job or a host-module callback).
#[inline]
pub fn gil_is_held() -> bool {
    GIL_COUNT.with(|c| c.get() > 0)
}

#[inline]
fn increment_gil_count() {
    GIL_COUNT.with(|c| c.set(c.get() + 1));
}

#[inline]
fn decrement_gil_count() {
    GIL_COUNT.with(|c| c.set(c.get() - 1));
}

/// A token proving that this thread holds the GIL for the lifetime `'py`.
///
/// It is `Copy` (pass it freely down the stack) but neither `Send` nor `Sync`.
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

impl std::fmt::Debug for Python<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Python")
    }
}

impl<'py> Python<'py> {
    /// Conjure a token without acquiring anything.
    ///
    /// # Safety
    /// The calling thread must hold the GIL for all of `'py`, and pyhost's
    /// GIL count for this thread must already say so (see [`GilGuard`]), or
    /// the code using the token must not drop owned handles.
    #[inline]
    pub unsafe fn assume_gil_acquired() -> Python<'py> {
        Python(PhantomData)
    }

    /// Run `f` with the GIL released (`PyEval_SaveThread` /
    /// `PyEval_RestoreThread`), so other threads can run Python while this one
    /// does blocking host work.
    ///
    /// The closure and its result must be `Send`, which keeps the token and
    /// every GIL-bound value out of it. If `f` panics the GIL is re-acquired
    /// before the panic continues.
    pub fn allow_threads<T, F>(self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        struct Restore {
            count: isize,
            interp: crate::interp::InterpreterId,
            tstate: *mut ffi::PyThreadState,
        }
        impl Drop for Restore {
            fn drop(&mut self) {
                GIL_COUNT.with(|c| c.set(self.count));
                // The same thread state comes back, so the same interpreter
                // (a GIL scope opened inside `f` may have cached another).
                crate::interp::restore_current(self.interp);
                // SAFETY: `tstate` came from PyEval_SaveThread on this thread
                // and has not been restored yet.
                unsafe { ffi::PyEval_RestoreThread(self.tstate) };
            }
        }
        let interp = crate::interp::current_id();
        let count = GIL_COUNT.with(|c| c.replace(0));
        // SAFETY: the token proves this thread holds the GIL.
        let tstate = unsafe { ffi::PyEval_SaveThread() };
        let _restore = Restore { count, interp, tstate };
        f()
    }

    /// `None`, as an owned handle.
    #[allow(non_snake_case)]
    #[inline]
    pub fn None(self) -> crate::Bound<'py> {
        // SAFETY: Py_None is an immortal-enough static; we take a new reference.
        unsafe { crate::Bound::from_borrowed_ptr(self, ffi::Py_None()) }
    }

    /// `True` or `False`, as an owned handle.
    #[inline]
    pub fn bool(self, v: bool) -> crate::Bound<'py> {
        // SAFETY: Py_True/Py_False are static objects; we take a new reference.
        unsafe { crate::Bound::from_borrowed_ptr(self, if v { ffi::Py_True() } else { ffi::Py_False() }) }
    }

    /// Run pending signal handlers (`PyErr_CheckSignals`). Only the main
    /// thread ever sees signals, and only if the interpreter installed its
    /// handlers.
    pub fn check_signals(self) -> Result<()> {
        // SAFETY: GIL held (token).
        if unsafe { ffi::PyErr_CheckSignals() } != 0 {
            return Err(Error::fetch(self));
        }
        Ok(())
    }
}

/// Holds the GIL for as long as it lives: `PyGILState_Ensure` on creation and
/// `PyGILState_Release` on drop, unless this thread already held it through
/// pyhost, in which case both are free.
///
/// Prefer [`with_gil`]; the guard exists for code that cannot be a closure.
pub struct GilGuard {
    state: Option<ffi::PyGILState_STATE>,
    _not_send: PhantomData<*mut ()>,
}

impl std::fmt::Debug for GilGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GilGuard")
            .field("outermost", &self.state.is_some())
            .finish()
    }
}

impl GilGuard {
    /// Acquire the GIL. Panics if the interpreter is not running; use
    /// [`GilGuard::try_acquire`] to get an error instead.
    pub fn acquire() -> GilGuard {
        match GilGuard::try_acquire() {
            Ok(g) => g,
            Err(e) => panic!("pyhost: cannot acquire the GIL: {e}"),
        }
    }

    /// Acquire the GIL, or say why the interpreter cannot be entered.
    #[inline]
    pub fn try_acquire() -> Result<GilGuard> {
        // Nested: count it, in one thread-local access (in a shared library
        // each access is a `__tls_get_addr` call).
        let nested = GIL_COUNT.with(|c| {
            let n = c.get();
            if n > 0 {
                c.set(n + 1);
            }
            n > 0
        });
        if nested {
            return Ok(GilGuard {
                state: None,
                _not_send: PhantomData,
            });
        }
        interpreter::enter()?;
        // SAFETY: the interpreter is initialised and not finalised; this
        // thread does not hold the GIL through pyhost. PyGILState_Ensure is
        // re-entrant if foreign code on this thread holds it.
        let state = unsafe { ffi::PyGILState_Ensure() };
        increment_gil_count();
        // Ensure picks the thread state (normally the main interpreter's).
        crate::interp::reset_current();
        let guard = GilGuard {
            state: Some(state),
            _not_send: PhantomData,
        };
        crate::interp::drain_current(guard.python());
        Ok(guard)
    }

    /// The token for this guard's lifetime.
    #[inline]
    pub fn python(&self) -> Python<'_> {
        // SAFETY: the guard holds the GIL while it lives.
        unsafe { Python::assume_gil_acquired() }
    }
}

impl Drop for GilGuard {
    #[inline]
    fn drop(&mut self) {
        decrement_gil_count();
        if let Some(state) = self.state.take() {
            // SAFETY: matches the PyGILState_Ensure in try_acquire, on the
            // same thread (the guard is !Send).
            unsafe { ffi::PyGILState_Release(state) };
            interpreter::leave();
        }
    }
}

/// Run `f` with the GIL held. Nested calls on one thread are cheap.
///
/// Panics if the interpreter has not been started with
/// [`Interpreter::builder`](crate::Interpreter::builder) or has been finalised;
/// [`try_with_gil`] returns that as an error instead.
///
/// ```no_run
/// # fn main() -> pyhost::Result<()> {
/// pyhost::Interpreter::builder().init()?;
/// let n: i64 = pyhost::with_gil(|py| py.eval("6 * 7", None, None)?.extract())?;
/// assert_eq!(n, 42);
/// # Ok(()) }
/// ```
#[inline]
pub fn with_gil<F, R>(f: F) -> R
where
    F: for<'py> FnOnce(Python<'py>) -> R,
{
    let guard = GilGuard::acquire();
    f(guard.python())
}

/// Like [`with_gil`], but returns an error if the interpreter is not running.
#[inline]
pub fn try_with_gil<F, R>(f: F) -> Result<R>
where
    F: for<'py> FnOnce(Python<'py>) -> R,
{
    let guard = GilGuard::try_acquire()?;
    Ok(f(guard.python()))
}

/// Marks the current thread as holding the GIL for pyhost's purposes while it
/// lives. For code that acquired the GIL by other means (a worker restoring
/// its thread state, a C callback entered from Python).
pub(crate) struct GilCountGuard {
    _not_send: PhantomData<*mut ()>,
}

impl GilCountGuard {
    /// # Safety
    /// The calling thread must hold the GIL for the guard's whole life.
    #[inline]
    pub(crate) unsafe fn new() -> GilCountGuard {
        if crate::interp::subinterpreters_exist() && !gil_is_held() {
            // Entered from outside pyhost (a call from Python, a worker's
            // thread state): which interpreter is asked when needed. (With
            // one interpreter there is nothing to ask.)
            crate::interp::reset_current();
        }
        increment_gil_count();
        GilCountGuard { _not_send: PhantomData }
    }

    #[inline]
    pub(crate) fn python(&self) -> Python<'_> {
        // SAFETY: constructed only while the GIL is held (see `new`).
        unsafe { Python::assume_gil_acquired() }
    }
}

impl Drop for GilCountGuard {
    #[inline]
    fn drop(&mut self) {
        decrement_gil_count();
    }
}

/// Number of reference-count decrements waiting for some thread to take the
/// GIL (handles dropped on threads that did not hold it).
pub fn pending_decrefs() -> usize {
    crate::interp::pending_decrefs()
}
