//! A one-shot event with a spin-then-park wait: the hand-off between a
//! worker and whoever waits for its result (or for a queue slot).
//!
//! The waiting side first spins for a bounded time (a thread wake-up costs
//! 20-100 us on a VM, a spin that succeeds costs a cache-line transfer), then
//! registers itself (a `Thread` to unpark or a `Waker` to wake) and parks.
//! Setting and registering follow the store-then-load pattern on two
//! `SeqCst` flags, so either the setter sees the registration or the waiter
//! sees the flag: a wake-up is never lost, and the setter only touches the
//! waiter's mutex when someone actually parked.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How many `spin_loop` hints between two clock reads while spinning.
const SPINS_PER_CLOCK_READ: u32 = 16;

/// Spin until `ready()` or until `budget` has elapsed. Returns the last
/// `ready()` value. A zero budget checks once.
#[inline]
pub(crate) fn spin_until(budget: Duration, mut ready: impl FnMut() -> bool) -> bool {
    if ready() {
        return true;
    }
    if budget.is_zero() {
        return false;
    }
    let start = Instant::now();
    loop {
        for _ in 0..SPINS_PER_CLOCK_READ {
            std::hint::spin_loop();
            if ready() {
                return true;
            }
        }
        if start.elapsed() >= budget {
            return ready();
        }
    }
}

/// Threads currently spinning while waiting for a signal, process-wide.
static SPINNING_WAITERS: AtomicUsize = AtomicUsize::new(0);

/// At most this many waiters spin at once (half the CPUs, at least one):
/// with more waiters than cores, spinning ones would take the CPU from the
/// workers they wait for.
fn max_spinning_waiters() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)))
}

/// [`spin_until`] if fewer than [`max_spinning_waiters`] threads are
/// spinning already; otherwise a single check.
fn spin_gated(budget: Duration, mut ready: impl FnMut() -> bool) -> bool {
    if ready() {
        return true;
    }
    if budget.is_zero() {
        return false;
    }
    if SPINNING_WAITERS.fetch_add(1, Ordering::Relaxed) >= max_spinning_waiters() {
        SPINNING_WAITERS.fetch_sub(1, Ordering::Relaxed);
        return ready();
    }
    let r = spin_until(budget, ready);
    SPINNING_WAITERS.fetch_sub(1, Ordering::Relaxed);
    r
}

enum Parked {
    Nobody,
    Thread(Thread),
    Waker(Waker),
}

/// A wake-up owed to a parked waiter (see [`Signal::set_deferred`]).
pub(crate) struct Wake(Parked);

impl Wake {
    pub(crate) fn wake(self) {
        match self.0 {
            Parked::Nobody => {}
            Parked::Thread(t) => t.unpark(),
            Parked::Waker(w) => w.wake(),
        }
    }
}

/// A one-shot flag that threads can wait for (spin, then park) and futures
/// can poll.
pub(crate) struct Signal {
    set: AtomicBool,
    parked: AtomicBool,
    waiter: Mutex<Parked>,
}

impl Signal {
    pub(crate) const fn new() -> Signal {
        Signal {
            set: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            waiter: Mutex::new(Parked::Nobody),
        }
    }

    /// True once [`set`](Self::set) has run; everything written before `set`
    /// is visible after this returns true.
    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Set the flag and wake whoever parked on it. Call once.
    pub(crate) fn set(&self) {
        if let Some(wake) = self.set_deferred() {
            wake.wake();
        }
    }

    /// Set the flag now (a spinning waiter sees it at once) and return the
    /// wake-up of a parked waiter, to be done later: a worker wakes parked
    /// waiters (a system call) after it has released the GIL.
    pub(crate) fn set_deferred(&self) -> Option<Wake> {
        self.set.store(true, Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) {
            match std::mem::replace(&mut *self.waiter.lock(), Parked::Nobody) {
                Parked::Nobody => None,
                parked => Some(Wake(parked)),
            }
        } else {
            None
        }
    }

    /// Wait for the flag: spin for at most `spin` (if few enough other
    /// waiters spin already), then park until it is set or `deadline`
    /// passes. Returns whether it is set.
    pub(crate) fn wait(&self, spin: Duration, deadline: Option<Instant>) -> bool {
        if spin_gated(spin, || self.is_set()) {
            return true;
        }
        *self.waiter.lock() = Parked::Thread(thread::current());
        self.parked.store(true, Ordering::SeqCst);
        loop {
            if self.set.load(Ordering::SeqCst) {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        let mut w = self.waiter.lock();
                        if matches!(*w, Parked::Thread(_)) {
                            *w = Parked::Nobody;
                        }
                        drop(w);
                        return self.is_set();
                    }
                    thread::park_timeout(d - now);
                }
            }
        }
    }

    /// Poll the flag from a future: `Ready` once set, otherwise the task's
    /// waker is registered and woken by `set`. Spins for at most `spin`
    /// (gated like [`wait`](Self::wait)) before registering.
    pub(crate) fn poll(&self, cx: &mut Context<'_>, spin: Duration) -> Poll<()> {
        if spin_gated(spin, || self.is_set()) {
            return Poll::Ready(());
        }
        {
            let mut w = self.waiter.lock();
            match &*w {
                Parked::Waker(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Parked::Waker(cx.waker().clone()),
            }
        }
        self.parked.store(true, Ordering::SeqCst);
        if self.set.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
