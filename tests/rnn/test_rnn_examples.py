"""The two RNN examples run as 2-worker jobs (distnet-launch -n 2 -s 1) for a few batches
and learn; their checkpoints load back."""

import math
import os
import re

import pytest

import distnet as mx
from distnet.testing import run_distributed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "scripts", "examples")


def test_gluon_word_language_model_two_workers(tmp_path):
    save = str(tmp_path / "lm.params")
    job = run_distributed(
        os.path.join(EXAMPLES, "word_language_model.py"),
        num_workers=2,
        num_servers=1,
        timeout=240,
        args=[
            "--kvstore",
            "dist_sync",
            "--epochs",
            "2",
            "--max-batches",
            "25",
            "--num-sentences",
            "2000",
            "--save",
            save,
        ],
    )
    job.check()
    w0, w1 = job.workers
    assert "(2 workers)" in w0.output and "(2 workers)" in w1.output
    ppl = [float(v) for v in re.findall(r"validation ppl ([\d.]+)", w0.output)]
    assert len(ppl) == 2 and ppl[1] < 12, w0.output  # uniform guessing: ppl 35
    # dist_sync: both workers hold the same model, so they report the same validation
    assert re.findall(r"validation ppl ([\d.]+)", w1.output) == re.findall(
        r"validation ppl ([\d.]+)", w0.output
    )
    saved = mx.nd.load(save)
    assert saved["rnn.l0_i2h_weight"].shape == (4 * 64, 64)
    assert saved["rnn.l1_h2h_bias"].shape == (4 * 64,)


@pytest.mark.parametrize("fused", [False, True])
def test_bucketing_lstm_two_workers(tmp_path, fused):
    prefix = str(tmp_path / "bucket")
    job = run_distributed(
        os.path.join(EXAMPLES, "lstm_bucketing.py"),
        num_workers=2,
        num_servers=1,
        timeout=240,
        args=[
            "--kv-store",
            "dist_sync",
            "--num-epochs",
            "2",
            "--max-batches",
            "15",
            "--num-sentences",
            "3000",
            "--model-prefix",
            prefix,
        ]
        + (["--fused"] if fused else []),
    )
    job.check()
    w0 = job.workers[0]
    val = [float(v) for v in re.findall(r"Validation-perplexity=([\d.]+)", w0.output)]
    assert len(val) == 2 and val[1] < min(val[0], 20) and not math.isnan(val[1]), w0.output
    assert 'Saved checkpoint to "%s-0002.params"' % prefix in w0.output
    _, args, _ = mx.model.load_checkpoint(prefix, 2)
    # MXNet's unpacked form whether the cells were fused or not
    assert args["lstm_l1_h2h_o_weight"].shape == (64, 64)
