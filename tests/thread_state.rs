//! `keep_thread_state`: a host thread keeps one Python thread state across
//! GIL scopes, released when the thread exits (own test binary: it counts
//! thread-state owners).

mod common;

use pyhost::{interpreter::thread_state_owners, keep_thread_state, thread_state_is_kept, with_gil, Result};

/// Store a value in a `threading.local` (kept per Python thread state, in
/// `tstate->dict`) and read it back in a later GIL scope: it survives only if
/// the thread state does.
fn local_survives_between_scopes() -> bool {
    with_gil(|py| py.run("import tstate_probe\ntstate_probe.local.x = 1", None, None)).unwrap();
    with_gil(|py| -> Result<bool> {
        py.eval("hasattr(__import__('tstate_probe').local, 'x')", None, None)?
            .extract()
    })
    .unwrap()
}

#[test]
fn a_kept_thread_state_lasts_until_the_thread_exits() {
    common::interp();
    with_gil(|py| {
        py.run(
            "import sys, threading, types\n\
             class Thing: pass\n\
             sys.modules['tstate_probe'] = types.SimpleNamespace(local=threading.local(), Thing=Thing)",
            None,
            None,
        )
    })
    .unwrap();

    // The initialising thread already keeps one: nothing to do.
    keep_thread_state().unwrap();
    assert!(!thread_state_is_kept());
    assert_eq!(thread_state_owners(), 0);

    // A fresh thread without it: every scope gets a new thread state.
    std::thread::spawn(|| {
        assert!(!local_survives_between_scopes());
        assert!(!thread_state_is_kept());
    })
    .join()
    .unwrap();

    // With it: one thread state for the thread's life, counted as an owner
    // while the thread lives and released when it exits.
    let (to_main, from_thread) = std::sync::mpsc::channel();
    let (to_thread, from_main) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        keep_thread_state().unwrap();
        keep_thread_state().unwrap();
        assert!(thread_state_is_kept());
        assert!(local_survives_between_scopes());
        // Nested inside a scope, it is a no-op.
        with_gil(|_| keep_thread_state().unwrap());
        // Something only this thread state's dict holds.
        with_gil(|py| {
            py.run(
                "import tstate_probe, weakref\n\
                 tstate_probe.local.obj = tstate_probe.Thing()\n\
                 tstate_probe.ref = weakref.ref(tstate_probe.local.obj)",
                None,
                None,
            )
        })
        .unwrap();
        to_main.send(()).unwrap();
        from_main.recv().unwrap();
    });
    from_thread.recv().unwrap();
    assert_eq!(thread_state_owners(), 1);
    // Other threads still get the GIL (the kept state does not hold it).
    assert_eq!(
        with_gil(|py| py.eval("6 * 7", None, None)?.extract::<i64>()).unwrap(),
        42
    );
    to_thread.send(()).unwrap();
    t.join().unwrap();
    assert_eq!(thread_state_owners(), 0);
    // Its thread state was cleared (its dict with the local's value freed).
    let freed: bool = with_gil(|py| {
        py.eval("__import__('tstate_probe').ref() is None", None, None)?
            .extract()
    })
    .unwrap();
    assert!(freed, "the thread state outlived its thread");
}
