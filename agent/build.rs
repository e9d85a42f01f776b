//! rtloader's built-in modules as C method tables (`csrc/dd_*.c`), compiled
//! against the same `Python.h` and pyhost headers as pyhost's shim, and the
//! rpath to the same libpython for the `pyhost` binary, tests and examples.

fn main() {
    println!("cargo:rerun-if-changed=csrc");
    let mut build = pyhost_build::c_build();
    build.include("csrc");
    let mut sources: Vec<_> = std::fs::read_dir("csrc")
        .expect("csrc/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    build.files(&sources).compile("pyhost_agent_dd");
    pyhost_build::link_python();
    pyhost_build::use_python_cfgs();
}
