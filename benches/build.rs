//! The plain-C baselines (`csrc/`), compiled against the same Python headers
//! as pyhost's shim, and the rpath to the same libpython.

fn main() {
    println!("cargo:rerun-if-changed=csrc");
    let mut build = pyhost_build::c_build();
    build.include("csrc");
    for f in ["bench_baseline.c", "bench_modules.c", "bench_workers.c"] {
        build.file(format!("csrc/{f}"));
    }
    build.compile("pyhost_bench_c");
    println!("cargo:rustc-link-lib=pthread");
    pyhost_build::link_python();
}
