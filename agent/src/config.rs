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
//! **The host configuration** ([`HostConfig`]) is a key -> [`Value`] map
//! served to `datadog_agent.get_config(key)` (converted straight to Python
//! objects), with the Agent's defaults for the keys `datadog-checks-base`
//! reads.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::value::Value;

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

/// The files holding `name`'s configuration under `conf_dir`, by the
/// Agent's rules (see the module docs), sorted by path. Missing
/// directories simply contribute nothing.
pub fn check_config_files(conf_dir: &Path, name: &str) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let d = conf_dir.join(format!("{name}.d"));
    if d.is_dir() {
        let mut regular = Vec::new();
        let mut defaults = Vec::new();
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let fname = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_file() {
                continue;
            }
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
        if f.is_file() {
            files.push(f);
        }
    }
    files.sort();
    Ok(files)
}

/// The names of all checks configured under `conf_dir`, sorted.
pub fn discover_check_names(conf_dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(conf_dir)? {
        let entry = entry?;
        let fname = entry.file_name().to_string_lossy().into_owned();
        let name = if let Some(n) = fname.strip_suffix(".d") {
            if !entry.path().is_dir() {
                continue;
            }
            n.to_owned()
        } else if let Some(n) = fname.strip_suffix(".yaml").or_else(|| fname.strip_suffix(".yml")) {
            n.to_owned()
        } else {
            continue;
        };
        if !name.is_empty() && !check_config_files(conf_dir, &name)?.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
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

/// Parse one configuration file's text.
pub fn parse_check_config(name: &str, text: &str, source: &Path) -> Result<CheckConfig, ConfigError> {
    let doc = yaml::parse(text).map_err(|e| e.at(source))?;
    check_config_from_value(name, doc, source)
}

/// Load every configuration file of `name` under `conf_dir`. No file is an
/// `Invalid` error naming the places looked at.
pub fn load_check_configs(conf_dir: &Path, name: &str) -> Result<Vec<CheckConfig>, ConfigError> {
    let files = check_config_files(conf_dir, name).map_err(|error| ConfigError::Io {
        path: conf_dir.to_owned(),
        error,
    })?;
    if files.is_empty() {
        return Err(ConfigError::Invalid {
            path: conf_dir.to_owned(),
            message: format!("no configuration for check {name:?} (looked for {name}.d/*.yaml and {name}.yaml)"),
        });
    }
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).map_err(|error| ConfigError::Io { path: f.clone(), error })?;
            parse_check_config(name, &text, f)
        })
        .collect()
}

/// Parse a YAML document into a [`Value`] with PyYAML `safe_load`'s
/// resolution (see the module docs).
pub fn parse_yaml(text: &str) -> Result<Value, ConfigError> {
    yaml::parse(text).map_err(|e| e.at(Path::new("<string>")))
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
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: path.to_owned(),
            error,
        })?;
        let doc = yaml::parse(&text).map_err(|e| e.at(path))?;
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

// ---- YAML ---------------------------------------------------------------------

mod yaml {
    use std::collections::HashMap;
    use std::path::Path;

    use yaml_rust2::parser::{Event, Parser, Tag};
    use yaml_rust2::scanner::{Marker, TScalarStyle};

    use super::ConfigError;
    use crate::value::Value;

    pub(super) struct YamlError {
        message: String,
        line: usize,
        column: usize,
    }

    impl YamlError {
        pub(super) fn at(self, path: &Path) -> ConfigError {
            ConfigError::Yaml {
                path: path.to_owned(),
                message: self.message,
                line: self.line,
                column: self.column,
            }
        }
    }

    fn err(message: impl Into<String>, mark: Marker) -> YamlError {
        YamlError {
            message: message.into(),
            line: mark.line(),
            column: mark.col() + 1,
        }
    }

    const MAX_DEPTH: usize = 256;

    /// One document (empty text is `Null`); several documents are an
    /// error, as in `yaml.safe_load`.
    pub(super) fn parse(text: &str) -> Result<Value, YamlError> {
        let mut b = Builder {
            p: Parser::new_from_str(text),
            anchors: HashMap::new(),
        };
        let mut doc = None;
        loop {
            let (ev, mark) = b.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart => {
                    if doc.is_some() {
                        return Err(err("expected a single document in the stream", mark));
                    }
                    let (ev, mark) = b.next()?;
                    doc = Some(b.node(ev, mark, 0)?);
                }
                other => return Err(err(format!("unexpected {other:?}"), mark)),
            }
        }
        Ok(doc.unwrap_or(Value::Null))
    }

    struct Builder<'a> {
        p: Parser<std::str::Chars<'a>>,
        anchors: HashMap<usize, Value>,
    }

    impl Builder<'_> {
        fn next(&mut self) -> Result<(Event, Marker), YamlError> {
            self.p.next_token().map_err(|e| YamlError {
                message: e.info().to_owned(),
                line: e.marker().line(),
                column: e.marker().col() + 1,
            })
        }

        fn remember(&mut self, anchor: usize, v: &Value) {
            if anchor != 0 {
                self.anchors.insert(anchor, v.clone());
            }
        }

        fn node(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<Value, YamlError> {
            if depth > MAX_DEPTH {
                return Err(err("nesting too deep", mark));
            }
            match ev {
                Event::Alias(id) => self.anchors.get(&id).cloned().ok_or_else(|| err("unknown alias", mark)),
                Event::Scalar(text, style, anchor, tag) => {
                    let v = scalar(&text, style, tag.as_ref(), mark)?;
                    self.remember(anchor, &v);
                    Ok(v)
                }
                Event::SequenceStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "seq", mark)?;
                    let mut items = Vec::new();
                    loop {
                        let (ev, m) = self.next()?;
                        if ev == Event::SequenceEnd {
                            break;
                        }
                        items.push(self.node(ev, m, depth + 1)?);
                    }
                    let v = Value::Array(items);
                    self.remember(anchor, &v);
                    Ok(v)
                }
                Event::MappingStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "map", mark)?;
                    let v = self.mapping(depth)?;
                    self.remember(anchor, &v);
                    Ok(v)
                }
                other => Err(err(format!("unexpected {other:?}"), mark)),
            }
        }

        fn mapping(&mut self, depth: usize) -> Result<Value, YamlError> {
            let mut own = Value::object();
            // Maps merged in with `<<`, in order of appearance.
            let mut merges: Vec<Vec<(String, Value)>> = Vec::new();
            loop {
                let (kev, kmark) = self.next()?;
                if kev == Event::MappingEnd {
                    break;
                }
                let is_merge = matches!(&kev, Event::Scalar(t, TScalarStyle::Plain, _, None) if t == "<<");
                let key = self.node(kev, kmark, depth + 1)?;
                let (vev, vmark) = self.next()?;
                let value = self.node(vev, vmark, depth + 1)?;
                if is_merge {
                    match value {
                        Value::Object(p) => merges.push(p),
                        Value::Array(items) => {
                            for it in items {
                                match it {
                                    Value::Object(p) => merges.push(p),
                                    _ => {
                                        return Err(err(
                                            "a merge key (<<) takes a mapping or a list of mappings",
                                            vmark,
                                        ))
                                    }
                                }
                            }
                        }
                        _ => return Err(err("a merge key (<<) takes a mapping or a list of mappings", vmark)),
                    }
                    continue;
                }
                let Some(key) = key.key_text() else {
                    return Err(err("mapping keys must be scalars", kmark));
                };
                own.insert(key, value);
            }
            if merges.is_empty() {
                return Ok(own);
            }
            // PyYAML: the merged maps (earlier ones win), then the map's own keys.
            let mut out = Value::object();
            for m in merges.into_iter().rev() {
                for (k, v) in m {
                    out.insert(k, v);
                }
            }
            if let Value::Object(pairs) = own {
                for (k, v) in pairs {
                    out.insert(k, v);
                }
            }
            Ok(out)
        }
    }

    /// The standard tag's name (`str`, `int`, ...), or an error for others.
    fn std_tag(tag: &Tag, mark: Marker) -> Result<&str, YamlError> {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            Ok(tag.suffix.as_str())
        } else if tag.handle == "!" && tag.suffix.is_empty() {
            // The non-specific tag: a plain string.
            Ok("str")
        } else {
            Err(err(
                format!(
                    "could not determine a constructor for the tag {}{}",
                    tag.handle, tag.suffix
                ),
                mark,
            ))
        }
    }

    fn check_collection_tag(tag: Option<&Tag>, want: &str, mark: Marker) -> Result<(), YamlError> {
        match tag {
            None => Ok(()),
            Some(t) => match std_tag(t, mark)? {
                s if s == want || (want == "map" && (s == "omap" || s == "set")) => Ok(()),
                s => Err(err(format!("tag !!{s} cannot be used on a {want}"), mark)),
            },
        }
    }

    fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>, mark: Marker) -> Result<Value, YamlError> {
        if let Some(t) = tag {
            let bad = |what: &str| err(format!("{text:?} is not a valid {what}"), mark);
            return match std_tag(t, mark)? {
                "str" => Ok(Value::String(text.to_owned())),
                "int" => int_value(text).ok_or_else(|| bad("!!int")),
                "float" => float_value(text)
                    .or_else(|| int_value(text).and_then(|v| v.as_f64().map(Value::Float)))
                    .ok_or_else(|| bad("!!float")),
                "bool" => bool_value(text).ok_or_else(|| bad("!!bool")),
                "null" => Ok(Value::Null),
                "timestamp" => Ok(Value::String(text.to_owned())),
                other => Err(err(
                    format!("could not determine a constructor for the tag !!{other}"),
                    mark,
                )),
            };
        }
        if style != TScalarStyle::Plain {
            return Ok(Value::String(text.to_owned()));
        }
        Ok(resolve_plain(text))
    }

    /// PyYAML's implicit resolvers for a plain scalar.
    pub(super) fn resolve_plain(s: &str) -> Value {
        if let Some(b) = bool_value(s) {
            return b;
        }
        if matches!(s, "" | "~" | "null" | "Null" | "NULL") {
            return Value::Null;
        }
        if is_float(s) {
            if let Some(v) = float_value(s) {
                return v;
            }
        }
        if is_int(s) {
            if let Some(v) = int_value(s) {
                return v;
            }
        }
        Value::String(s.to_owned())
    }

    fn bool_value(s: &str) -> Option<Value> {
        match s {
            "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(Value::Bool(true)),
            "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(Value::Bool(false)),
            _ => None,
        }
    }

    /// A tiny cursor for the resolver patterns.
    struct Cur<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Cur<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }
        fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
            match self.peek() {
                Some(c) if f(c) => {
                    self.i += 1;
                    true
                }
                _ => false,
            }
        }
        fn eat_all(&mut self, f: impl Fn(u8) -> bool) -> usize {
            let start = self.i;
            while self.eat(&f) {}
            self.i - start
        }
        fn sign(&mut self) {
            self.eat(|c| c == b'-' || c == b'+');
        }
        fn done(&self) -> bool {
            self.i == self.b.len()
        }
        fn rest(&self) -> &[u8] {
            &self.b[self.i..]
        }
        /// `(?::[0-5]?[0-9])+`
        fn sexagesimal_groups(&mut self) -> bool {
            let mut n = 0;
            while self.peek() == Some(b':') {
                let save = self.i;
                self.i += 1;
                let d1 = self.peek();
                let d2 = self.b.get(self.i + 1).copied();
                match (d1, d2) {
                    (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => self.i += 2,
                    (Some(b'0'..=b'9'), _) => self.i += 1,
                    _ => {
                        self.i = save;
                        break;
                    }
                }
                n += 1;
            }
            n > 0
        }
        /// `(?:[eE][-+][0-9]+)?`, all or nothing.
        fn opt_exponent(&mut self) {
            let save = self.i;
            if self.eat(|c| c == b'e' || c == b'E') && self.eat(|c| c == b'-' || c == b'+') && self.eat_all(is_d) > 0 {
                return;
            }
            self.i = save;
        }
    }

    fn is_d(c: u8) -> bool {
        c.is_ascii_digit()
    }
    fn is_d_(c: u8) -> bool {
        c.is_ascii_digit() || c == b'_'
    }

    fn is_int(s: &str) -> bool {
        let alt = |f: &dyn Fn(&mut Cur) -> bool| {
            let mut c = Cur { b: s.as_bytes(), i: 0 };
            f(&mut c) && c.done()
        };
        // [-+]?0b[0-1_]+
        alt(&|c| { c.sign(); c.rest().starts_with(b"0b") && { c.i += 2; c.eat_all(|x| x == b'0' || x == b'1' || x == b'_') > 0 } })
            // [-+]?0[0-7_]+
            || alt(&|c| { c.sign(); c.eat(|x| x == b'0') && c.eat_all(|x| (b'0'..=b'7').contains(&x) || x == b'_') > 0 })
            // [-+]?(?:0|[1-9][0-9_]*)
            || alt(&|c| { c.sign(); c.eat(|x| x == b'0') || (c.eat(|x| (b'1'..=b'9').contains(&x)) && { c.eat_all(is_d_); true }) })
            // [-+]?0x[0-9a-fA-F_]+
            || alt(&|c| { c.sign(); c.rest().starts_with(b"0x") && { c.i += 2; c.eat_all(|x| x.is_ascii_hexdigit() || x == b'_') > 0 } })
            // [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
            || alt(&|c| { c.sign(); c.eat(|x| (b'1'..=b'9').contains(&x)) && { c.eat_all(is_d_); c.sexagesimal_groups() } })
    }

    fn is_float(s: &str) -> bool {
        let alt = |f: &dyn Fn(&mut Cur) -> bool| {
            let mut c = Cur { b: s.as_bytes(), i: 0 };
            f(&mut c) && c.done()
        };
        // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        alt(&|c| { c.sign(); c.eat(is_d) && { c.eat_all(is_d_); c.eat(|x| x == b'.') } && { c.eat_all(is_d_); c.opt_exponent(); true } })
            // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
            || alt(&|c| c.eat(|x| x == b'.') && c.eat(is_d) && { c.eat_all(is_d_); c.opt_exponent(); true })
            // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
            || alt(&|c| { c.sign(); c.eat(is_d) && { c.eat_all(is_d_); c.sexagesimal_groups() } && c.eat(|x| x == b'.') && { c.eat_all(is_d_); true } })
            // [-+]?\.(?:inf|Inf|INF)
            || alt(&|c| { c.sign(); matches!(c.rest(), b".inf" | b".Inf" | b".INF") && { c.i = c.b.len(); true } })
            // \.(?:nan|NaN|NAN)
            || matches!(s, ".nan" | ".NaN" | ".NAN")
    }

    /// `construct_yaml_int` (accepts what `is_int` matched, and `!!int` text).
    fn int_value(s: &str) -> Option<Value> {
        let v: String = s.chars().filter(|&c| c != '_').collect();
        let (neg, v) = match v.as_bytes().first()? {
            b'-' => (true, &v[1..]),
            b'+' => (false, &v[1..]),
            _ => (false, &v[..]),
        };
        if v.is_empty() {
            return None;
        }
        let mag: i128 = if v == "0" {
            0
        } else if let Some(b) = v.strip_prefix("0b") {
            i128::from_str_radix(b, 2).ok()?
        } else if let Some(h) = v.strip_prefix("0x") {
            i128::from_str_radix(h, 16).ok()?
        } else if v.starts_with('0') {
            i128::from_str_radix(v, 8).ok()?
        } else if v.contains(':') {
            let mut total: i128 = 0;
            for part in v.split(':') {
                total = total.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)?;
            }
            total
        } else {
            v.parse::<i128>().ok()?
        };
        let signed = if neg { -mag } else { mag };
        Some(match i64::try_from(signed) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(signed as f64),
        })
    }

    /// `construct_yaml_float`.
    fn float_value(s: &str) -> Option<Value> {
        let v: String = s.chars().filter(|&c| c != '_').collect::<String>().to_lowercase();
        let (sign, v) = match v.as_bytes().first()? {
            b'-' => (-1.0, &v[1..]),
            b'+' => (1.0, &v[1..]),
            _ => (1.0, &v[..]),
        };
        let f = if v == ".inf" {
            f64::INFINITY
        } else if v == ".nan" {
            return Some(Value::Float(f64::NAN));
        } else if v.contains(':') {
            let mut total = 0.0;
            for part in v.split(':') {
                total = total * 60.0 + part.parse::<f64>().ok()?;
            }
            total
        } else {
            v.parse::<f64>().ok()?
        };
        Some(Value::Float(sign * f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "pyhost-config-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
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

    mod with_yaml {
        use super::*;

        fn y(text: &str) -> Value {
            parse_yaml(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
        }

        #[test]
        fn plain_scalars_resolve_like_pyyaml() {
            let cases: &[(&str, Value)] = &[
                ("yes", Value::Bool(true)),
                ("Off", Value::Bool(false)),
                ("TRUE", Value::Bool(true)),
                ("yEs", Value::String("yEs".into())),
                ("~", Value::Null),
                ("", Value::Null),
                ("Null", Value::Null),
                ("42", Value::Int(42)),
                ("-17", Value::Int(-17)),
                ("+5", Value::Int(5)),
                ("0", Value::Int(0)),
                ("0755", Value::Int(493)),
                ("0x1F", Value::Int(31)),
                ("0b101", Value::Int(5)),
                ("1_000", Value::Int(1000)),
                ("190:20:30", Value::Int(685230)),
                ("09", Value::String("09".into())),
                ("1.5", Value::Float(1.5)),
                ("-.5", Value::String("-.5".into())),
                (".5", Value::Float(0.5)),
                ("1.", Value::Float(1.0)),
                ("1.0e+3", Value::Float(1000.0)),
                ("1e3", Value::String("1e3".into())),
                ("1.0e3", Value::String("1.0e3".into())),
                ("190:20:30.15", Value::Float(685230.15)),
                ("-.inf", Value::Float(f64::NEG_INFINITY)),
                ("1.2.3", Value::String("1.2.3".into())),
                ("2001-12-14", Value::String("2001-12-14".into())),
                ("12345678901234567890", Value::Float(12345678901234567890.0)),
                ("localhost:6379", Value::String("localhost:6379".into())),
                ("<<", Value::String("<<".into())),
                ("0_7", Value::Int(7)),
                ("1:77", Value::String("1:77".into())),
                ("0o17", Value::String("0o17".into())),
                ("+.inf", Value::Float(f64::INFINITY)),
                ("._5", Value::String("._5".into())),
                ("1_0.5_0", Value::Float(10.5)),
            ];
            for (text, want) in cases {
                assert_eq!(&yaml::resolve_plain(text), want, "{text:?}");
            }
            assert!(yaml::resolve_plain(".NaN").as_f64().unwrap().is_nan());
        }

        #[test]
        fn quoting_and_tags() {
            let v = y("a: 'yes'\nb: \"42\"\nc: !!str 42\nd: !!int '7'\ne: !!float 3\nf: |\n  line1\n  line2\ng: >\n  folded\n  text\n");
            assert_eq!(v.get("a"), Some(&Value::String("yes".into())));
            assert_eq!(v.get("b"), Some(&Value::String("42".into())));
            assert_eq!(v.get("c"), Some(&Value::String("42".into())));
            assert_eq!(v.get("d"), Some(&Value::Int(7)));
            assert_eq!(v.get("e"), Some(&Value::Float(3.0)));
            assert_eq!(v.get("f"), Some(&Value::String("line1\nline2\n".into())));
            assert_eq!(v.get("g"), Some(&Value::String("folded text\n".into())));
            let e = parse_yaml("a: !!python/object:os.system x").unwrap_err().to_string();
            assert!(e.contains("could not determine a constructor"), "{e}");
            assert!(parse_yaml("a: !custom x").is_err());
            assert!(parse_yaml("a: !!int nope")
                .unwrap_err()
                .to_string()
                .contains("not a valid !!int"));
        }

        #[test]
        fn anchors_aliases_and_merge_keys() {
            let v = y("base: &b {host: h, port: 1}\nother: &o {port: 2, extra: x}\nuse: *b\nm:\n  <<: [*b, *o]\n  port: 3\nn:\n  <<: *o\n");
            assert_eq!(v.get("use"), v.get("base"));
            let m = v.get("m").unwrap();
            // Own keys win; among merged maps, the first wins.
            assert_eq!(m.get("port"), Some(&Value::Int(3)));
            assert_eq!(m.get("host").and_then(Value::as_str), Some("h"));
            assert_eq!(m.get("extra").and_then(Value::as_str), Some("x"));
            assert_eq!(v.get("n").unwrap().get("port"), Some(&Value::Int(2)));
            // PyYAML's key order: {'port': 3, 'extra': 'x', 'host': 'h'}.
            let keys: Vec<&str> = m.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["port", "extra", "host"]);
            let v = y("a: &x {p: 1}\nb:\n  <<: [*x, {p: 2, q: 3}]\n");
            assert_eq!(v.get("b").unwrap().get("p"), Some(&Value::Int(1)));
            assert!(parse_yaml("a: *nowhere").is_err());
            assert!(parse_yaml("a:\n  <<: 5\n")
                .unwrap_err()
                .to_string()
                .contains("merge key"));
        }

        #[test]
        fn keys_duplicates_and_documents() {
            let v = y("1: one\ntrue: t\nnull: n\nk: first\nk: last\n");
            assert_eq!(v.get("1").and_then(Value::as_str), Some("one"));
            assert_eq!(v.get("true").and_then(Value::as_str), Some("t"));
            assert_eq!(v.get("null").and_then(Value::as_str), Some("n"));
            assert_eq!(v.get("k").and_then(Value::as_str), Some("last"));
            assert!(parse_yaml("? [a, b]\n: v\n")
                .unwrap_err()
                .to_string()
                .contains("keys must be scalars"));
            assert_eq!(y(""), Value::Null);
            assert_eq!(y("# only a comment\n"), Value::Null);
            assert_eq!(y("---\na: 1\n...\n").get("a"), Some(&Value::Int(1)));
            assert!(parse_yaml("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .to_string()
                .contains("single document"));
        }

        #[test]
        fn syntax_errors_have_positions() {
            let e = parse_yaml("instances:\n  - host: a\n   bad: [unclosed\n").unwrap_err();
            match e {
                ConfigError::Yaml { line, column, .. } => {
                    assert!(line >= 2 && column >= 1, "{line}:{column}")
                }
                other => panic!("{other}"),
            }
            let deep = "[".repeat(300) + &"]".repeat(300);
            // Our limit, or the scanner's own.
            let e = parse_yaml(&deep).unwrap_err().to_string();
            assert!(e.contains("too deep") || e.contains("recursion limit"), "{e}");
            let deep_blocks: String = (0..300).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
            let e = parse_yaml(&deep_blocks).unwrap_err().to_string();
            assert!(e.contains("too deep") || e.contains("recursion limit"), "{e}");
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
}
