# The README's commands live here. Each target creates what it needs on a fresh machine.
#   make run    the main job: the annotator app on the default data (http://127.0.0.1:8501)
#   make test   lint + the whole test suite (what CI runs)

VENV      ?= .venv
PY        := $(VENV)/bin/python
DATA_ROOT ?= datasets
SCALE     ?= tiny
SEED      ?= 0
# 127.0.0.1: this machine only. ADDRESS=0.0.0.0 serves the network: the app then refuses
# to open without a lab password unless PAENET_OPEN_WITHOUT_PASSWORD=1 (README, Security).
ADDRESS   ?= 127.0.0.1
STAND_IN  := $(DATA_ROOT)/synthetic

.PHONY: run test setup system-deps lint clean-venv

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
	$(VENV)/bin/streamlit run annotator/app.py --browser.gatherUsageStats false \
	  --server.address $(ADDRESS) -- --data-root $(DATA_ROOT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup system-deps lint
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
