# kver.mk - wrappers per kernel version (included by the Makefile).
#
#   make verify KVER=TREE   nooksc verify of idl/TREE/*.idl against its headers
#   make regen KVER=TREE    regenerate generated/TREE only (no KVER: every tree)
#   make verify-all         verify every tree under idl/
#
# TREE is a directory under idl/: nk (the user-space kernel), linux-6.1, ...;
# KVER=6.1 means linux-6.1.  A tree's clang arguments are in
# idl/TREE/clang-args (tools/tree-args.sh; without one, -Ikernel/include).

KVER_TREE = $(if $(wildcard idl/$(KVER)/),$(KVER),$(if $(wildcard idl/linux-$(KVER)/),linux-$(KVER),$(KVER)))
KVER_TREES = $(patsubst idl/%/,%,$(wildcard idl/*/))

.PHONY: verify verify-all

verify: all
	$(if $(KVER),,$(error make verify needs KVER=TREE, one of: $(KVER_TREES)))
	$(Q)sh tools/verify-tree.sh $(B)/nooksc $(KVER_TREE)

verify-all: all
	$(Q)st=0; for t in $(KVER_TREES); do \
		echo "== verify idl/$$t =="; \
		sh tools/verify-tree.sh $(B)/nooksc $$t || st=1; \
	done; exit $$st

# tools/regen.sh regenerates only generated/$NOOKS_TREE when it is set
regen: export NOOKS_TREE = $(if $(KVER),$(KVER_TREE))
