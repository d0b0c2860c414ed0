/*
 * names.c - which names are valid: participant names, instance names,
 * and the bounded checks of names and texts read from a damaged slot.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One character of a participant or instance name: DTC_NAME_RULE. */
static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

bool dtc_name_valid(const char *name, size_t size)
{
    size_t n = 0;
    if (name == NULL)
        return false;
    for (; name[n] != '\0'; n++) {
        if (n + 1 >= size || !name_char(name[n]))
            return false;
    }
    return n > 0;
}

bool dtc__name_valid(const char *name)
{
    return dtc_name_valid(name, DTC_NAME_MAX);
}

dtc_result dtc_resolve_instance(const char *name, char buf[DTC_INSTANCE_MAX])
{
    if (name == NULL || name[0] == '\0')
        name = getenv("DTC_INSTANCE");
    if (name == NULL || name[0] == '\0')
        name = "default";
    if (strlen(name) >= DTC_INSTANCE_MAX)
        return DTC_ETOOBIG;
    if (!dtc_name_valid(name, DTC_INSTANCE_MAX))
        return DTC_EINVAL;
    memcpy(buf, name, strlen(name) + 1);
    return DTC_OK;
}

bool dtc__text_safe(const char *s, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (s[i] == '\0')
            return true;
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    }
    return false;
}

bool dtc__name_safe(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL && dtc__name_valid(s);
}

