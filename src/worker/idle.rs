//! Is there a spare CPU to spin on?
//!
//! Spinning trades a CPU for latency: a waiter that polls for 50 us instead
//! of parking saves the 20-100 us of a thread wake-up, but only while it has
//! a CPU nobody else wants. On a loaded host the spinning thread takes that
//! CPU from other processes (the application the agent monitors, say) or
//! from the very worker it waits for. So, by default
//! ([`SpinPolicy::IdleCpu`]), pyhost spins only while the machine has room
//! for both the thread being waited for and the spinner.
//!
//! "Room" is measured, not guessed: every 100 ms at most, a thread about to
//! spin samples the system's CPU time (`/proc/stat`, the `cpu` line) and the
//! process's own (`/proc/self/stat`, utime + stime), both in clock ticks. The
//! CPUs that *other* processes kept busy over the interval are
//! `(busy - own) / ticks per CPU`; spinning is allowed while at least 1.5
//! CPUs are left for us. Counting our own time as free matters: our spinning
//! and our workers' jobs must not look like someone else's load. Steal time
//! (a hypervisor's) counts as busy. A sample costs about 10 us (two `pread`s
//! of files kept open), that is 0.01 % of a CPU at the sampling rate.
//!
//! Where those files cannot be read (not Linux, a sandbox), the answer is
//! always yes: the behaviour pyhost had before it measured.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// When waiters and idle workers may spin (see [`PoolBuilder::spin_policy`](super::PoolBuilder::spin_policy)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpinPolicy {
    /// Spin only while the machine has a spare CPU for the spinner (measured
    /// every 100 ms from `/proc/stat`; see the module docs). The default.
    #[default]
    IdleCpu,
    /// Always spin for the budget, whatever else runs on the machine: the
    /// lowest latency, paid for with CPU time other processes may need.
    Always,
}

impl SpinPolicy {
    /// The spin budget to use now: `budget`, or zero when the policy says
    /// there is no CPU to spin on.
    #[inline]
    pub(crate) fn budget(self, budget: Duration) -> Duration {
        if budget.is_zero() || self == SpinPolicy::Always || spare_cpu() {
            budget
        } else {
            Duration::ZERO
        }
    }
}

/// How often the answer is refreshed.
const INTERVAL: Duration = Duration::from_millis(100);

/// CPUs other processes must leave us for spinning to be worth it: one for
/// the thread we wait for, one for the spinner, with some slack for noise.
const NEEDED_CPUS: f64 = 1.5;

static SPARE: AtomicBool = AtomicBool::new(true);
/// Nanoseconds since [`epoch`] after which the next sample is due.
static NEXT_SAMPLE: AtomicU64 = AtomicU64::new(0);
static SAMPLER: Mutex<Option<Sampler>> = Mutex::new(None);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Whether the machine had a spare CPU to spin on over the last interval,
/// as [`SpinPolicy::IdleCpu`] sees it (refreshed at most every 100 ms by
/// whichever caller finds the answer stale; the others read the last one).
#[inline]
pub fn spare_cpu() -> bool {
    let now = epoch().elapsed().as_nanos() as u64;
    if now >= NEXT_SAMPLE.load(Ordering::Relaxed) {
        refresh(now);
    }
    SPARE.load(Ordering::Relaxed)
}

#[cold]
fn refresh(now: u64) {
    // One sampler at a time; the others go on with the last answer.
    let Some(mut slot) = SAMPLER.try_lock() else { return };
    if now < NEXT_SAMPLE.load(Ordering::Relaxed) {
        return;
    }
    NEXT_SAMPLE.store(now + INTERVAL.as_nanos() as u64, Ordering::Relaxed);
    let sampler = slot.get_or_insert_with(Sampler::open);
    if let Some(spare) = sampler.sample() {
        SPARE.store(spare >= NEEDED_CPUS, Ordering::Relaxed);
    }
}

/// CPU time counters, in clock ticks (USER_HZ, the unit of both files).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ticks {
    total: u64,
    idle: u64,
    own: u64,
}

struct Sampler {
    files: Option<(File, File)>,
    cpus: usize,
    last: Option<Ticks>,
}

impl Sampler {
    fn open() -> Sampler {
        let files = File::open("/proc/stat")
            .and_then(|s| Ok((s, File::open("/proc/self/stat")?)))
            .ok();
        Sampler {
            files,
            cpus: 0,
            last: None,
        }
    }

    /// CPUs left by other processes over the interval since the last call;
    /// None while there is no interval yet, or the files cannot be read.
    fn sample(&mut self) -> Option<f64> {
        let (stat, own) = self.files.as_ref()?;
        let mut buf = [0u8; 4096];
        let n = stat.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        if self.cpus == 0 {
            // Count the per-CPU lines once (the first read may be cut short
            // on a machine with many CPUs; then ask the runtime).
            self.cpus = text.lines().filter(|l| is_cpu_n(l)).count();
            if n == buf.len() || self.cpus == 0 {
                self.cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
            }
        }
        let (total, idle) = parse_cpu_line(text)?;
        let m = own.read_at(&mut buf, 0).ok()?;
        let own = parse_own_ticks(std::str::from_utf8(&buf[..m]).ok()?)?;
        let now = Ticks { total, idle, own };
        let last = self.last.replace(now)?;
        Some(spare_cpus(last, now, self.cpus))
    }
}

fn is_cpu_n(line: &str) -> bool {
    line.strip_prefix("cpu")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The aggregate `cpu` line of `/proc/stat`: (total, idle + iowait) ticks.
/// Fields: user nice system idle iowait irq softirq steal [guest guest_nice];
/// guest time is already inside user and nice, so only the first eight count.
fn parse_cpu_line(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if f.len() < 5 {
        return None;
    }
    Some((f.iter().sum(), f[3] + f[4]))
}

/// utime + stime from `/proc/self/stat` (fields 14 and 15; the command name,
/// field 2, is in parentheses and may contain spaces, so count from the last
/// `)`).
fn parse_own_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPUs not kept busy by other processes between two samples.
fn spare_cpus(a: Ticks, b: Ticks, cpus: usize) -> f64 {
    let total = b.total.saturating_sub(a.total);
    if total == 0 {
        // Less than a tick passed: no news; say what a quiet machine says.
        return cpus as f64;
    }
    let idle = b.idle.saturating_sub(a.idle);
    let own = b.own.saturating_sub(a.own);
    let others = total.saturating_sub(idle).saturating_sub(own);
    let per_cpu = total as f64 / cpus as f64;
    cpus as f64 - others as f64 / per_cpu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cpu_line_and_own_ticks() {
        let stat = "cpu  100 5 50 800 20 1 2 3 7 0\ncpu0 50 2 25 400 10 0 1 1 0 0\n";
        assert_eq!(parse_cpu_line(stat), Some((100 + 5 + 50 + 800 + 20 + 1 + 2 + 3, 820)));
        assert_eq!(parse_cpu_line("intr 1 2 3\n"), None);
        assert!(is_cpu_n("cpu0 1 2") && is_cpu_n("cpu17 1") && !is_cpu_n("cpu  1 2"));
        let own = "4242 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 111 222 0 0 20 0";
        assert_eq!(parse_own_ticks(own), Some(333));
    }

    #[test]
    fn others_load_is_what_is_neither_idle_nor_ours() {
        let t = |total, idle, own| Ticks { total, idle, own };
        // 2 CPUs, 100 ticks each over the interval.
        // Idle machine: spare 2.
        assert_eq!(spare_cpus(t(0, 0, 0), t(200, 200, 0), 2), 2.0);
        // Our own spinning and jobs keep both CPUs busy: still spare.
        assert_eq!(spare_cpus(t(0, 0, 0), t(200, 0, 200), 2), 2.0);
        // Two busy loops elsewhere took 1.5 CPUs from us: 0.5 left.
        assert_eq!(spare_cpus(t(0, 0, 0), t(200, 0, 50), 2), 0.5);
        // One busy loop elsewhere: 1 left, not enough to spin beside a worker.
        assert!(spare_cpus(t(0, 0, 0), t(200, 60, 40), 2) < NEEDED_CPUS);
        // No ticks passed: no news.
        assert_eq!(spare_cpus(t(5, 5, 5), t(5, 5, 5), 4), 4.0);
    }

    #[test]
    fn the_live_sample_is_plausible() {
        let mut s = Sampler::open();
        if s.files.is_none() {
            return; // not Linux: the policy degrades to always spinning
        }
        assert_eq!(s.sample(), None, "the first sample has no interval");
        std::thread::sleep(Duration::from_millis(30));
        let spare = s.sample().expect("a second sample");
        assert!(s.cpus >= 1);
        assert!(spare <= s.cpus as f64 + 1e-9, "{spare} spare of {} CPUs", s.cpus);
    }
}
