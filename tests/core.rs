//! The embedding core with the default (isolated) configuration: running
//! code, errors with tracebacks, conversions, GIL scopes, reference handling.

mod common;

use std::collections::{BTreeMap, HashMap};

use pyhost::{with_gil, Bound, Bytes, Dict, Error, Mode, Py, Python, Result};

fn eval<'py>(py: Python<'py>, src: &str) -> Bound<'py> {
    py.eval(src, None, None).unwrap_or_else(|e| panic!("eval {src:?}: {e}"))
}

fn round_trip<T>(value: T) -> T
where
    T: pyhost::ToPython + for<'py> pyhost::FromPython<'py>,
{
    common::interp();
    with_gil(|py| value.to_python(py).and_then(|o| o.extract::<T>())).unwrap()
}

#[test]
fn integers_round_trip_at_the_edges() {
    assert_eq!(round_trip(i64::MIN), i64::MIN);
    assert_eq!(round_trip(i64::MAX), i64::MAX);
    assert_eq!(round_trip(u64::MAX), u64::MAX);
    assert_eq!(round_trip(0u64), 0);
    assert_eq!(round_trip(i128::MIN), i128::MIN);
    assert_eq!(round_trip(i128::MAX), i128::MAX);
    assert_eq!(round_trip(u128::MAX), u128::MAX);
    assert_eq!(round_trip(-1i8), -1);
    assert_eq!(round_trip(u8::MAX), u8::MAX);
}

#[test]
fn integer_overflow_is_an_error() {
    common::interp();
    with_gil(|py| {
        let big = eval(py, "2**64");
        let e = big.extract::<i64>().unwrap_err();
        assert!(e.is("OverflowError"), "{e}");
        let e = big.extract::<u64>().unwrap_err();
        assert!(e.is("OverflowError"), "{e}");
        assert_eq!(big.extract::<u128>().unwrap(), 1u128 << 64);

        let e = eval(py, "-1").extract::<u64>().unwrap_err();
        assert!(e.is("OverflowError"), "{e}");
        let e = eval(py, "300").extract::<u8>().unwrap_err();
        assert!(e.is("OverflowError") && e.to_string().contains("u8"), "{e}");
        let e = eval(py, "2**127").extract::<i128>().unwrap_err();
        assert!(e.is("OverflowError"), "{e}");
        let e = eval(py, "-1").extract::<u128>().unwrap_err();
        assert!(e.is("OverflowError"), "{e}");
        let e = eval(py, "1.5").extract::<i64>().unwrap_err();
        assert!(e.is("TypeError"), "{e}");
        // Python ints from Rust are real ints.
        assert!(eval(py, "int").call1((u64::MAX,)).unwrap().eq(u64::MAX).unwrap());
    });
}

#[test]
fn floats_including_nan_and_infinity() {
    assert!(round_trip(f64::NAN).is_nan());
    assert_eq!(round_trip(f64::INFINITY), f64::INFINITY);
    assert_eq!(round_trip(-0.0f64).to_bits(), (-0.0f64).to_bits());
    assert_eq!(round_trip(f64::MIN_POSITIVE), f64::MIN_POSITIVE);
    with_gil(|py| {
        assert!(eval(py, "float('nan')").extract::<f64>().unwrap().is_nan());
        assert_eq!(eval(py, "7").extract::<f64>().unwrap(), 7.0);
        let e = eval(py, "'x'").extract::<f64>().unwrap_err();
        assert!(e.is("TypeError"), "{e}");
    });
}

#[test]
fn strings_empty_and_non_ascii() {
    assert_eq!(round_trip(String::new()), "");
    assert_eq!(
        round_trip("héllo wörld ✓ 日本語 🐍".to_string()),
        "héllo wörld ✓ 日本語 🐍"
    );
    assert_eq!(round_trip("nul\0inside".to_string()), "nul\0inside");
    with_gil(|py| {
        assert_eq!(eval(py, "len('🐍')").extract::<i64>().unwrap(), 1);
        let s = "🐍".to_python(py).unwrap();
        assert_eq!(s.len().unwrap(), 1);
    });
}

use pyhost::ToPython;

#[test]
fn lone_surrogates_and_invalid_utf8_are_errors() {
    common::interp();
    with_gil(|py| {
        let e = eval(py, "'a\\ud800b'").extract::<String>().unwrap_err();
        assert!(e.is("UnicodeEncodeError"), "{e}");
        assert!(e.to_string().contains("surrogates not allowed"), "{e}");

        let e = pyhost::str_from_utf8(py, b"ok \xff\xfe").unwrap_err();
        assert!(e.is("UnicodeDecodeError"), "{e}");
        assert_eq!(
            pyhost::str_from_utf8(py, "é".as_bytes())
                .unwrap()
                .extract::<String>()
                .unwrap(),
            "é"
        );

        let e = eval(py, "b'bytes'").extract::<String>().unwrap_err();
        assert!(
            e.is("TypeError") && e.to_string().contains("expected str, got bytes"),
            "{e}"
        );
    });
}

#[test]
fn bytes_bool_none_option() {
    assert_eq!(round_trip(Bytes(vec![0, 1, 255])), Bytes(vec![0, 1, 255]));
    assert_eq!(round_trip(Bytes(vec![])), Bytes(vec![]));
    assert!(round_trip(true));
    assert!(!round_trip(false));
    assert_eq!(round_trip(Option::<i64>::None), None);
    assert_eq!(round_trip(Some(5i64)), Some(5));
    round_trip(());
    with_gil(|py| {
        let e = eval(py, "1").extract::<bool>().unwrap_err();
        assert!(e.is("TypeError"), "{e}");
        assert!(eval(py, "None").is_none());
        assert_eq!(
            eval(py, "b'\\x00x'").extract::<Bytes>().unwrap(),
            Bytes(b"\0x".to_vec())
        );
    });
}

#[test]
fn containers_nested() {
    let v: Vec<Vec<String>> = vec![vec![], vec!["a".into(), "é".into()], vec!["".into()]];
    assert_eq!(round_trip(v.clone()), v);

    let mut m: HashMap<String, Vec<(i64, Option<f64>)>> = HashMap::new();
    m.insert("x".into(), vec![(1, Some(1.5)), (-2, None)]);
    m.insert("empty".into(), vec![]);
    assert_eq!(round_trip(m.clone()), m);

    let mut b: BTreeMap<i64, BTreeMap<String, bool>> = BTreeMap::new();
    b.entry(3).or_default().insert("t".into(), true);
    b.entry(-1).or_default();
    assert_eq!(round_trip(b.clone()), b);

    let t = (1i64, "two".to_string(), 3.0f64, (true, None::<i64>));
    assert_eq!(round_trip(t.clone()), t);

    with_gil(|py| {
        // Tuples extract as Vec too; strings do not.
        assert_eq!(eval(py, "(1, 2)").extract::<Vec<i64>>().unwrap(), vec![1, 2]);
        let e = eval(py, "'abc'").extract::<Vec<String>>().unwrap_err();
        assert!(e.is("TypeError"), "{e}");
        let e = eval(py, "(1, 2, 3)").extract::<(i64, i64)>().unwrap_err();
        assert!(e.is("ValueError"), "{e}");
        let e = eval(py, "[1, 'x']").extract::<Vec<i64>>().unwrap_err();
        assert!(e.is("TypeError"), "{e}");
        let d = eval(py, "{'a': 1, 'b': [1, 2]}");
        assert_eq!(d.get_item("b").unwrap().extract::<Vec<u8>>().unwrap(), vec![1, 2]);
    });
}

#[test]
fn traceback_names_the_file_and_line() {
    common::interp();
    let err = with_gil(|py| -> Result<()> {
        py.import("tb_fixture")?.getattr("outer")?.call0()?;
        Ok(())
    })
    .unwrap_err();
    let exc = err.as_python().expect("a Python exception");
    assert_eq!(exc.type_name(), "ZeroDivisionError");
    assert_eq!(exc.message(), "division by zero");
    let tb = exc.traceback().expect("traceback");
    assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
    assert!(tb.contains("tb_fixture.py\", line 7, in outer"), "{tb}");
    assert!(tb.contains("tb_fixture.py\", line 3, in inner"), "{tb}");
    assert!(tb.trim_end().ends_with("ZeroDivisionError: division by zero"), "{tb}");
    // Display is the Python-style traceback.
    assert_eq!(err.to_string(), tb.trim_end());
}

#[test]
fn compiled_source_keeps_its_filename() {
    common::interp();
    with_gil(|py| {
        let src = "x = 1\n\ndef f():\n    raise ValueError('bad value')\n";
        let module = py.module_from_code(src, "/virtual/plugin.py", "plugin_mod").unwrap();
        let e = module.getattr("f").unwrap().call0().unwrap_err();
        let tb = e.as_python().unwrap().traceback().unwrap().to_string();
        assert!(tb.contains("File \"/virtual/plugin.py\", line 4, in f"), "{tb}");
        assert!(e.is("ValueError"));
        // Registered in sys.modules.
        assert!(py.import("plugin_mod").unwrap().is(&module));

        // A syntax error names the file and line too.
        let e = py
            .compile("ok = 1\ndef broken(:\n", "/virtual/broken.py", Mode::Exec)
            .unwrap_err();
        assert!(e.is("SyntaxError"), "{e}");
        let text = e.to_string();
        assert!(text.contains("/virtual/broken.py") && text.contains("line 2"), "{text}");
        // A failed module is not left in sys.modules.
        assert!(py
            .module_from_code("raise KeyError('k')", "m.py", "failing_mod")
            .is_err());
        assert!(py.import("failing_mod").is_err());
    });
}

#[test]
fn run_eval_and_globals() {
    common::interp();
    with_gil(|py| {
        let g = py.new_globals().unwrap();
        py.run("x = 6\ny = x * 7", Some(&g), None).unwrap();
        assert_eq!(g.get_item("y").unwrap().unwrap().extract::<i64>().unwrap(), 42);
        assert_eq!(py.eval("x + y", Some(&g), None).unwrap().extract::<i64>().unwrap(), 48);
        let locals = Dict::new(py);
        py.run("z = x", Some(&g), Some(&locals)).unwrap();
        assert!(locals.contains("z").unwrap() && !g.contains("z").unwrap());
        let e = py.eval("undefined_name", None, None).unwrap_err();
        assert!(e.is("NameError"), "{e}");
        let e = py.run("a = 1\0", None, None).unwrap_err();
        assert!(e.is("ValueError"), "{e}");
    });
}

#[test]
fn run_file_uses_the_real_path() {
    common::interp();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.py");
    std::fs::write(&path, "value = __file__\n\n\nraise RuntimeError('from script')\n").unwrap();
    with_gil(|py| {
        let g = py.new_globals().unwrap();
        let e = py.run_file(&path, &g).unwrap_err();
        let tb = e.as_python().unwrap().traceback().unwrap();
        assert!(tb.contains(&format!("File \"{}\", line 4", path.display())), "{tb}");
        assert_eq!(
            g.get_item("value").unwrap().unwrap().extract::<String>().unwrap(),
            path.to_str().unwrap()
        );
        let e = py.run_file(dir.path().join("missing.py"), &g).unwrap_err();
        assert!(e.is("OSError"), "{e}");
    });
}

#[test]
fn calls_with_positional_and_keyword_arguments() {
    common::interp();
    with_gil(|py| -> Result<()> {
        let add = py.import("tb_fixture")?.getattr("add")?;
        assert_eq!(add.call1((1,))?.extract::<i64>()?, 11);
        assert_eq!(add.call1((1, 2))?.extract::<i64>()?, 3);
        let kw = Dict::from_pairs(py, [("scale", 3)])?;
        assert_eq!(add.call((1, 2), Some(&kw))?.extract::<i64>()?, 9);
        let kw = Dict::from_pairs(py, [("b", 5), ("scale", 2)])?;
        assert_eq!(add.call((1,), Some(&kw))?.extract::<i64>()?, 12);
        let kw = Dict::from_pairs(py, [("nope", 1)])?;
        let e = add.call((1,), Some(&kw)).unwrap_err();
        assert!(
            e.is("TypeError") && e.to_string().contains("unexpected keyword argument 'nope'"),
            "{e}"
        );
        let args = vec![1i64.to_python(py)?, 4i64.to_python(py)?];
        assert_eq!(add.call1(args)?.extract::<i64>()?, 5);
        // Slices of every length around the 8 kept on the stack, with and
        // without keyword arguments.
        let count = eval(py, "lambda *a, **k: (len(a), sum(a), sorted(k))");
        for n in [0usize, 1, 7, 8, 9, 20] {
            let items: Vec<Bound<'_>> = (1..=n as i64).map(|i| i.to_python(py)).collect::<Result<_>>()?;
            let got = count.call1(items.as_slice())?;
            assert_eq!(got.repr()?, format!("({n}, {}, [])", n * (n + 1) / 2));
            let kw = Dict::from_pairs(py, [("x", 1)])?;
            let got = count.call(items.as_slice(), Some(&kw))?;
            assert_eq!(got.repr()?, format!("({n}, {}, ['x'])", n * (n + 1) / 2));
        }
        // Methods, getattr/setattr.
        let list = eval(py, "[3, 1, 2]");
        list.call_method0("sort")?;
        assert_eq!(list.extract::<Vec<i64>>()?, vec![1, 2, 3]);
        let ns = eval(py, "type('NS', (), {})()");
        ns.setattr("answer", 42)?;
        assert_eq!(ns.getattr("answer")?.extract::<i64>()?, 42);
        assert!(ns.getattr_opt("missing")?.is_none());
        let e = ns.getattr("missing").unwrap_err();
        assert!(e.is("AttributeError"));
        Ok(())
    })
    .unwrap();
}

#[test]
fn system_exit_and_keyboard_interrupt_are_errors_not_exits() {
    common::interp();
    with_gil(|py| {
        let e = py
            .import("tb_fixture")
            .unwrap()
            .getattr("exits")
            .unwrap()
            .call1((3,))
            .unwrap_err();
        assert!(e.is("SystemExit"), "{e}");
        assert!(e.as_python().unwrap().is_system_exit());
        let code = e
            .as_python()
            .unwrap()
            .value()
            .unwrap()
            .bind(py)
            .getattr("code")
            .unwrap();
        assert_eq!(code.extract::<i64>().unwrap(), 3);
        let e = py.run("raise SystemExit('bye')", None, None).unwrap_err();
        assert!(e.is("SystemExit"));
        let e = py.run("raise KeyboardInterrupt", None, None).unwrap_err();
        assert!(e.is("KeyboardInterrupt"));
    });
    // Still alive, still usable.
    assert_eq!(with_gil(|py| eval(py, "1 + 1").extract::<i64>().unwrap()), 2);
}

#[test]
fn chained_exceptions_and_custom_types() {
    common::interp();
    with_gil(|py| {
        let src = "class AppError(Exception):\n    pass\n\ndef f():\n    try:\n        {}['k']\n    except KeyError as e:\n        raise AppError('wrapped') from e\n";
        let m = py.module_from_code(src, "/virtual/app.py", "app_errors").unwrap();
        let e = m.getattr("f").unwrap().call0().unwrap_err();
        assert_eq!(e.type_name(), Some("app_errors.AppError"));
        let tb = e.to_string();
        assert!(tb.contains("KeyError: 'k'"), "{tb}");
        assert!(tb.contains("The above exception was the direct cause"), "{tb}");
        assert!(tb.trim_end().ends_with("app_errors.AppError: wrapped"), "{tb}");
        let ty = m.getattr("AppError").unwrap();
        assert!(e.as_python().unwrap().is_instance_of(py, &ty));
    });
}

#[test]
fn errors_made_in_rust_raise_with_their_type() {
    common::interp();
    with_gil(|py| {
        Error::value_error("bad thing").restore(py);
        let e = Error::fetch(py);
        assert!(e.is("ValueError"));
        assert_eq!(e.to_string(), "ValueError: bad thing");
        // A Python-originated error re-raised keeps its instance.
        let orig = py.run("raise IndexError('i')", None, None).unwrap_err();
        orig.restore(py);
        let again = Error::fetch(py);
        assert!(again.is("IndexError") && again.to_string().contains("IndexError: i"));
        // Fetch with nothing set is a SystemError, not a crash.
        assert!(Error::fetch(py).is("SystemError"));
    });
}

#[test]
fn nested_with_gil_is_reentrant() {
    common::interp();
    let depth = with_gil(|py| {
        let a = eval(py, "[1]");
        with_gil(|py2| {
            let b = eval(py2, "[2]");
            with_gil(|py3| {
                let c = eval(py3, "[3]");
                // SAFETY: the GIL is held in this scope.
                assert_eq!(unsafe { pyhost::ffi::PyGILState_Check() }, 1);
                a.len().unwrap() + b.len().unwrap() + c.len().unwrap()
            })
        })
    });
    assert_eq!(depth, 3);
    // Released at the end: another thread can take it right away.
    std::thread::spawn(|| with_gil(|py| eval(py, "1").extract::<i64>().unwrap()))
        .join()
        .unwrap();
    assert!(!pyhost::gil::gil_is_held());
}

#[test]
fn allow_threads_lets_other_threads_run_python() {
    common::interp();
    with_gil(|py| {
        let (tx, rx) = std::sync::mpsc::channel();
        let got = py.allow_threads(move || {
            // While this thread has released the GIL, another thread runs Python.
            std::thread::spawn(move || {
                let v = with_gil(|py| eval(py, "sum(range(10))").extract::<i64>().unwrap());
                tx.send(v).unwrap();
            });
            rx.recv().unwrap()
        });
        assert_eq!(got, 45);
        // And this thread has the GIL again.
        assert_eq!(eval(py, "2").extract::<i64>().unwrap(), 2);
    });
}

#[test]
fn a_panic_inside_with_gil_releases_it() {
    common::interp();
    let r = std::panic::catch_unwind(|| {
        with_gil(|py| {
            let _o = eval(py, "object()");
            panic!("boom");
        })
    });
    assert!(r.is_err());
    assert!(!pyhost::gil::gil_is_held());
    std::thread::spawn(|| with_gil(|py| eval(py, "1").is_none()))
        .join()
        .unwrap();
}

#[test]
fn dropping_a_py_without_the_gil_defers_the_decref() {
    common::interp();
    let obj: Py = with_gil(|py| {
        let m = py.import("tb_fixture").unwrap();
        m.getattr("Tracked").unwrap().call0().unwrap().unbind()
    });
    let live = || {
        with_gil(|py| {
            py.import("tb_fixture")
                .unwrap()
                .getattr("Tracked")
                .unwrap()
                .getattr("live")
                .unwrap()
                .extract::<i64>()
                .unwrap()
        })
    };
    assert!(live() >= 1);
    let before = live();
    // Dropped on a thread that never holds the GIL: no refcount touched there.
    std::thread::spawn(move || {
        assert!(!pyhost::gil::gil_is_held());
        drop(obj);
    })
    .join()
    .unwrap();
    // The next GIL acquisition applies it: the object is really freed.
    assert_eq!(live(), before - 1);
    assert_eq!(pyhost::gil::pending_decrefs(), 0);
}

#[test]
fn py_handles_cross_threads() {
    common::interp();
    let list: Py = with_gil(|py| eval(py, "[]").unbind());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let l = with_gil(|py| list.clone_ref(py));
            std::thread::spawn(move || with_gil(|py| l.bind(py).call_method1("append", (i,)).map(drop)))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let mut v: Vec<i64> = with_gil(|py| list.bind(py).extract()).unwrap();
    v.sort();
    assert_eq!(v, vec![0, 1, 2, 3]);
}

#[test]
fn configuration_is_applied() {
    common::interp();
    with_gil(|py| {
        let sys = py.import("sys").unwrap();
        let path: Vec<String> = sys.getattr("path").unwrap().extract().unwrap();
        assert_eq!(path.last().map(String::as_str), common::fixtures().to_str());
        let argv: Vec<String> = sys.getattr("argv").unwrap().extract().unwrap();
        assert_eq!(argv, vec!["pyhost-test", "--flag"]);
        let flags = sys.getattr("flags").unwrap();
        assert_eq!(flags.getattr("isolated").unwrap().extract::<i64>().unwrap(), 1);
        assert_eq!(flags.getattr("utf8_mode").unwrap().extract::<i64>().unwrap(), 1);
        assert_eq!(
            flags.getattr("ignore_environment").unwrap().extract::<i64>().unwrap(),
            1
        );
        assert_eq!(
            flags.getattr("dont_write_bytecode").unwrap().extract::<i64>().unwrap(),
            1
        );
        let exe: String = sys.getattr("executable").unwrap().extract().unwrap();
        assert_eq!(exe, env!("PYHOST_BUILD_PYTHON_EXECUTABLE"));
        // Signal handlers are off by default: the process-level SIGINT action
        // is still the default one, even after `import signal`.
        py.import("signal").unwrap();
        // SAFETY: querying (not changing) the current action into a zeroed struct.
        let action = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old), 0);
            old.sa_sigaction
        };
        assert_eq!(action, libc::SIG_DFL);
    });
}

#[test]
fn runtime_python_is_the_compiled_one() {
    common::interp();
    let compiled = pyhost::interpreter::compiled_version();
    assert_eq!(compiled, env!("PYHOST_BUILD_PYTHON_VERSION"));
    assert!(pyhost::interpreter::runtime_version_string().starts_with(&format!("{compiled} ")));
    with_gil(|py| {
        let libdir: String = py
            .eval("__import__('sysconfig').get_config_var('LIBDIR')", None, None)
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(libdir, env!("PYHOST_BUILD_PYTHON_LIBDIR"));
    });
}

#[test]
fn second_initialisation_is_refused() {
    common::interp();
    let e = pyhost::Interpreter::builder().init().unwrap_err();
    assert!(matches!(e, Error::AlreadyInitialized(_)), "{e}");
    assert!(e.to_string().contains("already initialised"), "{e}");
}

#[test]
fn dict_list_tuple_views() {
    common::interp();
    with_gil(|py| -> Result<()> {
        let d = Dict::new(py);
        d.set_item("a", 1)?;
        d.set_item(2, vec!["x"])?;
        assert_eq!(d.len(), 2);
        assert!(d.get_item("zz")?.is_none());
        let items = d.items();
        assert_eq!(items.len(), 2);
        let unhashable = eval(py, "[]");
        assert!(d.get_item(&unhashable).unwrap_err().is("TypeError"));
        let l = pyhost::List::new(py, [1, 2, 3])?;
        l.append("four")?;
        assert_eq!(l.len(), 4);
        assert_eq!(l.get(3)?.extract::<String>()?, "four");
        assert!(l.get(9).unwrap_err().is("IndexError"));
        let t = pyhost::Tuple::new(py, &[py.None(), py.bool(true)]);
        assert_eq!(t.len(), 2);
        assert!(t.get(1)?.extract::<bool>()?);
        let collected: Vec<i64> = eval(py, "range(4)")
            .iter()?
            .map(|o| o?.extract::<i64>())
            .collect::<Result<_>>()?;
        assert_eq!(collected, vec![0, 1, 2, 3]);
        assert!(eval(py, "1").downcast_dict().unwrap_err().is("TypeError"));
        Ok(())
    })
    .unwrap();
}

/// A host keeps `Py` handles (a module, a function) and calls them across
/// many GIL scopes: the borrowed `bind` and the `Py::call*` methods leave
/// every reference count where it was.
#[test]
fn stored_handles_call_without_refcount_drift() {
    common::interp();
    let (module, func, arg) = with_gil(|py| {
        let m = py
            .module_from_code(
                "def f(x=None):\n    return x\n\nclass C:\n    def m(self, a):\n        return a\n",
                "stored.py",
                "stored",
            )
            .unwrap();
        let obj = py.eval("object()", None, None).unwrap();
        (m.clone().unbind(), m.getattr("f").unwrap().unbind(), obj.unbind())
    });
    let counts = |py: pyhost::Python<'_>| -> Vec<i64> {
        let getrefcount = py.import("sys").unwrap().getattr("getrefcount").unwrap();
        [&module, &func, &arg]
            .iter()
            .map(|o| getrefcount.call1((o.bind(py),)).unwrap().extract().unwrap())
            .collect()
    };
    let before = with_gil(counts);
    for _ in 0..2000 {
        with_gil(|py| {
            assert!(func.call0(py).unwrap().is_none());
            assert!(func.call1(py, (arg.bind(py),)).unwrap().is(arg.bind(py)));
            let inst = module.getattr(py, "C").unwrap().call0().unwrap();
            let got = inst.unbind();
            assert!(got.call_method1(py, "m", (arg.bind(py),)).unwrap().is(arg.bind(py)));
            let borrowed: &pyhost::Bound<'_> = func.bind(py);
            assert!(borrowed.is_callable());
        });
    }
    assert_eq!(with_gil(counts), before);
}
