//! The rpath to the libpython pyhost links, for this package's tests and
//! cdylib (pyhost-build reads it from pyhost's `links` metadata).

fn main() {
    pyhost_build::link_python();
}
