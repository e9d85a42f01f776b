//! Scenario: rtloader's seven built-in modules against a recording host,
//! in the shape of rtloader's own tests (`rtloader/test/*`): each snippet
//! runs as `try: import <modules>; <code> except Exception as e:
//! out = "{type}: {msg}"`, and the tests assert on that text and on what the
//! host recorded.
//!
//! One process, one interpreter and one installed `AgentHost` for all tests
//! (each test uses its own check ids). `no_host_behaves_as_unset_callbacks`
//! re-runs this binary without a host to check rtloader's unset-callback
//! behaviour.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyhost::{Dict, Interpreter};
use pyhost_agent::aggregator::{Event, EventPlatformEvent, HistogramBucket, MetricType, ServiceCheck, Submission};
use pyhost_agent::config::{parse_yaml, HostConfig};
use pyhost_agent::host::{self, AgentHost, LogRecord};
use pyhost_agent::modules::{self, datadog_agent};
use pyhost_agent::value::Value;

/// Set in the child process of `no_host_behaves_as_unset_callbacks`.
const NO_HOST_ENV: &str = "PYHOST_DD_TEST_NO_HOST";

static LOGS: Mutex<Vec<LogRecord>> = Mutex::new(Vec::new());
/// What `kubeutil.get_connection_info` gets from the host: 0 an object,
/// 1 nothing, 2 a non-object.
static CONNECTION_INFO: AtomicU8 = AtomicU8::new(0);

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dd-modules-{}", std::process::id()))
}

fn recording_host() -> AgentHost {
    let mut config = HostConfig::with_defaults("localfoobar", &data_dir());
    // rtloader/test/datadog_agent's get_config payload, under "foo".
    let mut payload = Value::object();
    payload.insert("name", "foo");
    payload.insert("body", "Hello");
    payload.insert("time", 123456i64);
    config.set("foo", payload);
    config.set("tags", Value::Array(vec!["env:test".into(), "role:db".into()]));
    // YAML's non-finite floats, which JSON cannot spell.
    config
        .merge(parse_yaml("special_floats: {nan: .nan, inf: .inf, ninf: -.inf}").expect("YAML"))
        .expect("a mapping");
    let mut h = AgentHost::new(config).expect("host");
    h.version = "1.2.3".into();
    h.cluster_name = Some("the-cluster".into());
    h.tracemalloc_enabled = true;
    h.log = Box::new(|r| LOGS.lock().unwrap().push(r.clone()));
    // rtloader/test/tagger: tags only for "base", one set per cardinality.
    h.tagger = Some(Box::new(|id, cardinality| {
        let tags: &[&str] = match (id, cardinality) {
            ("base", 0) => &["a", "b", "c"],
            ("base", 1) => &["1", "2", "3"],
            ("base", 2) => &["A", "B", "C"],
            _ => &[],
        };
        tags.iter().map(|t| t.to_string()).collect()
    }));
    // rtloader/test/containers: "foo" is excluded; a namespace "kube-system" too.
    h.is_excluded = Some(Box::new(|name, _image, namespace| {
        name == "foo" || namespace == Some("kube-system")
    }));
    h.connection_info = Some(Box::new(|| match CONNECTION_INFO.load(Ordering::SeqCst) {
        0 => {
            let mut v = Value::object();
            v.insert("FooKey", "FooValue");
            v.insert("BarKey", "BarValue");
            Some(v)
        }
        1 => None,
        _ => Some(Value::Array(vec![])),
    }));
    h
}

/// The interpreter (once per process) and the installed host, if any.
fn setup() -> Option<&'static Arc<AgentHost>> {
    static INIT: OnceLock<Interpreter> = OnceLock::new();
    INIT.get_or_init(|| {
        if std::env::var_os(NO_HOST_ENV).is_none() {
            host::install(recording_host()).expect("first install");
        }
        modules::add_builtin_modules(Interpreter::builder())
            .add_init_func("pyhost_demo", pyhost::module::demo::INIT)
            .write_bytecode(false)
            .init()
            .expect("interpreter starts")
    });
    host::host()
}

fn the_host() -> &'static Arc<AgentHost> {
    setup().expect("a host is installed")
}

/// rtloader's `run(code)`: the snippet's `out`, or `"{type}: {message}"` of
/// the exception it raised, trimmed.
fn run(code: &str) -> String {
    setup();
    let body: String = code.trim_matches('\n').lines().map(|l| format!("    {l}\n")).collect();
    let src = format!(
        "out = ''\ntry:\n    import aggregator, datadog_agent, _util, util, tagger, containers, kubeutil\n{body}\
         except Exception as e:\n    out = '{{}}: {{}}'.format(type(e).__name__, e)\n"
    );
    pyhost::with_gil(|py| {
        let g: Dict<'_> = py.new_globals().unwrap();
        py.run(&src, Some(&g), None)
            .unwrap_or_else(|e| panic!("snippet failed outside try: {e}\n{src}"));
        g.get_item("out").unwrap().unwrap().str().unwrap().trim().to_string()
    })
}

fn metrics(check_id: &str) -> Vec<pyhost_agent::aggregator::MetricSample> {
    the_host()
        .aggregator
        .take_submissions(check_id)
        .into_iter()
        .map(|s| match s {
            Submission::Metric(m) => m,
            other => panic!("not a metric: {other:?}"),
        })
        .collect()
}

fn only(check_id: &str) -> Submission {
    let mut subs = the_host().aggregator.take_submissions(check_id);
    assert_eq!(subs.len(), 1, "{subs:?}");
    subs.remove(0)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- aggregator (rtloader/test/aggregator) ------------------------------------------

#[test]
fn aggregator_constants() {
    assert_eq!(
        run(
            "out = [aggregator.GAUGE, aggregator.RATE, aggregator.COUNT, aggregator.MONOTONIC_COUNT, \
             aggregator.COUNTER, aggregator.HISTOGRAM, aggregator.HISTORATE]"
        ),
        "[0, 1, 2, 3, 4, 5, 6]"
    );
}

#[test]
fn submit_metric() {
    let out = run(
        r#"aggregator.submit_metric(None, 'sm:1', aggregator.GAUGE, 'name', -99.0, ['foo', 21, 'bar', ["hey"]], 'myhost')"#,
    );
    assert_eq!(out, "");
    let m = metrics("sm:1");
    assert_eq!(m.len(), 1);
    let m = &m[0];
    assert_eq!(
        (m.mtype, m.name.as_str(), m.value, m.hostname.as_str()),
        (MetricType::Gauge, "name", -99.0, "myhost")
    );
    assert_eq!(m.tags, ["foo", "bar"], "non-string tags are dropped");
    assert!(!m.flush_first_value);
}

#[test]
fn submit_metric_flush_first_value_and_types() {
    let out = run(r#"
aggregator.submit_metric(None, 'sm:2', aggregator.MONOTONIC_COUNT, 'n', 5, (), '', True)
aggregator.submit_metric(object(), 'sm:2', 5, 'h', 1.5, ('t:1',), 'h', 0)
aggregator.submit_metric(None, 'sm:2', 7, 'dropped', 1.0, [], '')
aggregator.submit_metric(None, 'sm:2', 0, 'g', 2, [], '', 2)
"#);
    assert_eq!(out, "");
    let m = metrics("sm:2");
    assert_eq!(
        m.len(),
        3,
        "an unknown metric type is dropped, as the Agent does: {m:?}"
    );
    assert_eq!(
        (m[0].mtype, m[0].value, m[0].flush_first_value),
        (MetricType::MonotonicCount, 5.0, true)
    );
    assert!(m[0].tags.is_empty());
    assert_eq!(
        (m[1].mtype, m[1].tags.clone(), m[1].flush_first_value),
        (MetricType::Histogram, strings(&["t:1"]), false)
    );
    assert!(m[2].flush_first_value, "any non-zero byte is true");
}

#[test]
fn submit_metric_tags_as_rtloader_reads_them() {
    let out = run(r#"
aggregator.submit_metric(None, 'sm:3', 0, 'a', 1, [b'bytes:1', 'caf\u00e9:2', b'\xff:3', 'nul\x00cut', '\udc80', 'end'], '')
aggregator.submit_metric(None, 'sm:3', 0, 'b', 1, 'xy', '')
aggregator.submit_metric(None, 'sm:3', 0, 'c', 1, ['t%d' % i for i in range(40)], '')
class Seq:
    def __len__(self): return 2
    def __getitem__(self, i):
        if i < 2: return 'seq:%d' % i
        raise IndexError(i)
aggregator.submit_metric(None, 'sm:3', 0, 'd', 1, Seq(), '')
"#);
    assert_eq!(out, "");
    let m = metrics("sm:3");
    assert_eq!(
        m[0].tags,
        ["bytes:1", "café:2", "\u{fffd}:3", "nul", "end"],
        "bytes, UTF-8, lossy bytes, NUL cut, surrogate dropped"
    );
    assert_eq!(m[1].tags, ["x", "y"], "a str is a sequence of characters");
    assert_eq!(
        m[2].tags,
        (0..40).map(|i| format!("t{i}")).collect::<Vec<_>>(),
        "more tags than fit on the stack"
    );
    assert_eq!(m[3].tags, ["seq:0", "seq:1"], "any sequence");
}

#[test]
fn submit_metric_errors_are_rtloaders() {
    let cases = [
        // TestSubmitMetricParsingError
        (
            r#"aggregator.submit_metric(None, 21, aggregator.GAUGE, 'name', -99.0, ['foo'], 'myhost')"#,
            "TypeError: argument 2 must be str, not int",
        ),
        // TestSubmitMetricTagsError
        (
            "aggregator.submit_metric(None, 'sm:4', aggregator.GAUGE, 'name', -99.0, 123, 'myhost')",
            "TypeError: tags must be a sequence",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1.0, {}, 'h')",
            "TypeError: tags must be a sequence",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1.0, [], 'h', check_id='x')",
            "TypeError: submit_metric() takes no keyword arguments",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1.0, [])",
            "TypeError: function takes at least 7 arguments (6 given)",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1.0, [], 'h', False, 1)",
            "TypeError: function takes at most 8 arguments (9 given)",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0.5, 'n', 1.0, [], 'h')",
            "TypeError: 'float' object cannot be interpreted as an integer",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 2**40, 'n', 1.0, [], 'h')",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 'x', [], 'h')",
            "TypeError: must be real number, not str",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 10**400, [], 'h')",
            "OverflowError: int too large to convert to float",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1, [], None)",
            "TypeError: argument 7 must be str, not None",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, b'n', 1, [], 'h')",
            "TypeError: argument 4 must be str, not bytes",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n\\0x', 1, [], 'h')",
            "ValueError: embedded null character",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1, [], 'h', 256)",
            "OverflowError: unsigned byte integer is greater than maximum",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n', 1, [], 'h', -1)",
            "OverflowError: unsigned byte integer is less than minimum",
        ),
        (
            "aggregator.submit_metric(None, 'sm:4', 0, 'n\\udc80', 1, [], 'h')",
            "UnicodeEncodeError: 'utf-8' codec can't encode character '\\udc80' in position 1: surrogates not allowed",
        ),
    ];
    for (code, want) in cases {
        assert_eq!(run(code), want, "{code}");
    }
    assert!(metrics("sm:4").is_empty(), "nothing is recorded on error");
}

#[test]
fn submit_service_check() {
    // TestSubmitServiceCheck
    let out = run(
        r#"aggregator.submit_service_check(None, 'sc:1', 'my.service.check', 1, ['foo', 21, 'bar', ["hey"]], 'myhost', 'A message!')"#,
    );
    assert_eq!(out, "");
    assert_eq!(
        only("sc:1"),
        Submission::ServiceCheck(ServiceCheck {
            name: "my.service.check".into(),
            status: 1,
            tags: strings(&["foo", "bar"]),
            hostname: "myhost".into(),
            message: "A message!".into(),
        })
    );
    // TestSubmitServiceCheckParsingError (check_id is argument 2), TestSubmitServiceCheckTagsError
    assert_eq!(
        run(r#"aggregator.submit_service_check(None, 123, 'my.service.check', 1, ['foo'], 'myhost', 'A message!')"#),
        "TypeError: argument 2 must be str, not int"
    );
    assert_eq!(
        run("aggregator.submit_service_check(None, 'sc:1', 'my.service.check', 1, 123, 'myhost', 'A message!')"),
        "TypeError: tags must be a sequence"
    );
    assert_eq!(
        run("aggregator.submit_service_check(None, 'sc:1', 'n', 1, [], 'h')"),
        "TypeError: function takes exactly 7 arguments (6 given)"
    );
    assert!(the_host().aggregator.take_submissions("sc:1").is_empty());
}

#[test]
fn submit_event() {
    // TestSubmitEvent
    let out = run(r#"
ev = {
    'timestamp': 123456,
    'event_type': 'my.event',
    'host': 'myhost',
    'msg_text': 'Event message',
    'msg_title': 'Event title',
    'alert_type': 'foo',
    'source_type_name': 'test',
    'event_object': 'myhost',
    'tags': ['foo', 21, 'bar', ["hey"]],
    'priority': 'high',
    'aggregation_key': 'aggregate',
}
aggregator.submit_event(None, 'ev:1', ev)
"#);
    assert_eq!(out, "");
    let Submission::Event(e) = only("ev:1") else {
        panic!("not an event")
    };
    assert_eq!(e.title.as_deref(), Some("Event title"));
    assert_eq!(e.text.as_deref(), Some("Event message"));
    assert_eq!(e.timestamp, 123456);
    assert_eq!(e.priority.as_deref(), Some("high"));
    assert_eq!(e.host.as_deref(), Some("myhost"));
    assert_eq!(e.alert_type.as_deref(), Some("foo"));
    assert_eq!(e.aggregation_key.as_deref(), Some("aggregate"));
    assert_eq!(e.source_type_name.as_deref(), Some("test"));
    assert_eq!(e.event_type.as_deref(), Some("my.event"));
    assert_eq!(e.tags, Some(strings(&["foo", "bar"])));
    let raw = e.raw.expect("the dict as submitted");
    assert_eq!(raw.get("event_object").and_then(Value::as_str), Some("myhost"));
    assert_eq!(raw.get("tags").and_then(Value::as_array).map(|t| t.len()), Some(4));
}

#[test]
fn submit_event_missing_and_odd_fields() {
    // TestSubmitEventMissingFields: NULL fields, ts 0, no tags.
    assert_eq!(
        run("aggregator.submit_event(None, 'ev:2', {'msg_text': 'Event message'})"),
        ""
    );
    let Submission::Event(e) = only("ev:2") else {
        panic!("not an event")
    };
    assert_eq!(
        Event { raw: None, ..e },
        Event {
            text: Some("Event message".into()),
            ..Event::default()
        }
    );
    // Fields through as_string (bytes too, other types dropped); a bad timestamp is 0.
    let out = run(
        r#"aggregator.submit_event(None, 'ev:2', {'msg_title': b'bytes', 'host': 5, 'timestamp': 'x', 'tags': (), 'priority': object()})"#,
    );
    assert_eq!(out, "");
    let Submission::Event(e) = only("ev:2") else {
        panic!("not an event")
    };
    assert_eq!(
        (e.title.as_deref(), e.host, e.timestamp, e.tags, e.priority),
        (Some("bytes"), None, 0, Some(vec![]), None)
    );
    assert!(e.raw.is_none(), "an object() is not JSON: only the fields are kept");
    assert_eq!(run("aggregator.submit_event(None, 'ev:2', {'timestamp': 2**70})"), "");
    let Submission::Event(e) = only("ev:2") else {
        panic!("not an event")
    };
    assert_eq!(e.timestamp, 0);
}

#[test]
fn submit_event_errors() {
    // TestEventCheckEventNotDict, TestEventCheckParsingError, TestEventCheckTagsError
    assert_eq!(
        run(r#"aggregator.submit_event(None, 'ev:3', "I should be a dict")"#),
        "TypeError: event must be a dict"
    );
    assert_eq!(
        run("aggregator.submit_event(None, 21, {})"),
        "TypeError: argument 2 must be str, not int"
    );
    assert_eq!(
        run("aggregator.submit_event(None, 'ev:3', {'msg_title': 'Event title', 'tags': 123})"),
        "TypeError: tags must be a sequence"
    );
    assert!(the_host().aggregator.take_submissions("ev:3").is_empty());
}

#[test]
fn submit_histogram_bucket() {
    // TestSubmitHistogramBucket: tags come after the hostname.
    let out = run(r#"
aggregator.submit_histogram_bucket(None, 'hb:1', 'name', 42, 1.0, 2.0, 1, 'myhost', ['foo', 21, 'bar', ["hey"]])
aggregator.submit_histogram_bucket_multi(None, 'hb:1', 'name', 7, 2.0, float('inf'), 0, '', [], True)
"#);
    assert_eq!(out, "");
    let subs = the_host().aggregator.take_submissions("hb:1");
    assert_eq!(
        subs,
        [
            Submission::HistogramBucket(HistogramBucket {
                name: "name".into(),
                value: 42,
                lower_bound: 1.0,
                upper_bound: 2.0,
                monotonic: true,
                hostname: "myhost".into(),
                tags: strings(&["foo", "bar"]),
                flush_first_value: false,
                multiple_buckets: false,
            }),
            Submission::HistogramBucket(HistogramBucket {
                name: "name".into(),
                value: 7,
                lower_bound: 2.0,
                upper_bound: f64::INFINITY,
                monotonic: false,
                hostname: String::new(),
                tags: vec![],
                flush_first_value: true,
                multiple_buckets: true,
            }),
        ]
    );
    assert_eq!(
        run("aggregator.submit_histogram_bucket(None, 'hb:1', 'n', 'x', 1.0, 2.0, 1, 'h', [])"),
        "TypeError: 'str' object cannot be interpreted as an integer"
    );
    assert_eq!(
        run("aggregator.submit_histogram_bucket(None, 'hb:1', 'n', 2**70, 1.0, 2.0, 1, 'h', [])"),
        "OverflowError: int too big to convert"
    );
    assert_eq!(
        run("aggregator.submit_histogram_bucket(None, 'hb:1', 'n', 1, 'x', 2.0, 1, 'h', [])"),
        "TypeError: must be real number, not str"
    );
    assert_eq!(
        run("aggregator.submit_histogram_bucket(None, 'hb:1', 'n', 1, 1.0, 2.0, 1, 'h', 5)"),
        "TypeError: tags must be a sequence"
    );
    assert!(the_host().aggregator.take_submissions("hb:1").is_empty());
}

#[test]
fn submit_event_platform_event() {
    // TestSubmitEventPlatformEvent
    let cases = [
        ("None, 'epe:1', 'raw-event', 'dbm-sample'", ""),
        ("None, 'epe:1', '', ''", ""),
        ("None, 'epe:1', b'\\x00raw', 'dbm-metrics'", ""),
        (
            "None, 'epe:1', 'raw-event', 1",
            "TypeError: argument 4 must be str, not int",
        ),
        (
            "None, 'epe:1', 1, 'x'",
            "TypeError: a bytes-like object is required, not 'int'",
        ),
        (
            "None, 'epe:1', bytearray(b'ab'), 'x'",
            "TypeError: argument 3 must be read-only bytes-like object, not bytearray",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(
            run(&format!("aggregator.submit_event_platform_event({args})")),
            want,
            "{args}"
        );
    }
    let subs = the_host().aggregator.take_submissions("epe:1");
    let ev = |raw: &[u8], t: &str| {
        Submission::EventPlatformEvent(EventPlatformEvent {
            raw_event: raw.to_vec(),
            event_type: t.into(),
        })
    };
    assert_eq!(
        subs,
        [ev(b"raw-event", "dbm-sample"), ev(b"", ""), ev(b"\0raw", "dbm-metrics")]
    );
}

// ---- datadog_agent (rtloader/test/datadog_agent) -------------------------------------

#[test]
fn datadog_agent_host_values() {
    // TestGetVersion, TestGetHostname, TestGetClustername: str values.
    assert_eq!(
        run("v = datadog_agent.get_version(); assert type(v) is str; out = v"),
        "1.2.3"
    );
    assert_eq!(
        run("v = datadog_agent.get_hostname(); assert type(v) is str; out = v"),
        "localfoobar"
    );
    assert_eq!(
        run("v = datadog_agent.get_clustername(); assert type(v) is str; out = v"),
        "the-cluster"
    );
    // TestGetTracemallocEnabled (arguments are ignored).
    assert_eq!(
        run("out = (datadog_agent.tracemalloc_enabled(), datadog_agent.tracemalloc_enabled(1, 2))"),
        "(True, True)"
    );
    assert_eq!(
        run("datadog_agent.tracemalloc_enabled(x=1)"),
        "TypeError: tracemalloc_enabled() takes no keyword arguments"
    );
    assert_eq!(
        run("out = datadog_agent.get_host_tags()"),
        r#"{"system":["env:test","role:db"]}"#
    );
    let start = run("t = datadog_agent.get_process_start_time(); assert type(t) is float; out = t");
    assert_eq!(start.parse::<f64>().unwrap(), the_host().process_start_time);
    assert_eq!(
        run("datadog_agent.get_hostname(1)"),
        "TypeError: datadog_agent.get_hostname() takes no arguments (1 given)"
    );
    assert_eq!(
        run("datadog_agent.get_version(x=1)"),
        "TypeError: datadog_agent.get_version() takes no keyword arguments"
    );
}

#[test]
fn datadog_agent_get_config() {
    // TestGetConfig: the JSON payload, decoded.
    assert_eq!(
        run(
            "d = datadog_agent.get_config('foo'); out = '{}:{}:{}'.format(d.get('name'), d.get('body'), d.get('time'))"
        ),
        "foo:Hello:123456"
    );
    assert_eq!(run("out = repr(datadog_agent.get_config('no_such_key'))"), "None");
    assert_eq!(run("out = datadog_agent.get_config('tags')"), "['env:test', 'role:db']");
    // NaN and infinities reach Python as floats, as Python's json.loads makes them.
    assert_eq!(
        run("import math\nv = datadog_agent.get_config('special_floats')\nout = (math.isnan(v['nan']), v['inf'], v['ninf'])"),
        "(True, inf, -inf)"
    );
    assert_eq!(
        run("datadog_agent.get_config(1)"),
        "TypeError: argument 1 must be str, not int"
    );
    assert_eq!(
        run("datadog_agent.get_config()"),
        "TypeError: function takes exactly 1 argument (0 given)"
    );
}

#[test]
fn datadog_agent_headers() {
    // TestHeaders, and util.headers (util_test.go TestHeaders).
    for module in ["datadog_agent", "util"] {
        let out = run(&format!(
            "d = {module}.headers(http_host='myhost', ignore_me='snafu'); out = ','.join(sorted(d.keys())) + '|' + d['Host'] + '|' + d['User-Agent']"
        ));
        assert_eq!(
            out, "Accept,Content-Type,Host,User-Agent|myhost|Datadog Agent/1.2.3",
            "{module}"
        );
    }
    assert_eq!(
        run("out = sorted(datadog_agent.headers({'agent': 'config'}))"),
        "['Accept', 'Content-Type', 'User-Agent']"
    );
}

#[test]
fn datadog_agent_log() {
    // TestLog: to the host's log sink, level as given.
    assert_eq!(run("datadog_agent.log('foo message', 99)"), "");
    assert!(LOGS.lock().unwrap().contains(&LogRecord {
        level: 99,
        message: "foo message".into()
    }));
    assert_eq!(
        run("datadog_agent.log('foo message')"),
        "TypeError: function takes exactly 2 arguments (1 given)"
    );
    assert_eq!(
        run("datadog_agent.log('m', 'x')"),
        "TypeError: 'str' object cannot be interpreted as an integer"
    );
    assert_eq!(
        run("datadog_agent.log(message='m', level=1)"),
        "TypeError: log() takes no keyword arguments"
    );
}

#[test]
fn datadog_agent_metadata_and_logs() {
    // TestSetCheckMetadata
    assert_eq!(
        run("datadog_agent.set_check_metadata('redis:test:12345', 'version.raw', '5.0.6')"),
        ""
    );
    assert_eq!(
        the_host().aggregator.check_metadata("redis:test:12345"),
        [("version.raw".to_string(), "5.0.6".to_string())]
    );
    assert_eq!(run("datadog_agent.send_log('{\"message\": \"hi\"}', 'sendlog:1')"), "");
    assert_eq!(
        only("sendlog:1"),
        Submission::Log {
            line: r#"{"message": "hi"}"#.into()
        }
    );
    assert_eq!(
        run("datadog_agent.set_check_metadata('a', 'b')"),
        "TypeError: function takes exactly 3 arguments (2 given)"
    );
    assert_eq!(
        run("datadog_agent.send_log(1, 'x')"),
        "TypeError: argument 1 must be str, not int"
    );
}

fn external(hostname: &str) -> Vec<(String, Vec<String>)> {
    the_host()
        .aggregator
        .external_tags()
        .into_iter()
        .filter(|e| e.hostname == hostname)
        .map(|e| (e.source_type, e.tags))
        .collect()
}

#[test]
fn datadog_agent_set_external_tags() {
    // TestSetExternalTags, ...IgnoreNonString, ...Unicode, ...EmptyDict
    let out = run(r#"
datadog_agent.set_external_tags([
    ('ext-a', {'source_type': ['tag1', 123, 'tag2']}),
    ('ext-b', {'source_type2': [u'tag3', [], b'tag4']}),
    ('ext-c', {}),
])
"#);
    assert_eq!(out, "");
    assert_eq!(
        external("ext-a"),
        [("source_type".to_string(), strings(&["tag1", "tag2"]))]
    );
    assert_eq!(
        external("ext-b"),
        [("source_type2".to_string(), strings(&["tag3", "tag4"]))]
    );
    assert!(external("ext-c").is_empty(), "an empty dict is skipped");
    // Each error message; tuples before the bad one are already recorded.
    let cases = [
        ("{}", "TypeError: tags must be a list"),
        (
            "[{}, {}]",
            "TypeError: external host tags list must contain only tuples",
        ),
        (
            "[(123, {'source_type': ['tag1', 'tag2']})]",
            "TypeError: hostname is not a valid string",
        ),
        (
            "[('ext-d', ('source_type', ['tag1', 'tag2']))]",
            "TypeError: second elem of the host tags tuple must be a dict",
        ),
        (
            "[('ext-e', {'s': ['t']}), ('ext-d', {123: ['tag3', 'tag4']})]",
            "TypeError: source_type is not a valid string",
        ),
        (
            "[('ext-d', {'source_type': {'tag1': 'tag2'}})]",
            "TypeError: dict value must be a list of tags",
        ),
        ("[()]", "TypeError: hostname is not a valid string"),
    ];
    for (arg, want) in cases {
        assert_eq!(run(&format!("datadog_agent.set_external_tags({arg})")), want, "{arg}");
    }
    assert_eq!(external("ext-e"), [("s".to_string(), strings(&["t"]))]);
    assert!(external("ext-d").is_empty());
}

#[test]
fn datadog_agent_persistent_cache() {
    // TestWritePersistentCache, TestReadPersistentCache: on disk under the data directory.
    assert_eq!(
        run("datadog_agent.write_persistent_cache('ddtest:12345', 'someothervalue')"),
        ""
    );
    assert_eq!(
        run("data = datadog_agent.read_persistent_cache('ddtest:12345'); assert type(data) is str; out = data"),
        "someothervalue"
    );
    let cache = the_host().cache.as_ref().unwrap();
    assert_eq!(
        std::fs::read_to_string(cache.path_for("ddtest:12345")).unwrap(),
        "someothervalue"
    );
    assert_eq!(
        run("out = repr(datadog_agent.read_persistent_cache('ddtest:missing'))"),
        "''"
    );
    assert_eq!(
        run("datadog_agent.read_persistent_cache(1)"),
        "TypeError: argument 1 must be str, not int"
    );
    // A read that fails (the key's path is a directory).
    assert_eq!(run("datadog_agent.write_persistent_cache('ddtest2:k', 'v')"), "");
    assert_eq!(
        run("datadog_agent.read_persistent_cache('ddtest2')"),
        "RuntimeError: failed to read data"
    );
}

#[test]
fn datadog_agent_obfuscate_sql() {
    // TestObfuscateSql, TestObfuscateSQLErrors
    assert_eq!(
        run("out = datadog_agent.obfuscate_sql('select * from table where id = 1')"),
        "select * from table where id = ?"
    );
    let out = run(
        "out = datadog_agent.obfuscate_sql(query='select * from t where a = 1', options='{\"table_names\": true, \"return_json_metadata\": true}')",
    );
    let v = serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        v.get("query").and_then(Value::as_str),
        Some("select * from t where a = ?")
    );
    assert_eq!(
        v.get("metadata")
            .and_then(|m| m.get("tables_csv"))
            .and_then(Value::as_str),
        Some("t")
    );
    let cases = [
        ("''", "RuntimeError: result is empty"),
        ("{1: 2}", "TypeError: argument 1 must be str, not dict"),
        ("None", "TypeError: argument 1 must be str, not None"),
        ("'select 1', None", "TypeError: argument 2 must be str, not None"),
        ("", "TypeError: function missing required argument 'query' (pos 1)"),
        (
            "'a', 'b', 'c'",
            "TypeError: function takes at most 2 arguments (3 given)",
        ),
        (
            "'select 1', foo=1",
            "TypeError: 'foo' is an invalid keyword argument for this function",
        ),
        (
            "'select 1', query='x'",
            "TypeError: argument for function given by name ('query') and position (1)",
        ),
        ("'select 1', '{'", "RuntimeError: invalid obfuscation options: "),
    ];
    for (args, want) in cases {
        let out = run(&format!("datadog_agent.obfuscate_sql({args})"));
        assert!(out.starts_with(want), "{args}: {out}");
    }
}

#[test]
fn datadog_agent_batch_obfuscate_sql() {
    let out = run("out = datadog_agent.batch_obfuscate_sql(['select 1', 'select * from t where a = \\'x\\''])");
    let v = serde_json::from_str::<Value>(&out).unwrap();
    let queries: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.get("query").and_then(Value::as_str).unwrap())
        .collect();
    assert_eq!(queries, ["select ?", "select * from t where a = ?"]);
    assert_eq!(
        run("datadog_agent.batch_obfuscate_sql('select 1')"),
        "TypeError: queries must be a list"
    );
    assert_eq!(
        run("datadog_agent.batch_obfuscate_sql(['select 1', 2])"),
        "TypeError: all queries must be strings"
    );
    assert_eq!(
        run("datadog_agent.batch_obfuscate_sql()"),
        "TypeError: function missing required argument 'queries' (pos 1)"
    );
}

#[test]
fn datadog_agent_telemetry_and_issues() {
    let out = run(r#"
datadog_agent.emit_agent_telemetry('tel_check', 'metric.a', 2, 'counter')
datadog_agent.emit_agent_telemetry('tel_check', 'metric.a', 3.5, 'counter', ignored=1)
"#);
    assert_eq!(out, "");
    let t = datadog_agent::agent_telemetry()
        .into_iter()
        .find(|t| t.check_name == "tel_check")
        .unwrap();
    assert_eq!(
        (t.metric_name.as_str(), t.metric_type.as_str(), t.count, t.sum, t.last),
        ("metric.a", "counter", 2, 5.5, 3.5)
    );
    assert_eq!(
        run("datadog_agent.emit_agent_telemetry('c', 'm', 'x', 'counter')"),
        "TypeError: must be real number, not str"
    );

    assert_eq!(
        run(r#"datadog_agent.report_issue('issue_check', '{"id": "issue-1", "issue_name": "n"}')"#),
        ""
    );
    let issues: Vec<_> = datadog_agent::reported_issues()
        .into_iter()
        .filter(|i| i.check_name == "issue_check")
        .collect();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].id, "issue-1");
    // Python's json.dumps writes NaN and Infinity; Python's json.loads reads them.
    assert_eq!(
        run(r#"datadog_agent.report_issue('issue_check', '{"id": "issue-nan", "value": NaN, "limit": -Infinity}')"#),
        ""
    );
    let nan = datadog_agent::reported_issues()
        .into_iter()
        .find(|i| i.id == "issue-nan")
        .expect("recorded with its id");
    assert!(nan.report_json.contains("NaN"), "kept as sent: {}", nan.report_json);
    assert_eq!(run("datadog_agent.resolve_issue('issue-nan')"), "");
    assert_eq!(run("datadog_agent.resolve_issue('issue-1')"), "");
    assert!(!datadog_agent::reported_issues().iter().any(|i| i.id == "issue-1"));
    assert_eq!(run("datadog_agent.resolve_issue('never-reported')"), "");
}

// ---- _util and util (rtloader/test/uutil) ---------------------------------------------

#[test]
fn util_subprocess_output() {
    // TestSubprocessOutput, TestGetSubprocessOutput, ...Stderr, ...RetCode, ...StderrRetCode
    for f in ["subprocess_output", "get_subprocess_output"] {
        let out = run(&format!(
            "stdout, stderr, ret = _util.{f}(['sh', '-c', 'printf /tmp'], False)\nout = stdout + ' | ' + stderr + ' | ' + str(ret)"
        ));
        assert_eq!(out, "/tmp |  | 0", "{f}");
    }
    let out = run(
        "stdout, stderr, ret = _util.get_subprocess_output(['sh', '-c', 'printf /tmp; printf \"some error\" >&2; exit 21'])\n\
         out = stdout + ' | ' + stderr + ' | ' + str(ret)",
    );
    assert_eq!(out, "/tmp | some error | 21");
    // Never a shell: the arguments are passed as they are.
    assert_eq!(
        run("out = _util.get_subprocess_output(['echo', '$HOME;', b'`id`'])[0]"),
        "$HOME; `id`"
    );
}

#[test]
fn util_subprocess_output_env() {
    // TestGetSubprocessOutputEnv: the env dict is the child's environment.
    let out = run(
        r#"out = _util.get_subprocess_output(["sh", "-c", "echo $FOO-$BAZ-${HOME:-nohome}"], False, env={'FOO': 'BAR', 'BAZ': 'QUX'})[0]"#,
    );
    assert_eq!(out, "BAR-QUX-nohome");
    assert_eq!(
        run(r#"out = _util.get_subprocess_output(["sh", "-c", "printf %s \"$PATH\""], env={})[0]"#),
        std::env::var("PATH").unwrap(),
        "{{}} inherits"
    );
    assert_eq!(
        run(r#"out = _util.get_subprocess_output(["sh", "-c", "printf %s \"$PATH\""], env=None)[0]"#),
        std::env::var("PATH").unwrap()
    );
    let cases = [
        ("env=[]", "TypeError: env is not a dict"),
        ("env={1: 'a'}", "TypeError: env key is not a string"),
        ("env={'a': 1}", "TypeError: env value is not a string"),
    ];
    for (kw, want) in cases {
        assert_eq!(
            run(&format!("_util.get_subprocess_output(['true'], False, {kw})")),
            want
        );
    }
}

#[test]
fn util_subprocess_output_errors() {
    let cases = [
        // TestSubprocessOutputWrongArg, ...EmptyList, ...ErrorNotList, ...ErrorNotBool, ...CommandArgsNotString
        (
            "_util.subprocess_output()",
            "TypeError: get_subprocess_output() missing required argument 'command' (pos 1)",
        ),
        ("_util.subprocess_output([])", "TypeError: invalid command: empty list"),
        (
            "_util.get_subprocess_output('ls', False)",
            "TypeError: command args is not a list",
        ),
        (
            "_util.get_subprocess_output(['ls'], 1)",
            "TypeError: bad raise_on_empty argument: should be bool",
        ),
        (
            "_util.get_subprocess_output(['ls', 123], False)",
            "TypeError: command argument must be valid strings",
        ),
        (
            "_util.get_subprocess_output(['ls'], False, None)",
            "TypeError: get_subprocess_output() takes at most 2 positional arguments (3 given)",
        ),
        (
            "_util.get_subprocess_output(['ls'], foo=1)",
            "TypeError: 'foo' is an invalid keyword argument for get_subprocess_output()",
        ),
        (
            "_util.get_subprocess_output(['ls'], command=['ls'])",
            "TypeError: argument for get_subprocess_output() given by name ('command') and position (1)",
        ),
        // TestSubprocessOutputRaiseEmptyStdout
        (
            "_util.subprocess_output(['true'], True)",
            "SubprocessOutputEmptyError: get_subprocess_output expected output but had none.",
        ),
        (
            "_util.subprocess_output(['/nonexistent/pyhost-dd-test'], True)",
            "SubprocessOutputEmptyError: get_subprocess_output expected output but had none.",
        ),
    ];
    for (code, want) in cases {
        assert_eq!(run(code), want, "{code}");
    }
    // TestSubprocessOutputRaiseException: the Agent's message for a command that cannot start.
    let out = run("_util.subprocess_output(['/nonexistent/pyhost-dd-test'], False)");
    assert!(
        out.starts_with("Exception: internal error starting subprocess: ") && out.contains("pyhost-dd-test"),
        "{out}"
    );
    // The exception type is the module's, and importable as datadog-checks-base does.
    assert_eq!(
        run("from _util import SubprocessOutputEmptyError\ntry:\n    _util.get_subprocess_output(['true'], True)\nexcept SubprocessOutputEmptyError as e:\n    out = 'caught ' + type(e).__module__"),
        "caught _util"
    );
}

#[test]
fn util_subprocess_output_releases_the_gil() {
    // The child waits (up to 20 s) for a file that a Python thread writes:
    // that thread can only run if the GIL is released while the child runs.
    let flag = data_dir().join("gil-flag");
    let _ = std::fs::remove_file(&flag);
    let flag = flag.display().to_string();
    let out = run(&format!(
        r#"
import threading, time
def touch():
    time.sleep(0.05)
    open({flag:?}, 'w').close()
t = threading.Thread(target=touch)
t.start()
script = 'i=0; while [ ! -e "$1" ]; do i=$((i+1)); [ $i -gt 2000 ] && {{ echo timeout; exit 1; }}; sleep 0.01; done; echo ok'
out = _util.get_subprocess_output(['sh', '-c', script, 'sh', {flag:?}])[0]
t.join()
"#
    ));
    assert_eq!(out, "ok");
}

#[test]
fn util_module_state_survives_reimport() {
    // Multi-phase init: a re-imported _util gets its own exception type, and
    // each module object raises its own.
    let out = run(r#"
import sys
old = _util
del sys.modules['_util']
import _util as new
assert new is not old and new.SubprocessOutputEmptyError is not old.SubprocessOutputEmptyError
try:
    old.get_subprocess_output(['true'], True)
except old.SubprocessOutputEmptyError:
    out = 'old'
try:
    new.get_subprocess_output(['true'], True)
except new.SubprocessOutputEmptyError:
    out += ' new'
sys.modules['_util'] = old
"#);
    assert_eq!(out, "old new");
}

#[test]
fn util_module_state_is_read_only_from_util() {
    setup();
    pyhost::with_gil(|py| {
        let util = py.import("_util").unwrap();
        let datadog_agent = py.import("datadog_agent").unwrap();
        for (module, own) in [(&util, true), (&datadog_agent, false)] {
            let ty = pyhost_agent::modules::util_empty_output_error(Some(module));
            assert_eq!(ty.is_ok(), own);
            if !own {
                assert!(ty.unwrap_err().is("SystemError"));
            }
        }
        // _util's state has the layout of pyhost_demo's: it used to be read
        // as one, and the other way round.
        // SAFETY: GIL held; a live module; a borrowed result, or NULL with
        // an exception set.
        let p = unsafe { pyhost::ffi::pyhost_module_demo_error(util.as_ptr()) };
        assert!(p.is_null());
        assert!(pyhost::Error::fetch(py).is("SystemError"));
        let demo = py.import("pyhost_demo").unwrap();
        let ty = pyhost_agent::modules::util_empty_output_error(Some(&demo));
        assert!(ty.unwrap_err().is("SystemError"));
    });
}

// ---- tagger, containers, kubeutil ----------------------------------------------------

#[test]
fn tagger() {
    let cases = [
        // TestGetTags, ...HighCard, ...Unknown, TestTagsLow/High/Orchestrator/Unknown
        ("tagger.get_tags('base', False)", r#"["a", "b", "c"]"#),
        ("tagger.get_tags('base', True)", r#"["A", "B", "C"]"#),
        ("tagger.get_tags('default_switch', True)", "[]"),
        ("tagger.get_tags('base', tagger.LOW)", r#"["a", "b", "c"]"#),
        ("tagger.tag('base', tagger.HIGH)", r#"["A", "B", "C"]"#),
        ("tagger.tag('base', tagger.ORCHESTRATOR)", r#"["1", "2", "3"]"#),
        ("tagger.tag('default_switch', tagger.LOW)", "[]"),
    ];
    for (call, want) in cases {
        assert_eq!(run(&format!("import json\nout = json.dumps({call})")), want, "{call}");
    }
    assert_eq!(run("out = (tagger.LOW, tagger.ORCHESTRATOR, tagger.HIGH)"), "(0, 1, 2)");
    // TestTagsInvalidCardinality, TestGetTagsErrorType, TestTagsErrorType
    assert_eq!(
        run("tagger.tag('default_switch', 123456)"),
        "TypeError: Invalid cardinality"
    );
    assert_eq!(
        run("tagger.get_tags(1234, True)"),
        "TypeError: argument 1 must be str, not int"
    );
    assert_eq!(
        run("tagger.tag(1234, tagger.LOW)"),
        "TypeError: argument 1 must be str, not int"
    );
    assert_eq!(
        run("tagger.tag('base')"),
        "TypeError: function takes exactly 2 arguments (1 given)"
    );
}

#[test]
fn containers() {
    // TestIsExcluded, TestIsExcludedErrorTypeName, TestIsExcludedErrorTypeImage
    assert_eq!(
        run("out = '{},{}'.format(containers.is_excluded('foo', 'bar'), containers.is_excluded('baz', 'bar'))"),
        "True,False"
    );
    assert_eq!(run("out = containers.is_excluded('baz', 'bar', 'kube-system')"), "True");
    assert_eq!(
        run("containers.is_excluded(123, 'bar')"),
        "TypeError: argument 1 must be str, not int"
    );
    assert_eq!(
        run("containers.is_excluded('foo', 123)"),
        "TypeError: argument 2 must be str, not int"
    );
    assert_eq!(
        run("containers.is_excluded('foo', 'bar', None)"),
        "TypeError: argument 3 must be str, not None"
    );
}

#[test]
fn kubeutil() {
    // TestGetConnectionInfo, TestGetConnectionInfoNoKubeutil (no payload: {}).
    let code =
        "d = kubeutil.get_connection_info()\nout = ','.join(sorted(d.keys())) + '-' + ','.join(sorted(d.values()))";
    assert_eq!(run(code), "BarKey,FooKey-BarValue,FooValue");
    CONNECTION_INFO.store(1, Ordering::SeqCst);
    assert_eq!(run("out = kubeutil.get_connection_info()"), "{}");
    CONNECTION_INFO.store(2, Ordering::SeqCst);
    assert_eq!(
        run("out = kubeutil.get_connection_info()"),
        "{}",
        "a non-object payload"
    );
    CONNECTION_INFO.store(0, Ordering::SeqCst);
    assert_eq!(
        run("kubeutil.get_connection_info(1)"),
        "TypeError: kubeutil.get_connection_info() takes no arguments (1 given)"
    );
}

#[test]
fn modules_are_builtins() {
    let names = modules::MODULE_NAMES.map(|n| format!("'{n}'")).join(", ");
    assert_eq!(
        run(&format!(
            "import sys\nout = all(n in sys.builtin_module_names for n in [{names}])"
        )),
        "True"
    );
}

// ---- no host: rtloader with no callbacks set --------------------------------------------

/// Runs in a child process with no host installed (see below).
#[test]
#[ignore = "run by no_host_behaves_as_unset_callbacks in a process without a host"]
fn no_host_child() {
    assert!(
        std::env::var_os(NO_HOST_ENV).is_some(),
        "run through no_host_behaves_as_unset_callbacks"
    );
    assert!(setup().is_none());
    let cases = [
        // Callback unset: None, before the arguments are even parsed.
        (
            "out = repr(aggregator.submit_metric(None, 21, 0, 'n', 1.0, [], 'h'))",
            "None",
        ),
        ("out = repr(aggregator.submit_event(1))", "None"),
        ("out = repr(datadog_agent.get_config('foo'))", "None"),
        ("out = repr(datadog_agent.get_hostname())", "None"),
        ("out = repr(datadog_agent.get_version())", "None"),
        ("out = repr(datadog_agent.headers(http_host='x'))", "None"),
        ("out = repr(datadog_agent.read_persistent_cache('k'))", "None"),
        ("out = repr(datadog_agent.obfuscate_sql(1))", "None"),
        ("out = repr(datadog_agent.tracemalloc_enabled())", "False"),
        ("out = repr(datadog_agent.log('message', 20))", "None"),
        ("out = repr(_util.get_subprocess_output(['true']))", "None"),
        ("out = repr(util.headers())", "None"),
        ("out = repr(tagger.tag('base', 99))", "None"),
        ("out = repr(containers.is_excluded(1, 2))", "None"),
        ("out = repr(kubeutil.get_connection_info())", "None"),
        // What CPython checks before the function runs still applies, and
        // `log` always parses its arguments.
        (
            "aggregator.submit_metric(x=1)",
            "TypeError: submit_metric() takes no keyword arguments",
        ),
        (
            "datadog_agent.get_hostname(1)",
            "TypeError: datadog_agent.get_hostname() takes no arguments (1 given)",
        ),
        (
            "datadog_agent.log('message')",
            "TypeError: function takes exactly 2 arguments (1 given)",
        ),
        (
            "out = aggregator.GAUGE, tagger.HIGH, _util.SubprocessOutputEmptyError.__name__",
            "(0, 2, 'SubprocessOutputEmptyError')",
        ),
    ];
    for (code, want) in cases {
        assert_eq!(run(code), want, "{code}");
    }
}

#[test]
fn no_host_behaves_as_unset_callbacks() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_host_child", "--ignored", "--test-threads=1"])
        .env(NO_HOST_ENV, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran the test: {text}");
}

// ---- several interpreters at once ------------------------------------------------

/// Four own-GIL sub-interpreters submit through `aggregator` at the same time
/// into the one Rust aggregator: every submission arrives, each under its
/// check id.
#[cfg(Py_3_12)]
#[test]
fn modules_record_from_several_interpreters_at_once() {
    const N: usize = 5000;
    let host = the_host();
    let subs: Vec<pyhost::SubInterpreter> = (0..4).map(|_| pyhost::SubInterpreter::new().unwrap()).collect();
    let handles: Vec<_> = subs
        .iter()
        .enumerate()
        .map(|(k, sub)| {
            sub.submit(move |py| {
                let g = py.new_globals()?;
                g.set_item("check_id", format!("multi-interp-{k}"))?;
                g.set_item("n", N)?;
                py.run(
                    "import aggregator, datadog_agent\n\
                     assert datadog_agent.get_hostname() == 'localfoobar'\n\
                     for i in range(n):\n    \
                     aggregator.submit_metric(None, check_id, aggregator.GAUGE, 'multi.metric', float(i), ['k:v'], 'h', False)\n",
                    Some(&g),
                    None,
                )
            })
            .unwrap()
        })
        .collect();
    for h in handles {
        h.wait().unwrap();
    }
    for k in 0..4 {
        let got = host.aggregator.take_submissions(&format!("multi-interp-{k}"));
        assert_eq!(got.len(), N, "interpreter {k}");
    }
}
