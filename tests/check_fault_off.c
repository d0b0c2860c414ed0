/*
 * check_fault_off.c - crash points need the explicit opt-in: fault.c
 * compiled as a release build compiles it (without DTC_CRASH_POINTS)
 * ignores $DTC_CRASH_AT instead of killing the process.  The tests' own
 * build turns the crash points on, so the file is compiled here a second
 * time without them.
 */
#undef DTC_CRASH_POINTS
#include "../src/libdtc/fault.c"

#include <check.h>
#include <stdlib.h>

START_TEST(crash_at_ignored_without_opt_in)
{
    setenv("DTC_CRASH_AT", "test.point", 1);
    setenv("DTC_LOG", "error", 1); /* the one warning says it is ignored */
    dtc__fault("test.point");
    dtc__fault("test.point");
    dtc_fault("test.point");
    ck_assert_int_eq(atomic_load(&fault_armed), 0); /* still alive, disarmed */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fault_off");
    TCase *tc = tcase_create("fault_off");
    tcase_add_test(tc, crash_at_ignored_without_opt_in);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
