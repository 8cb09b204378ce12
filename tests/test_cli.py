"""The CLI end to end, with a tiny model installed as real safetensors weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.codec import _load_cached, make_test_codec
from core.weights import install_weights, read_manifest

from .helpers import sample_crop


@pytest.fixture()
def weights(tmp_path, monkeypatch):
    d = tmp_path / "weights"
    for v in ("phase5", "phase4"):
        install_weights(make_test_codec(v).model, v, d, f"tiny-{v}", {"training": {"iterations": 0}})
    monkeypatch.setenv("WCS_WEIGHTS_DIR", str(d))
    _load_cached.cache_clear()
    yield d
    _load_cached.cache_clear()


@pytest.fixture()
def image(tmp_path):
    p = tmp_path / "in.png"
    Image.fromarray(sample_crop(40, 56)).save(p)
    return p


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("variant", ["phase5", "phase4"])
def test_encode_info_decode(weights, image, tmp_path, capsys, variant):
    wcs, recon, out = tmp_path / "x.wcs", tmp_path / "recon.png", tmp_path / "out.png"
    code, text, err = run(capsys, "encode", image, "-o", wcs, "--variant", variant, "--lambda", 0.0067, "--recon", recon)
    assert code == 0, err
    assert f"{wcs.stat().st_size} bytes" in text and "PSNR" in text
    code, text, _ = run(capsys, "info", wcs, "--json")
    info = json.loads(text)
    assert info["variant"] == variant and info["lambda"] == 0.0067 and info["bytes"] == wcs.stat().st_size
    assert (info["width"], info["height"]) == (56, 40)
    code, text, err = run(capsys, "decode", wcs, "-o", out, "--trace")
    assert code == 0, err and "step" in text
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(recon)))


def test_loader_verifies_checkpoint_hash(weights, image, tmp_path, capsys):
    f = weights / "phase5.safetensors"
    f.write_bytes(f.read_bytes()[:-1] + b"\x01")
    code, _, err = run(capsys, "encode", image, "-o", tmp_path / "x.wcs")
    assert code == 1 and "sha256" in err and "Traceback" not in err
    assert read_manifest(weights)["models"]["phase5"]["file"] == "phase5.safetensors"


def test_refuses_to_overwrite(weights, image, tmp_path, capsys):
    wcs = tmp_path / "x.wcs"
    wcs.write_bytes(b"precious")
    code, _, err = run(capsys, "encode", image, "-o", wcs)
    assert code == 1 and "already exists" in err
    assert wcs.read_bytes() == b"precious"
    recon = tmp_path / "mine.png"  # an existing --recon is refused before anything is written
    recon.write_bytes(b"mine")
    code, _, err = run(capsys, "encode", image, "-o", tmp_path / "y.wcs", "--recon", recon)
    assert code == 1 and "already exists" in err
    assert recon.read_bytes() == b"mine" and not (tmp_path / "y.wcs").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"GIF89a....", "wrong magic"),
        (b"WCS\x89\x07", "unknown .wcs format version 7"),
        (b"WCS\x89\x01\x05ab", "truncated"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.wcs"
    bad.write_bytes(content)
    for cmd in (["info", bad], ["decode", bad, "-o", tmp_path / "o.png"]):
        code, _, err = run(capsys, *cmd)
        assert code == 1
        assert message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_crc_and_missing_weights(weights, image, tmp_path, capsys, monkeypatch):
    wcs = tmp_path / "x.wcs"
    assert run(capsys, "encode", image, "-o", wcs)[0] == 0
    data = bytearray(wcs.read_bytes())
    data[-8] ^= 1
    bad = tmp_path / "bad.wcs"
    bad.write_bytes(bytes(data))
    code, _, err = run(capsys, "decode", bad, "-o", tmp_path / "o.png")
    assert code == 1 and "CRC mismatch" in err
    monkeypatch.setenv("WCS_WEIGHTS_DIR", str(tmp_path / "nowhere"))
    code, _, err = run(capsys, "decode", wcs, "-o", tmp_path / "o.png")
    assert code == 1 and "not installed" in err
    code, _, err = run(capsys, "encode", image, "-o", tmp_path / "y.wcs")
    assert code == 1 and "no weights installed" in err


def test_unreadable_image(tmp_path, capsys, weights):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    code, _, err = run(capsys, "encode", bad, "-o", tmp_path / "x.wcs")
    assert code == 1 and "cannot read photo.jpg" in err
    assert not (tmp_path / "x.wcs").exists()


@pytest.mark.parametrize("command", [[sys.executable, "-m", "core"], [str(Path(sys.executable).with_name("wcs"))]],
                         ids=["python -m core", "wcs script"])
def test_closed_pipe_ends_quietly(weights, image, tmp_path, capsys, command):
    """`wcs info f.wcs | head -0`: the reader is gone before the output; no traceback."""
    f = tmp_path / "a.wcs"
    assert run(capsys, "encode", image, "-o", f)[0] == 0
    proc = subprocess.Popen([*command, "info", str(f)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "WCS_WEIGHTS_DIR": str(weights)})
    proc.stdout.close()  # before the child can write: its first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
