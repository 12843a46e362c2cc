/*
 * Launching the scripted SMTP peer (tests/peer/peer.py) from cmocka tests.
 *
 * The peer is a separate /usr/bin/python3 process listening on 127.0.0.1
 * on a port the kernel chose; the script format is documented at the top
 * of peer.py. Typical use:
 *
 * @code
 *     peer_handle h;
 *     unsigned short port;
 *     assert_int_equal(peer_start_script(
 *         "[{\"send\": \"220 hi\\r\\n\"},"
 *         " {\"expect\": \"EHLO\", \"reply\": \"250 ok\\r\\n\"},"
 *         " {\"expect\": \"QUIT\", \"reply\": \"221 bye\\r\\n\"}]",
 *         rec_path, &port, &h), 0);
 *     ... run the client against 127.0.0.1:port ...
 *     int st;
 *     assert_int_equal(peer_wait(&h, &st), 0);
 *     assert_int_equal(st, 0);   // 0 = client followed the script
 * @endcode
 *
 * Every call is bounded in time; nothing here blocks forever. Not thread
 * safe (uses fork/exec and waitpid on the child's pid only).
 */
#ifndef MAILOUT_PEER_RUN_H
#define MAILOUT_PEER_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* How long peer_start waits for the "PORT n" line, and peer_wait for the
 * peer to exit, before giving up and killing it (milliseconds). */
#define PEER_START_LIMIT_MS 15000
#define PEER_WAIT_LIMIT_MS 30000

/* Exit statuses of peer.py (see peer_wait). */
#define PEER_EXIT_OK 0        /* the script ran to its end */
#define PEER_EXIT_DEVIATION 1 /* the client deviated or a step timed out */
#define PEER_EXIT_SCRIPT 2    /* bad script or arguments */
#define PEER_EXIT_KILLED 255  /* peer_wait had to kill it */

/* One running peer. Treat as opaque; zero it or let peer_start fill it. */
typedef struct peer_handle {
    pid_t pid;           /* -1 when no process */
    int out_fd;          /* read end of the child's stdout, -1 when closed */
    char tmp_script[64]; /* temporary script written by peer_start_script, "" if none */
} peer_handle;

/*
 * Start peer.py on script_path (a .json or .py script). record_path may be
 * NULL; otherwise the raw bytes of connection 0 go there (connection n to
 * "<record_path>.n") and a JSON event log to "<record_path>.json".
 * On success returns 0, stores the listening port in *port and the process
 * in *h (release it with peer_wait or peer_kill). On failure (python or the
 * script missing, a bad script, no "PORT" line within PEER_START_LIMIT_MS)
 * returns -1 with a message on stderr and nothing left running.
 * The peer's stderr is the test's stderr, so its deviation messages show up
 * in the test log.
 */
int peer_start(const char *script_path, const char *record_path, unsigned short *port, peer_handle *h);

/*
 * As peer_start, but the script is given as JSON text; it is written to a
 * temporary file which peer_wait/peer_kill remove.
 */
int peer_start_script(const char *json, const char *record_path, unsigned short *port, peer_handle *h);

/*
 * Wait (at most PEER_WAIT_LIMIT_MS) for the peer to exit and release *h.
 * Stores in *exit_status the exit code (PEER_EXIT_*), or PEER_EXIT_KILLED if
 * the peer had to be killed or died from a signal. Returns 0 if the peer
 * exited by itself, -1 otherwise. Safe to call on a released handle
 * (returns -1, status PEER_EXIT_KILLED).
 */
int peer_wait(peer_handle *h, int *exit_status);

/* Kill the peer (SIGKILL), reap it and release *h. Safe on a released
 * handle. */
void peer_kill(peer_handle *h);

/*
 * Make sure the test certificates exist (generating them with
 * tests/certs/mkcerts.sh on first use) and write their directory into
 * buf: ca.pem, server.pem, ... are in it. The directory is
 * $MAILOUT_CERTS_DIR, else $MAILOUT_BUILD_ROOT/test-certs, else a per-user
 * directory under /tmp: the same one peer.py uses. Returns 0, or -1 if it
 * failed or buf is too small.
 */
int peer_certs_dir(char *buf, size_t size);

/*
 * Read a whole file (e.g. a record) into buf. Returns the number of bytes,
 * or -1 if it cannot be read or is larger than size.
 */
long peer_read_file(const char *path, void *buf, size_t size);

#endif
