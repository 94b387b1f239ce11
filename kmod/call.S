/* SPDX-License-Identifier: GPL-2.0 */
/*
 * call.S - nooks_k_call_asm(fn, arg, &sp): calls fn(arg) and returns 1,
 * after saving the callee-saved registers on the stack and the stack
 * pointer in *sp.  The die notifier (main.c) turns an oops in the
 * module's code into a return from here with 0: it sets the faulting
 * context's stack pointer to *sp, its instruction pointer to
 * nooks_k_resume and rax to 0, and the exception returns there; the
 * registers come back off the stack.  Objtool is told to skip this file
 * (Kbuild): it cannot follow an entry that is reached by iret.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

	.text
SYM_FUNC_START(nooks_k_call_asm)
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdx)
	movq %rdi, %rax
	movq %rsi, %rdi
	CALL_NOSPEC rax
	movl $1, %eax
SYM_INNER_LABEL(nooks_k_resume, SYM_L_GLOBAL)
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	RET
SYM_FUNC_END(nooks_k_call_asm)
