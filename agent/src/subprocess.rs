//! `_util.get_subprocess_output`: run a command and capture its output.
//!
//! What the Agent's Go callback does (`pkg/collector/python/util.go`), in
//! Rust's `std::process`:
//!
//! * `argv` is executed directly, never through a shell;
//! * `env`: `None` inherits the host's environment; `Some(pairs)`
//!   replaces it entirely (rtloader passes a NULL array, so `None`, for a
//!   missing *or empty* `env` dict: the module layer maps `{}` to `None`);
//! * the program is looked up in the *host's* `PATH` even when `env`
//!   replaces the environment, as Go's `exec.Command` does; the child still
//!   sees the name it was given as `argv[0]`;
//! * stdin is `/dev/null`; stdout and stderr are read concurrently (one
//!   helper thread), so a child filling either pipe cannot deadlock;
//! * the child is always waited for, even if reading failed: no zombies;
//! * the return code is the exit status, or `-1` when a signal killed the
//!   child (Go's `WaitStatus.ExitStatus()`);
//! * output is decoded as UTF-8, invalid bytes replaced.
//!
//! This blocks: callers holding the GIL must release it around the call
//! (rtloader does).

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Run `argv` and return `(stdout, stderr, returncode)`. See the module docs.
///
/// Errors: an empty `argv`, or an `env` key that is empty or contains `=`
/// or NUL (`InvalidInput`); a program that cannot be started (the spawn
/// error, with the program's name in the message).
pub fn subprocess_output(argv: &[String], env: Option<&[(String, String)]>) -> io::Result<(String, String, i32)> {
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid command: empty list",
        ));
    };
    let mut cmd = match env {
        Some(vars) => {
            for (k, _) in vars {
                if k.is_empty() || k.contains('=') || k.contains('\0') {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("invalid environment variable name {k:?}"),
                    ));
                }
            }
            let mut cmd = Command::new(resolve_in_host_path(program));
            set_arg0(&mut cmd, program);
            cmd.env_clear();
            cmd.envs(vars.iter().map(|(k, v)| (k, v)));
            cmd
        }
        None => Command::new(program),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program:?}: {e}")))?;
    // Ours to wait for: the reaper of abandoned children leaves it alone.
    let pid = child.id() as i32;
    crate::containment::reaper::own(pid);
    let result = read_and_wait(&mut child);
    crate::containment::reaper::disown(pid);
    result
}

/// Read the child's output and wait for it (see the module docs).
fn read_and_wait(child: &mut std::process::Child) -> io::Result<(String, String, i32)> {
    let mut stdout_pipe = child.stdout.take();
    let stderr_pipe = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        if let Some(mut p) = stderr_pipe {
            p.read_to_end(&mut buf)?;
        }
        Ok(buf)
    });
    let mut out = Vec::new();
    let out_res = match stdout_pipe.as_mut() {
        Some(p) => p.read_to_end(&mut out).map(drop),
        None => Ok(()),
    };
    // Close our end before waiting, so a child still writing gets EPIPE
    // instead of blocking forever if reading stopped early.
    drop(stdout_pipe);
    let err_res = stderr_reader
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("stderr reader panicked")));
    // Reap the child whatever happened above.
    let status = child.wait()?;
    out_res?;
    let err = err_res?;
    let code = status.code().unwrap_or(-1);
    Ok((
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
        code,
    ))
}

/// Find a bare program name in the host's `PATH`; anything with a `/`, or
/// not found, is returned unchanged (the spawn then reports it).
fn resolve_in_host_path(program: &str) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let path: OsString = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .unwrap_or_else(|| PathBuf::from(program))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

fn set_arg0(cmd: &mut Command, name: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0(name);
    }
    #[cfg(not(unix))]
    let _ = (cmd, name);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn sh(script: &str) -> (String, String, i32) {
        subprocess_output(&argv(&["sh", "-c", script]), None).unwrap()
    }

    #[test]
    fn captures_stdout() {
        assert_eq!(
            subprocess_output(&argv(&["echo", "hello", "world"]), None).unwrap(),
            ("hello world\n".into(), "".into(), 0)
        );
    }

    #[test]
    fn never_uses_a_shell() {
        let (out, _, code) = subprocess_output(&argv(&["echo", "$HOME; rm -rf /tmp/x", "`id`"]), None).unwrap();
        assert_eq!(out, "$HOME; rm -rf /tmp/x `id`\n");
        assert_eq!(code, 0);
    }

    #[test]
    fn captures_stderr_and_exit_code() {
        assert_eq!(
            sh("echo out; echo err >&2; exit 3"),
            ("out\n".into(), "err\n".into(), 3)
        );
        assert_eq!(sh("exit 0").2, 0);
    }

    #[test]
    fn killed_by_signal_is_minus_one() {
        assert_eq!(sh("kill -9 $$").2, -1);
    }

    #[test]
    fn env_replaces_or_inherits() {
        let vars = vec![
            ("FOO".to_string(), "BAR".to_string()),
            ("BAZ".to_string(), "QUX".to_string()),
        ];
        let (out, _, code) = subprocess_output(&argv(&["env"]), Some(&vars)).unwrap();
        assert_eq!(code, 0);
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort_unstable();
        assert_eq!(
            lines,
            ["BAZ=QUX", "FOO=BAR"],
            "only the given variables, and `env` found through the host PATH"
        );
        // An empty replacement is an empty environment.
        assert_eq!(subprocess_output(&argv(&["env"]), Some(&[])).unwrap().0, "");
        // None inherits.
        let host_path = std::env::var("PATH").unwrap();
        assert_eq!(sh("printf %s \"$PATH\"").0, host_path);
        // argv[0] is the name as given, not the resolved path.
        let (out, _, _) = subprocess_output(&argv(&["sh", "-c", "echo $0"]), Some(&vars)).unwrap();
        assert_eq!(out, "sh\n");
    }

    #[test]
    fn invalid_env_names_are_rejected() {
        for bad in ["", "A=B", "A\0B"] {
            let vars = vec![(bad.to_string(), "v".to_string())];
            let e = subprocess_output(&argv(&["true"]), Some(&vars)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn missing_binary_and_empty_argv_are_errors() {
        let e = subprocess_output(&argv(&["/nonexistent/pyhost-no-such-binary"]), None).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("pyhost-no-such-binary"), "{e}");
        let e = subprocess_output(&argv(&["pyhost-no-such-binary"]), Some(&[])).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = subprocess_output(&[], None).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn large_output_on_both_pipes_does_not_deadlock() {
        // 1 MiB to each pipe, interleaved: far beyond the 64 KiB pipe buffers.
        let (out, err, code) = sh("i=0; while [ $i -lt 16 ]; do head -c 65536 /dev/zero | tr '\\0' o; head -c 65536 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done");
        assert_eq!(code, 0);
        assert_eq!(out.len(), 1 << 20);
        assert_eq!(err.len(), 1 << 20);
        assert!(out.bytes().all(|b| b == b'o') && err.bytes().all(|b| b == b'e'));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (out, _, _) = sh("printf 'a\\377b'");
        assert_eq!(out, "a\u{FFFD}b");
    }

    #[test]
    fn stdin_is_empty_and_sigpipe_is_default_in_the_child() {
        assert_eq!(sh("cat; echo done").0, "done\n");
        // With SIGPIPE ignored (as in this Rust test process, and in Python)
        // `yes` would report "Broken pipe" on stderr.
        let (out, err, code) = sh("yes | head -n 2");
        assert_eq!((out.as_str(), err.as_str(), code), ("y\ny\n", "", 0));
    }

    #[test]
    fn children_are_reaped() {
        for _ in 0..20 {
            sh("true");
        }
        let me = std::process::id().to_string();
        let zombies = || {
            std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
                .filter(|stat| {
                    let after = stat.rsplit_once(") ").map(|(_, a)| a).unwrap_or("");
                    let f: Vec<&str> = after.split(' ').collect();
                    f.first() == Some(&"Z") && f.get(1) == Some(&me.as_str())
                })
                .count()
        };
        // Tests running in parallel may have a child between exit and wait
        // for a moment; a leaked zombie stays.
        let mut left = zombies();
        for _ in 0..100 {
            if left == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            left = zombies();
        }
        assert_eq!(left, 0, "zombie children of this process");
    }
}
