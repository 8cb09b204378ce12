"""Shipped checkpoints: safetensors files listed in weights/manifest.json.

Checkpoints are loaded with safetensors only (no pickle), since users open files from others.
The rANS CDF tables are not stored: they are rebuilt deterministically from the weights.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from .errors import WcsError, WeightsMissingError
from .manifest import MANIFEST, read_manifest, updating_manifest, weights_dir, write_manifest  # noqa: F401
from .models import ModelConfig, WaveletCodecModel

def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: Buffers that are not learned: CompressAI's CDF tables (rebuilt by update()) and the constants
#: the modules' constructors set (GDN pedestals and bounds, likelihood and scale bounds, the aux
#: target). Stored in fp16 the tiny ones become 0 -- a likelihood bound of 0 gives an infinite
#: rate in training -- so they are never stored nor loaded: the constructor's values stand.
NOT_STORED = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table", "pedestal", "bound", "target",
              "scale_bound")


def _is_derived(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in NOT_STORED


def state_dict_for_export(model: WaveletCodecModel, dtype=torch.float32) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in model.state_dict().items():
        if _is_derived(k):
            continue
        v = v.detach().cpu()
        out[k] = (v.to(dtype) if v.is_floating_point() else v).contiguous()
    return out


def load_state(model: WaveletCodecModel, state: dict[str, torch.Tensor]) -> None:
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items() if not _is_derived(k)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not _is_derived(k)]
    if missing or unexpected:
        raise WeightsMissingError(
            f"checkpoint does not fit the model: {len(missing)} missing and {len(unexpected)} unexpected tensors"
        )
    model.update(force=True)


def load_entry(variant: str, directory: Path | None = None) -> tuple[dict, Path]:
    directory = Path(directory or weights_dir())
    entry = read_manifest(directory)["models"].get(variant)
    if entry is None:
        raise WeightsMissingError(
            f"no weights installed for variant {variant!r} (looked in {directory / MANIFEST}); "
            "train them with `python -m core train` or install the shipped weights"
        )
    path = directory / entry["file"]
    if not path.exists():
        raise WeightsMissingError(f"weights file {path} for {variant!r} is missing; reinstall the weights")
    return entry, path


def load_tensors(variant: str, directory: Path | None = None, verify: bool = True) -> tuple[dict, dict]:
    """(tensors, manifest entry). A variant stored against a base (``"base": "phase5"``) holds only
    what differs from it, the frozen shared backbone being in the base's file once."""
    from safetensors.torch import load_file

    entry, path = load_entry(variant, directory)
    if verify and file_sha256(path) != entry["sha256"]:
        raise WeightsMissingError(f"{path.name} does not match its sha256 in the manifest; reinstall the weights")
    tensors = load_file(str(path))
    base = entry.get("base")
    if base:
        base_entry, base_path = load_entry(base, directory)
        if base_entry["sha256"] != entry.get("base_sha256"):
            raise WeightsMissingError(
                f"{variant!r} was fine-tuned on other {base!r} weights than those installed; "
                f"re-export {variant!r} or reinstall the shipped weights")
        shared, _ = load_tensors(base, directory, verify)  # checked like any variant
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            names = json.loads((f.metadata() or {}).get("from_base", "[]"))
        if any(n not in shared for n in names):
            raise WeightsMissingError(f"{base_path.name} lacks tensors that {path.name} takes from it; "
                                      "reinstall the weights")
        tensors = {**{n: shared[n] for n in names}, **tensors}
    return tensors, entry


def load_model(variant: str, directory: Path | None = None, device="cpu", verify: bool = True):
    """(model, manifest entry) for a shipped variant, on ``device``, ready to code."""
    tensors, entry = load_tensors(variant, directory, verify)
    model = WaveletCodecModel(ModelConfig.from_dict(entry["config"]))
    load_state(model, tensors)
    return model.to(device).eval(), entry


def install_weights(model: WaveletCodecModel, variant: str, directory: Path, model_id: str,
                    info: dict | None = None, dtype=torch.float32, base: str | None = None) -> dict:
    """Write ``model`` as ``<variant>.safetensors`` and record it in the manifest (atomically).

    With ``base`` (an installed variant), only the tensors that differ from the base's are
    written: a variant fine-tuned on the frozen shared backbone then costs its context networks.
    """
    from safetensors.torch import load_file, save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = state_dict_for_export(model, dtype)
    extra, meta = {}, {"model_id": model_id, "variant": variant}
    if base:
        if base == variant:
            raise WcsError("a variant cannot be its own base")
        base_tensors, base_entry = load_tensors(base, directory)
        if base_entry.get("base"):
            raise WcsError(f"{base!r} is itself stored against a base; use a full checkpoint as base")
        shared = sorted(k for k, v in state.items()
                        if k in base_tensors and base_tensors[k].dtype == v.dtype and torch.equal(base_tensors[k], v))
        state = {k: v for k, v in state.items() if k not in set(shared)}
        extra = {"base": base, "base_sha256": base_entry["sha256"]}
        meta["from_base"] = json.dumps(shared)  # exactly what to take from the base (its extra modules are not)
    path = directory / f"{variant}.safetensors"
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(state, str(tmp), metadata={**meta, **extra})
    os.chmod(tmp, 0o644)  # weights are read by every user of an installation
    tmp.replace(path)
    entry = {
        "file": path.name,
        "model_id": model_id,
        "sha256": file_sha256(path),
        "config": model.cfg.to_dict(),
        "dtype": str(dtype).replace("torch.", ""),
        **extra,
        **(info or {}),
    }
    with updating_manifest(directory) as manifest:
        manifest["models"][variant] = entry
    return entry
