//! A Python thread state kept on a host thread for the thread's whole life.
//!
//! pyhost's GIL scopes ([`with_gil`](crate::with_gil), [`GilGuard`](crate::GilGuard))
//! take the GIL with `PyGILState_Ensure`. On a thread Python did not create
//! and that has no thread state, `Ensure` creates one and the matching
//! `PyGILState_Release` destroys it: 7-10 us per scope with a call in it
//! (`call_with_gil_fresh` in anchors.md) instead of ~70 ns. A host whose own
//! threads enter Python again and again (a C or Go host through pyhost-capi,
//! a thread pool the host does not control) calls [`keep_thread_state`] on
//! each of them once: from then on a scope on that thread is a plain GIL
//! cycle (`PyEval_RestoreThread` / `PyEval_SaveThread` under the hood).
//!
//! How: one `PyGILState_Ensure` that is not released until the thread exits
//! keeps the thread's `gilstate_counter` above zero, so later `Release`s
//! never delete the thread state. A thread-local destructor deletes it when
//! the thread exits (`Ensure`, then `Release` twice: the last one, with the
//! counter at zero, runs `PyThreadState_Clear` and deletes it).
//!
//! A thread with a kept thread state counts as a thread-state owner, like a
//! worker: [`Interpreter::finalize`](crate::Interpreter::finalize) is refused
//! while one is alive.

use std::cell::Cell;

use crate::err::Result;
use crate::ffi;
use crate::gil::gil_is_held;
use crate::interpreter;

/// This thread's kept thread state, if pyhost made one; released when the
/// thread exits.
struct Kept {
    /// 0: not decided yet; 1: pyhost keeps one (release it at exit);
    /// 2: the thread already had a lasting one (nothing to do).
    state: Cell<u8>,
}

const UNDECIDED: u8 = 0;
const KEPT: u8 = 1;
const NOT_OURS: u8 = 2;

impl Drop for Kept {
    fn drop(&mut self) {
        if self.state.get() != KEPT {
            return;
        }
        // Finalisation is refused while this thread is a registered owner,
        // but never call into an interpreter that is not running: if it is
        // not, the thread state is left as it is.
        if interpreter::enter().is_ok() {
            // SAFETY: the interpreter is running; this thread's kept thread
            // state has a gilstate counter of 1 and is not current. Ensure
            // makes it current (counter 2, returns UNLOCKED); Release(LOCKED)
            // drops the counter to 1 keeping the GIL; Release(UNLOCKED) drops
            // it to 0, which clears and deletes the thread state and releases
            // the GIL.
            unsafe {
                let state = ffi::PyGILState_Ensure();
                ffi::PyGILState_Release(ffi::PyGILState_STATE::PyGILState_LOCKED);
                ffi::PyGILState_Release(state);
            }
            interpreter::leave();
        }
        interpreter::unregister_thread_state_owner();
    }
}

thread_local! {
    static KEPT_STATE: Kept = const { Kept { state: Cell::new(UNDECIDED) } };
}

/// Give the calling thread a Python thread state that lives until the thread
/// exits, so that every later GIL scope on it costs a GIL cycle, not the
/// creation and destruction of a thread state. Cheap after the first call
/// (a thread-local read); call it at the start of every entry point a host
/// thread may use.
///
/// Nothing is done on a thread that already keeps one by other means (the
/// thread that initialised Python, a thread Python created, a pyhost worker),
/// nor inside a GIL scope (the call is nested; the outer entry point keeps
/// it).
///
/// Errors: the interpreter is not running.
pub fn keep_thread_state() -> Result<()> {
    KEPT_STATE.with(|k| {
        if k.state.get() != UNDECIDED || gil_is_held() {
            return Ok(());
        }
        interpreter::register_thread_state_owner()?;
        if let Err(e) = interpreter::enter() {
            interpreter::unregister_thread_state_owner();
            return Err(e);
        }
        // SAFETY: the interpreter is running (entered); reading this thread's
        // gilstate binding needs no GIL.
        let bound = unsafe { !ffi::PyGILState_GetThisThreadState().is_null() };
        if bound {
            // A thread state that outlives pyhost's scopes already exists
            // (pyhost holds no scope here, so it is not one of ours).
            interpreter::leave();
            interpreter::unregister_thread_state_owner();
            k.state.set(NOT_OURS);
            return Ok(());
        }
        // SAFETY: running interpreter; this thread has no thread state, so
        // Ensure creates one and takes the GIL (UNLOCKED); SaveThread
        // releases the GIL and leaves the thread state with a counter of 1,
        // released by `Kept::drop` at thread exit.
        unsafe {
            let state = ffi::PyGILState_Ensure();
            debug_assert!(matches!(state, ffi::PyGILState_STATE::PyGILState_UNLOCKED));
            ffi::PyEval_SaveThread();
        }
        interpreter::leave();
        k.state.set(KEPT);
        Ok(())
    })
}

/// Whether pyhost keeps a thread state on the calling thread
/// ([`keep_thread_state`] made one).
pub fn thread_state_is_kept() -> bool {
    KEPT_STATE.with(|k| k.state.get() == KEPT)
}
