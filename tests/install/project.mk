# project.mk - the Makefile of the outside project tests/install/run.sh
# builds (copied to its scratch directory as Makefile).  It uses only what
# make install put in the prefix, found through pkg-config:
#
#   hello.so         an nkernel module, against <nk/*.h> and libnk
#   wrap/libnk.so.1  the wrapper library isolated modules bind to: the
#                    stubs nooksc generates from the installed idl/nk
#                    (through the installed nooks.mk) with libnooks-ext.a
#   rt, rt-static    programs linked with libnooks.so and libnooks.a
#
# nooks.mk is included before the first target: `all` must stay the
# default goal on every run (the stamps' dependency files must not take
# it over).

PKG_CONFIG ?= pkg-config
NK_IDL := $(shell $(PKG_CONFIG) --variable=idldir nk)

NOOKS_IDL := $(wildcard $(NK_IDL)/*.idl)
NOOKS_OUT := gen
NOOKS_IDLFLAGS := -I $(NK_IDL)
NOOKSC := $(shell $(PKG_CONFIG) --variable=nooksc nooks)
include $(shell $(PKG_CONFIG) --variable=nooksmk nooks)

CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror
STUBS := $(patsubst %.idl,$(NOOKS_OUT)/%_stubs.c,$(notdir $(NOOKS_IDL)))
LIBDIR := $(shell $(PKG_CONFIG) --variable=libdir nooks)

all: hello.so wrap/libnk.so.1 rt rt-static

hello.so: hello.c
	$(CC) $(CFLAGS) -fPIC -shared $(shell $(PKG_CONFIG) --cflags nk) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs nk)

# on the stamps, as nooks.mk says: a stamp is touched after nooksc wrote
# its files, so a rule stubs: stamps would never be up to date
wrap/libnk.so.1: $(NOOKS_STAMPS)
	mkdir -p wrap
	$(CC) $(CFLAGS) -fPIC -shared -Wl,-soname,libnk.so.1 \
		$(shell $(PKG_CONFIG) --cflags nooks nk) -o $@ $(STUBS) \
		$(shell $(PKG_CONFIG) --variable=extlib_libs nooks)

rt: rt.c
	$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags nooks) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs nooks) -Wl,-rpath,$(LIBDIR)

rt-static: rt.c
	$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags nooks) -o $@ $< \
		$(LIBDIR)/libnooks.a -lseccomp -lpthread -ldl
