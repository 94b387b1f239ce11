/*
 * cunit_run.h - what every CUnit runner of the project does last: run the
 * registered suites in basic mode (CUnit prints its summary), print
 * "LABEL: N passed, M failed", and leave "N M" in result_file for
 * tools/summary.sh.  CU_basic_run_tests() does not return the failure
 * count, so it comes from CU_get_number_of_tests_*().  Returns the exit
 * status: 0 when nothing failed.
 */
#ifndef CUNIT_RUN_H
#define CUNIT_RUN_H

int cunit_run(const char *label, const char *result_file);

#endif
