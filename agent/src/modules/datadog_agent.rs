//! `datadog_agent`: rtloader's `common/builtins/datadog_agent.c`, served
//! from the installed [`AgentHost`].
//!
//! | function | rtloader format | host service | without it |
//! |---|---|---|---|
//! | `get_clustername()` | NOARGS | `cluster_name` | `None` |
//! | `get_config(key)` | `"s"` | `config` (the value as Python objects) | `None` |
//! | `get_hostname()` | NOARGS | `config` `hostname` | `None` |
//! | `get_host_tags()` | NOARGS | `config` `tags`, as `{"system": [...]}` JSON | `None` |
//! | `tracemalloc_enabled(*args)` | VARARGS, ignored | `tracemalloc_enabled` | `False` |
//! | `get_version()` | NOARGS | `version` | `None` |
//! | `headers(*args, **kwargs)` | VARARGS \| KEYWORDS | `version` (the Agent's `HTTPHeaders`) | `None` |
//! | `log(message, level)` | `"si"` | `log` | no-op |
//! | `send_log(log_line, check_id)` | `"ss"` | `aggregator` | `None` |
//! | `set_check_metadata(check_id, name, value)` | `"sss"` | `aggregator` | `None` |
//! | `set_external_tags(tags)` | `"O"` | `aggregator` | `None` |
//! | `write_persistent_cache(key, value)` | `"ss"` | `cache` (GIL released) | no-op |
//! | `read_persistent_cache(key)` | `"s"` | `cache` (GIL released) | `RuntimeError` |
//! | `obfuscate_sql(query, options=None)` | `"s\|s"` | [`obfuscate`] | `None` |
//! | `batch_obfuscate_sql(queries, options=None)` | `"O\|s"` | [`obfuscate`] | `None` |
//! | `get_process_start_time()` | NOARGS | `process_start_time` | `None` |
//! | `emit_agent_telemetry(check_name, metric_name, metric_value, metric_type)` | `"ssds"` | [`agent_telemetry`] | `None` |
//! | `report_issue(check_name, report_json)` | `"ss"` | [`reported_issues`] | `None` |
//! | `resolve_issue(issue_id)` | `"s"` | [`reported_issues`] | `None` |
//!
//! "Without it" is the column for no installed host (and, where the host's
//! field is an `Option`, for `None` there): rtloader's behaviour with the
//! callback unset, which returns before parsing the arguments.
//!
//! Agent telemetry and issues have no service in
//! [`AgentHost`] yet; they are kept here,
//! process-wide, and read with [`agent_telemetry`] and [`reported_issues`].

use std::collections::HashMap;
use std::sync::Mutex;

use super::pyarg::{self, KwArgs, KwSpec};
use super::varargs;
use crate::host::{host, AgentHost, LogRecord};
use crate::obfuscate;
use crate::value::{json_loads, Value};
use pyhost::module::Args;
use pyhost::{Bound, Dict, Error, Python, Result, ToPython};
use serde::Serialize;

pyhost::host_function!(
    /// `datadog_agent.get_clustername()`: rtloader's `get_clustername`.
    pyhost_rs_dd_datadog_agent_get_clustername,
    "datadog_agent.get_clustername",
    get_clustername
);
pyhost::host_function!(
    /// `datadog_agent.get_config(key)`: rtloader's `get_config`.
    pyhost_rs_dd_datadog_agent_get_config,
    "get_config",
    get_config
);
pyhost::host_function!(
    /// `datadog_agent.get_hostname()`: rtloader's `get_hostname`.
    pyhost_rs_dd_datadog_agent_get_hostname,
    "datadog_agent.get_hostname",
    get_hostname
);
pyhost::host_function!(
    /// `datadog_agent.get_host_tags()`: rtloader's `get_host_tags`.
    pyhost_rs_dd_datadog_agent_get_host_tags,
    "datadog_agent.get_host_tags",
    get_host_tags
);
pyhost::host_function!(
    /// `datadog_agent.tracemalloc_enabled()`: rtloader's `tracemalloc_enabled`.
    pyhost_rs_dd_datadog_agent_tracemalloc_enabled,
    "tracemalloc_enabled",
    tracemalloc_enabled
);
pyhost::host_function!(
    /// `datadog_agent.get_version()`: rtloader's `get_version`.
    pyhost_rs_dd_datadog_agent_get_version,
    "datadog_agent.get_version",
    get_version
);
pyhost::host_function!(
    /// `datadog_agent.headers(*args, **kwargs)`: rtloader's `headers`.
    pyhost_rs_dd_datadog_agent_headers,
    "headers",
    headers
);
pyhost::host_function!(
    /// `datadog_agent.log(message, level)`: rtloader's `log_message`.
    pyhost_rs_dd_datadog_agent_log,
    "log",
    log
);
pyhost::host_function!(
    /// `datadog_agent.send_log(log_line, check_id)`: rtloader's `send_log`.
    pyhost_rs_dd_datadog_agent_send_log,
    "send_log",
    send_log
);
pyhost::host_function!(
    /// `datadog_agent.set_check_metadata(check_id, name, value)`: rtloader's `set_check_metadata`.
    pyhost_rs_dd_datadog_agent_set_check_metadata,
    "set_check_metadata",
    set_check_metadata
);
pyhost::host_function!(
    /// `datadog_agent.set_external_tags(tags)`: rtloader's `set_external_tags`.
    pyhost_rs_dd_datadog_agent_set_external_tags,
    "set_external_tags",
    set_external_tags
);
pyhost::host_function!(
    /// `datadog_agent.write_persistent_cache(key, value)`: rtloader's `write_persistent_cache`.
    pyhost_rs_dd_datadog_agent_write_persistent_cache,
    "write_persistent_cache",
    write_persistent_cache
);
pyhost::host_function!(
    /// `datadog_agent.read_persistent_cache(key)`: rtloader's `read_persistent_cache`.
    pyhost_rs_dd_datadog_agent_read_persistent_cache,
    "read_persistent_cache",
    read_persistent_cache
);
pyhost::host_function!(
    /// `datadog_agent.obfuscate_sql(query, options=None)`: rtloader's `obfuscate_sql`.
    pyhost_rs_dd_datadog_agent_obfuscate_sql,
    "obfuscate_sql",
    obfuscate_sql
);
pyhost::host_function!(
    /// `datadog_agent.batch_obfuscate_sql(queries, options=None)`: rtloader's `batch_obfuscate_sql`.
    pyhost_rs_dd_datadog_agent_batch_obfuscate_sql,
    "batch_obfuscate_sql",
    batch_obfuscate_sql
);
pyhost::host_function!(
    /// `datadog_agent.get_process_start_time()`: rtloader's `get_process_start_time`.
    pyhost_rs_dd_datadog_agent_get_process_start_time,
    "datadog_agent.get_process_start_time",
    get_process_start_time
);
pyhost::host_function!(
    /// `datadog_agent.emit_agent_telemetry(...)`: rtloader's `emit_agent_telemetry`.
    pyhost_rs_dd_datadog_agent_emit_agent_telemetry,
    "emit_agent_telemetry",
    emit_agent_telemetry
);
pyhost::host_function!(
    /// `datadog_agent.report_issue(check_name, report_json)`: the newest
    /// rtloader's `report_issue` (`set_report_issue_cb`).
    pyhost_rs_dd_datadog_agent_report_issue,
    "report_issue",
    report_issue
);
pyhost::host_function!(
    /// `datadog_agent.resolve_issue(issue_id)`: the newest rtloader's
    /// `resolve_issue` (`set_resolve_issue_cb`).
    pyhost_rs_dd_datadog_agent_resolve_issue,
    "resolve_issue",
    resolve_issue
);

/// A `str`, or `None` for a missing value.
fn str_or_none<'py>(py: Python<'py>, v: Option<&str>) -> Result<Bound<'py>> {
    match v {
        Some(s) => Ok(Bound::new_str(py, s)),
        None => Ok(py.None()),
    }
}

fn get_clustername<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::noargs(args)?;
    str_or_none(py, host().and_then(|h| h.cluster_name.as_deref()))
}

/// The configuration value as Python objects (what rtloader's `from_json`
/// makes of the Agent's JSON payload, NaN and infinities included); unset
/// is `None`.
fn get_config<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 1, 1, Some)? else {
        return Ok(py.None());
    };
    let key = pyarg::s(&a[0], 1)?;
    // Copy the value out before building Python objects: no lock is held
    // while Python runs.
    let value = host.config.read().get(key).cloned();
    match value {
        Some(value) => value.to_python(py),
        None => Ok(py.None()),
    }
}

fn get_hostname<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::noargs(args)?;
    match host() {
        Some(h) => Ok(Bound::new_str(py, &h.hostname())),
        None => Ok(py.None()),
    }
}

/// The Agent's host tags payload (`hosttags.Get`, JSON-encoded): the
/// configured `tags` as `{"system": [...]}`.
pub fn host_tags_json(host: &AgentHost) -> String {
    #[derive(Serialize)]
    struct HostTags<'a> {
        system: Vec<&'a str>,
    }
    let config = host.config.read();
    let system = match config.get("tags") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split(',').map(str::trim).filter(|t| !t.is_empty()).collect(),
        _ => Vec::new(),
    };
    serde_json::to_string(&HostTags { system }).expect("a list of strings serializes")
}

fn get_host_tags<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::noargs(args)?;
    match host() {
        Some(h) => Ok(Bound::new_str(py, &host_tags_json(h))),
        None => Ok(py.None()),
    }
}

fn tracemalloc_enabled<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::no_keywords(args)?;
    Ok(py.bool(host().is_some_and(|h| h.tracemalloc_enabled)))
}

fn get_version<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::noargs(args)?;
    str_or_none(py, host().map(|h| h.version.as_str()))
}

/// The Agent's standard HTTP headers (`pkg/util.HTTPHeaders`), in the
/// order its JSON payload has them (sorted keys).
pub fn http_headers(version: &str) -> [(&'static str, String); 3] {
    [
        ("Accept", "text/html, */*".to_string()),
        ("Content-Type", "application/x-www-form-urlencoded".to_string()),
        ("User-Agent", format!("Datadog Agent/{version}")),
    ]
}

/// `headers(*args, **kwargs)`: positional arguments are ignored (the old
/// `agentConfig`), `http_host=` becomes the `Host` header, other keywords
/// are ignored. Shared with `util.headers`.
pub(super) fn headers<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some(host) = host() else {
        return Ok(py.None());
    };
    let d = Dict::new(py);
    for (k, v) in http_headers(&host.version) {
        d.set_item(k, v)?;
    }
    if let Some((_, http_host)) = args
        .keywords()
        .find(|(k, _)| k.to_str().is_ok_and(|k| k == "http_host"))
    {
        d.set_item("Host", http_host)?;
    }
    Ok(d.into_any())
}

/// `"si"`: to the host's log sink (rtloader's `agent_log` → `cb_log`);
/// arguments are parsed even without a host.
fn log<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::no_keywords(args)?;
    let a = pyarg::count(args, 2, 2)?;
    let message = pyarg::s(&a[0], 1)?;
    let level = pyarg::i(&a[1])?;
    if let Some(host) = host() {
        (host.log)(&LogRecord {
            level,
            message: message.to_owned(),
        });
    }
    Ok(py.None())
}

fn send_log<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 2, 2, Some)? else {
        return Ok(py.None());
    };
    let log_line = pyarg::s(&a[0], 1)?;
    let check_id = pyarg::s(&a[1], 2)?;
    host.aggregator.send_log(check_id, log_line);
    Ok(py.None())
}

fn set_check_metadata<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 3, 3, Some)? else {
        return Ok(py.None());
    };
    let check_id = pyarg::s(&a[0], 1)?;
    let name = pyarg::s(&a[1], 2)?;
    let value = pyarg::s(&a[2], 3)?;
    host.aggregator.set_check_metadata(check_id, name, value);
    Ok(py.None())
}

/// `"O"`: `[('hostname', {'source_type': ['tag1', 'tag2']}), ...]`. Each
/// tuple is sent as it is read, so the tuples before an error are recorded
/// (as in rtloader); an empty dict is skipped, only a dict's first key is
/// used, and non-string tags are dropped.
fn set_external_tags<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 1, 1, Some)? else {
        return Ok(py.None());
    };
    let list = &a[0];
    if !list.is_list() {
        return Err(Error::type_error("tags must be a list"));
    }
    let list = list.downcast_list()?;
    let mut i = 0;
    while i < list.len() {
        let tuple = list.get(i)?;
        i += 1;
        if !tuple.is_tuple() {
            return Err(Error::type_error("external host tags list must contain only tuples"));
        }
        let tuple = tuple.downcast_tuple()?;
        let hostname = pyarg::as_string(tuple.get(0).ok().as_ref()).map(|h| h.into_owned());
        let Some(hostname) = hostname else {
            return Err(Error::type_error("hostname is not a valid string"));
        };
        let dict = tuple.get(1).ok();
        let Some(dict) = dict.as_ref().and_then(|d| d.downcast_dict().ok()) else {
            return Err(Error::type_error("second elem of the host tags tuple must be a dict"));
        };
        let Some((source_type, tags)) = dict.items().into_iter().next() else {
            continue;
        };
        let Some(source_type) = pyarg::as_string(Some(&source_type)).map(|s| s.into_owned()) else {
            return Err(Error::type_error("source_type is not a valid string"));
        };
        if !tags.is_list() {
            return Err(Error::type_error("dict value must be a list of tags"));
        }
        let tags = tags.downcast_list()?;
        let mut strings = Vec::with_capacity(tags.len());
        let mut j = 0;
        while j < tags.len() {
            let tag = tags.get(j)?;
            j += 1;
            if let Some(t) = pyarg::as_string(Some(&tag)) {
                strings.push(t.into_owned());
            }
        }
        host.aggregator.set_external_tags(&hostname, &source_type, &strings);
    }
    Ok(py.None())
}

/// `"ss"`: stored with the GIL released (disk I/O); a failed write is
/// ignored, as the Agent's callback ignores it.
fn write_persistent_cache<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 2, 2, Some)? else {
        return Ok(py.None());
    };
    let key = pyarg::s(&a[0], 1)?;
    let value = pyarg::s(&a[1], 2)?;
    if let Some(cache) = &host.cache {
        // The strings stay valid: the caller's arguments keep their objects
        // alive, and str objects never change.
        let _ = py.allow_threads(|| cache.write(key, value));
    }
    Ok(py.None())
}

/// `"s"`: read with the GIL released; a missing key is `""` (the Agent's
/// `persistentcache.Read`), a failed read (or no cache) is
/// `RuntimeError("failed to read data")`.
fn read_persistent_cache<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 1, 1, Some)? else {
        return Ok(py.None());
    };
    let key = pyarg::s(&a[0], 1)?;
    let read = match &host.cache {
        Some(cache) => py.allow_threads(|| cache.read(key)).ok(),
        None => None,
    };
    match read {
        Some(value) => Ok(Bound::new_str(py, value.as_deref().unwrap_or(""))),
        None => Err(Error::runtime_error("failed to read data")),
    }
}

static OBFUSCATE_SQL: KwSpec = KwSpec {
    fname: None,
    kwlist: &["query", "options"],
    required: 1,
    max_positional: 2,
};

/// `"s|s"` with keywords `query`, `options` (a JSON string; `None` is not
/// accepted, as with rtloader's `s`). An obfuscation error is raised as
/// `RuntimeError(message)`.
fn obfuscate_sql<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    if host().is_none() {
        return Ok(py.None());
    }
    let p = KwArgs::parse(args, &OBFUSCATE_SQL)?;
    let query = pyarg::s(p.required(0)?, 1)?;
    let options = p.get(1).map(|o| pyarg::s(o, 2)).transpose()?;
    p.finish()?;
    match obfuscate::obfuscate_sql(query, options.unwrap_or("")) {
        Ok(q) => Ok(Bound::new_str(py, &q)),
        Err(message) => Err(Error::runtime_error(message)),
    }
}

static BATCH_OBFUSCATE_SQL: KwSpec = KwSpec {
    fname: None,
    kwlist: &["queries", "options"],
    required: 1,
    max_positional: 2,
};

/// The JSON `batch_obfuscate_sql` returns: one object per query, in order,
/// `{"query": ..., "metadata": {...}}` or `{"error": message}`. (The
/// Agent's format was not in the sources read; this is pyhost's.) Invalid
/// options fail the whole batch.
pub fn batch_obfuscate_json(queries: &[&str], options_json: &str) -> std::result::Result<String, String> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Outcome {
        Obfuscated(obfuscate::ObfuscatedQuery),
        Failed { error: String },
    }
    let opts = obfuscate::SqlOptions::from_json(options_json)?;
    let results: Vec<Outcome> = queries
        .iter()
        .map(|q| match obfuscate::obfuscate_sql_with_options(q, &opts) {
            Ok(oq) => Outcome::Obfuscated(oq),
            Err(error) => Outcome::Failed { error },
        })
        .collect();
    Ok(serde_json::to_string(&results).expect("strings and numbers serialize"))
}

/// `"O|s"` with keywords `queries`, `options`: `TypeError("queries must be
/// a list")`, `TypeError("all queries must be strings")`.
fn batch_obfuscate_sql<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    if host().is_none() {
        return Ok(py.None());
    }
    let p = KwArgs::parse(args, &BATCH_OBFUSCATE_SQL)?;
    let queries = p.required(0)?;
    let options = p.get(1).map(|o| pyarg::s(o, 2)).transpose()?;
    p.finish()?;
    if !queries.is_list() {
        return Err(Error::type_error("queries must be a list"));
    }
    let list = queries.downcast_list()?;
    let items: Vec<Bound<'py>> = (0..list.len()).map(|i| list.get(i)).collect::<Result<_>>()?;
    let mut texts = Vec::with_capacity(items.len());
    for item in &items {
        if !item.is_str() {
            return Err(Error::type_error("all queries must be strings"));
        }
        texts.push(item.to_str()?);
    }
    match batch_obfuscate_json(&texts, options.unwrap_or("")) {
        Ok(json) => Ok(Bound::new_str(py, &json)),
        Err(message) => Err(Error::runtime_error(message)),
    }
}

fn get_process_start_time<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    pyarg::noargs(args)?;
    match host() {
        Some(h) => h.process_start_time.to_python(py),
        None => Ok(py.None()),
    }
}

// ---- agent telemetry and issues ---------------------------------------------------

/// One series of `datadog_agent.emit_agent_telemetry` calls.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTelemetry {
    /// The check that emitted it.
    pub check_name: String,
    /// The metric.
    pub metric_name: String,
    /// `"counter"`, `"gauge"`, `"histogram"` (as `datadog-checks-base` passes it).
    pub metric_type: String,
    /// How many times it was emitted.
    pub count: u64,
    /// The sum of the values.
    pub sum: f64,
    /// The last value.
    pub last: f64,
}

/// An issue reported with `datadog_agent.report_issue` and not resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedIssue {
    /// The check that reported it.
    pub check_name: String,
    /// The report's `id` (`""` if the JSON has none).
    pub id: String,
    /// The report, as the check sent it (a JSON object).
    pub report_json: String,
}

type TelemetryKey = (String, String, String);

static TELEMETRY: Mutex<Vec<AgentTelemetry>> = Mutex::new(Vec::new());
static ISSUES: Mutex<Option<HashMap<String, ReportedIssue>>> = Mutex::new(None);

/// Every telemetry series emitted so far, in first-emission order.
pub fn agent_telemetry() -> Vec<AgentTelemetry> {
    TELEMETRY.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The issues reported and not resolved, sorted by id.
pub fn reported_issues() -> Vec<ReportedIssue> {
    let issues = ISSUES.lock().unwrap_or_else(|e| e.into_inner());
    let mut out: Vec<ReportedIssue> = issues.iter().flat_map(|m| m.values().cloned()).collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn record_telemetry(key: TelemetryKey, value: f64) {
    let mut all = TELEMETRY.lock().unwrap_or_else(|e| e.into_inner());
    match all
        .iter_mut()
        .find(|t| t.check_name == key.0 && t.metric_name == key.1 && t.metric_type == key.2)
    {
        Some(t) => {
            t.count += 1;
            t.sum += value;
            t.last = value;
        }
        None => all.push(AgentTelemetry {
            check_name: key.0,
            metric_name: key.1,
            metric_type: key.2,
            count: 1,
            sum: value,
            last: value,
        }),
    }
}

/// `"ssds"` (keywords are ignored: rtloader parses only the tuple).
fn emit_agent_telemetry<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    if host().is_none() {
        return Ok(py.None());
    }
    let a = pyarg::count(args, 4, 4)?;
    let check_name = pyarg::s(&a[0], 1)?;
    let metric_name = pyarg::s(&a[1], 2)?;
    let value = pyarg::d(&a[2])?;
    let metric_type = pyarg::s(&a[3], 4)?;
    record_telemetry(
        (check_name.to_owned(), metric_name.to_owned(), metric_type.to_owned()),
        value,
    );
    Ok(py.None())
}

/// `"ss"`: kept (by the report's `id`, a later report replacing an earlier
/// one) until `resolve_issue(id)`.
fn report_issue<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((_, a)) = varargs(args, 2, 2, Some)? else {
        return Ok(py.None());
    };
    let check_name = pyarg::s(&a[0], 1)?;
    let report_json = pyarg::s(&a[1], 2)?;
    let id = issue_id(py, report_json).unwrap_or_default();
    let issue = ReportedIssue {
        check_name: check_name.to_owned(),
        id: id.clone(),
        report_json: report_json.to_owned(),
    };
    ISSUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(id, issue);
    Ok(py.None())
}

/// The report's `"id"`, decoded by Python's `json.loads` as the check's
/// `json.dumps` wrote it (so `NaN` elsewhere in it is fine). Undecodable
/// JSON, or no string `id`, is `None`; the decoding error is dropped.
fn issue_id(py: Python<'_>, report_json: &str) -> Option<String> {
    let report = json_loads(py, report_json).ok()?;
    let id = report.downcast_dict().ok()?.get_item("id").ok()??;
    if !id.is_str() {
        return None;
    }
    id.to_str().ok().map(str::to_owned)
}

/// `"s"`: forget the issue (an unknown id is not an error).
fn resolve_issue<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((_, a)) = varargs(args, 1, 1, Some)? else {
        return Ok(py.None());
    };
    let id = pyarg::s(&a[0], 1)?;
    if let Some(m) = ISSUES.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        m.remove(id);
    }
    Ok(py.None())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_obfuscation_reports_each_query() {
        let out = batch_obfuscate_json(&["select * from t where id = 1", "select 'unterminated"], "").unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(
            items[0].get("query").and_then(Value::as_str),
            Some("select * from t where id = ?")
        );
        assert!(items[1]
            .get("error")
            .and_then(Value::as_str)
            .is_some_and(|e| !e.is_empty()));
        assert!(batch_obfuscate_json(&["select 1"], "[1]").is_err());
    }

    #[test]
    fn headers_follow_the_agent() {
        let h = http_headers("7.1.0");
        assert_eq!(h[2], ("User-Agent", "Datadog Agent/7.1.0".to_string()));
        assert_eq!(
            h.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            ["Accept", "Content-Type", "User-Agent"]
        );
    }
}
