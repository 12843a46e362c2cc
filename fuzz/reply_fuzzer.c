/*
 * Reply parser fuzzer. The first byte picks the options (enhanced status
 * codes, EHLO scanning, chunk size); the rest is server input, parsed as
 * a sequence of replies twice: whole and in chunks of the chosen size.
 * Both runs must give the same replies and stop at the same byte, and
 * every reply must respect the grammar's invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/reply.h"

typedef struct outcome {
    mailout_status st;
    size_t at;       /* bytes consumed when it ended */
    unsigned replies;
    uint32_t sum;    /* codes and caps, to compare runs */
} outcome;

static void check_reply(const mailout_reply_parser *p)
{
    const mailout_reply *r = p->reply;
    if (r->code < 200 || r->code > 559 || r->code % 100 > 59)
        abort();
    if (p->lines < 1 || p->lines > MAILOUT_REPLY_LINES_MAX)
        abort();
    size_t n = strlen(r->text);
    if (n > MAILOUT_REPLY_TEXT_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r->text[i] < 0x20 || (unsigned char)r->text[i] >= 0x7f)
            abort();
    if (r->enh_class && (r->enh_class != r->code / 100 || r->enh_subject > 999 || r->enh_detail > 999))
        abort();
}

static outcome run(const uint8_t *d, size_t n, size_t chunk, int esc, int scan)
{
    outcome o = {MAILOUT_OK, 0, 0, 0};
    mailout_reply_parser p;
    mailout_reply rep;
    mailout_ehlo e;
    char cap[64];
    size_t off = 0;
    mailout_reply_init(&p, &rep, esc, scan ? &e : NULL, cap, sizeof cap);
    while (off < n) {
        size_t len = n - off;
        if (chunk && len > chunk)
            len = chunk;
        size_t used = 0;
        mailout_status st = mailout_reply_feed(&p, d + off, len, &used, NULL);
        if (used > len || p.cap_len > sizeof cap)
            abort();
        off += used;
        if (st == MAILOUT_DONE) {
            check_reply(&p);
            o.replies++;
            o.sum = o.sum * 31u + p.reply->code + p.reply->enh_subject * 7u + p.reply->enh_detail;
            if (scan)
                o.sum = o.sum * 31u + e.acc.caps + e.acc.auth + (uint32_t)e.acc.size_limit;
            mailout_reply_init(&p, &rep, esc, scan ? &e : NULL, cap, sizeof cap);
            continue;
        }
        if (st != MAILOUT_OK) {
            if (st != MAILOUT_E_PROTO && st != MAILOUT_E_REPLY_TOO_LONG)
                abort();
            o.st = st;
            break;
        }
        if (used != len)
            abort();
    }
    o.at = off;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned opt = data[0];
    int esc = opt & 1, scan = (opt >> 1) & 1;
    size_t chunk = (opt >> 2) + 1;
    outcome a = run(data + 1, size - 1, 0, esc, scan);
    outcome b = run(data + 1, size - 1, chunk, esc, scan);
    if (a.st != b.st || a.at != b.at || a.replies != b.replies || a.sum != b.sum)
        abort();
    return 0;
}
