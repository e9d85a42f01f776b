"""The example checks and the bad-check fixtures, run on pyhost's base
package against fake host modules, and (when ``datadog-checks-base`` is
importable) a differential run of the same checks on both bases.

    python3 -m unittest discover -s tests/python -t tests/python
    # with the real base too, e.g. from a venv that has it:
    .venv/bin/python -m unittest discover -s tests/python -t tests/python
"""

import importlib.util
import json
import os
import sys
import unittest

import fakehost
from fakehost import args_of, reset

import checks

try:
    import yaml
except ImportError:
    yaml = None

EXAMPLES = os.path.join(fakehost.ROOT, 'examples', 'agent')
BAD = os.path.join(fakehost.ROOT, 'tests', 'fixtures', 'bad_checks')
_MISSING = object()


def load_module(root, name, real_base=False):
    """Import ``root/checks.d/name.py``; on pyhost's base unless ``real_base``."""
    path = os.path.join(root, 'checks.d', name + '.py')
    spec = importlib.util.spec_from_file_location('check_{}_{}'.format(name, 'real' if real_base else 'pyhost'), path)
    module = importlib.util.module_from_spec(spec)
    # None entries make `from datadog_checks.base import ...` an ImportError,
    # even when the real base is already imported.
    hidden = ('datadog_checks', 'datadog_checks.base')
    saved = {k: sys.modules.get(k, _MISSING) for k in hidden}
    if not real_base:
        for k in hidden:
            sys.modules[k] = None
    try:
        spec.loader.exec_module(module)
    finally:
        for k, v in saved.items():
            if v is _MISSING:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return module


def find_check_class(module, base):
    """rtloader's rule: the first name in ``dir(module)`` that is a strict, leaf subclass of ``base``."""
    for attr in dir(module):
        obj = getattr(module, attr)
        if isinstance(obj, type) and issubclass(obj, base) and obj is not base and not obj.__subclasses__():
            return obj
    return None


def load_conf(root, name):
    with open(os.path.join(root, 'conf.d', name + '.d', 'conf.yaml')) as f:
        return yaml.safe_load(f)


def instantiate(cls, name, init_config, instance, index=0):
    check = cls(name=name, init_config=init_config or {}, instances=(instance,))
    check.check_id = '{}:{:016x}'.format(name, index)
    return check


def host_calls():
    """What reached the host's aggregator and metadata, without the check object."""
    out = []
    for module, fname, args, kwargs in fakehost.calls:
        if module == 'aggregator':
            out.append((fname,) + tuple(args[1:]))
        elif fname == 'set_check_metadata':
            out.append((fname,) + tuple(args))
    return out


@unittest.skipIf(yaml is None, 'PyYAML is needed to read the example configurations')
class ExampleChecksTest(unittest.TestCase):
    def setUp(self):
        reset()

    def run_example(self, name, runs=2):
        module = load_module(EXAMPLES, name)
        cls = find_check_class(module, checks.AgentCheck)
        self.assertIsNotNone(cls, name)
        conf = load_conf(EXAMPLES, name)
        results, warnings = [], []
        for i, instance in enumerate(conf['instances']):
            check = instantiate(cls, name, conf.get('init_config'), instance, i)
            for _ in range(runs):
                results.append(check.run())
                warnings.extend(check.get_warnings())
        return results, warnings

    def test_demo_all_types_uses_every_kind(self):
        results, warnings = self.run_example('demo_all_types', runs=2)
        self.assertEqual(results, ['', '', '', ''])
        deprecation = [w for w in warnings if w.startswith('DEPRECATION NOTICE: `AgentCheck.increment`')]
        self.assertEqual(len(deprecation), 2, 'once per check instance')
        self.assertEqual([w for w in warnings if w not in deprecation], ['demo warning on run 2'] * 2)
        metrics = args_of('submit_metric')
        self.assertEqual(sorted({m[2] for m in metrics}), list(range(7)), 'all seven metric types')
        self.assertTrue(all(m[3].startswith('demo.') for m in metrics))
        self.assertIn((True,), {(m[7],) for m in metrics if m[3] == 'demo.restarts'})
        self.assertEqual(len(args_of('submit_service_check')), 8)
        self.assertEqual(len(args_of('submit_event')), 4)
        self.assertEqual(args_of('submit_event')[0][2]['source_type_name'], 'demo')
        self.assertEqual(len(args_of('submit_histogram_bucket')), 8)
        self.assertEqual({a[3] for a in args_of('submit_event_platform_event')}, {'dbm-samples'})
        versions = [a for a in args_of('set_check_metadata') if a[1] == 'version.raw']
        self.assertEqual([v[2] for v in versions], ['1.4.2'] * 4)
        self.assertEqual(fakehost.cache['demo_all_types:0000000000000001_runs'], '2')
        # Values follow the run number: run 2 of instance 2 (step 25) submits packets = 50.
        packets = [m[4] for m in metrics if m[3] == 'demo.packets']
        self.assertEqual(packets, [10.0, 20.0, 25.0, 50.0])

    def test_system_load(self):
        results, _ = self.run_example('system_load')
        self.assertEqual(results, ['', ''])
        names = {m[3] for m in args_of('submit_metric')}
        self.assertTrue({'system.load.1', 'system.load.norm.15', 'system.load.procs.total'} <= names, names)
        self.assertEqual({a[3] for a in args_of('submit_service_check')}, {0})

    def test_disk_usage(self):
        results, warnings = self.run_example('disk_usage', runs=1)
        self.assertEqual(results, ['', ''])
        self.assertTrue(warnings and warnings[0].startswith('cannot stat /nonexistent/mount'), warnings)
        statuses = {(a[2], a[3]) for a in args_of('submit_service_check')}
        self.assertIn(('disk.can_stat', 2), statuses)
        self.assertIn(('disk.can_stat', 0), statuses)
        self.assertIn('disk.in_use', {m[3] for m in args_of('submit_metric')})

    def test_process_count(self):
        results, warnings = self.run_example('process_count', runs=1)
        self.assertEqual(results, [''])
        self.assertIn('no process named no-such-process-name', warnings)
        by_name = {}
        for m in args_of('submit_metric'):
            by_name.setdefault(m[3], []).append(m)
        self.assertGreater(by_name['process.count'][0][4], 0)
        self.assertEqual(by_name['process.threads'][0][2], 5, 'a histogram')
        self.assertEqual(by_name['process.forks'][0][2], 3, 'a monotonic count')
        self.assertEqual(by_name['process.context_switches'][0][2], 1, 'a rate')
        matching = {tuple(m[5]): m[4] for m in by_name['process.matching']}
        self.assertEqual(matching[('team:infra', 'process_name:no-such-process-name')], 0.0)


class BadChecksTest(unittest.TestCase):
    def setUp(self):
        reset()

    def load_and_make(self, name, instance=None):
        module = load_module(BAD, name)
        cls = find_check_class(module, checks.AgentCheck)
        return instantiate(cls, name, {}, instance or {})

    def test_syntax_error(self):
        with self.assertRaises(SyntaxError) as cm:
            load_module(BAD, 'syntax_error')
        self.assertEqual(cm.exception.lineno, 11)
        self.assertTrue(cm.exception.filename.endswith('syntax_error.py'))

    def test_import_error(self):
        with self.assertRaises(ModuleNotFoundError) as cm:
            load_module(BAD, 'import_error')
        self.assertIn('pyhost_fixture_module_that_does_not_exist', str(cm.exception))

    def test_no_check_class(self):
        self.assertIsNone(find_check_class(load_module(BAD, 'no_check_class'), checks.AgentCheck))

    def test_init_exception(self):
        with self.assertRaises(ValueError) as cm:
            self.load_and_make('init_exception')
        self.assertIn('missing required option', str(cm.exception))

    def test_check_exception(self):
        check = self.load_and_make('check_exception')
        report = json.loads(check.run())
        self.assertEqual(report[0]['message'], 'check_exception: cannot connect to http://127.0.0.1:1')
        self.assertIn('check_exception.py', report[0]['traceback'])
        self.assertEqual([m[3] for m in args_of('submit_metric')], ['check_exception.before_error'])

    def test_sys_exit(self):
        check = self.load_and_make('sys_exit')
        with self.assertRaises(SystemExit) as cm:
            check.run()
        self.assertEqual(cm.exception.code, 3)

    def test_wrong_types(self):
        results = {}
        for mode in ('value', 'value_type', 'tags', 'tag_items', 'name', 'status'):
            reset()
            check = self.load_and_make('wrong_types', {'mode': mode})
            results[mode] = (check.run(), check.get_warnings(), list(fakehost.calls))
        self.assertEqual(results['value'][0], '')
        self.assertIn('has non float value', results['value'][1][0])
        for mode in ('value_type', 'tags'):
            self.assertIn('TypeError', json.loads(results[mode][0])[0]['traceback'], mode)
        self.assertEqual(results['tag_items'][0], '')
        tags = [c[2][5] for c in results['tag_items'][2] if c[1] == 'submit_metric'][0]
        self.assertEqual(tags, ['ok', 21, 'bytes:yes', ['nested']], 'non-str items reach the host, which drops them')
        # The wrong name and status reach the host unchanged; its argument parsing rejects them.
        self.assertIsNone([c[2][3] for c in results['name'][2] if c[1] == 'submit_metric'][0])
        self.assertEqual([c[2][3] for c in results['status'][2] if c[1] == 'submit_service_check'][0], 'OK')

    def test_many_tags(self):
        check = self.load_and_make('many_tags', {'tag_count': 10000})
        self.assertEqual(check.run(), '')
        distinct, repeated = args_of('submit_metric')
        self.assertEqual(len(distinct[5]), 10000)
        self.assertEqual(len(set(distinct[5])), 10000)
        self.assertEqual(repeated[5], ['same:tag'] * 10000)

    @unittest.skipIf(yaml is None, 'PyYAML is needed to read the configurations')
    def test_bad_configs(self):
        with self.assertRaises(yaml.YAMLError):
            load_conf(BAD, 'bad_config')
        self.assertNotIn('instances', load_conf(BAD, 'no_instances'))
        for name in ('syntax_error', 'wrong_types', 'many_tags'):
            self.assertTrue(load_conf(BAD, name)['instances'], name)


def _real_base():
    try:
        from datadog_checks.base import AgentCheck
    except Exception:
        return None
    return AgentCheck


@unittest.skipIf(yaml is None, 'PyYAML is needed to read the configurations')
class DifferentialTest(unittest.TestCase):
    """The same checks on pyhost's base and on datadog-checks-base reach the
    host with the same calls (the real base runs in agent mode on the fakes)."""

    @classmethod
    def setUpClass(cls):
        cls.real = _real_base()
        if cls.real is None:
            raise unittest.SkipTest('datadog-checks-base is not importable here')

    def trace(self, root, name, instances, runs, real_base):
        reset()
        module = load_module(root, name, real_base=real_base)
        base = self.real if real_base else checks.AgentCheck
        cls = find_check_class(module, base)
        self.assertIsNotNone(cls)
        self.assertTrue(issubclass(cls, base))
        results, warnings = [], []
        for i, instance in enumerate(instances):
            check = instantiate(cls, name, {}, instance, i)
            for _ in range(runs):
                r = check.run()
                results.append(json.loads(r)[0]['message'] if r else r)
                warnings.append(check.get_warnings())
        return host_calls(), results, warnings

    def assert_same(self, root, name, instances, runs=3):
        ours = self.trace(root, name, instances, runs, real_base=False)
        real = self.trace(root, name, instances, runs, real_base=True)
        self.assertEqual(ours[1], real[1], 'run results')
        self.assertEqual(ours[2], real[2], 'warnings')
        self.assertEqual(len(ours[0]), len(real[0]))
        for a, b in zip(ours[0], real[0]):
            self.assertEqual(a, b)

    def test_demo_all_types(self):
        self.assert_same(EXAMPLES, 'demo_all_types', load_conf(EXAMPLES, 'demo_all_types')['instances'])

    def test_wrong_types(self):
        self.assert_same(BAD, 'wrong_types', [{'mode': 'value'}, {'mode': 'tag_items'}, {'mode': 'tags'}], runs=1)

    def test_check_exception(self):
        self.assert_same(BAD, 'check_exception', [{}], runs=1)


if __name__ == '__main__':
    unittest.main()
