//! Descriptor 1 belongs to the outputs (the JSON or table lines, the
//! `check` report, a worker's protocol), and nothing a check runs may write
//! there: `print()` is caught in Python ([`super::output`]), but a C
//! extension's `printf`, `os.write(1, ...)` or a child process started with
//! an inherited stdout write to the descriptor itself.
//!
//! [`reserve_stdout`] moves the real stdout to a new descriptor that only the
//! returned file writes to, close-on-exec so that no child inherits it, and
//! points descriptor 1 at standard error, where such writes join the log.

use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

/// The process's stdout as a file of its own; descriptor 1 becomes a copy
/// of descriptor 2 (`fcntl(F_DUPFD_CLOEXEC)`, then `dup2(2, 1)`).
pub fn reserve_stdout() -> io::Result<File> {
    // SAFETY: duplicates a descriptor this process owns into a new one
    // (>= 3); the File below is its only owner.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    // SAFETY: both are open descriptors of this process; dup2 atomically
    // replaces 1, which Rust's and C's stdio keep using by number.
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}
