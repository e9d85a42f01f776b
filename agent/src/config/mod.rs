//! Configuration: checks' `conf.d` files and the host's own settings.
//!
//! **Check configuration** follows the Datadog Agent's layout. For a check
//! `NAME` under a configuration directory:
//!
//! * every `*.yaml` / `*.yml` file in `NAME.d/`, except `auto_conf.yaml`
//!   (Autodiscovery templates) and `metrics.yaml` (JMX metric
//!   definitions); `*.yaml.default` files are used only when the directory
//!   has no other configuration file;
//! * `NAME.yaml` / `NAME.yml` directly in the directory.
//!
//! Each file holds `init_config` (any value; `null` when absent, which the
//! loader turns into `{}` as rtloader's `get_check` does) and `instances`,
//! a non-empty list of mappings.
//!
//! **YAML values match PyYAML's `safe_load`**, which is what
//! `datadog-checks-base`'s `load_config` uses, so a check sees the same
//! instance whichever base class it uses: YAML 1.1 plain scalars resolve
//! `yes/no/on/off` to booleans, `0755` to octal, `1_000` to an int, `1.5`
//! (but not `1e3`, which needs a dot and a signed exponent) to a float,
//! `~`/`null`/empty to `None`; `<<` merge keys, anchors and aliases work;
//! a repeated key keeps the last value. Differences, because values are
//! [`Value`]s (what JSON holds, plus NaN and infinities): timestamps stay
//! strings (PyYAML makes `datetime`s), non-string keys become their text as
//! `json.dumps` writes it (`1` -> `"1"`), ints beyond 64 bits become floats,
//! and tags other than the standard `!!str/int/float/bool/null/map/seq` are
//! rejected (PyYAML's SafeLoader rejects them too).
//!
//! **Loading is bounded** ([`LoadLimits`], set once per process with
//! [`set_load_limits`]; the programs' `--yaml-max-bytes`, `--yaml-max-nodes`
//! and `--yaml-max-depth`): a file larger than the byte budget is not read;
//! an alias counts as the whole node it repeats, *before* it is copied, so a
//! "billion laughs" file (516 bytes, 9 levels of aliases: 10^9 nodes)
//! stops at the node budget in milliseconds with a [`ConfigError::OverBudget`]
//! naming the file and position, instead of allocating gigabytes. Memory is
//! then bounded by the budgets: at most about 2 x (`max_nodes` x 64 bytes +
//! `max_bytes`) per file (anchored nodes are kept once more for their
//! aliases). The defaults ([`LoadLimits::DEFAULT`]) are far above real check
//! configurations and load, at their worst, in well under a second.
//!
//! **A check's broken file is that check's problem**: an unreadable
//! `NAME.d`, a `NAME.yaml` that is a directory, a dangling symlink, a FIFO,
//! a file that vanished between listing and reading: each is a
//! [`ConfigError::Io`] naming the path and the OS error, for that check
//! only. [`discover_check_names`] still lists such a check (so its error is
//! reported), and fails only when the configuration directory itself cannot
//! be read, with its path in the message. Files are opened with `O_NONBLOCK`
//! and must be regular files, so a FIFO never blocks the loader.
//!
//! **The host configuration** ([`HostConfig`]) is a key -> [`Value`] map
//! served to `datadog_agent.get_config(key)` (converted straight to Python
//! objects), with the Agent's defaults for the keys `datadog-checks-base`
//! reads.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::value::Value;

mod yaml;

/// The YAML loading budgets (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Bytes of a file, and bytes of scalar text in the loaded document
    /// (keys included, aliases counted at their expansion).
    pub max_bytes: usize,
    /// Nodes (scalars, sequences, mappings) in the loaded document, aliases
    /// counted at their expansion.
    pub max_nodes: usize,
    /// Nesting levels (the top level is 0).
    pub max_depth: usize,
}

impl LoadLimits {
    /// 4 MiB, 500 000 nodes, 128 levels. A large Agent configuration
    /// (a thousand instances of twenty keys) is some 40 000 nodes and
    /// under 1 MiB; a file at the node budget loads in about 0.25 s
    /// (release build, this VM) with some 40 MiB, and the issue's alias
    /// bomb fails in 0.06 s with 35 MiB.
    pub const DEFAULT: LoadLimits = LoadLimits {
        max_bytes: 4 << 20,
        max_nodes: 500_000,
        max_depth: 128,
    };
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits::DEFAULT
    }
}

static MAX_BYTES: AtomicUsize = AtomicUsize::new(LoadLimits::DEFAULT.max_bytes);
static MAX_NODES: AtomicUsize = AtomicUsize::new(LoadLimits::DEFAULT.max_nodes);
static MAX_DEPTH: AtomicUsize = AtomicUsize::new(LoadLimits::DEFAULT.max_depth);

/// Set the budgets every later load of this process uses (the programs do
/// it from their flags, before loading anything).
pub fn set_load_limits(limits: LoadLimits) {
    MAX_BYTES.store(limits.max_bytes, Ordering::Relaxed);
    MAX_NODES.store(limits.max_nodes, Ordering::Relaxed);
    MAX_DEPTH.store(limits.max_depth, Ordering::Relaxed);
}

/// The budgets in force.
pub fn load_limits() -> LoadLimits {
    LoadLimits {
        max_bytes: MAX_BYTES.load(Ordering::Relaxed),
        max_nodes: MAX_NODES.load(Ordering::Relaxed),
        max_depth: MAX_DEPTH.load(Ordering::Relaxed),
    }
}

/// One configuration file of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// The check's name (`NAME` of `NAME.d/`).
    pub name: String,
    /// The file it came from.
    pub source: PathBuf,
    /// `init_config`; `Null` when absent or empty.
    pub init_config: Value,
    /// `instances`: each a mapping ([`Value::Object`]).
    pub instances: Vec<Value>,
}

/// Why a configuration could not be loaded.
#[derive(Debug)]
pub enum ConfigError {
    /// Reading the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// The file is not valid YAML (or uses something we do not support).
    Yaml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Loading it would pass a [`LoadLimits`] budget.
    OverBudget {
        /// The file.
        path: PathBuf,
        /// Which budget, and the flag that raises it.
        message: String,
        /// 1-based line where it was passed (0: before parsing).
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Valid YAML, but not a check configuration.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            ConfigError::Yaml {
                path,
                message,
                line,
                column,
            } => {
                write!(f, "{}:{line}:{column}: invalid YAML: {message}", path.display())
            }
            ConfigError::OverBudget {
                path, message, line: 0, ..
            } => write!(f, "{}: {message}", path.display()),
            ConfigError::OverBudget {
                path,
                message,
                line,
                column,
            } => write!(f, "{}:{line}:{column}: {message}", path.display()),
            ConfigError::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Whether `path` exists as a directory entry (a dangling symlink does).
fn exists_entry(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The files holding `name`'s configuration under `conf_dir`, by the
/// Agent's rules (see the module docs), sorted by path. A missing `NAME.d`
/// contributes nothing; one that exists but cannot be listed is an error
/// naming it. Entries named like configuration files are listed whatever
/// they are (a directory, a dangling symlink): reading them reports why
/// they are not configuration.
pub fn check_config_files(conf_dir: &Path, name: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let mut files = Vec::new();
    let d = conf_dir.join(format!("{name}.d"));
    if exists_entry(&d) {
        let io_err = |error| ConfigError::Io { path: d.clone(), error };
        let mut regular = Vec::new();
        let mut defaults = Vec::new();
        for entry in std::fs::read_dir(&d).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let fname = entry.file_name().to_string_lossy().into_owned();
            if is_yaml(&fname) && fname != "auto_conf.yaml" && fname != "metrics.yaml" {
                regular.push(entry.path());
            } else if fname.ends_with(".yaml.default") || fname.ends_with(".yml.default") {
                defaults.push(entry.path());
            }
        }
        files.extend(if regular.is_empty() { defaults } else { regular });
    }
    for ext in ["yaml", "yml"] {
        let f = conf_dir.join(format!("{name}.{ext}"));
        if exists_entry(&f) {
            files.push(f);
        }
    }
    files.sort();
    Ok(files)
}

/// The names of all checks configured under `conf_dir`, sorted. A check
/// whose files cannot be listed or read is included (loading it reports
/// why); only an unreadable `conf_dir` is an error, with its path.
pub fn discover_check_names(conf_dir: &Path) -> io::Result<Vec<String>> {
    let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", conf_dir.display()));
    let mut names = Vec::new();
    for entry in std::fs::read_dir(conf_dir).map_err(with_path)? {
        let entry = entry.map_err(with_path)?;
        let fname = entry.file_name().to_string_lossy().into_owned();
        let name = if let Some(n) = fname.strip_suffix(".d") {
            // A directory, or a symlink that should be one (dangling, a
            // loop, pointing elsewhere): reported when loaded. A plain file
            // named `x.d` is not configuration.
            let symlink = entry.file_type().is_ok_and(|t| t.is_symlink());
            if !entry.path().is_dir() && !symlink {
                continue;
            }
            n.to_owned()
        } else if let Some(n) = fname.strip_suffix(".yaml").or_else(|| fname.strip_suffix(".yml")) {
            n.to_owned()
        } else {
            continue;
        };
        let configured = check_config_files(conf_dir, &name).map_or(true, |f| !f.is_empty());
        if !name.is_empty() && configured && !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Open `path` for reading if it is a regular file: without blocking (a
/// FIFO is refused, not waited on); a directory is `EISDIR`; a FIFO, socket
/// or device is an `InvalidInput` error saying which. The errors are the
/// OS's (`ENOENT` for a dangling symlink, `ELOOP`, `EACCES`...), without
/// the path (callers add it).
pub fn open_regular_file(path: &Path) -> io::Result<(std::fs::File, std::fs::Metadata)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    if !ft.is_file() {
        let what = if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ));
    }
    Ok((file, meta))
}

/// Read a configuration file's text: a regular file (opened without
/// blocking, so a FIFO is refused rather than waited on), within the byte
/// budget, in UTF-8. Every failure names the path.
pub fn read_config_file(path: &Path, max_bytes: usize) -> Result<String, ConfigError> {
    let io_err = |error| ConfigError::Io {
        path: path.to_owned(),
        error,
    };
    let (file, meta) = open_regular_file(path).map_err(io_err)?;
    let too_big = || ConfigError::OverBudget {
        path: path.to_owned(),
        message: format!("over the YAML loading budget: the file is larger than {max_bytes} bytes (--yaml-max-bytes)"),
        line: 0,
        column: 0,
    };
    if meta.len() > max_bytes as u64 {
        return Err(too_big());
    }
    let mut text = String::new();
    // `take`: a file that grows while being read stops at the budget too.
    file.take(max_bytes as u64 + 1)
        .read_to_string(&mut text)
        .map_err(io_err)?;
    if text.len() > max_bytes {
        return Err(too_big());
    }
    Ok(text)
}

/// Validate a parsed document as a check configuration.
pub fn check_config_from_value(name: &str, doc: Value, source: &Path) -> Result<CheckConfig, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: source.to_owned(),
        message,
    };
    let pairs = match doc {
        Value::Object(p) => p,
        Value::Null => {
            return Err(invalid(
                "the file is empty: expected `init_config` and `instances`".into(),
            ))
        }
        other => {
            return Err(invalid(format!(
                "expected a mapping with `init_config` and `instances`, got {}",
                kind(&other)
            )))
        }
    };
    let mut init_config = Value::Null;
    let mut instances = None;
    for (k, v) in pairs {
        match k.as_str() {
            "init_config" => init_config = v,
            "instances" => instances = Some(v),
            _ => {}
        }
    }
    let instances = match instances {
        None | Some(Value::Null) => return Err(invalid("no `instances`: a check needs at least one instance".into())),
        Some(Value::Array(a)) if a.is_empty() => return Err(invalid("`instances` is empty".into())),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(invalid(format!("`instances` must be a list, got {}", kind(&other)))),
    };
    for (i, inst) in instances.iter().enumerate() {
        if !matches!(inst, Value::Object(_)) {
            return Err(invalid(format!(
                "instance #{} must be a mapping, got {}",
                i + 1,
                kind(inst)
            )));
        }
    }
    Ok(CheckConfig {
        name: name.to_owned(),
        source: source.to_owned(),
        init_config,
        instances,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Parse one configuration file's text (within the process's [`LoadLimits`]).
pub fn parse_check_config(name: &str, text: &str, source: &Path) -> Result<CheckConfig, ConfigError> {
    let doc = yaml::parse(text, &load_limits()).map_err(|e| e.at(source))?;
    check_config_from_value(name, doc, source)
}

/// Load every configuration file of `name` under `conf_dir`. No file is an
/// `Invalid` error naming the places looked at; the first file that cannot
/// be read or parsed is the error (naming it).
pub fn load_check_configs(conf_dir: &Path, name: &str) -> Result<Vec<CheckConfig>, ConfigError> {
    let files = check_config_files(conf_dir, name)?;
    if files.is_empty() {
        return Err(ConfigError::Invalid {
            path: conf_dir.to_owned(),
            message: format!("no configuration for check {name:?} (looked for {name}.d/*.yaml and {name}.yaml)"),
        });
    }
    files
        .iter()
        .map(|f| {
            let text = read_config_file(f, load_limits().max_bytes)?;
            parse_check_config(name, &text, f)
        })
        .collect()
}

/// Parse a YAML document into a [`Value`] with PyYAML `safe_load`'s
/// resolution (see the module docs).
pub fn parse_yaml(text: &str) -> Result<Value, ConfigError> {
    parse_yaml_with(text, &load_limits())
}

/// [`parse_yaml`] within explicit budgets.
pub fn parse_yaml_with(text: &str, limits: &LoadLimits) -> Result<Value, ConfigError> {
    yaml::parse(text, limits).map_err(|e| e.at(Path::new("<string>")))
}

// ---- the host configuration ---------------------------------------------------

/// The host's own configuration, served to `datadog_agent.get_config`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostConfig {
    values: Value,
}

impl HostConfig {
    /// An empty configuration (every key unset).
    pub fn new() -> HostConfig {
        HostConfig {
            values: Value::object(),
        }
    }

    /// The Agent's defaults for what checks read, with this host name and
    /// data directory (`run_path`, where the persistent cache lives).
    pub fn with_defaults(hostname: &str, data_dir: &Path) -> HostConfig {
        let mut c = HostConfig::new();
        let strs = |v: &[&str]| Value::Array(v.iter().map(|s| Value::from(*s)).collect());
        c.set("hostname", hostname);
        c.set("log_level", "info");
        c.set("run_path", data_dir.to_string_lossy().as_ref());
        c.set("enable_metadata_collection", true);
        c.set("logs_enabled", false);
        c.set("integration_tracing", false);
        c.set("integration_tracing_futures", false);
        c.set("integration_profiling", false);
        c.set("histogram_aggregates", strs(&["max", "median", "avg", "count"]));
        c.set("histogram_percentiles", strs(&["0.95"]));
        c.set("check_runners", 4i64);
        c.set("min_collection_interval", 15i64);
        c
    }

    /// The value at `key`. A dotted key (`"proxy.http"`) also looks into
    /// nested mappings, as the Agent's configuration does.
    pub fn get(&self, key: &str) -> Option<&Value> {
        if let Some(v) = self.values.get(key) {
            return Some(v);
        }
        let mut cur = &self.values;
        for part in key.split('.') {
            cur = cur.get(part)?;
        }
        Some(cur)
    }

    /// Set `key` (top level).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.values.insert(key, value);
    }

    /// Overlay a mapping's keys (e.g. a parsed `datadog.yaml`); a non-mapping
    /// is an error naming what it was.
    pub fn merge(&mut self, other: Value) -> Result<(), String> {
        match other {
            Value::Object(pairs) => {
                for (k, v) in pairs {
                    self.values.insert(k, v);
                }
                Ok(())
            }
            Value::Null => Ok(()),
            v => Err(format!("the host configuration must be a mapping, got {}", kind(&v))),
        }
    }

    /// Overlay a YAML file (`datadog.yaml`-style).
    pub fn merge_yaml_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let limits = load_limits();
        let text = read_config_file(path, limits.max_bytes)?;
        let doc = yaml::parse(&text, &limits).map_err(|e| e.at(path))?;
        self.merge(doc).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// `hostname`, if set to a string.
    pub fn hostname(&self) -> Option<&str> {
        self.get("hostname").and_then(Value::as_str)
    }

    /// All settings, as a mapping.
    pub fn as_value(&self) -> &Value {
        &self.values
    }
}

/// This machine's host name (`gethostname`), or `"localhost"`.
pub fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for writes of its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if n > 0 {
            return String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    }
    "localhost".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        let d = crate::test_util::temp_path(&format!("config-{tag}"));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn finds_files_by_the_agent_rules() {
        let d = tempdir("files");
        write(&d.join("redis.d/conf.yaml"), "");
        write(&d.join("redis.d/second.yml"), "");
        write(&d.join("redis.d/auto_conf.yaml"), "");
        write(&d.join("redis.d/conf.yaml.default"), "");
        write(&d.join("redis.d/notes.txt"), "");
        write(&d.join("redis.yaml"), "");
        write(&d.join("nginx.d/conf.yaml.default"), "");
        write(&d.join("jmx.d/metrics.yaml"), "");
        write(&d.join("flat.yaml"), "");
        let names: Vec<PathBuf> = check_config_files(&d, "redis").unwrap();
        assert_eq!(
            names,
            vec![
                d.join("redis.d/conf.yaml"),
                d.join("redis.d/second.yml"),
                d.join("redis.yaml")
            ]
        );
        assert_eq!(
            check_config_files(&d, "nginx").unwrap(),
            vec![d.join("nginx.d/conf.yaml.default")]
        );
        assert!(check_config_files(&d, "jmx").unwrap().is_empty());
        assert!(check_config_files(&d, "absent").unwrap().is_empty());
        assert_eq!(discover_check_names(&d).unwrap(), ["flat", "nginx", "redis"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn validates_structure() {
        let p = Path::new("x.yaml");
        let obj =
            |pairs: Vec<(&str, Value)>| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let ok = check_config_from_value(
            "c",
            obj(vec![
                ("init_config", Value::Null),
                ("instances", Value::Array(vec![Value::object()])),
            ]),
            p,
        )
        .unwrap();
        assert_eq!(ok.instances.len(), 1);
        assert_eq!(ok.init_config, Value::Null);
        for (doc, msg) in [
            (Value::Null, "empty"),
            (Value::Array(vec![]), "expected a mapping"),
            (obj(vec![("init_config", Value::object())]), "no `instances`"),
            (obj(vec![("instances", Value::Array(vec![]))]), "is empty"),
            (obj(vec![("instances", Value::object())]), "must be a list"),
            (
                obj(vec![("instances", Value::Array(vec![Value::object(), Value::Int(3)]))]),
                "instance #2 must be a mapping",
            ),
        ] {
            let e = check_config_from_value("c", doc, p).unwrap_err().to_string();
            assert!(e.contains(msg) && e.starts_with("x.yaml"), "{e}");
        }
    }

    #[test]
    fn host_config_defaults_and_dotted_keys() {
        let mut c = HostConfig::with_defaults("myhost", Path::new("/var/lib/pyhost"));
        assert_eq!(c.hostname(), Some("myhost"));
        assert_eq!(json_at(&c, "log_level").as_deref(), Some("\"info\""));
        assert_eq!(json_at(&c, "enable_metadata_collection").as_deref(), Some("true"));
        assert_eq!(json_at(&c, "run_path").as_deref(), Some("\"/var/lib/pyhost\""));
        assert_eq!(json_at(&c, "nope"), None);
        let mut proxy = Value::object();
        proxy.insert("http", "http://p:3128");
        c.set("proxy", proxy);
        assert_eq!(c.get("proxy.http").and_then(Value::as_str), Some("http://p:3128"));
        assert_eq!(json_at(&c, "proxy").as_deref(), Some("{\"http\":\"http://p:3128\"}"));
        let mut over = Value::object();
        over.insert("log_level", "debug");
        c.merge(over).unwrap();
        assert_eq!(c.get("log_level").and_then(Value::as_str), Some("debug"));
        assert!(c.merge(Value::Int(1)).is_err());
    }

    /// What `get_config(key)` serves, as JSON text.
    fn json_at(c: &HostConfig, key: &str) -> Option<String> {
        c.get(key).map(Value::to_string)
    }

    #[test]
    fn system_hostname_is_not_empty() {
        let h = system_hostname();
        assert!(!h.is_empty() && !h.contains('\0'));
    }

    #[test]
    fn loads_a_datadog_style_check_config() {
        let d = tempdir("load");
        write(
            &d.join("redisdb.d/conf.yaml"),
            "init_config:\n  service: cache\n\ninstances:\n  - host: localhost\n    port: 6379\n    tags:\n      - env:prod\n      - team:core\n    keys: ['a', \"b\"]\n    ssl: no\n    timeout: 2.5\n  - host: other\n    password: 'p@ss:word'\n",
        );
        write(&d.join("redisdb.yaml"), "instances: [{host: flat}]\n");
        let cfgs = load_check_configs(&d, "redisdb").unwrap();
        assert_eq!(cfgs.len(), 2);
        let c = &cfgs[0];
        assert_eq!(c.name, "redisdb");
        assert_eq!(c.init_config.get("service").and_then(Value::as_str), Some("cache"));
        assert_eq!(c.instances.len(), 2);
        let i0 = &c.instances[0];
        assert_eq!(i0.get("port"), Some(&Value::Int(6379)));
        assert_eq!(i0.get("ssl"), Some(&Value::Bool(false)));
        assert_eq!(i0.get("timeout"), Some(&Value::Float(2.5)));
        assert_eq!(i0.get("tags").unwrap().as_array().unwrap().len(), 2);
        assert_eq!(
            i0.to_string(),
            r#"{"host":"localhost","port":6379,"tags":["env:prod","team:core"],"keys":["a","b"],"ssl":false,"timeout":2.5}"#
        );
        assert_eq!(
            c.instances[1].get("password").and_then(Value::as_str),
            Some("p@ss:word")
        );
        assert_eq!(cfgs[1].instances[0].get("host").and_then(Value::as_str), Some("flat"));

        write(&d.join("broken.d/conf.yaml"), "instances:\n  - a: [1, 2\n");
        let e = load_check_configs(&d, "broken").unwrap_err().to_string();
        assert!(e.contains("broken.d/conf.yaml") && e.contains("invalid YAML"), "{e}");
        let e = load_check_configs(&d, "missing").unwrap_err().to_string();
        assert!(e.contains("no configuration for check \"missing\""), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Each broken entry is an error naming its path and the OS error, for
    /// its check only. (Tests run as root, which `chmod 000` does not stop:
    /// dangling and looping symlinks, directories and FIFOs make the same
    /// failures reachable for anyone.)
    #[test]
    fn broken_entries_are_errors_of_their_own_check() {
        use std::os::unix::fs::symlink;
        let d = tempdir("broken");
        write(&d.join("good.d/conf.yaml"), "instances: [{}]\n");
        // NAME.d that cannot be listed: a dangling symlink, a symlink loop.
        symlink(d.join("nowhere"), d.join("dangling.d")).unwrap();
        symlink(d.join("loop.d"), d.join("loop.d")).unwrap();
        // A configuration entry that is a directory, in NAME.d and at the top.
        std::fs::create_dir_all(d.join("dirconf.d/conf.yaml")).unwrap();
        std::fs::create_dir_all(d.join("dirtop.yaml")).unwrap();
        // A file that vanished (a dangling symlink reads as one), a FIFO.
        write(&d.join("vanished.d/keep.txt"), "");
        symlink(d.join("gone.yaml"), d.join("vanished.d/conf.yaml")).unwrap();
        write(&d.join("fifo.d/keep.txt"), "");
        let fifo = std::ffi::CString::new(d.join("fifo.d/conf.yaml").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        // A plain file named like a directory is not configuration.
        write(&d.join("notes.d"), "");

        let names = discover_check_names(&d).unwrap();
        assert_eq!(
            names,
            ["dangling", "dirconf", "dirtop", "fifo", "good", "loop", "vanished"]
        );
        assert_eq!(load_check_configs(&d, "good").unwrap().len(), 1);
        for (name, path, os_error) in [
            ("dangling", "dangling.d", "No such file or directory"),
            ("loop", "loop.d", "Too many levels of symbolic links"),
            ("dirconf", "dirconf.d/conf.yaml", "Is a directory"),
            ("dirtop", "dirtop.yaml", "Is a directory"),
            ("vanished", "vanished.d/conf.yaml", "No such file or directory"),
            ("fifo", "fifo.d/conf.yaml", "not a regular file (a FIFO)"),
        ] {
            let e = load_check_configs(&d, name).unwrap_err();
            assert!(matches!(e, ConfigError::Io { .. }), "{e}");
            let e = e.to_string();
            let want = format!("{}: ", d.join(path).display());
            assert!(e.starts_with(&want) && e.contains(os_error), "{name}: {e}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn only_an_unreadable_conf_dir_fails_discovery_and_it_is_named() {
        let d = tempdir("unreadable");
        for missing in [d.join("absent"), d.join("file")] {
            if missing.ends_with("file") {
                write(&missing, "");
            }
            let e = discover_check_names(&missing).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{}: ", missing.display())), "{e}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn files_over_the_byte_budget_are_not_read() {
        let d = tempdir("budget");
        let f = d.join("big.yaml");
        write(&f, &format!("instances: [{{}}]\n# {}\n", "x".repeat(2000)));
        assert!(read_config_file(&f, 4096).is_ok());
        let e = read_config_file(&f, 1000).unwrap_err();
        assert!(matches!(e, ConfigError::OverBudget { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.starts_with(&f.display().to_string()) && e.contains("--yaml-max-bytes"),
            "{e}"
        );
        std::fs::write(&f, b"instances: [{a: \xff}]\n").unwrap();
        let e = read_config_file(&f, 4096).unwrap_err().to_string();
        assert!(e.contains("valid UTF-8"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn host_config_from_yaml() {
        let d = tempdir("host");
        write(
            &d.join("datadog.yaml"),
            "hostname: from-file\nproxy:\n  https: http://p\nlog_level: debug\n",
        );
        let mut c = HostConfig::with_defaults("h", &d);
        c.merge_yaml_file(&d.join("datadog.yaml")).unwrap();
        assert_eq!(c.hostname(), Some("from-file"));
        assert_eq!(c.get("proxy.https").and_then(Value::as_str), Some("http://p"));
        assert_eq!(json_at(&c, "check_runners").as_deref(), Some("4"));
        write(&d.join("list.yaml"), "- a\n");
        assert!(c
            .merge_yaml_file(&d.join("list.yaml"))
            .unwrap_err()
            .to_string()
            .contains("must be a mapping"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
