//! Loading, reloading and unloading checks: their configuration (the
//! configuration directory's, else a system check's default), the load job,
//! load errors, and the reload tick.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::runs::{Home, Instance};
use super::{emit, Scheduler};
use crate::check::{check_id, forget_check_modules, instantiate, load_check_class, load_check_class_from, LoadError};
use crate::config::{check_config_files, discover_check_names, load_check_configs, CheckConfig, ConfigError};
use crate::containment::RunScope;
use crate::isolation::{self, Isolation};
use crate::process::wire::WireConfig;
use crate::sinks::{self, LoadFailure, Report};
use crate::system;
use crate::value::Value;
use pyhost::{JobError, JobHandle, JobOptions, Py, Python, WorkerPool};

/// What the files of a check looked like: (path, modification time and size).
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

pub(super) fn stamp(conf_dir: &Path, checks_dir: &Path, name: &str) -> Stamp {
    let mut files = vec![checks_dir.join(format!("{name}.py"))];
    files.extend(check_config_files(conf_dir, name).unwrap_or_default());
    files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (p, meta)
        })
        .collect()
}

pub(super) struct CheckEntry {
    stamp: Stamp,
    /// The check's own interpreter, if it has one (kept across reloads).
    pub(super) own: Option<Arc<WorkerPool>>,
    pub(super) instances: Vec<Instance>,
    /// The load error, while the check cannot run, and when to report it again.
    broken: Option<(LoadError, Instant, Duration)>,
}

/// One instance created by a load job: its check id, object (`None`: it
/// lives in a worker process) and interval.
type NewInstance = (String, Option<Py>, Duration);

/// What a load job produces.
struct Loaded {
    /// The module the class came from, or why the check could not load.
    module: Result<String, LoadError>,
    /// The module's `__version__`.
    version: Option<String>,
    instances: Vec<(usize, Result<NewInstance, LoadError>)>,
}

pub(super) fn interval_of(instance: &Value, init_config: &Value, default: Duration) -> Duration {
    let secs = |v: &Value| {
        v.get("min_collection_interval")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s > 0.0)
    };
    secs(instance)
        .or_else(|| secs(init_config))
        .map_or(default, Duration::from_secs_f64)
}

/// What to load: the check, its configuration, and the module of a system
/// check (`None`: rtloader's lookup, `datadog_checks.NAME` then `NAME`).
struct LoadSpec {
    name: String,
    configs: Vec<CheckConfig>,
    module: Option<&'static str>,
    fresh: bool,
    default: Duration,
}

fn load_in_python(py: Python<'_>, spec: &LoadSpec) -> Loaded {
    let failed = |e| Loaded {
        module: Err(e),
        version: None,
        instances: Vec::new(),
    };
    let name = spec.name.as_str();
    if spec.fresh {
        if let Err(e) = forget_check_modules(py, name) {
            return failed(LoadError {
                message: format!("could not unload module '{name}': {e}"),
                traceback: None,
            });
        }
    }
    let class = match spec.module {
        Some(module) => load_check_class_from(py, name, module),
        None => load_check_class(py, name),
    };
    let class = match class {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let mut instances = Vec::new();
    let mut index = 0;
    for config in &spec.configs {
        for instance in &config.instances {
            let id = check_id(name, instance, &config.init_config);
            let interval = interval_of(instance, &config.init_config, spec.default);
            let r = instantiate(py, &class, &config.init_config, instance, &id)
                .map(|obj| (id, Some(obj.unbind()), interval));
            instances.push((index, r));
            index += 1;
        }
    }
    Loaded {
        module: Ok(class.module_name.clone()),
        version: class.version.clone(),
        instances,
    }
}

/// End a check's own interpreter on another thread (its pool's shutdown
/// waits for the thread to end the interpreter).
fn shut_down_later(pool: Arc<WorkerPool>) {
    let _ = std::thread::Builder::new()
        .name("pyhost-interp-end".into())
        .spawn(move || drop(pool));
}

impl Scheduler {
    /// The checks to run: those configured under the configuration
    /// directory and the system checks, or only the one asked for.
    pub(super) fn check_names(&self) -> io::Result<Vec<String>> {
        if let Some(only) = &self.opts.only {
            return Ok(vec![only.clone()]);
        }
        let mut names = match discover_check_names(&self.opts.conf_dir) {
            Ok(n) => n,
            // No configuration directory: the system checks still run.
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.opts.system_checks => Vec::new(),
            Err(e) => return Err(e),
        };
        if self.opts.system_checks {
            for s in system::CHECKS {
                if !names.iter().any(|n| n == s.name) {
                    names.push(s.name.to_string());
                }
            }
            names.sort();
        }
        Ok(names)
    }

    /// The check's configuration: the configuration directory's, else a
    /// system check's default (`conf.yaml.default`, replaced by any file of
    /// the user's).
    fn configs(&self, name: &str) -> Result<(Vec<CheckConfig>, Option<&'static str>), ConfigError> {
        let system = system::find(name);
        // The default configuration serves when the system checks are on
        // (or this one is asked for by name) and the user has none.
        let defaults = self.opts.system_checks || self.opts.only.is_some();
        let configs = match system {
            Some(s)
                if defaults
                    && check_config_files(&self.opts.conf_dir, name)
                        .unwrap_or_default()
                        .is_empty() =>
            {
                vec![s.default_config()?]
            }
            _ => load_check_configs(&self.opts.conf_dir, name)?,
        };
        // The Agent's loaders: a core check wins unless `loader: python`.
        let module = system
            .filter(|_| !system::wants_python_loader(&configs))
            .map(|s| s.module);
        Ok((configs, module))
    }

    /// Load (or reload) check `name` from its configuration.
    pub(super) fn load(&mut self, name: &str, reload: bool) {
        let stamp = stamp(&self.opts.conf_dir, &self.opts.checks_dir, name);
        let mut own = None;
        if let Some(mut old) = self.checks.remove(name) {
            own = old.own.take();
            self.retire(old.instances);
        }
        let mut entry = CheckEntry {
            stamp,
            own,
            instances: Vec::new(),
            broken: None,
        };
        let (configs, module) = match self.configs(name) {
            Ok(c) => c,
            Err(e) => {
                let err = LoadError {
                    message: format!("invalid configuration: {e}"),
                    traceback: None,
                };
                self.mark_broken(name, &mut entry, err, reload, self.opts.default_interval);
                self.checks.insert(name.to_string(), entry);
                return;
            }
        };
        let default = self.opts.default_interval;
        let first_interval = configs
            .iter()
            .flat_map(|c| c.instances.iter().map(move |i| interval_of(i, &c.init_config, default)))
            .next()
            .unwrap_or(default);
        let mut fallback = None;
        if self.opts.isolation == Isolation::Subinterpreter && entry.own.is_none() {
            match isolation::own_interpreter(name, self.opts.check_timeout) {
                Ok(pool) => entry.own = Some(Arc::new(pool)),
                Err(e) => fallback = Some(format!("no sub-interpreter could be created: {e}")),
            }
        }
        let spec = Arc::new(LoadSpec {
            name: name.to_string(),
            configs,
            module,
            fresh: reload,
            default,
        });
        let mut result = if self.procs.is_some() {
            Ok(self.load_remote(&spec))
        } else {
            self.load_job(entry.own.as_deref(), &spec)
        };
        if let (Ok(l), Some(_)) = (&result, &entry.own) {
            if let Err(e) = &l.module {
                if isolation::refuses_subinterpreters(e) {
                    // Something the check imports cannot live in a
                    // sub-interpreter: run it in the main one, for good.
                    fallback = Some(e.message.clone());
                    if let Some(pool) = entry.own.take() {
                        shut_down_later(pool);
                    }
                    result = self.load_job(None, &spec);
                }
            }
        }
        let pool = entry.own.clone().unwrap_or_else(|| Arc::clone(&self.pool));
        let interpreter = match (&self.procs, &entry.own) {
            (Some(_), _) => "process",
            (None, Some(_)) => "subinterpreter",
            (None, None) => "main",
        };
        let loaded = match result {
            Ok(l) => l,
            Err(e) => {
                let message = match e {
                    JobError::TimedOut => {
                        format!("loading timed out after {:?}", self.opts.check_timeout)
                    }
                    e => format!("loading failed: {e}"),
                };
                let err = LoadError {
                    message,
                    traceback: None,
                };
                self.mark_broken(name, &mut entry, err, reload, first_interval);
                self.checks.insert(name.to_string(), entry);
                return;
            }
        };
        match loaded.module {
            Err(err) => self.mark_broken(name, &mut entry, err, reload, first_interval),
            Ok(module) => {
                let mut failed = Vec::new();
                let configs: Vec<&Value> = spec.configs.iter().flat_map(|c| &c.instances).collect();
                for (index, r) in loaded.instances {
                    match r {
                        Ok((id, object, interval)) => {
                            // The Agent's `empty_default_hostname`: submissions
                            // without a hostname stay without one.
                            let empty = configs
                                .get(index)
                                .and_then(|i| i.get("empty_default_hostname"))
                                .and_then(Value::as_bool);
                            self.host
                                .aggregator
                                .set_empty_default_hostname(&id, empty == Some(true));
                            let home = match object {
                                Some(object) => Home::Local {
                                    pool: Arc::clone(&pool),
                                    object: Arc::new(object),
                                },
                                None => Home::Process,
                            };
                            entry.instances.push(Instance::new(name, home, index, id, interval))
                        }
                        Err(e) => failed.push((index, e)),
                    }
                }
                let report = Report::Loaded(sinks::Loaded {
                    check: name,
                    module: &module,
                    version: loaded.version.as_deref(),
                    instances: entry.instances.len(),
                    reload,
                    interpreter,
                    fallback: fallback.as_deref(),
                });
                emit(&mut self.sinks, &report);
                for (index, e) in &failed {
                    let report = Report::LoadError(LoadFailure {
                        check: name,
                        instance: Some(*index),
                        error: e,
                        reload,
                    });
                    emit(&mut self.sinks, &report);
                }
            }
        }
        self.checks.insert(name.to_string(), entry);
    }

    /// Load a check in its worker process (`--isolation process`), bounded
    /// by the check timeout there.
    fn load_remote(&self, spec: &LoadSpec) -> Loaded {
        let procs = self.procs.as_ref().expect("called with worker processes");
        let configs = spec.configs.iter().map(WireConfig::from).collect();
        let loaded = procs.load(&spec.name, spec.module, configs, spec.fresh, self.opts.check_timeout);
        let remote = match loaded {
            Ok(l) => l,
            Err(e) => {
                return Loaded {
                    module: Err(e),
                    version: None,
                    instances: Vec::new(),
                }
            }
        };
        // The worker numbers instances in the same order: configuration
        // files, then instances in each.
        let intervals = spec.configs.iter().flat_map(|c| {
            c.instances
                .iter()
                .map(move |i| interval_of(i, &c.init_config, spec.default))
        });
        let instances = remote
            .instances
            .into_iter()
            .zip(intervals)
            .enumerate()
            .map(|(index, (id, interval))| (index, id.map(|id| (id, None, interval))))
            .collect();
        Loaded {
            module: Ok(remote.module),
            version: remote.version,
            instances,
        }
    }

    /// Run a check's load job in its own interpreter (`own`), or on the
    /// shared pool, bounded by the check timeout.
    fn load_job(&self, own: Option<&WorkerPool>, spec: &Arc<LoadSpec>) -> Result<Loaded, JobError> {
        let spec = Arc::clone(spec);
        own.unwrap_or(&self.pool)
            .submit_with(JobOptions::new().timeout(self.opts.check_timeout), move |py| {
                let _scope = RunScope::load(&spec.name);
                Ok(load_in_python(py, &spec))
            })
            .and_then(JobHandle::wait)
    }

    fn mark_broken(&mut self, name: &str, entry: &mut CheckEntry, err: LoadError, reload: bool, every: Duration) {
        emit(
            &mut self.sinks,
            &Report::LoadError(LoadFailure {
                check: name,
                instance: None,
                error: &err,
                reload,
            }),
        );
        entry.broken = Some((err, Instant::now() + every, every));
    }

    /// Keep reporting checks that cannot load, once per interval.
    pub(super) fn report_broken(&mut self) {
        let now = Instant::now();
        for (name, entry) in self.checks.iter_mut() {
            if let Some((err, next, every)) = &mut entry.broken {
                if now >= *next {
                    *next = now + *every;
                    emit(
                        &mut self.sinks,
                        &Report::LoadError(LoadFailure {
                            check: name,
                            instance: None,
                            error: err,
                            reload: false,
                        }),
                    );
                }
            }
        }
    }

    /// When a broken check is next reported (only while running until stopped).
    pub(super) fn next_broken_report(&self) -> Option<Instant> {
        if self.opts.limit.is_some() {
            return None;
        }
        self.checks
            .values()
            .filter_map(|c| c.broken.as_ref().map(|b| b.1))
            .min()
    }

    /// Reload changed checks, load new ones, unschedule removed ones.
    pub(super) fn poll_changes(&mut self) {
        let Ok(names) = self.check_names() else {
            return;
        };
        let gone: Vec<String> = self.checks.keys().filter(|k| !names.contains(k)).cloned().collect();
        for name in gone {
            if let Some(mut entry) = self.checks.remove(&name) {
                // Its interpreter ends once the last run in it is reported.
                drop(entry.own.take());
                if let Some(procs) = &self.procs {
                    procs.unload(&name);
                }
                self.retire(entry.instances);
                emit(&mut self.sinks, &Report::Unloaded { check: &name });
            }
        }
        for name in names {
            match self.checks.get(&name) {
                None => self.load(&name, false),
                Some(entry) => {
                    if entry.stamp != stamp(&self.opts.conf_dir, &self.opts.checks_dir, &name) {
                        self.load(&name, true);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::DEFAULT_INTERVAL;

    #[test]
    fn interval_precedence() {
        let mut inst = Value::object();
        let mut init = Value::object();
        let d = DEFAULT_INTERVAL;
        assert_eq!(interval_of(&inst, &Value::Null, d), d);
        init.insert("min_collection_interval", 30i64);
        assert_eq!(interval_of(&inst, &init, d), Duration::from_secs(30));
        inst.insert("min_collection_interval", 1.5);
        assert_eq!(interval_of(&inst, &init, d), Duration::from_millis(1500));
        inst.insert("min_collection_interval", 0i64);
        assert_eq!(
            interval_of(&inst, &init, d),
            Duration::from_secs(30),
            "0 is not an interval"
        );
    }

    #[test]
    fn stamp_sees_changes() {
        let dir = crate::test_util::temp_path("stamp");
        let conf = dir.join("conf.d");
        let checks = dir.join("checks.d");
        std::fs::create_dir_all(conf.join("x.d")).unwrap();
        std::fs::create_dir_all(&checks).unwrap();
        std::fs::write(conf.join("x.d/conf.yaml"), "instances: [{}]\n").unwrap();
        std::fs::write(checks.join("x.py"), "a = 1\n").unwrap();
        let s1 = stamp(&conf, &checks, "x");
        assert_eq!(s1.len(), 2);
        assert!(s1.iter().all(|(_, m)| m.is_some()));
        assert_eq!(s1, stamp(&conf, &checks, "x"));
        std::fs::write(checks.join("x.py"), "a = 22\n").unwrap();
        assert_ne!(s1, stamp(&conf, &checks, "x"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
