"""Run checks in plain python3 with datadog-checks-base's stub aggregator and
print their submissions in run_check's JSON-lines schema (docs/run_check.md).

The differential test (tests/agent_differential.rs) runs the same checks in
pyhost's host and compares. Usage (with a python that has
datadog-checks-base, lazy-loader, cachetools and pyyaml):

    python stub_run.py CONF_DIR CHECKS_DIR TIMES NAME [NAME ...]

Instances are built the way run_check builds them: the YAML document's
`init_config` and each `instances` entry, as parsed by yaml.safe_load.
"""

import json
import math
import os
import sys

os.environ.setdefault("DDEV_SKIP_GENERIC_TAGS_CHECK", "1")

import yaml  # noqa: E402
from datadog_checks.base import AgentCheck  # noqa: E402
from datadog_checks.base.stubs import aggregator, datadog_agent  # noqa: E402


def find_class(module):
    # rtloader's _findSubclassOf: first leaf subclass in dir() order.
    for name in dir(module):
        klass = getattr(module, name)
        if isinstance(klass, type) and issubclass(klass, AgentCheck) and klass is not AgentCheck:
            if not klass.__subclasses__():
                return klass
    raise RuntimeError("cannot find a subclass")


def standard(v):
    # run_check writes standard JSON: NaN and infinities are null.
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: standard(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [standard(x) for x in v]
    return v


def line(check, instance, run, kind, **fields):
    out = {"check": check, "instance": instance, "run": run, "kind": kind}
    out.update(fields)
    print(json.dumps(standard(out), allow_nan=False))


def dump(check, instance, run, rev):
    for name, stubs in aggregator._metrics.items():
        for m in stubs:
            line(check, instance, run, "metric", name=m.name, type=rev[m.type], value=float(m.value),
                 tags=list(m.tags), hostname=m.hostname, flush_first_value=bool(m.flush_first_value))
    for name, stubs in aggregator._service_checks.items():
        for sc in stubs:
            line(check, instance, run, "service_check", name=sc.name, status=sc.status, tags=list(sc.tags),
                 hostname=sc.hostname, message=sc.message)
    for ev in aggregator._events:
        line(check, instance, run, "event", event=ev)
    for name, stubs in aggregator._histogram_buckets.items():
        for b in stubs:
            line(check, instance, run, "histogram_bucket", name=b.name, value=b.value,
                 lower_bound=float(b.lower_bound), upper_bound=float(b.upper_bound), monotonic=bool(b.monotonic),
                 hostname=b.hostname, tags=list(b.tags), flush_first_value=bool(b.flush_first_value),
                 multiple_buckets=bool(b.multiple_buckets))
    for event_type, events in aggregator._event_platform_events.items():
        for raw in events:
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", "replace")
            line(check, instance, run, "event_platform_event", event_type=event_type, raw_event=raw)
    for (_check_id, name), value in datadog_agent._metadata.items():
        line(check, instance, run, "metadata", name=name, value=value)


def main():
    conf_dir, checks_dir, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sys.argv[4:]
    sys.path.append(os.path.abspath(checks_dir))
    rev = aggregator.METRIC_ENUM_MAP_REV
    for name in names:
        with open(os.path.join(conf_dir, name + ".d", "conf.yaml")) as f:
            conf = yaml.safe_load(f) or {}
        init_config = conf.get("init_config") or {}
        module = __import__(name)
        klass = find_class(module)
        for index, instance in enumerate(conf.get("instances") or []):
            check = klass(name=name, init_config=init_config, instances=(instance,))
            check.check_id = "%s:%d" % (name, index)
            for run in range(1, times + 1):
                aggregator.reset()
                datadog_agent._metadata.clear()
                result = check.run()
                dump(name, index, run, rev)
                for w in check.get_warnings():
                    line(name, index, run, "warning", message=w)
                line(name, index, run, "run_result", result=json.loads(result) if result else "")
    aggregator.reset()


if __name__ == "__main__":
    main()
