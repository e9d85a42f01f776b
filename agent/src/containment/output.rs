//! What checks write to `sys.stdout` and `sys.stderr`: each complete line
//! goes to the host's log (`LogRecord`, `INFO` for stdout, `WARN` for
//! stderr) as `<check id> | (sys.stdout) | <line>`, the format of a check's
//! own log records, so a `print()` can never land in the JSON or table
//! output, which own the process's stdout.
//!
//! Python's stream objects (`checks._guards`) hand every `write()` here.
//! A partial line waits in a per-thread buffer until its newline, the end
//! of the run ([`super::RunScope`] flushes the thread), an explicit
//! `flush()`, or [`flush_all`] at exit: nothing written is lost. A line
//! longer than [`MAX_LINE`] is cut into several records.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::host::{host, LogRecord};

/// Bytes of an unterminated line kept before it is logged in pieces.
pub const MAX_LINE: usize = 64 * 1024;

/// Which stream: 1 stdout, 2 stderr (their file descriptors' numbers).
fn stream_name(fd: i64) -> &'static str {
    if fd == 2 {
        "sys.stderr"
    } else {
        "sys.stdout"
    }
}

/// A thread's unterminated lines, `[stdout, stderr]`.
type Partial = Mutex<[String; 2]>;

/// Every thread's buffer, for [`flush_all`]; a thread's entry goes with it.
static THREADS: Mutex<Vec<Weak<Partial>>> = Mutex::new(Vec::new());

thread_local! {
    static MINE: RefCell<Option<Arc<Partial>>> = const { RefCell::new(None) };
    /// Whose output this thread writes now (set by `RunScope`).
    static WHO: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

fn my_partial() -> Option<Arc<Partial>> {
    MINE.try_with(|m| {
        m.borrow_mut()
            .get_or_insert_with(|| {
                let p = Arc::new(Mutex::new([String::new(), String::new()]));
                let mut all = THREADS.lock();
                all.retain(|w| w.strong_count() > 0);
                all.push(Arc::downgrade(&p));
                p
            })
            .clone()
    })
    .ok()
}

/// Set (or clear) the name this thread's output is logged under.
pub(super) fn set_writer(name: Option<Arc<str>>) {
    let _ = WHO.try_with(|w| *w.borrow_mut() = name);
}

fn writer() -> Arc<str> {
    WHO.try_with(|w| w.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| Arc::from("-"))
}

/// Log one line of `fd` under `who`.
fn log_line(who: &str, fd: i64, line: &str) {
    let record = LogRecord {
        level: if fd == 2 { 30 } else { 20 },
        message: format!("{who} | ({}) | {line}", stream_name(fd)),
    };
    match host() {
        Some(h) => (h.log)(&record),
        None => crate::host::stderr_log(&record),
    }
}

/// `write(text)` on stream `fd` by the calling thread.
pub fn write(fd: i64, text: &str) {
    let slot = usize::from(fd == 2);
    let Some(partial) = my_partial() else {
        // The thread is ending: log what there is, as it is.
        return log_line(&writer(), fd, text.trim_end_matches('\n'));
    };
    let mut lines = Vec::new();
    {
        let mut bufs = partial.lock();
        let buf = &mut bufs[slot];
        buf.push_str(text);
        while let Some(nl) = buf.find('\n') {
            let rest = buf.split_off(nl + 1);
            buf.pop();
            lines.push(std::mem::replace(buf, rest));
        }
        while buf.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !buf.is_char_boundary(cut) {
                cut -= 1;
            }
            let rest = buf.split_off(cut);
            lines.push(std::mem::replace(buf, rest));
        }
    }
    if !lines.is_empty() {
        let who = writer();
        for l in &lines {
            log_line(&who, fd, l);
        }
    }
}

/// `flush()` on stream `fd` (0: both) by the calling thread: log its
/// unterminated line, if any.
pub fn flush_thread(fd: i64) {
    let Some(partial) = MINE.try_with(|m| m.borrow().clone()).ok().flatten() else {
        return;
    };
    let taken: Vec<(i64, String)> = {
        let mut bufs = partial.lock();
        [(1, 0), (2, 1)]
            .into_iter()
            .filter(|&(f, _)| fd == 0 || fd == f)
            .map(|(f, i)| (f, std::mem::take(&mut bufs[i])))
            .filter(|(_, text)| !text.is_empty())
            .collect()
    };
    let who = writer();
    for (f, text) in taken {
        log_line(&who, f, &text);
    }
}

/// Log every thread's unterminated lines (at exit).
pub fn flush_all() {
    let all: Vec<Arc<Partial>> = THREADS.lock().iter().filter_map(Weak::upgrade).collect();
    for p in all {
        let taken = std::mem::take(&mut *p.lock());
        for (i, text) in taken.iter().enumerate() {
            if !text.is_empty() {
                log_line("-", i as i64 + 1, text);
            }
        }
    }
}
