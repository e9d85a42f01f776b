//! What every check-running program shares: where the checks and their
//! configuration are, the data directory and hostname, and how Python is
//! started for them (built-in modules, the checks directory on `sys.path`,
//! an optional virtual environment, the shipped `checks` base).

use std::path::{Path, PathBuf};

use super::config::{system_hostname, HostConfig};
use super::{modules, pybase};
use pyhost::{Builder, Interpreter};

/// The options `pyhost` and `run_check` have in common (a `clap` argument
/// group: `#[command(flatten)]` it into a program's options).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HostSetup {
    /// Check configuration, one `NAME.d/*.yaml` (or `NAME.yaml`) per check
    /// [default: ./conf.d, or the bundled examples when there is none]
    #[arg(long, value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,
    /// Custom checks, `NAME.py`, added to `sys.path`
    /// [default: ./checks.d, or the bundled examples' with the bundled conf.d]
    #[arg(long, value_name = "DIR")]
    pub checks_dir: Option<PathBuf>,
    /// A virtual environment to run the checks in (its site-packages, its
    /// python as `sys.executable`): how checks built on datadog-checks-base run
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// The Agent's `run_path`: the persistent cache lives in DIR/cache
    /// [default: $TMPDIR/pyhost-PROGRAM]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// What `datadog_agent.get_hostname()` returns [default: this machine's name]
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Loading budgets and limits (`docs/reliability.md`).
    #[command(flatten)]
    pub limits: crate::containment::Limits,
}

/// The example checks shipped in this package's source tree (`examples/agent`),
/// what the programs run when started where there is no `conf.d`.
pub fn bundled_examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join("agent")
}

impl HostSetup {
    /// Whether the bundled examples stand in for a missing `./conf.d`.
    pub fn uses_bundled_examples(&self) -> bool {
        self.conf_dir.is_none() && !Path::new("conf.d").is_dir() && bundled_examples().join("conf.d").is_dir()
    }

    /// `--conf-dir`, else `./conf.d`, else the bundled examples' `conf.d`.
    pub fn conf_dir(&self) -> PathBuf {
        match &self.conf_dir {
            Some(d) => d.clone(),
            None if self.uses_bundled_examples() => bundled_examples().join("conf.d"),
            None => PathBuf::from("conf.d"),
        }
    }

    /// `--checks-dir`, else the bundled examples' `checks.d` when their
    /// `conf.d` is used, else `./checks.d`.
    pub fn checks_dir(&self) -> PathBuf {
        match &self.checks_dir {
            Some(d) => d.clone(),
            None if self.uses_bundled_examples() => bundled_examples().join("checks.d"),
            None => PathBuf::from("checks.d"),
        }
    }

    /// `--data-dir`, else `$TMPDIR/pyhost-<program>`.
    pub fn data_dir(&self, program: &str) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("pyhost-{program}")))
    }

    /// `--hostname`, else this machine's.
    pub fn hostname(&self) -> String {
        self.hostname.clone().unwrap_or_else(system_hostname)
    }

    /// The host configuration: the Agent's defaults with this hostname and
    /// data directory (created here).
    pub fn host_config(&self, program: &str) -> std::io::Result<HostConfig> {
        let data_dir = self.data_dir(program);
        std::fs::create_dir_all(&data_dir)?;
        Ok(HostConfig::with_defaults(&self.hostname(), &data_dir))
    }

    /// These options as command-line arguments, with the directories
    /// resolved (what a worker process is started with).
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--conf-dir".into(),
            self.conf_dir().into(),
            "--checks-dir".into(),
            self.checks_dir().into(),
        ];
        if let Some(v) = &self.venv {
            args.extend(["--venv".into(), v.into()]);
        }
        if let Some(d) = &self.data_dir {
            args.extend(["--data-dir".into(), d.into()]);
        }
        if let Some(h) = &self.hostname {
            args.extend(["--hostname".into(), h.into()]);
        }
        let l = &self.limits;
        for (flag, n) in [
            ("--yaml-max-bytes", l.yaml_max_bytes),
            ("--yaml-max-nodes", l.yaml_max_nodes),
            ("--yaml-max-depth", l.yaml_max_depth),
            ("--max-contexts-per-check", l.max_contexts_per_check),
        ] {
            args.extend([flag.into(), n.to_string().into()]);
        }
        args
    }

    /// An interpreter builder with the built-in modules registered, the
    /// checks directory on `sys.path` and the virtual environment, if any.
    pub fn interpreter(&self, program_name: &str) -> Result<Builder, String> {
        let mut builder = modules::add_builtin_modules(Interpreter::builder()).program_name(program_name);
        let checks_dir = self.checks_dir();
        if checks_dir.is_dir() {
            let dir = std::fs::canonicalize(&checks_dir).map_err(|e| format!("{}: {e}", checks_dir.display()))?;
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
    pub fn start(builder: Builder) -> pyhost::Result<Interpreter> {
        let interp = builder.init()?;
        interp.with_gil(|py| pybase::install(py).map(drop))?;
        Ok(interp)
    }
}
