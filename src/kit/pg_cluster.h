/*
 * pg_cluster.h - a throwaway PostgreSQL cluster (pg_cluster.c): initdb in
 * a fresh temp dir, its own port and socket dir, no TCP, run as the
 * postgres user when we are root; never a system cluster.  dtc-bench's
 * peer (modes pg, pg-nofsync) and the tests that need a real PostgreSQL.
 */
#ifndef DTC_KIT_PG_CLUSTER_H
#define DTC_KIT_PG_CLUSTER_H

#include <stddef.h>
#include <sys/types.h>

#define BENCH_PG_DBS 3        /* databases of the PostgreSQL peer: its "N" */

/* A throwaway cluster under a temp dir, run as the postgres user when we
 * are root.  Only pg_cluster.c and its users' setup code touch the fields. */
struct bench_pgc {
    char bindir[4096];     /* holds initdb and pg_ctl */
    char dir[256];         /* the temp dir: socket, logs, data/ */
    char data[300];        /* dir/data, the cluster */
    int port;              /* of the socket file, from our pid */
    int as_postgres;       /* euid 0: initdb and pg_ctl through runuser */
    unsigned uid, gid;     /* postgres's, when as_postgres */
    int running;           /* pg_ctl start succeeded, no stop yet */
    pid_t postmaster;      /* from data/postmaster.pid while running */
};

/* Finds the binaries, makes the temp dir and runs initdb.  0, or -1 with
 * why (the reason, for the "not available" line) filled. */
int bench_pgc_init(struct bench_pgc *c, char *why, size_t whysize);
/* Writes the settings (fsync on or off, room for max_coords clients with
 * BENCH_PG_DBS connections each) and starts it with pg_ctl -w.  0 or -1. */
int bench_pgc_start(struct bench_pgc *c, int fsync, int max_coords, char *why, size_t whysize);
/* pg_ctl stop -m fast (then immediate, then SIGKILL, each bounded). */
void bench_pgc_stop(struct bench_pgc *c);
/* Stops it if running and removes the temp dir.  Safe to repeat. */
void bench_pgc_destroy(struct bench_pgc *c);

#endif /* DTC_KIT_PG_CLUSTER_H */
