//! The plain-C baselines of `csrc/pyhost_bench.h`, declared by hand (seven
//! functions; the header is the contract, the comments there say what each
//! one times).

use pyhost::ffi::PyObject;

extern "C" {
    /// `f()` with the GIL held, `iters` times; elapsed ns.
    pub fn pyhost_bench_c_call_noargs(f: *mut PyObject, iters: u64) -> u64;
    /// `g(1000)` with the GIL held, result converted back; elapsed ns.
    pub fn pyhost_bench_c_call_1int(g: *mut PyObject, iters: u64) -> u64;
    /// `PyEval_SaveThread` + `PyEval_RestoreThread`; caller holds the GIL.
    pub fn pyhost_bench_c_gil_cycle_tstate(iters: u64) -> u64;
    /// `PyGILState_Ensure` + `Release` on a thread with no thread state.
    pub fn pyhost_bench_c_gil_cycle_fresh(iters: u64) -> u64;
    /// Init function of the `pyhost_bench_c` module (`noop`, `gauge`).
    pub fn pyhost_module_bench_c_init() -> *mut PyObject;
    /// Round trips to a helper thread through a mutex and two condvars.
    pub fn pyhost_bench_c_condvar_roundtrip(iters: u64) -> u64;
    /// The same round trip with both threads busy-polling.
    pub fn pyhost_bench_c_spin_roundtrip(iters: u64) -> u64;
}
