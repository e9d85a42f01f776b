//! What the `pyhost` program's commands are made of, in the library so
//! they can be tested without starting the program:
//!
//! * [`settings`]: `--config datadog.yaml`, the host settings read by the
//!   checks (`datadog_agent.get_config`) and by the program (workers,
//!   default interval, paths), with the command line taking precedence;
//! * [`check_report`]: the `check` command's collector and its table and
//!   JSON renderings.

pub mod check_report;
pub mod settings;
