"""Every kind of submission a check can make, with values that depend only
on the run number, so two hosts running it must submit the same things.

Covers: gauge, count, monotonic_count (with and without
flush_first_value), rate, histogram, historate, increment (COUNTER),
service checks, an event, histogram buckets, an event-platform event,
version metadata, a warning, and the persistent cache.
"""

import json

try:
    from datadog_checks.base import AgentCheck
except ImportError:
    from checks import AgentCheck

__version__ = '1.4.2'


class DemoAllTypesCheck(AgentCheck):
    __NAMESPACE__ = 'demo'

    def __init__(self, name, init_config, instances):
        super().__init__(name, init_config, instances)
        self.runs = 0

    def check(self, instance):
        self.runs += 1
        n = self.runs
        step = instance.get('step', 10)
        tags = ['demo:all'] + instance.get('tags', [])

        self.gauge('temperature', 20.5 + n, tags=tags)
        self.count('requests', 3 * n, tags=tags + ['code:200'])
        self.monotonic_count('bytes_total', 1000 * n, tags=tags)
        self.monotonic_count('restarts', n, tags=tags, flush_first_value=True)
        self.rate('packets', step * n, tags=tags)
        for v in (1, 2, 3, 4, 5):
            self.histogram('latency', v * n, tags=tags)
        self.historate('operations', 100 * n, tags=tags)
        self.increment('legacy.counter', tags=tags)

        self.service_check('can_connect', AgentCheck.OK, tags=tags)
        self.service_check('degraded', AgentCheck.WARNING, tags=tags, message='run {}'.format(n))

        self.event(
            {
                'timestamp': 1700000000 + n,
                'event_type': 'demo',
                'msg_title': 'demo run',
                'msg_text': 'run number {}'.format(n),
                'alert_type': 'info',
                'aggregation_key': 'demo-run',
                'tags': tags,
            }
        )

        self.submit_histogram_bucket('request_size', 10 * n, 0.0, 100.0, True, None, tags + ['upper_bound:100'])
        self.submit_histogram_bucket('request_size', 2 * n, 100.0, float('inf'), True, None, tags + ['upper_bound:inf'])

        self.database_monitoring_query_sample(json.dumps({'run': n, 'query': 'SELECT * FROM t WHERE id = ?'}))

        self.set_metadata('version', __version__)

        if n % 2 == 0:
            self.warning('demo warning on run %d', n)

        previous = self.read_persistent_cache('runs')
        self.write_persistent_cache('runs', str(n))
        self.log.debug('previous run recorded in the cache: %r', previous)
