//! The interpreters pyhost knows, and what it keeps per interpreter.
//!
//! One process may run several interpreters (the main one, and own-GIL
//! sub-interpreters, see [`crate::subinterpreter`]). A Python object belongs to
//! the interpreter that made it: touching it (even its reference count) from
//! another one, whose GIL is a different lock, is a data race. So:
//!
//! * every [`Py`] records its interpreter; binding it in another one
//!   is an error, and dropping it there defers the decrement to its own
//!   interpreter's queue (drained when a thread next enters that interpreter);
//! * Python objects pyhost creates lazily (the `PanicException` class, host
//!   exception types, the job-cancellation classes, the type of closure-backed
//!   functions) are cached per interpreter (`cached`);
//! * when a sub-interpreter ends, its queue is drained and its cache dropped,
//!   with its GIL held, before `Py_EndInterpreter`; handles still pointing into
//!   it are then leaked, never touched.
//!
//! The current interpreter of a thread is cached in a thread-local for the
//! length of a GIL scope. Until the first sub-interpreter is created, every
//! check here is a single relaxed atomic load: a process with one interpreter
//! pays nothing else.

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::err::Result;
use crate::ffi;
use crate::gil::Python;
use crate::object::{Bound, Py};

/// An interpreter's id (`PyInterpreterState_GetID`): never reused in a process.
pub type InterpreterId = i64;

/// The main interpreter's id.
pub const MAIN_INTERPRETER: InterpreterId = 0;

const UNKNOWN: InterpreterId = -1;

/// Set once the first sub-interpreter is created; before that, every object
/// belongs to the main interpreter.
static SUBINTERPRETERS: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The interpreter of the thread state this thread runs in its current
    /// GIL scope, or UNKNOWN (asked from CPython on first use).
    static CURRENT: Cell<InterpreterId> = const { Cell::new(UNKNOWN) };
}

/// Whether any sub-interpreter was ever created in this process.
#[inline(always)]
pub(crate) fn subinterpreters_exist() -> bool {
    SUBINTERPRETERS.load(Ordering::Relaxed)
}

/// The interpreter of the calling thread's current thread state. The caller
/// holds the GIL (or an attached thread state).
#[inline]
pub(crate) fn current_id() -> InterpreterId {
    if !subinterpreters_exist() {
        return MAIN_INTERPRETER;
    }
    CURRENT.with(|c| {
        let v = c.get();
        if v != UNKNOWN {
            return v;
        }
        let id = query_current();
        c.set(id);
        id
    })
}

#[cold]
fn query_current() -> InterpreterId {
    // SAFETY: the caller has an attached thread state (it holds the GIL).
    unsafe { ffi::PyInterpreterState_GetID(ffi::PyInterpreterState_Get()) }
}

/// The id of the interpreter the calling thread is in (it must hold the GIL).
pub fn current(_py: Python<'_>) -> InterpreterId {
    current_id()
}

/// Forget the cached interpreter: the thread is entering a GIL scope whose
/// thread state pyhost did not choose. Returns the previous value, to put
/// back with [`restore_current`].
#[inline(always)]
pub(crate) fn reset_current() -> InterpreterId {
    CURRENT.with(|c| c.replace(UNKNOWN))
}

/// Put back a value from [`reset_current`] (or record a known interpreter).
#[inline(always)]
pub(crate) fn restore_current(id: InterpreterId) {
    CURRENT.with(|c| c.set(id));
}

/// Decrements waiting for some thread to enter their object's interpreter.
pub(crate) struct DecrefQueue {
    dirty: AtomicBool,
    pending: Mutex<Vec<NonNull<ffi::PyObject>>>,
}

// SAFETY: the pointers are only dereferenced (decref'd) by a thread inside
// their interpreter, after being taken out of the mutex; they are owned
// references in transit.
unsafe impl Sync for DecrefQueue {}
// SAFETY: as above.
unsafe impl Send for DecrefQueue {}

impl DecrefQueue {
    const fn new() -> DecrefQueue {
        DecrefQueue {
            dirty: AtomicBool::new(false),
            pending: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, obj: NonNull<ffi::PyObject>) {
        self.pending.lock().push(obj);
        self.dirty.store(true, Ordering::Release);
    }

    #[inline]
    fn drain_if_dirty(&self, py: Python<'_>) {
        if self.dirty.load(Ordering::Acquire) {
            self.drain(py);
        }
    }

    #[cold]
    fn drain(&self, _py: Python<'_>) {
        // Take the list first: a decref can run __del__, which may drop more
        // handles on another thread and push here; never hold the lock while
        // running Python.
        let pending = {
            let mut guard = self.pending.lock();
            self.dirty.store(false, Ordering::Release);
            std::mem::take(&mut *guard)
        };
        for obj in pending {
            // SAFETY: the caller is inside this queue's interpreter (token);
            // each entry is an owned reference of one of its objects.
            unsafe { ffi::Py_DECREF(obj.as_ptr()) };
        }
    }

    fn len(&self) -> usize {
        self.pending.lock().len()
    }
}

/// What pyhost keeps for one interpreter.
pub(crate) struct InterpState {
    id: InterpreterId,
    decrefs: DecrefQueue,
    /// Lazily created Python objects of this interpreter, by key.
    cache: Mutex<Vec<(u64, Py)>>,
}

impl InterpState {
    const fn new(id: InterpreterId) -> InterpState {
        InterpState {
            id,
            decrefs: DecrefQueue::new(),
            cache: Mutex::new(Vec::new()),
        }
    }
}

static MAIN_STATE: InterpState = InterpState::new(MAIN_INTERPRETER);
static OTHERS: Mutex<Vec<Arc<InterpState>>> = Mutex::new(Vec::new());

/// Run `f` on the state of interpreter `id`, if it is alive.
fn with_state<R>(id: InterpreterId, f: impl FnOnce(&InterpState) -> R) -> Option<R> {
    if id == MAIN_INTERPRETER {
        return Some(f(&MAIN_STATE));
    }
    let state = OTHERS.lock().iter().find(|s| s.id == id).cloned()?;
    Some(f(&state))
}

/// Queue a decrement for `obj`, an owned reference of interpreter `id`, to be
/// applied the next time a thread enters it. Objects of an interpreter that
/// has ended are leaked (their memory went with it).
pub(crate) fn defer_decref(id: InterpreterId, obj: NonNull<ffi::PyObject>) {
    let _ = with_state(id, |s| s.decrefs.push(obj));
}

/// Apply the decrements queued for the calling thread's interpreter. Cheap
/// (one atomic load, two without sub-interpreters) when there are none.
#[inline]
pub(crate) fn drain_current(py: Python<'_>) {
    let id = current_id();
    if id == MAIN_INTERPRETER {
        MAIN_STATE.decrefs.drain_if_dirty(py);
    } else {
        let _ = with_state(id, |s| s.decrefs.drain_if_dirty(py));
    }
}

/// Decrements waiting for their interpreter, over all interpreters.
pub(crate) fn pending_decrefs() -> usize {
    MAIN_STATE.decrefs.len() + OTHERS.lock().iter().map(|s| s.decrefs.len()).sum::<usize>()
}

/// Keys of [`cached`] objects created by pyhost itself; host exception types
/// take theirs from [`next_cache_key`].
pub(crate) mod keys {
    pub(crate) const PANIC_EXCEPTION: u64 = 1;
    pub(crate) const JOB_CANCELLED: u64 = 2;
    pub(crate) const JOB_TIMEOUT: u64 = 3;
    pub(crate) const FUNCTION_DATA_TYPE: u64 = 4;
    pub(crate) const FIRST_DYNAMIC: u64 = 1 << 32;
}

/// A fresh key for [`cached`] (one per host exception type).
pub(crate) fn next_cache_key() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(keys::FIRST_DYNAMIC);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The object cached under `key` in the calling thread's interpreter, created
/// with `init` the first time. No lock is held while `init` runs (it runs
/// Python); if two threads race, the first stored wins.
pub(crate) fn cached<'py>(
    py: Python<'py>,
    key: u64,
    init: impl FnOnce(Python<'py>) -> Result<Bound<'py>>,
) -> Result<Bound<'py>> {
    let id = current_id();
    let lookup = |s: &InterpState| {
        s.cache
            .lock()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_bound(py))
    };
    if let Some(Some(found)) = with_state(id, lookup) {
        return Ok(found);
    }
    let made = init(py)?;
    let stored = with_state(id, |s| {
        let mut cache = s.cache.lock();
        if let Some((_, v)) = cache.iter().find(|(k, _)| *k == key) {
            return v.to_bound(py);
        }
        cache.push((key, made.clone().unbind()));
        made.clone()
    });
    Ok(stored.unwrap_or(made))
}

/// Register a new sub-interpreter (its thread is inside it, holding its GIL).
pub(crate) fn register(py: Python<'_>) -> InterpreterId {
    let id = query_current();
    SUBINTERPRETERS.store(true, Ordering::SeqCst);
    restore_current(id);
    OTHERS.lock().push(Arc::new(InterpState::new(id)));
    let _ = py;
    id
}

/// Before `Py_EndInterpreter`: forget interpreter `id`, apply its queued
/// decrements and drop its cached objects, with its GIL held (the caller's).
pub(crate) fn retire(py: Python<'_>, id: InterpreterId) {
    let state = {
        let mut others = OTHERS.lock();
        let pos = others.iter().position(|s| s.id == id);
        pos.map(|i| others.swap_remove(i))
    };
    if let Some(state) = state {
        state.decrefs.drain(py);
        let cache = std::mem::take(&mut *state.cache.lock());
        drop(cache);
        // Handles dropped on other threads from now on find no state and leak.
        state.decrefs.drain(py);
    }
}

/// The interpreters alive in this process, as CPython counts them
/// (`PyInterpreterState_Head`/`_Next`): for tests and diagnostics.
pub fn count_interpreters() -> usize {
    let mut n = 0;
    // SAFETY: the runtime keeps the list; reading the head and links without
    // the runtime lock is what `PyInterpreterState_Next` callers do, racy only
    // against an interpreter being created or ended at that moment.
    unsafe {
        let mut it = ffi::PyInterpreterState_Head();
        while !it.is_null() {
            n += 1;
            it = ffi::PyInterpreterState_Next(it);
        }
    }
    n
}
