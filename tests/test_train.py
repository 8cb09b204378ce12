"""Training -> checkpoint -> resume -> export -> load -> real-bitstream eval, on a tiny model."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from core import eval as wcs_eval
from core import export, train
from core.codec import _load_cached, load_codec

from .helpers import sample_crop


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(3):
        Image.fromarray(sample_crop(80, 96, top=40 * i, left=60 * i)).save(d / f"{i}.png")
    return d


def _tiny_phase5(folder, run) -> list[str]:
    """A phase5 run small enough for a unit test: N=8, M=16, batches of one 64x64 crop."""
    return ["--train_dataset", str(folder), "--variant", "phase5", "--N", "8", "--M", "16", "--batch-size", "1",
            "--patch-size", "64", "--save_path", str(run)]


def test_train_resume_export_eval(folder, tmp_path, monkeypatch):
    run = tmp_path / "run"
    common = ["--train_dataset", str(folder), "--variant", "phase5-2g", "--use_adaptive_quant",
              "--N", "8", "--M", "16", "--batch-size", "2", "--patch-size", "64", "--save_path", str(run),
              "--num-workers", "0", "--lr_warmup", "1"]
    assert train.main(common + ["--iterations", "2", "--test_dataset", str(folder), "--val-every", "2"]) == 0
    ckpt = train.load_checkpoint(run / "last.pt")  # weights_only=True: no pickled code
    assert ckpt["step"] == 2 and ckpt["config"]["groups"] == 2
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any("val" in row for row in log)

    before = {k: v.clone() for k, v in ckpt["model"].items()}
    assert train.main(common + ["--iterations", "3", "--resume"]) == 0
    resumed = train.load_checkpoint(run / "last.pt")
    assert resumed["step"] == 3
    assert any(not torch.equal(before[k], resumed["model"][k]) for k in before if k.endswith("weight"))

    wdir = tmp_path / "weights"
    assert export.main([str(run / "last.pt"), "--variant", "phase5-2g", "--out", str(wdir), "--fp16"]) == 0
    # A later session continues from the shipped weights when runs/ is gone.
    assert train.main(common + ["--iterations", "1", "--save_path", str(tmp_path / "run2"),
                                "--pretrain", str(wdir / "phase5-2g.safetensors")]) == 0
    manifest = json.loads((wdir / "manifest.json").read_text())
    entry = manifest["models"]["phase5-2g"]
    assert entry["training"]["iterations"] == 3 and entry["dtype"] == "float16"
    # Its export counts the 3 steps the shipped weights had plus the 1 of this run.
    assert export.main([str(tmp_path / "run2" / "last.pt"), "--variant", "phase5-2g", "--out", str(tmp_path / "w2")]) == 0
    t2 = json.loads((tmp_path / "w2" / "manifest.json").read_text())["models"]["phase5-2g"]["training"]
    assert t2["iterations"] == 1 and t2["total_iterations"] == 4
    assert t2["continued_from"]["iterations"] == 3 and t2["continued_from"]["from"] == "wcs-phase5-2g-s3"
    assert json.loads((tmp_path / "w2" / "manifest.json").read_text())["models"]["phase5-2g"]["model_id"] == "wcs-phase5-2g-s4"

    monkeypatch.setenv("WCS_WEIGHTS_DIR", str(wdir))
    _load_cached.cache_clear()
    codec = load_codec("phase5-2g")
    assert codec.model_id == "wcs-phase5-2g-s3"
    out = tmp_path / "eval.json"
    assert wcs_eval.main(["--dataset", str(folder), "--variant", "phase5-2g", "--lambdas", "0.0025", "0.05",
                          "--out", str(out), "--limit", "1", "--record"]) == 0
    res = json.loads(out.read_text())
    kodak = json.loads((wdir / "manifest.json").read_text())["models"]["phase5-2g"]["kodak"]
    assert kodak["images"] == 1 and kodak["bpp"] == pytest.approx(res["results"]["bpp"], abs=1e-5)
    assert res["name"] == "phase5-2g" and len(res["results"]["bpp"]) == 2
    assert set(res["results"]) >= {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"}
    assert res["per_image"][0]["bytes"] * 8 / (80 * 96) == pytest.approx(res["results"]["bpp"][0])
    _load_cached.cache_clear()


def test_freeze_except_trains_only_named_modules(folder, tmp_path):
    base = tmp_path / "base"
    args = ["--train_dataset", str(folder), "--variant", "phase5", "--N", "8", "--M", "16", "--batch-size", "2",
            "--patch-size", "64", "--num-workers", "0", "--iterations", "1"]
    assert train.main(args + ["--save_path", str(base)]) == 0
    ft = tmp_path / "ft"
    assert train.main(args + ["--save_path", str(ft), "--pretrain", str(base / "last.pt"),
                              "--freeze_except", "enhanced_context", "multi_res_builder"]) == 0
    a = train.load_checkpoint(base / "last.pt")["model"]
    b = train.load_checkpoint(ft / "last.pt")["model"]
    changed = {k.split(".")[0] for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])}
    assert changed and changed <= {"enhanced_context", "multi_res_builder", "entropy_bottleneck"}
    # --context_from: the trained modules start from another checkpoint, the rest from --pretrain.
    ft2 = tmp_path / "ft2"
    assert train.main(args + ["--save_path", str(ft2), "--pretrain", str(base / "last.pt"), "--context_from",
                              str(ft / "last.pt"), "--freeze_except", "enhanced_context", "--iterations", "0"]) == 0
    c = train.load_checkpoint(ft2 / "last.pt")["model"]
    assert all(torch.equal(c[k], b[k]) for k in b if k.startswith("enhanced_context"))
    assert all(torch.equal(c[k], a[k]) for k in a if k.startswith("multi_res_builder"))
    wdir = tmp_path / "w"
    assert export.main([str(ft / "last.pt"), "--variant", "phase5", "--out", str(wdir)]) == 0
    t = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["training"]
    assert t["backbone"]["iterations"] == 1 and "total_iterations" not in t
    assert json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["model_id"] == "wcs-phase5-s1-b1"


GROW_ARGS = ["--variant", "phase5", "--N", "8", "--M", "16", "--batch-size", "2", "--patch-size", "64",
             "--num-workers", "0", "--iterations", "2"]


def _train_then_grow(folder, tmp_path, grow_flags):
    """Train a tiny model 2 steps, then 2 more with ``grow_flags`` (new blocks, --freeze_except):
    the first run's tensors, the grown checkpoint and where it is."""
    args = ["--train_dataset", str(folder)] + GROW_ARGS
    base, grown = tmp_path / "base", tmp_path / "grown"
    assert train.main(args + ["--save_path", str(base)]) == 0
    assert train.main(args + ["--save_path", str(grown), "--pretrain", str(base / "last.pt")] + grow_flags) == 0
    return train.load_checkpoint(base / "last.pt")["model"], train.load_checkpoint(grown / "last.pt"), grown


def test_synthesis_blocks_added_to_a_trained_model_train_alone_and_ship(folder, tmp_path, monkeypatch):
    a, ckpt, grown = _train_then_grow(folder, tmp_path, ["--synthesis_blocks", "1", "--freeze_except", "g_s_blocks"])
    b = ckpt["model"]
    assert ckpt["config"]["synthesis_blocks"] == 1
    changed = {k.split(".")[0] for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])}
    assert changed <= {"entropy_bottleneck"}  # the pretrained model is untouched ...
    assert b["g_s_blocks.0.conv2.weight"].abs().sum() > 0  # ... and the new block has left the identity
    wdir = tmp_path / "w"
    assert export.main([str(grown / "last.pt"), "--variant", "phase5", "--out", str(wdir)]) == 0
    entry = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]
    # Not a context fine-tune: the same weights trained further, so the totals count both runs.
    assert entry["training"]["total_iterations"] == 4 and entry["model_id"] == "wcs-phase5-s4"
    assert entry["config"]["synthesis_blocks"] == 1
    monkeypatch.setenv("WCS_WEIGHTS_DIR", str(wdir))
    _load_cached.cache_clear()
    codec = load_codec("phase5")
    assert codec.cfg.synthesis_blocks == 1
    img = sample_crop(64, 80)
    enc = codec.encode(img, 0.013)
    assert (codec.decode(enc.data).image == enc.recon).all()
    _load_cached.cache_clear()


def test_data_workers_leave_sigterm_to_the_trainer():
    before = signal.getsignal(signal.SIGTERM)
    try:
        train._ignore_sigterm(0)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_non_finite_step_is_skipped_not_applied(folder, tmp_path, monkeypatch):
    real = train.rd_loss
    calls = {"n": 0}

    def flaky(out, x, lam, metric):
        loss, bpp, mse = real(out, x, lam, metric)
        calls["n"] += 1
        return (loss * float("nan") if calls["n"] == 2 else loss), bpp, mse

    monkeypatch.setattr(train, "rd_loss", flaky)
    run = tmp_path / "run"
    assert train.main(["--train_dataset", str(folder), "--variant", "phase5", "--N", "8", "--M", "16",
                       "--batch-size", "2", "--patch-size", "64", "--num-workers", "0", "--iterations", "3",
                       "--lr_warmup", "1", "--save_path", str(run)]) == 0
    ckpt = train.load_checkpoint(run / "last.pt")
    assert ckpt["step"] == 3
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    assert ckpt["skipped_steps"] == 1 and calls["n"] == 3


def test_cosine_schedule_warms_up_then_anneals_by_steps_or_clock():
    a = train.build_parser().parse_args(["--train_dataset", "x", "--lr", "1e-4", "--lr_min", "1e-5",
                                         "--lr_warmup", "10", "--lr_schedule", "cosine"])
    assert train.lr_at(a, 0, 100, 0.0) == pytest.approx(1e-5)  # first warm-up step: 1/10 of the peak
    assert train.lr_at(a, 9, 1000, 0.0) == pytest.approx(1e-4, rel=1e-3)
    assert train.lr_at(a, 50, 100, 0.0) == pytest.approx(5.5e-5)  # half way: the mean of peak and floor
    assert train.lr_at(a, 100, 100, 0.0) == pytest.approx(1e-5)
    # With a time limit the clock drives the decay when it is ahead of the step count.
    a.max_minutes = 2.0
    assert train.lr_at(a, 20, 10_000, 60.0) == pytest.approx(5.5e-5)
    assert train.lr_at(a, 20, 10_000, 500.0) == pytest.approx(1e-5)
    a.lr_schedule = "constant"
    assert train.lr_at(a, 50, 100, 500.0) == pytest.approx(1e-4)
    # A resumed run whose Adam starts afresh (a checkpoint back from a GPU lease) warms up again.
    assert train.lr_at(a, 5000, 100, 0.0, warm_from=5000) == pytest.approx(1e-5)
    assert train.lr_at(a, 5009, 100, 0.0, warm_from=5000) == pytest.approx(1e-4)


def test_max_minutes_stops_the_run_and_checkpoints(folder, tmp_path):
    run = tmp_path / "run"
    assert train.main(_tiny_phase5(folder, run) + ["--num-workers", "0", "--iterations", "1000",
                                                   "--max-minutes", "1e-6", "--lr_schedule", "cosine"]) == 0
    ckpt = train.load_checkpoint(run / "last.pt")
    assert ckpt["step"] == 1  # the clock ran out after the first step, not the 1000 asked for
    log = (run / "log.jsonl").read_text()
    assert ckpt["args"]["max_minutes"] == 1e-6 and log == ""  # no 50-step log row in a 1-step run


def _script(name: str):
    """A module of scripts/ (not a package: they are run as files)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_checkpoint_split_for_a_gpu_lease_joins_back_and_resumes(folder, tmp_path, monkeypatch):
    lease = _script("lease_checkpoint")

    run = tmp_path / "run"
    common = _tiny_phase5(folder, run) + ["--num-workers", "0", "--lr_warmup", "1"]
    assert train.main(common + ["--iterations", "2"]) == 0
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(lease, "PART_BYTES", 2000)  # force several parts on a tiny model
    files = lease.split(str(run / "last.pt"), str(out))
    assert len(files) > 1 and all(f.stat().st_size < 16 * 2**20 for f in files)
    joined = lease.join(str(out), str(tmp_path / "back" / "last.pt"))
    before = (run / "last.pt").read_bytes()
    with pytest.raises(SystemExit, match="already exists"):  # never over a checkpoint already there
        lease.join(str(out), str(run / "last.pt"))
    assert (run / "last.pt").read_bytes() == before
    original = train.load_checkpoint(run / "last.pt")
    assert joined["step"] == 2 and "optimizer" not in joined
    assert set(joined["model"]) == set(original["model"])
    assert all(torch.equal(joined["model"][k], original["model"][k].float()) for k in original["model"])
    # A run resumes from it with a fresh optimizer and keeps counting steps.
    assert train.main(common + ["--iterations", "3", "--resume", "--save_path", str(tmp_path / "back")]) == 0
    assert train.load_checkpoint(tmp_path / "back" / "last.pt")["step"] == 3
    # A second call of the lease continues from an fp16 copy, half the size, keeping the lineage.
    small = tmp_path / "seg.pt"
    lease.travel(str(tmp_path / "back" / "last.pt"), str(small))
    assert small.stat().st_size < 0.75 * (tmp_path / "back" / "last.pt").stat().st_size
    assert train.main(common + ["--iterations", "1", "--pretrain", str(small),
                                "--save_path", str(tmp_path / "seg2")]) == 0
    prior = train.load_checkpoint(tmp_path / "seg2" / "last.pt")["prior"]
    assert prior["iterations"] == 3 and str(small) in prior["source"]


def test_context_from_a_variant_whose_base_was_re_exported(folder, tmp_path):
    """Fine-tunes take their context networks from the shipped variant even once phase5 is new."""
    args = ["--train_dataset", str(folder), "--variant", "phase5", "--N", "8", "--M", "16", "--batch-size", "1",
            "--patch-size", "64", "--num-workers", "0", "--iterations", "1"]
    base, ft, wdir = tmp_path / "base", tmp_path / "ft", tmp_path / "w"
    assert train.main(args + ["--save_path", str(base)]) == 0
    assert train.main(args + ["--save_path", str(ft), "--pretrain", str(base / "last.pt"),
                              "--freeze_except", "enhanced_context"]) == 0
    assert export.main([str(base / "last.pt"), "--variant", "phase5", "--out", str(wdir)]) == 0
    assert export.main([str(ft / "last.pt"), "--variant", "phase5-2g", "--out", str(wdir), "--base", "phase5"]) == 0
    # The backbone trains on and is exported again: the variant's recorded base no longer matches.
    assert train.main(args + ["--save_path", str(base), "--resume", "--iterations", "2"]) == 0
    assert export.main([str(base / "last.pt"), "--variant", "phase5", "--out", str(wdir)]) == 0
    with pytest.raises(Exception):
        train.load_checkpoint(wdir / "phase5-2g.safetensors")  # as a whole model it is refused
    ft2 = tmp_path / "ft2"
    assert train.main(args + ["--save_path", str(ft2), "--pretrain", str(base / "last.pt"), "--iterations", "0",
                              "--context_from", str(wdir / "phase5-2g.safetensors"),
                              "--freeze_except", "enhanced_context"]) == 0
    got = train.load_checkpoint(ft2 / "last.pt")["model"]
    want = train.load_checkpoint(ft / "last.pt")["model"]
    assert all(torch.allclose(got[k], want[k]) for k in want if k.startswith("enhanced_context"))


def test_lease_data_stops_at_its_byte_budget(folder, tmp_path):
    lease_data = _script("lease_data")
    out = tmp_path / "all"
    n_all, size_all = lease_data.prepare(folder, out, 1e9)
    assert n_all == 3 and size_all == sum(f.stat().st_size for f in out.iterdir())
    out2 = tmp_path / "some"
    n, size = lease_data.prepare(folder, out2, size_all - 1)  # one byte short of all three
    assert n == 2 and size <= size_all - 1 and len(list(out2.iterdir())) == 2
    assert all(Image.open(f).format == "WEBP" for f in out2.iterdir())


def test_lambda_weights_steer_which_lambda_a_step_trains():
    lams = [0.05, 0.0025, 0.013]  # given unsorted: weights follow the order they were given in
    w = train.lambda_weights_for(lams, [3.0, 0.0, 1.0])
    assert w == [0.0, 1.0, 3.0]  # sorted by lambda, as training draws them
    train.random.seed(0)
    draws = [train.pick_lambda(sorted(lams), w) for _ in range(4000)]
    assert 0.0025 not in draws
    assert 2.4 < draws.count(0.05) / draws.count(0.013) < 3.6
    assert train.lambda_weights_for(lams, None) is None
    for bad in ([1.0, 2.0], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0]):
        with pytest.raises(SystemExit, match="--lambda_weights"):
            train.lambda_weights_for(lams, bad)


def test_dev_check_compares_checkpoints_per_lambda(folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert train.main(["--train_dataset", str(folder), "--variant", "phase5-2g", "--use_adaptive_quant",
                       "--N", "8", "--M", "16", "--batch-size", "2", "--patch-size", "64", "--save_path", str(run),
                       "--num-workers", "0", "--iterations", "1"]) == 0
    dev_check = _script("dev_check")
    ckpt = str(run / "last.pt")
    figs = dev_check.figures(dev_check.load(ckpt), str(folder), [0.0025, 0.05])
    assert sorted(figs) == [0.0025, 0.05]
    assert all(b > 0 and 0 < p < 100 for b, p in figs.values())
    assert dev_check.main([ckpt, ckpt, "--dataset", str(folder), "--lambdas", "0.0025", "0.05"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 0.")]
    assert len(rows) == 2
    cells = rows[1].strip("| ").split(" | ")
    assert len(cells) == 3, rows
    assert cells[1] == cells[2] == f"{figs[0.05][0]:.3f} bpp / {figs[0.05][1]:.2f} dB"
    # The transforms' ceiling: g_s(g_a(x)) with no rounding, in its own row.
    ceiling = dev_check.unquantized_psnr(dev_check.load(ckpt), str(folder))
    assert 0 < ceiling < 100
    last = [line for line in out.splitlines() if line.startswith("| no quantization")]
    assert last == [f"| no quantization | {ceiling:.2f} dB | {ceiling:.2f} dB |"]
    # The ship rule's row, one cell per later column (this 1-step model's PSNR does not rise with the
    # rate, so the cell says why there is no figure; the arithmetic is tested on a real-looking table below).
    bd = [line for line in out.splitlines() if line.startswith("| BD-rate")]
    assert bd == [f"| BD-rate vs first | - | {dev_check.bd_rate_cell(figs, figs)} |"]
    # --gate: a checkpoint is never ahead of itself, so the ship rule's exit status says no.
    assert dev_check.main([ckpt, ckpt, "--dataset", str(folder), "--lambdas", "0.0025", "0.05", "--gate"]) == 3
    assert "do not ship" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        dev_check.main([ckpt, "--dataset", str(folder), "--gate"])
    with pytest.raises(SystemExit, match="not trained for lambda"):
        dev_check.load(ckpt, [0.1])
    # Shipped weights (config from the manifest) give the figures of the checkpoint they came from.
    wdir = tmp_path / "weights"
    assert export.main([ckpt, "--variant", "phase5-2g", "--out", str(wdir)]) == 0
    shipped = dev_check.figures(dev_check.load(str(wdir / "phase5-2g.safetensors")), str(folder), [0.05])
    assert shipped[0.05] == pytest.approx(figs[0.05], rel=1e-4)


def test_dev_check_bd_rate_cell_reads_the_table_like_the_ship_rule():
    dev_check = _script("dev_check")
    anchor = {0.0025: (0.24, 30.0), 0.013: (0.49, 32.5), 0.05: (0.78, 33.8)}
    # The same PSNR for 10 % fewer bits at every lambda is a BD-rate of -10 %; 10 % more, +10 %.
    assert dev_check.bd_rate_cell(anchor, {k: (b * 0.9, q) for k, (b, q) in anchor.items()}) == "-10.00 %"
    assert dev_check.bd_rate_cell(anchor, {k: (b * 1.1, q) for k, (b, q) in anchor.items()}) == "+10.00 %"
    # A mixed screen gets one signed figure: the README's s128342 -> s130268 table (behind at one lambda,
    # ahead at five), where a 0.1 column only the later run had would be left out.
    lams = (0.0025, 0.0035, 0.0067, 0.013, 0.025, 0.05)
    before = dict(zip(lams, [(0.242, 29.97), (0.287, 30.59), (0.382, 31.66), (0.493, 32.55), (0.621, 33.26),
                             (0.781, 33.83)]))
    after = dict(zip(lams + (0.1,), [(0.243, 30.00), (0.286, 30.57), (0.381, 31.67), (0.492, 32.56),
                                     (0.620, 33.28), (0.779, 33.85), (1.0, 34.2)]))
    assert dev_check.bd_rate_cell(before, after) == "-0.44 %"
    assert dev_check.ahead(before, after) and not dev_check.ahead(after, before)
    # The encoder-blocks screen of 2026-12-06: +0.26 %, behind (a table a grep for "| -" had passed).
    enc = dict(zip(lams, [(0.243, 29.99), (0.287, 30.59), (0.383, 31.65), (0.493, 32.57), (0.621, 33.29),
                          (0.781, 33.86)]))
    base = dict(zip(lams, [(0.243, 29.99), (0.286, 30.58), (0.381, 31.67), (0.492, 32.56), (0.620, 33.28),
                           (0.779, 33.86)]))
    assert dev_check.bd_rate_cell(base, enc).startswith("+") and not dev_check.ahead(base, enc)
    assert not dev_check.ahead(base, base)
    # Too few common lambdas to integrate: the cell says why instead of a number.
    cell = dev_check.bd_rate_cell(anchor, {0.05: (0.7, 33.8)})
    assert cell.startswith("- (") and "at least 2 points" in cell


def test_export_records_the_schedule_history_and_lambda_weights(folder, tmp_path):
    common = ["--train_dataset", str(folder), "--variant", "phase5", "--use_adaptive_quant", "--N", "8",
              "--M", "16", "--batch-size", "2", "--patch-size", "64", "--num-workers", "0"]
    assert train.main(common + ["--iterations", "2", "--save_path", str(tmp_path / "a")]) == 0
    wdir = tmp_path / "weights"
    assert export.main([str(tmp_path / "a" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "First: 2 steps.", "--note", "tiny"]) == 0
    # Continued from a checkpoint of the shipped weights (as after a GPU lease), weighting the lambdas.
    assert train.main(common + ["--iterations", "1", "--save_path", str(tmp_path / "b"), "--pretrain",
                                str(tmp_path / "a" / "last.pt"), "--lambda_weights", "1", "1", "1", "1", "2", "3"]) == 0
    assert export.main([str(tmp_path / "b" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Then: 1 step."]) == 0
    t = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["training"]
    assert t["schedule"] == "First: 2 steps. Then: 1 step."
    assert t["total_iterations"] == 3 and "note" not in t
    assert t["continued_from"]["from"].startswith(str(tmp_path / "a" / "last.pt"))
    assert t["lambda_weights"] == {"0.0025": 1.0, "0.0035": 1.0, "0.0067": 1.0, "0.013": 1.0, "0.025": 2.0, "0.05": 3.0}
    # A run that does not start where the shipped weights ended starts its own schedule.
    assert export.main([str(tmp_path / "a" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Other."]) == 0
    assert json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["training"]["schedule"] == "Other."
    # Runs in between that were not shipped (two lease segments, say) keep the history when the
    # lineage names the shipped weights.
    assert export.main([str(tmp_path / "b" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Then: 1 step."]) == 0
    shipped_id = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["model_id"]
    for run, start in (("c", "b"), ("d", "c")):
        assert train.main(common + ["--iterations", "1", "--save_path", str(tmp_path / run), "--pretrain",
                                    str(tmp_path / start / "last.pt")]) == 0
    d = torch.load(tmp_path / "d" / "last.pt", weights_only=True)
    # Each checkpoint in the chain is named with its own steps: the path alone is reused by later runs.
    a_, b_, c_ = (str(tmp_path / r / "last.pt") for r in "abc")
    assert d["prior"]["iterations"] == 4
    assert d["prior"]["source"] == f"{c_} (1 step on from {b_} (1 step on from {a_}))"
    # That chain passes through the shipped checkpoint (1 step on from a), though not by its id, and
    # still does once "from" is reworded for readers: the match uses the recorded lineage.
    m = json.loads((wdir / "manifest.json").read_text())
    m["models"]["phase5"]["training"]["continued_from"]["from"] = "the fp32 checkpoint of run a"
    (wdir / "manifest.json").write_text(json.dumps(m))
    assert export.main([str(tmp_path / "d" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Here: 2 steps."]) == 0
    t = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["training"]
    assert t["total_iterations"] == 5
    assert t["schedule"] == "Other. Then: 1 step. Here: 2 steps."
    # Ship b again; a chain from a that skips it (e, then f) starts its own schedule, though it is longer.
    assert export.main([str(tmp_path / "b" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Then: 1 step."]) == 0
    assert train.main(common + ["--iterations", "2", "--save_path", str(tmp_path / "e"), "--pretrain",
                                str(tmp_path / "a" / "last.pt")]) == 0
    assert train.main(common + ["--iterations", "1", "--save_path", str(tmp_path / "f"), "--pretrain",
                                str(tmp_path / "e" / "last.pt")]) == 0
    assert export.main([str(tmp_path / "f" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Elsewhere."]) == 0
    t = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["training"]
    assert t["total_iterations"] == 5 and t["schedule"] == "Elsewhere."
    # Named by hand after a lease: the model id is enough.
    assert export.main([str(tmp_path / "b" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Then: 1 step."]) == 0
    d["prior"]["source"] = f"{shipped_id}, then a lease"
    torch.save(d, tmp_path / "d" / "last.pt")
    assert export.main([str(tmp_path / "d" / "last.pt"), "--variant", "phase5", "--out", str(wdir),
                        "--schedule", "Lease: 1 step. Here: 1 step."]) == 0
    t = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]["training"]
    assert t["total_iterations"] == 5
    assert t["schedule"] == "Then: 1 step. Lease: 1 step. Here: 1 step."


def test_torchrun_data_parallel_run_ends_and_checkpoints(folder, tmp_path):
    """Two CPU processes under torchrun (gloo), the way the backbone trains here: the run stops at its
    step count, rank 0 checkpoints, and every process exits."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "core", "train",
           *_tiny_phase5(folder, run), "--num-workers", "1", "--threads", "1", "--iterations", "3"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: torchrun then stops its workers (each in its own session, out of reach
        # of a process-group kill) instead of leaving them to hold both cores and our pipes.
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            err = "(no output: the workers did not stop)"
        pytest.fail(f"torchrun did not finish in 240 s:\n{err[-2000:]}")
    assert proc.returncode == 0, err[-2000:]
    ckpt = train.load_checkpoint(run / "last.pt")
    assert ckpt["step"] == 3 and "stopped at step 3" in out


def test_leaving_the_process_group_is_bounded(monkeypatch, capsys):
    """A destroy_process_group that never returns must not keep a finished worker alive."""
    import threading

    never = threading.Event()
    monkeypatch.setattr(torch.distributed, "destroy_process_group", never.wait)
    codes = []

    def fake_exit(code):
        codes.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(train.os, "_exit", fake_exit)
    with pytest.raises(SystemExit):
        train._leave_process_group(wait_s=0.2)
    never.set()
    assert codes == [0] and "exiting without it" in capsys.readouterr().err


def test_a_finished_run_gives_sigterm_back(folder, tmp_path):
    """While training, SIGTERM only asks for a checkpoint; once the last one is written it must end
    the process again (a run that hung on its way out could not otherwise be stopped)."""
    before = signal.getsignal(signal.SIGTERM)
    try:
        assert train.main(_tiny_phase5(folder, tmp_path / "run") + ["--num-workers", "0", "--iterations", "1"]) == 0
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)


def test_analysis_blocks_grow_the_encoder_and_train_with_the_decoder_frozen(folder, tmp_path, monkeypatch):
    a, ckpt, grown = _train_then_grow(folder, tmp_path,
                                      ["--analysis_blocks", "1", "--freeze_except", "g_a", "g_a_blocks", "h_a"])
    b = ckpt["model"]
    assert ckpt["config"]["analysis_blocks"] == 1
    changed = {k.split(".")[0] for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])}
    assert "g_a" in changed and changed <= {"g_a", "h_a", "entropy_bottleneck"}  # the decoder is untouched
    assert b["g_a_blocks.0.conv2.weight"].abs().sum() > 0
    wdir = tmp_path / "w"
    assert export.main([str(grown / "last.pt"), "--variant", "phase5", "--out", str(wdir)]) == 0
    entry = json.loads((wdir / "manifest.json").read_text())["models"]["phase5"]
    assert entry["training"]["total_iterations"] == 4 and entry["config"]["analysis_blocks"] == 1
    monkeypatch.setenv("WCS_WEIGHTS_DIR", str(wdir))
    _load_cached.cache_clear()
    codec = load_codec("phase5")
    assert codec.cfg.analysis_blocks == 1
    # A variant fine-tuned on the grown backbone (no block flag given) keeps its blocks.
    ft = tmp_path / "ft"
    ft_args = ["--save_path", str(ft), "--variant", "phase5-light", "--pretrain", str(wdir / "phase5.safetensors"),
               "--freeze_except", "enhanced_context"]
    assert train.main(["--train_dataset", str(folder)] + GROW_ARGS + ft_args) == 0
    c = train.load_checkpoint(ft / "last.pt")
    assert c["config"]["analysis_blocks"] == 1 and torch.equal(c["model"]["g_a_blocks.0.conv2.weight"],
                                                               b["g_a_blocks.0.conv2.weight"])
    img = sample_crop(64, 80)
    enc = codec.encode(img, 0.013)
    assert (codec.decode(enc.data).image == enc.recon).all()
    _load_cached.cache_clear()
