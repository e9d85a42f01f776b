//! The C ABI as this build of pyhost sees it, on whichever Python it was built
//! against (3.11, 3.13 or the free-threaded 3.13t): the struct layouts pyhost
//! mirrors in Rust, reference counting, immortal objects, and the build's
//! identity. Scenario: the default interpreter.

mod common;

use std::ffi::CString;

use pyhost::{ffi, with_gil, Bound};

#[test]
fn mirrored_layouts_match_the_running_library() {
    let rust = ffi::layout::rust_view();
    assert!(rust.len() >= 15, "{rust:?}");
    for (name, value) in rust {
        let c = CString::new(name).unwrap();
        // SAFETY: a NUL-terminated name; the function only compares strings.
        let from_c = unsafe { ffi::pyhost_layout(c.as_ptr()) };
        assert_eq!(
            from_c, value as i64,
            "{name}: C says {from_c}, pyhost's Rust mirror {value}"
        );
    }
    // SAFETY: as above; an unknown name is -1, not a crash.
    assert_eq!(unsafe { ffi::pyhost_layout(c"no_such_entry".as_ptr()) }, -1);
}

/// `Py_REFCNT` through pyhost's inline functions, the way `sys.getrefcount`
/// sees it (which adds its own argument's reference).
fn refcnt(obj: &Bound<'_>) -> isize {
    // SAFETY: GIL held (a Bound exists); a live object.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) }
}

#[test]
fn a_fresh_objects_count_moves_one_by_one() {
    common::interp();
    with_gil(|py| {
        let getrefcount = py.import("sys").unwrap().getattr("getrefcount").unwrap();
        let obj = py.eval("object()", None, None).unwrap();
        let start = refcnt(&obj);
        assert_eq!(start, 1, "a fresh object has one reference: ours");
        let seen: isize = getrefcount.call1((&obj,)).unwrap().extract().unwrap();
        assert_eq!(seen, start + 1, "sys.getrefcount adds its argument");
        let clones: Vec<Bound<'_>> = (0..10).map(|_| obj.clone()).collect();
        assert_eq!(refcnt(&obj), start + 10);
        drop(clones);
        assert_eq!(refcnt(&obj), start);
        // The object is really freed at zero: a weak reference sees it go.
        let cls = py.eval("type('Probe', (), {})", None, None).unwrap();
        let probe = cls.call0().unwrap();
        let weak = py
            .import("weakref")
            .unwrap()
            .getattr("ref")
            .unwrap()
            .call1((&probe,))
            .unwrap();
        assert!(!weak.call0().unwrap().is_none());
        drop(probe);
        assert!(weak.call0().unwrap().is_none(), "the object was not freed");
    });
}

#[test]
fn references_taken_on_another_thread_count_too() {
    // On 3.13t the owner thread counts in ob_ref_local and every other thread
    // in ob_ref_shared; on the default build both go to ob_refcnt.
    common::interp();
    let obj = with_gil(|py| py.eval("object()", None, None).unwrap().unbind());
    // Counts read through a temporary `bind`, which holds one reference too.
    let before = with_gil(|py| refcnt(obj.bind(py)));
    let held = std::thread::spawn(move || {
        with_gil(|py| {
            let copies: Vec<pyhost::Py> = (0..5).map(|_| obj.clone_ref(py)).collect();
            (obj, copies)
        })
    })
    .join()
    .unwrap();
    with_gil(|py| {
        assert_eq!(
            refcnt(held.0.bind(py)),
            before + 5,
            "5 copies taken on the other thread"
        );
    });
    let (obj, copies) = held;
    with_gil(|py| {
        drop(copies);
        assert_eq!(refcnt(obj.bind(py)), before);
    });
}

#[test]
fn none_is_never_freed() {
    common::interp();
    with_gil(|py| {
        let none = py.None();
        // SAFETY: GIL held; None is a live static object.
        let immortal = unsafe { ffi::_Py_IsImmortal(none.as_ptr()) };
        assert_eq!(immortal, cfg!(Py_3_12), "None is immortal from 3.12");
        let before = refcnt(&none);
        for _ in 0..1000 {
            drop(py.None());
        }
        if cfg!(Py_3_12) {
            // Immortal: the count does not move at all, and decrements a C
            // extension forgot to balance cannot free it.
            assert_eq!(refcnt(&none), before);
            for _ in 0..100 {
                // SAFETY: deliberately unbalanced on an immortal object, which
                // Py_DECREF leaves alone (this is what the test proves).
                unsafe { ffi::Py_DECREF(none.as_ptr()) };
            }
            assert_eq!(refcnt(&none), before);
        } else {
            assert_eq!(refcnt(&none), before, "balanced increments and decrements");
        }
        assert!(py.eval("None is None", None, None).unwrap().is_true());
    });
}

#[test]
fn the_build_is_what_the_interpreter_says() {
    common::interp();
    with_gil(|py| {
        let ft: bool = py
            .eval(
                "bool(__import__('sysconfig').get_config_var('Py_GIL_DISABLED'))",
                None,
                None,
            )
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(ft, pyhost::interpreter::compiled_free_threaded());
        // SAFETY: returns a constant.
        assert_eq!(unsafe { ffi::pyhost_compiled_gil_disabled() } == 1, ft);
        let minor: u32 = py
            .eval("__import__('sys').version_info[1]", None, None)
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(cfg!(Py_3_12), minor >= 12);
        assert_eq!(cfg!(Py_3_13), minor >= 13);
        if ft {
            // 3.13t runs without the GIL unless an extension asked for it.
            let gil: bool = py
                .eval("__import__('sys')._is_gil_enabled()", None, None)
                .unwrap()
                .extract()
                .unwrap();
            assert!(!gil);
        }
    });
}
