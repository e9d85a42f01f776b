"""The system checks shipped with the agent (``checks.system.*``), run on
pyhost's base against fake host modules and a fake ``/proc``
(``procfs_path``), so every value they submit is known: names, types,
tags, and what they compute from two runs.

    python3 -m unittest discover -s tests/python -t tests/python
"""

import os
import shutil
import tempfile
import unittest

import fakehost
from fakehost import args_of, reset

fakehost.install()

import checks  # noqa: E402
from checks.system import cpu, disk, ethtool, file_handle, io, load, memory, network, uptime  # noqa: E402

GAUGE, RATE, COUNT, MONOTONIC_COUNT = 0, 1, 2, 3

STAT = """cpu  {user} 10 {system} {idle} 5 2 3 0 0 0
cpu0 {user} 5 {system} {idle} 2 1 1 0 0 0
cpu1 0 5 0 0 3 1 2 0 0 0
intr 1 2 3
ctxt {ctxt}
btime 1700000000
"""

MEMINFO = """MemTotal:        2048000 kB
MemFree:          512000 kB
MemAvailable:    1024000 kB
Buffers:           10240 kB
Cached:           204800 kB
SwapCached:         1024 kB
Shmem:              2048 kB
Slab:              40960 kB
SReclaimable:      20480 kB
PageTables:         4096 kB
CommitLimit:     3072000 kB
Committed_AS:    1536000 kB
SwapTotal:       1048576 kB
SwapFree:         786432 kB
"""

DISKSTATS = """   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda {reads} 10 {sectors_read} {read_ms} {writes} 20 {sectors_written} {write_ms} 0 {io_ms} {weighted}
"""

NETDEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: {rx}     200    1    2    0     0          0         0   {tx}     300    3    4    0     0       0          0
 idle1:     0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
"""

SNMP = """Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 {ip_in}
Tcp: RtoAlgorithm RtoMin RetransSegs InSegs CurrEstab
Tcp: 1 200 {retrans} 900 5
Udp: InDatagrams NoPorts
Udp: 50 2
"""

PROC_NET_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 {s1} 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 0100007F:C350 {s2} 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:1F91 0100007F:C351 {s3} 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0100007F:1F92 0100007F:C352 {s4} 00000000:00000000 00:00000000 00000000     0        0 4 1
"""


class FakeProc(object):
    """A directory laid out like /proc, with the files the checks read."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix='pyhost-fakeproc-')
        fakehost.config['procfs_path'] = self.root

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as f:
            f.write(text)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def run(check_class, instance=None, check=None):
    """Run a check once (a new one unless given); (the check, {(name, tags): (type, value)})."""
    del fakehost.calls[:]
    if check is None:
        check = check_class('x', {}, [instance or {}])
        check.check_id = 'x:1'
    result = check.run()
    if result:
        raise AssertionError(result)
    submitted = {}
    for args in args_of('submit_metric'):
        _check, _id, mtype, name, value, tags, _host, _ffv = args
        submitted[(name, tuple(tags))] = (mtype, value)
    return check, submitted


class SystemChecksTest(unittest.TestCase):
    def setUp(self):
        reset()
        self.proc = FakeProc()

    def tearDown(self):
        self.proc.remove()

    def test_cpu_percentages_come_from_two_samples(self):
        self.proc.write('stat', STAT.format(user=100, system=50, idle=1000, ctxt=500))
        c, first = run(cpu.CPUCheck, {'first_run_baseline': 0, 'tags': ['env:test']})
        tags = ('env:test',)
        self.assertEqual(first[('system.cpu.num_cores', tags)], (GAUGE, 2))
        self.assertEqual(first[('system.cpu.context_switches', tags)], (MONOTONIC_COUNT, 500))
        self.assertNotIn(('system.cpu.user', tags), first, 'the Agent reports no percentage on the first run')
        self.assertEqual(first[('system.cpu.user.total', ('env:test', 'core:0'))][0], GAUGE)
        # 40 ticks of user, 20 of system, 140 idle: 200 in all, over 2 cores.
        self.proc.write('stat', STAT.format(user=140, system=70, idle=1140, ctxt=800))
        _, second = run(None, check=c)
        self.assertAlmostEqual(second[('system.cpu.user', tags)][1], 20.0)
        self.assertAlmostEqual(second[('system.cpu.system', tags)][1], 10.0)
        self.assertAlmostEqual(second[('system.cpu.idle', tags)][1], 70.0)
        self.assertAlmostEqual(second[('system.cpu.iowait', tags)][1], 0.0)

    def test_cpu_takes_its_own_baseline_on_the_first_run(self):
        # The real /proc: idle time alone advances the ticks within 50 ms.
        del fakehost.config['procfs_path']
        _, first = run(cpu.CPUCheck, {'first_run_baseline': 0.05})
        parts = ('user', 'system', 'iowait', 'idle', 'stolen')
        total = sum(first[('system.cpu.' + p, ())][1] for p in parts)
        self.assertAlmostEqual(total, 100.0, delta=0.01)

    def test_memory_in_mb_as_the_agent_reports_it(self):
        self.proc.write('meminfo', MEMINFO)
        self.proc.write('vmstat', 'pswpin 256\npswpout 512\npgpgin 1\n')
        _, m = run(memory.MemoryCheck)
        self.assertEqual(m[('system.mem.total', ())], (GAUGE, 2000.0))
        self.assertEqual(m[('system.mem.free', ())], (GAUGE, 500.0))
        self.assertEqual(m[('system.mem.used', ())], (GAUGE, 1500.0))
        self.assertEqual(m[('system.mem.usable', ())], (GAUGE, 1000.0))
        self.assertEqual(m[('system.mem.pct_usable', ())], (GAUGE, 0.5))
        self.assertEqual(m[('system.mem.cached', ())], (GAUGE, 220.0))
        self.assertEqual(m[('system.swap.total', ())], (GAUGE, 1024.0))
        self.assertEqual(m[('system.swap.used', ())], (GAUGE, 256.0))
        self.assertEqual(m[('system.swap.pct_free', ())], (GAUGE, 0.75))
        self.assertEqual(m[('system.swap.swap_in', ())], (RATE, 1.0))
        self.assertEqual(m[('system.swap.swap_out', ())], (RATE, 2.0))

    def test_load_uptime_and_file_handles(self):
        self.proc.write('loadavg', '0.50 1.00 1.50 2/300 12345\n')
        self.proc.write('uptime', '3600.75 7000.00\n')
        self.proc.write('sys/fs/file-nr', '1000\t200\t10000\n')
        _, l = run(load.LoadCheck)
        cpus = float(os.cpu_count())
        self.assertEqual(l[('system.load.1', ())], (GAUGE, 0.5))
        self.assertEqual(l[('system.load.norm.15', ())], (GAUGE, 1.5 / cpus))
        _, u = run(uptime.UptimeCheck)
        self.assertEqual(u[('system.uptime', ())], (GAUGE, 3600))
        _, f = run(file_handle.FileHandleCheck)
        self.assertEqual(f[('system.fs.file_handles.used', ())], (GAUGE, 800.0))
        self.assertEqual(f[('system.fs.file_handles.in_use', ())], (GAUGE, 0.08))
        self.assertEqual(f[('system.fs.file_handles.max', ())], (GAUGE, 10000.0))

    def test_disk_reports_mounted_filesystems_by_device(self):
        self.proc.write(
            'self/mounts',
            '/dev/fake1 / ext4 rw 0 0\nnone /nothing tmpfs rw 0 0\n/dev/sr0 /cdrom iso9660 ro 0 0\n'
            'proc /proc proc rw 0 0\n/dev/gone /no/such/mount ext4 rw 0 0\n',
        )
        self.proc.write('diskstats', DISKSTATS.format(reads=1, sectors_read=8, read_ms=10, writes=1,
                                                      sectors_written=8, write_ms=20, io_ms=5, weighted=30))
        _, d = run(disk.DiskCheck, {'tags': ['t:1']})
        tags = ('t:1', 'device:/dev/fake1', 'device_name:fake1')
        st = os.statvfs('/')
        self.assertEqual(d[('system.disk.total', tags)], (GAUGE, st.f_blocks * st.f_frsize / 1024.0))
        self.assertEqual(d[('system.disk.in_use', tags)][0], GAUGE)
        self.assertTrue(0 <= d[('system.disk.in_use', tags)][1] <= 1)
        devices = {t for (_, tags_) in d for t in tags_ if t.startswith('device:')}
        # No device, a CD-ROM, a size of 0 (proc) and a mount that is not there are left out.
        self.assertEqual(devices, {'device:/dev/fake1', 'device:vda'})
        vda = ('t:1', 'device:vda', 'device_name:vda')
        self.assertEqual(d[('system.disk.read_time_pct', vda)], (RATE, 1.0))
        self.assertEqual(d[('system.disk.write_time', vda)], (MONOTONIC_COUNT, 20))
        _, by_mount = run(disk.DiskCheck, {'use_mount': True, 'all_partitions': True, 'excluded_filesystems': ['ext4']})
        self.assertNotIn(('system.disk.total', ('device:/', 'device_name:fake1')), by_mount)
        self.proc.write('self/mounts', '/dev/fake1 / ext4 rw 0 0\n')
        _, by_mount = run(disk.DiskCheck, {'use_mount': True, 'tag_by_filesystem': True})
        # The Agent adds the bare file system name too.
        self.assertIn(('system.disk.total', ('ext4', 'filesystem:ext4', 'device:/', 'device_name:fake1')), by_mount)

    def test_disk_filters_device_tags_and_read_write_status(self):
        self.proc.write('self/mounts', '/dev/fake1 / ext4 rw,relatime 0 0\n/dev/fake2 / xfs ro 0 0\n')
        self.proc.write('diskstats', DISKSTATS.format(reads=1, sectors_read=8, read_ms=10, writes=1,
                                                      sectors_written=8, write_ms=20, io_ms=5, weighted=30))
        instance = {'device_tag_re': {'/dev/fake.*': 'role:db, tier:1', 'vd.*': 'virtual:yes'},
                    'service_check_rw': True, 'file_system_exclude': ['xf']}
        _, d = run(disk.DiskCheck, instance)
        tags = ('role:db', 'tier:1', 'device:/dev/fake1', 'device_name:fake1')
        self.assertIn(('system.disk.total', tags), d)
        self.assertFalse(any('device:/dev/fake2' in t for (_, t) in d), 'xfs matches the exclusion at its start')
        self.assertIn(('system.disk.read_time', ('virtual:yes', 'device:vda', 'device_name:vda')), d)
        checks = [a for a in args_of('submit_service_check')]
        self.assertEqual([(a[2], a[3], tuple(a[4])) for a in checks], [('disk.read_write', 0, tags)])
        _, d = run(disk.DiskCheck, {'device_include': ['/dev/fake2'], 'service_check_rw': True})
        self.assertIn(('system.disk.total', ('device:/dev/fake2', 'device_name:fake2')), d)
        self.assertEqual([a[3] for a in args_of('submit_service_check')], [2], 'read-only is CRITICAL')
        _, d = run(disk.DiskCheck, {'min_disk_size': 1 << 40})
        self.assertFalse(any(name == 'system.disk.total' for (name, _) in d), 'smaller than 1 EiB')

    def test_disk_tags_labelled_filesystems(self):
        dev = os.path.join(self.proc.root, 'dev')
        by_label = os.path.join(dev, 'disk', 'by-label')
        os.makedirs(by_label)
        open(os.path.join(dev, 'vdb1'), 'w').close()
        os.symlink('../../vdb1', os.path.join(by_label, 'data\\x20disk'))
        device = os.path.join(dev, 'vdb1')
        self.proc.write('self/mounts', '{} / ext4 rw 0 0\n/dev/unlabelled / ext4 rw 0 0\n'.format(device))
        saved, disk.BY_LABEL = disk.BY_LABEL, by_label
        try:
            _, d = run(disk.DiskCheck)
            _, off = run(disk.DiskCheck, {'tag_by_label': False})
        finally:
            disk.BY_LABEL = saved
        labelled = ('label:data disk', 'device_label:data disk', 'device:' + device, 'device_name:vdb1')
        self.assertIn(('system.disk.total', labelled), d)
        self.assertIn(('system.disk.total', ('device:/dev/unlabelled', 'device_name:unlabelled')), d)
        self.assertIn(('system.disk.total', ('device:' + device, 'device_name:vdb1')), off)

    def test_io_derives_latencies_from_the_previous_run(self):
        stats = dict(reads=100, sectors_read=800, read_ms=50, writes=40, sectors_written=400, write_ms=80,
                     io_ms=100, weighted=200)
        self.proc.write('diskstats', DISKSTATS.format(**stats))
        self.proc.write('vmstat', 'pgpgin 10\npgpgout 20\n')
        c, first = run(io.IOCheck)
        tags = ('device:vda', 'device_name:vda')
        self.assertEqual(first[('system.io.r_s', tags)], (RATE, 100))
        self.assertEqual(first[('system.io.block_in', ())], (RATE, 10))
        self.assertNotIn(('system.io.await', tags), first)
        self.assertFalse(any('loop0' in t for (_, tags_) in first for t in tags_), 'idle devices are left out')
        # 10 more reads taking 30 ms, 5 more writes taking 20 ms, 16 + 8 more sectors.
        stats.update(reads=110, read_ms=80, writes=45, write_ms=100, sectors_read=816, sectors_written=408)
        self.proc.write('diskstats', DISKSTATS.format(**stats))
        _, second = run(None, check=c)
        self.assertEqual(second[('system.io.r_await', tags)], (GAUGE, 3.0))
        self.assertEqual(second[('system.io.w_await', tags)], (GAUGE, 4.0))
        self.assertEqual(second[('system.io.await', tags)], (GAUGE, round(50 / 15.0, 2)))
        self.assertEqual(second[('system.io.avg_rq_sz', tags)], (GAUGE, round(24 / 15.0, 2)))

    def test_network_rates_per_interface_and_protocol_counters(self):
        self.proc.write('net/dev', NETDEV.format(rx=5000, tx=7000))
        self.proc.write('net/snmp', SNMP.format(ip_in=123, retrans=7))
        self.proc.write('net/netstat', 'TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n')
        _, n = run(network.NetworkCheck, {'excluded_interfaces': ['lo'], 'tags': ['t:1']})
        eth0 = [t for (name, t) in n if name == 'system.net.bytes_rcvd']
        self.assertEqual(len(eth0), 1, 'lo is excluded, idle1 never moved a byte')
        tags = eth0[0]
        self.assertEqual((tags[0], tags[-1]), ('t:1', 'device:eth0'))
        self.assertEqual(n[('system.net.bytes_rcvd', tags)], (RATE, 5000))
        self.assertEqual(n[('system.net.bytes_sent', tags)], (RATE, 7000))
        self.assertEqual(n[('system.net.packets_in.error', tags)], (RATE, 1 + 2), 'errors + drops, as the Agent')
        self.assertEqual(n[('system.net.packets_out.drop', tags)], (RATE, 4))
        t = ('t:1',)
        self.assertEqual(n[('system.net.tcp.retrans_segs', t)], (RATE, 7))
        self.assertNotIn(('system.net.tcp.retrans_segs.count', t), n, 'counts are off by default')
        self.assertEqual(n[('system.net.tcp.current_established', t)], (GAUGE, 5))
        self.assertEqual(n[('system.net.ip.in_receives', t)], (RATE, 123))
        self.assertEqual(n[('system.net.udp.no_ports', t)], (RATE, 2))
        self.assertEqual(n[('system.net.tcp.listen_overflows', t)], (RATE, 3))
        self.assertFalse(any(name.startswith('system.net.tcp4.') for (name, _) in n), 'no states unless asked')
        _, counts = run(network.NetworkCheck, {'collect_count_metrics': True, 'collect_rate_metrics': False})
        self.assertEqual(counts[('system.net.tcp.retrans_segs.count', ())], (MONOTONIC_COUNT, 7))
        self.assertNotIn(('system.net.tcp.retrans_segs', ()), counts)

    def test_network_connection_states_and_conntrack(self):
        self.proc.write('net/dev', NETDEV.format(rx=1, tx=1))
        self.proc.write('net/tcp', PROC_NET_TCP.format(s1='0A', s2='01', s3='06', s4='08'))
        self.proc.write('net/tcp6', PROC_NET_TCP.format(s1='0A', s2='0A', s3='02', s4='09'))
        self.proc.write('net/udp', PROC_NET_TCP.format(s1='07', s2='07', s3='07', s4='07'))
        self.proc.write('sys/net/netfilter/nf_conntrack_count', '42\n')
        self.proc.write('sys/net/netfilter/nf_conntrack_max', '65536\n')
        self.proc.write('sys/net/netfilter/nf_conntrack_buckets', '16384\n')
        _, n = run(network.NetworkCheck, {'collect_connection_state': True})
        self.assertEqual(n[('system.net.tcp4.listening', ())], (GAUGE, 1))
        self.assertEqual(n[('system.net.tcp4.established', ())], (GAUGE, 1))
        self.assertEqual(n[('system.net.tcp4.time_wait', ())], (GAUGE, 1))
        self.assertEqual(n[('system.net.tcp4.closing', ())], (GAUGE, 1), 'close_wait counts as closing')
        self.assertEqual(n[('system.net.tcp4.opening', ())], (GAUGE, 0), 'every state is reported, 0 if none')
        self.assertEqual(n[('system.net.tcp6.listening', ())], (GAUGE, 2))
        self.assertEqual(n[('system.net.tcp6.opening', ())], (GAUGE, 1))
        self.assertEqual(n[('system.net.udp4.connections', ())], (GAUGE, 4))
        self.assertEqual(n[('system.net.udp6.connections', ())], (GAUGE, 0), 'no udp6 file: none counted')
        self.assertEqual(n[('system.net.conntrack.count', ())], (GAUGE, 42))
        self.assertEqual(n[('system.net.conntrack.max', ())], (GAUGE, 65536))
        self.assertNotIn(('system.net.conntrack.buckets', ()), n, 'only max and count by default')
        _, split = run(network.NetworkCheck, {'collect_connection_state': True, 'combine_connection_states': False,
                                              'blacklist_conntrack_metrics': ['max']})
        self.assertEqual(split[('system.net.tcp4.close_wait', ())], (GAUGE, 1))
        self.assertEqual(split[('system.net.tcp6.last_ack', ())], (GAUGE, 1))
        self.assertEqual(split[('system.net.tcp6.syn_sent', ())], (GAUGE, 1))
        self.assertEqual(split[('system.net.conntrack.buckets', ())], (GAUGE, 16384))
        self.assertNotIn(('system.net.conntrack.max', ()), split)

    def test_conntrack_stats_come_from_conntrack_s(self):
        fake = os.path.join(self.proc.root, 'conntrack')
        self.proc.write('conntrack', '#!/bin/sh\necho "cpu=0 found=3 invalid=1"\necho "cpu=1 found=5 invalid=0"\n')
        os.chmod(fake, 0o755)
        self.proc.write('net/dev', NETDEV.format(rx=1, tx=1))
        _, n = run(network.NetworkCheck, {'conntrack_path': fake, 'use_sudo_conntrack': False})
        self.assertEqual(n[('system.net.conntrack.found', ('cpu:0',))], (MONOTONIC_COUNT, 3))
        self.assertEqual(n[('system.net.conntrack.invalid', ('cpu:1',))], (MONOTONIC_COUNT, 0))

    def test_ethtool_statistics_per_queue_cpu_and_device(self):
        self.assertEqual(ethtool.split_stat('queue_0_tx_cnt'), ('queue', '0', 'tx_cnt'))
        self.assertEqual(ethtool.split_stat('tx_queue_12_bytes'), ('queue', '12', 'tx_bytes'))
        self.assertEqual(ethtool.split_stat('rx0_kicks'), ('queue', '0', 'rx_kicks'))
        self.assertEqual(ethtool.split_stat('cpu3_vf_rx_bytes'), ('cpu', '3', 'vf_rx_bytes'))
        self.assertEqual(ethtool.split_stat('tx_stop[1]'), ('queue', '1', 'tx_stop'))
        self.assertIsNone(ethtool.split_stat('tx_timeout'))
        stats = [('queue_0_tx_cnt', 5), ('queue_1_tx_cnt', 7), ('queue_0_tx_unknown', 1), ('tx_timeout', 2),
                 ('not_collected', 3), ('pps_allowance_exceeded', 9)]
        self.assertEqual(ethtool.driver_metrics('ena', stats), {
            'queue:0': {'ena.queue.tx_cnt': 5}, 'queue:1': {'ena.queue.tx_cnt': 7}, 'global': {'ena.tx_timeout': 2}})
        self.assertEqual(ethtool.driver_metrics('e1000', stats), {}, 'drivers the Agent does not know: nothing')
        self.assertEqual(ethtool.ena_allowances(stats), {'aws.ec2.pps_allowance_exceeded': 9})

        self.proc.write('net/dev', NETDEV.format(rx=1, tx=1))
        read = ethtool.read
        asked = []

        def fake_read(iface):
            asked.append(iface)
            if iface != 'eth0':
                raise OSError(95, 'Operation not supported')
            return 'ena', '2.8', stats

        ethtool.read = fake_read
        try:
            _, n = run(network.NetworkCheck, {'collect_ethtool_metrics': True, 'collect_aws_ena_metrics': True,
                                              'tags': ['t:1']})
        finally:
            ethtool.read = read
        dev = ('t:1', 'driver_name:ena', 'driver_version:2.8', 'device:eth0')
        self.assertEqual(n[('system.net.ena.queue.tx_cnt', dev + ('queue:1',))], (MONOTONIC_COUNT, 7))
        self.assertEqual(n[('system.net.ena.tx_timeout', dev + ('global',))], (MONOTONIC_COUNT, 2))
        self.assertEqual(n[('system.net.aws.ec2.pps_allowance_exceeded', dev)], (GAUGE, 9))
        self.assertEqual(asked, ['eth0'], 'not lo, nor an interface that never moved a byte')

    def test_ethtool_reads_the_kernel(self):
        with self.assertRaises(OSError):
            ethtool.read('no-such-if0')
        answered = []
        for iface in sorted(os.listdir('/sys/class/net')):
            try:
                answered.append((iface, ethtool.read(iface)))
            except OSError:
                pass
        if not answered:
            self.skipTest('no interface here answers SIOCETHTOOL')
        for iface, (driver, version, stats) in answered:
            self.assertTrue(driver, iface)
            self.assertTrue(all(isinstance(v, int) and v >= 0 for _, v in stats), iface)
            self.assertEqual(len({name for name, _ in stats}), len(stats), iface + ': names are distinct')

if __name__ == '__main__':
    unittest.main()
