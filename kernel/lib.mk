# kernel/lib.mk - the kernel library (libnk.so.1) and its tests.
# Included by the top-level Makefile.
#
# libnk.so.1 is what extensions link against (soname libnk.so.1).  It
# leaves nooks_arena_alloc/nooks_arena_free undefined: the program that
# loads it (nkernel, or the tests) links libnooks.a with -rdynamic, so the
# kernel objects it hands to extensions come from the runtime's arena.

.PHONY: kernel-test

NKLIB := $(B)/kernel/libnk.so.1

NKLIB_OBJS :=
NKLIB_OBJS += $(B)/kernel/core.o
NKLIB_OBJS += $(B)/kernel/fs.o
NKLIB_OBJS += $(B)/kernel/kthread.o
NKLIB_OBJS += $(B)/kernel/net.o
NKLIB_OBJS += $(B)/kernel/netdev.o
NKLIB_OBJS += $(B)/kernel/nicdev.o
NKLIB_OBJS += $(B)/kernel/workqueue.o
NKLIB_OBJS += $(B)/kernel/vfs.o
NKLIB_OBJS += $(B)/kernel/blkdev.o
NKLIB_OBJS += $(B)/kernel/ds.o

$(NKLIB_OBJS): CFLAGS += -fPIC -Ikernel/include -Ikernel -Iruntime/include

$(NKLIB): $(NKLIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -shared -Wl,-soname,libnk.so.1 -o $@ $^ -lpthread
	$(Q)ln -sf libnk.so.1 $(@D)/libnk.so

# ---- tests -------------------------------------------------------------------

NKT := $(B)/tests/kernel
NKT_OBJS :=
NKT_OBJS += $(B)/tests/cunit_run.o
NKT_OBJS += $(NKT)/main.o
NKT_OBJS += $(NKT)/util.o
NKT_OBJS += $(NKT)/test_core.o
NKT_OBJS += $(NKT)/test_kthread.o
NKT_OBJS += $(NKT)/test_net.o
NKT_OBJS += $(NKT)/test_fs.o
NKT_OBJS += $(NKT)/test_workqueue.o
NKT_OBJS += $(NKT)/test_ds.o

$(NKT_OBJS): CFLAGS += -Itests -Itests/kernel -Ikernel/include -Ikernel -Iruntime/include

# libnk before libnooks.a, so the archive's arena satisfies the library's
# undefined symbols; -rdynamic exports them to it.
$(NKT)/kernel: $(NKT_OBJS) $(NKLIB) $(B)/libnooks.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $(NKT_OBJS) -L$(B)/kernel -lnk \
		$(B)/libnooks.a -Wl,-rpath,'$$ORIGIN/../../kernel' -lcunit -lseccomp -lpthread -ldl

kernel-test: deps $(NKT)/kernel
	@echo "== kernel library ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(NKT)/kernel $(RESULTS)/kernel-$(B)
