"""The same training code under torchrun: two CPU processes (gloo) agree on every weight, rank 0 alone writes."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from safetensors.torch import load_file

from engine import checkpoints

from .helpers import ROOT, digits_project

SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from safetensors.torch import save_file
    from engine import api
    from engine.training import Trainer
    from tests.engine.helpers import tiny
    project = api.Project.open({project!r})
    trainer = Trainer(project, tiny({family!r}, steps=6, checkpoint_every=3, sample_every=3, batch=16, **{extra!r}))
    trainer.run(None)
    # every network but a CycleGAN's histories of fakes, which each rank keeps of its own share
    weights = {{f"net.{{n}}.{{k}}": v for n, net in trainer.learner.nets.items() if hasattr(net, "module")
               for k, v in net.module.state_dict().items()}}
    weights.update({{f"ema.{{k}}": v for k, v in trainer.learner.ema.state_dict().items()}})
    save_file({{k: v.contiguous() for k, v in weights.items()}}, {out!r} + os.environ["RANK"] + ".safetensors")
    from engine import distributed
    distributed.teardown()
""")


# StyleGAN2-lite with every regulariser on: style mixing, R1 (lazy, at step 4) and the path length; the two
# image-to-image families on pairs of digits (CycleGAN's generators run four times through DDP before a backward)
FAMILIES = {"dcgan": {}, "stylegan": dict(size=32, width=4, path_length=2.0), "pix2pix": dict(size=32, width=4),
            "cyclegan": dict(size=32, width=4)}


def paired_project(root):
    from engine import api

    from ..digits import write_paired_digits

    pairs = write_paired_digits(root / "pairs", 40)
    project = api.Project.create(root / "p")
    api.ingest(project, [pairs / "A"], layout="paired", side="A", size=32)
    api.ingest(project, [pairs / "B"], side="B")
    return project


@pytest.mark.parametrize("family", FAMILIES)
def test_two_ranks_end_with_identical_weights_and_one_set_of_checkpoints(family, tmp_path, small_digits_dir):
    if family in ("pix2pix", "cyclegan"):
        project = paired_project(tmp_path)
    else:
        project = digits_project(tmp_path / "p", small_digits_dir, size=FAMILIES[family].get("size", 16))
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT.format(root=str(ROOT), project=str(project.root), out=str(tmp_path / "rank"),
                                    family=family, extra=FAMILIES[family]))
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", "29533", str(script)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for key in rank0:
        assert (rank0[key] == rank1[key]).all(), key
    runs = project.runs()
    assert len(runs) == 1
    assert [checkpoints.step_of(p) for p in checkpoints.complete(runs[0])] == [3, 6]
    assert len(list((runs[0] / "checkpoints").iterdir())) == 4  # two json + two safetensors, no per-rank copies
