# Everything runs from a local virtual environment built from nothing by `make setup`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := resources/sample/kodim23.png

.PHONY: setup run cli-sample test bench bench-refine clean screenshot

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	# torch first and pinned: a looser pin pulls gigabytes of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	echo "torch==2.13.0" > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[test]"
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/python -m app

cli-sample: setup
	$(BIN)/python -m core encode $(SAMPLE) -o /tmp/wcs-sample.wcs --recon /tmp/wcs-sample-recon.png --overwrite
	$(BIN)/python -m core info /tmp/wcs-sample.wcs

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_decode.py
	$(BIN)/python benchmarks/bench_synthesis.py

bench-refine: setup
	$(BIN)/python benchmarks/bench_refine.py --out results/bench_refine.json

clean:
	rm -rf $(VENV) build dist .pytest_cache

# A PNG of the main window (a result, the RD curves, the decode order) under a virtual X server.
# Needs xvfb and the xcb libraries listed in the README. --demo: runs without shipped weights (untrained tiny models).
screenshot: setup
	mkdir -p results/app
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m app $(if $(wildcard weights/manifest.json),,--demo) --screenshot results/app/screenshot.png

# The shipped weights, the seed's transfer-learning recipe: one Phase 5 backbone trained long
# (`make train-backbone`, resumable), then each other variant's context networks fine-tuned on it
# with the backbone frozen, then exported as fp16 safetensors and evaluated on Kodak.
TRAIN := ../shared/data/train
VAL := ../shared/data/dev
KODAK := ../shared/data/kodak
COMMON := --train_dataset $(TRAIN) --test_dataset $(VAL) --use_adaptive_quant --use_simple_weconv \
	--N 64 --M 128 --batch-size 4 --patch-size 256 --num-workers 1 --threads 1 --checkpoint-minutes 4
FT_STEPS ?= 800
BACKBONE := runs/phase5/last.pt

# Continues from runs/phase5/last.pt, else from the shipped weights (runs/ does not outlive a session).
train-backbone: setup
	$(BIN)/python -m core train $(COMMON) --variant phase5 --lr 2e-4 --lr_warmup 300 \
		--iterations 200000 --save_path runs/phase5 --val-every 2000 --resume \
		$(if $(wildcard weights/phase5.safetensors),--pretrain weights/phase5.safetensors)

finetune-%: setup
	$(BIN)/python -m core train $(COMMON) --variant $* --lr 1e-4 --lr_warmup 50 --iterations $(FT_STEPS) \
		--pretrain $(BACKBONE) --freeze_except enhanced_context multi_res_builder param_net \
		$(if $(wildcard weights/$*.safetensors),--context_from weights/$*.safetensors) \
		--save_path runs/$* --val-every 100000 --resume

# SCHEDULE: how the backbone run in runs/phase5 trained, in words, for the manifest (appended to the
# history of the weights it continued).
VARIANT_NOTE ?= context networks fine-tuned for $(FT_STEPS) steps (lr 1e-4, batch 4) on the frozen phase5 \
backbone, starting from their own previous context networks (--context_from); stored against phase5 (only the \
tensors it does not share). No end-to-end stage: it would give every variant its own backbone copy
export-%: setup
	$(BIN)/python -m core export runs/$*/last.pt --variant $* --fp16 \
		$(if $(filter phase5,$*),$(if $(SCHEDULE),--schedule "$(SCHEDULE)"),--base phase5 --note "$(VARIANT_NOTE)")

eval-%: setup
	$(BIN)/python -m core eval --dataset $(KODAK) --variant $* --out results/kodak-$*.json --overwrite --record

# After a new backbone in runs/phase5/last.pt: fine-tune the other variants on it two at a time
# (their old runs/ folders are removed first, or --resume would find them finished), export phase5
# and then the variants against it, and evaluate all five on Kodak two at a time, recording the
# figures in the manifest (the lock in core.manifest keeps parallel updates apart). The evaluations
# run one thread each: two of two threads on 2 cores made every encode about 14x slower. About 35
# minutes on 2 CPU cores, most of it the Phase 4 evaluation.
FT_VARIANTS := phase5-light phase5-2g phase5-cb phase4
reship: setup
	rm -rf $(addprefix runs/,$(FT_VARIANTS))
	$(MAKE) -j2 $(addprefix finetune-,$(FT_VARIANTS))
	$(MAKE) export-phase5
	$(MAKE) $(addprefix export-,$(filter-out phase4,$(FT_VARIANTS))) export-phase4
	OMP_NUM_THREADS=1 $(MAKE) -j2 eval-phase4 eval-phase5 $(addprefix eval-,$(filter-out phase4,$(FT_VARIANTS)))

# After a reship: each variant against the weights it replaced (from the manifest) and the transforms'
# Kodak ceiling, into results/kodak_progress.md.
progress: setup
	$(BIN)/python benchmarks/kodak_progress.py --ceiling

.PHONY: train-backbone reship progress

.PHONY: bundle bundle-check bundle-screenshot

# The PyInstaller one-folder bundle (build_installer.spec): dist/wcs-studio/wcs-studio.
# It contains the torch of this venv: CPU here; build from a venv with a CUDA torch for a CUDA bundle.
BUNDLE := dist/wcs-studio
BUNDLE_EXE := $(BUNDLE)/wcs-studio
# the shipped weights when they are there, else the untrained demo models
SELFTEST_FLAGS := $(if $(wildcard weights/manifest.json),,--demo)

bundle: setup
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[bundle]"
	@start=$$(date +%s); \
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build build_installer.spec && \
	echo "bundle: $(BUNDLE) built in $$(( $$(date +%s) - start )) s, $$(du -sh $(BUNDLE) | cut -f1)"

# The smoke test of the built bundle, headless: what CI runs after `make bundle`.
bundle-check:
	@test -x $(BUNDLE_EXE) || { echo "no bundle at $(BUNDLE_EXE): run make bundle first"; exit 1; }
	QT_QPA_PLATFORM=offscreen $(BUNDLE_EXE) --version
	QT_QPA_PLATFORM=offscreen $(BUNDLE_EXE) --selftest $(SELFTEST_FLAGS)
	WCS_BUNDLE_TEST=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -p no:cacheprovider tests/test_bundle.py

# The bundled app's window under a virtual X server (needs xvfb and libxcb-cursor0).
bundle-screenshot:
	mkdir -p results/app
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BUNDLE_EXE) --demo --screenshot results/app/bundle-screenshot.png
