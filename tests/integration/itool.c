/* see itool.h: compose a message from options and send it with
 * mailout_send() or mailout_send_jobs(), or print it (--dry-run). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itool.h"

/* Exit statuses. */
#define EXIT_ACCEPTED 0
#define EXIT_REFUSED 1
#define EXIT_LOCAL 2

/* What a message needs to outlive: its environment and producer. */
typedef struct itool_msg {
    mailout_msg *m;
    uint64_t rng;
    itool_producer prod;
    size_t split_chunks[2];
} itool_msg;

/* ------------------------------------------------------------------ */
/* platform: seeded randomness (deterministic boundaries), trace file  */
/* ------------------------------------------------------------------ */

static int seeded_random(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        p[i] = (unsigned char)(*s >> 24);
    }
    return 0;
}

static void trace_line(void *ctx, mailout_trace_dir dir, const char *line, size_t len)
{
    static const char marks[] = {'>', '<', '*'};
    FILE *f = ctx;
    fputc(marks[dir <= MAILOUT_TRACE_INFO ? dir : MAILOUT_TRACE_INFO], f);
    fputc(' ', f);
    fwrite(line, 1, len, f);
    fputc('\n', f);
    fflush(f);
}

/* Per-recipient replies, for the pipelining reply-mapping tests. */
static void rcpt_reply(void *ctx, size_t index, const mailout_reply *reply)
{
    (void)ctx;
    printf("RCPT index=%zu code=%u\n", index, reply->code);
}

static uint64_t monotonic_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ */
/* the text producer                                                   */
/* ------------------------------------------------------------------ */

/* The chunk pattern marks boundaries in the data (cumulative sizes,
 * cycled); a call never produces across one, whatever the reader's room,
 * so a split at offset k is the same for every window size. A 0 in the
 * pattern answers AGAIN once at that boundary. */
static mailout_status prod_read(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    itool_producer *p = ctx;

    *produced = 0;
    if (p->pos >= p->fail_after)
        return MAILOUT_E_SOURCE;
    if (p->nchunks && p->pos == p->next_boundary && p->pos < p->len) {
        size_t c = p->chunks[p->chunk_i % p->nchunks];
        p->chunk_i++;
        if (c == 0)
            return MAILOUT_AGAIN;
        p->next_boundary = c > SIZE_MAX - p->pos ? SIZE_MAX : p->pos + c;
    }
    size_t want = p->len - p->pos;
    if (p->nchunks && want > p->next_boundary - p->pos)
        want = p->next_boundary - p->pos;
    if (want > cap)
        want = cap;
    if (p->fail_after != UINT64_MAX && p->pos + want > p->fail_after)
        want = (size_t)(p->fail_after - p->pos);
    if (want)
        memcpy(buf, p->data + p->pos, want);
    p->pos += want;
    *produced = want;
    if (p->pos == p->len)
        return MAILOUT_DONE;
    if (want == 0) /* at fail_after exactly */
        return MAILOUT_E_SOURCE;
    return MAILOUT_OK;
}

static mailout_status prod_rewind(void *ctx)
{
    itool_producer *p = ctx;
    p->pos = 0;
    p->chunk_i = 0;
    p->next_boundary = 0;
    return MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* composing                                                           */
/* ------------------------------------------------------------------ */

static int load_text(itool_text *t)
{
    if (t->inline_str) {
        t->len = strlen(t->inline_str);
        t->data = malloc(t->len + 1);
        if (!t->data)
            return -1;
        memcpy(t->data, t->inline_str, t->len + 1);
        return 0;
    }
    if (!t->path)
        return 0;
    FILE *f = fopen(t->path, "rb");
    if (!f) {
        perror(t->path);
        return -1;
    }
    size_t cap = 4096;
    t->data = malloc(cap);
    t->len = 0;
    for (;;) {
        if (!t->data)
            break;
        t->len += fread(t->data + t->len, 1, cap - t->len, f);
        if (t->len < cap)
            break;
        cap *= 2;
        unsigned char *n = realloc(t->data, cap);
        if (!n)
            free(t->data);
        t->data = n;
    }
    int bad = ferror(f) || !t->data;
    fclose(f);
    return bad ? -1 : 0;
}

/* Report a setter the message API refused; returns its status. */
static mailout_status refused(mailout_status st, const char *what)
{
    if (st != MAILOUT_OK)
        printf("RESULT status=%s stage=NONE code=0 enh=0.0.0 rcpt_ok=0 rcpt_failed=0 bytes=0 "
               "text=refused by %s\n",
               mailout_errname(st), what);
    return st;
}

/* A nested step that reported its own refusal. */
#define CHAIN(call)                   \
    do {                              \
        mailout_status st_ = (call);  \
        if (st_ != MAILOUT_OK)        \
            return st_;               \
    } while (0)

#define TRY(call, what)                               \
    do {                                              \
        mailout_status st_ = refused((call), (what)); \
        if (st_ != MAILOUT_OK)                        \
            return st_;                               \
    } while (0)

/* "Name: value": split at the first ": " (so that names with a colon
 * can be tried), else at the first ':'. */
static mailout_status add_header(mailout_msg *m, const char *spec)
{
    char name[256];
    const char *sep = strstr(spec, ": ");
    const char *value;
    if (sep) {
        value = sep + 2;
    } else {
        sep = strchr(spec, ':');
        if (!sep)
            sep = spec + strlen(spec);
        value = *sep ? sep + 1 : sep;
    }
    size_t n = (size_t)(sep - spec);
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, spec, n);
    name[n] = '\0';
    return mailout_msg_add_header(m, name, value);
}

static mailout_status compose_envelope(const itool_opts *o, mailout_msg *m)
{
    if (o->from)
        TRY(mailout_msg_set_from(m, o->from, o->from_name), "set_from");
    if (o->envelope_from)
        TRY(mailout_msg_set_envelope_from(m, o->envelope_from), "set_envelope_from");
    for (size_t i = 0; i < o->nto; i++)
        TRY(mailout_msg_add_recipient(m, MAILOUT_TO, o->to[i], NULL), "add_recipient(to)");
    for (size_t i = 0; i < o->ncc; i++)
        TRY(mailout_msg_add_recipient(m, MAILOUT_CC, o->cc[i], NULL), "add_recipient(cc)");
    for (size_t i = 0; i < o->nbcc; i++)
        TRY(mailout_msg_add_recipient(m, MAILOUT_BCC, o->bcc[i], NULL), "add_recipient(bcc)");
    if (o->subject)
        TRY(mailout_msg_set_subject(m, o->subject), "set_subject");
    for (size_t i = 0; i < o->nheaders; i++)
        TRY(add_header(m, o->headers[i]), "add_header");
    if (o->message_id)
        TRY(mailout_msg_set_message_id(m, o->message_id), "set_message_id");
    if (o->have_date)
        TRY(mailout_msg_set_date(m, o->date, 0), "set_date");
    return MAILOUT_OK;
}

static mailout_status text_part(const itool_opts *o, itool_msg *im, mailout_part *parent, size_t split)
{
    mailout_part *p;
    TRY(mailout_part_new(im->m, parent, &p), "part_new(text)");
    if (o->producer) {
        itool_producer *pr = &im->prod;
        memset(pr, 0, sizeof *pr);
        pr->data = o->text.data;
        pr->len = o->text.len;
        pr->chunks = o->chunks;
        pr->nchunks = o->nchunks;
        pr->fail_after = o->fail_after;
        if (split) {
            /* --sweep: two chunks, cut at this offset */
            im->split_chunks[0] = split;
            im->split_chunks[1] = SIZE_MAX;
            pr->chunks = im->split_chunks;
            pr->nchunks = 2;
        }
        TRY(mailout_part_set_producer(p, prod_read, o->producer_rewind ? prod_rewind : NULL, pr,
                                      o->fail_after == UINT64_MAX ? (uint64_t)o->text.len : MAILOUT_SIZE_UNKNOWN),
            "part_set_producer");
    } else {
        TRY(mailout_part_set_data(p, o->text.data, o->text.len), "part_set_data(text)");
    }
    if (o->text_type)
        TRY(mailout_part_set_type(p, o->text_type), "part_set_type(text)");
    if (o->text_encoding != MAILOUT_ENC_AUTO)
        TRY(mailout_part_set_encoding(p, o->text_encoding), "part_set_encoding(text)");
    return MAILOUT_OK;
}

static mailout_status html_part(const itool_opts *o, mailout_msg *m, mailout_part *parent)
{
    mailout_part *p;
    TRY(mailout_part_new(m, parent, &p), "part_new(html)");
    TRY(mailout_part_set_data(p, o->html.data, o->html.len), "part_set_data(html)");
    TRY(mailout_part_set_type(p, "text/html"), "part_set_type(html)");
    return MAILOUT_OK;
}

static mailout_status attachment(const itool_opts *o, mailout_msg *m, mailout_part *parent, size_t i)
{
    mailout_part *p;
    TRY(mailout_part_new(m, parent, &p), "part_new(attachment)");
    /* the name first: set_file keeps a filename that is already set */
    if (o->attach_name[i])
        TRY(mailout_part_set_filename(p, o->attach_name[i]), "part_set_filename");
    TRY(mailout_part_set_file(p, o->attach[i]), "part_set_file");
    TRY(mailout_part_set_type(p, o->attach_type[i] ? o->attach_type[i] : "application/octet-stream"),
        "part_set_type(attachment)");
    TRY(mailout_part_set_disposition(p, MAILOUT_ATTACHMENT), "part_set_disposition");
    return MAILOUT_OK;
}

/* The part tree: text and html become a multipart/alternative, and with
 * attachments everything goes into a multipart/mixed. */
static mailout_status compose_body(const itool_opts *o, itool_msg *im, size_t split)
{
    int has_text = o->text.path || o->text.inline_str;
    int has_html = o->html.path || o->html.inline_str;
    mailout_part *root = NULL, *alt = NULL;

    if (o->nattach)
        TRY(mailout_part_new_multipart(im->m, NULL, MAILOUT_MULTIPART_MIXED, &root), "new_multipart(mixed)");
    alt = root;
    if (has_text && has_html)
        TRY(mailout_part_new_multipart(im->m, root, MAILOUT_MULTIPART_ALTERNATIVE, &alt),
            "new_multipart(alternative)");
    if (has_text)
        CHAIN(text_part(o, im, alt, split));
    if (has_html)
        CHAIN(html_part(o, im->m, alt));
    for (size_t i = 0; i < o->nattach; i++)
        CHAIN(attachment(o, im->m, root, i));
    return MAILOUT_OK;
}

static mailout_status compose(const itool_opts *o, itool_msg *im, size_t split)
{
    mailout_allocator heap = mailout_heap_allocator();
    mailout_env env = mailout_posix_env();

    TRY(mailout_msg_new(&im->m, &heap), "msg_new");
    if (o->seed) {
        im->rng = o->seed;
        env.random = seeded_random;
        env.ctx = &im->rng; /* the POSIX clock and files ignore ctx */
    }
    TRY(mailout_msg_set_env(im->m, &env), "set_env");
    mailout_status st = compose_envelope(o, im->m);
    if (st == MAILOUT_OK)
        st = compose_body(o, im, split);
    return st;
}

/* ------------------------------------------------------------------ */
/* sending                                                             */
/* ------------------------------------------------------------------ */

static void print_result(const mailout_result *r)
{
    printf("RESULT status=%s stage=%s code=%u enh=%u.%u.%u rcpt_ok=%zu rcpt_failed=%zu bytes=%llu text=%s\n",
           mailout_errname(r->status), mailout_smtp_stage_name(r->stage), r->reply.code, r->reply.enh_class,
           r->reply.enh_subject, r->reply.enh_detail, r->rcpt_ok, r->rcpt_failed,
           (unsigned long long)r->data_bytes, r->reply.text);
}

static void smtp_config(const itool_opts *o, mailout_smtp_config *sc, FILE *trace)
{
    memset(sc, 0, sizeof *sc);
    sc->ehlo_name = o->ehlo;
    sc->tls = o->tls;
    sc->user = o->user;
    sc->password = o->password;
    sc->oauth_token = o->oauth_token;
    sc->auth_mechs = o->auth_mechs;
    sc->allow_plaintext_auth = o->allow_plaintext_auth;
    sc->no_pipelining = o->no_pipelining;
    sc->no_chunking = o->no_chunking;
    sc->timeout_ms = o->timeout_ms;
    sc->cb.rcpt = rcpt_reply;
    if (trace) {
        sc->cb.trace = trace_line;
        sc->cb.ctx = trace;
    }
}

static void tls_config(const itool_opts *o, mailout_tls_config *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->server_name = o->server_name ? o->server_name : o->host;
    tc->ca_file = o->cafile;
}

static int send_one(const itool_opts *o, mailout_msg *m, FILE *trace)
{
    mailout_client_config cfg;
    mailout_result r;

    memset(&cfg, 0, sizeof cfg);
    cfg.host = o->host;
    cfg.port = o->port;
    cfg.connect_timeout_ms = 10000;
    smtp_config(o, &cfg.smtp, trace);
    tls_config(o, &cfg.tls);
    mailout_send(&cfg, m, &r);
    print_result(&r);
    return r.status == MAILOUT_OK ? EXIT_ACCEPTED : EXIT_REFUSED;
}

/* Jobs mode: every message on one connection (mailout_send_jobs). */
static int send_jobs(const itool_opts *o, itool_msg *msgs, size_t n, FILE *trace)
{
    const char **stores = calloc(n * MAILOUT_MAX_RECIPIENTS, sizeof *stores);
    mailout_job *jobs = calloc(n, sizeof *jobs);
    mailout_result *res = calloc(n, sizeof *res);
    const char *raw_rcpt[1] = {o->raw_rcpt};
    mailout_tcp_config tcfg;
    mailout_smtp_config sc;
    mailout_tls_config tc;
    mailout_transport t;
    mailout_tcp *tcp = NULL;
    char ehlo[256];
    int rc = EXIT_LOCAL;

    if (!stores || !jobs || !res)
        goto out;
    for (size_t i = 0; i < n; i++) {
        mailout_status st = mailout_job_from_msg(&jobs[i], msgs[i].m, stores + i * MAILOUT_MAX_RECIPIENTS);
        if (refused(st, "job_from_msg") != MAILOUT_OK) {
            rc = EXIT_REFUSED;
            goto out;
        }
        if (o->raw_mail_from)
            jobs[i].mail_from = o->raw_mail_from;
        if (o->raw_rcpt) {
            jobs[i].rcpt = raw_rcpt;
            jobs[i].rcpt_count = 1;
        }
    }
    memset(&tcfg, 0, sizeof tcfg);
    tcfg.host = o->host;
    tcfg.port = o->port;
    tcfg.connect_timeout_ms = 10000;
    tcfg.nonblocking = 1;
    mailout_status st = mailout_tcp_open(&tcp, &tcfg, NULL, &t);
    if (st != MAILOUT_OK) {
        printf("SESSION status=%s (connect)\n", mailout_errname(st));
        rc = EXIT_REFUSED;
        goto out;
    }
    smtp_config(o, &sc, trace);
    if (!sc.ehlo_name && mailout_tcp_ehlo_name(tcp, ehlo, sizeof ehlo) == MAILOUT_OK)
        sc.ehlo_name = ehlo;
    tls_config(o, &tc);
    st = mailout_send_jobs(&t, &sc, &tc, jobs, n, res, monotonic_ms, NULL);
    t.close(t.ctx);
    mailout_tcp_free(tcp);
    rc = st == MAILOUT_OK ? EXIT_ACCEPTED : EXIT_REFUSED;
    for (size_t i = 0; i < n; i++) {
        print_result(&res[i]);
        if (res[i].status != MAILOUT_OK)
            rc = EXIT_REFUSED;
    }
    printf("SESSION status=%s\n", mailout_errname(st));
out:
    free(stores);
    free(jobs);
    free(res);
    return rc;
}

static int dry_run(const itool_opts *o, mailout_msg *m)
{
    unsigned char buf[777]; /* an odd window, so reads straddle every structure */
    size_t got;
    mailout_status st = mailout_msg_read_start(m, o->dry_run == 2 ? MAILOUT_READ_SMTP : 0);
    if (refused(st, "msg_read_start") != MAILOUT_OK)
        return EXIT_REFUSED;
    do {
        st = mailout_msg_read(m, buf, sizeof buf, &got);
        fwrite(buf, 1, got, stdout);
    } while (st == MAILOUT_OK || st == MAILOUT_AGAIN);
    fflush(stdout);
    if (st != MAILOUT_DONE) {
        fprintf(stderr, "itool: read failed: %s\n", mailout_errname(st));
        return EXIT_REFUSED;
    }
    return EXIT_ACCEPTED;
}

int main(int argc, char **argv)
{
    itool_opts o;
    FILE *trace = NULL;
    itool_msg *msgs = NULL;
    size_t n = 1;
    int rc = EXIT_LOCAL;

    if (itool_parse(&o, argc, argv) != 0) {
        itool_usage();
        return EXIT_LOCAL;
    }
    if (load_text(&o.text) != 0 || load_text(&o.html) != 0)
        goto out;
    if (o.sweep)
        n = o.text.len ? o.text.len : 1; /* message 0 unsplit, message k split at k */
    else if (o.repeat)
        n = o.repeat;
    msgs = calloc(n, sizeof *msgs);
    if (!msgs)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (compose(&o, &msgs[i], o.sweep ? i : 0) != MAILOUT_OK) {
            rc = EXIT_REFUSED;
            goto out;
        }
    }
    if (o.trace_path && !(trace = fopen(o.trace_path, "w"))) {
        perror(o.trace_path);
        goto out;
    }
    if (o.dry_run)
        rc = dry_run(&o, msgs[0].m);
    else if (o.repeat || o.sweep || o.raw_mail_from || o.raw_rcpt)
        rc = send_jobs(&o, msgs, n, trace);
    else
        rc = send_one(&o, msgs[0].m, trace);
out:
    if (trace)
        fclose(trace);
    for (size_t i = 0; msgs && i < n; i++)
        mailout_msg_free(msgs[i].m);
    free(msgs);
    free(o.text.data);
    free(o.html.data);
    fflush(stdout);
    return rc;
}
