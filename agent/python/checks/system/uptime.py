"""The Agent's ``uptime`` check: ``system.uptime``, seconds since boot."""

from checks import AgentCheck
from checks.system import instance_tags, read_text


class UptimeCheck(AgentCheck):
    def check(self, instance):
        self.gauge('system.uptime', int(float(read_text('uptime').split()[0])), tags=instance_tags(instance))
