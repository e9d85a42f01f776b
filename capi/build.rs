//! Emit an rpath to the libpython that pyhost links (the same interpreter
//! pyhost's build script asks: `PYTHON_SYS_EXECUTABLE`, else the one
//! python3-sys picked), so this package's tests and cdylib load it.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYTHON_SYS_EXECUTABLE");
    let interpreter = env::var("PYTHON_SYS_EXECUTABLE")
        .or_else(|_| env::var("DEP_PYTHON3_PYTHON_INTERPRETER"))
        .unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&interpreter)
        .arg("-c")
        .arg("import sysconfig; v = sysconfig.get_config_var; print(v('LIBDIR') or ''); print(v('Py_ENABLE_SHARED') or 0)")
        .output();
    if let Ok(out) = out {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let lib_dir = lines.next().unwrap_or("").trim().to_string();
        let shared = lines.next().unwrap_or("0").trim() == "1";
        if shared && !lib_dir.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
        }
    }
}
