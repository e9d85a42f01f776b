"""Fake ``aggregator`` and ``datadog_agent`` host modules that record every
call, in order, installed in ``sys.modules`` before ``checks`` is imported.

They mimic the host's signatures (rtloader's), so the tests assert exactly
what the base package sends to the host.
"""

import os
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_DIR = os.path.join(ROOT, 'python')

# (module, function, args, kwargs), in call order.
calls = []
config = {}
cache = {}
HOSTNAME = 'fake-host'


def _default_config():
    return {'log_level': 'debug', 'enable_metadata_collection': True}


def _recorder(module, name, result=None):
    def record(*args, **kwargs):
        calls.append((module, name, args, kwargs))
        return result(*args) if callable(result) else result

    record.__name__ = name
    return record


def _make_aggregator():
    m = types.ModuleType('aggregator')
    m.GAUGE, m.RATE, m.COUNT, m.MONOTONIC_COUNT, m.COUNTER, m.HISTOGRAM, m.HISTORATE = range(7)
    for f in ('submit_metric', 'submit_service_check', 'submit_event', 'submit_histogram_bucket',
              'submit_histogram_bucket_multi', 'submit_event_platform_event'):
        setattr(m, f, _recorder('aggregator', f))
    return m


def _make_datadog_agent():
    m = types.ModuleType('datadog_agent')
    m.get_config = _recorder('datadog_agent', 'get_config', lambda key: config.get(key))
    m.get_hostname = _recorder('datadog_agent', 'get_hostname', lambda: HOSTNAME)
    m.get_version = _recorder('datadog_agent', 'get_version', lambda: '7.0.0')
    m.tracemalloc_enabled = _recorder('datadog_agent', 'tracemalloc_enabled', lambda *a: False)
    m.read_persistent_cache = _recorder('datadog_agent', 'read_persistent_cache', lambda k: cache.get(k, ''))
    m.write_persistent_cache = _recorder('datadog_agent', 'write_persistent_cache',
                                         lambda k, v: cache.__setitem__(k, v))
    for f in ('log', 'send_log', 'set_check_metadata', 'set_external_tags'):
        setattr(m, f, _recorder('datadog_agent', f))
    return m


def install():
    """Install the fakes and make ``python/`` importable. Idempotent."""
    config.clear()
    config.update(_default_config())
    if not isinstance(sys.modules.get('aggregator'), types.ModuleType) or \
            not hasattr(sys.modules.get('aggregator'), 'submit_metric'):
        sys.modules['aggregator'] = _make_aggregator()
        sys.modules['datadog_agent'] = _make_datadog_agent()
    if PYTHON_DIR not in sys.path:
        sys.path.insert(0, PYTHON_DIR)


def reset():
    """Forget recorded calls and cached values; default configuration."""
    del calls[:]
    cache.clear()
    config.clear()
    config.update(_default_config())


def args_of(name):
    """Positional arguments of every call to ``name``, in order."""
    return [c[2] for c in calls if c[1] == name]


install()
