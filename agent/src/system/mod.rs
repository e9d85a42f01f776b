//! The system checks shipped with the agent, as the Datadog Agent ships its
//! core checks: `cpu`, `memory` (with `system.swap.*`), `load`, `disk`,
//! `io`, `network`, `uptime` and `file_handle`, with the Agent's metric
//! names, types and tags, read from `/proc` and `statvfs`.
//!
//! **Python, not Rust.** They are Python checks in the embedded base
//! package (`agent/python/checks/system/`, installed as `checks.system.*`
//! in every interpreter): plugins like any other, so they go through the
//! same loader, lifecycle, aggregator and outputs as a user's check, run in
//! every isolation mode (a sub-interpreter each, or the shared one), show
//! in `check` and the status page, and serve as readable examples of what
//! a check does. What they need from the system, Python has (`/proc` files,
//! `os.statvfs`, `os.sysconf`). A run costs about a millisecond every 15
//! seconds; Rust would save nothing anyone could see, and would need a
//! second check interface beside the Python one.
//!
//! **Configuration**: each has a default configuration
//! (`conf.d/NAME.d/conf.yaml.default` beside this file, compiled in), the
//! Agent's `conf.yaml.default` convention: a configuration for the same
//! check in the user's configuration directory replaces it. As with the
//! Agent's loaders, the shipped check wins over a custom check of the same
//! name unless the configuration says `loader: python` (in `init_config`
//! or an instance).

use std::path::Path;

use crate::config::{parse_check_config, CheckConfig, ConfigError};
use crate::value::Value;

/// A system check: its name, its module in the embedded package, and its
/// default configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemCheck {
    /// The check's name (`cpu`).
    pub name: &'static str,
    /// Its module (`checks.system.cpu`).
    pub module: &'static str,
    /// Its `conf.yaml.default`.
    pub default_conf: &'static str,
}

macro_rules! system_check {
    ($name:literal) => {
        SystemCheck {
            name: $name,
            module: concat!("checks.system.", $name),
            default_conf: include_str!(concat!("conf.d/", $name, ".d/conf.yaml.default")),
        }
    };
}

/// Every system check, by name.
pub const CHECKS: &[SystemCheck] = &[
    system_check!("cpu"),
    system_check!("disk"),
    system_check!("file_handle"),
    system_check!("io"),
    system_check!("load"),
    system_check!("memory"),
    system_check!("network"),
    system_check!("uptime"),
];

/// The system check called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static SystemCheck> {
    CHECKS.iter().find(|c| c.name == name)
}

impl SystemCheck {
    /// Where the default configuration is said to come from (in errors
    /// and reports).
    pub fn default_path(&self) -> String {
        format!("<pyhost>/conf.d/{}.d/conf.yaml.default", self.name)
    }

    /// The default configuration, parsed.
    pub fn default_config(&self) -> Result<CheckConfig, ConfigError> {
        parse_check_config(self.name, self.default_conf, Path::new(&self.default_path()))
    }
}

/// Whether a configuration asks for the Python loader (`loader: python`
/// in `init_config` or an instance), i.e. a custom check or an installed
/// integration instead of the shipped system check of the same name.
pub fn wants_python_loader(configs: &[CheckConfig]) -> bool {
    let python = |v: &Value| v.get("loader").and_then(Value::as_str) == Some("python");
    configs
        .iter()
        .any(|c| python(&c.init_config) || c.instances.iter().any(python))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_configuration_parses() {
        for c in CHECKS {
            let conf = c.default_config().unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_eq!(conf.instances.len(), 1, "{}", c.name);
            assert_eq!(c.module, format!("checks.system.{}", c.name));
        }
        let network = find("network").unwrap().default_config().unwrap();
        assert_eq!(
            network.instances[0]
                .get("excluded_interfaces")
                .map(Value::to_string)
                .as_deref(),
            Some(r#"["lo","lo0"]"#)
        );
        assert!(find("nope").is_none());
    }

    #[test]
    fn loader_python_opts_out() {
        let mut c = find("cpu").unwrap().default_config().unwrap();
        assert!(!wants_python_loader(std::slice::from_ref(&c)));
        c.instances[0].insert("loader", "python");
        assert!(wants_python_loader(&[c]));
    }
}
