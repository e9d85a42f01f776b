"""The Agent's ``disk`` check (``pkg/collector/corechecks/system/disk``):
space and inodes of every mounted filesystem (``system.disk.*`` in kB,
``system.fs.inodes.*``), tagged ``device:`` (the device, or the mount point
with ``use_mount``) and ``device_name:``, and the time each block device
spent reading and writing (``system.disk.read_time``/``write_time`` as
monotonic counts of milliseconds, ``read_time_pct``/``write_time_pct`` as
rates of them, in percent).

The filesystems are ``/proc/self/mounts``'s, minus the exclusions:
no device (``none``) unless ``all_partitions``, ``iso9660``, a total size of
at most ``min_disk_size`` MiB, and the Agent's filters, each a list of
regular expressions matched at the start: ``file_system_include``/
``_exclude``, ``device_include``/``_exclude``, ``mount_point_include``/
``_exclude`` (and the older ``excluded_filesystems``, ``excluded_disks``,
``excluded_disk_re``, ``excluded_mountpoint_re``). ``tag_by_filesystem``
adds ``filesystem:``; ``device_tag_re`` maps a regular expression on the
device name (the mount point with ``use_mount``) to comma-separated tags;
``service_check_rw`` reports ``disk.read_write`` (OK for ``rw``, CRITICAL
for ``ro``); ``tag_by_label`` (on by default) adds ``label:`` and
``device_label:`` for a filesystem with a label, read from udev's
``/dev/disk/by-label`` links (what the Agent asks ``blkid`` for). Usage is ``statvfs``'s, as gopsutil computes it: ``in_use`` is
used / (used + available to users).
"""

import os
import re

from checks import AgentCheck
from checks.system import instance_tags, read_lines


def _unescape(field):
    # /proc/mounts writes spaces, tabs, newlines and backslashes as octal escapes.
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


BY_LABEL = '/dev/disk/by-label'


def device_labels(directory=None):
    """``{device path: label}`` from the ``by-label`` links (udev writes
    characters it cannot put in a file name as ``\\xNN``)."""
    directory = directory or BY_LABEL
    try:
        names = os.listdir(directory)
    except OSError:
        return {}
    labels = {}
    for name in names:
        device = os.path.realpath(os.path.join(directory, name))
        labels[device] = re.sub(r'\\x([0-9a-fA-F]{2})', lambda m: chr(int(m.group(1), 16)), name)
    return labels


def _patterns(*sources):
    """One regex alternating every pattern given (lists or single strings), or None."""
    patterns = []
    for source in sources:
        if isinstance(source, str):
            source = [source]
        patterns.extend(p for p in (source or []) if p)
    return re.compile('|'.join('(?:{})'.format(p) for p in patterns)) if patterns else None


class DiskCheck(AgentCheck):
    def __init__(self, *args, **kwargs):
        super(DiskCheck, self).__init__(*args, **kwargs)
        inst = self.instance or {}

        def exact(key):
            # The older list options name whole values: the Agent appends '$' to each.
            return ['{}$'.format(v) for v in (inst.get(key) or []) if v]

        self._fs_include = _patterns(inst.get('file_system_include'))
        self._fs_exclude = _patterns(inst.get('file_system_exclude'), exact('excluded_filesystems'), 'iso9660$')
        self._dev_include = _patterns(inst.get('device_include'))
        self._dev_exclude = _patterns(inst.get('device_exclude'), exact('excluded_disks'),
                                      inst.get('excluded_disk_re'))
        self._mnt_include = _patterns(inst.get('mount_point_include'))
        self._mnt_exclude = _patterns(inst.get('mount_point_exclude'), inst.get('excluded_mountpoint_re'))
        self._device_tag_re = []
        for pattern, tags in (inst.get('device_tag_re') or {}).items():
            try:
                regex = re.compile(pattern)
            except re.error as e:
                self.log.warning('device_tag_re: %r is not a regular expression: %s', pattern, e)
                continue
            self._device_tag_re.append((regex, [t.strip() for t in str(tags).split(',') if t.strip()]))

    def check(self, instance):
        tags = instance_tags(instance)
        self._partitions(instance, tags)
        self._io_times(tags)

    def _device_tags(self, name):
        return [t for regex, tags in self._device_tag_re if regex.match(name) for t in tags]

    def _excluded(self, instance, device, mountpoint, fstype):
        # A mount point may read '/path (deleted)': the first word is the path.
        mountpoint = mountpoint.rsplit(' (deleted)', 1)[0]
        if device in ('', 'none'):
            if not instance.get('all_partitions', False):
                return True
            device = None

        def hit(regex, value, default):
            if regex is None or value is None:
                return default
            return regex.match(value) is not None

        excluded = (hit(self._fs_exclude, fstype, False) or hit(self._dev_exclude, device, False)
                    or hit(self._mnt_exclude, mountpoint, False))
        included = (hit(self._fs_include, fstype, True) and hit(self._dev_include, device, True)
                    and hit(self._mnt_include, mountpoint, True))
        return excluded or not included

    def _partitions(self, instance, tags):
        min_size = float(instance.get('min_disk_size', 0) or 0) * 1024 * 1024
        labels = device_labels() if instance.get('tag_by_label', True) else {}
        for line in read_lines('self', 'mounts'):
            fields = line.split()
            if len(fields) < 4:
                continue
            device, mountpoint, fstype, opts = (_unescape(f) for f in fields[:4])
            if self._excluded(instance, device, mountpoint, fstype):
                continue
            try:
                st = os.statvfs(mountpoint)
            except OSError as e:
                self.log.debug('unable to get disk metrics of %s: %s', mountpoint, e)
                continue
            total = st.f_blocks * st.f_frsize
            if total == 0 or total <= min_size:
                continue
            free = st.f_bavail * st.f_frsize
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            name = mountpoint if instance.get('use_mount', False) else device
            dev_tags = list(tags)
            if instance.get('tag_by_filesystem', False):
                dev_tags += [fstype, 'filesystem:{}'.format(fstype)]
            dev_tags += self._device_tags(name)
            label = labels.get(os.path.realpath(device)) if device.startswith('/') else None
            if label:
                dev_tags += ['label:{}'.format(label), 'device_label:{}'.format(label)]
            dev_tags += ['device:{}'.format(name), 'device_name:{}'.format(os.path.basename(device))]
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
            if instance.get('service_check_rw', False):
                mode = {'rw', 'ro'} & set(opts.split(','))
                status = AgentCheck.UNKNOWN
                if len(mode) == 1:
                    status = AgentCheck.OK if mode.pop() == 'rw' else AgentCheck.CRITICAL
                self.service_check('disk.read_write', status, tags=dev_tags)

    def _io_times(self, tags):
        try:
            lines = read_lines('diskstats')
        except OSError:
            return
        for line in lines:
            f = line.split()
            if len(f) < 14 or (int(f[3]) == 0 and int(f[7]) == 0):
                continue
            dev_tags = tags + self._device_tags(f[2]) + ['device:{}'.format(f[2]), 'device_name:{}'.format(f[2])]
            read_ms, write_ms = int(f[6]), int(f[10])
            self.monotonic_count('system.disk.read_time', read_ms, tags=dev_tags)
            self.monotonic_count('system.disk.write_time', write_ms, tags=dev_tags)
            # Rates of milliseconds: a fraction of each second, times 100.
            self.rate('system.disk.read_time_pct', read_ms * 100 / 1000.0, tags=dev_tags)
            self.rate('system.disk.write_time_pct', write_ms * 100 / 1000.0, tags=dev_tags)
