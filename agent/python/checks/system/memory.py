"""The Agent's ``memory`` check (``pkg/collector/corechecks/system/memory``):
``system.mem.*`` and ``system.swap.*`` from ``/proc/meminfo`` and
``/proc/vmstat``, in MB (MiB) as the Agent reports them.

Values follow gopsutil's reading of ``/proc/meminfo``, which the Agent uses:
``cached`` includes ``SReclaimable``, ``usable`` is ``MemAvailable``. Swap
in and out are rates of ``pswpin``/``pswpout`` pages.
"""

from checks import AgentCheck
from checks.system import instance_tags, key_values, read_lines

MB = 1024.0 * 1024.0
PAGE = 4096


class MemoryCheck(AgentCheck):
    def check(self, instance):
        tags = instance_tags(instance)
        m = key_values(read_lines('meminfo'), scale=1024)

        def mb(key):
            return m.get(key, 0) / MB

        total = m.get('MemTotal', 0)
        free = m.get('MemFree', 0)
        available = m.get('MemAvailable', free + m.get('Buffers', 0) + m.get('Cached', 0))
        self.gauge('system.mem.total', total / MB, tags=tags)
        self.gauge('system.mem.free', free / MB, tags=tags)
        self.gauge('system.mem.used', (total - free) / MB, tags=tags)
        self.gauge('system.mem.usable', available / MB, tags=tags)
        if total:
            self.gauge('system.mem.pct_usable', available / float(total), tags=tags)
        self.gauge('system.mem.cached', (m.get('Cached', 0) + m.get('SReclaimable', 0)) / MB, tags=tags)
        self.gauge('system.mem.buffered', mb('Buffers'), tags=tags)
        self.gauge('system.mem.shared', mb('Shmem'), tags=tags)
        self.gauge('system.mem.slab', mb('Slab'), tags=tags)
        self.gauge('system.mem.slab_reclaimable', mb('SReclaimable'), tags=tags)
        self.gauge('system.mem.page_tables', mb('PageTables'), tags=tags)
        self.gauge('system.mem.commit_limit', mb('CommitLimit'), tags=tags)
        self.gauge('system.mem.committed_as', mb('Committed_AS'), tags=tags)
        self.gauge('system.swap.cached', mb('SwapCached'), tags=tags)

        swap_total = m.get('SwapTotal', 0)
        swap_free = m.get('SwapFree', 0)
        swap_used = swap_total - swap_free
        used_pct = 100.0 * swap_used / swap_total if swap_total else 0.0
        self.gauge('system.swap.total', swap_total / MB, tags=tags)
        self.gauge('system.swap.free', swap_free / MB, tags=tags)
        self.gauge('system.swap.used', swap_used / MB, tags=tags)
        self.gauge('system.swap.pct_free', (100.0 - used_pct) / 100.0, tags=tags)
        try:
            vm = key_values(read_lines('vmstat'))
        except OSError:
            vm = {}
        if 'pswpin' in vm:
            self.rate('system.swap.swap_in', vm['pswpin'] * PAGE / MB, tags=tags)
            self.rate('system.swap.swap_out', vm.get('pswpout', 0) * PAGE / MB, tags=tags)
