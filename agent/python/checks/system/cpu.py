"""The Agent's ``cpu`` check (``pkg/collector/corechecks/system/cpu``):
CPU time percentages over the interval between two runs, the number of
cores, context switches, and each core's cumulated times.

``/proc/stat``'s first line holds the times of all CPUs in clock ticks. As
the Agent does, the percentages are the deltas since the previous run
divided by the delta of the total, per core: ``system.cpu.user`` counts
``user + nice``, ``system.cpu.system`` ``system + irq + softirq``.

The Agent reports no percentage on a check's first run. Here the first
run takes its own baseline ``first_run_baseline`` seconds earlier (0.1 by
default, 0 for the Agent's behaviour), so the first flush has figures.
"""

import os
import time

from checks import AgentCheck
from checks.system import instance_tags, read_lines

FIELDS = ('user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice')


def read_stat():
    """(all CPUs' times, {cpu index: times}, context switches) from /proc/stat, times in ticks."""
    total, per_cpu, ctxt = None, {}, None
    for line in read_lines('stat'):
        fields = line.split()
        if not fields:
            continue
        if fields[0] == 'cpu':
            total = _times(fields[1:])
        elif fields[0].startswith('cpu'):
            per_cpu[fields[0][3:]] = _times(fields[1:])
        elif fields[0] == 'ctxt':
            ctxt = int(fields[1])
    if total is None:
        raise RuntimeError('no cpu line in /proc/stat')
    return total, per_cpu, ctxt


def _times(values):
    times = dict.fromkeys(FIELDS, 0.0)
    for name, value in zip(FIELDS, values):
        times[name] = float(value)
    return times


class CPUCheck(AgentCheck):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last = None
        self._hz = float(os.sysconf('SC_CLK_TCK')) if hasattr(os, 'sysconf') else 100.0

    def check(self, instance):
        tags = instance_tags(instance)
        if self._last is None:
            baseline = float(instance.get('first_run_baseline', 0.1) or 0)
            if baseline > 0:
                self._last = read_stat()[0]
                time.sleep(baseline)
        total, per_cpu, ctxt = read_stat()
        cores = len(per_cpu) or os.cpu_count() or 1
        if ctxt is not None:
            self.monotonic_count('system.cpu.context_switches', ctxt, tags=tags)
        self.gauge('system.cpu.num_cores', cores, tags=tags)
        if self._last is not None:
            self._percentages(self._last, total, cores, tags)
        self._last = total
        for core, t in sorted(per_cpu.items()):
            core_tags = tags + ['core:{}'.format(core)]
            for name in FIELDS:
                metric = 'guestnice' if name == 'guest_nice' else name
                self.gauge('system.cpu.{}.total'.format(metric), t[name] / self._hz, tags=core_tags)

    def _percentages(self, last, t, cores, tags):
        def delta(*names):
            return sum(t[n] - last[n] for n in names) / cores

        # guest time is already counted in user time: the total leaves it out.
        cycles = delta('user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal')
        if cycles <= 0:
            return
        to_percent = 100.0 / cycles
        self.gauge('system.cpu.user', delta('user', 'nice') * to_percent, tags=tags)
        self.gauge('system.cpu.system', delta('system', 'irq', 'softirq') * to_percent, tags=tags)
        self.gauge('system.cpu.interrupt', delta('irq', 'softirq') * to_percent, tags=tags)
        self.gauge('system.cpu.iowait', delta('iowait') * to_percent, tags=tags)
        self.gauge('system.cpu.idle', delta('idle') * to_percent, tags=tags)
        self.gauge('system.cpu.stolen', delta('steal') * to_percent, tags=tags)
        self.gauge('system.cpu.guest', delta('guest') * to_percent, tags=tags)
