//! What the unit tests of several modules share.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh path under the system's temporary directory, unique in this
/// process (`pyhost-<tag>-<pid>-<n>`); nothing exists there yet.
pub(crate) fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "pyhost-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}
