"""Training: `python -m core train ...` (the seed's train_phase5 flags, plus what a real run needs).

Variable-rate training: each step draws one of the --lambda values, and the adaptive
quantization gains for that lambda are what the model learns to use. Loss = bpp + lambda *
255^2 * MSE (or lambda * (1 - MS-SSIM) with --metric ms-ssim), plus CompressAI's auxiliary loss
for the hyperprior's quantiles. Checkpoints are written every --checkpoint-minutes and on
SIGTERM, with torch.save, and read back with weights_only=True.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from .models import LAMBDAS, ModelConfig, WaveletCodecModel, variant_config
from .weights import _is_derived

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".tif", ".tiff"}


class ImageFolder(Dataset):
    """Every image under a folder, as random patch-size crops with random flips."""

    def __init__(self, root: str, patch: int, train: bool = True):
        self.files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_EXT)
        if not self.files:
            raise SystemExit(f"error: no images found under {root}")
        self.patch = patch
        self.train = train

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        img = np.asarray(Image.open(self.files[i]).convert("RGB"))
        x = torch.from_numpy(img.copy()).permute(2, 0, 1).float().div_(255)
        p = self.patch
        h, w = x.shape[-2:]
        if h < p or w < p:
            x = F.pad(x[None], (0, max(0, p - w), 0, max(0, p - h)), mode="replicate")[0]
            h, w = x.shape[-2:]
        if self.train:
            t, l = random.randint(0, h - p), random.randint(0, w - p)
            x = x[:, t : t + p, l : l + p]
            if random.random() < 0.5:
                x = x.flip(-1)
        else:
            t, l = (h - p) // 2, (w - p) // 2
            x = x[:, t : t + p, l : l + p]
        return x


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core train", description="Train a Phase 4/5 model")
    p.add_argument("--train_dataset", required=True)
    p.add_argument("--test_dataset")
    p.add_argument("--lambda", dest="lambdas", type=float, nargs="+", default=list(LAMBDAS),
                   help="one value, or several for variable-rate training (default: the six seed lambdas)")
    p.add_argument("--lambda_weights", type=float, nargs="+",
                   help="how often each --lambda is drawn, relative (default: equally often); e.g. more "
                        "weight on the high lambdas where the transforms are weakest")
    p.add_argument("--variant", help="start from a named variant's settings (phase5, phase5-light, ..., phase4)")
    p.add_argument("--N", type=int, default=96)
    p.add_argument("--M", type=int, default=128)
    p.add_argument("--use_simple_weconv", action="store_true")
    p.add_argument("--synthesis_blocks", type=int,
                   help="residual blocks at half resolution in the decoder; they start as identities, so they "
                        "can be added to a trained model (--pretrain) and trained with --freeze_except g_s_blocks "
                        "(default: as many as the --pretrain model has, else 0)")
    p.add_argument("--analysis_blocks", type=int,
                   help="residual blocks at quarter resolution in the encoder (g_a); they start as identities "
                        "and cost encode time only, e.g. --freeze_except g_a g_a_blocks h_a to train the "
                        "encoder side alone (default: as many as the --pretrain model has, else 0)")
    p.add_argument("--use_adaptive_quant", action="store_true")
    p.add_argument("--attention_heads", type=int, default=4)
    p.add_argument("--num_checkerboard_groups", type=int, choices=[1, 2, 4], default=4)
    p.add_argument("--use_enhanced_context", action="store_true")
    p.add_argument("--lightweight_context", action="store_true")
    p.add_argument("--no_multi_res", action="store_true", help="drop the MultiResolutionContextBuilder")
    p.add_argument("--raster_context", action="store_true", help="Phase 4: serial raster context")
    p.add_argument("--skip_s3_for_hf", action="store_true")
    p.add_argument("--metric", choices=["mse", "ms-ssim"], default="mse")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--patch-size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=0, help="stop after this many epochs (0: use --iterations)")
    p.add_argument("--iterations", type=int, default=100_000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--aux-lr", type=float, default=1e-3)
    p.add_argument("--lr_warmup", type=int, default=500, help="linear warm-up steps")
    p.add_argument("--lr_schedule", choices=["constant", "cosine"], default="constant",
                   help="cosine: decay from --lr to --lr_min over the run (its steps or --max-minutes, "
                        "whichever comes first)")
    p.add_argument("--lr_min", type=float, default=1e-6)
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop (and checkpoint) after this many minutes of this run, e.g. to fit a GPU lease")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip")
    p.add_argument("--save_path", default="runs/phase5")
    p.add_argument("--pretrain", help="initialise from this checkpoint (mismatched modules are skipped)")
    p.add_argument("--context_from", help="start the --freeze_except modules from this checkpoint (e.g. the "
                                        "variant's shipped weights) and the rest from --pretrain")
    p.add_argument("--freeze_except", nargs="+", help="train only these top-level modules, e.g. enhanced_context")
    p.add_argument("--resume", action="store_true", help="continue from SAVE_PATH/last.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--threads", type=int, default=0)
    return p


def config_from_args(a) -> ModelConfig:
    if a.variant:
        return variant_config(a.variant, N=a.N, M=a.M, simple_weconv=a.use_simple_weconv,
                              synthesis_blocks=a.synthesis_blocks, analysis_blocks=a.analysis_blocks,
                              attention_heads=a.attention_heads, skip_s3_for_hf=a.skip_s3_for_hf,
                              adaptive_quant=a.use_adaptive_quant, lambdas=tuple(sorted(a.lambdas)))
    if a.raster_context:
        context = "raster"
    elif not a.use_enhanced_context:
        context = "off"
    else:
        context = "light" if a.lightweight_context else "standard"
    return ModelConfig(N=a.N, M=a.M, groups=a.num_checkerboard_groups, context=context,
                       multi_res=not a.no_multi_res and context != "raster",
                       simple_weconv=a.use_simple_weconv, adaptive_quant=a.use_adaptive_quant,
                       synthesis_blocks=a.synthesis_blocks, analysis_blocks=a.analysis_blocks,
                       attention_heads=a.attention_heads, skip_s3_for_hf=a.skip_s3_for_hf,
                       lambdas=tuple(sorted(a.lambdas)) if len(a.lambdas) > 1 else tuple(LAMBDAS))


def lambda_weights_for(lambdas, weights):
    """Checks --lambda_weights against --lambda (given in the same order) and returns them in the sorted
    order training draws from, or None for equal weights."""
    if not weights:
        return None
    if len(weights) != len(lambdas) or min(weights) < 0 or sum(weights) <= 0:
        raise SystemExit(f"--lambda_weights needs {len(lambdas)} non-negative values, not all 0 "
                         f"(one per --lambda), got {weights}")
    by_lambda = dict(zip(lambdas, weights))
    return [by_lambda[lam] for lam in sorted(lambdas)]


def pick_lambda(lambdas, weights=None):
    if weights is None:
        return random.choice(lambdas)
    return random.choices(lambdas, weights=weights)[0]


def psnr_of_mse(mse: float) -> float:
    """PSNR of images in [0, 1] from their MSE (capped at 100 dB for a perfect match)."""
    return -10 * math.log10(max(mse, 1e-10))


def rd_loss(out, x, lam: float, metric: str):
    n, _, h, w = x.shape
    bpp = sum(-torch.log2(l).sum() for l in out["likelihoods"].values()) / (n * h * w)
    mse = F.mse_loss(out["x_hat"].clamp(0, 1), x)
    if metric == "mse":
        dist = lam * 255**2 * mse
    else:
        from pytorch_msssim import ms_ssim

        dist = lam * (1 - ms_ssim(out["x_hat"].clamp(0, 1), x, data_range=1.0))
    return bpp + dist, bpp, mse


def lr_at(a, step: int, total: int, run_seconds: float, warm_from: int = 0) -> float:
    """The learning rate for ``step``: linear warm-up (from step ``warm_from``: a resumed run whose
    Adam starts afresh warms up again), then constant or cosine decay.

    With --max-minutes the decay also follows the clock, so a run cut short by its time limit
    still ends annealed (the lr drops gave most of the gains in our runs).
    """
    warm = min(1.0, (step - warm_from + 1) / max(1, a.lr_warmup))
    if a.lr_schedule == "constant":
        return a.lr * warm
    frac = step / max(1, total)
    if a.max_minutes > 0:
        frac = max(frac, run_seconds / (60 * a.max_minutes))
    frac = min(1.0, frac)
    return warm * (a.lr_min + (a.lr - a.lr_min) * 0.5 * (1 + math.cos(math.pi * frac)))


def load_checkpoint(path) -> dict:
    """A training checkpoint (torch.save, read with weights_only) or shipped safetensors weights,
    so a later session can continue from what is in weights/ when runs/ is gone."""
    if str(path).endswith(".safetensors"):
        from .weights import load_tensors

        variant, _ = _listed(path)
        if not variant:
            return {"model": _own_tensors(path)}
        # A listed variant may be stored against a base: load_tensors puts the two together.
        return {"model": {k: v.float() for k, v in load_tensors(variant, Path(path).parent)[0].items()}}
    return torch.load(path, map_location="cpu", weights_only=True)


def _blocks_in(tensors: dict, module: str) -> int:
    """How many blocks of ``module`` (g_s_blocks, g_a_blocks) a state dict holds."""
    return len({k.split(".")[1] for k in tensors if k.startswith(module + ".")})


def _own_tensors(path) -> dict:
    """The tensors a checkpoint or weights file holds itself. A variant stored against phase5 holds
    its context networks itself, so they load even after phase5 was re-exported (the usual order:
    the new backbone is exported before the variants are fine-tuned on it)."""
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return {k: v.float() for k, v in load_file(str(path)).items()}
    return load_checkpoint(path)["model"]


def _listed(path) -> tuple[str | None, dict]:
    """(variant, manifest entry) of a shipped weights file, from the manifest beside it."""
    from .weights import read_manifest

    name = Path(path).name
    return next(((v, e) for v, e in read_manifest(Path(path).parent)["models"].items() if e.get("file") == name),
                (None, {}))


def _usable(src: dict, model, modules=None) -> dict:
    """The learned tensors of ``src`` that fit ``model`` (of the named top-level modules only, if given)."""
    own = model.state_dict()
    return {k: v for k, v in src.items() if k in own and own[k].shape == v.shape and not _is_derived(k)
            and (modules is None or k.split(".")[0] in modules)}


def lineage(path, ckpt: dict) -> dict:
    """How much training the weights at ``path`` already had, so a run that continues from them
    (or fine-tunes on them) reports the whole history, not only its own steps."""
    if str(path).endswith(".safetensors"):
        entry = _listed(path)[1]
        name = Path(path).name
        t = entry.get("training", {})
        return {"iterations": int(t.get("total_iterations", t.get("iterations", 0)) or 0),
                "wall_seconds": 3600.0 * float(t.get("total_wall_hours", t.get("wall_hours", 0.0)) or 0.0),
                "source": entry.get("model_id", name)}
    prior = ckpt.get("prior") or {}
    return {"iterations": int(ckpt.get("step", 0)) + int(prior.get("iterations", 0)),
            "wall_seconds": float(ckpt.get("wall_seconds", 0.0)) + float(prior.get("wall_seconds", 0.0)),
            # A checkpoint has no model id: name it, its own steps and what it continued in turn
            # (the path alone is reused by the next run, so it cannot say which weights these were).
            "source": (f"{path} {continued(int(ckpt.get('step', 0)), prior['source'])}"
                       if prior.get("source") else str(path))}


def continued(steps: int, source: str) -> str:
    """How a lineage names what a checkpoint continued: "(4,911 steps on from SOURCE)"."""
    return f"({steps:,} step{'' if steps == 1 else 's'} on from {source})"


def _ignore_sigterm(_worker_id: int) -> None:
    """A SIGTERM sent to the whole process group (a scheduler, pkill) must reach the trainer, which
    stops after its step and checkpoints, not kill a data worker and crash the run."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _save(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    a.lambda_weights = lambda_weights_for(a.lambdas, a.lambda_weights)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:  # launched by torchrun: one process per GPU
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = torch.distributed.get_rank()
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            a.device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    if a.threads:
        torch.set_num_threads(a.threads)
    random.seed(a.seed + rank)
    torch.manual_seed(a.seed + rank)
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed patch size: let cuDNN pick its fastest kernels
    save = Path(a.save_path)
    save.mkdir(parents=True, exist_ok=True)

    state = None
    prior = None  # the training the --pretrain weights already had
    if a.resume and (save / "last.pt").exists():
        state = load_checkpoint(save / "last.pt")
    src_ckpt = load_checkpoint(a.pretrain) if a.pretrain and state is None else None
    for key, module in (("synthesis_blocks", "g_s_blocks"), ("analysis_blocks", "g_a_blocks")):
        if getattr(a, key) is None:  # a variant fine-tuned on a grown backbone keeps its blocks
            setattr(a, key, _blocks_in(src_ckpt["model"], module) if src_ckpt else 0)
    cfg = config_from_args(a) if state is None else ModelConfig.from_dict(state["config"])
    model = WaveletCodecModel(cfg).to(device).to(memory_format=torch.channels_last)
    if src_ckpt is not None:
        prior = lineage(a.pretrain, src_ckpt)
        usable = _usable(src_ckpt["model"], model)
        model.load_state_dict(usable, strict=False)
        if rank == 0:
            print(f"pretrain: loaded {len(usable)}/{len(model.state_dict())} tensors from {a.pretrain}")
    if a.context_from and state is None:
        if not a.freeze_except:
            raise SystemExit("error: --context_from needs --freeze_except (the modules to take from it)")
        # A variant's own earlier context networks are a better start on a retrained backbone
        # than the backbone's: they only have to follow the backbone's change.
        usable = _usable(_own_tensors(a.context_from), model, a.freeze_except)
        model.load_state_dict(usable, strict=False)
        if rank == 0:
            print(f"context_from: loaded {len(usable)} tensors of {', '.join(a.freeze_except)} from {a.context_from}")
    if a.freeze_except:
        for name, p in model.named_parameters():
            # The hyperprior's quantiles follow the aux loss, whatever else is frozen.
            p.requires_grad = name.split(".")[0] in a.freeze_except or name.endswith(".quantiles")

    main_params = [p for n, p in model.named_parameters() if not n.endswith(".quantiles") and p.requires_grad]
    aux_params = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    opt = torch.optim.Adam(main_params, lr=a.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=a.aux_lr)
    step, wall, warm_from = 0, 0.0, 0
    if state is not None:
        missing, unexpected = model.load_state_dict(
            {k: v for k, v in state["model"].items() if not _is_derived(k)}, strict=False)
        if [k for k in missing if not _is_derived(k)] or unexpected:
            raise SystemExit(f"error: {save / 'last.pt'} does not fit this model; use a new --save_path")
        if "optimizer" in state:  # a checkpoint rebuilt from a GPU lease carries no optimizer state
            opt.load_state_dict(state["optimizer"])
            aux_opt.load_state_dict(state["aux_optimizer"])
        elif rank == 0:
            print("note: the checkpoint has no optimizer state; Adam starts afresh")
        step, wall = state["step"], state.get("wall_seconds", 0.0)
        if "optimizer" not in state:
            warm_from = step
        prior = state.get("prior")
        if rank == 0:
            print(f"resumed from {save / 'last.pt'} at step {step}")
    net = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)

    data = ImageFolder(a.train_dataset, a.patch_size)
    sampler = torch.utils.data.DistributedSampler(data) if distributed else None
    loader = DataLoader(data, batch_size=a.batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=a.num_workers, drop_last=True, persistent_workers=a.num_workers > 0,
                        worker_init_fn=_ignore_sigterm, pin_memory=device.type == "cuda")
    total = a.epochs * len(loader) if a.epochs else a.iterations

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))

    def checkpoint(name="last.pt"):
        if rank != 0:
            return
        _save(save / name, {
            "model": model.state_dict(), "optimizer": opt.state_dict(), "aux_optimizer": aux_opt.state_dict(),
            "step": step, "wall_seconds": wall, "config": cfg.to_dict(),
            "args": {k: v for k, v in vars(a).items() if isinstance(v, (int, float, str, bool, list, type(None)))},
            "device": str(device), "prior": prior, "skipped_steps": skipped,
        })

    log = open(save / "log.jsonl", "a") if rank == 0 else None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=step, disable=rank != 0, dynamic_ncols=True, mininterval=5)
    last_ckpt = time.time()
    t_start = time.time() - wall
    run_start = time.time()
    epoch = 0
    skipped = state.get("skipped_steps", 0) if state else 0
    bad_in_a_row = 0
    model.train()
    while step < total and not stop["now"]:
        if sampler is not None:
            sampler.set_epoch(epoch)
        for x in loader:
            x = x.to(device, non_blocking=True).to(memory_format=torch.channels_last)
            lam = pick_lambda(cfg.lambdas if len(a.lambdas) > 1 else a.lambdas, a.lambda_weights)
            lr = lr_at(a, step, total, time.time() - run_start, warm_from)
            for g in opt.param_groups:
                g["lr"] = lr
            out = net(x, lam)
            loss, bpp, mse = rd_loss(out, x, lam, a.metric)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(main_params, a.clip if a.clip > 0 else float("inf"))
            # One bad batch (an infinite rate, a NaN) must not wreck the weights: skip its update.
            # Under DDP every rank holds the same averaged gradients, so all ranks skip together.
            if torch.isfinite(norm):
                opt.step()
                bad_in_a_row = 0
            else:
                skipped += 1
                bad_in_a_row += 1
                if bad_in_a_row >= 20:
                    raise RuntimeError(f"training diverged: 20 non-finite steps in a row at step {step}")
            aux = model.aux_loss()
            aux_opt.zero_grad(set_to_none=True)
            aux.backward()
            aux_opt.step()
            step += 1
            wall = time.time() - t_start
            psnr = psnr_of_mse(mse.item())
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", bpp=f"{bpp.item():.3f}", psnr=f"{psnr:.2f}", lam=lam)
            if a.max_minutes > 0 and time.time() - run_start > 60 * a.max_minutes:
                stop["now"] = True
            if log and step % 50 == 0:
                log.write(json.dumps({"step": step, "wall": round(wall, 1), "lambda": lam, "lr": lr,
                                      "loss": loss.item(),
                                      "bpp_est": bpp.item(), "psnr": psnr, "aux": aux.item(),
                                      "skipped": skipped}) + "\n")
                log.flush()
            if a.test_dataset and step % a.val_every == 0 and rank == 0:
                val = validate(model, a.test_dataset, cfg, device)
                log.write(json.dumps({"step": step, "val": val}) + "\n")
                log.flush()
                model.train()
            if time.time() - last_ckpt > a.checkpoint_minutes * 60:
                checkpoint()
                last_ckpt = time.time()
            if distributed:  # every rank stops after the same step, so no rank waits in an all-reduce
                flag = torch.tensor([float(stop["now"])], device=device)
                torch.distributed.all_reduce(flag)
                stop["now"] = bool(flag.item())
            if step >= total or stop["now"]:
                break
        epoch += 1
    checkpoint()
    # The last checkpoint is written: from here a SIGTERM (torchrun passes its own on) ends the process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    bar.close()
    if log:
        log.close()
    del loader  # stops the persistent workers now, not at interpreter exit
    if rank == 0:
        print(f"stopped at step {step} after {wall / 60:.1f} min; checkpoint {save / 'last.pt'}")
    if distributed:
        # The other ranks wait for rank 0's checkpoint, so all leave the process group together:
        # once, after an 80-minute run, rank 0 hung in destroy_process_group after rank 1 had gone.
        torch.distributed.barrier()
        _leave_process_group()
    return 0


def _leave_process_group(wait_s: float = 60.0) -> None:
    """Destroy the process group, then end this worker process at once.

    destroy_process_group can hang now and then (pytorch/pytorch#75097), and so can freeing the DDP and
    gloo objects after it: once, a 3-step test run's rank sat for 49 minutes in the native code run as
    main's frame was freed, its loader worker still waiting. Everything is saved and closed by now, so
    the wait is bounded and the exit skips that teardown.
    """
    t = threading.Thread(target=torch.distributed.destroy_process_group, daemon=True)
    t.start()
    t.join(wait_s)
    if t.is_alive():
        print(f"note: destroy_process_group still running after {wait_s:.0f} s; exiting without it",
              file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@torch.no_grad()
def validate(model, folder, cfg, device, lambdas=None) -> dict:
    """Estimated bpp (from likelihoods, for monitoring only) and PSNR at each lambda."""
    model.eval()
    data = ImageFolder(folder, 256, train=False)
    out = {}
    for lam in lambdas or cfg.lambdas:
        bpps, psnrs = [], []
        for i in range(len(data)):
            x = data[i][None].to(device)
            o = model(x, lam)
            _, bpp, mse = rd_loss(o, x, lam, "mse")
            bpps.append(bpp.item())
            psnrs.append(psnr_of_mse(mse.item()))
        out[str(lam)] = {"bpp_est": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))}
    return out


if __name__ == "__main__":
    sys.exit(main())
