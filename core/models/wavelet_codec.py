"""Phase 4 and Phase 5 on one backbone: a mean-scale hyperprior over a Haar-wavelet latent.

y = g_a(x) is split by one Haar DWT into LL, LH, HL, HH. Bands are coded LL first; the high
bands are conditioned on the decoded LL (LL context encoder -> frequency attention fusion ->
channel gate). Inside a band, Phase 5 codes checkerboard groups (every position of a group in
every channel in one call) and Phase 4 codes positions one at a time in raster order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._compat import compressai  # noqa: F401
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.models.google import get_scale_table

from ..nn.attention import ChannelGate, FrequencyAttentionFusion
from ..nn.context import (
    CheckerboardContext,
    EnhancedContextNetwork,
    MultiResolutionContextBuilder,
    RasterMaskedConv2d,
)
from ..nn.dwt import haar_dwt, haar_idwt
from ..results import BANDS
from . import phase4, phase5
from .backbone import AdaptiveQuant, analysis, hyper_analysis, hyper_synthesis, identity_block, synthesis
from .coding import SymbolTables
from .config import ModelConfig
from .steps import StepRecorder
from .symbols_io import SymbolDecoder, SymbolEncoder

#: Image sides are padded to a multiple of this: y is 1/16, the bands 1/32 and z 1/64.
PAD_MULTIPLE = 64
#: g_a's layers before this index run at 1/2 and 1/4 resolution; the analysis blocks follow them.
ANALYSIS_SPLIT = 5


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return (torch.round(x) - x).detach() + x


def _context_net(cfg: ModelConfig) -> nn.Module:
    M, hidden = cfg.M, cfg.context_hidden
    if cfg.context == "raster":
        return RasterMaskedConv2d(M, M, 5)
    if cfg.context == "off":
        return CheckerboardContext(M, M)
    return EnhancedContextNetwork(M, M, hidden, lightweight=cfg.context == "light")


class WaveletCodecModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        N, M = cfg.N, cfg.M
        self.g_a = analysis(N, M, cfg.simple_weconv)
        # Extra encoder capacity at quarter resolution (after g_a's second stage): the encoder's side
        # only, so it narrows the gap to a per-image optimised latent without costing decode time.
        self.g_a_blocks = nn.Sequential(*(identity_block(N) for _ in range(cfg.analysis_blocks)))
        self.g_s = synthesis(N, M, cfg.simple_weconv)
        # Extra decoder capacity at half resolution, before g_s's last layer; a module of its own so
        # that g_s keeps its tensor names and a trained g_s loads into a model that has them.
        self.g_s_blocks = nn.Sequential(*(identity_block(N) for _ in range(cfg.synthesis_blocks)))
        self.h_a = hyper_analysis(N, M)
        self.h_s = hyper_synthesis(N, M)
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian_conditional = GaussianConditional(None)
        self.adaptive_quant = AdaptiveQuant(cfg.lambdas, M, cfg.adaptive_quant)

        self.ll_encoder = nn.Sequential(
            nn.Conv2d(M, M, 3, padding=1), nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(M, M, 3, padding=1)
        )
        self.freq_fusion = nn.ModuleList(FrequencyAttentionFusion(M, cfg.attention_heads) for _ in BANDS[1:])
        self.channel_gate = nn.ModuleList(ChannelGate(M) for _ in BANDS)
        self.enhanced_context = nn.ModuleList(_context_net(cfg) for _ in BANDS)
        self.multi_res_builder = (
            nn.ModuleList(MultiResolutionContextBuilder(M, M, cfg.context_hidden) for _ in BANDS)
            if cfg.multi_res and cfg.phase == 5
            else None
        )
        self.param_net = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(2 * M, 2 * M, 1), nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(2 * M, 2 * M, 1), nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(2 * M, 2 * M, 1),
            )
            for _ in BANDS
        )
        self._tables: SymbolTables | None = None
        self.context_cache: dict = {}  # see phase5._first_group_context; cleared by update()

    # ----- pieces shared by training, encoding and decoding -------------------------------
    def band_features(self, b: int, hyper: torch.Tensor, ll_feat: torch.Tensor | None) -> torch.Tensor:
        M = self.cfg.M
        f = hyper[:, b * M : (b + 1) * M]
        if b > 0:
            f = self.freq_fusion[b - 1](f, ll_feat)
        if b == 0 or not self.cfg.skip_s3_for_hf:
            f = self.channel_gate[b](f)
        return f

    def context(self, b: int, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx = self.enhanced_context[b](masked, mask)
        if self.multi_res_builder is not None:
            ctx = ctx + self.multi_res_builder[b](masked, mask)
        return ctx

    def params(self, b: int, feats: torch.Tensor, ctx: torch.Tensor):
        """(scale, mean) in the latent's own domain (before the gain)."""
        return self.param_net[b](torch.cat((feats, ctx), dim=1)).chunk(2, dim=1)

    def analyze(self, x: torch.Tensor) -> torch.Tensor:
        """y = g_a(x), with the quarter-resolution blocks (if any) after g_a's second stage."""
        if not len(self.g_a_blocks):
            return self.g_a(x)
        return self.g_a[ANALYSIS_SPLIT:](self.g_a_blocks(self.g_a[:ANALYSIS_SPLIT](x)))

    def synthesize(self, y: torch.Tensor) -> torch.Tensor:
        """x = g_s(y), with the half-resolution blocks (if any) before g_s's last layer."""
        if not len(self.g_s_blocks):
            return self.g_s(y)
        return self.g_s[-1](self.g_s_blocks(self.g_s[:-1](y)))

    # ----- training ----------------------------------------------------------------------
    def forward(self, x: torch.Tensor, lam: float) -> dict:
        y = self.analyze(x)
        z = self.h_a(y)
        z_hat, z_lik = self.entropy_bottleneck(z)
        hyper = self.h_s(z_hat)
        bands = self.train_bands(y, hyper, self.adaptive_quant(lam))
        liks = [self.gaussian_conditional(yb * g, scale * g, means=mean * g)[1] for yb, _, scale, mean, g in bands]
        x_hat = self.synthesize(haar_idwt(*(yhat_b for _, yhat_b, *_ in bands)))
        return {"x_hat": x_hat, "likelihoods": {"y": torch.cat([l.flatten(1) for l in liks], 1), "z": z_lik}}

    def train_bands(self, y: torch.Tensor, hyper: torch.Tensor, gains: torch.Tensor) -> list[tuple]:
        """The differentiable pass over the four bands (straight-through rounding; LL first, its
        features conditioning the others): per band (y band, decoded band, scale, mean, gain).
        Training and the encoder's latent refinement both score a latent with it."""
        band_pass = phase4.train_band if self.cfg.phase == 4 else phase5.train_band
        out, ll_feat = [], None
        for b, yb in enumerate(haar_dwt(y)):
            g = gains[b].view(1, -1, 1, 1)
            yhat_b, scale, mean = band_pass(self, b, self.band_features(b, hyper, ll_feat), yb, g)
            out.append((yb, yhat_b, scale, mean, g))
            if b == 0:
                ll_feat = self.ll_encoder(yhat_b)
        return out

    def aux_loss(self) -> torch.Tensor:
        return self.entropy_bottleneck.loss()

    # ----- real bitstreams -----------------------------------------------------------------
    def update(self, force: bool = True) -> None:
        """Build the quantized CDF tables the rANS coder uses (deterministic from the weights)."""
        self.gaussian_conditional.update_scale_table(get_scale_table(), force=force)
        self.entropy_bottleneck.update(force=force)
        self._tables = SymbolTables(self.gaussian_conditional)
        self.context_cache.clear()

    @property
    def tables(self) -> SymbolTables:
        if self._tables is None:
            self.update()
        return self._tables

    def analyse_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """y = g_a(x) as the coder computes it (channels_last: oneDNN's faster convolutions on CPU)."""
        return self.analyze(x.contiguous(memory_format=torch.channels_last)).contiguous()

    @torch.no_grad()
    def compress(self, x: torch.Tensor, lam: float, rec: StepRecorder, y: torch.Tensor | None = None) -> dict:
        """Code ``x``; with ``y``, code that latent instead of g_a(x) (a refined one, say)."""
        if x.shape[0] != 1:
            raise ValueError("compress codes one image at a time")
        with rec.timed("analysis"):
            if y is None:
                y = self.analyse_channels_last(x)
            z = self.h_a(y)
        with rec.timed("hyper"):
            z_strings = self.entropy_bottleneck.compress(z)
        io = SymbolEncoder(self.tables)
        x_hat = self._code_latent(z_strings[0], tuple(z.shape[-2:]), lam, io, rec, bands=haar_dwt(y))
        return {"streams": [z_strings[0]] + io.streams, "latent_crc": io.crc.value, "x_hat": x_hat}

    @torch.no_grad()
    def decompress(self, streams: list[bytes], z_shape, lam: float, rec: StepRecorder) -> dict:
        io = SymbolDecoder(self.tables, streams[1:])
        x_hat = self._code_latent(streams[0], tuple(z_shape), lam, io, rec, bands=None)
        return {"x_hat": x_hat, "latent_crc": io.crc.value}

    def _code_latent(self, z_string, z_shape, lam, io, rec: StepRecorder, bands):
        before = rec.timings["hyper"]
        with rec.timed("hyper"):
            z_hat = self.entropy_bottleneck.decompress([z_string], z_shape)
            hyper = self.h_s(z_hat)
            gains = self.adaptive_quant(lam)
        rec.step("hyper", rec.timings["hyper"] - before, nbytes=len(z_string))
        bands_hat, ll_feat = [], None
        for b, name in enumerate(BANDS):
            with rec.timed("context_net"):
                feats = self.band_features(b, hyper, ll_feat)
            g = gains[b].view(1, -1, 1, 1)
            yb = None if bands is None else bands[b]
            loop = phase4.code_band if self.cfg.phase == 4 else phase5.code_band
            yhat_b = loop(self, b, name, feats, yb, g, io, rec)
            bands_hat.append(yhat_b)
            if b == 0:
                with rec.timed("context_net"):
                    ll_feat = self.ll_encoder(yhat_b)
        with rec.timed("synthesis"):
            # channels_last: oneDNN's faster convolutions on CPU (about a third off the synthesis).
            y_hat = haar_idwt(*bands_hat).contiguous(memory_format=torch.channels_last)
            x_hat = self.synthesize(y_hat).clamp_(0, 1).contiguous()
        rec.step("synthesis", rec.timings["synthesis"])
        return x_hat

    def stream_names(self) -> list[str]:
        if self.cfg.phase == 4:
            return ["z"] + list(BANDS)
        return ["z"] + [f"{b}/g{k}" for b in BANDS for k in range(1, self.cfg.groups + 1)]


def pad_to_multiple(x: torch.Tensor, multiple: int = PAD_MULTIPLE) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="replicate")
