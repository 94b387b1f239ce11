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

NOOKSC ?= nooksc
NOOKS_OUT ?= nooks-gen
NOOKS_STAMPS := $(patsubst %.idl,$(NOOKS_OUT)/%.stamp,$(notdir $(NOOKS_IDL)))

vpath %.idl $(sort $(dir $(NOOKS_IDL)))

$(NOOKS_OUT)/%.stamp: %.idl
	@mkdir -p $(NOOKS_OUT)
	$(NOOKSC) $(NOOKS_IDLFLAGS) -o $(NOOKS_OUT) -MD -MP -MF $@.d -MT $@ $<
	@touch $@

-include $(wildcard $(NOOKS_OUT)/*.stamp.d)
