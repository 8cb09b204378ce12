"""Shipped-weights storage: a variant fine-tuned on the frozen backbone is stored against its base."""

import pytest
import torch

from core.codec import make_test_codec
from core.errors import WcsError, WeightsMissingError
from core.weights import install_weights, load_model, read_manifest

CTX = ("enhanced_context", "multi_res_builder", "param_net")


def _variant_on(base_model, variant, seed=1):
    """A variant whose backbone is the base's and whose context networks are its own."""
    model = make_test_codec(variant, seed=seed).model
    own = model.state_dict()
    shared = {k: v for k, v in base_model.state_dict().items() if not k.startswith(CTX) and own[k].shape == v.shape}
    model.load_state_dict(shared, strict=False)
    return model


def test_a_variant_stored_against_its_base_holds_only_what_differs(tmp_path):
    base = make_test_codec("phase5").model
    install_weights(base, "phase5", tmp_path, "tiny-phase5")
    variant = _variant_on(base, "phase5-2g")
    full = install_weights(variant, "phase5-2g", tmp_path / "full", "tiny-2g")
    entry = install_weights(variant, "phase5-2g", tmp_path, "tiny-2g", base="phase5")
    assert entry["base"] == "phase5" and entry["base_sha256"] == read_manifest(tmp_path)["models"]["phase5"]["sha256"]
    small = (tmp_path / "phase5-2g.safetensors").stat().st_size
    assert small < 0.8 * (tmp_path / "full" / full["file"]).stat().st_size

    loaded, _ = load_model("phase5-2g", tmp_path)
    want = variant.state_dict()
    for k, v in loaded.state_dict().items():
        if k.endswith(("_quantized_cdf", "_offset", "_cdf_length", "scale_table")):
            continue  # rebuilt by update()
        assert torch.equal(v, want[k]), k


def test_a_variant_without_the_bases_extra_modules_loads(tmp_path):
    base = make_test_codec("phase5").model  # has a multi-resolution context builder; phase4 has none
    install_weights(base, "phase5", tmp_path, "tiny-phase5")
    variant = _variant_on(base, "phase4")
    install_weights(variant, "phase4", tmp_path, "tiny-phase4", base="phase5")
    loaded, _ = load_model("phase4", tmp_path)
    assert torch.equal(loaded.g_s[0].weight, base.g_s[0].weight)
    assert torch.equal(loaded.param_net[0][0].weight, variant.param_net[0][0].weight)


def test_a_variant_refuses_a_base_it_was_not_tuned_on(tmp_path):
    base = make_test_codec("phase5").model
    install_weights(base, "phase5", tmp_path, "tiny-phase5")
    install_weights(_variant_on(base, "phase5-light"), "phase5-light", tmp_path, "tiny-light", base="phase5")
    install_weights(make_test_codec("phase5", seed=7).model, "phase5", tmp_path, "other-phase5")  # a new backbone
    with pytest.raises(WeightsMissingError, match="re-export 'phase5-light'"):
        load_model("phase5-light", tmp_path)


def test_a_base_must_be_a_full_checkpoint(tmp_path):
    base = make_test_codec("phase5").model
    install_weights(base, "phase5", tmp_path, "tiny-phase5")
    install_weights(_variant_on(base, "phase5-cb"), "phase5-cb", tmp_path, "tiny-cb", base="phase5")
    with pytest.raises(WcsError, match="itself stored against a base"):
        install_weights(_variant_on(base, "phase5-2g"), "phase5-2g", tmp_path, "tiny-2g", base="phase5-cb")
    with pytest.raises(WcsError, match="its own base"):
        install_weights(base, "phase5", tmp_path, "tiny-phase5", base="phase5")


def test_describe_says_how_far_weights_are_trained(tmp_path):
    from core.manifest import describe, write_manifest

    write_manifest({"format": 1, "models": {
        "phase5": {"model_id": "wcs-phase5-s900", "training": {"iterations": 400, "total_iterations": 900,
                                                                "total_wall_hours": 2.5, "device": "cpu"},
                   "kodak": {"lambda": [0.0025, 0.013], "bpp": [0.2, 0.41], "psnr-rgb": [25.0, 27.5]}},
        "phase4": {"model_id": "wcs-phase4-s50-b900", "training": {"iterations": 50, "wall_hours": 0.1, "device": "cpu",
                                                                    "backbone": {"iterations": 900, "wall_hours": 2.5}}},
    }}, tmp_path)
    assert describe("phase5", tmp_path) == ("phase5 (wcs-phase5-s900): 900 training steps, 2.5 h on cpu; "
                                            "Kodak at λ=0.013: 0.410 bpp, 27.50 dB")
    assert describe("phase4", tmp_path).startswith("phase4 (wcs-phase4-s50-b900): 950 training steps, 2.6 h")
    assert describe("phase5-2g", tmp_path) == "phase5-2g: no weights installed"
    (tmp_path / "manifest.json").write_text("{broken")
    assert "damaged" in describe("phase5", tmp_path)


def test_training_can_start_from_a_variant_stored_against_its_base(tmp_path):
    from core.train import load_checkpoint

    base = make_test_codec("phase5").model
    install_weights(base, "phase5", tmp_path, "tiny-phase5")
    variant = _variant_on(base, "phase5-2g")
    install_weights(variant, "phase5-2g", tmp_path, "tiny-2g", base="phase5")
    got = load_checkpoint(tmp_path / "phase5-2g.safetensors")["model"]
    from core.weights import _is_derived

    want = {k: v for k, v in variant.state_dict().items() if not _is_derived(k)}
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)


def test_fp16_weights_keep_the_modules_constants(tmp_path):
    """fp16 turns the 1e-9 likelihood bound into 0 (an infinite rate in training): constants are not stored."""
    model = make_test_codec("phase5").model
    install_weights(model, "phase5", tmp_path, "tiny", dtype=torch.float16)
    loaded, _ = load_model("phase5", tmp_path)
    assert loaded.gaussian_conditional.likelihood_lower_bound.bound.item() == pytest.approx(1e-9)
    assert loaded.entropy_bottleneck.likelihood_lower_bound.bound.item() == pytest.approx(1e-9)
    assert loaded.g_a[1].beta_reparam.pedestal.item() > 0
    from core.train import load_checkpoint

    fresh = make_test_codec("phase5", seed=3).model
    fresh.load_state_dict(load_checkpoint(tmp_path / "phase5.safetensors")["model"], strict=False)
    assert fresh.gaussian_conditional.likelihood_lower_bound.bound.item() == pytest.approx(1e-9)


def test_manifest_updates_side_by_side_lose_nothing(tmp_path):
    """make -j2 runs exports and `eval --record` at once: each read-change-write holds the lock."""
    import threading
    import time

    from core.manifest import read_manifest, updating_manifest

    def add(prefix):
        for i in range(15):
            with updating_manifest(tmp_path) as m:
                time.sleep(0.002)  # widen the window a lost update would need
                m["models"][f"{prefix}{i}"] = {"file": f"{prefix}{i}.safetensors"}

    threads = [threading.Thread(target=add, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read_manifest(tmp_path)["models"]) == 30
    # A change that fails half way writes nothing.
    with pytest.raises(RuntimeError):
        with updating_manifest(tmp_path) as m:
            m["models"].clear()
            raise RuntimeError("interrupted")
    assert len(read_manifest(tmp_path)["models"]) == 30
