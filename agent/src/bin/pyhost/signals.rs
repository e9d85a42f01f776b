//! SIGINT and SIGTERM for the program: the first asks the scheduler to stop
//! (it flushes and returns), a second exits at once. The interpreter is started
//! without its own handlers, so these are the process's.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_sig: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // A second signal: the operator insists. `_exit` is async-signal-safe.
        // SAFETY: _exit has no preconditions and never returns.
        unsafe { libc::_exit(130) };
    }
}

/// Install the handlers (`sigaction`) and return the flag they set.
pub fn install_stop_signals() -> io::Result<&'static AtomicBool> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: an all-zero sigaction is a valid value (no flags, empty handler).
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: sa.sa_mask is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: sa is fully initialised; the handler only touches an
        // atomic and calls _exit, both async-signal-safe.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(&STOP)
}
