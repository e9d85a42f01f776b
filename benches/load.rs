//! What the dispatch benches share: other processes that load the machine,
//! and the process's own CPU time.

use std::process::{Child, Command};
use std::time::Duration;

/// Two processes that keep both cores busy while they live (kill them with
/// [`stop`]).
pub fn load_both_cores() -> Vec<Child> {
    (0..2)
        .map(|_| {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("spawn a busy loop")
        })
        .collect()
}

/// Kill and reap the busy loops.
pub fn stop(loops: Vec<Child>) {
    for mut c in loops {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// CPU time (user + system) of the whole process so far (`getrusage`).
pub fn process_cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
