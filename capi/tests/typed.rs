//! The typed API, object handles, host-module definitions and the callback
//! accessors through the C ABI, driven from Rust: NULL and non-UTF-8 input
//! to every new function (an error, never a crash), every result type,
//! standard JSON, last-error truncation. Its own process: it registers a
//! module before start-up, then starts Python once.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use pyhost_capi::*;

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

const BAD: [c_char; 2] = [0xff_u8 as c_char, 0];

fn last_error() -> String {
    // SAFETY: pyhost_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(pyhost_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Assert that `rc` is -1 and the last error contains `want`.
#[track_caller]
fn fails(rc: c_int, want: &str) {
    assert_eq!(rc, -1, "succeeded; wanted an error with {want:?}");
    let e = last_error();
    assert!(e.contains(want), "error {e:?} does not contain {want:?}");
}

fn run(code: &str) {
    // SAFETY: a NUL-terminated string.
    let rc = unsafe { pyhost_run(cs(code).as_ptr()) };
    assert_eq!(rc, 0, "{code}: {}", last_error());
}

fn eval_json(expr: &str) -> Result<String, String> {
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers.
    if unsafe { pyhost_eval_json(cs(expr).as_ptr(), &mut out) } != 0 {
        return Err(last_error());
    }
    // SAFETY: a malloc'd NUL-terminated string from pyhost, freed once.
    let s = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
    // SAFETY: as above.
    unsafe { pyhost_free(out.cast()) };
    Ok(s)
}

/// `module.function(*args)` through the typed API.
fn call(module: &str, function: &str, args: &[pyhost_value]) -> Result<pyhost_value, String> {
    let mut r = pyhost_value::NONE;
    // SAFETY: valid strings and values; r is writable.
    let rc = unsafe {
        pyhost_call(
            cs(module).as_ptr(),
            cs(function).as_ptr(),
            args.as_ptr(),
            args.len(),
            &mut r,
        )
    };
    if rc == 0 {
        Ok(r)
    } else {
        assert_eq!(r.type_, PYHOST_NONE, "a failed call leaves None");
        Err(last_error())
    }
}

fn text(v: &pyhost_value) -> &str {
    assert!(v.type_ == PYHOST_STR || v.type_ == PYHOST_BYTES, "type {}", v.type_);
    // SAFETY: a str/bytes result points at `len` bytes (and a NUL after them).
    unsafe {
        assert_eq!(*(v.ptr as *const u8).add(v.len), 0, "NUL-terminated");
        std::str::from_utf8(std::slice::from_raw_parts(v.ptr as *const u8, v.len)).unwrap()
    }
}

fn strs(v: &pyhost_value) -> Vec<String> {
    assert_eq!(v.type_, PYHOST_STR_LIST);
    // SAFETY: a list result points at `len` pyhost_str, each at its bytes.
    unsafe {
        std::slice::from_raw_parts(v.ptr as *const pyhost_str, v.len)
            .iter()
            .map(|s| {
                assert_eq!(*s.ptr.add(s.len), 0, "items are NUL-terminated");
                String::from_utf8(std::slice::from_raw_parts(s.ptr as *const u8, s.len).to_vec()).unwrap()
            })
            .collect()
    }
}

fn free(mut v: pyhost_value) {
    // SAFETY: a value pyhost filled in, freed once.
    unsafe { pyhost_value_free(&mut v) };
    assert_eq!(v.type_, PYHOST_NONE);
}

fn json_of(v: &pyhost_value) -> String {
    assert_eq!(v.type_, PYHOST_OBJECT);
    let mut out = ptr::null_mut();
    // SAFETY: a live handle; out is writable.
    let rc = unsafe { pyhost_object_to_json(v.ptr as *const pyhost_object, &mut out) };
    assert_eq!(rc, 0, "{}", last_error());
    // SAFETY: a malloc'd string from pyhost, freed once.
    let s = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
    // SAFETY: as above.
    unsafe { pyhost_free(out.cast()) };
    s
}

// ---- host functions written in Rust through the C ABI ---------------------------

/// `add(a, b)`: a + b (declared ints).
unsafe extern "C" fn add(
    _ctx: *mut pyhost_ctx,
    args: *const pyhost_value,
    nargs: usize,
    result: *mut pyhost_value,
    userdata: *mut c_void,
) -> c_int {
    // SAFETY: two declared values; result writable; userdata is &OFFSET.
    unsafe {
        assert_eq!(nargs, 2);
        let args = std::slice::from_raw_parts(args, nargs);
        *result = pyhost_value::int(args[0].i + args[1].i + *(userdata as *const i64));
    }
    0
}

static OFFSET: i64 = 1000;

/// `probe(kind)`: misuse an accessor as `kind` says; the pending error is raised.
unsafe extern "C" fn probe(
    ctx: *mut pyhost_ctx,
    _args: *const pyhost_value,
    _nargs: usize,
    _result: *mut pyhost_value,
    _userdata: *mut c_void,
) -> c_int {
    // SAFETY: a live context; every pointer below is valid or deliberately NULL.
    unsafe {
        let mut kind = pyhost_value::NONE;
        if pyhost_arg(ctx, 0, c"kind".as_ptr(), PYHOST_STR, 0, &mut kind) != 0 {
            return -1;
        }
        let kind = std::str::from_utf8(std::slice::from_raw_parts(kind.ptr as *const u8, kind.len)).unwrap();
        let mut out = pyhost_value::NONE;
        let name = c"kind".as_ptr();
        match kind {
            "null-name" => pyhost_arg(ctx, 0, ptr::null(), PYHOST_STR, 0, &mut out),
            "bad-name" => pyhost_arg(ctx, 0, BAD.as_ptr(), PYHOST_STR, 0, &mut out),
            "null-out" => pyhost_arg(ctx, 0, name, PYHOST_STR, 0, ptr::null_mut()),
            "bad-type" => pyhost_arg(ctx, 0, name, 42, 0, &mut out),
            "none-type" => pyhost_arg(ctx, 0, name, PYHOST_NONE, 0, &mut out),
            "bad-flags" => pyhost_arg(ctx, 0, name, PYHOST_STR, 8, &mut out),
            "null-names" => pyhost_args_check(ctx, ptr::null(), 2, 1),
            "null-type-name" => pyhost_arg_type(ctx, 0, ptr::null()),
            "bad-message" => pyhost_raise(ctx, c"ValueError".as_ptr(), BAD.as_ptr()),
            "null-return" => pyhost_return(ctx, ptr::null()),
            "bad-return" => {
                let v = pyhost_value {
                    type_: 99,
                    ..pyhost_value::NONE
                };
                pyhost_return(ctx, &v)
            }
            "null-str-return" => {
                let v = pyhost_value {
                    type_: PYHOST_STR,
                    len: 3,
                    ..pyhost_value::NONE
                };
                pyhost_return(ctx, &v)
            }
            "gil" => {
                // Inside a callback the GIL is held; with_gil nests for free.
                extern "C" fn held(_: *mut c_void) -> c_int {
                    c_int::from(pyhost::gil::gil_is_held())
                }
                let rc = pyhost_with_gil(Some(held), ptr::null_mut());
                let v = pyhost_value::int(rc as i64);
                pyhost_return(ctx, &v)
            }
            _ => pyhost_raise(ctx, ptr::null(), c"unknown probe".as_ptr()),
        }
    }
}

fn define_module() {
    let mut m = ptr::null_mut();
    // SAFETY: valid strings and out pointer.
    unsafe {
        assert_eq!(
            pyhost_module_new(c"rmod".as_ptr(), c"From Rust, through the C ABI.".as_ptr(), &mut m),
            0
        );
        let params = [
            pyhost_param {
                name: c"a".as_ptr(),
                type_: PYHOST_INT,
                flags: 0,
            },
            pyhost_param {
                name: c"b".as_ptr(),
                type_: PYHOST_INT,
                flags: 0,
            },
        ];
        let offset = &OFFSET as *const i64 as *mut c_void;
        assert_eq!(
            pyhost_module_add_function(m, c"add".as_ptr(), ptr::null(), params.as_ptr(), 2, Some(add), offset),
            0
        );
        let kind = [pyhost_param {
            name: c"kind".as_ptr(),
            type_: PYHOST_STR,
            flags: 0,
        }];
        assert_eq!(
            pyhost_module_add_function_unchecked(m, c"probe".as_ptr(), ptr::null(), Some(probe), ptr::null_mut()),
            0
        );
        let _ = kind;
        assert_eq!(pyhost_module_add_int(m, c"ANSWER".as_ptr(), 42), 0);
        assert_eq!(pyhost_module_register(m), 0, "{}", last_error());
    }
}

/// Every module-definition function with NULL, non-UTF-8 and invalid input.
fn module_definition_errors() {
    // SAFETY: every pointer is valid, NULL, or points at the invalid UTF-8 `BAD`.
    unsafe {
        let mut m = ptr::null_mut();
        fails(pyhost_module_new(ptr::null(), ptr::null(), &mut m), "name is NULL");
        assert!(m.is_null());
        fails(
            pyhost_module_new(BAD.as_ptr(), ptr::null(), &mut m),
            "name is not valid UTF-8",
        );
        fails(pyhost_module_new(c"".as_ptr(), ptr::null(), &mut m), "name is empty");
        fails(
            pyhost_module_new(c"m".as_ptr(), BAD.as_ptr(), &mut m),
            "doc is not valid UTF-8",
        );
        fails(
            pyhost_module_new(c"m".as_ptr(), ptr::null(), ptr::null_mut()),
            "out is NULL",
        );
        assert_eq!(pyhost_module_new(c"m".as_ptr(), ptr::null(), &mut m), 0);

        let f = Some(add as pyhost_function);
        let p = |name: *const c_char, type_: i32, flags: i32| pyhost_param { name, type_, flags };
        let n = c"n".as_ptr();
        let add_fn = |m: *mut pyhost_module, params: &[pyhost_param]| {
            pyhost_module_add_function(
                m,
                c"f".as_ptr(),
                ptr::null(),
                params.as_ptr(),
                params.len(),
                f,
                ptr::null_mut(),
            )
        };
        fails(add_fn(ptr::null_mut(), &[]), "m is NULL");
        fails(
            pyhost_module_add_function(m, ptr::null(), ptr::null(), ptr::null(), 0, f, ptr::null_mut()),
            "name is NULL",
        );
        fails(
            pyhost_module_add_function(m, BAD.as_ptr(), ptr::null(), ptr::null(), 0, f, ptr::null_mut()),
            "name is not valid UTF-8",
        );
        fails(
            pyhost_module_add_function(m, c"f".as_ptr(), ptr::null(), ptr::null(), 0, None, ptr::null_mut()),
            "fn is NULL",
        );
        fails(
            pyhost_module_add_function(m, c"f".as_ptr(), ptr::null(), ptr::null(), 2, f, ptr::null_mut()),
            "params is NULL with nparams 2",
        );
        fails(add_fn(m, &[p(ptr::null(), PYHOST_INT, 0)]), "params[0].name is NULL");
        fails(
            add_fn(m, &[p(BAD.as_ptr(), PYHOST_INT, 0)]),
            "params[0].name is not valid UTF-8",
        );
        fails(
            add_fn(m, &[p(n, PYHOST_NONE, 0)]),
            "params[0] ('n') has an unknown type 0",
        );
        fails(add_fn(m, &[p(n, 8, 0)]), "params[0] ('n') has an unknown type 8");
        fails(add_fn(m, &[p(n, PYHOST_INT, 4)]), "params[0] ('n') has unknown flags 4");
        fails(
            add_fn(
                m,
                &[p(n, PYHOST_INT, PYHOST_KEYWORD_ONLY), p(c"o".as_ptr(), PYHOST_INT, 0)],
            ),
            "params[1] ('o') is positional after a keyword-only parameter",
        );
        fails(
            add_fn(m, &[p(n, PYHOST_INT, 0), p(n, PYHOST_STR, 0)]),
            "params[1]: duplicate parameter name 'n'",
        );
        fails(
            pyhost_module_add_function_unchecked(m, c"u".as_ptr(), ptr::null(), None, ptr::null_mut()),
            "fn is NULL",
        );
        fails(pyhost_module_add_int(ptr::null_mut(), n, 1), "m is NULL");
        fails(pyhost_module_add_int(m, ptr::null(), 1), "name is NULL");
        fails(pyhost_module_add_float(m, BAD.as_ptr(), 1.0), "name is not valid UTF-8");
        fails(pyhost_module_add_str(m, n, ptr::null()), "value is NULL");
        fails(pyhost_module_add_str(m, n, BAD.as_ptr()), "value is not valid UTF-8");
        fails(
            pyhost_module_add_exception(m, c"E".as_ptr(), c"NoSuchBase".as_ptr(), ptr::null()),
            "unknown base exception type 'NoSuchBase'",
        );
        fails(
            pyhost_module_add_exception(m, c"a.E".as_ptr(), ptr::null(), ptr::null()),
            "name must not contain a dot: 'a.E'",
        );
        fails(
            pyhost_module_add_exception(m, ptr::null(), ptr::null(), ptr::null()),
            "name is NULL",
        );
        fails(pyhost_module_register(ptr::null_mut()), "m is NULL");
        fails(pyhost_module_install(ptr::null_mut()), "m is NULL");
        pyhost_module_free(m);
        pyhost_module_free(ptr::null_mut());
    }
}

/// The callback accessors with a NULL context: errors of the calling thread.
fn null_context() {
    let mut out = pyhost_value::NONE;
    // SAFETY: NULL contexts are accepted (errors); other pointers valid.
    unsafe {
        fails(
            pyhost_arg(ptr::null_mut(), 0, c"a".as_ptr(), PYHOST_INT, 0, &mut out),
            "ctx is NULL",
        );
        fails(pyhost_arg_type(ptr::null_mut(), 0, c"a".as_ptr()), "ctx is NULL");
        fails(pyhost_args_check(ptr::null_mut(), ptr::null(), 0, 0), "ctx is NULL");
        fails(pyhost_raise(ptr::null_mut(), ptr::null(), ptr::null()), "ctx is NULL");
        fails(pyhost_return(ptr::null_mut(), &out), "ctx is NULL");
        assert_eq!(pyhost_arg_count(ptr::null()), 0);
        assert_eq!(pyhost_kwarg_count(ptr::null()), 0);
        // NULL handles and values are no-ops.
        pyhost_object_release(ptr::null_mut());
        pyhost_value_free(ptr::null_mut());
        pyhost_value_free(&mut out);
    }
}

#[test]
fn typed_api() {
    // ---- before start-up -------------------------------------------------
    define_module();
    module_definition_errors();
    null_context();
    fails(
        call("math", "hypot", &[]).map(drop).map_or(-1, |_| 0),
        "not initialised",
    );
    let mut h = ptr::null_mut();
    // SAFETY: valid pointers.
    fails(unsafe { pyhost_import(c"math".as_ptr(), &mut h) }, "not initialised");
    extern "C" fn one(_: *mut c_void) -> c_int {
        1
    }
    // SAFETY: a valid function.
    fails(
        unsafe { pyhost_with_gil(Some(one), ptr::null_mut()) },
        "not initialised",
    );

    // SAFETY: NULL means the defaults.
    assert_eq!(unsafe { pyhost_init(ptr::null()) }, 0, "{}", last_error());

    // ---- the module registered before start-up ------------------------------
    run("import rmod\nassert rmod.add(1, b=2) == 1003 and rmod.ANSWER == 42\n\
         assert rmod.__doc__ == 'From Rust, through the C ABI.'");
    run("import rmod\n\
         def msg(kind):\n    try:\n        rmod.probe(kind)\n    except BaseException as e:\n        return f'{type(e).__name__}: {e}'\n");
    for (kind, want) in [
        ("null-name", "SystemError: pyhost_arg: name is NULL"),
        (
            "bad-name",
            "SystemError: pyhost_arg: name is not valid UTF-8: invalid utf-8 sequence of 1 bytes from index 0",
        ),
        ("null-out", "SystemError: pyhost_arg: out is NULL"),
        (
            "bad-type",
            "SystemError: probe(): parameter 'kind' has an unknown type 42",
        ),
        (
            "none-type",
            "SystemError: probe(): parameter 'kind' has an unknown type 0",
        ),
        ("bad-flags", "SystemError: pyhost_arg: unknown flags 8"),
        ("null-names", "SystemError: pyhost_args_check: names is NULL"),
        ("null-type-name", "SystemError: pyhost_arg_type: name is NULL"),
        ("bad-message", "ValueError: \\ufffd"), // JSON escapes U+FFFD
        ("null-return", "SystemError: pyhost_return: value is NULL"),
        (
            "bad-return",
            "ValueError: the result of probe() has an unknown pyhost_value type 99",
        ),
        (
            "null-str-return",
            "ValueError: the result of probe() is NULL with length 3",
        ),
        ("other", "RuntimeError: unknown probe"),
    ] {
        assert_eq!(eval_json(&format!("msg({kind:?})")).unwrap(), format!("\"{want}\""));
    }
    assert_eq!(eval_json("rmod.probe('gil')").unwrap(), "1");

    // ---- typed calls: every argument type, every result type ----------------
    run("def kinds(*a):\n    return [type(x).__name__ for x in a]\n\
         def ident(x):\n    return x\n\
         def ev(s):\n    return eval(s, {})\n\
         class C:\n    def method(self, a, b=2):\n        return a * b\n");
    let tags = [
        pyhost_str {
            ptr: c"env:prod".as_ptr(),
            len: 8,
        },
        pyhost_str {
            ptr: ptr::null(),
            len: 0,
        },
    ];
    let bytes = b"\0\x01";
    let args = [
        pyhost_value::NONE,
        pyhost_value {
            type_: PYHOST_BOOL,
            i: 1,
            ..pyhost_value::NONE
        },
        pyhost_value::int(-5),
        pyhost_value {
            type_: PYHOST_FLOAT,
            f: f64::NAN,
            ..pyhost_value::NONE
        },
        pyhost_value::str("h\u{e9}"),
        pyhost_value {
            type_: PYHOST_BYTES,
            ptr: bytes.as_ptr().cast(),
            len: 2,
            ..pyhost_value::NONE
        },
        pyhost_value {
            type_: PYHOST_STR_LIST,
            ptr: tags.as_ptr().cast(),
            len: 2,
            ..pyhost_value::NONE
        },
    ];
    let r = call("__main__", "kinds", &args).unwrap();
    assert_eq!(strs(&r), ["NoneType", "bool", "int", "float", "str", "bytes", "list"]);
    free(r);
    let ident = |v: pyhost_value| call("__main__", "ident", &[v]).unwrap();
    let r = ident(pyhost_value::NONE);
    assert_eq!((r.type_, r.flags), (PYHOST_NONE, 0));
    let r = ident(args[1]);
    assert_eq!((r.type_, r.i, r.flags), (PYHOST_BOOL, 1, 0));
    let r = ident(pyhost_value::int(i64::MIN));
    assert_eq!((r.type_, r.i), (PYHOST_INT, i64::MIN));
    let r = ident(args[3]);
    assert!(r.type_ == PYHOST_FLOAT && r.f.is_nan());
    let r = ident(args[4]);
    assert_eq!((text(&r), r.flags), ("h\u{e9}", PYHOST_VALUE_OWNED));
    free(r);
    let r = ident(args[5]);
    assert_eq!((r.type_, r.len), (PYHOST_BYTES, 2));
    free(r);
    let r = ident(args[6]);
    assert_eq!(strs(&r), ["env:prod", ""]);
    free(r);
    let r = call("__main__", "ev", &[pyhost_value::str("('a', 'b')")]).unwrap();
    assert_eq!(strs(&r), ["a", "b"]);
    free(r);
    for (expr, json) in [
        ("2**64", "18446744073709551616"),
        ("{'a': [1, None]}", r#"{"a": [1, null]}"#),
        ("['a', 1]", r#"["a", 1]"#),
        ("'\\udc80'.__class__.__name__ and ['x', 2.5]", r#"["x", 2.5]"#),
    ] {
        let r = call("__main__", "ev", &[pyhost_value::str(expr)]).unwrap();
        assert_eq!((json_of(&r), r.flags), (json.to_string(), PYHOST_VALUE_OWNED));
        free(r);
    }
    let r = call("__main__", "ev", &[pyhost_value::str("'\\udc80'")]).unwrap();
    assert_eq!(
        r.type_, PYHOST_OBJECT,
        "a str that UTF-8 cannot hold comes back as an object"
    );
    free(r);
    // An object argument: the handle stays the caller's.
    let obj = call("__main__", "ev", &[pyhost_value::str("{'k': 1}")]).unwrap();
    let objarg = pyhost_value {
        type_: PYHOST_OBJECT,
        ptr: obj.ptr,
        ..pyhost_value::NONE
    };
    let r = ident(objarg);
    assert_eq!(json_of(&r), r#"{"k": 1}"#);
    free(r);
    free(obj);

    // Bad arguments: errors, never crashes.
    let bad_str = pyhost_value {
        type_: PYHOST_STR,
        ptr: BAD.as_ptr().cast(),
        len: 1,
        ..pyhost_value::NONE
    };
    let e = call("__main__", "ident", &[pyhost_value::int(1), bad_str]).unwrap_err();
    assert_eq!(
        e,
        "ValueError: argument 2 is not valid UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    );
    let null_str = pyhost_value {
        type_: PYHOST_STR,
        len: 1,
        ..pyhost_value::NONE
    };
    assert_eq!(
        call("__main__", "ident", &[null_str]).unwrap_err(),
        "ValueError: argument 1 is NULL with length 1"
    );
    let empty_null = pyhost_value {
        type_: PYHOST_STR,
        ..pyhost_value::NONE
    };
    let r = ident(empty_null);
    assert_eq!(text(&r), "");
    free(r);
    let null_list = pyhost_value {
        type_: PYHOST_STR_LIST,
        len: 1,
        ..pyhost_value::NONE
    };
    assert_eq!(
        call("__main__", "ident", &[null_list]).unwrap_err(),
        "ValueError: argument 1 is NULL with 1 items"
    );
    let bad_tags = [pyhost_str {
        ptr: BAD.as_ptr(),
        len: 1,
    }];
    let bad_list = pyhost_value {
        type_: PYHOST_STR_LIST,
        ptr: bad_tags.as_ptr().cast(),
        len: 1,
        ..pyhost_value::NONE
    };
    assert!(call("__main__", "ident", &[bad_list])
        .unwrap_err()
        .starts_with("ValueError: argument 1 item 0 is not valid UTF-8"));
    let null_obj = pyhost_value {
        type_: PYHOST_OBJECT,
        ..pyhost_value::NONE
    };
    assert_eq!(
        call("__main__", "ident", &[null_obj]).unwrap_err(),
        "ValueError: argument 1 is a NULL object handle"
    );
    let unknown = pyhost_value {
        type_: -1,
        ..pyhost_value::NONE
    };
    assert_eq!(
        call("__main__", "ident", &[unknown]).unwrap_err(),
        "ValueError: argument 1 has an unknown pyhost_value type -1"
    );
    let mut r = pyhost_value::NONE;
    // SAFETY: every pointer is valid, NULL, or at `BAD`.
    unsafe {
        fails(
            pyhost_call(ptr::null(), c"f".as_ptr(), ptr::null(), 0, &mut r),
            "module is NULL",
        );
        fails(
            pyhost_call(c"m".as_ptr(), ptr::null(), ptr::null(), 0, &mut r),
            "function is NULL",
        );
        fails(
            pyhost_call(BAD.as_ptr(), c"f".as_ptr(), ptr::null(), 0, &mut r),
            "module is not valid UTF-8",
        );
        fails(
            pyhost_call(c"math".as_ptr(), c"hypot".as_ptr(), ptr::null(), 2, &mut r),
            "args is NULL with nargs 2",
        );
        // A NULL result discards it.
        assert_eq!(
            pyhost_call(c"math".as_ptr(), c"hypot".as_ptr(), ptr::null(), 0, ptr::null_mut()),
            0
        );
    }
    let e = call("__main__", "ident", &[]).unwrap_err();
    assert!(
        e.ends_with("TypeError: ident() missing 1 required positional argument: 'x'"),
        "{e}"
    );

    // ---- handles ---------------------------------------------------------
    let mut main = ptr::null_mut();
    let mut class = ptr::null_mut();
    let inst;
    let mut clone = ptr::null_mut();
    // SAFETY: valid, NULL or `BAD` pointers throughout; handles are live until released.
    unsafe {
        fails(pyhost_import(ptr::null(), &mut main), "module is NULL");
        fails(pyhost_import(BAD.as_ptr(), &mut main), "module is not valid UTF-8");
        fails(pyhost_import(c"__main__".as_ptr(), ptr::null_mut()), "out is NULL");
        fails(pyhost_import(c"no_such_mod".as_ptr(), &mut main), "ModuleNotFoundError");
        assert!(main.is_null());
        assert_eq!(pyhost_import(c"__main__".as_ptr(), &mut main), 0);
        fails(pyhost_getattr(ptr::null(), c"C".as_ptr(), &mut class), "obj is NULL");
        fails(pyhost_getattr(main, ptr::null(), &mut class), "name is NULL");
        fails(
            pyhost_getattr(main, BAD.as_ptr(), &mut class),
            "name is not valid UTF-8",
        );
        fails(pyhost_getattr(main, c"C".as_ptr(), ptr::null_mut()), "out is NULL");
        fails(pyhost_getattr(main, c"nope".as_ptr(), &mut class), "AttributeError");
        assert_eq!(pyhost_getattr(main, c"C".as_ptr(), &mut class), 0);
        let mut r = pyhost_value::NONE;
        fails(
            pyhost_object_call(ptr::null(), ptr::null(), 0, &mut r),
            "callable is NULL",
        );
        fails(
            pyhost_object_call(class, ptr::null(), 1, &mut r),
            "args is NULL with nargs 1",
        );
        assert_eq!(pyhost_object_call(class, ptr::null(), 0, &mut r), 0);
        assert_eq!(r.type_, PYHOST_OBJECT);
        inst = r.ptr as *mut pyhost_object;
        let three = [pyhost_value::int(3)];
        fails(
            pyhost_object_call_method(ptr::null(), c"method".as_ptr(), three.as_ptr(), 1, &mut r),
            "obj is NULL",
        );
        fails(
            pyhost_object_call_method(inst, ptr::null(), three.as_ptr(), 1, &mut r),
            "name is NULL",
        );
        fails(
            pyhost_object_call_method(inst, BAD.as_ptr(), three.as_ptr(), 1, &mut r),
            "name is not valid UTF-8",
        );
        assert_eq!(
            pyhost_object_call_method(inst, c"method".as_ptr(), three.as_ptr(), 1, &mut r),
            0
        );
        assert_eq!((r.type_, r.i), (PYHOST_INT, 6));
        let mut json = ptr::null_mut();
        fails(pyhost_object_to_json(ptr::null(), &mut json), "obj is NULL");
        fails(pyhost_object_to_json(inst, ptr::null_mut()), "json_out is NULL");
        fails(
            pyhost_object_to_json(inst, &mut json),
            "TypeError: Object of type C is not JSON serializable",
        );
        assert!(json.is_null());
        fails(pyhost_object_clone(ptr::null(), &mut clone), "obj is NULL");
        fails(pyhost_object_clone(inst, ptr::null_mut()), "out is NULL");
        assert_eq!(pyhost_object_clone(inst, &mut clone), 0);
        pyhost_object_release(inst);
        // The clone keeps the instance alive.
        assert_eq!(
            pyhost_object_call_method(clone, c"method".as_ptr(), three.as_ptr(), 1, &mut r),
            0
        );
        assert_eq!(r.i, 6);
        // Released on another thread, without the GIL.
        let (c, m, k) = (clone as usize, main as usize, class as usize);
        std::thread::spawn(move || {
            assert!(!pyhost::gil::gil_is_held());
            for h in [c, m, k] {
                pyhost_object_release(h as *mut pyhost_object);
            }
        })
        .join()
        .unwrap();
    }

    // ---- GIL helpers ------------------------------------------------------
    extern "C" fn batch(data: *mut c_void) -> c_int {
        assert!(pyhost::gil::gil_is_held());
        let mut sum = 0;
        for i in 0..10 {
            let r = call("operator", "add", &[pyhost_value::int(i), pyhost_value::int(1)]).unwrap();
            sum += r.i;
        }
        // SAFETY: data is &mut i64 (below).
        unsafe { *(data as *mut i64) = sum };
        7
    }
    let mut sum = 0i64;
    // SAFETY: a valid function and data pointer.
    let rc = unsafe { pyhost_with_gil(Some(batch), &mut sum as *mut i64 as *mut c_void) };
    assert_eq!(rc, 7);
    assert_eq!(sum, 55);
    // SAFETY: NULL is an accepted (error) argument.
    fails(unsafe { pyhost_with_gil(None, ptr::null_mut()) }, "fn is NULL");
    // SAFETY: as above.
    fails(unsafe { pyhost_allow_threads(None, ptr::null_mut()) }, "fn is NULL");
    extern "C" fn not_held(data: *mut c_void) {
        // SAFETY: data is &mut bool (below).
        unsafe { *(data as *mut bool) = !pyhost::gil::gil_is_held() };
    }
    let mut ok = false;
    // SAFETY: a valid function and data pointer (no GIL held: it just runs).
    let rc = unsafe { pyhost_allow_threads(Some(not_held), &mut ok as *mut bool as *mut c_void) };
    assert_eq!(rc, 0);
    assert!(ok);

    // ---- thread states are kept per host thread --------------------------------
    let owners = pyhost::interpreter::thread_state_owners();
    std::thread::spawn(move || {
        assert!(!pyhost::thread_state_is_kept());
        assert_eq!(eval_json("1").unwrap(), "1");
        assert!(pyhost::thread_state_is_kept());
        assert_eq!(pyhost::interpreter::thread_state_owners(), owners + 1);
    })
    .join()
    .unwrap();
    assert_eq!(pyhost::interpreter::thread_state_owners(), owners);

    // ---- standard JSON -------------------------------------------------------
    let e = eval_json("[1.0, float('nan')]").unwrap_err();
    assert!(
        e.ends_with(
            "ValueError: result is not standard JSON: it holds a NaN or infinite float, which JSON cannot represent (use the typed API for such values)"
        ),
        "{e}"
    );
    assert!(eval_json("float('-inf')").is_err());
    assert_eq!(eval_json("1e308").unwrap(), "1e+308");
    for (arg, name) in [
        ("[NaN]", "NaN"),
        ("[1, Infinity]", "Infinity"),
        ("[-Infinity]", "-Infinity"),
    ] {
        let mut out = ptr::null_mut();
        // SAFETY: valid pointers.
        let rc = unsafe { pyhost_call_json(c"builtins".as_ptr(), c"len".as_ptr(), cs(arg).as_ptr(), &mut out) };
        fails(
            rc,
            &format!("ValueError: args_json is not standard JSON: {name} is not allowed (NaN and Infinity have no JSON representation)"),
        );
    }

    // ---- last-error texts are cut -------------------------------------------
    run("def bad(x):\n    raise ValueError('bad argument: ' + x)\n");
    let huge = "x".repeat(100 << 20);
    let e = call("__main__", "bad", &[pyhost_value::str(&huge)]).unwrap_err();
    assert!(e.len() <= PYHOST_LAST_ERROR_MAX, "{} bytes kept", e.len());
    assert!(e.starts_with("Traceback (most recent call last):\n"), "{}", &e[..100]);
    let last = e.rsplit('\n').next().unwrap();
    assert!(
        last.starts_with("ValueError: bad argument: xxxx") && last.ends_with("x ..."),
        "{}",
        &last[..60]
    );
    assert!(e.contains(" bytes omitted] ...\n"));
    // A huge JSON argument that is not an array: quoted by its start only.
    let json = format!("\"{huge}\"");
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers.
    let rc = unsafe { pyhost_call_json(c"builtins".as_ptr(), c"len".as_ptr(), cs(&json).as_ptr(), &mut out) };
    fails(rc, "TypeError: args_json must be a JSON array, got: \"xxxx");
    assert!(
        last_error().ends_with(&format!("... ({} bytes)", json.len())),
        "{}",
        last_error()
    );
    assert!(last_error().len() < 300);
}
