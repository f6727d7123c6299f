# rayfish — build, test, demo.
#
#   make            build ./build/ray
#   make check      install deps if missing, build, run every test, print "N passed, N failed"
#   make demo       install deps if missing, build, run a two-node demo in network namespaces
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/
#   make SAN=1      ASan+UBSan build into build-san/
#   make CC=clang   any C11 compiler; warnings are errors with gcc and clang
#   make V=1        show the commands

PKGS      := libsodium libb2 jansson libcrypto miniupnpc ldns
PREFIX    ?= /usr/local
DESTDIR   ?=

ifeq ($(SAN),1)
BUILD     ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD     ?= build
SANFLAGS  :=
endif

CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wpointer-arith -Wformat=2 -fno-strict-aliasing \
             -Isrc $(shell pkg-config --cflags $(PKGS)) $(SANFLAGS) -MMD -MP
LDFLAGS   += $(SANFLAGS)
LDLIBS    += $(shell pkg-config --libs $(PKGS)) -lnatpmp -lpthread

# Every .c under src/ except main.c goes into the library that the binary,
# the unit tests and the fuzz targets link against.
LIB_SRCS  := $(sort $(filter-out src/main.c,$(wildcard src/*/*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/%)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Keep the objects of tests and benchmarks: they are not throwaway steps.
.SECONDARY:

.PHONY: all deps check unit demo fuzz fuzz-run bench install clean format tests

all: $(BUILD)/ray $(BUILD)/bench/tun_forward

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libray.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/ray: $(BUILD)/src/main.o $(BUILD)/libray.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libray.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(BUILD)/libray.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: $(BUILD)/ray $(TEST_BINS) $(HELPER_BINS) $(BUILD)/bench/firewall_cost \
	$(BUILD)/bench/tun_forward

deps:
	@scripts/deps.sh

# Unit tests of one build (the default, or SAN=1).
unit: tests
	@tests/run-unit.sh $(BUILD)

# Everything: gcc build, clang ASan+UBSan build, unit tests in both,
# integration tests against the sanitizer build, short fuzz runs.
check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)$(MAKE) --no-print-directory SAN=1 CC=clang tests
	$(Q)$(MAKE) --no-print-directory fuzz
	@tests/run-all.sh

# A fresh make after deps, so that pkg-config sees the libraries it installed.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)/ray

# libFuzzer targets, built with clang against a fuzzing build of the library.
FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SANFLAGS="$(FUZZ_FLAGS)" \
		$(FUZZ_BUILD)/libray.a $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/tests/fuzz/%.o)
	$(Q)for f in $(FUZZ_SRCS:tests/fuzz/%.c=%); do \
		clang -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/$$f \
			$(FUZZ_BUILD)/tests/fuzz/$$f.o $(FUZZ_BUILD)/libray.a $(LDLIBS) || exit 1; \
	done

# Run each fuzz target for FUZZ_SECONDS (default 60).
fuzz-run: fuzz
	@tests/run-fuzz.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libray.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The netns benchmark (root), then the firewall's cost per packet.
bench: all $(BUILD)/bench/firewall_cost
	@bench/run.sh $(BUILD)/ray
	@$(BUILD)/bench/firewall_cost

install: all
	install -D -m 0755 $(BUILD)/ray $(DESTDIR)$(PREFIX)/bin/ray

format:
	clang-format -i $(wildcard src/*.c src/*/*.c src/*/*.h tests/*/*.c tests/*/*.h)

clean:
	rm -rf build build-san build-fuzz build-clang

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
