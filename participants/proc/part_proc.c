/*
 * part_proc.c - a participant program's signals, its attaching to the
 * instance and its ready line (part_proc.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "part_proc.h"

volatile sig_atomic_t part_stop;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        dtc_log_reopen(); /* logrotate moved --log-file */
    else
        part_stop = 1;
}

void part_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

dtc_result part_attach(const char *instance, const char *name, dtc_instance **out)
{
    for (int tries = 0; !part_stop; tries++) {
        dtc_result rc = dtc_open(instance, out);
        /* DTC_ECORRUPT for a few tries: a segment dtcd is still writing */
        if (rc != DTC_ENOSEGMENT && (rc != DTC_ECORRUPT || tries >= 30))
            return rc;
        if (tries % 50 == 0)
            dtc_log(DTC_LOG_INFO, "start", NULL, name, "waiting=dtcd why=instance_has_no_segment_yet");
        struct timespec t = {0, 100 * 1000000L};
        nanosleep(&t, NULL);
    }
    return DTC_ESHUTDOWN;
}

bool part_stopped_waiting(dtc_result rc, const char *name)
{
    if (rc != DTC_ESHUTDOWN || !part_stop)
        return false;
    dtc_log(DTC_LOG_INFO, "stop", NULL, name, "exit=0 why=stopped_while_waiting_for_dtcd");
    return true;
}

void part_ready(const char *name)
{
    printf("ready name=%s pid=%ld\n", name, (long)getpid());
    fflush(stdout);
}
