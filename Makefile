# Nooks for Linux - top-level Makefile.
#
#   make            build nooksc, libnooks, libnk, nkernel, nkctl into build/
#   make run        the demo (see README.md)
#   make check      the quick tier (under 2 minutes); "N passed, N failed"
#   make test       every test (10-14 minutes); "N passed, N failed"
#   make SAN=1 ...  the same under AddressSanitizer + UBSan, in build-san/
#   make bench      crossing costs, khttpd and recovery, isolated vs native
#                   (bench/results.md, plots in bench/*.svg; several minutes)
#   make campaign   the fault-injection campaign on khttpd (bench/campaign.md)
#   make soak       10,000 crash-and-restart cycles of the runtime's tests
#   make regen [KVER=6.1]   regenerate generated/ from idl/ (CI diffs it)
#   make verify KVER=6.1    check idl/linux-6.1 against that kernel's headers
#                   (make verify-all: every tree)
#   make kmod [KVER=6.1]    nooks.ko for a Linux tree, built by kbuild into
#                   build/kmod/linux-6.1 (no KVER: every idl/linux-* tree)
#   one suite       make unit, runtime-test, golden, cli, fuzz, check-generated,
#                   kernel-test, khttpd-test, netdrv-test, netdrv-proc-test, fatfs-test,
#                   fatfs-proc-test, hostile-test, hostile-proc-test,
#                   inject-test, install-test, vm-test (protection keys in a qemu guest),
#                   kmod-test [KVER=6.1] (Linux modules isolated in a qemu guest)
#                   proc-test (the process backend)
#   make install    PREFIX=/usr/local DESTDIR=; make uninstall
#   make deps       install the build and test dependencies (apt-get, root)
#   V=1             show the commands
#
# make and make install install nothing: make deps (tools/deps.sh) does,
# and run, check, test, bench and the test targets run it first; it is
# silent when everything is present.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/nooks

CC ?= cc
FLEX ?= flex
BISON ?= bison

ifeq ($(SAN),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B := build
SANFLAGS :=
endif

CG := $(B)/tests/codegen

OPTFLAGS ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(SANFLAGS) -MMD -MP
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers
# flex and bison output: their code, their warnings
GEN_WARN := -Wall -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter
CFLAGS_ALL = $(BASE_CFLAGS) -Icompiler -I$(B)/compiler $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

.PHONY: all deps run demo-nooksc test check unit runtime-test proc-test soak bench verify-test import-test golden cli fuzz check-generated regen golden-update install uninstall install-test clean help
.DELETE_ON_ERROR:

# everything make install installs (kernel/*.mk adds the kernel's part)
all: $(B)/nooksc $(B)/libnooks.a $(B)/libnooks.so $(B)/libnooks-ext.a

help:
	@sed -n '3,23p' Makefile | sed 's/^# \{0,1\}//'

deps:
	$(Q)sh tools/deps.sh

# ---- the compiler ----------------------------------------------------------

LIB_OBJS :=
LIB_OBJS += $(B)/compiler/arena.o
LIB_OBJS += $(B)/compiler/ast.o
LIB_OBJS += $(B)/compiler/checks.o
LIB_OBJS += $(B)/compiler/codegen.o
LIB_OBJS += $(B)/compiler/dump.o
LIB_OBJS += $(B)/compiler/emit.o
LIB_OBJS += $(B)/compiler/import.o
LIB_OBJS += $(B)/compiler/lexer.o
LIB_OBJS += $(B)/compiler/nooksc.o
LIB_OBJS += $(B)/compiler/output.o
LIB_OBJS += $(B)/compiler/parser.tab.o
LIB_OBJS += $(B)/compiler/types.o
LIB_OBJS += $(B)/compiler/verify.o

# libclang, for nooksc verify (Debian ships no libclang.pc: llvm-config)
LLVM_CONFIG ?= llvm-config-14
CLANG_INC = $(shell $(LLVM_CONFIG) --includedir 2>/dev/null)
CLANG_LIBDIR = $(shell $(LLVM_CONFIG) --libdir 2>/dev/null)
CLANG_LIBS = -L$(CLANG_LIBDIR) -lclang -Wl,-rpath,$(CLANG_LIBDIR)
$(B)/compiler/verify.o $(B)/compiler/import.o: CFLAGS += -I$(CLANG_INC)

$(B)/compiler/parser.tab.c $(B)/compiler/parser.tab.h: compiler/parser.y
	$(call say,BISON,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(BISON) -Wall -Werror --defines=$(B)/compiler/parser.tab.h -o $(B)/compiler/parser.tab.c $<

$(B)/compiler/lexer.c: compiler/lexer.l
	$(call say,FLEX,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FLEX) -o $@ $<

# nooksc's last place to look for its templates is DATADIR as the build was
# made for (after ../templates and ../share/nooks/templates beside itself);
# the stamp rebuilds codegen.o when DATADIR changes (make install DATADIR=...).
$(B)/compiler/codegen.o: CFLAGS += -DNOOKSC_DATADIR='"$(DATADIR)"'
$(B)/compiler/codegen.o: $(B)/compiler/datadir.stamp
$(B)/compiler/datadir.stamp: FORCE
	@mkdir -p $(@D); echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
.PHONY: FORCE
FORCE:

# Everything that includes the parser's header waits for it.
$(LIB_OBJS) $(B)/compiler/main.o: | $(B)/compiler/parser.tab.h

$(B)/compiler/lexer.o: $(B)/compiler/lexer.c
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS_ALL) $(GEN_WARN) -c -o $@ $<

$(B)/compiler/parser.tab.o: $(B)/compiler/parser.tab.c
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS_ALL) $(GEN_WARN) -c -o $@ $<

$(B)/%.o: %.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) -c -o $@ $<

$(B)/libnooksc.a: $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(B)/nooksc: $(B)/compiler/main.o $(B)/libnooksc.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLANG_LIBS)

# ---- tests -----------------------------------------------------------------

UNIT_OBJS :=
UNIT_OBJS += $(B)/tests/cunit_run.o
UNIT_OBJS += $(B)/tests/unit/main.o
UNIT_OBJS += $(B)/tests/unit/util.o
UNIT_OBJS += $(B)/tests/unit/test_lexer.o
UNIT_OBJS += $(B)/tests/unit/test_parser.o
UNIT_OBJS += $(B)/tests/unit/test_checks.o
UNIT_OBJS += $(B)/tests/unit/test_import.o
UNIT_OBJS += $(B)/tests/unit/test_clang_import.o

$(UNIT_OBJS): CFLAGS += -Itests/unit -Itests

$(B)/tests/unit/unit: $(UNIT_OBJS) $(B)/libnooksc.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcunit $(CLANG_LIBS)

# ---- the runtime -------------------------------------------------------------

RT_OBJS :=
RT_OBJS += $(B)/runtime/arena.o
RT_OBJS += $(B)/runtime/heap.o
RT_OBJS += $(B)/runtime/loader.o
RT_OBJS += $(B)/runtime/proc.o
RT_OBJS += $(B)/runtime/recovery.o
RT_OBJS += $(B)/runtime/replay.o
RT_OBJS += $(B)/runtime/tracker.o
RT_OBJS += $(B)/runtime/wrappers.o
RT_OBJS += $(B)/runtime/xpc.o

$(RT_OBJS): CFLAGS += -Iruntime/include -Iruntime -U_FORTIFY_SOURCE

$(B)/libnooks.a: $(RT_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# The same objects built as position-independent code, for libnooks.so
# (soname libnooks.so.$(SOMAJOR)); --no-undefined: it needs only libc.
VERSION := $(shell sed -n 's/^\#define NOOKSC_VERSION "\(.*\)"/\1/p' compiler/nooksc.h)
SOMAJOR := 0
RT_PIC_OBJS := $(patsubst $(B)/runtime/%.o,$(B)/runtime/pic/%.o,$(RT_OBJS))
$(B)/runtime/pic/%.o: runtime/%.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) -fPIC -Iruntime/include -Iruntime -U_FORTIFY_SOURCE -c -o $@ $<

$(B)/libnooks.so.$(VERSION): $(RT_PIC_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -shared -Wl,-soname,libnooks.so.$(SOMAJOR) -Wl,--no-undefined \
		-o $@ $^ -lseccomp -lpthread -ldl
$(B)/libnooks.so: $(B)/libnooks.so.$(VERSION)
	$(Q)ln -sf libnooks.so.$(VERSION) $(B)/libnooks.so.$(SOMAJOR)
	$(Q)ln -sf libnooks.so.$(SOMAJOR) $@

# runtime/extlib.c, for every wrapper library (the isolated namespace's
# libc overrides): position-independent, never sanitized (it runs in the
# extension's namespace).  Nothing in a wrapper library calls it, so it is
# linked with --whole-archive (nooks.pc's extlib_libs).
$(B)/runtime/ext/extlib.o: runtime/extlib.c runtime/extlib.h
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -fPIC $(WARN) -Iruntime/include -Iruntime -c -o $@ $<
$(B)/libnooks-ext.a: $(B)/runtime/ext/extlib.o
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

RTT := $(B)/tests/runtime
RTT_OBJS := $(B)/tests/cunit_run.o $(RTT)/main.o $(RTT)/test_tracker.o $(RTT)/test_xpc.o $(RTT)/test_loader.o \
	$(RTT)/test_recovery.o $(RTT)/leaks.o
RTT_OBJS += $(RTT)/test_heap.o
RTT_OBJS += $(RTT)/test_replay.o
RTT_OBJS += $(RTT)/test_contain.o
$(RTT_OBJS): CFLAGS += -Itests -Iruntime/include -Iruntime -Itests/codegen -I$(CG)/gen
$(RTT)/test_loader.o $(RTT)/test_heap.o $(RTT)/test_replay.o: | $(CG)/gen/tk.stamp
$(RTT)/test_contain.o: | $(CG)/gen/tk.stamp

# The loader tests' kernel: the test kernel API as a real shared library
# (libtk.so.1), the generated wrappers linked into the test program, and
# the wrapper library an isolated extension binds to: the generated stubs
# and runtime/extlib.c under the same soname, in a directory of its own.
$(RTT)/lib/libtk.so.1: tests/codegen/tk.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -shared $(WARN) -Wl,-soname,libtk.so.1 -o $@ $<
	$(Q)ln -sf libtk.so.1 $(@D)/libtk.so

$(RTT)/wrap/libtk.so.1: $(CG)/gen/tk.stamp runtime/extlib.c runtime/extlib.h
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -shared $(WARN) -Iruntime/include -Iruntime \
		-Itests/codegen -I$(CG)/gen -Wl,-soname,libtk.so.1 -o $@ \
		$(CG)/gen/tk_stubs.c runtime/extlib.c

$(RTT)/ext_tk.so: tests/runtime/ext_tk.c $(RTT)/lib/libtk.so.1
	$(call say,CC,$@)
	$(Q)$(CC) -std=c11 -O1 -g -fPIC -shared $(WARN) -Itests/codegen -o $@ $< \
		-L$(RTT)/lib -ltk

$(RTT)/ext_heap.so: tests/runtime/ext_heap.c $(RTT)/lib/libtk.so.1
	$(call say,CC,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -fPIC -shared $(WARN) -Itests/codegen -o $@ $< \
		-L$(RTT)/lib -ltk

# issue 11's classes 5 and 6: exits, ELF constructors and destructors,
# threads of its own (test_contain.c)
RTT_CONTAIN := $(RTT)/ext_exits.so $(RTT)/ext_elfinit.so $(RTT)/ext_threads.so
$(RTT_CONTAIN): $(RTT)/%.so: tests/runtime/%.c $(RTT)/lib/libtk.so.1
	$(call say,CC,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -fPIC -shared $(WARN) -Itests/codegen -o $@ $< \
		-L$(RTT)/lib -ltk $(RTT_LDEXTRA)
# ext_exits.so finds a library of its own next to it ($ORIGIN)
$(RTT)/ext_exits.so: $(RTT)/libextdep.so
$(RTT)/ext_exits.so: RTT_LDEXTRA = -L$(RTT) -lextdep -Wl,-rpath,'$$ORIGIN'
$(RTT)/libextdep.so: tests/runtime/ext_dep.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -O1 -g -fPIC -shared $(WARN) -Wl,-soname,libextdep.so -o $@ $<

$(RTT)/ext_unresolved.so: tests/runtime/ext_unresolved.c
	$(call say,CC,$@)
	$(Q)$(CC) -std=c11 -O1 -fPIC -shared $(WARN) -o $@ $<

RTT_GEN := $(RTT)/gen/tk_kwrap.o $(RTT)/gen/tk_xwrap.o $(RTT)/gen/tk_shadow.o
$(RTT)/gen/%.o: $(CG)/gen/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) -Iruntime/include -Itests/codegen -I$(CG)/gen -c -o $@ $<
$(RTT_GEN): | $(CG)/gen/tk.stamp

$(RTT)/runtime: $(RTT_OBJS) $(RTT_GEN) $(B)/libnooks.a $(RTT)/lib/libtk.so.1
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(RTT_OBJS) $(RTT_GEN) $(B)/libnooks.a \
		-L$(RTT)/lib -ltk -Wl,-rpath,'$$ORIGIN/lib' -lcunit -lseccomp -lpthread -ldl

# A real extension that faults on request: plain C, no sanitizer (it is
# code the runtime must contain, not code under test).
$(RTT)/ext_faults.so: tests/runtime/ext_faults.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -O1 -g -fPIC -shared $(WARN) -o $@ $<

runtime-test: deps $(RTT)/runtime $(RTT)/ext_faults.so $(RTT)/ext_tk.so \
		$(RTT)/ext_heap.so $(RTT)/ext_unresolved.so $(RTT)/wrap/libtk.so.1 $(RTT_CONTAIN)
	@echo "== runtime ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(RTT)/runtime $(RESULTS)/runtime-$(B) $(RTT)/ext_faults.so \
		$(RTT) $(RTT)/ext_tk.so $(RTT)/wrap/libtk.so.1

# The longer run the runtime issue asks for: 10,000 crash-and-reload
# cycles (native and isolated) instead of 1,000.  Not part of make test.
soak: deps $(RTT)/runtime $(RTT)/ext_faults.so $(RTT)/ext_tk.so \
		$(RTT)/ext_heap.so $(RTT)/ext_unresolved.so $(RTT)/wrap/libtk.so.1 $(RTT_CONTAIN)
	$(Q)NOOKS_CYCLES=10000 $(RTT)/runtime /dev/null $(RTT)/ext_faults.so \
		$(RTT) $(RTT)/ext_tk.so $(RTT)/wrap/libtk.so.1
	$(Q)$(MAKE) --no-print-directory $(PRT)/proc
	$(Q)NOOKS_PROC_CYCLES=10000 $(PRT)/proc /dev/null

# The process backend (issue 12): domain processes, their channels,
# faults and the malicious cases (tests/proc).
PRT := $(B)/tests/proc
PRT_OBJS := $(B)/tests/cunit_run.o $(PRT)/main.o $(PRT)/test_proc.o
$(PRT_OBJS): CFLAGS += -Itests -Iruntime/include -Iruntime
$(PRT)/proc: $(PRT_OBJS) $(B)/libnooks.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(PRT_OBJS) $(B)/libnooks.a -lcunit -lseccomp -lpthread -ldl

# a malicious module (nk API and libc only), run by tests/proc/run.sh
$(PRT)/evil.so: tests/proc/evil.c $(wildcard kernel/include/nk/*.h) $(B)/kernel/libnk.so.1
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(EXT_CFLAGS) -o $@ $< $(EXT_LIBS)

proc-test: deps $(PRT)/proc $(PRT)/evil.so $(B)/tests/hostile/witness.so
	$(Q)$(MAKE) --no-print-directory $(NK_PROGRAMS)
	@echo "== process backend ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(PRT)/proc $(RESULTS)/proc-$(B); \
	bash tests/proc/run.sh $(B) $(RESULTS)/proc-nkernel-$(B)

# ---- benchmarks (never part of make test) ------------------------------------

$(B)/bench/bench.o: CFLAGS += -Iruntime/include -Iruntime -Itests/codegen -I$(CG)/gen
$(B)/bench/bench.o: | $(CG)/gen/tk.stamp

$(B)/bench/bench: $(B)/bench/bench.o $(RTT_GEN) $(B)/libnooks.a $(RTT)/lib/libtk.so.1
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(B)/bench/bench.o $(RTT_GEN) $(B)/libnooks.a \
		-L$(RTT)/lib -ltk -Wl,-rpath,'$$ORIGIN/../tests/runtime/lib' -lseccomp -lpthread -ldl

BENCH_NEEDS := $(B)/nooksc $(B)/bench/bench $(RTT)/ext_faults.so $(RTT)/ext_tk.so \
		$(RTT)/wrap/libtk.so.1 $(B)/kernel/nkernel $(B)/kernel/nkctl \
		$(B)/kernel/wrap/libnk.so.1 $(B)/examples/khttpd.so $(B)/examples/netdrv.so \
		$(B)/examples/fatfs.so $(B)/tests/netdrv/bulk
bench:
	$(Q)sh tools/deps.sh bench
	$(Q)$(MAKE) --no-print-directory $(BENCH_NEEDS)
	$(Q)sh bench/run.sh $(B)
	$(Q)sh bench/plot.sh bench/results.md bench

# The code-generation tests: tk.idl's wrappers, generated into the build
# tree, linked with the test kernel and libnooks.
CG_OBJS :=
CG_OBJS += $(B)/tests/cunit_run.o
CG_OBJS += $(CG)/main.o
CG_OBJS += $(CG)/ext.o
CG_OBJS += $(CG)/test_wrappers.o
CG_OBJS += $(CG)/test_replay.o
CG_OBJS += $(CG)/tk.o
CG_OBJS += $(CG)/gen/tk_kwrap.o
CG_OBJS += $(CG)/gen/tk_xwrap.o
CG_OBJS += $(CG)/gen/tk_shadow.o
CG_GEN_SRCS := $(CG)/gen/tk_nooks.h $(CG)/gen/tk_kwrap.c $(CG)/gen/tk_xwrap.c \
	$(CG)/gen/tk_shadow.c $(CG)/gen/tk_stubs.c

$(CG_OBJS) $(CG)/gen/tk_stubs.o: CFLAGS += -Itests -Itests/codegen -Iruntime/include -Iruntime -I$(CG)/gen

$(CG)/gen/tk.stamp: tests/codegen/tk.idl $(B)/nooksc $(wildcard templates/*.m4 templates/*/*)
	$(call say,NOOKSC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(B)/nooksc -o $(@D) $<
	$(Q)touch $@

$(CG_GEN_SRCS): $(CG)/gen/tk.stamp
$(filter-out $(CG)/gen/%,$(CG_OBJS)): | $(CG)/gen/tk.stamp

$(CG)/gen/%.o: $(CG)/gen/%.c
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) -c -o $@ $<

# The stubs define the kernel API's own names: compiled, never linked here.
$(CG)/codegen: $(CG_OBJS) $(CG)/gen/tk_stubs.o $(B)/libnooks.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(CG_OBJS) $(B)/libnooks.a -lcunit -lseccomp -lpthread -ldl

$(B)/tests/fuzz/mutate: $(B)/tests/fuzz/mutate.o $(B)/libnooksc.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^

RESULTS := build/results

# Each suite leaves "PASSED FAILED" in $(RESULTS)/<suite>; tools/summary.sh
# adds them up (a suite that left nothing counts as one failure).
test: deps
	$(Q)rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(Q)$(MAKE) -k --no-print-directory unit runtime-test golden cli verify-test import-test check-generated \
		kernel-test install-test khttpd-test netdrv-test fatfs-test hostile-test inject-test vm-test \
		kmod-test proc-test netdrv-proc-test fatfs-proc-test hostile-proc-test || true
	$(Q)$(MAKE) -k --no-print-directory SAN=1 unit runtime-test cli fuzz kernel-test || true
	$(Q)sh tools/summary.sh $(RESULTS)

# The quick tier (under a minute on a built tree here, under two from
# clean): no sanitizers, no fuzzing, no libclang suites, no khttpd under
# load, no hostile modules.  Its own results directory, so that it never
# mixes with a make test run's.
CHECK_RESULTS := build/check-results
CHECK_SUITES := unit-build codegen-build cggolden-build golden-build cli-build generated-build \
	runtime-build kernel-build install-build
check: deps
	$(Q)rm -rf $(CHECK_RESULTS) && mkdir -p $(CHECK_RESULTS)
	$(Q)$(MAKE) -k --no-print-directory RESULTS=$(CHECK_RESULTS) unit golden cli check-generated \
		runtime-test kernel-test install-test || true
	$(Q)sh tools/summary.sh $(CHECK_RESULTS) $(CHECK_SUITES)

unit: deps $(B)/tests/unit/unit $(B)/tests/codegen/codegen
	@echo "== unit tests ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(B)/tests/unit/unit $(RESULTS)/unit-$(B)
	@echo "== code generation ($(B)) =="
	$(Q)$(B)/tests/codegen/codegen $(RESULTS)/codegen-$(B)
	$(Q)sh tests/codegen/golden.sh $(B)/nooksc $(RESULTS)/cggolden-$(B)

golden: deps $(B)/nooksc
	@echo "== golden tests ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/golden/run.sh $(B)/nooksc $(RESULTS)/golden-$(B)

fuzz: deps $(B)/nooksc $(B)/tests/fuzz/mutate
	@echo "== robustness ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/fuzz/run.sh $(B) $(RESULTS)/fuzz-$(B)

cli: deps $(B)/nooksc
	@echo "== command line ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/cli/run.sh $(B)/nooksc $(RESULTS)/cli-$(B)

check-generated: deps $(B)/nooksc
	@echo "== generated code ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tools/check-generated.sh $(B)/nooksc $(RESULTS)/generated-$(B)

# The check table of docs/idl.md, rewritten from nooksc --list-checks.
.PHONY: checks-doc
checks-doc: $(B)/nooksc
	$(Q)sh tools/checks-doc.sh $(B)/nooksc

verify-test: deps $(B)/nooksc
	@echo "== nooksc verify ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/verify/run.sh $(B)/nooksc $(RESULTS)/verify-$(B)

import-test: deps $(B)/nooksc
	@echo "== nooksc import ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/import/run.sh $(B)/nooksc $(RESULTS)/import-$(B)

golden-update: $(B)/nooksc
	$(Q)sh tests/golden/run.sh --update $(B)/nooksc /dev/null
	$(Q)sh tests/codegen/golden.sh --update $(B)/nooksc /dev/null
	$(Q)sh tests/verify/run.sh --update $(B)/nooksc /dev/null
	$(Q)sh tests/import/run.sh --update $(B)/nooksc /dev/null

# ---- the user-space kernel, its programs and extensions ----------------------

include kernel/lib.mk
include kernel/kernel.mk

# ---- demo ------------------------------------------------------------------

# ---- generated code --------------------------------------------------------
include tools/kver.mk

# Regenerate generated/ from every IDL tree (tools/regen.sh); commit the
# result with the IDL or template change that caused it.
regen: all
	$(Q)sh tools/regen.sh $(B)/nooksc generated

# The kernel with khttpd isolated, curl, an injected fault, recovery
# (PORT=N to choose the port; default 8088 or the next free one).
run: deps
	$(Q)$(MAKE) --no-print-directory all $(NK_PROGRAMS)
	$(Q)bash tools/run.sh $(B) $(PORT)

# The compiler's own tour: checks, diagnostics, generated code.
demo-nooksc: all
	$(Q)sh tools/demo.sh $(B)/nooksc

# ---- install ---------------------------------------------------------------
#
#   BINDIR      nooksc, nkctl, nkernel (a link to PKGLIBDIR/nkernel)
#   LIBDIR      libnooks.a, libnooks.so*, libnooks-ext.a, libnk.so*,
#               pkgconfig/nooks.pc and nk.pc
#   PKGLIBDIR   nkernel and wrap/libnk.so.1, the wrapper library it binds
#               isolated modules to (wrap/ beside the program: its default);
#               one level below LIBDIR, where nkernel's rpath ($ORIGIN/..)
#               finds libnk.so.1
#   INCDIR      nooks.h, nooks_runtime.h, nk/*.h
#   DATADIR     templates/ (where nooksc looks: ../share/nooks/templates
#               from its own directory), nooks.mk, idl/nk/*.idl
#   MANDIR, DOCDIR  nooksc.1, nkernel.1, nkctl.1; the reference docs
#
# make uninstall removes exactly these files, then the directories of our
# own (PKGLIBDIR, DATADIR, DOCDIR, INCDIR/nk) if they are left empty.

LIBDIR ?= $(PREFIX)/lib
PKGLIBDIR ?= $(LIBDIR)/nooks
PCDIR ?= $(LIBDIR)/pkgconfig
DATADIR ?= $(PREFIX)/share/nooks
INCDIR ?= $(PREFIX)/include

INST_TEMPLATES := $(sort $(patsubst templates/%,%,$(shell find templates -name '*.m4' -o -name outputs)))
INST_HEADERS := runtime/include/nooks.h runtime/include/nooks_runtime.h
INST_NK_HEADERS := $(notdir $(wildcard kernel/include/nk/*.h))
INST_NK_IDL := $(notdir $(wildcard idl/nk/*.idl))
INST_MAN := nooksc.1 nkernel.1 nkctl.1
INST_DOCS := idl.md codegen.md runtime.md kernel.md netdrv.md fatfs.md kmod.md
PC_SED = -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	-e 's|@DATADIR@|$(DATADIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g'
DST = $(DESTDIR)

install: all
	$(call say,INSTALL,$(DST)$(PREFIX))
	$(Q)install -d $(DST)$(BINDIR) $(DST)$(LIBDIR) $(DST)$(PKGLIBDIR)/wrap $(DST)$(PCDIR) \
		$(DST)$(INCDIR)/nk $(DST)$(DATADIR)/idl/nk $(DST)$(MANDIR)/man1 $(DST)$(DOCDIR) \
		$(addprefix $(DST)$(DATADIR)/templates/,$(sort $(dir $(INST_TEMPLATES))))
	$(Q)install -m 755 $(B)/nooksc $(B)/kernel/nkctl $(DST)$(BINDIR)/
	$(Q)install -m 755 $(B)/kernel/nkernel $(DST)$(PKGLIBDIR)/nkernel
	$(Q)ln -sfr $(DST)$(PKGLIBDIR)/nkernel $(DST)$(BINDIR)/nkernel
	$(Q)install -m 755 $(B)/kernel/wrap/libnk.so.1 $(DST)$(PKGLIBDIR)/wrap/libnk.so.1
	$(Q)install -m 644 $(B)/libnooks.a $(B)/libnooks-ext.a $(DST)$(LIBDIR)/
	$(Q)install -m 755 $(B)/libnooks.so.$(VERSION) $(B)/kernel/libnk.so.1 $(DST)$(LIBDIR)/
	$(Q)ln -sf libnooks.so.$(VERSION) $(DST)$(LIBDIR)/libnooks.so.$(SOMAJOR)
	$(Q)ln -sf libnooks.so.$(SOMAJOR) $(DST)$(LIBDIR)/libnooks.so
	$(Q)ln -sf libnk.so.1 $(DST)$(LIBDIR)/libnk.so
	$(Q)sed $(PC_SED) tools/nooks.pc.in > $(DST)$(PCDIR)/nooks.pc
	$(Q)sed $(PC_SED) tools/nk.pc.in > $(DST)$(PCDIR)/nk.pc
	$(Q)chmod 644 $(DST)$(PCDIR)/nooks.pc $(DST)$(PCDIR)/nk.pc
	$(Q)install -m 644 $(INST_HEADERS) $(DST)$(INCDIR)/
	$(Q)install -m 644 $(addprefix kernel/include/nk/,$(INST_NK_HEADERS)) $(DST)$(INCDIR)/nk/
	$(Q)for t in $(INST_TEMPLATES); do \
		install -m 644 templates/$$t $(DST)$(DATADIR)/templates/$$t || exit 1; done
	$(Q)install -m 644 nooks.mk $(DST)$(DATADIR)/nooks.mk
	$(Q)install -m 644 $(addprefix idl/nk/,$(INST_NK_IDL)) $(DST)$(DATADIR)/idl/nk/
	$(Q)install -m 644 $(addprefix docs/,$(INST_MAN)) $(DST)$(MANDIR)/man1/
	$(Q)install -m 644 $(addprefix docs/,$(INST_DOCS)) $(DST)$(DOCDIR)/

uninstall:
	$(call say,UNINST,$(DST)$(PREFIX))
	$(Q)rm -f $(addprefix $(DST)$(BINDIR)/,nooksc nkctl nkernel) \
		$(DST)$(PKGLIBDIR)/nkernel $(DST)$(PKGLIBDIR)/wrap/libnk.so.1 \
		$(addprefix $(DST)$(LIBDIR)/,libnooks.a libnooks-ext.a libnooks.so.$(VERSION) \
			libnooks.so.$(SOMAJOR) libnooks.so libnk.so.1 libnk.so) \
		$(DST)$(PCDIR)/nooks.pc $(DST)$(PCDIR)/nk.pc \
		$(addprefix $(DST)$(INCDIR)/,$(notdir $(INST_HEADERS))) \
		$(addprefix $(DST)$(INCDIR)/nk/,$(INST_NK_HEADERS)) \
		$(addprefix $(DST)$(DATADIR)/templates/,$(INST_TEMPLATES)) \
		$(DST)$(DATADIR)/nooks.mk $(addprefix $(DST)$(DATADIR)/idl/nk/,$(INST_NK_IDL)) \
		$(addprefix $(DST)$(MANDIR)/man1/,$(INST_MAN)) $(addprefix $(DST)$(DOCDIR)/,$(INST_DOCS))
	$(Q)for d in $(sort $(dir $(INST_TEMPLATES))); do \
		rmdir -p --ignore-fail-on-non-empty $(DST)$(DATADIR)/templates/$$d 2>/dev/null; done; true
	$(Q)for d in $(DST)$(PKGLIBDIR)/wrap $(DST)$(PKGLIBDIR) $(DST)$(DATADIR)/idl/nk \
		$(DST)$(DATADIR)/idl $(DST)$(DATADIR)/templates $(DST)$(DATADIR) $(DST)$(INCDIR)/nk $(DST)$(DOCDIR); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done

# tests/install/run.sh: make install into a temporary prefix, an extension
# and its wrapper library built from outside the tree with only what was
# installed, loaded into the installed nkernel; then make uninstall.
install-test: deps all
	@echo "== install ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/install/run.sh $(B) $(RESULTS)/install-$(B)

# ---- the VM harness (tools/vm, docs/vm.md) -----------------------------------

# Debian's Linux 6.1 in qemu (TCG, -cpu max: protection keys) runs
# tests/vm; where qemu cannot be installed it says "vm-test: skipped".
# What runs in the guest: the runtime's suite and khttpd in nkernel, on
# the pkey backend with real keys.
VM_NEEDS := $(RTT)/runtime $(RTT)/ext_faults.so $(RTT)/ext_tk.so $(RTT)/ext_heap.so \
	$(RTT)/ext_unresolved.so $(RTT)/wrap/libtk.so.1 $(RTT_CONTAIN) $(NK_PROGRAMS) \
	$(B)/tests/hostile/pthread_double_release.so $(B)/tests/vm/timer_thread.so

# a module for the guest, built like the examples
$(B)/tests/vm/timer_thread.so: tests/vm/timer_thread.c $(wildcard kernel/include/nk/*.h) $(B)/kernel/libnk.so.1
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(EXT_CFLAGS) -o $@ $< $(EXT_LIBS)
.PHONY: vm-test
vm-test: $(VM_NEEDS)
	@echo "== vm ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/vm/run.sh $(B) $(RESULTS)/vm-$(B)

# ---- the kernel-module target (kmod/, templates/linux, docs/kmod.md) ----------

# nooks.ko per Linux tree: kmod/ and generated/TREE/kmod built by kbuild
# against Debian's linux-headers (tools/kmod/build.sh); make kmod-test
# builds it too, binds tests/kmod/nkvnic to it and runs it in qemu.
KMOD_TREES = $(if $(KVER),$(KVER_TREE),$(patsubst idl/%/,%,$(wildcard idl/linux-*/)))
.PHONY: kmod kmod-test
kmod:
	$(Q)for t in $(KMOD_TREES); do \
		echo "  KBUILD  $(B)/kmod/$$t/nooks.ko"; \
		sh tools/kmod/build.sh $$t $(B)/kmod/$$t || exit 1; \
	done
kmod-test: deps
	@echo "== kmod ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)sh tests/kmod/run.sh $(B) $(RESULTS)/kmod-$(B) $(KMOD_TREES)

# ---- fault-injection campaign (tools/inject, bench/campaign.sh) -------------
#
# nooks-inject mutates an extension's code the Rio/Nooks way (docs/campaign.md);
# make inject-test checks it on khttpd.so (part of make test); make campaign
# runs khttpd's mutants natively and isolated under real clients and writes
# bench/campaign.md (CAMPAIGN_ARGS, e.g. "--mutants 2 --mode transient").

$(B)/tools/nooks-inject: tools/inject/nooks-inject.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) $(LDFLAGS_ALL) -o $@ $<

.PHONY: inject-test campaign
inject-test: deps $(B)/tools/nooks-inject $(NK_PROGRAMS)
	@echo "== nooks-inject ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)bash tests/inject/run.sh $(B) $(RESULTS)/inject-$(B)

campaign: deps $(B)/tools/nooks-inject $(NK_PROGRAMS)
	$(Q)bash bench/campaign.sh --build $(B) $(CAMPAIGN_ARGS)

clean:
	rm -rf build build-san

-include $(shell find build build-san -name '*.d' -type f 2>/dev/null)
