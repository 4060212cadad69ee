"""The benches run where only the app is installed: no pytest, no test extras."""
from __future__ import annotations

import re
import subprocess
import sys

from .helpers import ROOT

WITHOUT_PYTEST = ("import sys, runpy; sys.modules['pytest'] = None; sys.modules['pytestqt'] = None; "
                  "sys.path.insert(0, 'bench'); sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')")


def test_the_speed_bench_runs_without_pytest():
    argv = ["bench/train_speed.py", "--seconds", "0.2", "--size", "16"]
    done = subprocess.run([sys.executable, "-c", WITHOUT_PYTEST.format(argv=argv)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # "ours" trains in what a run's "auto" picks on this machine, named in the row
    assert re.search(r"train step: ours \(auto: (fp32|bf16)\)", done.stdout), done.stdout
    assert "x" in done.stdout.splitlines()[-1]


def test_every_bench_starts_without_pytest():
    for bench in ("bench/quality.py", "bench/ui_latency.py", "bench/train_speed.py", "bench/atlas.py",
                  "bench/meter.py", "bench/projection.py", "bench/translation_quality.py", "bench/digits.py",
                  "bench/device_check.py", "bench/default_step.py", "bench/fine_tune_start.py"):
        done = subprocess.run([sys.executable, "-c", WITHOUT_PYTEST.format(argv=[bench, "--help"])], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout, (bench, done.stderr)
