"""pyhost's base package for Agent checks: ``from checks import AgentCheck``.

A check written for the Datadog Agent runs on this base unchanged when
``datadog-checks-base`` is not installed (the documented custom-check import
is ``try: from datadog_checks.base import AgentCheck`` / ``except ImportError:
from checks import AgentCheck``, the old Agent's path).

It talks to the host through the built-in modules ``aggregator`` and
``datadog_agent`` with exactly the calls ``datadog-checks-base`` makes
(``submit_metric(self, check_id, mtype, name, value, tags, hostname,
flush_first_value)`` and so on), so one host implementation serves both
bases and a check submits the same things on either. Without the host
modules (plain ``python3``) it falls back to the recording stubs in
``checks.stubs``, and ``AGENT_RUNNING`` is False.

This file is pyhost's own code; the behaviour it reproduces is that of
``datadog_checks.base.AgentCheck`` (38.x).
"""

import copy
import functools
import inspect
import json
import logging
import re
import traceback
import unicodedata
from os.path import basename

try:
    import aggregator
    import datadog_agent

    AGENT_RUNNING = True
except ImportError:
    from checks.stubs import aggregator, datadog_agent

    AGENT_RUNNING = False

__all__ = [
    'AGENT_RUNNING',
    'AgentCheck',
    'CheckException',
    'ConfigurationError',
    'ServiceCheck',
    'is_affirmative',
]

TRACE_LEVEL = 7

# Tag names the backend treats specially; `disable_generic_tags` prefixes them with the check name.
GENERIC_TAGS = frozenset(
    {'cluster_name', 'clustername', 'cluster', 'clusterid', 'cluster_id', 'env', 'host_name', 'hostname', 'host',
     'service', 'version'}
)

_DEPRECATIONS = {
    'increment': (
        'DEPRECATION NOTICE: `AgentCheck.increment`/`AgentCheck.decrement` are deprecated, please use '
        '`AgentCheck.gauge` or `AgentCheck.count` instead, with a different metric name'
    ),
    'device_name': (
        'DEPRECATION NOTICE: `device_name` is deprecated, please use a `device:` tag in the `tags` list instead'
    ),
}

# Metric types for which one call is one context (the limiter counts calls, not distinct tag sets).
_ONE_PER_CONTEXT = (aggregator.GAUGE, aggregator.RATE, aggregator.MONOTONIC_COUNT)


class CheckException(Exception):
    """Base class for errors raised by checks."""


class ConfigurationError(CheckException):
    """The check's configuration is invalid."""


class _ServiceCheck(tuple):
    __slots__ = ()
    OK = property(lambda self: self[0])
    WARNING = property(lambda self: self[1])
    CRITICAL = property(lambda self: self[2])
    UNKNOWN = property(lambda self: self[3])


ServiceCheck = _ServiceCheck((0, 1, 2, 3))
"""Service check statuses: ``ServiceCheck.OK`` is 0, ... ``UNKNOWN`` is 3."""


def is_affirmative(value):
    """True for ``'yes'``, ``'true'``, ``'1'``, ``'y'``, ``'on'`` (any case) and truthy non-strings."""
    if isinstance(value, str):
        return value.lower() in {'yes', 'true', '1', 'y', 'on'}
    return bool(value)


def _to_native_string(s):
    # bytes are decoded; everything else is passed through (as the real base's ensure_unicode does).
    if isinstance(s, bytes):
        return s.decode('utf-8')
    return s


def _json_encode(obj):
    return json.dumps(obj, separators=(',', ':'))


# ---- logging ---------------------------------------------------------------------


class CheckLogFormatter(logging.Formatter):
    """``<check id> | (<file>:<line>) | <message>``, the Agent's check log format."""

    def format(self, record):
        message = _to_native_string(super().format(record))
        return '{} | ({}:{}) | {}'.format(
            getattr(record, '_check_id', '-'),
            getattr(record, '_filename', record.filename),
            getattr(record, '_lineno', record.lineno),
            message,
        )


class AgentLogHandler(logging.Handler):
    """Forwards every record to the host: ``datadog_agent.log(message, levelno)``."""

    def __init__(self):
        super().__init__()
        self.formatter = CheckLogFormatter()

    def emit(self, record):
        try:
            datadog_agent.log(self.format(record), record.levelno)
        except Exception:
            self.handleError(record)


class CheckLoggingAdapter(logging.LoggerAdapter):
    """Stamps every record with the check id (``unknown`` until it is set)."""

    def __init__(self, logger, check_id=''):
        super().__init__(logger, {})
        self.set_check_id(check_id)

    def set_check_id(self, check_id):
        self.check_id = check_id
        self.extra['_check_id'] = check_id or 'unknown'

    def process(self, msg, kwargs):
        kwargs.setdefault('extra', self.extra)
        return msg, kwargs

    def trace(self, msg, *args, **kwargs):
        self.log(TRACE_LEVEL, msg, *args, **kwargs)


_LOG_LEVELS = {
    'CRIT': logging.CRITICAL,
    'CRITICAL': logging.CRITICAL,
    'ERR': logging.ERROR,
    'ERROR': logging.ERROR,
    'WARN': logging.WARNING,
    'WARNING': logging.WARNING,
    'INFO': logging.INFO,
    'DEBUG': logging.DEBUG,
    'TRACE': TRACE_LEVEL,
}


def init_logging():
    """Forward the root logger to the host at the host's ``log_level``.

    Idempotent, and a no-op if ``datadog-checks-base`` already installed its
    own forwarding handler (both bases in one interpreter must not log twice).
    """
    logging.addLevelName(TRACE_LEVEL, 'TRACE')
    root = logging.getLogger()
    if any(type(h).__name__ == 'AgentLogHandler' for h in root.handlers):
        return
    root.addHandler(AgentLogHandler())
    level = datadog_agent.get_config('log_level')
    try:
        level = level.upper()
    except AttributeError:
        level = ''
    root.setLevel(_LOG_LEVELS.get(level, logging.INFO))


if AGENT_RUNNING:
    init_logging()


# ---- metadata --------------------------------------------------------------------

_SEMVER = re.compile(
    r"""
    v?
    (?P<major>0|[1-9]\d*)
    \.
    (?P<minor>0|[1-9]\d*)
    \.
    (?P<patch>0|[1-9]\d*)
    (?:-(?P<release>
        (?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)
        (?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*
    ))?
    (?:\+(?P<build>
        [0-9a-zA-Z-]+
        (?:\.[0-9a-zA-Z-]+)*
    ))?
    """,
    re.VERBOSE,
)


def _defined(d):
    return {k: v for k, v in d.items() if v is not None}


def _parse_version(version, options):
    scheme = options.get('scheme') or 'semver'
    if scheme == 'semver':
        match = _SEMVER.search(version)
        if not match:
            raise ValueError('Version does not adhere to semantic versioning')
        return scheme, _defined(match.groupdict())
    if scheme == 'regex':
        pattern = options.get('pattern')
        if not pattern:
            raise ValueError('Version scheme `regex` requires a `pattern` option')
        match = re.search(pattern, version)
        if not match:
            raise ValueError('Version does not match the regular expression pattern')
        parts = match.groupdict()
        if not parts:
            raise ValueError('Regular expression pattern has no named subgroups')
        return scheme, _defined(parts)
    if scheme == 'parts':
        part_map = options.get('part_map')
        if not part_map:
            raise ValueError('Version scheme `parts` requires a `part_map` option')
        return scheme, _defined(part_map)
    raise ValueError('Unsupported version scheme `{}`'.format(scheme))


# ---- the check base class ----------------------------------------------------------


class _Limiter(object):
    """Caps the number of contexts a check submits per run (``max_returned_metrics``)."""

    def __init__(self, check_name, limit, warning):
        self.check_name = check_name
        self.limit = limit
        self.warning = warning
        self.reset()

    def reset(self):
        self.reached_limit = False
        self.count = 0
        self.seen = set()

    def is_reached(self, uid=None):
        if uid is not None:
            if uid in self.seen:
                return self.reached_limit
            self.seen.add(uid)
        self.count += 1
        if self.reached_limit:
            return True
        if self.count > self.limit:
            self.warning('Check %s exceeded limit of %s %s, ignoring next ones', self.check_name, self.limit, 'metrics')
            self.reached_limit = True
            return True
        return False


class AgentCheck(object):
    """The base class of a check: override ``check(self, instance)``.

    Constructed by the host as ``AgentCheck(name=..., init_config=...,
    instances=(instance,))``, then given its ``check_id``; each ``run()``
    calls ``check`` with a copy of the instance and returns ``''`` or a JSON
    list of ``{"message", "traceback"}``.
    """

    # Prefix of every metric and service check name, and events' default source type.
    __NAMESPACE__ = ''

    OK, WARNING, CRITICAL, UNKNOWN = ServiceCheck

    # name -> function(value, options) returning a str, or a dict of name -> str.
    METADATA_TRANSFORMERS = None

    # Per-run context limit when the instance sets none (0: unlimited).
    DEFAULT_METRIC_LIMIT = 0

    METRIC_REPLACEMENT = re.compile(rb'([^a-zA-Z0-9_.]+)|(^[^a-zA-Z]+)')
    TAG_REPLACEMENT = re.compile(rb'[,\+\*\-/()\[\]{}\s]')
    MULTIPLE_UNDERSCORE_CLEANUP = re.compile(rb'__+')
    DOT_UNDERSCORE_CLEANUP = re.compile(rb'_*\._*')
    FIRST_CAP_RE = re.compile(rb'(.)([A-Z][a-z]+)')
    ALL_CAP_RE = re.compile(rb'([a-z0-9])([A-Z])')

    def __init__(self, *args, **kwargs):
        name = kwargs.get('name', '')
        init_config = kwargs.get('init_config', {})
        agent_config = kwargs.get('agentConfig', {})
        instances = kwargs.get('instances', [])
        if len(args) > 0:
            name = args[0]
        if len(args) > 1:
            init_config = args[1]
        if len(args) > 2:
            # (name, init_config, instances) or the old (name, init_config, agentConfig, instances).
            if len(args) > 3 or not isinstance(args[2], (list, tuple)) or 'instances' in kwargs:
                agent_config = args[2]
                if len(args) > 3:
                    instances = args[3]
            else:
                instances = args[2]

        self.name = name
        self.provider = ''
        self._log_adapter = CheckLoggingAdapter(logging.getLogger('checks.{}'.format(name)))
        self.log = self._log_adapter
        self.check_id = ''
        self.init_config = init_config
        self.agentConfig = agent_config
        self.instances = instances
        self.instance = instances[0] if instances else None
        self.warnings = []
        self.hostname = datadog_agent.get_hostname()

        instance = self.instance or {}
        self.disable_generic_tags = is_affirmative(instance.get('disable_generic_tags', False))
        patterns = instance.get('metric_patterns', {})
        if not isinstance(patterns, dict):
            raise ConfigurationError('Setting `metric_patterns` must be a mapping')
        self.exclude_metrics_pattern = self._metrics_pattern(patterns, 'exclude')
        self.include_metrics_pattern = self._metrics_pattern(patterns, 'include')
        self.metric_limiter = self._make_limiter()
        self._secrets = set()
        self._persistent_cache_key_prefix = ''
        self._deprecations_sent = set()

    def _log_deprecation(self, key):
        """Warn about a deprecated call, once per instance (as datadog-checks-base does)."""
        if key not in self._deprecations_sent:
            self._deprecations_sent.add(key)
            self.warning(_DEPRECATIONS[key])

    # -- identity ------------------------------------------------------------

    @property
    def check_id(self):
        """The host's id of this instance, ``<name>:<hash>``; empty until the host sets it."""
        return self._check_id

    @check_id.setter
    def check_id(self, value):
        self._check_id = value
        self._log_adapter.set_check_id(value)

    # -- configuration helpers ---------------------------------------------------

    @classmethod
    def load_config(cls, yaml_str):
        """Parse one configuration document (what rtloader calls as ``klass.load_config``).

        The host passes JSON, read with ``json``; other YAML needs PyYAML.
        ``''`` gives ``None``.
        """
        if yaml_str is None:
            return None
        text = _to_native_string(yaml_str).strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            pass
        try:
            import yaml
        except ImportError:
            raise ValueError('Failed to load config: the text is not JSON and PyYAML is not installed to read YAML')
        return yaml.safe_load(text)

    def _metrics_pattern(self, patterns, option):
        entries = patterns.get(option, [])
        if not isinstance(entries, list):
            raise ConfigurationError('Setting `{}` of `metric_patterns` must be an array'.format(option))
        kept = []
        for i, entry in enumerate(entries, 1):
            if not isinstance(entry, str):
                raise ConfigurationError(
                    'Entry #{} of setting `{}` of `metric_patterns` must be a string'.format(i, option)
                )
            if entry:
                kept.append(entry)
        return re.compile('|'.join(kept)) if kept else None

    def _make_limiter(self):
        limit = self.DEFAULT_METRIC_LIMIT
        if self.instance is not None:
            raw = self.instance.get('max_returned_metrics', self.DEFAULT_METRIC_LIMIT)
            try:
                limit = int(raw)
            except (ValueError, TypeError):
                self.warning(
                    "Configured 'max_returned_metrics' cannot be interpreted as an integer: %s. "
                    "Reverting to the default limit: %s",
                    raw,
                    self.DEFAULT_METRIC_LIMIT,
                )
                limit = self.DEFAULT_METRIC_LIMIT
            if limit == 0 and self.DEFAULT_METRIC_LIMIT > 0:
                self.warning(
                    "Setting 'max_returned_metrics' to zero is not allowed. Reverting to the default metric limit: %s",
                    self.DEFAULT_METRIC_LIMIT,
                )
                limit = self.DEFAULT_METRIC_LIMIT
        return _Limiter(self.name, limit, self.warning) if limit > 0 else None

    def should_send_metric(self, metric_name):
        """False when ``metric_patterns`` excludes the name or does not include it."""
        if self.exclude_metrics_pattern is not None and self.exclude_metrics_pattern.search(metric_name):
            return False
        return self.include_metrics_pattern is None or self.include_metrics_pattern.search(metric_name) is not None

    # -- names and tags ------------------------------------------------------------

    def _format_namespace(self, s, raw=False):
        if s.__class__ is not str:
            s = _to_native_string(s)
        if not raw and self.__NAMESPACE__:
            return self.__NAMESPACE__ + '.' + s
        return s

    def _normalize_tags_type(self, tags, device_name=None, metric_name=None):
        """A new list: ``device:<name>`` first if given, ``None`` dropped, bytes decoded.

        Other non-str values pass through, as in ``datadog-checks-base``; the
        host's ``aggregator`` drops them, as rtloader does.
        """
        if not device_name and not self.disable_generic_tags:
            # The common case, a list of str, needs nothing but a copy.
            for tag in tags:
                if tag.__class__ is not str:
                    break
            else:
                return list(tags)
        normalized = []
        if device_name:
            self._log_deprecation('device_name')
            try:
                normalized.append('device:{}'.format(_to_native_string(device_name)))
            except UnicodeError:
                self.log.warning('Encoding error with device name `%r` for metric `%r`, ignoring tag', device_name,
                                 metric_name)
        for tag in tags:
            if tag is None:
                continue
            try:
                tag = _to_native_string(tag)
            except UnicodeError:
                self.log.warning('Encoding error with tag `%s` for metric `%s`, ignoring tag', tag, metric_name)
                continue
            normalized.append(self.degeneralise_tag(tag) if self.disable_generic_tags else tag)
        return normalized

    def degeneralise_tag(self, tag):
        """``env:x`` -> ``<check name>_env:x`` for the generic tag names."""
        tag_name, sep, value = tag.partition(':')
        if tag_name in GENERIC_TAGS:
            new_name = '{}_{}'.format(self.name, tag_name)
            return '{}:{}'.format(new_name, value) if value else new_name
        return tag

    def normalize(self, metric, prefix=None, fix_case=False):
        """A well-formed metric name: ``prefix.a_b.c``."""
        if isinstance(metric, str):
            metric = unicodedata.normalize('NFKD', metric).encode('ascii', 'ignore')
        if fix_case:
            name = self.convert_to_underscore_separated(metric)
            if prefix is not None:
                prefix = self.convert_to_underscore_separated(prefix)
        else:
            name = self.METRIC_REPLACEMENT.sub(rb'_', metric)
            name = self.DOT_UNDERSCORE_CLEANUP.sub(rb'.', name).strip(b'_')
        name = self.MULTIPLE_UNDERSCORE_CLEANUP.sub(rb'_', name)
        if prefix is not None:
            name = (prefix.encode('utf-8') if isinstance(prefix, str) else prefix) + b'.' + name
        return _to_native_string(name)

    def normalize_tag(self, tag):
        """Replace characters the backend does not accept in tags with ``_``."""
        if isinstance(tag, str):
            tag = tag.encode('utf-8', 'ignore')
        tag = self.TAG_REPLACEMENT.sub(rb'_', tag)
        tag = self.MULTIPLE_UNDERSCORE_CLEANUP.sub(rb'_', tag)
        tag = self.DOT_UNDERSCORE_CLEANUP.sub(rb'.', tag).strip(b'_')
        return _to_native_string(tag)

    def convert_to_underscore_separated(self, name):
        """``CamelCase`` -> ``camel_case`` (bytes)."""
        if isinstance(name, str):
            name = name.encode('utf-8')
        name = self.FIRST_CAP_RE.sub(rb'\1_\2', name)
        name = self.ALL_CAP_RE.sub(rb'\1_\2', name).lower()
        name = self.METRIC_REPLACEMENT.sub(rb'_', name)
        return self.DOT_UNDERSCORE_CLEANUP.sub(rb'.', name).strip(b'_')

    # -- metrics ----------------------------------------------------------------

    def _invalid_value(self, message):
        """A submitted value that does not convert: ``ValueError(message)`` outside
        the Agent (a check's tests), a warning in it (the submission is dropped)."""
        if not AGENT_RUNNING:
            raise ValueError(message)
        self.warning(message)

    def _submit_metric(self, mtype, name, value, tags=None, hostname=None, device_name=None, raw=False,
                       flush_first_value=False):
        if value is None:
            return
        name = self._format_namespace(name, raw)
        if not self.should_send_metric(name):
            return
        tags = self._normalize_tags_type(tags or [], device_name, name)
        if hostname is None:
            hostname = ''
        if self.metric_limiter:
            if mtype in _ONE_PER_CONTEXT:
                if self.metric_limiter.is_reached():
                    return
            elif self.metric_limiter.is_reached('{}-{}-{}-{}'.format(mtype, name, hash(frozenset(tags)), hostname)):
                return
        try:
            value = float(value)
        except ValueError:
            self._invalid_value('Metric: {} has non float value: {}. Only float values can be submitted as metrics.'
                                .format(repr(name), repr(value)))
            return
        aggregator.submit_metric(self, self.check_id, mtype, name, value, tags, hostname, flush_first_value)

    def gauge(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        """The value now (the last one of a flush is sent)."""
        self._submit_metric(aggregator.GAUGE, name, value, tags, hostname, device_name, raw)

    def count(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        """A number of events since the last submission (summed per flush)."""
        self._submit_metric(aggregator.COUNT, name, value, tags, hostname, device_name, raw)

    def monotonic_count(self, name, value, tags=None, hostname=None, device_name=None, raw=False,
                        flush_first_value=False):
        """A raw, only-growing counter; the host sends its increase."""
        self._submit_metric(aggregator.MONOTONIC_COUNT, name, value, tags, hostname, device_name, raw,
                            flush_first_value)

    def rate(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        """A raw counter whose per-second rate is sent."""
        self._submit_metric(aggregator.RATE, name, value, tags, hostname, device_name, raw)

    def histogram(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        """A sample of a distribution (max, median, avg, count, 95th percentile are sent)."""
        self._submit_metric(aggregator.HISTOGRAM, name, value, tags, hostname, device_name, raw)

    def historate(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        """A histogram of the rates of a raw counter."""
        self._submit_metric(aggregator.HISTORATE, name, value, tags, hostname, device_name, raw)

    def increment(self, name, value=1, tags=None, hostname=None, device_name=None, raw=False):
        """Deprecated: a COUNTER increment."""
        self._log_deprecation('increment')
        self._submit_metric(aggregator.COUNTER, name, value, tags, hostname, device_name, raw)

    def decrement(self, name, value=-1, tags=None, hostname=None, device_name=None, raw=False):
        """Deprecated: a COUNTER decrement."""
        self._log_deprecation('increment')
        self._submit_metric(aggregator.COUNTER, name, value, tags, hostname, device_name, raw)

    def submit_histogram_bucket(self, name, value, lower_bound, upper_bound, monotonic, hostname, tags, raw=False,
                                flush_first_value=False, multiple_buckets=False):
        """One bucket of a distribution; ``value`` is the bucket's (integer) count."""
        if value is None:
            return
        try:
            value = int(value)
        except ValueError:
            self._invalid_value('Histogram: {} has non integer value: {}. Only integer are valid bucket values (count).'
                                .format(repr(name), repr(value)))
            return
        tags = self._normalize_tags_type(tags, metric_name=name)
        if hostname is None:
            hostname = ''
        submit = aggregator.submit_histogram_bucket_multi if multiple_buckets else aggregator.submit_histogram_bucket
        submit(self, self.check_id, self._format_namespace(name, raw), value, lower_bound, upper_bound, monotonic,
               hostname, tags, flush_first_value)

    # -- service checks, events, event platform ----------------------------------------

    def service_check(self, name, status, tags=None, hostname=None, message=None, raw=False):
        """The status of a service: ``AgentCheck.OK``, ``WARNING``, ``CRITICAL`` or ``UNKNOWN``."""
        tags = self._normalize_tags_type(tags or [])
        if hostname is None:
            hostname = ''
        message = '' if message is None else self.sanitize(_to_native_string(message))
        aggregator.submit_service_check(self, self.check_id, self._format_namespace(name, raw), status, tags, hostname,
                                        message)

    def event(self, event):
        """Send an event: a dict with ``msg_title``, ``msg_text``, ``timestamp``, ``tags``, ...

        The dict is normalised in place (strings decoded, tags normalised,
        ``timestamp`` made an int, ``source_type_name`` defaulting to the
        namespace), as ``datadog-checks-base`` does.
        """
        for key, value in event.items():
            if isinstance(value, (str, bytes)):
                try:
                    event[key] = _to_native_string(value)
                except UnicodeError:
                    self.log.warning('Encoding error with field `%s`, cannot submit event', key)
                    return
        if event.get('tags'):
            event['tags'] = self._normalize_tags_type(event['tags'])
        if event.get('timestamp'):
            event['timestamp'] = int(event['timestamp'])
        if event.get('aggregation_key'):
            event['aggregation_key'] = _to_native_string(event['aggregation_key'])
        if self.__NAMESPACE__:
            event.setdefault('source_type_name', self.__NAMESPACE__)
        aggregator.submit_event(self, self.check_id, event)

    def event_platform_event(self, raw_event, event_track_type):
        """Send a raw event-platform payload (JSON text, or bytes for proto tracks)."""
        if raw_event is None:
            return
        if isinstance(raw_event, (bytearray, memoryview)):
            raw_event = bytes(raw_event)
        elif not isinstance(raw_event, bytes):
            raw_event = _to_native_string(raw_event)
        aggregator.submit_event_platform_event(self, self.check_id, raw_event, event_track_type)

    def database_monitoring_query_sample(self, raw_event):
        """A ``dbm-samples`` event."""
        if raw_event is not None:
            aggregator.submit_event_platform_event(self, self.check_id, _to_native_string(raw_event), 'dbm-samples')

    def database_monitoring_query_metrics(self, raw_event):
        """A ``dbm-metrics`` event."""
        if raw_event is not None:
            aggregator.submit_event_platform_event(self, self.check_id, _to_native_string(raw_event), 'dbm-metrics')

    def database_monitoring_query_activity(self, raw_event):
        """A ``dbm-activity`` event."""
        if raw_event is not None:
            aggregator.submit_event_platform_event(self, self.check_id, _to_native_string(raw_event), 'dbm-activity')

    def database_monitoring_metadata(self, raw_event):
        """A ``dbm-metadata`` event."""
        if raw_event is not None:
            aggregator.submit_event_platform_event(self, self.check_id, _to_native_string(raw_event), 'dbm-metadata')

    # -- metadata -----------------------------------------------------------------

    @staticmethod
    def is_metadata_collection_enabled():
        """The host's ``enable_metadata_collection``."""
        return is_affirmative(datadog_agent.get_config('enable_metadata_collection'))

    @classmethod
    def metadata_entrypoint(cls, method):
        """Decorator: skip the method when metadata collection is disabled."""

        @functools.wraps(method)
        def entrypoint(self, *args, **kwargs):
            if not self.is_metadata_collection_enabled():
                return
            method(self, *args, **kwargs)

        return entrypoint

    def set_metadata(self, name, value, **options):
        """Send check metadata; ``'version'`` is split into ``version.major/minor/patch/raw/scheme``."""
        if not self.check_id and AGENT_RUNNING:
            raise RuntimeError('Attribute `check_id` must be set')
        transformers = {'version': self._transform_version}
        if self.METADATA_TRANSFORMERS:
            transformers.update(self.METADATA_TRANSFORMERS)
        transformer = transformers.get(name)
        if transformer is None:
            self._submit_metadata(name, value)
            return
        try:
            transformed = transformer(value, options)
        except Exception as e:
            self.log.debug('Unable to transform `%s` metadata value `%s`: %s', name, value, e)
            return
        if isinstance(transformed, str):
            self._submit_metadata(name, transformed)
        else:
            for transformed_name, transformed_value in transformed.items():
                self._submit_metadata(transformed_name, transformed_value)

    def _submit_metadata(self, name, value):
        datadog_agent.set_check_metadata(self.check_id, _to_native_string(name), _to_native_string(value))

    def _transform_version(self, version, options):
        scheme, parts = _parse_version(version, options)
        if scheme in ('regex', 'parts'):
            scheme = options.get('final_scheme', self.name)
        data = {'version.{}'.format(k): v for k, v in parts.items()}
        data['version.raw'] = version
        data['version.scheme'] = scheme
        return data

    # -- logs, caches, external tags ------------------------------------------------------

    def send_log(self, data, cursor=None, stream='default'):
        """Send a log (a dict); ``timestamp`` in seconds becomes milliseconds."""
        attributes = data.copy()
        if 'ddtags' not in attributes and self.formatted_tags:
            attributes['ddtags'] = self.formatted_tags
        timestamp = attributes.get('timestamp')
        if timestamp is not None:
            attributes['timestamp'] = int(timestamp * 1000)
        datadog_agent.send_log(_json_encode(attributes), self.check_id)
        if cursor is not None:
            self.write_persistent_cache('log_cursor_{}'.format(stream), _json_encode(cursor))

    def get_log_cursor(self, stream='default'):
        """The last cursor passed to ``send_log`` for the stream, or None."""
        data = self.read_persistent_cache('log_cursor_{}'.format(stream))
        return json.loads(data) if data else None

    @property
    def formatted_tags(self):
        """The instance's ``key:value`` tags, sorted, comma-separated."""
        tags = set()
        for tag in (self.instance or {}).get('tags', []):
            key, _, value = tag.partition(':')
            if not value:
                continue
            if self.disable_generic_tags and key in GENERIC_TAGS:
                key = '{}_{}'.format(self.name, key)
            tags.add('{}:{}'.format(key, value))
        return ','.join(sorted(tags))

    def persistent_cache_id(self):
        """The part of the cache key that identifies this instance (the check id's hash)."""
        return self.check_id.split(':')[-1]

    def _cache_key(self, key):
        if not self._persistent_cache_key_prefix:
            namespace = ':'.join(self.check_id.split(':')[:-1])
            self._persistent_cache_key_prefix = '{}:{}_'.format(namespace, self.persistent_cache_id())
        return self._persistent_cache_key_prefix + key

    def read_persistent_cache(self, key):
        """The value stored with ``write_persistent_cache`` (``''`` if none); survives restarts."""
        return datadog_agent.read_persistent_cache(self._cache_key(key))

    def write_persistent_cache(self, key, value):
        """Store a string for this instance across runs and restarts."""
        datadog_agent.write_persistent_cache(self._cache_key(key), value)

    def set_external_tags(self, external_tags):
        """``[(hostname, {source_type: [tags]}), ...]``."""
        new_tags = []
        for hostname, source_map in external_tags:
            new_tags.append((_to_native_string(hostname), source_map))
            for src_name, tags in source_map.items():
                source_map[src_name] = self._normalize_tags_type(tags)
        datadog_agent.set_external_tags(new_tags)

    # -- secrets -----------------------------------------------------------------

    def register_secret(self, secret):
        """Hide ``secret`` in service check messages and error reports."""
        self._secrets.add(secret)

    def sanitize(self, text):
        """``text`` with registered secrets replaced by ``********``."""
        for secret in self._secrets:
            text = text.replace(secret, '********')
        return text

    # -- warnings and running -------------------------------------------------------------

    def warning(self, warning_message, *args, **kwargs):
        """Log a warning and keep it for the host's status (``get_warnings``)."""
        warning_message = _to_native_string(warning_message)
        if args:
            warning_message = warning_message % args
        frame = inspect.currentframe().f_back
        self.log.warning(
            warning_message,
            extra={'_lineno': frame.f_lineno, '_filename': basename(frame.f_code.co_filename),
                   '_check_id': self.check_id},
        )
        self.warnings.append(warning_message)

    def get_warnings(self):
        """The warnings since the last call, clearing them."""
        warnings, self.warnings = self.warnings, []
        return warnings

    def get_diagnoses(self):
        """Diagnoses as JSON (none by default)."""
        return '[]'

    def check(self, instance):
        """Collect and submit. Override this."""
        raise NotImplementedError

    def cancel(self):
        """Called when the host unschedules the check, possibly while it runs: must not block."""

    def run(self):
        """Run ``check`` once: ``''`` on success, else ``[{"message", "traceback"}]`` as JSON.

        Exceptions are reported, not raised; like ``datadog-checks-base``,
        ``SystemExit`` and ``KeyboardInterrupt`` are not caught here.
        """
        try:
            instance = copy.deepcopy(self.instances[0])
            self.check(instance)
            result = ''
        except Exception as e:
            result = _json_encode(
                [{'message': self.sanitize(str(e)), 'traceback': self.sanitize(traceback.format_exc())}]
            )
        finally:
            if self.metric_limiter:
                self.metric_limiter.reset()
        return result
