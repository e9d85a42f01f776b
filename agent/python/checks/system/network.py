"""The Agent's ``network`` check (``pkg/collector/corechecks/net/network``):
per interface with traffic, bytes and packets in and out with errors
(errors + drops, as the Agent counts them) and drops, as rates of
``/proc/net/dev``'s counters, tagged ``device:`` (plus
``speed:`` and ``mtu:`` when ``/sys/class/net`` has them); each interface's
``system.net.iface.*`` (mtu, tx_queue_len, up, queue counts) from
``/sys/class/net``; the IP, TCP and UDP counters of ``/proc/net/snmp`` and
``/proc/net/netstat`` as rates (``collect_rate_metrics``, on by default) and
monotonic counts named ``NAME.count`` (``collect_count_metrics``), with
``system.net.tcp.current_established`` as a gauge; and conntrack's table
size and use (``system.net.conntrack.*``) from
``<procfs>/sys/net/netfilter`` (the names in which ``max`` or ``count`` is
found, unless ``whitelist_conntrack_metrics``/``blacklist_conntrack_metrics``
give other regular expressions), plus ``conntrack -S``'s counters per CPU when ``conntrack_path``
is set.

``collect_connection_state`` counts sockets per state from
``/proc/net/{tcp,tcp6,udp,udp6}`` (what ``ss`` reads), as the Agent's
gauges ``system.net.tcp4.established``, ``.opening``, ``.closing``,
``.listening``, ``.time_wait`` and ``system.net.udp4.connections`` (and
``tcp6``/``udp6``); ``combine_connection_states: false`` reports one gauge
per kernel state (``system.net.tcp4.syn_sent``, ...).

``collect_ethtool_metrics`` adds each interface's driver statistics
(``ethtool -S``, for the drivers the Agent knows: ena, virtio_net,
hv_netvsc, gve) as monotonic counts ``system.net.<driver>.queue.<name>``
tagged ``queue:N`` (``.cpu.`` and ``cpu:N`` per CPU, ``global`` for the
whole device), and ``collect_aws_ena_metrics`` the ENA allowance counters
as gauges ``system.net.aws.ec2.*``; both tagged ``driver_name:``, ``driver_version:``
and ``device:`` (see ``checks.system.ethtool``).

``excluded_interfaces`` and ``excluded_interface_re`` leave interfaces out
(the default configuration excludes ``lo``).
"""

import os
import re
import subprocess

from checks import AgentCheck
from checks.system import ethtool, instance_tags, procfs_path, read_lines

INTERFACE_METRICS = (
    # (/proc/net/dev column, metric)
    (0, 'system.net.bytes_rcvd'),
    (1, 'system.net.packets_in.count'),
    (3, 'system.net.packets_in.drop'),
    (8, 'system.net.bytes_sent'),
    (9, 'system.net.packets_out.count'),
    (11, 'system.net.packets_out.drop'),
)
# The Agent's ``packets_*.error`` add the drops to the errors.
ERROR_METRICS = ((2, 3, 'system.net.packets_in.error'), (10, 11, 'system.net.packets_out.error'))

# The kernel's TCP states (include/net/tcp_states.h), as /proc/net/tcp writes them.
TCP_STATES = {
    '01': 'estab', '02': 'syn_sent', '03': 'syn_recv', '04': 'fin_wait_1', '05': 'fin_wait_2',
    '06': 'time_wait', '07': 'close', '08': 'close_wait', '09': 'last_ack', '0A': 'listen', '0B': 'closing',
}
# The Agent's combined states; close_wait and last_ack count as closing.
COMBINED_STATES = {
    'estab': 'established', 'syn_sent': 'opening', 'syn_recv': 'opening', 'fin_wait_1': 'closing',
    'fin_wait_2': 'closing', 'time_wait': 'time_wait', 'close': 'closing', 'close_wait': 'closing',
    'last_ack': 'closing', 'listen': 'listening', 'closing': 'closing',
}

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
        'IPReversePathFilter': 'system.net.ip.reverse_path_filter', 'PruneCalled': 'system.net.tcp.prune_called',
        'RcvPruned': 'system.net.tcp.prune_rcv_drops', 'OfoPruned': 'system.net.tcp.prune_ofo_called',
        'PAWSActive': 'system.net.tcp.paws_connection_drops', 'PAWSEstab': 'system.net.tcp.paws_established_drops',
        'SyncookiesSent': 'system.net.tcp.syn_cookies_sent', 'SyncookiesRecv': 'system.net.tcp.syn_cookies_recv',
        'SyncookiesFailed': 'system.net.tcp.syn_cookies_failed', 'TWRecycled': 'system.net.tcp.tw_reused',
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
            if not keys or not vals or keys[0] != vals[0]:
                continue
            counters = out.setdefault(keys[0].rstrip(':'), {})
            for k, v in zip(keys[1:], vals[1:]):
                try:
                    counters[k] = int(v)
                except ValueError:
                    pass
    return out


def count_connection_states(combine=True):
    """``{metric: sockets}`` from /proc/net/{tcp,tcp6,udp,udp6}; every known metric present, 0 if none."""
    states = sorted(set(COMBINED_STATES.values() if combine else TCP_STATES.values()))
    counts = {}
    for version in ('4', '6'):
        for state in states:
            counts['system.net.tcp{}.{}'.format(version, state)] = 0
        counts['system.net.udp{}.connections'.format(version)] = 0
        for proto in ('tcp', 'udp'):
            try:
                lines = read_lines('net', proto + ('6' if version == '6' else ''))[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) < 4:
                    continue
                if proto == 'udp':
                    counts['system.net.udp{}.connections'.format(version)] += 1
                    continue
                state = TCP_STATES.get(fields[3].upper())
                if state is not None:
                    state = COMBINED_STATES[state] if combine else state
                    counts['system.net.tcp{}.{}'.format(version, state)] += 1
    return counts


def _read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class NetworkCheck(AgentCheck):
    def check(self, instance):
        tags = instance_tags(instance)
        excluded = set(instance.get('excluded_interfaces') or [])
        pattern = instance.get('excluded_interface_re')
        excluded_re = re.compile(pattern) if pattern else None

        def skip(name):
            return name in excluded or (excluded_re is not None and excluded_re.match(name) is not None)

        active = self._interfaces(tags, skip)
        if instance.get('collect_ethtool_metrics', False) or instance.get('collect_aws_ena_metrics', False):
            self._ethtool(instance, tags, [name for name in active if name not in ('lo', 'lo0')])
        self._iface_sys_metrics(tags)
        self._protocols(instance, tags)
        if instance.get('collect_connection_state', False):
            for metric, value in count_connection_states(instance.get('combine_connection_states', True)).items():
                self.gauge(metric, value, tags=tags)
        self._conntrack(instance, tags)

    def _interfaces(self, tags, skip):
        """Submit the interfaces' counters; the names of those reported."""
        active = []
        for line in read_lines('net', 'dev')[2:]:
            name, _, rest = line.partition(':')
            name = name.strip()
            if not name or skip(name):
                continue
            counters = [int(x) for x in rest.split()]
            # The Agent leaves out interfaces that never received or sent a byte.
            if len(counters) < 12 or not (counters[0] or counters[8]):
                continue
            dev_tags = list(tags)
            for key in ('speed', 'mtu'):
                value = _read_int('/sys/class/net/{}/{}'.format(name, key))
                if value is not None and value > 0:
                    dev_tags.append('{}:{}'.format(key, value))
            dev_tags.append('device:{}'.format(name))
            for column, metric in INTERFACE_METRICS:
                self.rate(metric, counters[column], tags=dev_tags)
            for errors, drops, metric in ERROR_METRICS:
                self.rate(metric, counters[errors] + counters[drops], tags=dev_tags)
            active.append(name)
        return active

    def _ethtool(self, instance, tags, interfaces):
        for name in interfaces:
            try:
                driver, version, stats = ethtool.read(name)
            except OSError as e:
                # Interfaces without SIOCETHTOOL: bridges, tunnels, veth, ...
                self.log.debug('no ethtool statistics for %s: %s', name, e)
                continue
            dev_tags = tags + ['driver_name:{}'.format(driver), 'driver_version:{}'.format(version),
                               'device:{}'.format(name)]
            if instance.get('collect_aws_ena_metrics', False):
                for metric, value in ethtool.ena_allowances(stats).items():
                    self.gauge('system.net.' + metric, value, tags=dev_tags)
            if instance.get('collect_ethtool_metrics', False):
                for tag, metrics in ethtool.driver_metrics(driver, stats).items():
                    for metric, value in metrics.items():
                        self.monotonic_count('system.net.' + metric, value, tags=dev_tags + [tag])

    def _iface_sys_metrics(self, tags):
        base = '/sys/class/net'
        try:
            interfaces = sorted(os.listdir(base))
        except OSError:
            return
        for iface in interfaces:
            iface_tags = tags + ['iface:{}'.format(iface)]
            for metric, filename in (('mtu', 'mtu'), ('tx_queue_len', 'tx_queue_len'), ('up', 'carrier')):
                value = _read_int(os.path.join(base, iface, filename))
                if value is not None:
                    self.gauge('system.net.iface.' + metric, value, tags=iface_tags)
            try:
                queues = os.listdir(os.path.join(base, iface, 'queues'))
            except OSError:
                continue
            self.gauge('system.net.iface.num_rx_queues', sum(q.startswith('rx-') for q in queues), tags=iface_tags)
            self.gauge('system.net.iface.num_tx_queues', sum(q.startswith('tx-') for q in queues), tags=iface_tags)

    def _protocols(self, instance, tags):
        rates = instance.get('collect_rate_metrics', True)
        counts = instance.get('collect_count_metrics', False)
        protocols = read_protocol_counters('snmp', 'netstat')
        for protocol, mapping in PROTOCOL_METRICS.items():
            counters = protocols.get(protocol, {})
            for key, metric in mapping.items():
                if key not in counters:
                    continue
                if rates:
                    self.rate(metric, counters[key], tags=tags)
                if counts:
                    self.monotonic_count(metric + '.count', counters[key], tags=tags)
        established = protocols.get('Tcp', {}).get('CurrEstab')
        if established is not None:
            self.gauge('system.net.tcp.current_established', established, tags=tags)

    def _conntrack(self, instance, tags):
        location = os.path.join(procfs_path(), 'sys', 'net', 'netfilter')
        include = instance.get('whitelist_conntrack_metrics')
        exclude = instance.get('blacklist_conntrack_metrics')
        if include is None and exclude is None:
            include = ['max', 'count']
        try:
            names = sorted(f[len('nf_conntrack_'):] for f in os.listdir(location) if f.startswith('nf_conntrack_'))
        except OSError:
            names = []
        for name in names:
            if include is not None and not any(re.search(p, name) for p in include):
                continue
            if exclude is not None and any(re.search(p, name) for p in exclude):
                continue
            value = _read_int(os.path.join(location, 'nf_conntrack_' + name))
            if value is not None:
                self.gauge('system.net.conntrack.' + name, value, tags=tags)
        path = instance.get('conntrack_path')
        if path:
            self._conntrack_stats(path, instance.get('use_sudo_conntrack', True), tags)

    def _conntrack_stats(self, path, sudo, tags):
        """``conntrack -S``: ``cpu=0 found=1 invalid=2 ...`` per CPU, each counter a monotonic count."""
        cmd = (['sudo', '-n'] if sudo else []) + [path, '-S']
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout
        except (OSError, subprocess.SubprocessError) as e:
            self.log.debug('unable to run %s: %s', ' '.join(cmd), e)
            return
        for line in out.splitlines():
            cells = dict(cell.split('=', 1) for cell in line.split() if '=' in cell)
            cpu = cells.pop('cpu', None)
            if cpu is None:
                continue
            for metric, value in cells.items():
                try:
                    self.monotonic_count('system.net.conntrack.' + metric, int(value), tags=tags + ['cpu:' + cpu])
                except ValueError:
                    pass
