# kernel/kernel.mk - nkernel, nkctl and the example extensions.
# Included by the top-level Makefile.
