"""Headless bench: outputs, resume, cancel, imports, unavailable codecs, learned-codec contract."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import core.codec
from core import bench
from core.baselines import get_codec
from core.errors import WcsError, WeightsMissingError
from tests.helpers import sample_crop

SETTINGS = {"jpeg": [20, 50, 80], "webp": [20, 50, 80]}


@pytest.fixture
def images(tmp_path, monkeypatch):
    monkeypatch.delenv("WCS_VVENCAPP", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no vvencapp: VVC is unavailable

    def no_weights(variant, device="cpu", *a, **k):
        raise WeightsMissingError(f"no weights installed for variant {variant!r}")
    monkeypatch.setattr(core.codec, "load_codec", no_weights)
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(sample_crop(48, 64)).save(d / "a.png")
    Image.fromarray(sample_crop(48, 64, top=300, left=400)).save(d / "b.png")
    return d


def _rows(out):
    with open(out / "rows.csv") as f:
        return list(csv.DictReader(f))


def test_bench_writes_rows_curves_table_and_plot(images, tmp_path):
    out = tmp_path / "res"
    res = bench.run_bench([images], ["jpeg", "webp", "vvc", "phase5"], out, SETTINGS)
    rows = _rows(out)
    assert len(rows) == 2 * 6 and {r["image"] for r in rows} == {"a.png", "b.png"}
    jpeg_a50 = next(r for r in rows if r["codec"] == "jpeg" and r["image"] == "a.png" and float(r["setting"]) == 50)
    crop = np.asarray(Image.open(images / "a.png"))
    assert int(jpeg_a50["bytes"]) == len(get_codec("jpeg").encode(crop, 50))  # the real byte count
    assert float(jpeg_a50["bpp"]) == pytest.approx(8 * int(jpeg_a50["bytes"]) / (64 * 48), rel=1e-5)
    curve = json.loads((out / "curves" / "jpeg.json").read_text())
    assert curve["name"] == "jpeg" and curve["results"]["quality"] == [20, 50, 80]
    for k in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"):
        assert len(curve["results"][k]) == 3
    assert curve["results"]["bpp"] == sorted(curve["results"]["bpp"])
    mean_bpp = np.mean([float(r["bpp"]) for r in rows if r["codec"] == "jpeg" and float(r["setting"]) == 20])
    assert curve["results"]["bpp"][0] == pytest.approx(mean_bpp, rel=1e-5)
    md = (out / "bd_rate.md").read_text()
    assert "against **jpeg**" in md and "| webp |" in md and "| jpeg | +0.00 |" in md
    assert "vvc: " in md and "phase5: no weights" in md
    assert (out / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(res.unavailable) == {"vvc", "phase5"}
    assert "vvencapp" in res.unavailable["vvc"]
    assert json.loads((out / "bench.json").read_text())["unavailable"]["phase5"].startswith("no weights")


def test_bench_resumes_and_only_runs_what_is_missing(images, tmp_path):
    out = tmp_path / "res"
    bench.run_bench([images], ["jpeg"], out, {"jpeg": [20, 50]})
    first = _rows(out)
    seen = []
    bench.run_bench([images], ["jpeg"], out, {"jpeg": [20, 50, 80]}, progress=lambda d, t, s: seen.append((d, t)))
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)  # only q=80 on the two images
    again = _rows(out)
    assert again[:4] == first and len(again) == 6


def test_bench_cancel_keeps_finished_results(images, tmp_path):
    out = tmp_path / "res"
    calls = iter(range(100))
    res = bench.run_bench([images], ["jpeg"], out, {"jpeg": [20, 50, 80]}, cancel=lambda: next(calls) >= 2)
    assert res.cancelled and len(_rows(out)) == 2
    res = bench.run_bench([images], ["jpeg"], out, {"jpeg": [20, 50, 80]})
    assert not res.cancelled and len(_rows(out)) == 6


def test_bench_never_writes_into_a_folder_that_is_not_a_bench_run(images, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "rows.csv").write_text("my own spreadsheet\n")
    with pytest.raises(WcsError, match="not empty"):
        bench.run_bench([images], ["jpeg"], out, SETTINGS)
    assert (out / "rows.csv").read_text() == "my own spreadsheet\n"


def test_bench_imports_results_computed_elsewhere(images, tmp_path):
    jpg = get_codec("jpeg444")
    lines = ["image,qp,bytes,decoded"]
    for name in ("a.png", "b.png"):
        crop = np.asarray(Image.open(images / name))
        for q, qp in ((30, 37), (60, 32), (90, 27)):
            data = jpg.encode(crop, q)
            Image.fromarray(jpg.decode(data)).save(tmp_path / f"{name}.{qp}.png")
            lines.append(f"{name},{qp},{len(data)},{name}.{qp}.png")
    (tmp_path / "vtm.csv").write_text("\n".join(lines) + "\n")
    res = bench.run_bench([images], ["jpeg"], tmp_path / "res", {"jpeg": [20, 50, 80]},
                          imports=[tmp_path / "vtm.csv"])
    assert "vtm" in res.curves and len(res.curves["vtm"]["results"]["bpp"]) == 3
    assert "| vtm |" in (tmp_path / "res" / "bd_rate.md").read_text()


def test_learned_codec_contract(images, tmp_path, monkeypatch):
    """When weights exist, the bench drives core.codec's API: encode(rgb, lam=) and decode(data).image."""
    jpg = get_codec("jpeg")
    lams = []

    class FakeCodec:
        def encode(self, rgb, lam):
            lams.append(lam)
            data = jpg.encode(rgb, int(20 + 1000 * lam))
            return SimpleNamespace(data=data, recon=jpg.decode(data), bpp=0.0, timings={})

        def decode(self, data):
            return SimpleNamespace(image=jpg.decode(data))

    monkeypatch.setattr(core.codec, "load_codec", lambda variant, device="cpu": FakeCodec())
    res = bench.run_bench([images], ["phase5", "jpeg"], tmp_path / "res", {"jpeg": [20, 50, 80]}, anchor="jpeg")
    assert not res.unavailable and sorted(set(lams)) == sorted(core.codec.LAMBDAS)
    assert json.loads((tmp_path / "res" / "curves" / "phase5.json").read_text())["results"]["lambda"] == list(
        core.codec.LAMBDAS)


def test_cli_main(images, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = bench.main(["--images", str(images / "a.png"), str(images / "b.png"), "--codecs", "jpeg,webp,hevc",
                     "--settings", "jpeg=20,50,80", "--settings", "webp=20,50,80", "--settings", "hevc=27,32,37",
                     "--anchor", "hevc", "--out", str(out), "--quiet", "--no-ms-ssim"])
    assert rc == 0
    assert "against **hevc**" in capsys.readouterr().out
    assert len(_rows(out)) == 18 and (out / "rd.png").exists()
    with pytest.raises(WcsError, match="anchor"):
        bench.main(["--images", str(images), "--codecs", "jpeg", "--settings", "jpeg=20,50", "--anchor", "avif",
                    "--out", str(out), "--quiet"])
