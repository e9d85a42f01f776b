//! `--config FILE`: the agent's own settings, in the Datadog Agent's
//! `datadog.yaml` layout.
//!
//! Every key is kept and served to the checks by
//! `datadog_agent.get_config(key)` (unknown keys included, as the Agent
//! does; `proxy: {http, https, no_proxy}`, `tags` and the like are left as
//! data for the checks). The program itself reads:
//!
//! | key | meaning | command-line flag that overrides it |
//! |---|---|---|
//! | `hostname` | what `get_hostname()` returns | `--hostname` |
//! | `confd_path` | the configuration directory | `--conf-dir` |
//! | `additional_checksd` | the custom checks directory | `--checks-dir` |
//! | `run_path` | the data directory (persistent cache) | `--data-dir` |
//! | `check_runners` | worker threads | `--workers` |
//! | `min_collection_interval` | the interval of instances that set none | |
//!
//! A file that cannot be read, is not YAML, or has a known key of the
//! wrong type is a start-up error naming the file and the line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{parse_yaml, ConfigError, HostConfig};
use crate::setup::HostSetup;
use crate::value::Value;

/// A loaded `datadog.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    path: PathBuf,
    text: String,
    values: Value,
}

impl AgentSettings {
    /// Read and check `path`. The error is one line naming the file and,
    /// where it can, the line (`FILE:LINE: ...`).
    pub fn load(path: &Path) -> Result<AgentSettings, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        AgentSettings::parse(path, text)
    }

    /// [`load`](Self::load) from text already read.
    pub fn parse(path: &Path, text: String) -> Result<AgentSettings, String> {
        let values = match parse_yaml(&text) {
            Ok(Value::Null) => Value::object(),
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return Err(format!(
                    "{}:1: the settings must be a mapping of keys to values (like the Agent's datadog.yaml)",
                    path.display()
                ))
            }
            Err(ConfigError::Yaml {
                message, line, column, ..
            }) => return Err(format!("{}:{line}:{column}: invalid YAML: {message}", path.display())),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let settings = AgentSettings {
            path: path.to_owned(),
            text,
            values,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value of a top-level key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key).filter(|v| !matches!(v, Value::Null))
    }

    /// `FILE:LINE: KEY ...` for a key's error (line 1 if the key is not
    /// found at the start of a line, e.g. in a flow mapping).
    fn key_error(&self, key: &str, what: &str) -> String {
        let line = self
            .text
            .lines()
            .position(|l| {
                l.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or(1, |i| i + 1);
        let shown = self.get(key).map_or_else(|| "null".to_string(), Value::to_string);
        format!("{}:{line}: `{key}` {what}, got {shown}", self.path.display())
    }

    fn validate(&self) -> Result<(), String> {
        for key in ["hostname", "confd_path", "additional_checksd", "run_path"] {
            if self.get(key).is_some_and(|v| v.as_str().is_none()) {
                return Err(self.key_error(key, "must be a string"));
            }
        }
        self.check_runners()?;
        self.min_collection_interval()?;
        if self
            .get("enable_metadata_collection")
            .is_some_and(|v| !matches!(v, Value::Bool(_)))
        {
            return Err(self.key_error("enable_metadata_collection", "must be true or false"));
        }
        if let Some(tags) = self.get("tags") {
            let ok = tags.as_array().is_some_and(|a| a.iter().all(|t| t.as_str().is_some()));
            if !ok {
                return Err(self.key_error("tags", "must be a list of strings"));
            }
        }
        if self.get("proxy").is_some_and(|v| !matches!(v, Value::Object(_))) {
            return Err(self.key_error("proxy", "must be a mapping (http, https, no_proxy)"));
        }
        Ok(())
    }

    /// `check_runners`: the number of workers.
    pub fn check_runners(&self) -> Result<Option<u16>, String> {
        match self.get("check_runners") {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=i64::from(u16::MAX)).contains(n))
                .map(|n| Some(n as u16))
                .ok_or_else(|| self.key_error("check_runners", "must be a whole number from 1 to 65535")),
        }
    }

    /// `min_collection_interval`: the default interval, in seconds.
    pub fn min_collection_interval(&self) -> Result<Option<Duration>, String> {
        match self.get("min_collection_interval") {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(|s| Some(Duration::from_secs_f64(s)))
                .ok_or_else(|| self.key_error("min_collection_interval", "must be a positive number of seconds")),
        }
    }

    fn path_of(&self, key: &str) -> Option<PathBuf> {
        self.get(key).and_then(Value::as_str).map(PathBuf::from)
    }

    /// Fill what the command line left unset: hostname and directories.
    pub fn apply_to(&self, setup: &mut HostSetup) {
        if setup.hostname.is_none() {
            setup.hostname = self.get("hostname").and_then(Value::as_str).map(str::to_owned);
        }
        if setup.conf_dir.is_none() {
            setup.conf_dir = self.path_of("confd_path");
        }
        if setup.checks_dir.is_none() {
            setup.checks_dir = self.path_of("additional_checksd");
        }
        if setup.data_dir.is_none() {
            setup.data_dir = self.path_of("run_path");
        }
    }

    /// Every key of the file over `config` (the Agent's defaults), unknown
    /// keys included.
    pub fn merge_into(&self, config: &mut HostConfig) {
        // Checked to be a mapping when loaded.
        let _ = config.merge(self.values.clone());
    }
}

/// The host configuration the checks see: the Agent's defaults, the
/// settings file's keys, then what the program resolved (hostname, data
/// directory, workers, default interval) so `get_config` tells the truth.
pub fn host_config(
    setup: &HostSetup,
    settings: Option<&AgentSettings>,
    program: &str,
    workers: u16,
    interval: Duration,
) -> std::io::Result<HostConfig> {
    let data_dir = setup.data_dir(program);
    std::fs::create_dir_all(&data_dir)?;
    let hostname = setup.hostname();
    let mut config = HostConfig::with_defaults(&hostname, &data_dir);
    if let Some(s) = settings {
        s.merge_into(&mut config);
    }
    config.set("hostname", hostname.as_str());
    config.set("run_path", data_dir.to_string_lossy().as_ref());
    config.set("check_runners", i64::from(workers));
    if interval.subsec_nanos() == 0 {
        config.set("min_collection_interval", interval.as_secs() as i64);
    } else {
        config.set("min_collection_interval", interval.as_secs_f64());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AgentSettings, String> {
        AgentSettings::parse(Path::new("/etc/pyhost/datadog.yaml"), text.to_string())
    }

    #[test]
    fn reads_the_agent_keys_and_keeps_the_others() {
        let s = parse(
            "hostname: web-1\ntags:\n  - env:prod\ncheck_runners: 2\nmin_collection_interval: 30\n\
             confd_path: /etc/x/conf.d\nproxy:\n  https: http://proxy:3128\n  no_proxy: [localhost]\n\
             enable_metadata_collection: false\nmy_company_key: {a: 1}\n",
        )
        .unwrap();
        assert_eq!(s.check_runners().unwrap(), Some(2));
        assert_eq!(s.min_collection_interval().unwrap(), Some(Duration::from_secs(30)));
        let mut setup = HostSetup {
            hostname: Some("from-flag".into()),
            ..HostSetup::default()
        };
        s.apply_to(&mut setup);
        assert_eq!(setup.hostname.as_deref(), Some("from-flag"), "the flag wins");
        assert_eq!(setup.conf_dir.as_deref(), Some(Path::new("/etc/x/conf.d")));
        assert_eq!(setup.checks_dir, None);
        let dir = crate::test_util::temp_path("settings");
        setup.data_dir = Some(dir.clone());
        let c = host_config(&setup, Some(&s), "t", 3, Duration::from_secs(30)).unwrap();
        assert_eq!(c.hostname(), Some("from-flag"));
        assert_eq!(c.get("check_runners"), Some(&Value::Int(3)));
        assert_eq!(c.get("proxy.https").and_then(Value::as_str), Some("http://proxy:3128"));
        assert_eq!(c.get("enable_metadata_collection"), Some(&Value::Bool(false)));
        assert_eq!(c.get("my_company_key.a"), Some(&Value::Int(1)));
        assert_eq!(c.get("tags").map(Value::to_string).as_deref(), Some(r#"["env:prod"]"#));
        assert_eq!(c.get("run_path").and_then(Value::as_str), Some(dir.to_str().unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = parse("hostname: a\ntags: [a, b\n").unwrap_err();
        assert!(
            e.starts_with("/etc/pyhost/datadog.yaml:") && e.contains("invalid YAML"),
            "{e}"
        );
        let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
        assert!(line >= 2, "{e}");
        assert_eq!(
            parse("hostname: a\n\ncheck_runners: many\n").unwrap_err(),
            "/etc/pyhost/datadog.yaml:3: `check_runners` must be a whole number from 1 to 65535, got \"many\""
        );
        assert!(parse("tags: env:prod\n")
            .unwrap_err()
            .starts_with("/etc/pyhost/datadog.yaml:1: `tags`"));
        assert!(parse("- a\n").unwrap_err().contains("must be a mapping"));
        assert_eq!(parse("").unwrap().get("hostname"), None);
        let e = AgentSettings::load(Path::new("/nonexistent/datadog.yaml")).unwrap_err();
        assert!(e.starts_with("/nonexistent/datadog.yaml: "), "{e}");
    }
}
