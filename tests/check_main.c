/* check_main.c - the main() every Check test executable shares. Each test
 * source defines make_suite(); ctest picks one case through CK_RUN_CASE. */
#include <check.h>
#include <stdlib.h>

Suite *make_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(make_suite());
    /* Windows has no fork(); keep both builds alike so a failure reproduces
     * the same way natively and under Wine. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    if (run == 0)
        return 1; /* a case name that matched nothing must not pass */
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
