//! Jobs that fork.
//!
//! `os.fork()` in a job copies only the calling thread: the worker. In the
//! child, when the job returns, that copy would carry on in the worker loop:
//! deliver a result nobody reads, then wait forever on a queue whose other
//! threads do not exist (one stuck process per fork). So a worker checks,
//! each time a job returns, whether it is still in the process it was
//! started in; a forked copy writes one line to stderr and `_exit(0)`s at
//! once, before touching any pool state (whose locks another thread of the
//! parent may have held at the fork).
//!
//! How a worker knows: a `pthread_atfork` child handler, registered when the
//! first pool starts, bumps a process-wide fork generation (one atomic add,
//! async-signal-safe); each worker records the generation it was born in.
//! Why not compare `getpid()` with the worker's pid: glibc no longer caches
//! the pid, so that is a system call per job (0.1-0.3 us on a VM, against a
//! 1 us round trip under load), while the generation is one atomic load.
//! The handler runs for every `fork()` through libc: `os.fork`, `multiprocessing`,
//! C extensions; a raw `clone` system call bypasses it (and CPython too).
//! CPython's own after-fork work (`PyOS_AfterFork_Child`) is done by `os.fork`
//! itself, so the child's Python state is sound until it exits.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// Incremented in a child process by the `pthread_atfork` handler.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Not a worker: never checked.
const NOT_A_WORKER: u64 = u64::MAX;

thread_local! {
    /// The fork generation this worker thread was started in.
    static BORN: Cell<u64> = const { Cell::new(NOT_A_WORKER) };
}

extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Register the after-fork hook (once per process) and record the calling
/// worker thread's generation.
pub(crate) fn worker_started() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a child handler that only does an atomic add;
        // the prepare and parent handlers are absent. Never unregistered:
        // the function is static.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
    BORN.with(|b| b.set(GENERATION.load(Ordering::Relaxed)));
}

/// Called by a worker each time a job returns: in a forked copy of the
/// worker, end that process now.
#[inline]
pub(crate) fn exit_if_forked_child() {
    let born = BORN.with(Cell::get);
    if born != NOT_A_WORKER && born != GENERATION.load(Ordering::Relaxed) {
        exit_forked_child();
    }
}

#[cold]
fn exit_forked_child() -> ! {
    // SAFETY: getpid/getppid cannot fail.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    let what = crate::crash::current_label().unwrap_or_else(|| "a job".into());
    let thread = std::thread::current().name().unwrap_or("?").to_string();
    // Straight to the file descriptor: Rust's stderr lock may have been held
    // by another thread of the parent when it forked.
    let msg = format!(
        "pyhost: process {pid}, forked from {ppid} by {what} on worker {thread}, returned into the \
         worker loop: it exits now (status 0)\n"
    );
    // SAFETY: write(2) from a valid buffer; _exit ends the process without
    // running atexit handlers or destructors (they belong to the parent).
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(0)
    }
}
