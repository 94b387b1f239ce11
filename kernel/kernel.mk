# kernel/kernel.mk - nkernel, nkctl and the example extensions.
# Included by the top-level Makefile (after kernel/lib.mk).
#
#   $(B)/kernel/nkernel          the kernel program: the kernel library,
#                                the generated kernel-side wrappers of
#                                idl/nk (generated/nk) and libnooks
#   $(B)/kernel/wrap/libnk.so.1  what an isolated module binds to: the
#                                generated stubs under the kernel
#                                library's soname, with runtime/extlib.c
#   $(B)/kernel/nkctl            the control client
#   $(B)/examples/*.so           extensions, built against the nk headers
#                                and libnk.so.1 only (no sanitizer: they
#                                are what the runtime contains)

NK_IFACES := core fs kthread net netdev workqueue vfs blkdev ds
NK_GEN_OBJS := $(foreach i,$(NK_IFACES),$(addprefix $(B)/kernel/gen/$(i)_,kwrap.o xwrap.o shadow.o))
NK_STUBS := $(foreach i,$(NK_IFACES),generated/nk/$(i)_stubs.c)
NK_INC := -Ikernel -Ikernel/include -Iruntime/include -Iruntime -Igenerated/nk

$(B)/kernel/gen/%.o: generated/nk/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) $(NK_INC) -c -o $@ $<

NKERNEL_OBJS := $(B)/kernel/nkernel.o $(B)/kernel/nkcommon.o $(B)/kernel/fuse.o
$(NKERNEL_OBJS) $(B)/kernel/nkctl.o: CFLAGS += $(NK_INC)
# the FUSE bridge (kernel/fuse.c): libfuse3, in nkernel only
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS = $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)
$(B)/kernel/fuse.o: CFLAGS += $(FUSE_CFLAGS)

# -rdynamic: the kernel library takes the object arena from libnooks here.
# libnk.so.1 is beside nkernel in the build tree ($ORIGIN) and one level up
# when installed (LIBDIR/nooks/nkernel, LIBDIR/libnk.so.1: make install).
$(B)/kernel/nkernel: $(NKERNEL_OBJS) $(NK_GEN_OBJS) $(B)/libnooks.a $(B)/kernel/libnk.so.1
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $(NKERNEL_OBJS) $(NK_GEN_OBJS) $(B)/libnooks.a \
		-L$(B)/kernel -l:libnk.so.1 -Wl,-rpath,'$$ORIGIN:$$ORIGIN/..' $(FUSE_LIBS) -lseccomp -lpthread -ldl

$(B)/kernel/nkctl: $(B)/kernel/nkctl.o $(B)/kernel/nkcommon.o
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^

$(B)/kernel/wrap/libnk.so.1: $(NK_STUBS) runtime/extlib.c runtime/extlib.h runtime/include/nooks.h
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -shared $(WARN) $(NK_INC) \
		-Wl,-soname,libnk.so.1 -o $@ $(NK_STUBS) runtime/extlib.c

EXT_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -shared $(WARN) -Ikernel/include
EXT_LIBS := -L$(B)/kernel -l:libnk.so.1

# the same source twice: khttpd_buggy.so carries kHTTPd's double release
$(B)/examples/khttpd_buggy.so: EXT_DEFS := -DKHTTPD_DOUBLE_RELEASE
$(B)/examples/khttpd.so $(B)/examples/khttpd_buggy.so: examples/khttpd/khttpd.c \
		$(wildcard kernel/include/nk/*.h) $(B)/kernel/libnk.so.1
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(EXT_CFLAGS) $(EXT_DEFS) -o $@ $< $(EXT_LIBS)

# the same source twice: netdrv_buggy.so writes buffers after freeing them
$(B)/examples/netdrv_buggy.so: EXT_DEFS := -DNETDRV_USE_AFTER_FREE
$(B)/examples/netdrv.so $(B)/examples/netdrv_buggy.so: examples/netdrv/netdrv.c \
		$(wildcard kernel/include/nk/*.h) $(B)/kernel/libnk.so.1
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(EXT_CFLAGS) $(EXT_DEFS) -o $@ $< $(EXT_LIBS)

# fatfs_buggy.so carries a FAT12 entry read and written one byte past its
# sector when it straddles two (docs/fatfs.md)
$(B)/examples/fatfs_buggy.so: EXT_DEFS := -DFATFS_FAT12_STRADDLE
$(B)/examples/fatfs.so $(B)/examples/fatfs_buggy.so: examples/fatfs/fatfs.c \
		$(wildcard kernel/include/nk/*.h) $(B)/kernel/libnk.so.1
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(EXT_CFLAGS) $(EXT_DEFS) -o $@ $< $(EXT_LIBS)

NK_PROGRAMS := $(B)/kernel/nkernel $(B)/kernel/nkctl $(B)/kernel/wrap/libnk.so.1 \
	$(B)/examples/khttpd.so $(B)/examples/khttpd_buggy.so \
	$(B)/examples/netdrv.so $(B)/examples/netdrv_buggy.so \
	$(B)/examples/fatfs.so $(B)/examples/fatfs_buggy.so

# make (and make install) builds the kernel, its control client and its
# wrapper library; the example modules are the tests' and make run's.
all: $(B)/kernel/libnk.so.1 $(B)/kernel/nkernel $(B)/kernel/nkctl $(B)/kernel/wrap/libnk.so.1

.PHONY: kernel khttpd-test netdrv-test netdrv-proc-test netdrv-soak fatfs-test fatfs-proc-test fatfs-soak
kernel: $(NK_PROGRAMS)

# End to end: nkernel with khttpd, real clients (curl, wrk), real faults.
khttpd-test: deps $(NK_PROGRAMS)
	@echo "== nkernel and khttpd ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)bash tests/khttpd/run.sh $(B) $(RESULTS)/khttpd-$(B)
# netdrv end to end: two network namespaces, the card's TAP wire between
# them, ping and byte-exact TCP through the driver natively and isolated,
# faults under traffic, the write after free, NETDRV_RESTARTS restarts.
$(B)/tests/netdrv/bulk: tests/netdrv/bulk.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(WARN) -o $@ $<

netdrv-test: deps $(NK_PROGRAMS) $(B)/tests/netdrv/bulk
	@echo "== nkernel and netdrv ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)bash tests/netdrv/run.sh $(B) $(RESULTS)/netdrv-$(B)

# the same with the isolated runs on the process backend, 200 restarts
# (75 s here, the native runs included: 29 to 66 MB/s through the driver
# on process)
netdrv-proc-test: deps $(NK_PROGRAMS) $(B)/tests/netdrv/bulk
	@echo "== nkernel and netdrv on process ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)NETDRV_ISO=process NETDRV_RESTARTS=200 bash tests/netdrv/run.sh $(B) $(RESULTS)/netdrv-proc-$(B)

# 10,000 restarts instead of 1,000 (not part of make test)
netdrv-soak: deps $(NK_PROGRAMS) $(B)/tests/netdrv/bulk
	$(Q)mkdir -p $(RESULTS)
	$(Q)NETDRV_RESTARTS=10000 bash tests/netdrv/run.sh $(B) $(RESULTS)/netdrv-soak-$(B)

# fatfs through FUSE, checked with mkfs.vfat, mtools and fsck.vfat
# (tests/fatfs/run.sh); fatfs-soak: 10,000 restarts and 200
# faults instead of 1,000 and 24.
fatfs-test: deps $(NK_PROGRAMS)
	@echo "== nkernel and fatfs ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)bash tests/fatfs/run.sh $(B) $(RESULTS)/fatfs-$(B)

# the same with the isolated runs on the process backend (about a minute)
fatfs-proc-test: deps $(NK_PROGRAMS)
	@echo "== nkernel and fatfs on process ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)FATFS_ISO=process bash tests/fatfs/run.sh $(B) $(RESULTS)/fatfs-proc-$(B)

fatfs-soak: deps $(NK_PROGRAMS)
	$(Q)FATFS_RESTARTS=10000 FATFS_FAULTS=200 bash tests/fatfs/run.sh $(B) /dev/null

include tests/hostile/hostile.mk
