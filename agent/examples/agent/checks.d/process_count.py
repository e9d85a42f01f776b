"""Processes from /proc: counts by state, a histogram of threads per process,
named processes, and context switches / forks from /proc/stat."""

import os
from collections import Counter

try:
    from datadog_checks.base import AgentCheck
except ImportError:
    from checks import AgentCheck

__version__ = '1.0.0'

STATES = {'R': 'running', 'S': 'sleeping', 'D': 'disk_sleep', 'Z': 'zombie', 'T': 'stopped', 'I': 'idle'}


class ProcessCountCheck(AgentCheck):
    __NAMESPACE__ = 'process'

    def check(self, instance):
        proc = instance.get('procfs_path', '/proc')
        tags = instance.get('tags', [])
        names = instance.get('names', [])

        states = Counter()
        by_name = Counter()
        threads = []
        for entry in os.listdir(proc):
            if not entry.isdigit():
                continue
            try:
                with open(os.path.join(proc, entry, 'stat')) as f:
                    stat = f.read()
            except OSError:
                continue  # the process exited meanwhile
            comm = stat[stat.index('(') + 1:stat.rindex(')')]
            rest = stat[stat.rindex(')') + 2:].split()
            states[STATES.get(rest[0], 'other')] += 1
            threads.append(int(rest[17]))
            by_name[comm] += 1

        total = sum(states.values())
        self.gauge('count', total, tags=tags)
        for state, n in sorted(states.items()):
            self.gauge('count_by_state', n, tags=tags + ['state:{}'.format(state)])
        for t in threads:
            self.histogram('threads', t, tags=tags)
        self.count('scanned', total, tags=tags)

        for name in names:
            self.gauge('matching', by_name[name], tags=tags + ['process_name:{}'.format(name)])
            if by_name[name] == 0:
                self.warning('no process named %s', name)

        with open(os.path.join(proc, 'stat')) as f:
            for line in f:
                key, _, value = line.partition(' ')
                if key == 'ctxt':
                    self.rate('context_switches', int(value), tags=tags)
                elif key == 'processes':
                    self.monotonic_count('forks', int(value), tags=tags)
        self.service_check('can_scan', AgentCheck.OK, tags=tags)
