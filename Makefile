# certgate — plain Make. `make` builds build/certgate; `make test` runs everything.
BUILD   ?= build
CC      ?= cc
SAN     ?=
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Iinclude -Isrc -Ilib -MMD -MP -fPIC
LDLIBS  += -luv -lssl -lcrypto -lyaml -lpthread
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# tests read public test vectors from here (a copy lives in the repo)
export CERTGATE_TESTDATA ?= $(CURDIR)/tests/testdata

LIB_SRC  := $(sort $(shell find lib -name '*.c'))
APP_SRC  := $(sort $(filter-out src/main.c,$(shell find src -name '*.c')))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/main.o
UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c' 2>/dev/null))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps run test unit lib-check interop-deps e2e asan clean format format-check fuzz fuzz-smoke
all: $(BUILD)/certgate $(BUILD)/libcertgate.a $(BUILD)/libcertgate.so

Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libcertgate.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# the ABI version is the SONAME's number: bump LIB_SOVERSION when a public struct or
# signature in include/certgate/ changes incompatibly
LIB_SOVERSION := 0
$(BUILD)/libcertgate.so.$(LIB_SOVERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libcertgate.so.$(LIB_SOVERSION) $(LDFLAGS) -o $@ $^ -lssl -lcrypto
$(BUILD)/libcertgate.so: $(BUILD)/libcertgate.so.$(LIB_SOVERSION)
	ln -sf $(notdir $<) $@

$(BUILD)/certgate: $(MAIN_OBJ) $(APP_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(APP_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TEST  $<")
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(APP_OBJ) $(LIB_OBJ) $(LDLIBS) -lcmocka

deps:
	@scripts/deps.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do printf '%-48s' "$$t"; \
	  if $$t > $$t.log 2>&1; then echo ok; else echo FAILED; cat $$t.log; exit 1; fi; done

# a program that links libcertgate alone (static and shared) and judges the demo clients
$(BUILD)/examples/judge: examples/judge.c $(BUILD)/libcertgate.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -Iinclude -o $@ $< $(BUILD)/libcertgate.a -lssl -lcrypto $(LDFLAGS)
$(BUILD)/examples/judge-shared: examples/judge.c $(BUILD)/libcertgate.so
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -Iinclude -o $@ $< -L$(BUILD) -lcertgate -Wl,-rpath,$(abspath $(BUILD)) -lssl -lcrypto $(LDFLAGS)

# examples/backend.c: an HTTP backend that decodes the forwarded certificate and judges it
$(BUILD)/examples/backend: examples/backend.c $(BUILD)/libcertgate.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -Iinclude -o $@ $< $(BUILD)/libcertgate.a -lssl -lcrypto $(LDFLAGS)

lib-check: $(BUILD)/examples/judge $(BUILD)/examples/judge-shared $(BUILD)/examples/backend
	@scripts/lib-check.sh $(BUILD)

interop-deps:
	@scripts/interop-deps.sh

e2e: $(BUILD)/certgate $(BUILD)/examples/backend interop-deps
	python3 tests/e2e/run.py --binary $(BUILD)/certgate

asan: interop-deps
	$(MAKE) BUILD=build-asan SAN=1 OPT="-O1 -g" all unit
	CERTGATE_ASAN=1 python3 tests/e2e/run.py --binary build-asan/certgate --quick

# ---- make valgrind: memcheck on a build without sanitizers (VG_BUILD): every unit test, VG_JOBS
# at a time, then tests/valgrind-e2e.sh's e2e subset against the daemon under valgrind. A log
# per test beside its binary (<test>.vg.log), per daemon in $(VG_BUILD)/vg-logs. ----
.PHONY: valgrind
VG_BUILD ?= build-valgrind
VG_JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
VG_OPTS  := --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect --num-callers=30 \
            $(if $(wildcard tests/valgrind.supp),--suppressions=$(CURDIR)/tests/valgrind.supp)
VG_UNIT  := $(patsubst tests/unit/%.c,$(VG_BUILD)/tests/%,$(UNIT_SRC))
valgrind:
	$(MAKE) BUILD=$(VG_BUILD) SAN= OPT="-O1 -g" $(VG_BUILD)/certgate $(VG_UNIT)
	@echo "valgrind: $(words $(VG_UNIT)) unit tests, $(VG_JOBS) at a time"
	@printf '%s\n' $(VG_UNIT) | xargs -P $(VG_JOBS) -I{} sh -c 'if valgrind $(VG_OPTS) \
	  --log-file={}.vg.log {} > {}.log 2>&1; then echo "ok      {}"; else echo "FAILED  {}"; \
	  cat {}.log {}.vg.log; exit 1; fi'
	CERTGATE_VG_OPTS="$(strip $(VG_OPTS))" tests/valgrind-e2e.sh $(VG_BUILD)

test: deps
	$(MAKE) all
	$(MAKE) format-check
	$(MAKE) unit
	$(MAKE) lib-check
	$(MAKE) e2e
	$(MAKE) asan
	$(MAKE) valgrind
	$(MAKE) fuzz-smoke

run: deps all
	scripts/demo.sh

FMT_FILES = $(shell find src lib include tests/unit tests/fuzz examples -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FMT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FMT_FILES) && echo "format: ok"

fuzz:
	$(MAKE) -C tests/fuzz run

# every fuzzer for a few seconds: the corpus plus some mutation, in make test
fuzz-smoke:
	$(MAKE) -C tests/fuzz run FUZZ_TIME=$(or $(FUZZ_TIME),9)

clean:
	rm -rf build build-asan build-valgrind build-bench

# ---- make install / uninstall: PREFIX (default /usr/local) and DESTDIR for staging ----
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DOCDIR     ?= $(PREFIX)/share/doc/certgate
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install
INST_HDRS  := $(sort $(wildcard include/certgate/*.h))
INST_DOCS  := README.md $(sort $(wildcard docs/*.md)) deploy/systemd/certgate.logrotate

.PHONY: install uninstall
# the unit names the binary and docs by path: rewritten from /usr/local to this PREFIX
install: all
	$(INSTALL) -D -m 0755 $(BUILD)/certgate $(DESTDIR)$(BINDIR)/certgate
	$(INSTALL) -D -m 0644 $(BUILD)/libcertgate.a $(DESTDIR)$(LIBDIR)/libcertgate.a
	$(INSTALL) -D -m 0755 $(BUILD)/libcertgate.so.$(LIB_SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libcertgate.so.$(LIB_SOVERSION)
	ln -sf libcertgate.so.$(LIB_SOVERSION) $(DESTDIR)$(LIBDIR)/libcertgate.so
	$(INSTALL) -D -m 0644 -t $(DESTDIR)$(INCLUDEDIR)/certgate $(INST_HDRS)
	$(INSTALL) -D -m 0644 -t $(DESTDIR)$(DOCDIR) $(INST_DOCS)
	@mkdir -p $(BUILD)
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/share/doc/certgate|$(DOCDIR)|g' \
	    deploy/systemd/certgate.service > $(BUILD)/certgate.service
	$(INSTALL) -D -m 0644 $(BUILD)/certgate.service $(DESTDIR)$(UNITDIR)/certgate.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/certgate $(DESTDIR)$(LIBDIR)/libcertgate.a \
	    $(DESTDIR)$(LIBDIR)/libcertgate.so $(DESTDIR)$(LIBDIR)/libcertgate.so.$(LIB_SOVERSION) \
	    $(DESTDIR)$(UNITDIR)/certgate.service
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/certgate/,$(notdir $(INST_HDRS)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INST_DOCS)))
	rmdir $(DESTDIR)$(INCLUDEDIR)/certgate $(DESTDIR)$(DOCDIR) 2>/dev/null || true

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- make bench: certgate vs nginx vs HAProxy on this machine (bench/, docs/performance.md).
# Its own build (BENCH_BUILD: -O2, no sanitizers); BENCH_SECONDS per measurement and
# BENCH_ROUNDS (medians) set the length; results in bench/results/latest.json. ----
.PHONY: bench bench-deps bench-tools bench-profile
BENCH_BUILD  ?= build-bench
BENCH_CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -O2 -g
BENCH_TOOLS  := $(BENCH_BUILD)/bench/loadgen $(BENCH_BUILD)/bench/backend
bench-deps:
	@bench/deps.sh
$(BENCH_BUILD)/bench/loadgen: bench/loadgen.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lssl -lcrypto -lpthread
$(BENCH_BUILD)/bench/backend: bench/backend.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<
bench-tools: $(BENCH_TOOLS)
bench: bench-deps
	$(MAKE) BUILD=$(BENCH_BUILD) SAN= OPT="-O2 -g" $(BENCH_BUILD)/certgate bench-tools
	python3 bench/run.py --build $(BENCH_BUILD)
# perf profiles of certgate alone (keep-alive, full handshakes): bench/results/profile-*.txt
bench-profile: bench-deps
	$(MAKE) BUILD=$(BENCH_BUILD) SAN= OPT="-O2 -g" $(BENCH_BUILD)/certgate bench-tools
	python3 bench/run.py --build $(BENCH_BUILD) --profile-only
