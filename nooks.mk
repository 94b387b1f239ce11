# nooks.mk - make rules for running nooksc from another project.
#
#   NOOKS_IDL := foo.idl bar.idl      # the interfaces
#   NOOKS_OUT := gen                  # where the wrappers go (default nooks-gen)
#   NOOKS_IDLFLAGS := -I idl          # import path and other nooksc options
#   include /usr/local/share/nooks/nooks.mk
#   prog: $(NOOKS_STAMPS) ...         # then build $(NOOKS_OUT)/*.c
#
# nooksc writes five files per interface at once, so each interface has a
# stamp file; its dependency rules (-MD -MP -MF -MT) name every imported .idl and
# every template, so make regenerates exactly what an edit affects.
#
# Including this file changes no goal: the includer's first target stays
# its default goal, before or after the include, on every run (the stamps'
# dependency files, read from the second run on, define targets too).
# With pkg-config: include $(shell pkg-config --variable=nooksmk nooks).

nooks_default_goal := $(.DEFAULT_GOAL)

NOOKSC ?= nooksc
NOOKS_OUT ?= nooks-gen
NOOKS_STAMPS := $(patsubst %.idl,$(NOOKS_OUT)/%.stamp,$(notdir $(NOOKS_IDL)))

vpath %.idl $(sort $(dir $(NOOKS_IDL)))

$(NOOKS_OUT)/%.stamp: %.idl
	@mkdir -p $(NOOKS_OUT)
	$(NOOKSC) $(NOOKS_IDLFLAGS) -o $(NOOKS_OUT) -MD -MP -MF $@.d -MT $@ $<
	@touch $@

-include $(wildcard $(NOOKS_OUT)/*.stamp.d)

# empty when nothing came before the include: the includer's next target
.DEFAULT_GOAL := $(nooks_default_goal)
