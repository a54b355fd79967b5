/* kahu — the main() of every Check unit-test program: TAP on stdout
 * (CK_TAP_LOG_FILE_NAME=- is set by the test harness), exit status = failures. */
#ifndef KAHU_CHECK_MAIN_H
#define KAHU_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define KAHU_CHECK_MAIN(suite_fn)                                      \
	int main(void)                                                 \
	{                                                              \
		SRunner *sr = srunner_create(suite_fn());              \
		srunner_run_all(sr, getenv("CK_TAP_LOG_FILE_NAME") ? CK_SILENT : CK_NORMAL); \
		int failed = srunner_ntests_failed(sr);                \
		srunner_free(sr);                                      \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;           \
	}

#endif
