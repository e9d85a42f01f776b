//! The persistent cache behind `datadog_agent.read_persistent_cache` and
//! `write_persistent_cache`: one file per key under a data directory, so
//! values survive a restart of the host.
//!
//! Layout, after the Agent's `pkg/persistentcache`: a key `prefix:rest`
//! (checks use `<check name>:<instance hash>_<key>`) is stored as
//! `<dir>/<prefix>/<rest>`; a key without `:` as `<dir>/<key>`. The Agent
//! *deletes* characters outside `[A-Za-z0-9_-]`, so distinct keys can share
//! a file; here they are percent-encoded (`.` becomes `%2E`) instead, which
//! keeps the same file names for keys made of those characters only (every
//! check-generated key) and never maps two keys to one file. An empty
//! component is written `%`, which encoding never produces; a component
//! whose encoding exceeds 200 bytes is cut and suffixed with `~` and a
//! 64-bit FNV-1a hash of the whole component.
//!
//! Writes are atomic: the value goes to a temporary file in the same
//! directory (names starting with `.`, which encoding never produces),
//! is flushed to disk, then renamed over the key's file. Files are created
//! `0600` and directories `0700`, as the Agent does. A missing key reads as
//! `None` (rtloader then returns `""`).
//!
//! As in the Agent's layout, a key without `:` and a prefix of the same
//! name need the same path as a file and as a directory: writing the second
//! one is an error (never a silent overwrite).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest encoded component kept whole (file names are limited to 255 bytes).
const MAX_COMPONENT: usize = 200;

/// A directory of cached values. Cheap to clone; safe to share between threads.
#[derive(Debug, Clone)]
pub struct PersistentCache {
    dir: PathBuf,
}

impl PersistentCache {
    /// Use (and create if needed) `dir` as the cache directory.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<PersistentCache> {
        let dir = dir.into();
        create_dir_private(&dir)?;
        Ok(PersistentCache { dir })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a key is stored in.
    pub fn path_for(&self, key: &str) -> PathBuf {
        match key.split_once(':') {
            Some((prefix, rest)) => self.dir.join(encode_component(prefix)).join(encode_component(rest)),
            None => self.dir.join(encode_component(key)),
        }
    }

    /// Store `value` under `key`, atomically replacing any previous value.
    pub fn write(&self, key: &str, value: &str) -> io::Result<()> {
        let path = self.path_for(key);
        let parent = path.parent().unwrap_or(&self.dir);
        create_dir_private(parent)?;
        let tmp = parent.join(temp_name());
        let result = (|| {
            let mut f = create_private(&tmp)?;
            f.write_all(value.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// The value stored under `key`, or `None` if there is none. A value
    /// that is not UTF-8 is an `InvalidData` error.
    pub fn read(&self, key: &str) -> io::Result<Option<String>> {
        match fs::read(self.path_for(key)) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("cached value for {key:?}: {e}"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Delete the value under `key`; `Ok(false)` if there was none.
    pub fn remove(&self, key: &str) -> io::Result<bool> {
        match fs::remove_file(self.path_for(key)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Percent-encode everything outside `[A-Za-z0-9_-]`; see the module docs.
fn encode_component(s: &str) -> String {
    if s.is_empty() {
        return "%".to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > MAX_COMPONENT {
        // Cut on a whole escape so the prefix stays readable.
        let mut cut = MAX_COMPONENT;
        while out.as_bytes()[cut - 1] == b'%' || (cut >= 2 && out.as_bytes()[cut - 2] == b'%') {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(&format!("~{:016x}", fnv1a(s.as_bytes())));
    }
    out
}

/// FNV-1a 64: stable across Rust versions, unlike `DefaultHasher`, so file
/// names survive upgrades.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        ".tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn create_dir_private(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        crate::test_util::temp_path(&format!("cache-{tag}"))
    }

    #[test]
    fn write_read_overwrite_remove() {
        let d = tempdir("rw");
        let c = PersistentCache::new(&d).unwrap();
        assert_eq!(c.read("redis:abc123_key").unwrap(), None);
        c.write("redis:abc123_key", "v1").unwrap();
        assert_eq!(c.read("redis:abc123_key").unwrap().as_deref(), Some("v1"));
        c.write("redis:abc123_key", "second, longer value ✓").unwrap();
        assert_eq!(
            c.read("redis:abc123_key").unwrap().as_deref(),
            Some("second, longer value ✓")
        );
        c.write("redis:abc123_key", "").unwrap();
        assert_eq!(c.read("redis:abc123_key").unwrap().as_deref(), Some(""));
        assert!(c.remove("redis:abc123_key").unwrap());
        assert!(!c.remove("redis:abc123_key").unwrap());
        assert_eq!(c.read("redis:abc123_key").unwrap(), None);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn survives_a_new_instance() {
        let d = tempdir("restart");
        PersistentCache::new(&d)
            .unwrap()
            .write("check:1_cursor", "{\"pos\": 42}")
            .unwrap();
        let again = PersistentCache::new(&d).unwrap();
        assert_eq!(again.read("check:1_cursor").unwrap().as_deref(), Some("{\"pos\": 42}"));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn agent_layout_for_plain_keys() {
        let d = tempdir("layout");
        let c = PersistentCache::new(&d).unwrap();
        assert_eq!(
            c.path_for("postgres:1a2b3c_log_cursor"),
            d.join("postgres").join("1a2b3c_log_cursor")
        );
        assert_eq!(c.path_for("plain-key_1"), d.join("plain-key_1"));
        // Only the first ':' splits.
        assert_eq!(c.path_for("a:b:c"), d.join("a").join("b%3Ac"));
        c.write("postgres:1a2b3c_log_cursor", "x").unwrap();
        assert!(d.join("postgres").join("1a2b3c_log_cursor").is_file());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn keys_never_escape_or_collide() {
        let d = tempdir("sanitize");
        let c = PersistentCache::new(&d).unwrap();
        let keys = [
            "../../etc/passwd",
            "a.b",
            "ab",
            "a/b",
            ":",
            "a:",
            ":a",
            "..",
            ".",
            "%",
            "%25",
            "é",
        ];
        for (i, k) in keys.iter().enumerate() {
            let p = c.path_for(k);
            assert!(p.starts_with(&d), "{k:?} -> {p:?}");
            let rel = p.strip_prefix(&d).unwrap();
            for comp in rel.components() {
                let s = comp.as_os_str().to_str().unwrap();
                assert!(!s.starts_with('.') && !s.contains('/'), "{k:?} -> {s:?}");
            }
            c.write(k, &i.to_string()).unwrap();
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(c.read(k).unwrap(), Some(i.to_string()), "{k:?}");
        }
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_plain_key_and_a_prefix_of_the_same_name_conflict_loudly() {
        // As in the Agent's layout, "x" is a file and "x:..." a directory.
        let d = tempdir("conflict");
        let c = PersistentCache::new(&d).unwrap();
        c.write("x", "file").unwrap();
        assert!(c.write("x:y", "in dir").is_err());
        assert_eq!(c.read("x").unwrap().as_deref(), Some("file"));
        c.write("", "empty key").unwrap();
        assert_eq!(c.read("").unwrap().as_deref(), Some("empty key"));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn long_keys_are_hashed_distinctly() {
        let d = tempdir("long");
        let c = PersistentCache::new(&d).unwrap();
        let a = format!("check:{}a", "x".repeat(300));
        let b = format!("check:{}b", "x".repeat(300));
        let pa = c.path_for(&a);
        assert!(pa.file_name().unwrap().len() <= MAX_COMPONENT + 17);
        assert_ne!(pa, c.path_for(&b));
        c.write(&a, "A").unwrap();
        c.write(&b, "B").unwrap();
        assert_eq!(c.read(&a).unwrap().as_deref(), Some("A"));
        assert_eq!(c.read(&b).unwrap().as_deref(), Some("B"));
        // A long run of escapes is cut on an escape boundary.
        let e = encode_component(&".".repeat(150));
        let head = e.split('~').next().unwrap();
        assert!(head.len() <= MAX_COMPONENT && head.len() % 3 == 0, "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn writes_leave_no_temp_files_and_are_private() {
        let d = tempdir("tmp");
        let c = PersistentCache::new(&d).unwrap();
        for i in 0..20 {
            c.write("k:v", &i.to_string()).unwrap();
        }
        let names: Vec<String> = fs::read_dir(d.join("k"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["v".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(d.join("k").join("v")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_writers_leave_a_whole_value() {
        let d = tempdir("race");
        let c = PersistentCache::new(&d).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        c.write("k:race", &t.to_string().repeat(1000)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let v = c.read("k:race").unwrap().unwrap();
        assert_eq!(v.len(), 1000);
        assert!(v.chars().all(|ch| ch == v.chars().next().unwrap()), "a torn write");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn non_utf8_value_is_an_error() {
        let d = tempdir("utf8");
        let c = PersistentCache::new(&d).unwrap();
        fs::write(c.path_for("bad"), [0xff, 0xfe]).unwrap();
        assert_eq!(c.read("bad").unwrap_err().kind(), io::ErrorKind::InvalidData);
        fs::remove_dir_all(&d).unwrap();
    }
}
