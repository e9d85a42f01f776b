"""The Agent's ``file_handle`` check: ``system.fs.file_handles.*`` from
``/proc/sys/fs/file-nr`` (allocated, allocated but unused, maximum)."""

from checks import AgentCheck
from checks.system import instance_tags, read_text


class FileHandleCheck(AgentCheck):
    def check(self, instance):
        tags = instance_tags(instance)
        fields = read_text('sys', 'fs', 'file-nr').split()
        if len(fields) != 3:
            raise RuntimeError('unexpected file-nr contents: {!r}'.format(fields))
        allocated, unused, maximum = (float(x) for x in fields)
        self.gauge('system.fs.file_handles.allocated', allocated, tags=tags)
        self.gauge('system.fs.file_handles.allocated_unused', unused, tags=tags)
        self.gauge('system.fs.file_handles.in_use', (allocated - unused) / maximum if maximum else 0.0, tags=tags)
        self.gauge('system.fs.file_handles.used', allocated - unused, tags=tags)
        self.gauge('system.fs.file_handles.max', maximum, tags=tags)
