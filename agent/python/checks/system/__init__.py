"""pyhost's system checks: the Datadog Agent's core checks (``cpu``,
``memory``, ``load``, ``disk``, ``io``, ``network``, ``uptime``,
``file_handle``) written as ordinary checks on pyhost's ``AgentCheck``.

Each module holds one check class with the Agent's metric names, types and
tags, reading ``/proc`` (``procfs_path`` in the host configuration moves it,
as the Agent's does) and ``os.statvfs``. Counters the Agent submits as rates
or monotonic counts are submitted the same way, so the aggregator computes
the per-second values between two runs as the Agent's does; values the Agent
computes in the check from two runs (CPU percentages, I/O latencies) are
computed here from the previous run's sample.

This package holds what the checks share.
"""

from checks import datadog_agent

__all__ = ['procfs_path', 'read_text', 'read_lines', 'instance_tags', 'key_values']


def procfs_path():
    """``procfs_path`` from the host configuration (``datadog.yaml``), else ``/proc``."""
    try:
        path = datadog_agent.get_config('procfs_path')
    except Exception:
        path = None
    if not isinstance(path, str) or not path:
        path = '/proc'
    return path.rstrip('/') or '/'


def read_text(*parts):
    """The text of ``<procfs>/<parts...>``."""
    with open('/'.join((procfs_path(),) + parts)) as f:
        return f.read()


def read_lines(*parts):
    """The lines of ``<procfs>/<parts...>``."""
    return read_text(*parts).splitlines()


def key_values(lines, scale=1):
    """``{key: int(value) * scale}`` from ``key value`` or ``key: value [kB]`` lines."""
    out = {}
    for line in lines:
        fields = line.replace(':', ' ').split()
        if len(fields) >= 2:
            try:
                out[fields[0]] = int(fields[1]) * scale
            except ValueError:
                pass
    return out


def instance_tags(instance):
    """The instance's ``tags`` (the Agent adds them to every metric of a core check)."""
    return [str(t) for t in (instance.get('tags') or [])]
