"""The built PyInstaller bundle (dist/wcs-studio), run as a user runs it: `make bundle-check`.

Skipped unless WCS_BUNDLE_TEST=1 (building the bundle takes minutes): CI runs `make bundle` and
then this file through `make bundle-check`.
"""

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXE_NAME = next(k for k, v in PROJECT["gui-scripts"].items() if v == "app.__main__:main")
EXE = ROOT / "dist" / EXE_NAME / EXE_NAME
SHIPPED = (ROOT / "weights" / "manifest.json").is_file()

pytestmark = pytest.mark.skipif(os.environ.get("WCS_BUNDLE_TEST") != "1",
                                reason="set WCS_BUNDLE_TEST=1 after `make bundle` (see make bundle-check)")


_CONFIG = Path(os.environ.get("TMPDIR", "/tmp")) / f"wcs-bundle-test-{os.getpid()}"


def run(*args, env=None, timeout=300):
    if not EXE.is_file():
        pytest.fail(f"no bundle at {EXE}: run `make bundle` first")
    e = {k: v for k, v in os.environ.items() if not k.startswith(("WCS_", "PYTHON"))}  # the bundle alone
    e.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(_CONFIG), **(env or {}))  # not the user's settings
    return subprocess.run([str(EXE), *args], env=e, cwd="/", capture_output=True, text=True, timeout=timeout)


def test_version_is_the_pyproject_version():
    out = run("--version", timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{EXE_NAME} {PROJECT['version']}"


def test_selftest_round_trips_with_every_bundled_codec():
    out = run("--selftest", *([] if SHIPPED else ["--demo"]))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "round trip exact" in out.stdout and "selftest OK" in out.stdout
    assert f"{PROJECT['version']}" in out.stdout.splitlines()[-1]
    codecs = next(line for line in out.stdout.splitlines() if line.startswith("codecs"))
    for name in ("avif", "heic", "jxl", "hevc", "jpeg2000"):  # Pillow AVIF, pillow-heif, JXL plugin, PyAV
        assert f"{name} ok" in codecs, codecs
    assert "Traceback" not in out.stderr


@pytest.mark.skipif(not SHIPPED, reason="no shipped weights in this checkout (weights/manifest.json)")
def test_bundle_carries_its_weights():
    internal = EXE.parent / "_internal" / "weights"
    assert (internal / "manifest.json").is_file() and list(internal.glob("*.safetensors"))


def test_selftest_without_weights_is_one_clear_line(tmp_path):
    out = run("--selftest", env={"WCS_WEIGHTS_DIR": str(tmp_path)})
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("selftest FAILED:") and "phase5" in lines[0]
    assert "Traceback" not in out.stderr


def test_window_opens_offscreen_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "window.png"
    out = run("--demo", "--screenshot", str(shot), timeout=590)
    assert out.returncode == 0, out.stdout + out.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1400, 900)  # the set screenshot size, whatever the screen
