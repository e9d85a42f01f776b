"""The Agent's ``io`` check (``pkg/collector/corechecks/system/disk/io``):
per block device, what ``iostat -x`` reports, from ``/proc/diskstats``,
tagged ``device:`` and ``device_name:``.

Operation counts are submitted as rates (``system.io.r_s``, ``w_s``,
``rrqm_s``, ``wrqm_s``); throughput, request size, latencies, queue size,
service time and utilisation are computed from the previous run's sample
exactly as the Agent computes them (so they appear from the second run
on). ``system.io.block_in``/``block_out`` are rates of ``/proc/vmstat``'s
``pgpgin``/``pgpgout``. Devices that never did any I/O (unused ``loop``
and ``ram`` devices) are left out; ``device_exclude_re`` (in
``init_config``, as the Agent reads it) excludes more.
"""

import re
import time

from checks import AgentCheck
from checks.system import instance_tags, key_values, read_lines

SECTOR = 512
KB = 1024.0
U32 = 2 ** 32


def _delta(new, old):
    # Counters may wrap: some at 32 bits even on 64-bit kernels.
    d = new - old
    if d < 0:
        d += U32 if old < U32 else 2 ** 64
    return d


def read_diskstats():
    stats = {}
    for line in read_lines('diskstats'):
        f = line.split()
        if len(f) < 14:
            continue
        v = [int(x) for x in f[3:14]]
        stats[f[2]] = {
            'reads': v[0], 'reads_merged': v[1], 'read_bytes': v[2] * SECTOR, 'read_ms': v[3],
            'writes': v[4], 'writes_merged': v[5], 'write_bytes': v[6] * SECTOR, 'write_ms': v[7],
            'io_ms': v[9], 'weighted_ms': v[10],
        }
    return stats


class IOCheck(AgentCheck):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last = None
        self._last_ms = 0
        init = self.init_config or {}
        pattern = init.get('device_exclude_re') or init.get('device_blacklist_re')
        self._exclude = re.compile(pattern) if pattern else None

    def check(self, instance):
        tags = instance_tags(instance)
        stats = read_diskstats()
        now_ms = time.time() * 1000.0
        delta_ms = now_ms - self._last_ms
        for device, s in sorted(stats.items()):
            if s['reads'] == 0 and s['writes'] == 0:
                continue
            if self._exclude is not None and self._exclude.match(device):
                continue
            dev_tags = tags + ['device:{}'.format(device), 'device_name:{}'.format(device)]
            self.rate('system.io.r_s', s['reads'], tags=dev_tags)
            self.rate('system.io.w_s', s['writes'], tags=dev_tags)
            self.rate('system.io.rrqm_s', s['reads_merged'], tags=dev_tags)
            self.rate('system.io.wrqm_s', s['writes_merged'], tags=dev_tags)
            last = (self._last or {}).get(device)
            if last is not None and delta_ms > 0:
                self._derived(s, last, delta_ms, dev_tags)
        try:
            vm = key_values(read_lines('vmstat'))
            self.rate('system.io.block_in', vm['pgpgin'], tags=tags)
            self.rate('system.io.block_out', vm['pgpgout'], tags=tags)
        except (OSError, KeyError):
            pass
        self._last, self._last_ms = stats, now_ms

    def _derived(self, s, last, delta_ms, tags):
        def d(key):
            return float(_delta(s[key], last[key]))

        seconds = delta_ms / 1000.0
        reads, writes = d('reads'), d('writes')
        ios = reads + writes
        itv = delta_ms / 10.0  # hundredths of a second, as sysstat counts
        util = d('io_ms') / itv * 100.0
        tput = ios * 100.0 / itv
        values = {
            'rkb_s': d('read_bytes') / KB / seconds,
            'wkb_s': d('write_bytes') / KB / seconds,
            'avg_rq_sz': ((d('read_bytes') + d('write_bytes')) / SECTOR) / ios if ios else 0.0,
            'await': (d('read_ms') + d('write_ms')) / ios if ios else 0.0,
            'r_await': d('read_ms') / reads if reads else 0.0,
            'w_await': d('write_ms') / writes if writes else 0.0,
            'avg_q_sz': d('weighted_ms') / KB / seconds,
            'svctm': util / tput if tput else 0.0,
            'util': util / 10.0,
        }
        for name, value in values.items():
            self.gauge('system.io.' + name, round(value, 2), tags=tags)
