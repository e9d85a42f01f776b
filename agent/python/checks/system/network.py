"""The Agent's ``network`` check (``pkg/collector/corechecks/net/network``):
per interface, bytes and packets in and out with errors and drops, as
rates of ``/proc/net/dev``'s counters, tagged ``device:`` and
``device_name:`` (plus ``speed:`` and ``mtu:`` when ``/sys/class/net``
has them); and the IP, TCP and UDP counters of ``/proc/net/snmp`` and
``/proc/net/netstat``, each as a rate and as a monotonic count
(``NAME.count``), untagged.

``excluded_interfaces`` and ``excluded_interface_re`` leave interfaces out
(the default configuration excludes ``lo``). Connection states
(``collect_connection_state``) are not collected.
"""

import re

from checks import AgentCheck
from checks.system import instance_tags, read_lines

INTERFACE_METRICS = (
    # (/proc/net/dev column, metric)
    (0, 'system.net.bytes_rcvd'),
    (1, 'system.net.packets_in.count'),
    (2, 'system.net.packets_in.error'),
    (3, 'system.net.packets_in.drop'),
    (8, 'system.net.bytes_sent'),
    (9, 'system.net.packets_out.count'),
    (10, 'system.net.packets_out.error'),
    (11, 'system.net.packets_out.drop'),
)

PROTOCOL_METRICS = {
    'Ip': {
        'InReceives': 'system.net.ip.in_receives', 'InHdrErrors': 'system.net.ip.in_header_errors',
        'InAddrErrors': 'system.net.ip.in_addr_errors', 'InUnknownProtos': 'system.net.ip.in_unknown_protos',
        'InDiscards': 'system.net.ip.in_discards', 'InDelivers': 'system.net.ip.in_delivers',
        'OutRequests': 'system.net.ip.out_requests', 'OutDiscards': 'system.net.ip.out_discards',
        'OutNoRoutes': 'system.net.ip.out_no_routes', 'ForwDatagrams': 'system.net.ip.forwarded_datagrams',
        'ReasmTimeout': 'system.net.ip.reassembly_timeouts', 'ReasmReqds': 'system.net.ip.reassembly_requests',
        'ReasmOKs': 'system.net.ip.reassembly_oks', 'ReasmFails': 'system.net.ip.reassembly_fails',
        'FragOKs': 'system.net.ip.fragmentation_oks', 'FragFails': 'system.net.ip.fragmentation_fails',
        'FragCreates': 'system.net.ip.fragmentation_creates',
    },
    'IpExt': {
        'InNoRoutes': 'system.net.ip.in_no_routes', 'InTruncatedPkts': 'system.net.ip.in_truncated_pkts',
        'InCsumErrors': 'system.net.ip.in_csum_errors', 'ReasmOverlaps': 'system.net.ip.reassembly_overlaps',
    },
    'Tcp': {
        'RetransSegs': 'system.net.tcp.retrans_segs', 'InSegs': 'system.net.tcp.in_segs',
        'OutSegs': 'system.net.tcp.out_segs', 'ActiveOpens': 'system.net.tcp.active_opens',
        'PassiveOpens': 'system.net.tcp.passive_opens', 'AttemptFails': 'system.net.tcp.attempt_fails',
        'EstabResets': 'system.net.tcp.established_resets', 'InErrs': 'system.net.tcp.in_errors',
        'OutRsts': 'system.net.tcp.out_resets', 'InCsumErrors': 'system.net.tcp.in_csum_errors',
    },
    'TcpExt': {
        'ListenOverflows': 'system.net.tcp.listen_overflows', 'ListenDrops': 'system.net.tcp.listen_drops',
        'TCPBacklogDrop': 'system.net.tcp.backlog_drops', 'TCPRetransFail': 'system.net.tcp.failed_retransmits',
        'TCPSynRetrans': 'system.net.tcp.syn_retrans', 'TCPAbortOnTimeout': 'system.net.tcp.abort_on_timeout',
        'TCPFromZeroWindowAdv': 'system.net.tcp.from_zero_window',
        'TCPToZeroWindowAdv': 'system.net.tcp.to_zero_window',
    },
    'Udp': {
        'InDatagrams': 'system.net.udp.in_datagrams', 'NoPorts': 'system.net.udp.no_ports',
        'InErrors': 'system.net.udp.in_errors', 'OutDatagrams': 'system.net.udp.out_datagrams',
        'RcvbufErrors': 'system.net.udp.rcv_buf_errors', 'SndbufErrors': 'system.net.udp.snd_buf_errors',
        'InCsumErrors': 'system.net.udp.in_csum_errors',
    },
}


def read_protocol_counters(*files):
    """``{protocol: {counter: value}}`` from snmp/netstat files (header line, then values line)."""
    out = {}
    for name in files:
        try:
            lines = read_lines('net', name)
        except OSError:
            continue
        for header, values in zip(lines[::2], lines[1::2]):
            keys, vals = header.split(), values.split()
            if not keys or keys[0] != vals[0]:
                continue
            counters = out.setdefault(keys[0].rstrip(':'), {})
            for k, v in zip(keys[1:], vals[1:]):
                try:
                    counters[k] = int(v)
                except ValueError:
                    pass
    return out


def _sys_int(interface, name):
    try:
        with open('/sys/class/net/{}/{}'.format(interface, name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class NetworkCheck(AgentCheck):
    def check(self, instance):
        tags = instance_tags(instance)
        excluded = set(instance.get('excluded_interfaces') or [])
        pattern = instance.get('excluded_interface_re')
        excluded_re = re.compile(pattern) if pattern else None
        for line in read_lines('net', 'dev')[2:]:
            name, _, rest = line.partition(':')
            name = name.strip()
            if not name or name in excluded or (excluded_re is not None and excluded_re.match(name)):
                continue
            counters = [int(x) for x in rest.split()]
            if len(counters) < 12:
                continue
            dev_tags = tags + ['device:{}'.format(name), 'device_name:{}'.format(name)]
            for key in ('speed', 'mtu'):
                value = _sys_int(name, key)
                if value is not None and value >= 0:
                    dev_tags.append('{}:{}'.format(key, value))
            for column, metric in INTERFACE_METRICS:
                self.rate(metric, counters[column], tags=dev_tags)
        protocols = read_protocol_counters('snmp', 'netstat')
        for protocol, mapping in PROTOCOL_METRICS.items():
            counters = protocols.get(protocol, {})
            for key, metric in mapping.items():
                if key in counters:
                    self.rate(metric, counters[key], tags=tags)
                    self.monotonic_count(metric + '.count', counters[key], tags=tags)
