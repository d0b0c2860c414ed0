/*
 * version.c - dtc_version(): the version of the library linked at run time.
 */
#include "dtc/dtc.h"

const char *dtc_version(void)
{
    return DTC_VERSION_STRING;
}
