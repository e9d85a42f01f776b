//! The Python base package shipped inside the library: `checks`
//! (`from checks import AgentCheck`), its fallback `checks.stubs`,
//! `checks._guards` (the host's guards: stdout to the log, read-only
//! built-in modules, `Popen` children registered; see
//! [`containment`](crate::containment)) and the system checks
//! `checks.system.*` ([`crate::system`]), compiled into the binary from
//! `python/checks/` so checks run with no Python package installed.

use pyhost::{Bound, Python, Result};

/// One module of the embedded base package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedModule {
    /// The dotted module name.
    pub name: &'static str,
    /// The file name its code objects and tracebacks carry.
    pub filename: &'static str,
    /// Its source.
    pub source: &'static str,
    /// True for a package (`__init__.py`).
    pub is_package: bool,
}

/// An embedded module from its dotted name and its file under
/// `python/checks/` (`package` for an `__init__.py`).
macro_rules! embedded {
    ($name:literal, $file:literal) => {
        embedded!($name, $file, false)
    };
    ($name:literal, $file:literal, package) => {
        embedded!($name, $file, true)
    };
    ($name:literal, $file:literal, $is_package:expr) => {
        EmbeddedModule {
            name: $name,
            filename: concat!("<pyhost>/checks/", $file),
            source: include_str!(concat!("../python/checks/", $file)),
            is_package: $is_package,
        }
    };
}

/// The package's modules, in installation order: `checks.stubs` first,
/// because `checks` imports it when the host modules are missing; a
/// package before its modules.
pub const MODULES: &[EmbeddedModule] = &[
    embedded!("checks.stubs", "stubs.py"),
    embedded!("checks", "__init__.py", package),
    embedded!("checks._guards", "_guards.py"),
    embedded!("checks.system", "system/__init__.py", package),
    embedded!("checks.system.cpu", "system/cpu.py"),
    embedded!("checks.system.disk", "system/disk.py"),
    embedded!("checks.system.ethtool", "system/ethtool.py"),
    embedded!("checks.system.file_handle", "system/file_handle.py"),
    embedded!("checks.system.io", "system/io.py"),
    embedded!("checks.system.load", "system/load.py"),
    embedded!("checks.system.memory", "system/memory.py"),
    embedded!("checks.system.network", "system/network.py"),
    embedded!("checks.system.uptime", "system/uptime.py"),
];

/// Install the base package in `sys.modules`, so `import checks` works
/// without files, and register the sources with `linecache` so tracebacks
/// through the base show their lines. Install it after the host modules
/// are importable: the package decides `AGENT_RUNNING` when it runs.
/// A module that fails to run is removed from `sys.modules` again. Then
/// the guards are installed in this interpreter (`checks._guards.install`).
pub fn install(py: Python<'_>) -> Result<Bound<'_>> {
    let linecache = py.import("linecache")?.getattr("cache")?;
    let sys_modules = py.import("sys")?.getattr("modules")?;
    for m in MODULES {
        let lines: Vec<String> = m.source.split_inclusive('\n').map(str::to_owned).collect();
        linecache.set_item(m.filename, (m.source.len(), (), lines, m.filename))?;
        let module = py.module_from_code(m.source, m.filename, m.name)?;
        if m.is_package {
            module.setattr("__path__", Vec::<String>::new())?;
            module.setattr("__package__", m.name)?;
        } else if let Some((parent, _)) = m.name.rsplit_once('.') {
            module.setattr("__package__", parent)?;
        }
    }
    // `checks.stubs` is an attribute of `checks`, as an import would make it.
    for m in MODULES {
        if let Some((parent, leaf)) = m.name.rsplit_once('.') {
            sys_modules
                .get_item(parent)?
                .setattr(leaf, sys_modules.get_item(m.name)?)?;
        }
    }
    crate::containment::install_in_interpreter(py, &sys_modules.get_item("checks._guards")?)?;
    sys_modules.get_item("checks")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_embedded_and_ordered() {
        let names: Vec<&str> = MODULES.iter().map(|m| m.name).collect();
        assert_eq!(
            names[..4],
            ["checks.stubs", "checks", "checks._guards", "checks.system"]
        );
        for s in crate::system::CHECKS {
            let m = MODULES.iter().find(|m| m.name == s.module).expect(s.module);
            assert!(m.source.contains("(AgentCheck):"), "{}", s.module);
        }
        let pkg = &MODULES[1];
        assert!(pkg.is_package && pkg.source.contains("class AgentCheck("));
        // The package must reach its fallback by absolute import: the
        // embedded package is not file-based, so a relative import could not
        // resolve before `__path__` is set.
        assert!(pkg
            .source
            .contains("from checks.stubs import aggregator, datadog_agent"));
        assert!(!pkg.source.contains("from .stubs"));
        assert!(MODULES[0].source.contains("class AggregatorStub("));
    }
}
