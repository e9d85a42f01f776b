//! Host modules: Rust functions exposed to Python as built-in modules.
//! (Being written: issue 3.)
