/*
 * logfmt_lint.h - a strict logfmt tokenizer for dtc's log lines (tests
 * and tools): every line is "key=value" pairs separated by one space;
 * a key is [A-Za-z0-9_.-]+, a value is bare (printable ASCII without
 * space, '"', '=' or '\') or quoted ("...", with \" \\ \n \r \t \xHH
 * escapes, printable ASCII and valid UTF-8 inside).
 */
#ifndef DTC_LOGFMT_LINT_H
#define DTC_LOGFMT_LINT_H
#include <stddef.h>

/* 0 if line[0..n) (no newline) is a valid record; else -1 with *why and
 * *col (0-based byte offset) saying what and where. */
int logfmt_lint_line(const char *line, size_t n, const char **why, size_t *col);
/* Checks every line of the file at path (records_only: only the lines
 * that start with "ts=", the log records among other output); prints each
 * bad one to stderr as "path:line:col: why" (at most 10).  Returns the
 * number of bad lines, or -1 if the file cannot be read. */
long logfmt_lint_file(const char *path, int records_only);

#endif
