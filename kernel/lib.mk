# kernel/lib.mk - the kernel library (libnk.so.1) and its tests.
# Included by the top-level Makefile.
