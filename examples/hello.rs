//! The talk's demo 01: import a Python module from a folder and call a function.
//!
//! Run with `cargo run --example hello`.

use std::collections::BTreeMap;

use pyhost::{Interpreter, Result};

fn main() -> Result<()> {
    let plugins = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python");
    let interp = Interpreter::builder().add_path(plugins).init()?;

    interp.with_gil(|py| -> Result<()> {
        let demo = py.import("demo")?;

        let greeting: String = demo.getattr("hello")?.call1(("pyhost",))?.extract()?;
        println!("{greeting}");

        let counts: BTreeMap<String, i64> = demo
            .getattr("word_count")?
            .call1(("the cat saw the other cat",))?
            .extract()?;
        println!("word_count -> {counts:?}");

        // A Python exception comes back as an error with its traceback.
        match demo.getattr("word_count")?.call1((42,)) {
            Ok(_) => println!("unexpected success"),
            Err(e) => println!("word_count(42) failed as expected:\n{e}"),
        }
        Ok(())
    })
}
