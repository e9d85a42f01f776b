//! Crash reports: what every thread was running when a fatal signal ended
//! the process.
//!
//! A host that runs many plugins in one process (the Datadog Agent's model)
//! loses all of them when one crashes in C (`ctypes.string_at(0)`, a bad
//! extension). The least it owes its operator is the name of the culprit.
//! Two parts:
//!
//! * **Labels**: each thread may say what it runs ([`set_label`], e.g.
//!   `"check redis instance #0"`), in a fixed table of slots that a signal
//!   handler can read without locks or allocation (atomics only). A pool
//!   worker has a slot from its start (shown as idle), and clears its label
//!   after every job, so a label never outlives the job that set it.
//!   [`running`] reads the table (for a status page, or a test).
//! * **The handler** ([`install_crash_report`]): for `SIGSEGV`, `SIGBUS`,
//!   `SIGFPE`, `SIGABRT` and `SIGILL` it writes, with `write(2)` only, the
//!   signal, the thread that got it and every labelled thread's label; then
//!   it hands the signal to CPython's `faulthandler` (enabled with
//!   `all_threads=True` just before our handler is installed over it), which
//!   prints the Python traceback of each thread of the crashing thread's
//!   interpreter with its own async-signal-safe code (CPython does not export
//!   that code on 3.13, so calling it ourselves is not an option), and the
//!   signal then reaches the handler that was there before (Rust's stack
//!   overflow handler, or the default action): the process dies by the
//!   original signal, so its exit status and core dump are unchanged.
//!
//! Limits: on a free-threaded build `faulthandler` dumps only the crashing
//! thread (walking other running threads is not safe without a GIL); with
//! own-GIL sub-interpreters, only the crashing thread's interpreter is
//! walked (the labels still name what every worker ran). Code that calls
//! `faulthandler.disable()` afterwards removes this handler too (it restores
//! the handler `faulthandler` found, which was not ours).

use std::cell::Cell;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::err::Result;
use crate::gil::Python;
use crate::object::Dict;

/// Threads that can hold a label at once; later threads go unlabelled.
const SLOTS: usize = 256;
/// Bytes of a thread name kept (Linux names are at most 15).
const NAME_MAX: usize = 32;
/// Bytes of a label kept; longer labels are cut at a character boundary.
pub const LABEL_MAX: usize = 192;

/// One thread's entry. Written only by its thread, read by anyone (a signal
/// handler included): every field is atomic, and a label is published by
/// storing its length last.
struct Slot {
    /// The owner's kernel thread id; 0 = free.
    tid: AtomicI32,
    name_len: AtomicUsize,
    name: [AtomicU8; NAME_MAX],
    /// 0 = idle.
    label_len: AtomicUsize,
    label: [AtomicU8; LABEL_MAX],
}

// Each use of these constants in the static below makes a new value, which
// is what a table of independent slots needs.
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU8 = AtomicU8::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    tid: AtomicI32::new(0),
    name_len: AtomicUsize::new(0),
    name: [ZERO; NAME_MAX],
    label_len: AtomicUsize::new(0),
    label: [ZERO; LABEL_MAX],
};
static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

/// The kernel's id of the calling thread (`gettid`, async-signal-safe).
fn gettid() -> i32 {
    // SAFETY: the gettid system call takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// A thread's claim on a slot, released when the thread ends.
struct Claim(Cell<Option<usize>>);

impl Claim {
    fn slot(&self) -> Option<&'static Slot> {
        if self.0.get().is_none() {
            self.0.set(claim_slot());
        }
        self.0.get().map(|i| &TABLE[i])
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(i) = self.0.get() {
            TABLE[i].label_len.store(0, Ordering::Release);
            TABLE[i].tid.store(0, Ordering::Release);
        }
    }
}

thread_local! {
    static CLAIM: Claim = const { Claim(Cell::new(None)) };
}

fn claim_slot() -> Option<usize> {
    let tid = gettid();
    let i = TABLE.iter().position(|s| {
        s.tid
            .compare_exchange(0, tid, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })?;
    let slot = &TABLE[i];
    slot.label_len.store(0, Ordering::Release);
    let name = std::thread::current().name().unwrap_or("").as_bytes().to_vec();
    let n = name.len().min(NAME_MAX);
    for (dst, &b) in slot.name.iter().zip(&name[..n]) {
        dst.store(b, Ordering::Relaxed);
    }
    slot.name_len.store(n, Ordering::Release);
    Some(i)
}

fn store_label(slot: &Slot, label: &str) {
    let mut n = label.len().min(LABEL_MAX);
    while !label.is_char_boundary(n) {
        n -= 1;
    }
    slot.label_len.store(0, Ordering::Release);
    for (dst, &b) in slot.label.iter().zip(&label.as_bytes()[..n]) {
        dst.store(b, Ordering::Relaxed);
    }
    slot.label_len.store(n, Ordering::Release);
}

/// Clears the calling thread's label when dropped (see [`set_label`]).
#[derive(Debug)]
#[must_use = "the label is cleared when the guard drops"]
pub struct LabelGuard(());

impl Drop for LabelGuard {
    fn drop(&mut self) {
        // The end of a labelled job: a process forked in it ends here.
        crate::worker::exit_if_forked_child();
        clear_label();
    }
}

/// Say what the calling thread runs now (at most [`LABEL_MAX`] bytes are
/// kept), until the guard drops. A crash report prints it; so does
/// [`running`]. A pool worker's label is also cleared when its job ends.
/// Costs a few dozen atomic byte stores; nothing is allocated after the
/// thread's first call.
pub fn set_label(label: &str) -> LabelGuard {
    let _ = CLAIM.try_with(|c| {
        if let Some(slot) = c.slot() {
            store_label(slot, label);
        }
    });
    LabelGuard(())
}

/// Clear the calling thread's label (it is idle).
pub fn clear_label() {
    let _ = CLAIM.try_with(|c| {
        if let Some(i) = c.0.get() {
            TABLE[i].label_len.store(0, Ordering::Release);
        }
    });
}

/// Give the calling thread a slot now, so it is listed (as idle) before its
/// first label: pool workers do this when they start.
pub(crate) fn register_thread() {
    let _ = CLAIM.try_with(|c| c.slot().map(drop));
}

/// The calling thread's label, if it has one.
pub fn current_label() -> Option<String> {
    CLAIM
        .try_with(|c| {
            let slot = &TABLE[c.0.get()?];
            let mut buf = [0u8; LABEL_MAX];
            let label = read_bytes(&slot.label, slot.label_len.load(Ordering::Acquire), &mut buf);
            (!label.is_empty()).then(|| String::from_utf8_lossy(label).into_owned())
        })
        .ok()
        .flatten()
}

/// A labelled thread, as [`running`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadLabel {
    /// The kernel thread id (`gettid`).
    pub tid: i32,
    /// The thread's name (cut to 32 bytes).
    pub name: String,
    /// What it runs; `None` when idle.
    pub label: Option<String>,
}

/// Every thread that has a slot (pool workers, and threads that called
/// [`set_label`]) and its label, in slot order.
pub fn running() -> Vec<ThreadLabel> {
    let mut out = Vec::new();
    for slot in TABLE.iter() {
        let tid = slot.tid.load(Ordering::Acquire);
        if tid == 0 {
            continue;
        }
        let mut name = [0u8; NAME_MAX];
        let name = read_bytes(&slot.name, slot.name_len.load(Ordering::Acquire), &mut name);
        let mut label = [0u8; LABEL_MAX];
        let label = read_bytes(&slot.label, slot.label_len.load(Ordering::Acquire), &mut label);
        out.push(ThreadLabel {
            tid,
            name: String::from_utf8_lossy(name).into_owned(),
            label: (!label.is_empty()).then(|| String::from_utf8_lossy(label).into_owned()),
        });
    }
    out
}

fn read_bytes<'a>(src: &[AtomicU8], len: usize, buf: &'a mut [u8]) -> &'a [u8] {
    let n = len.min(src.len()).min(buf.len());
    for (dst, b) in buf.iter_mut().zip(&src[..n]) {
        *dst = b.load(Ordering::Relaxed);
    }
    &buf[..n]
}

// ---- the signal handler -----------------------------------------------------

const FATAL: [(c_int, &str); 5] = [
    (libc::SIGSEGV, "SIGSEGV"),
    (libc::SIGBUS, "SIGBUS"),
    (libc::SIGFPE, "SIGFPE"),
    (libc::SIGABRT, "SIGABRT"),
    (libc::SIGILL, "SIGILL"),
];

/// The handlers found when ours were installed, in [`FATAL`] order.
struct Previous([libc::sigaction; 5]);

// SAFETY: plain C data (numbers, a signal set, function addresses); it is
// written once before the handler can run, then only read.
unsafe impl Sync for Previous {}
// SAFETY: as above.
unsafe impl Send for Previous {}

static PREVIOUS: OnceLock<Previous> = OnceLock::new();
static INSTALL: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
static REPORTING: AtomicBool = AtomicBool::new(false);

/// Enable the crash report for the whole process: `faulthandler.enable(2,
/// all_threads=True)` in the main interpreter (`py` must be one of its
/// tokens), then this module's handler over it (see the module docs).
/// Idempotent. Call it once, after start-up.
pub fn install_crash_report(py: Python<'_>) -> Result<()> {
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return Ok(());
    }
    let kwargs = Dict::new(py);
    kwargs.set_item("all_threads", true)?;
    py.import("faulthandler")?
        .getattr("enable")?
        .call((2,), Some(&kwargs))?;
    let mut previous = Previous(
        // SAFETY: sigaction is plain C data; all-zero is a valid value
        // (SIG_DFL, empty mask), overwritten below.
        unsafe { std::mem::zeroed() },
    );
    for (i, &(sig, _)) in FATAL.iter().enumerate() {
        // SAFETY: reading the current handler into a valid, writable struct.
        unsafe { libc::sigaction(sig, std::ptr::null(), &mut previous.0[i]) };
    }
    let _ = PREVIOUS.set(previous);
    for &(sig, _) in FATAL.iter() {
        // SAFETY: a zeroed sigaction is valid; we fill the handler, flags and
        // an empty mask. `on_fatal_signal` only calls async-signal-safe
        // functions (write, sigaction, raise, syscall) and reads atomics.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = on_fatal_signal;
            action.sa_sigaction = handler as usize;
            // SA_NODEFER: the re-raised signal reaches the previous handler
            // at once, from inside ours. No SA_ONSTACK: the thread's
            // alternate stack (Rust's, a few KiB) is left whole for
            // faulthandler, whose handler uses it; a report on it too would
            // overflow it (two signal frames of several KiB each).
            action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    *done = true;
    Ok(())
}

extern "C" fn on_fatal_signal(sig: c_int, _info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // One report: a second crashing thread (or a fault inside the report)
    // goes straight on.
    if !REPORTING.swap(true, Ordering::AcqRel) {
        report(sig);
    }
    let index = FATAL.iter().position(|&(s, _)| s == sig);
    // SAFETY: sigaction and raise are async-signal-safe; the previous
    // action is a valid struct saved at installation (or the default).
    unsafe {
        match (index, PREVIOUS.get()) {
            (Some(i), Some(prev)) => libc::sigaction(sig, &prev.0[i], std::ptr::null_mut()),
            _ => libc::sigaction(sig, &default_action(), std::ptr::null_mut()),
        };
        // The previous handler (faulthandler's dump) runs now; it re-raises
        // to the one before it, down to the default action.
        libc::raise(sig);
        // Still alive: the chain returned (a fault re-executes its
        // instruction and ends us there; a signal sent with kill() would
        // not). Make sure the process dies by this signal.
        libc::sigaction(sig, &default_action(), std::ptr::null_mut());
        libc::raise(sig);
    }
}

fn default_action() -> libc::sigaction {
    // SAFETY: all-zero is SIG_DFL with an empty mask and no flags.
    unsafe { std::mem::zeroed() }
}

/// A fixed buffer for the report: no allocation in a signal handler.
struct Out {
    buf: [u8; 512],
    len: usize,
}

impl Out {
    fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        for &c in b {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = c;
            self.len += 1;
        }
        self
    }

    fn num(&mut self, mut n: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let d = digits;
        self.bytes(&d[i..])
    }

    fn flush(&mut self) {
        let mut off = 0;
        while off < self.len {
            // SAFETY: write(2) on stderr from a valid buffer range.
            let n = unsafe { libc::write(2, self.buf[off..self.len].as_ptr().cast(), self.len - off) };
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        self.len = 0;
    }
}

/// Write the signal and every labelled thread; async-signal-safe.
fn report(sig: c_int) {
    let me = gettid();
    let name = FATAL.iter().find(|&&(s, _)| s == sig).map_or("signal", |&(_, n)| n);
    let mut out = Out { buf: [0; 512], len: 0 };
    out.str("\npyhost: fatal signal ")
        .num(sig as u64)
        .str(" (")
        .str(name)
        .str(") in thread ")
        .num(me as u64);
    let mut mine = false;
    for slot in TABLE.iter() {
        if slot.tid.load(Ordering::Acquire) == me {
            let mut label = [0u8; LABEL_MAX];
            let label = read_bytes(&slot.label, slot.label_len.load(Ordering::Acquire), &mut label);
            let mut tname = [0u8; NAME_MAX];
            let tname = read_bytes(&slot.name, slot.name_len.load(Ordering::Acquire), &mut tname);
            out.str(" (").bytes(tname).str(")");
            if !label.is_empty() {
                out.str(", running: ").bytes(label);
            }
            mine = true;
        }
    }
    if !mine {
        out.str(" (not a labelled thread)");
    }
    out.str("\npyhost: what each labelled thread was running:\n");
    for slot in TABLE.iter() {
        let tid = slot.tid.load(Ordering::Acquire);
        if tid == 0 {
            continue;
        }
        let mut tname = [0u8; NAME_MAX];
        let tname = read_bytes(&slot.name, slot.name_len.load(Ordering::Acquire), &mut tname);
        let mut label = [0u8; LABEL_MAX];
        let label = read_bytes(&slot.label, slot.label_len.load(Ordering::Acquire), &mut label);
        out.str("  thread ").num(tid as u64).str(" (").bytes(tname).str("): ");
        if label.is_empty() {
            out.str("idle");
        } else {
            out.bytes(label);
        }
        if tid == me {
            out.str("   <- this thread");
        }
        out.str("\n");
    }
    out.str("pyhost: the Python tracebacks follow (faulthandler)\n");
    out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mine() -> Option<ThreadLabel> {
        let me = gettid();
        running().into_iter().find(|t| t.tid == me)
    }

    #[test]
    fn labels_are_set_cut_and_cleared() {
        std::thread::Builder::new()
            .name("label-test".into())
            .spawn(|| {
                assert!(mine().is_none(), "no slot before the first label");
                register_thread();
                let t = mine().expect("registered");
                assert_eq!((t.name.as_str(), t.label.as_deref()), ("label-test", None));
                {
                    let _g = set_label("check a instance #0");
                    assert_eq!(mine().unwrap().label.as_deref(), Some("check a instance #0"));
                }
                assert_eq!(mine().unwrap().label, None, "cleared by the guard");
                let long = "é".repeat(LABEL_MAX); // 2 bytes each
                let _g = set_label(&long);
                let got = mine().unwrap().label.unwrap();
                assert_eq!(got.len(), LABEL_MAX, "cut at a character boundary");
                assert!(long.starts_with(&got));
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn a_finished_thread_frees_its_slot() {
        let tid = std::thread::spawn(|| {
            let _g = set_label("short-lived");
            gettid()
        })
        .join()
        .unwrap();
        assert!(running().iter().all(|t| t.tid != tid));
    }
}
