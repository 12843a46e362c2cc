/*
 * A scripted SMTP peer for the engine: no sockets, the test drives
 * mailout_smtp_* directly and compares every byte the client writes.
 *
 * A script is a list of steps. C() steps are the exact client bytes
 * expected before the engine next waits (for a reply, for the caller, or
 * ends); S() steps are server bytes to deliver; other steps are events.
 * Between two waits the engine's output must equal the concatenation of
 * the C() steps found there, so a pipelined group is one C() (or several
 * in a row) and a non-pipelined exchange alternates C()/S().
 */
#ifndef MAILOUT_TEST_HARNESS_H
#define MAILOUT_TEST_HARNESS_H

#include "testutil.h"

#include <string.h>

enum {
    ST_END = 0,
    ST_C,       /* client bytes expected */
    ST_S,       /* server bytes delivered */
    ST_ABORT,   /* mailout_smtp_abort(status) */
    ST_TLS,     /* expect WANT_TLS, answer tls_done(status) */
    ST_SUBMIT,  /* expect IDLE, submit job[arg] expecting status */
    ST_QUIT,    /* expect IDLE, quit() */
    ST_TIME     /* set_time(arg) */
};

typedef struct hstep {
    int kind;
    const char *data;
    size_t len;
    long arg;
    int status;
} hstep;

#define C(s) {ST_C, (s), sizeof(s) - 1, 0, 0}
#define S(s) {ST_S, (s), sizeof(s) - 1, 0, 0}
#define ABORT(st) {ST_ABORT, NULL, 0, 0, (st)}
#define TLS(st) {ST_TLS, NULL, 0, 0, (st)}
#define SUBMIT(i, st) {ST_SUBMIT, NULL, 0, (i), (st)}
#define QUIT() {ST_QUIT, NULL, 0, 0, 0}
#define TIME(ms) {ST_TIME, NULL, 0, (ms), 0}
#define END() {ST_END, NULL, 0, 0, 0}

/* A buffer-backed body source. */
typedef struct tbody {
    const char *data;
    size_t len;
    size_t pos;
    size_t chunk;          /* most bytes per read (0 = no limit) */
    long fail_at;          /* fail once pos reaches this (-1 = never) */
    mailout_status fail_st;
    int again;             /* answer AGAIN before every read with data */
    int again_flip;
    int stuffs;            /* data is already the DATA stream */
    int is8;
    int size_unknown;
    mailout_status start_st;
    unsigned start_flags;  /* flags passed to start() (for asserts) */
    int starts;
} tbody;

void tbody_init(tbody *b, const char *data);
mailout_body tbody_body(tbody *b);

/* How bytes move in one run. */
typedef struct hmode {
    size_t out_size;  /* config out_buf_size (0 = default) */
    size_t drain;     /* most bytes acknowledged per out_ack (0 = all) */
    size_t split;     /* server steps delivered as [split][rest] (0 = whole) */
    int bytewise;     /* server steps delivered one byte at a time */
} hmode;

typedef struct hrun {
    mailout_smtp *s;
    mailout_smtp_config cfg;
    mailout_job jobs[4];
    tbody bodies[4];
    const char *rcpts[4][8];
    char trace[65536];
    size_t trace_len;
    unsigned long progress_calls;
    uint64_t progress_sent, progress_total;
    unsigned rcpt_cb;
    uint16_t rcpt_cb_codes[8];
    mailout_status final;
} hrun;

/* cfg defaults: ehlo "client.example", TLS NONE, trace collected. */
void hrun_init(hrun *r);
/* Job i: from, NULL-terminated recipients, body text (for DATA). */
void hrun_job(hrun *r, int i, const char *from, const char *const *rcpt, const char *body);
/* Run the script with the mode; asserts every step. Frees the engine
 * unless keep is set. Returns the final session status. */
mailout_status hrun_go(hrun *r, const hstep *script, const hmode *mode, int tls_active);
void hrun_free(hrun *r);
/* Run in every mode: whole, bytewise, every split, out sizes 64..300,
 * drain 1. @p setup re-initialises r before each run; @p check is called
 * after each. vary_out = 0 keeps the out buffer size (BDAT chunks). */
void hrun_all(void (*setup)(hrun *), const hstep *script, int tls_active, int vary_out,
              void (*check)(hrun *));

int trace_has(const hrun *r, const char *needle);

#endif
