//! The calling thread's last error, the guard every entry point runs in, and
//! the checks of C arguments (NULL, UTF-8, out-parameters).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use pyhost::{Error, Python};

/// `PYHOST_LAST_ERROR_MAX`: the longest last-error text, in bytes.
pub const PYHOST_LAST_ERROR_MAX: usize = 16384;
/// The final line of a cut text keeps at most this many bytes (plus " ...").
const FINAL_LINE_MAX: usize = 2048;

thread_local! {
    /// The last error as a NUL-terminated text (just the NUL when there is
    /// none), reused in place so that clearing it allocates nothing.
    static LAST_ERROR: RefCell<Vec<u8>> = RefCell::new(vec![0]);
    /// Per-thread flags read on every call, in one thread-local (each
    /// access to one costs a `__tls_get_addr` call in the shared library).
    static FLAGS: Flags = const { Flags { has_error: Cell::new(false), kept: Cell::new(false) } };
}

struct Flags {
    /// `LAST_ERROR` holds a message (so a success clears it cheaply).
    has_error: Cell<bool>,
    /// This thread has a lasting Python thread state
    /// ([`pyhost::keep_thread_state`] was called outside a GIL scope).
    kept: Cell<bool>,
}

pub(crate) type CResult<T> = Result<T, String>;

/// Store `msg` as the thread's last error, cut to [`PYHOST_LAST_ERROR_MAX`].
pub(crate) fn set_error(msg: &str) {
    let cut = truncate_error(msg);
    // A NUL would end the C string early: show it instead.
    let text = if cut.contains('\0') {
        Cow::Owned(truncate_error(&cut.replace('\0', "\\0")).into_owned())
    } else {
        cut
    };
    LAST_ERROR.with(|e| {
        let mut buf = e.borrow_mut();
        buf.clear();
        buf.extend_from_slice(text.as_bytes());
        buf.push(0);
    });
    FLAGS.with(|f| f.has_error.set(true));
}

pub(crate) fn clear_error() {
    clear_error_and_check_kept();
}

/// Clear the thread's error; whether its thread state is kept (one
/// thread-local access for both, on the hot path).
#[inline]
fn clear_error_and_check_kept() -> bool {
    let (had_error, kept) = FLAGS.with(|f| {
        let had = f.has_error.get();
        if had {
            f.has_error.set(false);
        }
        (had, f.kept.get())
    });
    if had_error {
        LAST_ERROR.with(|e| {
            let mut buf = e.borrow_mut();
            buf.clear();
            buf.push(0);
        });
    }
    kept
}

/// The last error's text (for `pyhost_last_error`): valid until the next
/// pyhost call on this thread changes it.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr() as *const c_char)
}

/// The largest index `<= i` on a character boundary of `s`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `msg` if it fits in [`PYHOST_LAST_ERROR_MAX`] bytes; else its head, a
/// line saying how much was left out, and its final line (a traceback's
/// "Type: message"), itself cut to [`FINAL_LINE_MAX`] bytes.
pub(crate) fn truncate_error(msg: &str) -> Cow<'_, str> {
    if msg.len() <= PYHOST_LAST_ERROR_MAX {
        return Cow::Borrowed(msg);
    }
    let body = msg.trim_end_matches('\n');
    let (last_start, last) = match body.rfind('\n') {
        Some(i) => (i + 1, &body[i + 1..]),
        None => (body.len(), ""),
    };
    let kept_last = floor_boundary(last, FINAL_LINE_MAX);
    let mut final_line = String::from(&last[..kept_last]);
    if kept_last < last.len() {
        final_line.push_str(" ...");
    }
    // The omitted count needs the head's length, which needs the marker's:
    // reserve room for the widest count.
    let marker_room = "\n... [ bytes omitted] ...\n".len() + 20;
    let budget = PYHOST_LAST_ERROR_MAX - marker_room - final_line.len();
    let head_end = floor_boundary(msg, budget.min(last_start));
    let head = &msg[..head_end];
    let omitted = msg.len() - head.len() - kept_last;
    let mut out = String::with_capacity(PYHOST_LAST_ERROR_MAX);
    out.push_str(head);
    if final_line.is_empty() {
        out.push_str(&format!(" ... [{omitted} bytes omitted]"));
    } else {
        out.push_str(&format!("\n... [{omitted} bytes omitted] ...\n"));
        out.push_str(&final_line);
    }
    debug_assert!(out.len() <= PYHOST_LAST_ERROR_MAX, "{}", out.len());
    Cow::Owned(out)
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    format!("panic in pyhost: {}", pyhost::panic_message(payload))
}

/// Run `f` for a C entry point: clear the thread's error, catch panics,
/// map `Err` (and panics) to `-1` with the message stored.
#[inline]
pub(crate) fn guard<F>(f: F) -> c_int
where
    F: FnOnce() -> CResult<()>,
{
    clear_error();
    finish(catch_unwind(AssertUnwindSafe(f)))
}

/// [`guard`] for an entry point that takes the GIL: the calling thread's
/// Python thread state is kept from its first call on
/// ([`pyhost::keep_thread_state`]), so calls from a host thread never pay
/// for creating one again.
#[inline]
pub(crate) fn guard_python<F>(f: F) -> c_int
where
    F: FnOnce() -> CResult<()>,
{
    if !clear_error_and_check_kept() {
        // Not running yet: the call reports that itself, after checking its
        // arguments.
        let _ = keep_thread_state();
    }
    finish(catch_unwind(AssertUnwindSafe(f)))
}

/// [`pyhost::keep_thread_state`], remembered in this crate's flags.
pub(crate) fn keep_thread_state() -> CResult<()> {
    pyhost::keep_thread_state().map_err(err_text)?;
    // Outside a GIL scope the question is settled for good (kept, or the
    // thread has a lasting thread state of its own).
    if !pyhost::gil::gil_is_held() {
        FLAGS.with(|f| f.kept.set(true));
    }
    Ok(())
}

#[inline(always)]
fn finish(r: std::thread::Result<CResult<()>>) -> c_int {
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            set_error(&msg);
            -1
        }
        Err(payload) => {
            set_error(&panic_message(payload.as_ref()));
            -1
        }
    }
}

pub(crate) fn err_text(e: Error) -> String {
    // A Python exception's Display is its full `traceback.format_exception`
    // text (ending in "Type: message"), or "Type: message" without one.
    e.to_string()
}

/// A Python error, boxed: `pyhost::Error` is about 100 bytes, and moving a
/// `Result` that large out of every call cost a store-forwarding stall per
/// call (seen at the end of `pyhost_object_call`); the box costs nothing
/// until there is an error.
pub(crate) type PyResult<T> = Result<T, Box<Error>>;

/// Take the GIL (failing if the interpreter is not running) and run `f`.
/// Entry points that call it run in [`guard_python`].
#[inline]
pub(crate) fn with_python<T>(f: impl for<'py> FnOnce(Python<'py>) -> PyResult<T>) -> CResult<T> {
    // The guard rather than `try_with_gil`, whose result (holding a whole
    // `Error`) was copied with a memcpy on every call.
    let guard = match pyhost::GilGuard::try_acquire() {
        Ok(g) => g,
        Err(e) => return Err(err_text(e)),
    };
    match f(guard.python()) {
        Ok(v) => Ok(v),
        Err(e) => Err(err_text(*e)),
    }
}

/// Borrow a C string argument as UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> CResult<&'a str> {
    if p.is_null() {
        return Err(format!("{name} is NULL"));
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination and lifetime.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| format!("{name} is not valid UTF-8: {e}"))
}

/// Like [`arg_str`] but NULL is `None`.
///
/// # Safety
/// As for [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> CResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded caller contract.
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// Copy `s` into a malloc'd NUL-terminated buffer (freed with `pyhost_free`).
pub(crate) fn malloc_string(s: &str) -> CResult<*mut c_char> {
    if s.as_bytes().contains(&0) {
        return Err("result contains a NUL byte".to_string());
    }
    malloc_bytes(s.as_bytes()).map(|p| p as *mut c_char)
}

/// Copy `b` into a malloc'd buffer with a NUL byte after it.
pub(crate) fn malloc_bytes(b: &[u8]) -> CResult<*mut u8> {
    // SAFETY: malloc of len + 1 bytes; a NULL return is checked.
    let p = unsafe { libc::malloc(b.len() + 1) } as *mut u8;
    if p.is_null() {
        return Err("out of memory".to_string());
    }
    // SAFETY: p has room for len + 1 bytes and does not overlap b.
    unsafe {
        ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
        *p.add(b.len()) = 0;
    }
    Ok(p)
}

/// Check an out-parameter and set it to NULL, so a failing call leaves no
/// stale pointer behind.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub(crate) unsafe fn reset_out<T>(out: *mut *mut T, name: &str) -> CResult<()> {
    if out.is_null() {
        return Err(format!("{name} is NULL"));
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { *out = ptr::null_mut() };
    Ok(())
}

/// Write `s` through `out` (checked non-NULL by the caller).
///
/// # Safety
/// `out` is a valid, writable `char **`.
pub(crate) unsafe fn write_out(out: *mut *mut c_char, s: &str) -> CResult<()> {
    let p = malloc_string(s)?;
    // SAFETY: the caller guarantees out is writable.
    unsafe { *out = p };
    Ok(())
}

/// The first `max` bytes of `text` (on a character boundary), with "..."
/// if cut: for quoting an argument in a message without copying it whole.
pub(crate) fn preview(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!(
            "{}... ({} bytes)",
            &text[..floor_boundary(text, max)],
            text.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_kept_whole() {
        assert_eq!(truncate_error("ValueError: x"), "ValueError: x");
        let exact = "a".repeat(PYHOST_LAST_ERROR_MAX);
        assert_eq!(truncate_error(&exact), exact.as_str());
    }

    #[test]
    fn long_tracebacks_keep_the_head_and_the_final_line() {
        let mut tb = String::from("Traceback (most recent call last):\n");
        for i in 0..2000 {
            tb.push_str(&format!("  File \"x.py\", line {i}, in f\n"));
        }
        tb.push_str("ValueError: the end\n");
        let cut = truncate_error(&tb);
        assert!(cut.len() <= PYHOST_LAST_ERROR_MAX, "{}", cut.len());
        assert!(cut.starts_with("Traceback (most recent call last):\n  File"));
        assert!(cut.ends_with("\nValueError: the end"), "{}", &cut[cut.len() - 100..]);
        assert!(cut.contains(" bytes omitted] ...\n"), "{cut}");
    }

    #[test]
    fn a_huge_final_line_is_cut_too() {
        let huge = format!("Traceback:\nTypeError: bad value {}", "é".repeat(30_000_000));
        let cut = truncate_error(&huge);
        assert!(cut.len() <= PYHOST_LAST_ERROR_MAX);
        let last = cut.rsplit('\n').next().unwrap();
        assert!(last.starts_with("TypeError: bad value éé"), "{last}");
        assert!(last.ends_with("é ..."), "cut on a character boundary: {last:?}");
        assert!(last.len() <= FINAL_LINE_MAX + 4);
        // One line only: its head and the count.
        let one = "x".repeat(100_000);
        let cut = truncate_error(&one);
        assert!(cut.len() <= PYHOST_LAST_ERROR_MAX);
        assert!(cut.ends_with("bytes omitted]"), "{}", &cut[cut.len() - 50..]);
    }

    #[test]
    fn stored_errors_are_cut_and_nul_free() {
        set_error(&format!("a\0b\n{}\nError: end", "y".repeat(1 << 20)));
        // SAFETY: a NUL-terminated buffer of this thread.
        let text = unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_str()
            .unwrap()
            .to_string();
        assert!(text.starts_with("a\\0b\n"));
        assert!(text.ends_with("\nError: end"));
        assert!(text.len() <= PYHOST_LAST_ERROR_MAX);
        clear_error();
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(last_error_ptr()) }.to_bytes(), b"");
    }

    #[test]
    fn previews_cut_on_character_boundaries() {
        assert_eq!(preview("abc", 10), "abc");
        assert_eq!(preview("ééé", 3), "é... (6 bytes)");
    }
}
