"""Unit tests of pyhost's Python base package (``python/checks``) against
fake host modules. Run from the repository root:

    python3 -m unittest discover -s tests/python -t tests/python
"""

import json
import logging
import sys
import unittest

import fakehost  # noqa: F401  (installs the fake host modules first)
from fakehost import args_of, reset

import checks
from checks import AgentCheck

ID = 'mycheck:abc123'


def make(cls=None, instance=None, init_config=None, name='mycheck', check_id=ID):
    cls = cls or AgentCheck
    c = cls(name=name, init_config=init_config if init_config is not None else {},
            instances=(instance if instance is not None else {},))
    c.check_id = check_id
    return c


class Namespaced(AgentCheck):
    __NAMESPACE__ = 'demo'


def metric_calls():
    """submit_metric calls without the check object."""
    return [a[1:] for a in args_of('submit_metric')]


class ImportTest(unittest.TestCase):
    def test_agent_mode_with_host_modules(self):
        self.assertTrue(checks.AGENT_RUNNING)
        self.assertIs(checks.aggregator, sys.modules['aggregator'])
        self.assertEqual(AgentCheck.OK, 0)
        self.assertEqual((AgentCheck.WARNING, AgentCheck.CRITICAL, AgentCheck.UNKNOWN), (1, 2, 3))
        self.assertEqual(checks.ServiceCheck.CRITICAL, 2)

    def test_logging_forwards_to_host_once(self):
        root = logging.getLogger()
        handlers = [h for h in root.handlers if type(h).__name__ == 'AgentLogHandler']
        self.assertEqual(len(handlers), 1)
        checks.init_logging()
        handlers = [h for h in root.handlers if type(h).__name__ == 'AgentLogHandler']
        self.assertEqual(len(handlers), 1, 'init_logging is idempotent')
        # log_level 'debug' from the host configuration at import.
        self.assertEqual(root.level, logging.DEBUG)

    def test_old_agent_import_path(self):
        from checks import AgentCheck as A
        self.assertIs(A, AgentCheck)
        self.assertTrue(checks.is_affirmative('Yes') and checks.is_affirmative(1))
        self.assertFalse(checks.is_affirmative('off') or checks.is_affirmative(None))
        self.assertTrue(issubclass(checks.ConfigurationError, checks.CheckException))


class ConstructionTest(unittest.TestCase):
    def setUp(self):
        reset()

    def test_rtloader_keywords(self):
        inst = {'host': 'h', 'tags': ['a:b']}
        c = AgentCheck(name='redis', init_config={'x': 1}, instances=(inst,))
        self.assertEqual(c.name, 'redis')
        self.assertEqual(c.init_config, {'x': 1})
        self.assertIs(c.instance, inst)
        self.assertEqual(c.instances, (inst,))
        self.assertEqual(c.check_id, '')
        self.assertEqual(c.hostname, 'fake-host')
        self.assertEqual(c.agentConfig, {})
        self.assertEqual(c.provider, '')

    def test_positional_signatures(self):
        c = AgentCheck('n', {'i': 1}, [{'a': 1}])
        self.assertEqual((c.name, c.init_config, c.instance), ('n', {'i': 1}, {'a': 1}))
        old = AgentCheck('n', {}, {'agent': 'cfg'}, [{'b': 2}])
        self.assertEqual(old.agentConfig, {'agent': 'cfg'})
        self.assertEqual(old.instance, {'b': 2})
        none = AgentCheck('n', {})
        self.assertIsNone(none.instance)

    def test_check_id_stamps_logs(self):
        c = make()
        c.log.info('hello %s', 'there')
        logs = args_of('log')
        self.assertTrue(logs[-1][0].startswith(ID + ' | ('), logs[-1])
        self.assertTrue(logs[-1][0].endswith(' | hello there'), logs[-1])
        self.assertEqual(logs[-1][1], logging.INFO)
        unnamed = AgentCheck(name='x', init_config={}, instances=({},))
        unnamed.log.warning('early')
        self.assertTrue(args_of('log')[-1][0].startswith('unknown | '))

    def test_bad_metric_patterns(self):
        with self.assertRaises(checks.ConfigurationError):
            make(instance={'metric_patterns': ['x']})
        with self.assertRaises(checks.ConfigurationError):
            make(instance={'metric_patterns': {'include': 'x'}})


class MetricTest(unittest.TestCase):
    def setUp(self):
        reset()

    def test_every_type_with_rtloader_arguments(self):
        c = make()
        c.gauge('g', 1, tags=['a:b'])
        c.count('c', 2.5)
        c.monotonic_count('mc', 3, flush_first_value=True)
        c.rate('r', '4')
        c.histogram('h', 5, hostname='other')
        c.historate('hr', 6)
        c.increment('inc')
        c.decrement('dec')
        self.assertEqual(metric_calls(), [
            (ID, 0, 'g', 1.0, ['a:b'], '', False),
            (ID, 2, 'c', 2.5, [], '', False),
            (ID, 3, 'mc', 3.0, [], '', True),
            (ID, 1, 'r', 4.0, [], '', False),
            (ID, 5, 'h', 5.0, [], 'other', False),
            (ID, 6, 'hr', 6.0, [], '', False),
            (ID, 4, 'inc', 1.0, [], '', False),
            (ID, 4, 'dec', -1.0, [], '', False),
        ])
        self.assertEqual([w[:40] for w in c.get_warnings()], ['DEPRECATION NOTICE: `AgentCheck.incremen'])
        self.assertIs(args_of('submit_metric')[0][0], c, 'the check object is the first argument')
        for call in metric_calls():
            self.assertIsInstance(call[3], float)

    def test_namespace(self):
        c = make(Namespaced)
        c.gauge('g', 1)
        c.gauge('raw.name', 1, raw=True)
        c.service_check('up', AgentCheck.OK)
        self.assertEqual([m[2] for m in metric_calls()], ['demo.g', 'raw.name'])
        self.assertEqual(args_of('submit_service_check')[0][2], 'demo.up')

    def test_tags_normalisation(self):
        c = make()
        tags = ['a:b', None, b'bytes:yes', 21]
        c.gauge('g', 1, tags=tags, device_name='sda')
        c.gauge('none', 1, tags=None)
        c.gauge('tuple', 1, tags=('t:1', 't:2'))
        self.assertEqual(tags, ['a:b', None, b'bytes:yes', 21], 'the caller list is not mutated')
        calls = metric_calls()
        # Non-str values pass through, as in datadog-checks-base: the host drops them.
        self.assertEqual(calls[0][4], ['device:sda', 'a:b', 'bytes:yes', 21])
        self.assertEqual(calls[1][4], [])
        self.assertEqual(calls[2][4], ['t:1', 't:2'])
        self.assertIsInstance(calls[2][4], list)
        self.assertEqual(len(c.get_warnings()), 1, 'device_name is deprecated (warned once)')

    def test_generic_tags_can_be_prefixed(self):
        c = make(instance={'disable_generic_tags': True})
        c.gauge('g', 1, tags=['env:prod', 'host', 'team:x'])
        self.assertEqual(metric_calls()[0][4], ['mycheck_env:prod', 'mycheck_host', 'team:x'])

    def test_none_value_is_skipped_and_bad_value_warns(self):
        c = make()
        c.gauge('none', None)
        c.gauge('bad', 'not-a-number')
        self.assertEqual(metric_calls(), [])
        self.assertEqual(c.get_warnings(),
                         ["Metric: 'bad' has non float value: 'not-a-number'. "
                          "Only float values can be submitted as metrics."])

    def test_wrong_types_raise(self):
        c = make()
        with self.assertRaises(TypeError):
            c.gauge('g', 1, tags=5)
        with self.assertRaises(TypeError):
            c.gauge('g', [1])

    def test_metric_patterns(self):
        c = make(instance={'metric_patterns': {'include': ['^keep', ''], 'exclude': ['drop$']}})
        for name in ('keep.a', 'keep.drop', 'other'):
            c.gauge(name, 1)
        self.assertEqual([m[2] for m in metric_calls()], ['keep.a'])

    def test_metric_limit(self):
        c = make(instance={'max_returned_metrics': 2})
        for i in range(4):
            c.gauge('g{}'.format(i), i)
        self.assertEqual([m[2] for m in metric_calls()], ['g0', 'g1'])
        self.assertEqual(c.get_warnings(), ['Check mycheck exceeded limit of 2 metrics, ignoring next ones'])
        # Other types count distinct contexts only.
        c.metric_limiter.reset()
        reset()
        for _ in range(3):
            c.histogram('h', 1, tags=['a'])
        c.histogram('h2', 1)
        self.assertEqual(len(metric_calls()), 4)
        # Reset by each run.
        c.check = lambda instance: [c.gauge('x{}'.format(i), i) for i in range(3)]
        c.metric_limiter.reset()
        reset()
        c.run()
        c.run()
        self.assertEqual(len(metric_calls()), 4)

    def test_bad_metric_limit_warns(self):
        c = make(instance={'max_returned_metrics': 'lots'})
        self.assertIsNone(c.metric_limiter)
        self.assertIn("cannot be interpreted as an integer", c.get_warnings()[0])

    def test_histogram_buckets(self):
        c = make(Namespaced)
        c.submit_histogram_bucket('b', 3.0, 0, 10.5, True, None, ['le:10'], flush_first_value=True)
        c.submit_histogram_bucket('m', 1, 0, 1, False, 'h', [], raw=True, multiple_buckets=True)
        c.submit_histogram_bucket('none', None, 0, 1, False, '', [])
        self.assertEqual([a[1:] for a in args_of('submit_histogram_bucket')],
                         [(ID, 'demo.b', 3, 0, 10.5, True, '', ['le:10'], True)])
        self.assertEqual([a[1:] for a in args_of('submit_histogram_bucket_multi')],
                         [(ID, 'm', 1, 0, 1, False, 'h', [], False)])
        c.submit_histogram_bucket('bad', 'x', 0, 1, False, '', [])
        self.assertIn('non integer value', c.get_warnings()[0])


class ServiceCheckEventTest(unittest.TestCase):
    def setUp(self):
        reset()

    def test_service_check(self):
        c = make()
        c.service_check('up', AgentCheck.OK)
        c.service_check('down', AgentCheck.CRITICAL, tags=['x:y', None], hostname='h', message=b'it broke')
        self.assertEqual([a[1:] for a in args_of('submit_service_check')], [
            (ID, 'up', 0, [], '', ''),
            (ID, 'down', 2, ['x:y'], 'h', 'it broke'),
        ])

    def test_secrets_are_hidden_in_messages(self):
        c = make()
        c.register_secret('hunter2')
        c.service_check('login', AgentCheck.CRITICAL, message='password hunter2 rejected')
        self.assertEqual(args_of('submit_service_check')[0][6], 'password ******** rejected')

    def test_event_normalised_in_place(self):
        c = make(Namespaced)
        ev = {'msg_title': b'title', 'msg_text': 'text', 'timestamp': 123.9, 'tags': ['a', None, b'b'],
              'aggregation_key': 'k', 'alert_type': 'error', 'api_key': 'ignored-by-host'}
        c.event(ev)
        sent = args_of('submit_event')[0]
        self.assertEqual(sent[1], ID)
        self.assertIs(sent[2], ev)
        self.assertEqual(ev, {'msg_title': 'title', 'msg_text': 'text', 'timestamp': 123, 'tags': ['a', 'b'],
                              'aggregation_key': 'k', 'alert_type': 'error', 'api_key': 'ignored-by-host',
                              'source_type_name': 'demo'})
        keep = {'msg_title': 't', 'source_type_name': 'mine'}
        c.event(keep)
        self.assertEqual(keep['source_type_name'], 'mine')

    def test_event_platform(self):
        c = make()
        c.event_platform_event('{"a":1}', 'dbm-samples')
        c.event_platform_event(bytearray(b'\x01\x02'), 'genresources')
        c.event_platform_event(None, 'x')
        c.database_monitoring_query_sample('s')
        c.database_monitoring_query_metrics('m')
        c.database_monitoring_query_activity('a')
        c.database_monitoring_metadata('d')
        self.assertEqual([a[1:] for a in args_of('submit_event_platform_event')], [
            (ID, '{"a":1}', 'dbm-samples'),
            (ID, b'\x01\x02', 'genresources'),
            (ID, 's', 'dbm-samples'),
            (ID, 'm', 'dbm-metrics'),
            (ID, 'a', 'dbm-activity'),
            (ID, 'd', 'dbm-metadata'),
        ])


class MetadataTest(unittest.TestCase):
    def setUp(self):
        reset()

    def test_version_parts_in_the_real_base_order(self):
        make().set_metadata('version', '1.2.3')
        self.assertEqual(args_of('set_check_metadata'), [
            (ID, 'version.major', '1'),
            (ID, 'version.minor', '2'),
            (ID, 'version.patch', '3'),
            (ID, 'version.raw', '1.2.3'),
            (ID, 'version.scheme', 'semver'),
        ])

    def test_version_release_build_and_schemes(self):
        c = make()
        c.set_metadata('version', 'v5.0.6-rc.1+build.7')
        names = [a[1] for a in args_of('set_check_metadata')]
        self.assertEqual(names, ['version.major', 'version.minor', 'version.patch', 'version.release',
                                 'version.build', 'version.raw', 'version.scheme'])
        reset()
        c.set_metadata('version', '8_2', scheme='regex', pattern=r'(?P<major>\d+)_(?P<minor>\d+)')
        self.assertEqual(args_of('set_check_metadata'), [
            (ID, 'version.major', '8'), (ID, 'version.minor', '2'), (ID, 'version.raw', '8_2'),
            (ID, 'version.scheme', 'mycheck'),
        ])
        reset()
        c.set_metadata('version', 'x', scheme='parts', part_map={'major': '9'}, final_scheme='custom')
        self.assertEqual(args_of('set_check_metadata')[-1], (ID, 'version.scheme', 'custom'))

    def test_bad_version_sends_nothing(self):
        make().set_metadata('version', 'not a version')
        self.assertEqual(args_of('set_check_metadata'), [])

    def test_raw_and_custom_transformers(self):
        class T(AgentCheck):
            METADATA_TRANSFORMERS = {'square': lambda value, options: str(int(value) ** 2),
                                     'multi': lambda value, options: {'a': value, 'b': value * 2}}

        c = make(T)
        c.set_metadata('plain', b'raw')
        c.set_metadata('square', '5')
        c.set_metadata('multi', 'x')
        self.assertEqual(args_of('set_check_metadata'),
                         [(ID, 'plain', 'raw'), (ID, 'square', '25'), (ID, 'a', 'x'), (ID, 'b', 'xx')])

    def test_needs_check_id(self):
        c = make(check_id='')
        with self.assertRaises(RuntimeError):
            c.set_metadata('version', '1.2.3')

    def test_entrypoint_follows_the_host_setting(self):
        class M(AgentCheck):
            @AgentCheck.metadata_entrypoint
            def collect(self):
                self.set_metadata('k', 'v')

        c = make(M)
        c.collect()
        fakehost.config['enable_metadata_collection'] = False
        c.collect()
        self.assertEqual(args_of('set_check_metadata'), [(ID, 'k', 'v')])


class WarningRunTest(unittest.TestCase):
    def setUp(self):
        reset()

    def test_warning_logs_and_accumulates(self):
        c = make()
        c.warning('careful %s', 'now')
        c.warning('100% literal')
        log = args_of('log')[-2]
        self.assertEqual(log[1], logging.WARNING)
        self.assertRegex(log[0], r'^mycheck:abc123 \| \(test_checks_base\.py:\d+\) \| careful now$')
        self.assertEqual(c.get_warnings(), ['careful now', '100% literal'])
        self.assertEqual(c.get_warnings(), [], 'get_warnings clears')

    def test_run_success_passes_a_copy_of_the_instance(self):
        seen = []

        class C(AgentCheck):
            def check(self, instance):
                seen.append(instance)
                instance['mutated'] = True
                self.gauge('ok', 1)

        inst = {'a': [1]}
        c = make(C, instance=inst)
        self.assertEqual(c.run(), '')
        self.assertEqual(seen, [{'a': [1], 'mutated': True}])
        self.assertEqual(inst, {'a': [1]})
        self.assertEqual(len(metric_calls()), 1)

    def test_run_reports_exceptions_as_json(self):
        class Boom(AgentCheck):
            def check(self, instance):
                self.gauge('before', 1)
                raise ValueError('boom hunter2')

        c = make(Boom)
        c.register_secret('hunter2')
        report = json.loads(c.run())
        self.assertEqual(len(report), 1)
        self.assertEqual(report[0]['message'], 'boom ********')
        self.assertIn('Traceback (most recent call last)', report[0]['traceback'])
        self.assertIn("raise ValueError('boom ", report[0]['traceback'])
        self.assertNotIn('hunter2', report[0]['traceback'])
        self.assertEqual(len(metric_calls()), 1, 'submissions before the error stay')

    def test_unimplemented_check_is_an_error(self):
        report = json.loads(make().run())
        self.assertIn('NotImplementedError', report[0]['traceback'])

    def test_system_exit_is_not_swallowed(self):
        class Exit(AgentCheck):
            def check(self, instance):
                sys.exit(3)

        with self.assertRaises(SystemExit):
            make(Exit).run()

    def test_cancel_and_diagnoses(self):
        c = make()
        self.assertIsNone(c.cancel())
        self.assertEqual(json.loads(c.get_diagnoses()), [])


class ConfigCacheLogTest(unittest.TestCase):
    def setUp(self):
        reset()

    def test_load_config(self):
        self.assertIsNone(AgentCheck.load_config(''))
        self.assertIsNone(AgentCheck.load_config('   '))
        self.assertEqual(AgentCheck.load_config('{"host": "h", "port": 1, "tags": ["a"]}'),
                         {'host': 'h', 'port': 1, 'tags': ['a']})
        self.assertEqual(AgentCheck.load_config(b'[1]'), [1])
        try:
            import yaml  # noqa: F401
        except ImportError:
            with self.assertRaises(ValueError):
                AgentCheck.load_config('host: h\n')
        else:
            self.assertEqual(AgentCheck.load_config('host: h\nssl: yes\n'), {'host': 'h', 'ssl': True})

    def test_persistent_cache_keys_match_the_real_base(self):
        c = make()
        c.write_persistent_cache('k', 'v')
        self.assertEqual(args_of('write_persistent_cache'), [('mycheck:abc123_k', 'v')])
        self.assertEqual(c.read_persistent_cache('k'), 'v')
        self.assertEqual(c.read_persistent_cache('missing'), '')

    def test_send_log_and_cursor(self):
        c = make(instance={'tags': ['team:x', 'bare', 'a:b']})
        c.send_log({'message': 'm', 'timestamp': 1.5}, cursor={'pos': 3})
        check_id, line = args_of('send_log')[0][1], args_of('send_log')[0][0]
        self.assertEqual(check_id, ID)
        self.assertEqual(json.loads(line), {'message': 'm', 'timestamp': 1500, 'ddtags': 'a:b,team:x'})
        self.assertEqual(c.get_log_cursor(), {'pos': 3})
        self.assertIsNone(c.get_log_cursor('other'))

    def test_external_tags(self):
        c = make()
        c.set_external_tags([('h1', {'vsphere': ['a', b'b', None]})])
        self.assertEqual(args_of('set_external_tags'), [([('h1', {'vsphere': ['a', 'b']})],)])

    def test_normalize(self):
        c = make()
        self.assertEqual(c.normalize('Some Metric-Name!', 'pre'), 'pre.Some_Metric_Name')
        self.assertEqual(c.normalize('HTTPRequests.totalCount', fix_case=True), 'http_requests.total_count')
        self.assertEqual(c.normalize_tag('role:Web Server (prod)'), 'role:Web_Server_prod')


if __name__ == '__main__':
    unittest.main()
