//! The check runtime: what a host needs to run Datadog Agent checks.
//!
//! These modules are plain Rust, usable without an interpreter; the
//! `aggregator`, `datadog_agent` and `_util` host modules are thin
//! argument-parsing layers over them. The compatibility target is the Datadog
//! Agent's rtloader (<https://github.com/DataDog/datadog-agent/tree/main/rtloader>:
//! `common/builtins/*.c` for the modules, `three/three.cpp` for the check
//! lifecycle).
//!
//! * [`aggregator`]: submissions per check id, raw and aggregated with the
//!   Agent's per-type rules (a folder: types, storage, sampler, per-type
//!   state);
//! * [`obfuscate`]: the Agent's SQL literal obfuscation (`obfuscate_sql`);
//! * [`cache`]: the persistent cache (`read/write_persistent_cache`);
//! * [`subprocess`]: `get_subprocess_output` without a shell;
//! * [`config`]: the `conf.d` layout and the host's own configuration
//!   (YAML, read by the PyYAML-compatible loader in `config/yaml.rs`);
//! * [`host`]: the services the built-in modules read (installed once);
//! * [`containment`]: what keeps a check's faults its own (crash report
//!   labels, stdout to the log, child reaper, read-only modules, limits);
//! * [`modules`]: the built-in modules themselves (`aggregator`,
//!   `datadog_agent`, `_util`, ...);
//! * [`value`]: the data value YAML documents, JSON payloads and Python
//!   objects have in common (serde and Python conversions);
//! * [`check`]: the check lifecycle (find the class, instantiate, run);
//! * [`runner`] and [`output`]: run checks and print what they submit as
//!   JSON lines (`run_check`); `output` also holds the agent's JSON-lines
//!   records;
//! * [`scheduler`] and [`sinks`]: the agent program's engine and its
//!   outputs (table, JSON lines, stderr, DogStatsD);
//! * [`system`]: the system checks shipped with the agent (`cpu`, `memory`,
//!   `disk`, ...) and their default configuration;
//! * [`status`]: the status page (`--status-addr`: `/status.json` and an
//!   HTML page) and its text form (`pyhost status`);
//! * [`cli`]: what the program's commands are made of (`datadog.yaml`
//!   settings, the `check` command's report);
//! * [`setup`]: the options and start-up shared by check-running programs;
//! * [`pybase`]: the Python base package (`checks.AgentCheck`) shipped in
//!   the library.

pub mod aggregator;
pub mod cache;
pub mod check;
pub mod cli;
pub mod config;
pub mod containment;
pub mod host;
pub mod isolation;
pub mod modules;
pub mod obfuscate;
pub mod output;
pub mod process;
pub mod pybase;
pub mod runner;
pub mod scheduler;
pub mod setup;
pub mod sinks;
pub mod status;
pub mod subprocess;
pub mod system;
#[cfg(test)]
mod test_util;
pub mod value;
