/* ext_unresolved.c - an extension that needs a symbol nobody defines, for
 * the loader's "unresolved symbol" error. */
int no_such_kernel_function(void);
int ext_init(void);

int ext_init(void)
{
	return no_such_kernel_function();
}
