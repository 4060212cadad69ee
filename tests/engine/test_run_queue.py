"""The queue file and the machine kept awake: entries survive reopening, a running one comes back interrupted and
goes first; the inhibitor is a real process for as long as the queue runs."""
from __future__ import annotations

import os
import stat
import sys
import time

import pytest

from engine import api
from engine.run_queue import KeepAwake, RunQueue


def test_entries_survive_reopening_and_a_running_one_comes_back_interrupted_first(tmp_path):
    queue = RunQueue(tmp_path / "queue.json")
    first = queue.add(tmp_path / "A", api.TrainConfig(family="dcgan", steps=10))
    second = queue.add(tmp_path / "B", api.TrainConfig(family="vae", steps=20))
    queue.update(second, state="running")
    again = RunQueue(tmp_path / "queue.json")
    assert [(e["id"], e["state"]) for e in again.entries()] == [(first, "waiting"), (second, "interrupted")]
    assert again.next_entry()["id"] == second  # the cut-off run resumes before the waiting ones
    assert api.TrainConfig.from_dict(again.entries()[1]["config"]).steps == 20
    again.update(second, state="done")
    again.update(first, state="failed", error="no images")
    again.clear_finished()
    assert again.entries() == [] and again.next_entry() is None


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux inhibitor")
def test_the_machine_is_kept_awake_by_a_real_inhibitor_while_the_queue_runs(tmp_path, monkeypatch):
    said = tmp_path / "arguments"
    fake = tmp_path / "bin" / "systemd-inhibit"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {said}\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    awake = KeepAwake()
    assert awake.start() and awake.working()
    deadline = time.monotonic() + 10
    # the shell creates the file before echo fills it: wait for the words, not the file
    while not (said.is_file() and said.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "--what=idle:sleep" in said.read_text()
    helper = awake._helper
    awake.stop()
    assert helper.poll() is not None and not awake.working()
