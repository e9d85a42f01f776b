//! `aggregator`: rtloader's `common/builtins/aggregator.c`, recording into
//! the installed host's [`Aggregator`](crate::aggregator::Aggregator).
//!
//! | function | rtloader format | records |
//! |---|---|---|
//! | `submit_metric(check, check_id, mtype, name, value, tags, hostname, flush_first_value=False)` | `"OsisdOs\|b"` | [`Aggregator::submit_metric`](crate::aggregator::Aggregator::submit_metric) |
//! | `submit_service_check(check, check_id, name, status, tags, hostname, message)` | `"OssiOss"` | [`submit_service_check`](crate::aggregator::Aggregator::submit_service_check) |
//! | `submit_event(check, check_id, event)` | `"OsO"` | [`submit_event`](crate::aggregator::Aggregator::submit_event) |
//! | `submit_histogram_bucket(check, check_id, name, value, lower_bound, upper_bound, monotonic, hostname, tags, flush_first_value=False)` | `"OssLffisO\|b"` | [`submit_histogram_bucket`](crate::aggregator::Aggregator::submit_histogram_bucket) |
//! | `submit_histogram_bucket_multi(...)` (same arguments) | `"OssLffisO\|b"` | the same, `multiple_buckets` set |
//! | `submit_event_platform_event(check, check_id, raw_event, event_type)` | `"Oss#s"` | [`submit_event_platform_event`](crate::aggregator::Aggregator::submit_event_platform_event) |
//!
//! As in rtloader: `check` is ignored; keyword arguments are refused
//! (`submit_metric() takes no keyword arguments`); argument errors are
//! `PyArg_ParseTuple`'s (`argument 2 must be str, not int`); tags must be a
//! sequence (`TypeError: tags must be a sequence`) whose non-string items
//! are silently dropped; every function returns `None`, and does nothing
//! when no host is installed. A metric type outside 0..=6 is dropped, as the
//! Agent's Go callback ignores it.
//!
//! `submit_metric` is the hot path: strings are borrowed from the Python
//! objects (no copy until the aggregator's arena) and up to 16 tags are
//! collected on the stack.

use std::borrow::Cow;

use super::pyarg::{self, TagSeq};
use super::varargs;
use crate::aggregator::{Event, HistogramBucket, MetricType};
use crate::value::Value;
use pyhost::module::Args;
use pyhost::{Bound, Dict, Error, FromPython, Python, Result};

pyhost::host_function!(
    /// `aggregator.submit_metric`: rtloader's `submit_metric`.
    pyhost_rs_dd_aggregator_submit_metric,
    "submit_metric",
    submit_metric
);
pyhost::host_function!(
    /// `aggregator.submit_service_check`: rtloader's `submit_service_check`.
    pyhost_rs_dd_aggregator_submit_service_check,
    "submit_service_check",
    submit_service_check
);
pyhost::host_function!(
    /// `aggregator.submit_event`: rtloader's `submit_event`.
    pyhost_rs_dd_aggregator_submit_event,
    "submit_event",
    submit_event
);
pyhost::host_function!(
    /// `aggregator.submit_histogram_bucket`: rtloader's `submit_histogram_bucket`.
    pyhost_rs_dd_aggregator_submit_histogram_bucket,
    "submit_histogram_bucket",
    submit_histogram_bucket
);
pyhost::host_function!(
    /// `aggregator.submit_histogram_bucket_multi`: `submit_histogram_bucket`
    /// for one of several buckets of a histogram (`datadog-checks-base`
    /// probes for it with `hasattr`; not in the rtloader versions read).
    pyhost_rs_dd_aggregator_submit_histogram_bucket_multi,
    "submit_histogram_bucket_multi",
    submit_histogram_bucket_multi
);
pyhost::host_function!(
    /// `aggregator.submit_event_platform_event`: rtloader's `submit_event_platform_event`.
    pyhost_rs_dd_aggregator_submit_event_platform_event,
    "submit_event_platform_event",
    submit_event_platform_event
);

/// `"OsisdOs|b"`: `(check, check_id, mtype, name, value, tags, hostname[, flush_first_value])`.
#[inline(always)]
fn submit_metric<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 7, 8, Some)? else {
        return Ok(py.None());
    };
    let check_id = pyarg::s(&a[1], 2)?;
    let mtype = pyarg::i(&a[2])?;
    let name = pyarg::s(&a[3], 4)?;
    let value = pyarg::d(&a[4])?;
    let hostname = pyarg::s(&a[6], 7)?;
    let flush_first_value = match a.get(7) {
        Some(v) => pyarg::b(v)? != 0,
        None => false,
    };
    let seq = TagSeq::new(&a[5])?;
    if let Some(mtype) = MetricType::from_i32(mtype) {
        seq.with_tags(|tags| {
            host.aggregator
                .submit_metric(check_id, mtype, name, value, tags.iter(), hostname, flush_first_value)
        });
    }
    Ok(py.None())
}

/// `"OssiOss"`: `(check, check_id, name, status, tags, hostname, message)`.
fn submit_service_check<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 7, 7, Some)? else {
        return Ok(py.None());
    };
    let check_id = pyarg::s(&a[1], 2)?;
    let name = pyarg::s(&a[2], 3)?;
    let status = pyarg::i(&a[3])?;
    let hostname = pyarg::s(&a[5], 6)?;
    let message = pyarg::s(&a[6], 7)?;
    let seq = TagSeq::new(&a[4])?;
    seq.with_tags(|tags| {
        host.aggregator
            .submit_service_check(check_id, name, status, tags.iter(), hostname, message)
    });
    Ok(py.None())
}

/// `"OsO"`: `(check, check_id, event)`; the event's fields as rtloader's
/// `submit_event` reads them into `event_t`.
fn submit_event<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 3, 3, Some)? else {
        return Ok(py.None());
    };
    let check_id = pyarg::s(&a[1], 2)?;
    let dict = &a[2];
    let Ok(dict) = dict.downcast_dict() else {
        return Err(Error::type_error("event must be a dict"));
    };
    let field = |key: &str| event_field(dict, key);
    let text = |key: &str| pyarg::as_string(field(key).as_ref()).map(Cow::into_owned);
    let mut event = Event {
        title: text("msg_title"),
        text: text("msg_text"),
        timestamp: field("timestamp").map_or(0, |ts| event_timestamp(&ts)),
        priority: text("priority"),
        host: text("host"),
        tags: None,
        alert_type: text("alert_type"),
        aggregation_key: text("aggregation_key"),
        source_type_name: text("source_type_name"),
        event_type: text("event_type"),
        raw: None,
    };
    if let Some(tags) = field("tags") {
        event.tags = Some(TagSeq::new(&tags)?.to_vec());
    }
    // The dict as submitted, for outputs that print events verbatim; an
    // event holding values JSON cannot express keeps only its fields.
    event.raw = Value::from_python(dict).ok();
    host.aggregator.submit_event(check_id, event);
    Ok(py.None())
}

/// `PyDict_GetItemString`: the value at `key`, or `None` (errors, from a
/// key's `__eq__`, are swallowed as rtloader's call does).
fn event_field<'py>(dict: &Dict<'py>, key: &str) -> Option<Bound<'py>> {
    dict.get_item(key).ok().flatten()
}

/// `timestamp`: `PyLong_AsLong`, with any error (and -1) read as 0.
fn event_timestamp(ts: &Bound<'_>) -> i64 {
    match ts.to_long() {
        Ok(v) if v != -1 => v,
        _ => 0,
    }
}

/// `"OssLffisO|b"`: `(check, check_id, name, value, lower_bound, upper_bound,
/// monotonic, hostname, tags[, flush_first_value])`; the tags come after the
/// hostname.
fn histogram_bucket<'py>(py: Python<'py>, args: &Args<'_, 'py>, multiple_buckets: bool) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 9, 10, Some)? else {
        return Ok(py.None());
    };
    let check_id = pyarg::s(&a[1], 2)?;
    let name = pyarg::s(&a[2], 3)?;
    let value = pyarg::ll(&a[3])?;
    let lower_bound = pyarg::f(&a[4])?;
    let upper_bound = pyarg::f(&a[5])?;
    let monotonic = pyarg::i(&a[6])?;
    let hostname = pyarg::s(&a[7], 8)?;
    let flush_first_value = match a.get(9) {
        Some(v) => pyarg::b(v)? != 0,
        None => false,
    };
    let tags = TagSeq::new(&a[8])?.to_vec();
    host.aggregator.submit_histogram_bucket(
        check_id,
        HistogramBucket {
            name: name.to_owned(),
            value,
            lower_bound: f64::from(lower_bound),
            upper_bound: f64::from(upper_bound),
            monotonic: monotonic != 0,
            hostname: hostname.to_owned(),
            tags,
            flush_first_value,
            multiple_buckets,
        },
    );
    Ok(py.None())
}

fn submit_histogram_bucket<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    histogram_bucket(py, args, false)
}

fn submit_histogram_bucket_multi<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    histogram_bucket(py, args, true)
}

/// `"Oss#s"`: `(check, check_id, raw_event, event_type)`; `raw_event` is a
/// `str` or `bytes`; over `INT_MAX` bytes is `ValueError("event is too large")`.
fn submit_event_platform_event<'py>(py: Python<'py>, args: &Args<'_, 'py>) -> Result<Bound<'py>> {
    let Some((host, a)) = varargs(args, 4, 4, Some)? else {
        return Ok(py.None());
    };
    let check_id = pyarg::s(&a[1], 2)?;
    let raw_event = pyarg::s_hash(&a[2], 3)?;
    let event_type = pyarg::s(&a[3], 4)?;
    if raw_event.len() > i32::MAX as usize {
        return Err(Error::value_error("event is too large"));
    }
    host.aggregator
        .submit_event_platform_event(check_id, raw_event, event_type);
    Ok(py.None())
}
