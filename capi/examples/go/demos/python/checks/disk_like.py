"""A check-like plugin (demo 03): the host instantiates it once, keeps the
instance, and calls run() at every interval; run() reports through the
host's `aggregator` module, which is Go."""

import aggregator


class DiskLikeCheck:
    def __init__(self, name, tags):
        self.name = name
        self.tags = list(tags)
        self.runs = 0

    def run(self):
        self.runs += 1
        host = aggregator.get_hostname()
        for device, used in (("sda1", 0.25), ("sdb1", 0.5)):
            aggregator.submit_metric(f"{self.name}.used", used, self.tags + [f"device:{device}"], host)
        aggregator.submit_metric(f"{self.name}.runs", 1.0, self.tags, host)
        return self.runs
