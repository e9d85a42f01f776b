//! What every check-running program shares: where the checks and their
//! configuration are, the data directory and hostname, and how Python is
//! started for them (built-in modules, the checks directory on `sys.path`,
//! an optional virtual environment, the shipped `checks` base).

use std::path::PathBuf;

use super::config::{system_hostname, HostConfig};
use super::{modules, pybase};
use crate::{Builder, Interpreter};

/// The options `run_check` and `pyhost` have in common.
#[derive(Debug, Clone)]
pub struct HostSetup {
    /// `--conf-dir`: `NAME.d/*.yaml` per check.
    pub conf_dir: PathBuf,
    /// `--checks-dir`: custom checks `NAME.py`, added to `sys.path`.
    pub checks_dir: PathBuf,
    /// `--venv`: a virtual environment to run the checks in.
    pub venv: Option<PathBuf>,
    /// `--data-dir`: the Agent's `run_path` (the persistent cache lives there).
    pub data_dir: PathBuf,
    /// `--hostname`: what `datadog_agent.get_hostname()` returns.
    pub hostname: String,
}

impl HostSetup {
    /// The defaults: `conf.d`, `checks.d`, no venv, `$TMPDIR/<data_dir_name>`,
    /// this machine's hostname.
    pub fn new(data_dir_name: &str) -> HostSetup {
        HostSetup {
            conf_dir: PathBuf::from("conf.d"),
            checks_dir: PathBuf::from("checks.d"),
            venv: None,
            data_dir: std::env::temp_dir().join(data_dir_name),
            hostname: system_hostname(),
        }
    }

    /// Take `flag` if it is one of the shared options, reading its value
    /// with `value`. `Ok(false)`: not a shared option.
    pub fn parse_flag(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<bool, String> {
        match flag {
            "--conf-dir" => self.conf_dir = value(flag)?.into(),
            "--checks-dir" => self.checks_dir = value(flag)?.into(),
            "--venv" => self.venv = Some(value(flag)?.into()),
            "--data-dir" => self.data_dir = value(flag)?.into(),
            "--hostname" => self.hostname = value(flag)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The host configuration: the Agent's defaults with this hostname and
    /// data directory (created here).
    pub fn host_config(&self) -> std::io::Result<HostConfig> {
        std::fs::create_dir_all(&self.data_dir)?;
        Ok(HostConfig::with_defaults(&self.hostname, &self.data_dir))
    }

    /// An interpreter builder with the built-in modules registered, the
    /// checks directory on `sys.path` and the virtual environment, if any.
    pub fn interpreter(&self, program_name: &str) -> Result<Builder, String> {
        let mut builder = modules::add_builtin_modules(Interpreter::builder()).program_name(program_name);
        if self.checks_dir.is_dir() {
            let dir =
                std::fs::canonicalize(&self.checks_dir).map_err(|e| format!("{}: {e}", self.checks_dir.display()))?;
            builder = builder.add_path(dir);
        }
        if let Some(v) = &self.venv {
            if !v.join("pyvenv.cfg").is_file() {
                return Err(format!("{} is not a virtual environment (no pyvenv.cfg)", v.display()));
            }
            builder = builder.venv(std::fs::canonicalize(v).map_err(|e| format!("{}: {e}", v.display()))?);
        }
        Ok(builder)
    }

    /// Start Python from `builder` and install the shipped `checks` base.
    pub fn start(builder: Builder) -> crate::Result<Interpreter> {
        let interp = builder.init()?;
        interp.with_gil(|py| pybase::install(py).map(drop))?;
        Ok(interp)
    }
}
