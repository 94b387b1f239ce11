# tests/hostile/hostile.mk - the hostile modules (issue 11) and their
# suite.  Included at the end of kernel/kernel.mk.
#
#   $(B)/tests/hostile/NAME.so   one buggy extension per containment hole,
#                                and the well-behaved witness, built like
#                                the examples (nk headers, libnk.so.1, no
#                                sanitizer)
#   make hostile-test            tests/hostile/run.sh
#   make hostile-proc-test       the same, isolated on process

HOSTILE_MODS := $(patsubst tests/hostile/%.c,$(B)/tests/hostile/%.so,$(wildcard tests/hostile/*.c))

$(B)/tests/hostile/%.so: tests/hostile/%.c $(wildcard kernel/include/nk/*.h) $(B)/kernel/libnk.so.1
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(EXT_CFLAGS) -o $@ $< $(EXT_LIBS)

.PHONY: hostile-test hostile-proc-test
hostile-test: deps $(NK_PROGRAMS) $(HOSTILE_MODS)
	@echo "== hostile modules ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)bash tests/hostile/run.sh $(B) $(RESULTS)/hostile-$(B)

# the same with the isolated runs on the process backend
hostile-proc-test: deps $(NK_PROGRAMS) $(HOSTILE_MODS)
	@echo "== hostile modules on process ($(B)) =="
	$(Q)mkdir -p $(RESULTS)
	$(Q)HOSTILE_ISO=process bash tests/hostile/run.sh $(B) $(RESULTS)/hostile-proc-$(B)
