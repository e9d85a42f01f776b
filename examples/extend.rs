//! The talk's slides 15-18: extending Python with the host. A Python plugin
//! does `import my_module; my_module.my_func()`, and the call runs Rust code
//! in this process.
//!
//! `my_module` is a [`HostModule`] registered before start-up
//! (`PyImport_AppendInittab`). Its functions are Rust closures behind one C
//! trampoline (`METH_FASTCALL | METH_KEYWORDS`), so they can capture host
//! state; here, a call counter and the metrics the plugin submits.
//!
//! Run with `cargo run --example extend`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyhost::module::{HostException, HostModule};
use pyhost::{Interpreter, Result, ToPython};

/// A metric as the host keeps it: name, value, tags.
type Metric = (String, f64, Vec<String>);

fn main() -> Result<()> {
    let calls = Arc::new(AtomicU64::new(0));
    let metrics: Arc<Mutex<Vec<Metric>>> = Arc::default();
    let host_error = HostException::new("my_module.HostError");

    let my_module = {
        let calls = calls.clone();
        let metrics = metrics.clone();
        let host_error = host_error.clone();
        HostModule::new("my_module")
            .doc("A module that lives in the host.")
            .constant("HOST_NAME", "pyhost-example")
            .constant("VERSION", 1)
            .exception(&host_error)
            .function(
                "my_func",
                "my_func()\n--\n\nSay hello from the host.",
                move |py, args| {
                    args.no_args()?;
                    let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
                    format!("Hello from the Rust host (pid {}), call #{n}", std::process::id()).to_python(py)
                },
            )
            .function(
                "submit",
                "submit(name, value, tags=None)\n--\n\nHand a metric to the host.",
                move |py, args| {
                    args.check(&["name", "value", "tags"], 3)?;
                    let name: String = args.get(0, "name")?;
                    let value: f64 = args.get(1, "value")?;
                    let tags: Vec<String> = args.get_or(2, "tags", Vec::new())?;
                    if !value.is_finite() {
                        return Err(host_error.err(py, format!("{name}: {value} is not a finite number")));
                    }
                    metrics.lock().unwrap().push((name, value, tags));
                    Ok(py.None())
                },
            )
    };

    let plugins = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python");
    let interp = Interpreter::builder().add_path(plugins).add_module(my_module).init()?;

    let summary: String = interp.with_gil(|py| -> Result<String> {
        let summary = py.import("extend_demo")?.getattr("run")?.call0()?.extract()?;
        // Python is never finalised, so flush what the plugin printed.
        py.import("sys")?.getattr("stdout")?.call_method0("flush")?;
        Ok(summary)
    })?;
    println!("plugin returned: {summary}");
    println!("my_func was called {} times", calls.load(Ordering::Relaxed));
    for (name, value, tags) in metrics.lock().unwrap().iter() {
        println!("host received: {name} = {value} {tags:?}");
    }
    Ok(())
}
