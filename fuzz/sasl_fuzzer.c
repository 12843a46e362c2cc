/*
 * SASL mechanisms fed hostile challenges (lib/smtp/sasl.h).
 *
 * Input layout:
 *   byte 0   mechanism (low 3 bits, mod 5); bit 3: SCRAM nonce from the
 *            random callback instead of the RFC 7677 nonce; bit 4: start
 *            with an empty challenge (engine sent no initial response)
 *   byte 1   credentials (index into a small table)
 *   then     challenges, each as one length byte and that many bytes
 *
 * Checked after every call: a success has a response whose segments are
 * readable and non-empty, a failure has none, failures are sticky, and
 * finish() only succeeds where the exchange allows it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/sasl.h"

static const unsigned mechs[] = {MAILOUT_AUTH_PLAIN, MAILOUT_AUTH_LOGIN, MAILOUT_AUTH_CRAM_MD5,
                                 MAILOUT_AUTH_XOAUTH2, MAILOUT_AUTH_SCRAM_SHA256};

static const char *const creds[][2] = {
    {"user", "pencil"},
    {"tim", "tanstaaftanstaaf"},
    {"a,b=c", "p=,w"},
    {"someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"},
    {"\xc3\xa9t\xc3\xa9", "\xe2\x82\xac"},
};

static int fuzz_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0xa5, len);
    return 0;
}

/* Touch every byte of the response so ASan sees any bad segment. */
static void check_out(mailout_status st, const mailout_sasl_out *out)
{
    if (st != MAILOUT_OK) {
        if (out->has_response || out->nseg)
            abort();
        return;
    }
    if (!out->has_response || out->nseg > MAILOUT_SASL_SEGS)
        abort();
    volatile unsigned char sink = 0;
    for (unsigned i = 0; i < out->nseg; i++) {
        if (!out->seg[i].p || out->seg[i].n == 0 || out->seg[i].n > 2 * MAILOUT_SASL_CRED_MAX)
            abort();
        for (size_t k = 0; k < out->seg[i].n; k++)
            sink ^= out->seg[i].p[k];
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mech = mechs[(data[0] & 7) % 5];
    const char *const *cred = creds[data[1] % (sizeof creds / sizeof creds[0])];
    mailout_sasl s;
    mailout_sasl_out out;
    mailout_status st;

    if (mech == MAILOUT_AUTH_SCRAM_SHA256 && !(data[0] & 8))
        st = mailout_sasl_start_scram_nonce(&s, cred[0], cred[1], "rOprNGfwEbeRWgbNEkqO", 20, &out);
    else
        st = mailout_sasl_start(&s, mech, cred[0], cred[1], fuzz_random, NULL, &out);
    if (st != MAILOUT_OK)
        abort(); /* every mechanism is built in and the credentials are valid */
    if (mech == MAILOUT_AUTH_LOGIN || mech == MAILOUT_AUTH_CRAM_MD5) {
        if (out.has_response || out.nseg) /* these wait for a challenge */
            abort();
    } else {
        check_out(st, &out);
    }

    if (data[0] & 16) {
        st = mailout_sasl_step(&s, NULL, 0, &out);
        check_out(st, &out);
    }
    int failed = st != MAILOUT_OK;
    size_t pos = 2;
    while (pos < size) {
        size_t n = data[pos++];
        if (n > size - pos)
            n = size - pos;
        /* an exact-size copy so a read past the challenge is caught */
        unsigned char *ch = malloc(n ? n : 1);
        if (!ch)
            abort();
        memcpy(ch, data + pos, n);
        st = mailout_sasl_step(&s, ch, n, &out);
        free(ch);
        check_out(st, &out);
        if (failed && st == MAILOUT_OK)
            abort(); /* errors are sticky */
        failed |= st != MAILOUT_OK;
        pos += n;
    }
    st = mailout_sasl_finish(&s);
    if (failed && st == MAILOUT_OK)
        abort();
    mailout_sasl_wipe(&s);
    if (mailout_sasl_finish(&s) != MAILOUT_E_AUTH)
        abort();
    return 0;
}
