//! SIGINT and SIGTERM for the program: the first asks the scheduler to stop
//! (it flushes and returns), a second exits at once. The interpreter is started
//! without its own handlers, so these are the process's.
//!
//! The handler sets a flag and writes a byte to a socket pair (the
//! self-pipe trick: `write` is async-signal-safe, a channel send is not); a
//! thread blocked on the other end wakes the scheduler, which sleeps until
//! something happens rather than polling the flag.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

static STOP: AtomicBool = AtomicBool::new(false);
/// The write end of the wake-up socket (-1 until installed).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Keeps the write end open for the life of the process.
static WAKE_WRITER: OnceLock<UnixStream> = OnceLock::new();

extern "C" fn on_stop_signal(_sig: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // A second signal: the operator insists. `_exit` is async-signal-safe.
        // SAFETY: _exit has no preconditions and never returns.
        unsafe { libc::_exit(130) };
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write is async-signal-safe; fd is the open, non-blocking
        // write end kept alive by WAKE_WRITER; the buffer is one valid byte.
        // A full buffer (EAGAIN) means a wake-up is already pending.
        let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// Install the handlers (`sigaction`) and return the flag they set; `wake`
/// is called (on a thread of its own) after each signal.
pub fn install_stop_signals(wake: impl Fn() + Send + 'static) -> io::Result<&'static AtomicBool> {
    let (mut reader, writer) = UnixStream::pair()?;
    writer.set_nonblocking(true)?;
    WAKE_FD.store(writer.as_raw_fd(), Ordering::SeqCst);
    let _ = WAKE_WRITER.set(writer);
    std::thread::Builder::new()
        .name("pyhost-signals".into())
        .spawn(move || {
            let mut buf = [0u8; 16];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => wake(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: an all-zero sigaction is a valid value (no flags, empty handler).
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: sa.sa_mask is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: sa is fully initialised; the handler only touches atomics
        // and calls write and _exit, all async-signal-safe.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(&STOP)
}
