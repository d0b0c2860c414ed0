/*
 * main.c - dtc-bench, the 2PC benchmark: a thin main over the other files
 * of src/bench/ (bench.h says how they are split).  dtc-bench --help for the options.
 */
#include "bench.h"

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rc = bench_parse_options(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    return bench_run(&o);
}
