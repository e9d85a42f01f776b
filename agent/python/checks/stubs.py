"""Recording stand-ins for the host modules, used when ``aggregator`` and
``datadog_agent`` cannot be imported (plain ``python3``, unit tests of a
check). They record what a check submits, like ``datadog-checks-base``'s
stubs, without its assertion helpers.
"""

import json


class AggregatorStub(object):
    """``aggregator``: the constants and the ``submit_*`` functions, recording."""

    GAUGE, RATE, COUNT, MONOTONIC_COUNT, COUNTER, HISTOGRAM, HISTORATE = range(7)

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget everything recorded."""
        self.metrics = []
        self.service_checks = []
        self.events = []
        self.histogram_buckets = []
        self.event_platform_events = []

    def submit_metric(self, check, check_id, mtype, name, value, tags, hostname, flush_first_value=False):
        self.metrics.append((check_id, mtype, name, value, list(tags), hostname, flush_first_value))

    def submit_service_check(self, check, check_id, name, status, tags, hostname, message):
        self.service_checks.append((check_id, name, status, list(tags), hostname, message))

    def submit_event(self, check, check_id, event):
        self.events.append((check_id, event))

    def submit_histogram_bucket(self, check, check_id, name, value, lower_bound, upper_bound, monotonic, hostname,
                                tags, flush_first_value=False):
        self.histogram_buckets.append(
            (check_id, name, value, lower_bound, upper_bound, monotonic, hostname, list(tags), flush_first_value,
             False)
        )

    def submit_histogram_bucket_multi(self, check, check_id, name, value, lower_bound, upper_bound, monotonic,
                                      hostname, tags, flush_first_value=False):
        self.histogram_buckets.append(
            (check_id, name, value, lower_bound, upper_bound, monotonic, hostname, list(tags), flush_first_value,
             True)
        )

    def submit_event_platform_event(self, check, check_id, raw_event, event_type):
        self.event_platform_events.append((check_id, raw_event, event_type))


class DatadogAgentStub(object):
    """``datadog_agent``: configuration, metadata, logs, caches, recording."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget everything recorded; default configuration."""
        self.config = {'enable_metadata_collection': True, 'log_level': 'info'}
        self.hostname = 'stubbed.hostname'
        self.metadata = []
        self.logs = []
        self.sent_logs = []
        self.cache = {}
        self.external_tags = []

    def get_config(self, key):
        return self.config.get(key)

    def get_hostname(self):
        return self.hostname

    def get_version(self):
        return '0.0.0'

    def get_clustername(self):
        return ''

    def get_host_tags(self):
        return json.dumps({})

    def tracemalloc_enabled(self, *args):
        return False

    def log(self, message, level):
        self.logs.append((message, level))

    def send_log(self, log_line, check_id):
        self.sent_logs.append((check_id, log_line))

    def set_check_metadata(self, check_id, name, value):
        self.metadata.append((check_id, name, value))

    def set_external_tags(self, tags):
        self.external_tags.append(tags)

    def write_persistent_cache(self, key, value):
        self.cache[key] = value

    def read_persistent_cache(self, key):
        return self.cache.get(key, '')

    def obfuscate_sql(self, query, options=None):
        raise RuntimeError('obfuscate_sql needs the host: no obfuscator in plain Python')


aggregator = AggregatorStub()
datadog_agent = DatadogAgentStub()
