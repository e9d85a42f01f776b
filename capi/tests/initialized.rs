//! Error paths of the C ABI with the interpreter running (its own test
//! binary, so its own process: one initialisation scenario).

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use pyhost_capi::*;

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    // SAFETY: pyhost_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(pyhost_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Take a pyhost-allocated string.
fn take(p: *mut c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: p is a NUL-terminated string malloc'd by pyhost.
    let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    // SAFETY: p came from pyhost and is freed once.
    unsafe { pyhost_free(p.cast()) };
    s
}

fn eval(expr: &str) -> Result<String, String> {
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers.
    match unsafe { pyhost_eval_json(cs(expr).as_ptr(), &mut out) } {
        0 => Ok(take(out)),
        _ => {
            assert!(out.is_null());
            Err(last_error())
        }
    }
}

fn call(module: &str, function: &str, args: Option<&str>) -> Result<String, String> {
    let mut out = ptr::null_mut();
    let args = args.map(cs);
    // SAFETY: valid pointers.
    let rc = unsafe {
        pyhost_call_json(
            cs(module).as_ptr(),
            cs(function).as_ptr(),
            args.as_ref().map_or(ptr::null(), |a| a.as_ptr()),
            &mut out,
        )
    };
    match rc {
        0 => Ok(take(out)),
        _ => {
            assert!(out.is_null());
            Err(last_error())
        }
    }
}

#[test]
fn initialised_error_paths() {
    // A config with an invalid UTF-8 path is rejected before starting Python.
    let bad = [0xffu8 as c_char, 0];
    let paths = [bad.as_ptr(), ptr::null()];
    let cfg = pyhost_config {
        isolated: 1,
        install_signal_handlers: 0,
        executable: ptr::null(),
        home: ptr::null(),
        venv: ptr::null(),
        paths: paths.as_ptr(),
    };
    // SAFETY: cfg is valid and its paths array NULL-terminated.
    assert_eq!(unsafe { pyhost_init(&cfg) }, -1);
    assert!(last_error().contains("not valid UTF-8"), "{}", last_error());
    assert_eq!(pyhost_is_initialized(), 0);

    // SAFETY: NULL means defaults.
    assert_eq!(unsafe { pyhost_init(ptr::null()) }, 0, "{}", last_error());
    assert_eq!(last_error(), "");
    assert_eq!(pyhost_is_initialized(), 1);
    // SAFETY: as above.
    assert_eq!(unsafe { pyhost_init(ptr::null()) }, -1);
    assert!(last_error().contains("already initialised"), "{}", last_error());

    // run / eval share __main__.
    assert_eq!(
        // SAFETY: valid NUL-terminated string.
        unsafe { pyhost_run(cs("import math\nx = {'a': [1, 2]}").as_ptr()) },
        0
    );
    assert_eq!(eval("x").unwrap(), r#"{"a": [1, 2]}"#);
    assert_eq!(eval("__name__").unwrap(), r#""__main__""#);
    assert_eq!(call("math", "hypot", Some("[3, 4]")).unwrap(), "5.0");
    assert!(call("os", "getcwd", None).unwrap().starts_with('"'));

    // Python errors: full traceback ending in "Type: message".
    assert_eq!(
        // SAFETY: valid NUL-terminated string.
        unsafe { pyhost_run(cs("def f():\n    raise KeyError('k')\nf()").as_ptr()) },
        -1
    );
    let e = last_error();
    assert!(e.starts_with("Traceback (most recent call last):"), "{e}");
    assert!(e.ends_with("KeyError: 'k'"), "{e}");
    let e = eval("1/0").unwrap_err();
    assert!(e.ends_with("ZeroDivisionError: division by zero"), "{e}");
    let e = eval("x = 1").unwrap_err();
    assert!(e.contains("SyntaxError"), "{e}");
    let e = eval("object()").unwrap_err();
    assert!(
        e.ends_with("TypeError: Object of type object is not JSON serializable"),
        "{e}"
    );

    // Bad JSON, non-array args, missing modules and functions.
    let e = call("math", "hypot", Some("[3,")).unwrap_err();
    assert!(e.contains("JSONDecodeError"), "{e}");
    let e = call("math", "hypot", Some("{\"a\": 1}")).unwrap_err();
    assert!(e.contains("TypeError: args_json must be a JSON array"), "{e}");
    let e = call("no_such_module_xyz", "f", None).unwrap_err();
    assert!(
        e.ends_with("ModuleNotFoundError: No module named 'no_such_module_xyz'"),
        "{e}"
    );
    let e = call("math", "no_such_fn", None).unwrap_err();
    assert!(e.contains("AttributeError"), "{e}");

    // NULL arguments with Python running.
    let mut out = ptr::null_mut();
    // SAFETY: NULL is an accepted (error) argument.
    assert_eq!(unsafe { pyhost_run(ptr::null()) }, -1);
    assert_eq!(last_error(), "code is NULL");
    assert_eq!(
        // SAFETY: as above.
        unsafe { pyhost_call_json(cs("m").as_ptr(), cs("f").as_ptr(), ptr::null(), ptr::null_mut(),) },
        -1
    );
    assert_eq!(last_error(), "json_out is NULL");
    assert_eq!(
        // SAFETY: as above.
        unsafe { pyhost_call_json(cs("math").as_ptr(), cs("hypot").as_ptr(), bad.as_ptr(), &mut out,) },
        -1
    );
    assert!(
        last_error().starts_with("args_json is not valid UTF-8"),
        "{}",
        last_error()
    );

    // Success clears the thread's error; other threads see their own.
    assert_eq!(eval("1").unwrap(), "1");
    assert_eq!(last_error(), "");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                for j in 0..25 {
                    assert_eq!(
                        call("operator", "add", Some(&format!("[{i}, {j}]"))).unwrap(),
                        (i + j).to_string()
                    );
                }
                assert!(eval("undefined_name")
                    .unwrap_err()
                    .ends_with("NameError: name 'undefined_name' is not defined"));
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(last_error(), "");

    // Worker pools.
    let mut pool = ptr::null_mut();
    // SAFETY: NULL is an accepted (error) argument.
    assert_eq!(unsafe { pyhost_pool_new(2, ptr::null_mut()) }, -1);
    assert_eq!(last_error(), "pool_out is NULL");
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { pyhost_pool_new(0, &mut pool) }, -1);
    assert!(pool.is_null());
    assert_eq!(
        // SAFETY: valid out pointer.
        unsafe { pyhost_pool_new(2, &mut pool) },
        0,
        "{}",
        last_error()
    );
    assert!(!pool.is_null());
    let pool_call = |function: &str, args: Option<&str>, timeout: f64| -> Result<String, String> {
        let mut out = ptr::null_mut();
        let args = args.map(cs);
        // SAFETY: valid pointers; the pool is live.
        let rc = unsafe {
            pyhost_pool_call_json(
                pool,
                cs("__main__").as_ptr(),
                cs(function).as_ptr(),
                args.as_ref().map_or(ptr::null(), |a| a.as_ptr()),
                timeout,
                &mut out,
            )
        };
        match rc {
            0 => Ok(take(out)),
            _ => {
                assert!(out.is_null());
                Err(last_error())
            }
        }
    };
    let defs = "def add(a, b):\n    return a + b\ndef spin():\n    while True:\n        pass\ndef boom():\n    raise RuntimeError('boom')\n";
    // SAFETY: valid NUL-terminated string.
    assert_eq!(unsafe { pyhost_run(cs(defs).as_ptr()) }, 0);
    assert_eq!(pool_call("add", Some("[[1], [2]]"), 0.0).unwrap(), "[1, 2]");
    assert!(pool_call("boom", None, 0.0)
        .unwrap_err()
        .ends_with("RuntimeError: boom"));
    assert!(pool_call("add", Some("nope"), 0.0)
        .unwrap_err()
        .contains("JSONDecodeError"));
    assert_eq!(pool_call("spin", None, 0.2).unwrap_err(), "job timed out");
    assert!(pool_call("add", Some("[1, 2]"), f64::NAN).is_ok());
    assert!(pool_call("add", Some("[1, 2]"), 1e300)
        .unwrap_err()
        .starts_with("invalid timeout_seconds"));
    let mut out = ptr::null_mut();
    assert_eq!(
        // SAFETY: NULL pool is an accepted (error) argument.
        unsafe {
            pyhost_pool_call_json(
                ptr::null_mut(),
                cs("m").as_ptr(),
                cs("f").as_ptr(),
                ptr::null(),
                0.0,
                &mut out,
            )
        },
        -1
    );
    assert_eq!(last_error(), "pool is NULL");
    // SAFETY: the pool is live and not used afterwards; NULL is a no-op.
    unsafe {
        pyhost_pool_free(pool);
        pyhost_pool_free(ptr::null_mut());
    }
}
