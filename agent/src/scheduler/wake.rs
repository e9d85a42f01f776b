//! What wakes the scheduler's loop: one channel, sent to by the pool (a
//! run's [`JobHandle`](pyhost::JobHandle) polled as a future wakes its
//! [`Waker`] when the run is over) and by [`SchedulerWaker`]s (signals,
//! tests). A message carries nothing: the loop looks at everything when
//! it wakes.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::task::{Wake, Waker};

pub(super) struct Channel {
    tx: Sender<()>,
    pub(super) rx: Receiver<()>,
    /// The waker every run is polled with (one for all: a wake means
    /// "look again").
    run_waker: Waker,
}

impl Channel {
    pub(super) fn new() -> Channel {
        let (tx, rx) = channel();
        let run_waker = Waker::from(Arc::new(RunWaker(tx.clone())));
        Channel { tx, rx, run_waker }
    }

    pub(super) fn waker(&self) -> SchedulerWaker {
        SchedulerWaker(self.tx.clone())
    }

    pub(super) fn run_waker(&self) -> Waker {
        self.run_waker.clone()
    }
}

/// Wakes the loop when a run is over.
struct RunWaker(Sender<()>);

impl Wake for RunWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The scheduler may be gone (a late result of an abandoned run).
        let _ = self.0.send(());
    }
}

/// Wakes a running [`Scheduler::run`](super::Scheduler::run) from any
/// thread, e.g. after setting its stop flag. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SchedulerWaker(Sender<()>);

impl SchedulerWaker {
    /// Wake the loop (a no-op once the scheduler is gone).
    pub fn wake(&self) {
        let _ = self.0.send(());
    }
}
