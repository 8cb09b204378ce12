"""Model configuration and the named variants."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: The seed's training lambdas; adaptive quantization covers these and any value between.
LAMBDAS = (0.0025, 0.0035, 0.0067, 0.013, 0.025, 0.05)

CONTEXTS = ("standard", "light", "off", "raster")


@dataclass(frozen=True)
class ModelConfig:
    N: int = 96  # channels of the transforms
    M: int = 128  # latent channels
    groups: int = 4  # checkerboard groups per band (1, 2, 4); ignored by Phase 4
    context: str = "standard"  # standard | light | off (single masked conv) | raster (Phase 4)
    multi_res: bool = True  # MultiResolutionContextBuilder (Phase 5 only)
    simple_weconv: bool = False
    adaptive_quant: bool = True  # per-band, per-channel steps; else one step per lambda
    attention_heads: int = 4
    skip_s3_for_hf: bool = False  # skip the channel gate for the high bands
    synthesis_blocks: int = 0  # residual blocks at half resolution before g_s's last layer (decoder capacity)
    analysis_blocks: int = 0  # residual blocks at quarter resolution inside g_a (encoder capacity, no decode cost)
    lambdas: tuple = LAMBDAS

    def __post_init__(self):
        if self.context not in CONTEXTS:
            raise ValueError(f"context must be one of {CONTEXTS}, got {self.context!r}")
        if self.context != "raster" and self.groups not in (1, 2, 4):
            raise ValueError(f"checkerboard groups must be 1, 2 or 4, got {self.groups}")
        for name in ("synthesis_blocks", "analysis_blocks"):
            if not 0 <= getattr(self, name) <= 8:
                raise ValueError(f"{name.replace('_', ' ')} must be 0 to 8, got {getattr(self, name)}")
        object.__setattr__(self, "lambdas", tuple(float(v) for v in self.lambdas))

    @property
    def phase(self) -> int:
        return 4 if self.context == "raster" else 5

    @property
    def context_hidden(self) -> int:
        return max(self.M // 2, 8)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lambdas"] = list(self.lambdas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


#: Named variants: what the CLI's --variant, the app's presets and the weights manifest use.
VARIANTS = {
    "phase5": dict(groups=4, context="standard", multi_res=True),
    "phase5-light": dict(groups=4, context="light", multi_res=False),
    "phase5-2g": dict(groups=2, context="standard", multi_res=True),
    "phase5-cb": dict(groups=4, context="off", multi_res=False),
    "phase4": dict(groups=1, context="raster", multi_res=False),
}


def variant_config(variant: str, **overrides) -> ModelConfig:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return ModelConfig(**{**VARIANTS[variant], **overrides})


def variant_for(groups: int, context: str, phase4: bool = False) -> str:
    """The named variant for the app's panel choices (ValueError when none matches)."""
    if phase4:
        return "phase4"
    for name, spec in VARIANTS.items():
        if spec["context"] == context and spec["groups"] == groups:
            return name
    raise ValueError(f"no named variant has {groups} checkerboard group(s) with {context} context")
