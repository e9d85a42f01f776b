"""Space and inodes per path (os.statvfs), and I/O counters per block device
(/proc/diskstats) as monotonic counts and rates."""

import os

try:
    from datadog_checks.base import AgentCheck
except ImportError:
    from checks import AgentCheck

__version__ = '1.0.0'

SECTOR_SIZE = 512


class DiskUsageCheck(AgentCheck):
    __NAMESPACE__ = 'disk'

    def check(self, instance):
        tags = instance.get('tags', [])
        for path in instance.get('paths', ['/']):
            path_tags = tags + ['path:{}'.format(path)]
            try:
                st = os.statvfs(path)
            except OSError as e:
                self.warning('cannot stat %s: %s', path, e)
                self.service_check('can_stat', AgentCheck.CRITICAL, tags=path_tags, message=str(e))
                continue
            total = st.f_blocks * st.f_frsize
            free = st.f_bavail * st.f_frsize
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            self.gauge('total', total, tags=path_tags)
            self.gauge('used', used, tags=path_tags)
            self.gauge('free', free, tags=path_tags)
            self.gauge('in_use', used / total if total else 0.0, tags=path_tags)
            self.gauge('inodes.total', st.f_files, tags=path_tags)
            self.gauge('inodes.free', st.f_favail, tags=path_tags)
            self.service_check('can_stat', AgentCheck.OK, tags=path_tags)

        if instance.get('io', True):
            self._io(instance, tags)

    def _io(self, instance, tags):
        skip = tuple(instance.get('skip_device_prefixes', ['loop', 'ram']))
        try:
            with open(instance.get('diskstats_path', '/proc/diskstats')) as f:
                lines = f.read().splitlines()
        except OSError as e:
            self.warning('no I/O statistics: %s', e)
            return
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[2].startswith(skip):
                continue
            dev_tags = tags + ['device:{}'.format(fields[2])]
            reads, sectors_read, writes, sectors_written = (int(fields[i]) for i in (3, 5, 7, 9))
            self.monotonic_count('io.reads', reads, tags=dev_tags)
            self.monotonic_count('io.writes', writes, tags=dev_tags)
            self.rate('io.read_bytes_per_s', sectors_read * SECTOR_SIZE, tags=dev_tags)
            self.rate('io.write_bytes_per_s', sectors_written * SECTOR_SIZE, tags=dev_tags)
