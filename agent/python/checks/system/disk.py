"""The Agent's ``disk`` check (``pkg/collector/corechecks/system/disk``):
space and inodes of every mounted filesystem (``system.disk.*`` in kB,
``system.fs.inodes.*``), tagged ``device:`` (the device, or the mount point
with ``use_mount``) and ``device_name:``, and the time each block device
spent reading and writing (``system.disk.read_time_pct``/``write_time_pct``,
rates of ``/proc/diskstats``'s milliseconds, in percent).

The filesystems are ``/proc/self/mounts``'s, minus the Agent's exclusions:
no device (``none``) unless ``all_partitions``, ``iso9660``, those of size
zero, and ``excluded_filesystems``, ``excluded_disks``,
``excluded_disk_re`` and ``excluded_mountpoint_re``. ``tag_by_filesystem``
adds ``filesystem:``. Usage is ``statvfs``'s, as gopsutil computes it:
``in_use`` is used / (used + available to users).
"""

import os
import re

from checks import AgentCheck
from checks.system import instance_tags, read_lines


def _unescape(field):
    # /proc/mounts writes spaces, tabs, newlines and backslashes as octal escapes.
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def _regex(instance, key):
    pattern = instance.get(key)
    return re.compile(pattern) if pattern else None


class DiskCheck(AgentCheck):
    def check(self, instance):
        tags = instance_tags(instance)
        self._partitions(instance, tags)
        self._io_times(tags)

    def _excluded(self, instance, device, mountpoint, fstype):
        mountpoint = mountpoint.split(' ')[0]
        if device in ('', 'none'):
            if not instance.get('all_partitions', False):
                return True
        else:
            if device in (instance.get('excluded_disks') or []):
                return True
            disk_re = _regex(instance, 'excluded_disk_re')
            if disk_re is not None and disk_re.match(device):
                return True
        if fstype in list(instance.get('excluded_filesystems') or []) + ['iso9660']:
            return True
        mount_re = _regex(instance, 'excluded_mountpoint_re')
        return mount_re is not None and mount_re.match(mountpoint) is not None

    def _partitions(self, instance, tags):
        for line in read_lines('self', 'mounts'):
            fields = line.split()
            if len(fields) < 3:
                continue
            device, mountpoint, fstype = (_unescape(f) for f in fields[:3])
            if self._excluded(instance, device, mountpoint, fstype):
                continue
            try:
                st = os.statvfs(mountpoint)
            except OSError as e:
                self.log.debug('unable to get disk metrics of %s: %s', mountpoint, e)
                continue
            total = st.f_blocks * st.f_frsize
            if total == 0:
                continue
            free = st.f_bavail * st.f_frsize
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            name = mountpoint if instance.get('use_mount', False) else device
            dev_tags = tags + ['device:{}'.format(name), 'device_name:{}'.format(os.path.basename(device))]
            if instance.get('tag_by_filesystem', False):
                dev_tags.append('filesystem:{}'.format(fstype))
            self.gauge('system.disk.total', total / 1024.0, tags=dev_tags)
            self.gauge('system.disk.used', used / 1024.0, tags=dev_tags)
            self.gauge('system.disk.free', free / 1024.0, tags=dev_tags)
            self.gauge('system.disk.in_use', used / float(used + free) if used + free else 0.0, tags=dev_tags)
            inodes_total, inodes_free = st.f_files, st.f_ffree
            if inodes_total:
                inodes_used = inodes_total - inodes_free
                self.gauge('system.fs.inodes.total', inodes_total, tags=dev_tags)
                self.gauge('system.fs.inodes.used', inodes_used, tags=dev_tags)
                self.gauge('system.fs.inodes.free', inodes_free, tags=dev_tags)
                self.gauge('system.fs.inodes.in_use', inodes_used / float(inodes_total), tags=dev_tags)

    def _io_times(self, tags):
        try:
            lines = read_lines('diskstats')
        except OSError:
            return
        for line in lines:
            f = line.split()
            if len(f) < 14 or (int(f[3]) == 0 and int(f[7]) == 0):
                continue
            dev_tags = tags + ['device:{}'.format(f[2])]
            # Rates of milliseconds: a fraction of each second, times 100.
            self.rate('system.disk.read_time_pct', int(f[6]) * 100 / 1000.0, tags=dev_tags)
            self.rate('system.disk.write_time_pct', int(f[10]) * 100 / 1000.0, tags=dev_tags)
