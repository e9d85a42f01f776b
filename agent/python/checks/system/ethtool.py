"""A network interface's driver statistics (what ``ethtool -i`` and
``ethtool -S`` print), read with the ``SIOCETHTOOL`` ioctl, for the
``network`` check's ``collect_ethtool_metrics`` and
``collect_aws_ena_metrics``.

The kernel interface (``include/uapi/linux/ethtool.h``): every request is
an ``ifreq`` (the interface name, then a pointer) whose pointer leads to a
command structure starting with the 32-bit command number.
``ETHTOOL_GDRVINFO`` fills ``struct ethtool_drvinfo`` (driver name and
version at offsets 4 and 36); ``ETHTOOL_GSSET_INFO`` says how many
statistics there are; ``ETHTOOL_GSTRINGS`` names them (32 bytes each) and
``ETHTOOL_GSTATS`` gives their 64-bit values, in the same order.

Statistics per queue or per CPU become one metric tagged ``queue:N`` or
``cpu:N``; the names drivers use for them: ``queue_0_tx_cnt`` and
``tx_queue_0_bytes`` (ena, older virtio_net, hv_netvsc), ``rx0_kicks``
(virtio_net since Linux 6.x), ``cpu0_rx_bytes`` (hv_netvsc) and
``tx_stop[0]`` (gve).
"""

import array
import re
import socket
import struct

SIOCETHTOOL = 0x8946
ETHTOOL_GDRVINFO = 0x03
ETHTOOL_GSTRINGS = 0x1B
ETHTOOL_GSTATS = 0x1D
ETHTOOL_GSSET_INFO = 0x37
ETH_SS_STATS = 1
ETH_GSTRING_LEN = 32
DRVINFO_SIZE = 196  # sizeof(struct ethtool_drvinfo)

# The Agent's per-queue (or per-CPU) statistics, by driver: what
# `collect_ethtool_metrics` reports as `system.net.<driver>.queue.<name>`.
QUEUE_METRICS = {
    'ena': {
        'rx_bad_csum', 'rx_bad_desc_num', 'rx_bad_req_id', 'rx_bytes', 'rx_cnt', 'rx_csum_good',
        'rx_csum_unchecked', 'rx_dma_mapping_err', 'rx_empty_rx_ring', 'rx_page_alloc_fail', 'rx_refil_partial',
        'rx_rx_copybreak_pkt', 'rx_skb_alloc_fail', 'rx_xdp_aborted', 'rx_xdp_drop', 'rx_xdp_invalid',
        'rx_xdp_pass', 'rx_xdp_redirect', 'rx_xdp_tx', 'tx_bad_req_id', 'tx_bytes', 'tx_cnt', 'tx_dma_mapping_err',
        'tx_doorbells', 'tx_linearize', 'tx_linearize_failed', 'tx_llq_buffer_copy', 'tx_missed_tx',
        'tx_napi_comp', 'tx_prepare_ctx_err', 'tx_queue_stop', 'tx_queue_wakeup', 'tx_tx_poll',
        'tx_unmask_interrupt',
    },
    'virtio_net': {
        'rx_drops', 'rx_kicks', 'rx_packets', 'rx_bytes', 'rx_xdp_drops', 'rx_xdp_packets', 'rx_xdp_redirects',
        'rx_xdp_tx', 'tx_kicks', 'tx_packets', 'tx_bytes', 'tx_xdp_tx', 'tx_xdp_tx_drops',
    },
    'hv_netvsc': {
        'tx_packets', 'tx_bytes', 'rx_packets', 'rx_bytes', 'rx_xdp_drop',
        'vf_rx_packets', 'vf_rx_bytes', 'vf_tx_packets', 'vf_tx_bytes',
    },
    'gve': {
        'rx_posted_desc', 'rx_completed_desc', 'rx_bytes', 'rx_dropped_pkt', 'rx_copybreak_pkt', 'rx_copied_pkt',
        'rx_queue_drop_cnt', 'rx_no_buffers_posted', 'rx_drops_packet_over_mru', 'rx_drops_invalid_checksum',
        'tx_posted_desc', 'tx_completed_desc', 'tx_bytes', 'tx_wake', 'tx_stop', 'tx_event_counter',
        'tx_dma_mapping_error',
    },
}

# Whole-device statistics, reported as `system.net.<driver>.<name>` tagged `global`.
GLOBAL_METRICS = {
    'ena': {'tx_timeout', 'suspend', 'resume', 'wd_expired'},
    'hv_netvsc': {
        'tx_scattered', 'tx_no_memory', 'tx_no_space', 'tx_too_big', 'tx_busy', 'tx_send_full', 'rx_comp_busy',
        'rx_no_memory', 'stop_queue', 'wake_queue',
    },
    'gve': {
        'tx_timeouts', 'rx_skb_alloc_fail', 'rx_buf_alloc_fail', 'rx_desc_err_dropped_pkt', 'page_alloc_fail',
        'dma_mapping_error',
    },
}

# AWS ENA's allowance counters (`collect_aws_ena_metrics`), as `aws.ec2.<name>`.
ENA_ALLOWANCES = (
    'bw_in_allowance_exceeded', 'bw_out_allowance_exceeded', 'conntrack_allowance_exceeded',
    'linklocal_allowance_exceeded', 'pps_allowance_exceeded',
)

_PER_QUEUE = (
    # queue_0_tx_cnt, tx_queue_0_bytes: drop "queue_N" from the name.
    (re.compile(r'^(?:(?P<pre>.+?)_)?queue_(?P<n>\d+)_(?P<post>.+)$'), 'queue'),
    # rx0_kicks, tx1_packets.
    (re.compile(r'^(?P<pre>rx|tx)(?P<n>\d+)_(?P<post>.+)$'), 'queue'),
    # cpu0_rx_bytes.
    (re.compile(r'^cpu(?P<n>\d+)_(?P<post>.+)$'), 'cpu'),
    # tx_stop[0].
    (re.compile(r'^(?P<post>.+)\[(?P<n>\d+)\]$'), 'queue'),
)


def split_stat(name):
    """``(kind, number, metric)`` of a per-queue or per-CPU statistic
    (``('queue', '0', 'tx_bytes')`` for ``tx_queue_0_bytes``), else None."""
    for pattern, kind in _PER_QUEUE:
        m = pattern.match(name)
        if m:
            parts = m.groupdict()
            metric = '_'.join(p for p in (parts.get('pre'), parts['post']) if p)
            return kind, parts['n'], metric
    return None


def driver_metrics(driver, stats):
    """``{tag: {metric: value}}`` of the statistics the Agent collects for
    this driver: per queue/CPU under ``queue:N``/``cpu:N``, whole-device
    ones under ``global``. ``stats`` is ``[(name, value)]``."""
    queue_names = QUEUE_METRICS.get(driver)
    if queue_names is None:
        return {}
    global_names = GLOBAL_METRICS.get(driver, set())
    out = {}
    for name, value in stats:
        split = split_stat(name)
        if split is not None:
            kind, number, metric = split
            if metric in queue_names:
                section = '.cpu.' if kind == 'cpu' else '.queue.'
                out.setdefault('{}:{}'.format(kind, number), {})[driver + section + metric] = value
        elif name in global_names:
            out.setdefault('global', {})[driver + '.' + name] = value
    return out


def ena_allowances(stats):
    """``{metric: value}`` of the ENA allowance counters in ``stats``."""
    return {'aws.ec2.' + name: value for name, value in stats if name in ENA_ALLOWANCES}


def _ioctl(sock, iface, buf):
    import fcntl  # here: only hosts that ask for ethtool statistics need it

    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, struct.pack('16sP', iface.encode(), buf.buffer_info()[0]))


def _cstring(raw):
    return raw.partition(b'\0')[0].decode('utf-8', 'replace')


def read(iface):
    """``(driver, version, [(statistic, value)])`` of ``iface``. Raises
    ``OSError`` when the interface does not answer ``SIOCETHTOOL`` (the
    loopback, most virtual devices) or does not exist."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        info = array.array('B', struct.pack('I', ETHTOOL_GDRVINFO) + bytes(DRVINFO_SIZE - 4))
        _ioctl(sock, iface, info)
        raw = info.tobytes()
        driver, version = _cstring(raw[4:36]), _cstring(raw[36:68])

        sset = array.array('B', struct.pack('IIQI', ETHTOOL_GSSET_INFO, 0, 1 << ETH_SS_STATS, 0))
        _ioctl(sock, iface, sset)
        mask, count = struct.unpack_from('8xQI', sset)
        count = count if mask else 0

        strings = array.array('B', struct.pack('III', ETHTOOL_GSTRINGS, ETH_SS_STATS, count))
        strings.extend(bytes(count * ETH_GSTRING_LEN))
        _ioctl(sock, iface, strings)
        raw = strings.tobytes()
        names = [_cstring(raw[12 + i * ETH_GSTRING_LEN:12 + (i + 1) * ETH_GSTRING_LEN]) for i in range(count)]

        values = array.array('B', struct.pack('II', ETHTOOL_GSTATS, count))
        values.extend(bytes(count * 8))
        _ioctl(sock, iface, values)
        numbers = struct.unpack_from('{}Q'.format(count), values, 8)
        return driver, version, list(zip(names, numbers))
    finally:
        sock.close()
