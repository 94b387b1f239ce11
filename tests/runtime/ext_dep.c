/*
 * ext_dep.c - libextdep.so, a library ext_exits.so needs and finds next
 * to itself through RUNPATH $ORIGIN (as extensions that bundle their
 * libraries do): the isolated loader maps a private copy of the
 * extension, whose origin ld.so would take for /proc/PID/fd.
 */
int ext_dep_answer(void);

int ext_dep_answer(void)
{
	return 42;
}
