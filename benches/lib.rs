//! pyhost's benchmarks (`cargo bench`): every cost beside a plain-C baseline
//! of the same operation, measured in the same process and run, so each
//! figure is a ratio that survives this VM's 2x swings in absolute speed.
//!
//! * [`c`]: the baselines (`csrc/`, compiled by this package's build script
//!   against the headers of the Python pyhost links);
//! * [`loops`]: what the benches that time Python loops share (`modules`,
//!   and the agent's `agent` bench);
//! * [`load`]: busy loops that load the machine, and the process's CPU time
//!   (`workers`, `pool_modes`, `parallel`).

pub mod c;
pub mod load;
pub mod loops;
