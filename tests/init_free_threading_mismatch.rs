//! Scenario: the libpython loaded at run time has the right version number
//! but the other build: free-threaded (3.13t) for a default build of pyhost,
//! or the reverse (simulated through `Py_GetVersion()`'s text).

use pyhost::{Error, Interpreter};

#[test]
fn other_build_of_the_same_version_is_refused() {
    let compiled = pyhost::interpreter::compiled_version();
    let ft = pyhost::interpreter::compiled_free_threaded();
    let runtime = if ft {
        format!("{compiled} (main, Dec  4 2026, 19:23:16) [GCC 12.2.0]")
    } else {
        format!("{compiled} experimental free-threading build (main, Dec  4 2026, 19:25:43) [GCC 12.2.0]")
    };
    let e = Interpreter::builder()
        .simulate_runtime_version(runtime)
        .init()
        .unwrap_err();
    match &e {
        Error::VersionMismatch {
            compiled: c,
            runtime: r,
            compiled_free_threaded,
            runtime_free_threaded,
            ..
        } => {
            assert_eq!((c.as_str(), r.as_str()), (compiled, compiled));
            assert_eq!((*compiled_free_threaded, *runtime_free_threaded), (ft, !ft));
        }
        other => panic!("expected VersionMismatch, got {other:?}"),
    }
    let msg = e.to_string();
    let (ours, theirs) = if ft {
        (
            format!("Python {compiled} (free-threaded)"),
            format!("run time is {compiled} ("),
        )
    } else {
        (
            format!("Python {compiled} from"),
            format!("run time is {compiled} (free-threaded)"),
        )
    };
    assert!(msg.contains(&ours), "{msg}");
    assert!(msg.contains(&theirs), "{msg}");
}
