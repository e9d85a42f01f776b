"""The Agent's ``load`` check (``pkg/collector/corechecks/system/cpu/load``):
the load averages from ``/proc/loadavg``, raw and divided by the number of
CPUs."""

import os

from checks import AgentCheck
from checks.system import instance_tags, read_text


class LoadCheck(AgentCheck):
    def check(self, instance):
        tags = instance_tags(instance)
        load1, load5, load15 = (float(x) for x in read_text('loadavg').split()[:3])
        cpus = float(os.cpu_count() or 1)
        self.gauge('system.load.1', load1, tags=tags)
        self.gauge('system.load.5', load5, tags=tags)
        self.gauge('system.load.15', load15, tags=tags)
        self.gauge('system.load.norm.1', load1 / cpus, tags=tags)
        self.gauge('system.load.norm.5', load5 / cpus, tags=tags)
        self.gauge('system.load.norm.15', load15 / cpus, tags=tags)
