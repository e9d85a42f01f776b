"""Load average from /proc/loadavg, raw and per CPU, like the Agent's `load` check."""

import os

try:
    from datadog_checks.base import AgentCheck
except ImportError:
    from checks import AgentCheck

__version__ = '1.0.0'


class SystemLoadCheck(AgentCheck):
    __NAMESPACE__ = 'system.load'

    def check(self, instance):
        path = instance.get('loadavg_path', '/proc/loadavg')
        tags = instance.get('tags', [])
        try:
            with open(path) as f:
                fields = f.read().split()
        except OSError as e:
            self.service_check('can_read', AgentCheck.CRITICAL, tags=tags, message=str(e))
            raise

        load1, load5, load15 = (float(x) for x in fields[:3])
        running, total = fields[3].split('/')
        cpus = os.cpu_count() or 1

        self.gauge('1', load1, tags=tags)
        self.gauge('5', load5, tags=tags)
        self.gauge('15', load15, tags=tags)
        self.gauge('norm.1', load1 / cpus, tags=tags)
        self.gauge('norm.5', load5 / cpus, tags=tags)
        self.gauge('norm.15', load15 / cpus, tags=tags)
        self.gauge('procs.running', int(running), tags=tags)
        self.gauge('procs.total', int(total), tags=tags)
        self.service_check('can_read', AgentCheck.OK, tags=tags)

        limit = float(instance.get('warn_per_cpu', 2.0))
        if load1 / cpus > limit:
            self.warning('1-minute load per CPU is %.2f, above %.2f', load1 / cpus, limit)
