dtc_add_check_test(check_core check_core.c tools/logfmt_lint.c)
dtc_add_check_test(check_dlog check_dlog.c)
