//! Host modules: one interpreter for this test binary, started with a
//! closure-built module (`hostmod`) and the fixed C-table module
//! (`pyhost_demo`) registered before start-up; other modules are installed
//! into the running interpreter by the tests.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use pyhost::module::{demo, Args, HostException, HostModule};
use pyhost::{Bound, Dict, Error, Interpreter, Python, Result, ToPython};

/// A gauge as the host recorded it.
#[derive(Debug, Clone, PartialEq)]
struct Gauge {
    name: String,
    value: f64,
    tags: Vec<String>,
    hostname: Option<String>,
}

fn recorded() -> &'static Mutex<Vec<Gauge>> {
    static RECORDED: Mutex<Vec<Gauge>> = Mutex::new(Vec::new());
    &RECORDED
}

fn host_module() -> HostModule {
    let host_error = HostException::new("hostmod.HostError").doc("A failure inside the host.");
    let raise_error = host_error.clone();
    HostModule::new("hostmod")
        .doc("Functions that live in the test host.")
        .constant("ANSWER", 42)
        .constant("RATIO", 0.5)
        .constant("NAME", "pyhost")
        .constant("ENABLED", true)
        .exception(&host_error)
        .function("noop", "noop()\n--\n\nDo nothing.", |py, args| {
            args.no_args()?;
            Ok(py.None())
        })
        .function(
            "gauge",
            "gauge(name, value, tags=None, hostname=None)\n--\n\nRecord a gauge.",
            |py, args| {
                args.check(&["name", "value", "tags", "hostname"], 4)?;
                let g = Gauge {
                    name: args.get(0, "name")?,
                    value: args.get(1, "value")?,
                    tags: args.get_or(2, "tags", Vec::new())?,
                    hostname: args.get_opt(3, "hostname")?,
                };
                recorded().lock().unwrap().push(g);
                Ok(py.None())
            },
        )
        .function(
            "sig",
            "sig(a, b, c=1.0, *, flag=False)\n--\n\nEcho typed arguments.",
            |py, args| {
                args.check(&["a", "b", "c", "flag"], 3)?;
                let a: i64 = args.get(0, "a")?;
                let b: &str = args.get(1, "b")?;
                let c: f64 = args.get_or(2, "c", 1.0)?;
                let flag: bool = args.keyword("flag")?.unwrap_or(false);
                (a, b, c, flag).to_python(py)
            },
        )
        .function("small", "", |py, args| {
            let n: i8 = args.get(0, "n")?;
            n.to_python(py)
        })
        .function("unsigned", "", |py, args| {
            let n: u32 = args.get(0, "n")?;
            n.to_python(py)
        })
        .function(
            "kw_echo",
            "kw_echo(*args, **kwargs)\n--\n\nReturn (len(args), kwargs).",
            |py, args| {
                let kwargs = match args.kwargs()? {
                    Some(d) => d.into_any(),
                    None => Dict::new(py).into_any(),
                };
                (args.len(), kwargs).to_python(py)
            },
        )
        .function("fail", "fail(kind, message)", move |py, args| {
            let kind: &str = args.get(0, "kind")?;
            let message: String = args.get(1, "message")?;
            Err(match kind {
                "value" => Error::value_error(message),
                "overflow" => Error::overflow_error(message),
                "runtime" => Error::runtime_error(message),
                "host" => raise_error.err(py, message),
                // A non-Python error of the host: raised as RuntimeError.
                _ => Error::Lifecycle(message),
            })
        })
        .function("panic", "", |_py, args| {
            let message: &str = args.get(0, "message")?;
            panic!("{message}")
        })
        .function(
            "apply",
            "apply(f, n)\n--\n\nReturn f(n): Python called from the host.",
            |_py, args| {
                args.check(&["f", "n"], 2)?;
                let f: &Bound<'_> = args.get(0, "f")?;
                let n: i64 = args.get(1, "n")?;
                f.call1((n,))
            },
        )
        .function(
            "block",
            "block(ms, release)\n--\n\nSleep, with or without the GIL.",
            |py, args| {
                let ms: u64 = args.get(0, "ms")?;
                let release: bool = args.get(1, "release")?;
                let d = Duration::from_millis(ms);
                if release {
                    py.allow_threads(|| std::thread::sleep(d));
                } else {
                    std::thread::sleep(d);
                }
                Ok(py.None())
            },
        )
        .function("python_elsewhere", "", |py, args| {
            // Release the GIL and wait for another OS thread to run Python:
            // this only completes if the GIL really was released.
            let code: String = args.get(0, "code")?;
            let result = py.allow_threads(move || {
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let r = pyhost::with_gil(|py| py.eval(&code, None, None)?.extract::<i64>());
                    let _ = tx.send(r.map_err(|e| e.to_string()));
                });
                rx.recv_timeout(Duration::from_secs(20))
                    .map_err(|_| "the other thread never got the GIL".to_string())
            });
            match result {
                Ok(Ok(v)) => v.to_python(py),
                Ok(Err(e)) | Err(e) => Err(Error::runtime_error(e)),
            }
        })
        .function("nested", "", |py, _args| {
            assert!(pyhost::gil::gil_is_held(), "a callback must count as holding the GIL");
            // A nested with_gil is free and must not release anything on exit.
            let inner: i64 = pyhost::with_gil(|py2| py2.eval("20 + 1", None, None)?.extract())?;
            let tmp = (inner * 2).to_python(py)?;
            let v: i64 = tmp.extract()?;
            drop(tmp);
            v.to_python(py)
        })
}

fn interp() -> Interpreter {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        Interpreter::builder()
            .add_init_func("pyhost_demo", demo::INIT)
            .add_module(host_module())
            .init()
            .expect("Python starts");
    });
    Interpreter::get().expect("interpreter running")
}

fn globals(py: Python<'_>) -> Dict<'_> {
    let g = py.new_globals().unwrap();
    py.run("import sys, hostmod, pyhost_demo", Some(&g), None).unwrap();
    g
}

/// Evaluate `code` and check the exception's type name and message.
fn expect_err(py: Python<'_>, g: &Dict<'_>, code: &str, ty: &str, msg: &str) {
    match py.eval(code, Some(g), None) {
        Ok(v) => panic!("{code}: expected {ty}, got {v:?}"),
        Err(e) => {
            let exc = e
                .as_python()
                .unwrap_or_else(|| panic!("{code}: not a Python exception: {e}"));
            assert_eq!((exc.type_name(), exc.message()), (ty, msg), "{code}");
        }
    }
}

fn eval_bool(py: Python<'_>, g: &Dict<'_>, code: &str) -> bool {
    py.eval(code, Some(g), None)
        .and_then(|v| v.extract())
        .unwrap_or_else(|e| panic!("{code}: {e}"))
}

#[test]
fn constants_doc_and_builtin_registration() {
    interp().with_gil(|py| {
        let g = globals(py);
        for check in [
            "hostmod.ANSWER == 42 and type(hostmod.ANSWER) is int",
            "hostmod.RATIO == 0.5",
            "hostmod.NAME == 'pyhost'",
            "hostmod.ENABLED is True",
            "hostmod.__doc__ == 'Functions that live in the test host.'",
            "'hostmod' in sys.builtin_module_names and 'pyhost_demo' in sys.builtin_module_names",
            "hostmod.gauge.__module__ == 'hostmod' and hostmod.gauge.__name__ == 'gauge'",
            "str(__import__('inspect').signature(hostmod.sig)) == '(a, b, c=1.0, *, flag=False)'",
            "issubclass(hostmod.HostError, Exception) and hostmod.HostError.__module__ == 'hostmod'",
            "hostmod.HostError.__doc__ == 'A failure inside the host.'",
            "pyhost_demo.GAUGE == 0 and pyhost_demo.RATE == 1 and pyhost_demo.COUNT == 2",
            "issubclass(pyhost_demo.DemoError, Exception)",
            // Static tables pass the module as self; closures their data.
            "pyhost_demo.noop.__self__ is pyhost_demo",
            "type(hostmod.noop.__self__).__qualname__ == 'FunctionData'",
            "type(hostmod.noop.__self__).__module__ == 'pyhost'",
        ] {
            assert!(eval_bool(py, &g, check), "{check}");
        }
    });
}

#[test]
fn calls_and_keyword_arguments() {
    interp().with_gil(|py| {
        let g = globals(py);
        for check in [
            "hostmod.noop() is None and pyhost_demo.noop() is None",
            "hostmod.sig(1, 'x') == (1, 'x', 1.0, False)",
            "hostmod.sig(b='y', a=2, c=2.5, flag=True) == (2, 'y', 2.5, True)",
            "hostmod.sig(3, 'z', flag=True) == (3, 'z', 1.0, True)",
            "hostmod.sig(4, 'w', None) == (4, 'w', 1.0, False)",
            "hostmod.kw_echo(1, 2, x=1, y='z') == (2, {'x': 1, 'y': 'z'})",
            "hostmod.kw_echo() == (0, {})",
            "hostmod.kw_echo(**{'a-b': 1}) == (0, {'a-b': 1})",
            "pyhost_demo.add(2, b=40) == 42",
            "pyhost_demo.gauge('system.swap.total', 1234.0, ['env:prod', 'role:db'], 'host1') is None",
            "pyhost_demo.gauge(name='n', value=1) is None",
        ] {
            assert!(eval_bool(py, &g, check), "{check}");
        }

        recorded().lock().unwrap().clear();
        py.run(
            "hostmod.gauge('system.swap.total', 1234.0, ['env:prod', 'role:db'], 'host1')\n\
             hostmod.gauge(name='m', value=2, tags=('a',), hostname=None)\n\
             hostmod.gauge('n', -1.5)",
            Some(&g),
            None,
        )
        .unwrap();
        let got = recorded().lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                Gauge {
                    name: "system.swap.total".into(),
                    value: 1234.0,
                    tags: vec!["env:prod".into(), "role:db".into()],
                    hostname: Some("host1".into()),
                },
                Gauge {
                    name: "m".into(),
                    value: 2.0,
                    tags: vec!["a".into()],
                    hostname: None
                },
                Gauge {
                    name: "n".into(),
                    value: -1.5,
                    tags: vec![],
                    hostname: None
                },
            ]
        );
    });
}

#[test]
fn every_argument_error_has_cpythons_message() {
    interp().with_gil(|py| {
        let g = globals(py);
        let te = "TypeError";
        let oe = "OverflowError";
        for (code, ty, msg) in [
            // missing, wrong type by position and by keyword
            ("hostmod.sig()", te, "sig() missing required argument 'a' (pos 1)"),
            ("hostmod.sig(1)", te, "sig() missing required argument 'b' (pos 2)"),
            ("hostmod.sig('x', 'y')", te, "sig() argument 1 must be int, not str"),
            ("hostmod.sig(1.5, 'y')", te, "sig() argument 1 must be int, not float"),
            ("hostmod.sig(1, b=2)", te, "sig() argument 'b' must be str, not int"),
            ("hostmod.sig(1, 'y', 'z')", te, "sig() argument 3 must be float or None, not str"),
            ("hostmod.sig(1, 'y', flag=1)", te, "sig() argument 'flag' must be bool or None, not int"),
            // arity and keywords
            ("hostmod.sig(1, 'y', 1.0, True)", te, "sig() takes at most 3 positional arguments (4 given)"),
            ("pyhost_demo.add(1, 2, 3)", te, "add() takes at most 2 arguments (3 given)"),
            ("hostmod.sig(1, 'y', bogus=1)", te, "sig() got an unexpected keyword argument 'bogus'"),
            ("hostmod.sig(1, 'y', a=2)", te, "sig() got multiple values for argument 'a'"),
            ("hostmod.noop(1)", te, "noop() takes no arguments (1 given)"),
            ("hostmod.noop(x=1)", te, "noop() takes no keyword arguments"),
            ("pyhost_demo.noop(1, 2)", te, "noop() takes no arguments (2 given)"),
            ("pyhost_demo.add(1)", te, "add() missing required argument 'b' (pos 2)"),
            // sequences and optional arguments
            ("hostmod.gauge('m', 1.0, ['a', 2])", te, "gauge() argument 3 item 1 must be str, not int"),
            ("hostmod.gauge('m', 1.0, 'a,b')", te, "gauge() argument 3 must be list or None, not str"),
            ("hostmod.gauge('m', 1.0, None, 5)", te, "gauge() argument 4 must be str or None, not int"),
            ("hostmod.gauge('m', 1.0, hostname=5)", te, "gauge() argument 'hostname' must be str or None, not int"),
            ("pyhost_demo.gauge('m', 'x')", te, "gauge() argument 2 must be float, not str"),
            ("pyhost_demo.gauge(b'm', 1.0)", te, "gauge() argument 1 must be str, not bytes"),
            // a closure's self object cannot be made from Python
            ("type(hostmod.noop.__self__)()", te, "cannot create 'pyhost.FunctionData' instances"),
            // out of range
            ("hostmod.small(300)", oe, "small() argument 1: Python int too large to convert to i8"),
            ("hostmod.small(n=-300)", oe, "small() argument 'n': Python int too small to convert to i8"),
            ("hostmod.unsigned(-1)", oe, "unsigned() argument 1: can't convert negative int to unsigned"),
            ("hostmod.unsigned(2**40)", oe, "unsigned() argument 1: Python int too large to convert to u32"),
            ("hostmod.sig(2**70, 'y')", oe, "sig() argument 1: Python int too large to convert to i64"),
            ("pyhost_demo.add(2**62, 2**62)", oe, "add() result does not fit in 64 bits"),
            // an exception raised by the conversion itself passes through
            (
                "hostmod.sig(1, '\\ud800')",
                "UnicodeEncodeError",
                "'utf-8' codec can't encode character '\\ud800' in position 0: surrogates not allowed",
            ),
        ] {
            expect_err(py, &g, code, ty, msg);
        }
        // __index__ is honoured, as CPython's int formats do.
        assert!(eval_bool(
            py,
            &g,
            "hostmod.unsigned(type('I', (), {'__index__': lambda s: 7})()) == 7 and hostmod.unsigned(2**32 - 1) == 2**32 - 1"
        ));
    });
}

#[test]
fn host_errors_become_the_right_exceptions() {
    interp().with_gil(|py| {
        let g = globals(py);
        expect_err(py, &g, "hostmod.fail('value', 'bad value')", "ValueError", "bad value");
        expect_err(
            py,
            &g,
            "hostmod.fail('overflow', 'too big')",
            "OverflowError",
            "too big",
        );
        expect_err(
            py,
            &g,
            "hostmod.fail('runtime', 'disk on fire')",
            "RuntimeError",
            "disk on fire",
        );
        expect_err(
            py,
            &g,
            "hostmod.fail('lifecycle', 'not now')",
            "RuntimeError",
            "not now",
        );
        expect_err(
            py,
            &g,
            "hostmod.fail('host', 'host says no')",
            "hostmod.HostError",
            "host says no",
        );
        expect_err(
            py,
            &g,
            "pyhost_demo.fail('demo', 'from state')",
            "pyhost_demo.DemoError",
            "from state",
        );
        expect_err(py, &g, "pyhost_demo.fail('value')", "ValueError", "failed");
        // Python code can catch the module's own exception class.
        py.run(
            "try:\n    hostmod.fail('host', 'x')\nexcept hostmod.HostError as e:\n    caught = str(e)\n",
            Some(&g),
            None,
        )
        .unwrap();
        assert_eq!(g.get_item("caught").unwrap().unwrap().extract::<String>().unwrap(), "x");
    });
}

#[test]
fn a_panic_becomes_an_exception_and_the_next_call_works() {
    interp().with_gil(|py| {
        let g = globals(py);
        for _ in 0..3 {
            expect_err(
                py,
                &g,
                "hostmod.panic('boom')",
                "pyhost.PanicException",
                "panic() panicked: boom",
            );
            assert!(eval_bool(py, &g, "hostmod.sig(1, 'after') == (1, 'after', 1.0, False)"));
            expect_err(
                py,
                &g,
                "pyhost_demo.fail('panic', 'kaboom')",
                "pyhost.PanicException",
                "fail() panicked: kaboom",
            );
            assert!(eval_bool(py, &g, "pyhost_demo.add(1, 2) == 3"));
        }
        // A RuntimeError subclass: a plugin's `except Exception` handles it.
        py.run(
            "try:\n    hostmod.panic('again')\nexcept RuntimeError as e:\n    kind = type(e).__name__\n",
            Some(&g),
            None,
        )
        .unwrap();
        assert_eq!(
            g.get_item("kind").unwrap().unwrap().extract::<String>().unwrap(),
            "PanicException"
        );
        let ty = pyhost::module::panic_exception(py).unwrap();
        assert_eq!(ty.getattr("__module__").unwrap().extract::<String>().unwrap(), "pyhost");
        // The GIL bookkeeping survived the unwinding.
        assert!(pyhost::gil::gil_is_held());
    });
    assert!(!pyhost::gil::gil_is_held());
}

#[test]
fn callback_calls_python_that_calls_the_callback() {
    interp().with_gil(|py| {
        let g = globals(py);
        py.run(
            "def down(n):\n    return 0 if n == 0 else 1 + hostmod.apply(down, n - 1)\n\
             depth = hostmod.apply(down, 100)\n\
             def fail_inside(n):\n    raise KeyError(n)\n",
            Some(&g),
            None,
        )
        .unwrap();
        assert_eq!(g.get_item("depth").unwrap().unwrap().extract::<i64>().unwrap(), 100);
        // A Python exception raised inside the callback's call comes back out unchanged.
        expect_err(py, &g, "hostmod.apply(fail_inside, 7)", "KeyError", "7");
        assert_eq!(
            py.eval("hostmod.nested()", Some(&g), None)
                .unwrap()
                .extract::<i64>()
                .unwrap(),
            42
        );
    });
}

#[test]
fn callback_releases_the_gil_while_another_thread_runs_python() {
    interp().with_gil(|py| {
        let g = globals(py);
        // Another OS thread takes the GIL and runs Python while the callback
        // waits for it: a deadlock (timeout) unless the GIL is released.
        let v: i64 = py
            .eval("hostmod.python_elsewhere('sum(range(10))')", Some(&g), None)
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(v, 45);

        // A Python thread makes progress while the callback sleeps with the
        // GIL released, and (almost) none while it sleeps holding it.
        py.run(
            "import threading, time\n\
             ticks = []\n\
             stop = False\n\
             def worker():\n    while not stop:\n        ticks.append(1)\n        time.sleep(0.001)\n\
             t = threading.Thread(target=worker)\n\
             t.start()\n\
             time.sleep(0.02)\n\
             n0 = len(ticks); hostmod.block(150, True); released = len(ticks) - n0\n\
             n0 = len(ticks); hostmod.block(150, False); held = len(ticks) - n0\n\
             stop = True\n\
             t.join()\n",
            Some(&g),
            None,
        )
        .unwrap();
        let released: i64 = g.get_item("released").unwrap().unwrap().extract().unwrap();
        let held: i64 = g.get_item("held").unwrap().unwrap().extract().unwrap();
        assert!(
            released >= 5,
            "the other thread ran {released} times while the GIL was released"
        );
        if pyhost::interpreter::compiled_free_threaded() {
            // No GIL to hold: the other thread never waits for the callback.
            assert!(held >= 5, "the other thread ran {held} times without a GIL");
        } else {
            assert!(held <= 1, "the other thread ran {held} times while the GIL was held");
        }
    });
}

#[test]
fn modules_and_functions_added_at_run_time() {
    interp()
        .with_gil(|py| -> Result<()> {
            let calls = Arc::new(Mutex::new(0));
            let counter = calls.clone();
            let m = HostModule::new("late.mod")
                .doc("Installed after start-up.")
                .constant("LEVEL", 1)
                .function("hello", "", move |py, args: &Args<'_, '_>| {
                    *counter.lock().unwrap() += 1;
                    let who: &str = args.get(0, "who")?;
                    format!("hello, {who}").to_python(py)
                })
                .install(py)?;
            assert_eq!(m.getattr("__name__")?.extract::<String>()?, "late.mod");
            let g = py.new_globals()?;
            py.run(
                "import importlib\nlate = importlib.import_module('late.mod')",
                Some(&g),
                None,
            )?;
            for check in [
                "late.hello('you') == 'hello, you'",
                "late.hello(who='me') == 'hello, me'",
                "late.LEVEL == 1 and late.__doc__ == 'Installed after start-up.'",
                "late.__spec__.origin == 'pyhost'",
            ] {
                assert!(eval_bool(py, &g, check), "{check}");
            }
            assert_eq!(*calls.lock().unwrap(), 2);

            // Installing again replaces the module.
            HostModule::new("late.mod").constant("LEVEL", 2).install(py)?;
            assert!(eval_bool(py, &g, "importlib.import_module('late.mod').LEVEL == 2"));

            // A stand-alone function for Python code to call back.
            let double = pyhost::module::function(py, "double", "", |py, args| {
                let n: i64 = args.get(0, "n")?;
                (n * 2).to_python(py)
            })?;
            g.set_item("double", &double)?;
            assert!(eval_bool(py, &g, "list(map(double, [1, 2, 3])) == [2, 4, 6]"));
            expect_err(
                py,
                &g,
                "double('x')",
                "TypeError",
                "double() argument 1 must be int, not str",
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn callbacks_run_from_many_threads() {
    let interp = interp();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                interp.with_gil(|py| {
                    let g = globals(py);
                    for i in 0..200 {
                        let v: i64 = py
                            .eval(&format!("pyhost_demo.add({t}, {i})"), Some(&g), None)
                            .unwrap()
                            .extract()
                            .unwrap();
                        assert_eq!(v, t + i);
                    }
                    expect_err(
                        py,
                        &g,
                        "hostmod.panic('in a thread')",
                        "pyhost.PanicException",
                        "panic() panicked: in a thread",
                    );
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// The C table's module-state accessor reads only its own module's state:
/// any other module is `SystemError`, never a state of another layout read
/// as its own (the agent's `_util` test checks the pair both ways).
#[test]
fn module_state_accessors_check_the_module() {
    use pyhost::ffi;
    interp().with_gil(|py| {
        let g = globals(py);
        let get = |code: &str| py.eval(code, Some(&g), None).unwrap();
        let (demo, sys) = (get("pyhost_demo"), get("sys"));
        // SAFETY: GIL held; a live object; a borrowed result, or NULL with
        // an exception set.
        let demo_error = |m: &Bound<'_>| unsafe { ffi::pyhost_module_demo_error(m.as_ptr()) };
        let system_error = |p: *mut ffi::PyObject, what: &str| {
            assert!(p.is_null(), "{what}: expected NULL");
            assert!(Error::fetch(py).is("SystemError"), "{what}");
        };
        assert_eq!(demo_error(&demo), get("pyhost_demo.DemoError").as_ptr());
        system_error(demo_error(&sys), "sys");
        system_error(demo_error(&py.None()), "None");
    });
}

/// The same snippet in any interpreter: closures, a host exception type, a
/// panic, and the static table with its module state.
const EVERY_INTERPRETER: &str = r#"
import hostmod, pyhost_demo
out = []
out.append(hostmod.noop() is None)
try:
    hostmod.fail('host', 'from here')
except hostmod.HostError as e:
    out.append(type(e) is hostmod.HostError and str(e) == 'from here')
try:
    hostmod.panic('in some interpreter')
except RuntimeError as e:
    out.append(type(e).__qualname__ == 'PanicException' and 'in some interpreter' in str(e))
try:
    pyhost_demo.fail('demo', 'state')
except pyhost_demo.DemoError as e:
    out.append(str(e) == 'state')
out.append(pyhost_demo.add(2, 3) == 5)
ok = all(out) and len(out) == 5
"#;

fn run_everywhere_snippet(py: Python<'_>) -> pyhost::Result<bool> {
    let g = py.new_globals()?;
    py.run(EVERY_INTERPRETER, Some(&g), None)?;
    g.get_item("ok")?.expect("ok").extract()
}

#[test]
fn host_modules_work_in_the_main_interpreter_and_keep_a_free_threaded_build_free() {
    interp().with_gil(|py| {
        assert!(run_everywhere_snippet(py).unwrap());
        // Importing pyhost's modules does not turn a free-threaded build's GIL
        // back on (they declare Py_MOD_GIL_NOT_USED).
        let gil: bool = py
            .eval(
                "getattr(__import__('sys'), '_is_gil_enabled', lambda: True)()",
                None,
                None,
            )
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(gil, !pyhost::interpreter::compiled_free_threaded());
    });
}

#[cfg(Py_3_12)]
#[test]
fn host_modules_work_in_every_sub_interpreter() {
    interp();
    let subs: Vec<pyhost::SubInterpreter> = (0..3).map(|_| pyhost::SubInterpreter::new().unwrap()).collect();
    let handles: Vec<_> = subs.iter().map(|s| s.submit(run_everywhere_snippet).unwrap()).collect();
    for h in handles {
        assert!(h.wait().unwrap());
    }
    // The closures run concurrently from several interpreters at once.
    let counts: Vec<_> = subs
        .iter()
        .map(|s| {
            s.submit(|py| {
                py.run("import hostmod\nfor i in range(20000):\n    hostmod.noop()", None, None)?;
                Ok(20000)
            })
            .unwrap()
        })
        .collect();
    let total: i32 = counts.into_iter().map(|h| h.wait().unwrap()).sum();
    assert_eq!(total, 60000);
}

pyhost::method_table! {
    /// A static table written in Rust: CPython calls these entries directly.
    static RUST_TABLE = [
        ("noop", "noop()\n--\n\nDo nothing.", |py, args| {
            args.no_args()?;
            Ok(py.None())
        }),
        ("gauge", "gauge(name, value, tags, hostname=None)", |py, args| {
            args.check(&["name", "value", "tags", "hostname"], 4)?;
            let name: &str = args.get(0, "name")?;
            let value: f64 = args.get(1, "value")?;
            let tags: Vec<String> = args.get(2, "tags")?;
            let host: Option<&str> = args.get_opt(3, "hostname")?;
            (name.len() + tags.len() + host.map_or(0, str::len), value).to_python(py)
        }),
        ("module_name", "", |_py, args| {
            let m = args.self_obj().expect("a module function's self is its module");
            m.getattr("__name__")
        }),
        ("panic", "", |_py, _args| -> pyhost::Result<pyhost::Bound<'_>> { panic!("from a Rust table") }),
    ];
}

#[test]
fn static_tables_written_in_rust() {
    interp().with_gil(|py| {
        let m = HostModule::new("rusttable").methods(&RUST_TABLE).install(py).unwrap();
        let g = py.new_globals().unwrap();
        g.set_item("rusttable", &m).unwrap();
        for check in [
            "rusttable.noop() is None",
            "rusttable.gauge('abc', 1.5, ['x', 'y'], 'h') == (6, 1.5)",
            "rusttable.gauge(name='abc', value=2, tags=[], hostname=None) == (3, 2.0)",
            "rusttable.module_name() == 'rusttable'",
            "rusttable.noop.__self__ is rusttable",
            "rusttable.noop.__doc__ == 'Do nothing.'",
            "str(__import__('inspect').signature(rusttable.noop)) == '()'",
        ] {
            assert!(eval_bool(py, &g, check), "{check}");
        }
        // The same messages as the closures and the C tables give.
        expect_err(
            py,
            &g,
            "rusttable.noop(1)",
            "TypeError",
            "noop() takes no arguments (1 given)",
        );
        expect_err(
            py,
            &g,
            "rusttable.gauge('a', 'x', [], 'h')",
            "TypeError",
            "gauge() argument 2 must be float, not str",
        );
        expect_err(
            py,
            &g,
            "rusttable.gauge('a', 1.0, ['t', 3], 'h')",
            "TypeError",
            "gauge() argument 3 item 1 must be str, not int",
        );
        expect_err(
            py,
            &g,
            "rusttable.gauge('a', 1.0)",
            "TypeError",
            "gauge() missing required argument 'tags' (pos 3)",
        );
        expect_err(
            py,
            &g,
            "rusttable.gauge('a', 1.0, [], bogus=1)",
            "TypeError",
            "gauge() got an unexpected keyword argument 'bogus'",
        );
        expect_err(
            py,
            &g,
            "rusttable.panic()",
            "pyhost.PanicException",
            "panic() panicked: from a Rust table",
        );
        assert_eq!(RUST_TABLE.len(), 4);
    });
}
