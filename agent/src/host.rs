//! The host side of the Datadog built-in modules: the state their functions
//! read and write, installed once per process before the interpreter starts.
//!
//! rtloader keeps one file-static callback pointer per host service, set by
//! the Go agent before `init()`. Here the same services are fields of one
//! [`AgentHost`], installed with [`install`]; a module function whose service
//! is absent behaves as rtloader's does when its callback is unset (usually
//! returning `None`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use super::aggregator::Aggregator;
use super::cache::PersistentCache;
use super::config::HostConfig;
use super::value::Value;

/// A log record from `datadog_agent.log(message, level)`. The check id is
/// inside the message (`"<check_id> | (file:line) | text"`), as the Python
/// bases format it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Python logging level (`TRACE = 7`, `DEBUG = 10` ... `CRITICAL = 50`).
    pub level: i32,
    /// The formatted message.
    pub message: String,
}

/// Receives `datadog_agent.log` records.
pub type LogSink = Box<dyn Fn(&LogRecord) + Send + Sync>;
/// `tagger.tag(entity_id, cardinality)`: the entity's tags.
pub type TaggerFn = Box<dyn Fn(&str, i32) -> Vec<String> + Send + Sync>;
/// `containers.is_excluded(name, image, namespace)`.
pub type IsExcludedFn = Box<dyn Fn(&str, &str, Option<&str>) -> bool + Send + Sync>;
/// `kubeutil.get_connection_info()`: an object ([`Value::Object`]), or `None` for `{}`.
pub type ConnectionInfoFn = Box<dyn Fn() -> Option<Value> + Send + Sync>;

/// Everything the built-in modules need from the host.
pub struct AgentHost {
    /// Where every submission goes.
    pub aggregator: Aggregator,
    /// The host's configuration (`datadog_agent.get_config`, hostname, ...).
    pub config: RwLock<HostConfig>,
    /// `read/write_persistent_cache`; `None` makes reads fail and writes no-ops.
    pub cache: Option<PersistentCache>,
    /// The Agent version reported by `datadog_agent.get_version()`.
    pub version: String,
    /// `datadog_agent.get_clustername()`; `None` returns `None`.
    pub cluster_name: Option<String>,
    /// `datadog_agent.tracemalloc_enabled()`.
    pub tracemalloc_enabled: bool,
    /// `datadog_agent.get_process_start_time()` (seconds since the epoch).
    pub process_start_time: f64,
    /// `datadog_agent.log`.
    pub log: LogSink,
    /// `tagger.tag` / `tagger.get_tags`; `None` returns `None`.
    pub tagger: Option<TaggerFn>,
    /// `containers.is_excluded`; `None` returns `None`.
    pub is_excluded: Option<IsExcludedFn>,
    /// `kubeutil.get_connection_info`; `None` returns `None`.
    pub connection_info: Option<ConnectionInfoFn>,
}

impl std::fmt::Debug for AgentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHost")
            .field("version", &self.version)
            .field("cluster_name", &self.cluster_name)
            .field("cache", &self.cache.as_ref().map(|c| c.dir().to_path_buf()))
            .finish_non_exhaustive()
    }
}

impl AgentHost {
    /// A host with the given configuration: its hostname and data directory
    /// (`run_path`; the persistent cache lives in `<run_path>/cache`), logs
    /// to standard error. Fails if the cache directory cannot be created.
    pub fn new(config: HostConfig) -> std::io::Result<AgentHost> {
        let data_dir = config.get("run_path").and_then(Value::as_str).map(PathBuf::from);
        let cache = data_dir.map(|d| PersistentCache::new(d.join("cache"))).transpose()?;
        let tracemalloc = config.get("tracemalloc_debug").is_some_and(Value::is_truthy);
        Ok(AgentHost {
            aggregator: Aggregator::new(),
            config: RwLock::new(config),
            cache,
            version: env!("CARGO_PKG_VERSION").to_string(),
            cluster_name: None,
            tracemalloc_enabled: tracemalloc,
            process_start_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            log: Box::new(stderr_log),
            tagger: None,
            is_excluded: None,
            connection_info: None,
        })
    }

    /// The configured hostname, or `""`.
    pub fn hostname(&self) -> String {
        self.config.read().hostname().unwrap_or("").to_string()
    }
}

/// The default log sink: `LEVEL message` on standard error.
pub fn stderr_log(record: &LogRecord) {
    eprintln!("{:<8} {}", level_name(record.level), record.message);
}

/// The Agent's name for a Python logging level.
pub fn level_name(level: i32) -> &'static str {
    match level {
        l if l >= 50 => "CRITICAL",
        l if l >= 40 => "ERROR",
        l if l >= 30 => "WARN",
        l if l >= 20 => "INFO",
        l if l >= 10 => "DEBUG",
        _ => "TRACE",
    }
}

static HOST: OnceLock<Arc<AgentHost>> = OnceLock::new();

/// Install the process's host services. Call once, before the interpreter
/// starts; a second call returns the host already installed as the error.
pub fn install(host: AgentHost) -> Result<Arc<AgentHost>, Arc<AgentHost>> {
    let host = Arc::new(host);
    match HOST.set(host.clone()) {
        Ok(()) => Ok(host),
        Err(_) => Err(HOST.get().cloned().expect("set failed, so a host is installed")),
    }
}

/// The installed host, if any.
#[inline]
pub fn host() -> Option<&'static Arc<AgentHost>> {
    HOST.get()
}
