# The README's commands live here. Each target creates what it needs on a fresh machine.
#   make run    the main job: the annotator app on the default data (http://127.0.0.1:8501)
#   make test   lint + the whole test suite (what CI runs)
#   make demo   the whole workflow on a small stand-in: generate, register, import ground
#               truth, export, train (smoke preset), evaluate, print the table (CPU, minutes)

VENV      ?= .venv
PY        := $(VENV)/bin/python
DATA_ROOT ?= datasets
SCALE     ?= tiny
SEED      ?= 0
# 127.0.0.1: this machine only. ADDRESS=0.0.0.0 serves the network: the app then refuses
# to open without a lab password unless PAENET_OPEN_WITHOUT_PASSWORD=1 (README, Security).
ADDRESS   ?= 127.0.0.1
STAND_IN  := $(DATA_ROOT)/synthetic

.PHONY: run test setup system-deps lint clean-venv demo

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch/torchvision first, pinned to the releases this lab's machines carry
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

system-deps:
	bash scripts/install-system-deps.sh

# The annotator on the embedded default data: real datasets under $(DATA_ROOT) when
# present, else the synthetic stand-in, generated once (SCALE=tiny|full).
run: setup
	@if [ ! -d $(DATA_ROOT)/SYSU-MM01 ] && [ ! -f $(STAND_IN)/SYSU-MM01/synth_info.json ]; then \
	  $(VENV)/bin/paenet-data synth --layout sysu --scale $(SCALE) --seed $(SEED) \
	    --out $(STAND_IN)/SYSU-MM01; fi
	@if [ ! -d $(DATA_ROOT)/RegDB ] && [ ! -f $(STAND_IN)/RegDB/synth_info.json ]; then \
	  $(VENV)/bin/paenet-data synth --layout regdb --scale $(SCALE) --seed $(SEED) \
	    --out $(STAND_IN)/RegDB; fi
	$(PY) -m annotator.serve --browser.gatherUsageStats false \
	  --server.address $(ADDRESS) -- --data-root $(DATA_ROOT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup system-deps lint
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)

# The whole workflow in one command, in its own folder (rebuilt on every run):
# stand-in -> database (register + ground truth) -> manifest -> checkpoint -> evaluation.
DEMO        ?= runs/demo
DEMO_DB     := sqlite:///$(abspath $(DEMO))/annotations.sqlite3
DEMO_SCALE  ?= small
DEMO_EPOCHS ?= 100
DEMO_TRAIN  ?= --set "data.input_size=[64, 32]" --set optim.epochs=$(DEMO_EPOCHS) --set data.batches_per_epoch=10 --set data.num_ids=8 --set data.per_modality=2

demo: setup
	rm -rf $(DEMO)
	$(PY) -m paenet.cli.data synth --layout sysu --scale $(DEMO_SCALE) --seed $(SEED) \
	  --out $(DEMO)/data/SYSU-MM01 --no-progress
	$(PY) -m annotator.cli_labels --db $(DEMO_DB) register --name sysu-demo --kind sysu \
	  $(DEMO)/data/SYSU-MM01
	$(PY) -m annotator.cli_labels --db $(DEMO_DB) import synth $(DEMO)/data/SYSU-MM01 \
	  --dataset sysu-demo --source synth-gt
	$(PY) -m annotator.cli_export --db $(DEMO_DB) --dataset sysu-demo --sources synth-gt \
	  --out $(DEMO)/manifest
	$(PY) -m paenet.cli.train --manifest $(DEMO)/manifest --out $(DEMO)/run --preset smoke \
	  $(DEMO_TRAIN) --set runtime.progress=false
	$(PY) -m paenet.cli.eval --checkpoint $(DEMO)/run/checkpoints/final.pt \
	  --manifest $(DEMO)/manifest --out $(DEMO)/eval
	$(PY) -m paenet.cli.eval --checkpoint $(DEMO)/run/checkpoints/final.pt \
	  --manifest $(DEMO)/manifest --out $(DEMO)/eval-gt --attributes gt
