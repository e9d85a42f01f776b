//! Where a worker's thread state lives: in the main interpreter (the default
//! pool), or in an interpreter the worker creates for itself and ends when it
//! exits (a pool of own-GIL sub-interpreters, [`crate::subinterpreter`]).
//!
//! The worker thread attaches once and detaches once; in between, jobs run
//! between `PyEval_RestoreThread` and `PyEval_SaveThread` on that thread,
//! whatever the interpreter. Other threads (a canceller, the supervisor) may
//! need to act inside a worker's interpreter: for the main interpreter they
//! take the GIL as usual; for a worker's own interpreter they [`visit`] it
//! with a short-lived thread state, and the owner waits for visitors to leave
//! before it ends the interpreter.
//!
//! [`visit`]: OwnInterpreter::visit

use std::os::raw::c_char;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::err::{Error, Result};
use crate::ffi;
use crate::gil::{GilCountGuard, Python};
use crate::interp::{self, InterpreterId};
use crate::subinterpreter::SubInterpreterConfig;

/// A setup job run by each worker, in its interpreter, before any job.
#[derive(Clone)]
pub(crate) struct Setup(pub(crate) Arc<dyn for<'py> Fn(Python<'py>) -> Result<()> + Send + Sync>);

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Setup")
    }
}

/// Which interpreter a pool's workers live in.
#[derive(Clone, Copy, Debug)]
pub(crate) enum HomeKind {
    /// The main interpreter, through `PyGILState_Ensure` (one thread state
    /// per worker, bound to its thread).
    Main,
    /// An interpreter of its own per worker.
    Own(SubInterpreterConfig),
}

/// A sub-interpreter owned by a pool slot: created by the slot's first
/// worker, joined by a replacement (a worker abandoned in a stuck job keeps
/// its thread state there until the job returns), and ended by the last
/// member to leave. Other threads may visit it briefly.
pub(crate) struct OwnInterpreter {
    id: InterpreterId,
    interp: *mut ffi::PyInterpreterState,
    life: Mutex<Life>,
    changed: Condvar,
}

struct Life {
    /// False once the last member began ending it: nobody may enter.
    open: bool,
    /// Worker threads with a thread state in it.
    members: usize,
    /// Members deleting their thread state (the last one waits for them).
    leaving: usize,
    /// Other threads inside it right now.
    visitors: usize,
}

// SAFETY: `interp` is only used to create thread states of that interpreter
// (`PyThreadState_New`, which may be called from any thread), and only while
// `life` says it is open; its last member waits for every other thread state
// to be gone before ending it.
unsafe impl Send for OwnInterpreter {}
// SAFETY: as above; the rest is locks.
unsafe impl Sync for OwnInterpreter {}

impl OwnInterpreter {
    /// Run `f` inside this interpreter from the calling thread (not one of
    /// its workers): a new thread state of the interpreter, attached (taking
    /// its GIL) for the call and deleted after. Whatever thread state the
    /// caller had is detached meanwhile. `None` if the interpreter is ending.
    pub(crate) fn visit<R: Send>(&self, f: impl for<'py> FnOnce(Python<'py>) -> R + Send) -> Option<R> {
        {
            let mut life = self.life.lock();
            if !life.open {
                return None;
            }
            life.visitors += 1;
        }
        let interp = self.interp as usize;
        let id = self.id;
        let r = super::without_gil(move || {
            // SAFETY: the interpreter is alive (open, and we are counted as a
            // visitor: its last member waits for us before ending it); this
            // thread has no attached thread state (without_gil detached it).
            let ts = unsafe { new_attached_tstate(interp as *mut ffi::PyInterpreterState) }?;
            let r = {
                // SAFETY: the interpreter's GIL is held until DeleteCurrent.
                let count = unsafe { GilCountGuard::new() };
                interp::restore_current(id);
                let py = count.python();
                let r = f(py);
                interp::drain_current(py);
                r
            };
            // SAFETY: `ts` is this thread's current thread state, GIL held.
            unsafe { delete_current(ts) };
            Some(r)
        });
        let mut life = self.life.lock();
        life.visitors -= 1;
        self.changed.notify_all();
        r
    }

    /// Count a new member (a replacement worker), unless it is ending.
    fn join(&self) -> bool {
        let mut life = self.life.lock();
        if life.open {
            life.members += 1;
        }
        life.open
    }
}

/// A new thread state of `interp`, attached to the calling thread with the
/// interpreter's GIL taken.
///
/// # Safety
/// `interp` is alive for the call; the thread has no attached thread state.
unsafe fn new_attached_tstate(interp: *mut ffi::PyInterpreterState) -> Option<*mut ffi::PyThreadState> {
    // SAFETY: per the contract.
    let ts = unsafe { ffi::PyThreadState_New(interp) };
    if ts.is_null() {
        return None;
    }
    // SAFETY: `ts` is new and attached nowhere; RestoreThread takes the GIL.
    unsafe { ffi::PyEval_RestoreThread(ts) };
    Some(ts)
}

/// Delete the calling thread's thread state `ts` (cleared first), which
/// releases its GIL.
///
/// # Safety
/// `ts` is current on this thread with its GIL held, and not the
/// interpreter's last thread state that must end it.
unsafe fn delete_current(ts: *mut ffi::PyThreadState) {
    // SAFETY: per the contract.
    unsafe {
        ffi::PyThreadState_Clear(ts);
        ffi::PyThreadState_DeleteCurrent();
    }
}

/// A worker thread's attachment, to be undone by [`detach`].
pub(crate) enum Attached {
    Main(ffi::PyGILState_STATE),
    Own(Arc<OwnInterpreter>),
}

impl Attached {
    /// The worker's own interpreter, if it has one.
    pub(crate) fn own(&self) -> Option<&Arc<OwnInterpreter>> {
        match self {
            Attached::Main(_) => None,
            Attached::Own(o) => Some(o),
        }
    }
}

/// `sys.path` entries every new interpreter gets: the main interpreter's
/// additions (`Builder::add_path`).
pub(crate) fn extra_paths() -> Vec<PathBuf> {
    crate::interpreter::added_paths()
}

/// Attach the calling thread (a new worker): a thread state in the main
/// interpreter; or, for a pool of sub-interpreters, one in the slot's
/// interpreter (`slot_home`, kept by a worker this one replaces) or else in a
/// new interpreter. On success the thread holds the GIL of that interpreter,
/// and `setup` has run in it (not again in an interpreter joined).
///
/// # Safety
/// The interpreter is running and cannot finalise meanwhile (the caller is a
/// registered thread-state owner), and this thread has no thread state.
pub(crate) unsafe fn attach(
    kind: HomeKind,
    setup: Option<&Setup>,
    slot_home: Option<Arc<OwnInterpreter>>,
) -> Result<Attached> {
    let mut fresh = true;
    let attached = match kind {
        HomeKind::Main => {
            // SAFETY: per the contract. Ensure creates this thread's state,
            // binds it to the thread (so C code calling PyGILState_Ensure here
            // finds it) and takes the GIL.
            Attached::Main(unsafe { ffi::PyGILState_Ensure() })
        }
        HomeKind::Own(_) if slot_home.as_ref().is_some_and(|h| h.join()) => {
            let home = slot_home.expect("checked above");
            // SAFETY: we are counted as a member, so it stays alive; this
            // thread has no thread state (contract).
            if unsafe { new_attached_tstate(home.interp) }.is_none() {
                leave(&home);
                return Err(Error::Lifecycle(
                    "cannot create a thread state in the worker's sub-interpreter".into(),
                ));
            }
            fresh = false;
            Attached::Own(home)
        }
        HomeKind::Own(config) => {
            config.validate()?;
            let opts = config.options();
            let mut tstate = std::ptr::null_mut();
            let mut err = [0 as c_char; 512];
            // SAFETY: per the contract; opts and err outlive the call.
            let rc = unsafe { ffi::pyhost_subinterpreter_new(&opts, &mut tstate, err.as_mut_ptr(), err.len()) };
            if rc != 0 {
                // SAFETY: the shim NUL-terminates err.
                let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
                return Err(Error::Lifecycle(msg.to_string_lossy().into_owned()));
            }
            // SAFETY: the new thread state is attached with its GIL held.
            let count = unsafe { GilCountGuard::new() };
            let id = interp::register(count.python());
            // SAFETY: a live thread state of the new interpreter.
            let raw = unsafe { ffi::PyThreadState_GetInterpreter(tstate) };
            Attached::Own(Arc::new(OwnInterpreter {
                id,
                interp: raw,
                life: Mutex::new(Life {
                    open: true,
                    members: 1,
                    leaving: 0,
                    visitors: 0,
                }),
                changed: Condvar::new(),
            }))
        }
    };
    // SAFETY: the GIL of the worker's interpreter is held (attached above).
    let count = unsafe { GilCountGuard::new() };
    let py = count.python();
    let ready = (|| {
        if let Attached::Own(own) = &attached {
            interp::restore_current(own.id);
            if !fresh {
                return Ok(());
            }
            crate::interpreter::append_sys_path(py, &extra_paths())?;
        }
        // Created now, so a cancellation never has to create them.
        super::ExcTypes::get(py)?;
        match setup {
            Some(setup) => (setup.0)(py),
            None => Ok(()),
        }
    })();
    drop(count);
    match ready {
        Ok(()) => Ok(attached),
        Err(e) => {
            // SAFETY: the GIL is held, as detach expects.
            unsafe { detach(attached) };
            Err(e)
        }
    }
}

/// A member that could not attach after all.
fn leave(home: &OwnInterpreter) {
    let mut life = home.life.lock();
    life.members -= 1;
    home.changed.notify_all();
}

/// Undo [`attach`]: delete the main-interpreter thread state; in a pool of
/// sub-interpreters, delete this worker's thread state there, or, for the
/// last member, end the interpreter (after visitors and other members left,
/// with its queued decrements applied and pyhost's objects in it released).
///
/// # Safety
/// The calling thread is the one that attached, and holds the GIL of its
/// interpreter (its thread state restored); no GIL scope is open.
pub(crate) unsafe fn detach(attached: Attached) {
    match attached {
        Attached::Main(gstate) => {
            // SAFETY: matches the PyGILState_Ensure of attach on this thread,
            // with the GIL held; the outermost Release clears and deletes the
            // thread state and releases the GIL.
            unsafe { ffi::PyGILState_Release(gstate) };
        }
        Attached::Own(own) => {
            let last = {
                let mut life = own.life.lock();
                if life.members > 1 {
                    life.members -= 1;
                    life.leaving += 1;
                    false
                } else {
                    life.open = false;
                    true
                }
            };
            if !last {
                // SAFETY: the GIL is held (contract); another member ends the
                // interpreter, after we are gone.
                unsafe { delete_current(ffi::PyThreadState_Get()) };
                let mut life = own.life.lock();
                life.leaving -= 1;
                own.changed.notify_all();
                return;
            }
            // Visitors and leaving members wait for this interpreter's GIL:
            // let them in and out before ending it.
            // SAFETY: the GIL is held (contract); the state is restored below.
            let tstate = unsafe { ffi::PyEval_SaveThread() };
            {
                let mut life = own.life.lock();
                while life.visitors > 0 || life.leaving > 0 {
                    own.changed.wait(&mut life);
                }
            }
            // SAFETY: `tstate` was saved just above, on this thread.
            unsafe { ffi::PyEval_RestoreThread(tstate) };
            {
                // SAFETY: the GIL is held.
                let count = unsafe { GilCountGuard::new() };
                interp::restore_current(own.id);
                interp::retire(count.python(), own.id);
            }
            // SAFETY: `tstate` is the interpreter's last thread state, current
            // on this thread with its GIL held; ending it leaves this thread
            // with no thread state.
            unsafe { ffi::Py_EndInterpreter(tstate) };
        }
    }
}
