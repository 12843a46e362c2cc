/*
 * SASL client mechanisms: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, SCRAM-SHA-256.
 * See sasl.h for the exchanges and the contract.
 */
#include <string.h>

#include "internal.h"

#include <mailout/encode.h>
#include "smtp/crypto.h"
#include "smtp/sasl.h"

#define MECH_ALL                                                                                         \
    (MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_LOGIN | MAILOUT_AUTH_CRAM_MD5 | MAILOUT_AUTH_XOAUTH2 |           \
     MAILOUT_AUTH_SCRAM_SHA256)

#define MECH_BUILT                                                                                       \
    ((MAILOUT_ENABLE_AUTH_PLAIN ? MAILOUT_AUTH_PLAIN : 0u) |                                             \
     (MAILOUT_ENABLE_AUTH_LOGIN ? MAILOUT_AUTH_LOGIN : 0u) |                                             \
     (MAILOUT_ENABLE_AUTH_CRAM_MD5 ? MAILOUT_AUTH_CRAM_MD5 : 0u) |                                       \
     (MAILOUT_ENABLE_AUTH_XOAUTH2 ? MAILOUT_AUTH_XOAUTH2 : 0u) |                                         \
     (MAILOUT_ENABLE_AUTH_SCRAM_SHA256 ? MAILOUT_AUTH_SCRAM_SHA256 : 0u))

/* s->step: how far the exchange got. Mechanisms count up from STEP_START;
 * the two terminal values are shared. */
enum {
    STEP_START = 0,   /* start() done; initial response (if any) produced */
    STEP_1,           /* one challenge answered */
    STEP_2,           /* two challenges answered (LOGIN done; SCRAM verified) */
    STEP_SERVER_FAIL, /* XOAUTH2: the server sent its error JSON */
    STEP_FAILED       /* a step failed: sticky E_AUTH */
};

/* ---- output segments ------------------------------------------------ */

static void out_reset(mailout_sasl_out *out)
{
    out->nseg = 0;
    out->has_response = 0;
}

#if MECH_BUILT != 0
/* Append a segment; empty ones are dropped (sasl.h: n is never 0). */
static void out_add(mailout_sasl_out *out, const void *p, size_t n)
{
    out->has_response = 1;
    if (n == 0 || out->nseg >= MAILOUT_SASL_SEGS)
        return;
    out->seg[out->nseg].p = p;
    out->seg[out->nseg].n = n;
    out->nseg++;
}
#endif

/* A string literal as a segment (its bytes live in .rodata). */
#define OUT_LIT(out, lit) out_add((out), (lit), sizeof(lit) - 1)

/* ---- start ------------------------------------------------------------ */

/* Length of @p str if it is 1..MAILOUT_SASL_CRED_MAX bytes, else 0. The
 * scan stops at the limit, so a huge input costs little. */
static size_t cred_len(const char *str)
{
    size_t n = 0;
    while (n <= MAILOUT_SASL_CRED_MAX && str[n])
        n++;
    return n <= MAILOUT_SASL_CRED_MAX ? n : 0;
}

/* Common checks and setup; wipes @p s first so no old state survives. */
static mailout_status begin(mailout_sasl_state *s, unsigned mech, const char *user, const char *secret,
                            mailout_sasl_out *out)
{
    if (out)
        out_reset(out);
    if (!s || !out)
        return MAILOUT_E_INVAL;
    mailout_crypto_wipe(s, sizeof *s);
    if (!user || !secret || (mech & (mech - 1)) != 0 || (mech & MECH_ALL) == 0)
        return MAILOUT_E_INVAL;
    if ((mech & MECH_BUILT) == 0)
        return MAILOUT_E_AUTH_UNSUPPORTED;
    s->user_len = cred_len(user);
    s->secret_len = cred_len(secret);
    if (s->user_len == 0 || s->secret_len == 0)
        return MAILOUT_E_INVAL;
    /* XOAUTH2 separates fields with \1: one inside a field would inject. */
    if (MAILOUT_ENABLE_AUTH_XOAUTH2 && mech == MAILOUT_AUTH_XOAUTH2 &&
        (memchr(user, 1, s->user_len) || memchr(secret, 1, s->secret_len)))
        return MAILOUT_E_INVAL;
    s->mech = mech;
    s->user = user;
    s->secret = secret;
    s->step = STEP_START;
    return MAILOUT_OK;
}

#if MAILOUT_ENABLE_AUTH_PLAIN
static void plain_response(const mailout_sasl_state *s, mailout_sasl_out *out)
{
    static const unsigned char nul = 0;
    out_add(out, &nul, 1); /* empty authzid */
    out_add(out, s->user, s->user_len);
    out_add(out, &nul, 1);
    out_add(out, s->secret, s->secret_len);
}
#endif

#if MAILOUT_ENABLE_AUTH_XOAUTH2
static void xoauth2_response(const mailout_sasl_state *s, mailout_sasl_out *out)
{
    OUT_LIT(out, "user=");
    out_add(out, s->user, s->user_len);
    OUT_LIT(out, "\001auth=Bearer ");
    out_add(out, s->secret, s->secret_len);
    OUT_LIT(out, "\001\001");
}
#endif

#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256

/* client-first-message-bare = "n=" saslname ",r=" c-nonce, kept in buf
 * for the AuthMessage of the next step. */
static mailout_status scram_first(mailout_sasl_state *s, const unsigned char *nonce, size_t nonce_len,
                                  mailout_sasl_out *out)
{
    size_t o = 2;
    memcpy(s->buf, "n=", 2);
    for (size_t i = 0; i < s->user_len; i++) {
        unsigned char c = (unsigned char)s->user[i];
        int esc = c == ',' || c == '=';
        /* room for this char and the ",r=" nonce that follows */
        if (o + (esc ? 3 : 1) + 3 + nonce_len > sizeof s->buf)
            return MAILOUT_E_INVAL;
        if (esc) {
            memcpy(s->buf + o, c == ',' ? "=2C" : "=3D", 3);
            o += 3;
        } else {
            s->buf[o++] = c;
        }
    }
    memcpy(s->buf + o, ",r=", 3);
    memcpy(s->buf + o + 3, nonce, nonce_len);
    s->bare_len = s->buf_len = o + 3 + nonce_len;
    s->nonce_len = nonce_len;
    OUT_LIT(out, "n,,");
    out_add(out, s->buf, s->bare_len);
    return MAILOUT_OK;
}

static int scram_nonce_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
            return 0;
    return n > 0;
}

static mailout_status scram_start(mailout_sasl_state *s, int (*random)(void *ctx, void *buf, size_t len),
                                  void *random_ctx, mailout_sasl_out *out)
{
    unsigned char rnd[MAILOUT_SCRAM_NONCE_RANDOM];
    unsigned char nonce[(MAILOUT_SCRAM_NONCE_RANDOM + 2) / 3 * 4];

    if (!random)
        return MAILOUT_E_INVAL;
    if (random(random_ctx, rnd, sizeof rnd) != 0)
        return MAILOUT_E_INTERNAL;
    mailout_b64_encode_block(rnd, sizeof rnd, (char *)nonce, sizeof nonce); /* 24 bytes: no '=' padding */
    mailout_status st = scram_first(s, nonce, sizeof nonce, out);
    mailout_crypto_wipe(rnd, sizeof rnd);
    return st;
}

#endif

mailout_status mailout_sasl_state_start(mailout_sasl_state *s, unsigned mech, const char *user, const char *secret,
                                        int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                        mailout_sasl_out *out)
{
    mailout_status st = begin(s, mech, user, secret, out);
    (void)random;
    (void)random_ctx;
    switch (st == MAILOUT_OK ? mech : 0u) {
#if MAILOUT_ENABLE_AUTH_PLAIN
    case MAILOUT_AUTH_PLAIN:
        plain_response(s, out);
        break;
#endif
#if MAILOUT_ENABLE_AUTH_XOAUTH2
    case MAILOUT_AUTH_XOAUTH2:
        xoauth2_response(s, out);
        break;
#endif
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
    case MAILOUT_AUTH_SCRAM_SHA256:
        st = scram_start(s, random, random_ctx, out);
        break;
#endif
    default: /* failed, or LOGIN / CRAM-MD5: no initial response */
        break;
    }
    if (st != MAILOUT_OK && s && out) {
        mailout_crypto_wipe(s, sizeof *s);
        out_reset(out);
    }
    return st;
}

mailout_status mailout_sasl_start(mailout_sasl *s, unsigned mech, const char *user, const char *secret,
                                  int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                  mailout_sasl_out *out)
{
    if (s)
        mailout_crypto_wipe(&s->work, sizeof s->work);
    return mailout_sasl_state_start(s ? &s->st : NULL, mech, user, secret, random, random_ctx, out);
}

mailout_status mailout_sasl_start_scram_nonce(mailout_sasl *s, const char *user, const char *password,
                                              const char *nonce, size_t nonce_len, mailout_sasl_out *out)
{
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
    mailout_sasl_state *ss = s ? &s->st : NULL;
    mailout_status st = begin(ss, MAILOUT_AUTH_SCRAM_SHA256, user, password, out);
    if (st == MAILOUT_OK && (!nonce || nonce_len > MAILOUT_SCRAM_NONCE_MAX ||
                             !scram_nonce_ok((const unsigned char *)nonce, nonce_len)))
        st = MAILOUT_E_INVAL;
    if (st == MAILOUT_OK)
        st = scram_first(ss, (const unsigned char *)nonce, nonce_len, out);
    if (st != MAILOUT_OK && s && out) {
        mailout_sasl_wipe(s);
        out_reset(out);
    }
    return st;
#else
    (void)s;
    (void)user;
    (void)password;
    (void)nonce;
    (void)nonce_len;
    if (out)
        out_reset(out);
    return MAILOUT_E_AUTH_UNSUPPORTED;
#endif
}

/* ---- steps -------------------------------------------------------------- */

#if MAILOUT_ENABLE_AUTH_CRAM_MD5
static mailout_status cram_step(mailout_sasl_state *s, mailout_sasl_work *w, const unsigned char *ch, size_t len,
                                mailout_sasl_out *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[MAILOUT_MD5_LEN];

    if (s->step != STEP_START || len == 0 || !w)
        return MAILOUT_E_AUTH;
    mailout_hmac_init(&w->mac, MAILOUT_HASH_MD5, s->secret, s->secret_len);
    mailout_hmac_update(&w->mac, ch, len);
    mailout_hmac_final(&w->mac, mac); /* wipes the context */
    for (unsigned i = 0; i < sizeof mac; i++) {
        s->buf[2 * i] = (unsigned char)hex[mac[i] >> 4];
        s->buf[2 * i + 1] = (unsigned char)hex[mac[i] & 15];
    }
    mailout_crypto_wipe(mac, sizeof mac);
    s->buf_len = 2 * sizeof mac;
    out_add(out, s->user, s->user_len);
    OUT_LIT(out, " ");
    out_add(out, s->buf, s->buf_len);
    s->step = STEP_1;
    return MAILOUT_OK;
}
#endif

#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256

/* One "x=value" attribute at *p (RFC 5802 §5.1); the value runs to the
 * next ',' or the end. On success *p moves past the ','. */
static int scram_attr(const unsigned char **p, const unsigned char *end, char name, const unsigned char **val,
                      size_t *vlen)
{
    const unsigned char *q = *p;
    if (end - q < 2 || q[0] != (unsigned char)name || q[1] != '=')
        return -1;
    q += 2;
    const unsigned char *comma = memchr(q, ',', (size_t)(end - q));
    *val = q;
    *vlen = (size_t)((comma ? comma : end) - q);
    *p = comma ? comma + 1 : end;
    return 0;
}

/* posit-number without leading zero, within the accepted range. */
static int scram_iterations(const unsigned char *v, size_t n, uint32_t *out)
{
    uint32_t i = 0;
    if (n == 0 || v[0] == '0')
        return -1;
    for (size_t k = 0; k < n; k++) {
        if (v[k] < '0' || v[k] > '9' || i > MAILOUT_SCRAM_MAX_ITERATIONS)
            return -1;
        i = i * 10 + (uint32_t)(v[k] - '0');
    }
    if (i < MAILOUT_SCRAM_MIN_ITERATIONS || i > MAILOUT_SCRAM_MAX_ITERATIONS)
        return -1;
    *out = i;
    return 0;
}

/* Strict base64 (sasl.h: canonical, padded) into @p dst; -1 if malformed or too long. */
static long b64_decode(const unsigned char *in, size_t n, unsigned char *dst, size_t cap)
{
    size_t got;
    if (mailout_b64_decode_block((const char *)in, n, dst, cap, &got) != MAILOUT_OK)
        return -1;
    return (long)got;
}

/* The salt (strict base64, as b64_decode) decoded group by group: its
 * length if it is 1..MAILOUT_SCRAM_MAX_SALT bytes, else 0. With @p h,
 * the bytes go into that hash: the salt is never stored whole. Only the
 * last group may carry padding, as in a decode of the whole. */
static size_t scram_salt(const unsigned char *b64, size_t n, mailout_hash *h)
{
    size_t total = 0;
    if (n % 4 != 0)
        return 0;
    for (size_t i = 0; i < n; i += 4) {
        unsigned char bytes[3];
        size_t got;
        if (mailout_b64_decode_block((const char *)b64 + i, 4, bytes, sizeof bytes, &got) != MAILOUT_OK ||
            (got != 3 && i + 4 != n))
            return 0;
        if (h)
            mailout_hash_update(h, bytes, got);
        total += got;
    }
    return total <= MAILOUT_SCRAM_MAX_SALT ? total : 0;
}

/* HMAC-SHA-256(key, data) with the context in the SASL state, not on the stack. */
static void scram_hmac(mailout_scram_keys *k, const unsigned char *key, const char *data, size_t n,
                       unsigned char *out)
{
    mailout_hmac_init(&k->u.mac, MAILOUT_HASH_SHA256, key, MAILOUT_SHA256_LEN);
    mailout_hmac_update(&k->u.mac, data, n);
    mailout_hmac_final(&k->u.mac, out);
}

/* HMAC(key, AuthMessage) without assembling AuthMessage: it is
 * client-first-bare (in buf) "," server-first "," client-final-without-proof.
 * Run once per key rather than two contexts at once, to save stack. */
static void scram_auth_mac(const mailout_sasl_state *s, mailout_scram_keys *k, const unsigned char *key,
                           const unsigned char *server_first, size_t len, const unsigned char *nonce,
                           size_t nonce_n, unsigned char *out)
{
    mailout_hmac_init(&k->u.mac, MAILOUT_HASH_SHA256, key, MAILOUT_SHA256_LEN);
    mailout_hmac_update(&k->u.mac, s->buf, s->bare_len);
    mailout_hmac_update(&k->u.mac, ",", 1);
    mailout_hmac_update(&k->u.mac, server_first, len);
    mailout_hmac_update(&k->u.mac, ",c=biws,r=", 10);
    mailout_hmac_update(&k->u.mac, nonce, nonce_n);
    mailout_hmac_final(&k->u.mac, out);
}

/*
 * server-first -> client-final (RFC 5802 §3):
 *   SaltedPassword  = PBKDF2(password, salt, i)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey)
 *   ServerKey       = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(ServerKey, AuthMessage), kept for the last step
 */
static mailout_status scram_server_first(mailout_sasl_state *s, const unsigned char *ch, size_t len,
                                         mailout_sasl_out *out, mailout_scram_keys *k)
{
    const unsigned char *p = ch, *end = ch + len, *nonce, *salt64, *iter;
    size_t nonce_n, salt64_n, iter_n;
    uint32_t iterations;
    const size_t fixed = 9 + 3 + 44; /* "c=biws,r=" nonce ",p=" proof */

    /* A leading "m=" is a mandatory extension we cannot know: refuse. */
    if (len == 0 || scram_attr(&p, end, 'r', &nonce, &nonce_n) || scram_attr(&p, end, 's', &salt64, &salt64_n) ||
        scram_attr(&p, end, 'i', &iter, &iter_n))
        return MAILOUT_E_AUTH;
    /* The full nonce is ours plus at least one printable char of the server's. */
    if (nonce_n <= s->nonce_len || nonce_n + fixed > sizeof s->buf || !scram_nonce_ok(nonce, nonce_n) ||
        memcmp(nonce, s->buf + s->bare_len - s->nonce_len, s->nonce_len) != 0)
        return MAILOUT_E_AUTH;
    if (!scram_salt(salt64, salt64_n, NULL) || scram_iterations(iter, iter_n, &iterations))
        return MAILOUT_E_AUTH;

    /* Two 32-byte slots and server_sig hold the five keys in turn: an
     * HMAC reads its key before it writes its output, so each result may
     * overwrite the key it came from. */
    mailout_pbkdf2_sha256_key(&k->u.ws, s->secret, s->secret_len);
    scram_salt(salt64, salt64_n, &k->u.ws.ctx);
#ifdef MAILOUT_FUZZING_BUILD
    /* libFuzzer builds only (meson.build): the count is parsed and checked
     * as always, but the derivation runs one round, or the sasl fuzzer
     * spends 95% of its time in PBKDF2 (300 against 23,000 runs/s). A
     * correct server signature then cannot verify there; the RFC 7677
     * vectors (unit tests) and the seed replay (fuzz-replay, a normal
     * build) cover that path. */
    iterations = 1;
#endif
    mailout_pbkdf2_sha256_block(&k->u.ws, 1, iterations, k->a);
    scram_hmac(k, k->a, "Server Key", 10, s->server_sig); /* ServerKey */
    scram_hmac(k, k->a, "Client Key", 10, k->a);          /* ClientKey */
    mailout_hash_init(&k->u.mac.inner, MAILOUT_HASH_SHA256); /* StoredKey = H(ClientKey) */
    mailout_hash_update(&k->u.mac.inner, k->a, sizeof k->a);
    mailout_hash_final(&k->u.mac.inner, k->b);
    scram_auth_mac(s, k, k->b, ch, len, nonce, nonce_n, k->b);                      /* ClientSignature */
    scram_auth_mac(s, k, s->server_sig, ch, len, nonce, nonce_n, s->server_sig); /* ServerSignature */

    /* client-final-message replaces client-first-bare in buf */
    unsigned char *b = s->buf;
    memcpy(b, "c=biws,r=", 9);
    memcpy(b + 9, nonce, nonce_n);
    memcpy(b + 9 + nonce_n, ",p=", 3);
    for (unsigned i = 0; i < MAILOUT_SHA256_LEN; i++)
        k->a[i] ^= k->b[i]; /* ClientProof */
    s->buf_len = 12 + nonce_n +
                 mailout_b64_encode_block(k->a, MAILOUT_SHA256_LEN, (char *)b + 12 + nonce_n,
                                          sizeof s->buf - 12 - nonce_n);
    s->bare_len = 0;
    out_add(out, b, s->buf_len);
    s->step = STEP_1;
    return MAILOUT_OK;
}

/* server-final: "v=" ServerSignature (or "e=" error), extensions ignored. */
static mailout_status scram_server_final(mailout_sasl_state *s, const unsigned char *ch, size_t len,
                                         mailout_sasl_out *out)
{
    const unsigned char *p = ch, *v;
    size_t vn;
    unsigned char sig[MAILOUT_SHA256_LEN + 2];

    if (scram_attr(&p, ch + len, 'v', &v, &vn) ||
        b64_decode(v, vn, sig, sizeof sig) != MAILOUT_SHA256_LEN ||
        !mailout_crypto_equal(sig, s->server_sig, MAILOUT_SHA256_LEN))
        return MAILOUT_E_AUTH;
    mailout_crypto_wipe(s->server_sig, sizeof s->server_sig);
    out_add(out, NULL, 0); /* empty response */
    s->step = STEP_2;
    return MAILOUT_OK;
}

static mailout_status scram_step(mailout_sasl_state *s, mailout_sasl_work *w, const unsigned char *ch, size_t len,
                                 mailout_sasl_out *out)
{
    if (s->step == STEP_START && len == 0) { /* no initial response was sent */
        OUT_LIT(out, "n,,");
        out_add(out, s->buf, s->bare_len);
        return MAILOUT_OK;
    }
    if (s->step == STEP_START) {
        if (!w)
            return MAILOUT_E_AUTH;
        mailout_status st = scram_server_first(s, ch, len, out, &w->keys);
        mailout_crypto_wipe(&w->keys, sizeof w->keys);
        return st;
    }
    if (s->step == STEP_1)
        return scram_server_final(s, ch, len, out);
    return MAILOUT_E_AUTH;
}

#endif /* MAILOUT_ENABLE_AUTH_SCRAM_SHA256 */

static mailout_status mech_step(mailout_sasl_state *s, mailout_sasl_work *w, const unsigned char *ch, size_t len,
                                mailout_sasl_out *out)
{
    (void)w;
    (void)ch; /* unused when only PLAIN / LOGIN / XOAUTH2 are built */
    (void)len;
    (void)out;
    switch (s->mech) {
#if MAILOUT_ENABLE_AUTH_PLAIN
    case MAILOUT_AUTH_PLAIN:
        if (s->step != STEP_START || len != 0)
            return MAILOUT_E_AUTH;
        plain_response(s, out);
        s->step = STEP_1;
        return MAILOUT_OK;
#endif
#if MAILOUT_ENABLE_AUTH_LOGIN
    case MAILOUT_AUTH_LOGIN:
        if (s->step == STEP_START)
            out_add(out, s->user, s->user_len);
        else if (s->step == STEP_1)
            out_add(out, s->secret, s->secret_len);
        else
            return MAILOUT_E_AUTH;
        s->step++;
        return MAILOUT_OK;
#endif
#if MAILOUT_ENABLE_AUTH_XOAUTH2
    case MAILOUT_AUTH_XOAUTH2:
        if (s->step != STEP_START)
            return MAILOUT_E_AUTH;
        if (len == 0) {
            xoauth2_response(s, out);
            return MAILOUT_OK;
        }
        out_add(out, NULL, 0); /* acknowledge the error JSON; 5xx follows */
        s->step = STEP_SERVER_FAIL;
        return MAILOUT_OK;
#endif
#if MAILOUT_ENABLE_AUTH_CRAM_MD5
    case MAILOUT_AUTH_CRAM_MD5:
        return cram_step(s, w, ch, len, out);
#endif
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
    case MAILOUT_AUTH_SCRAM_SHA256:
        return scram_step(s, w, ch, len, out);
#endif
    default:
        return MAILOUT_E_AUTH;
    }
}

mailout_status mailout_sasl_state_step(mailout_sasl_state *s, mailout_sasl_work *w, const unsigned char *challenge,
                                       size_t len, mailout_sasl_out *out)
{
    if (out)
        out_reset(out);
    if (!s || !out || (!challenge && len > 0))
        return MAILOUT_E_INVAL;
    if (!challenge) /* so that parsers may form challenge + len */
        challenge = (const unsigned char *)"";
    if (s->mech == 0 || s->step == STEP_FAILED)
        return MAILOUT_E_AUTH;
    mailout_status st = mech_step(s, w, challenge, len, out);
    if (st != MAILOUT_OK) {
        out_reset(out);
        s->step = STEP_FAILED;
        mailout_crypto_wipe(s->buf, sizeof s->buf);
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
        mailout_crypto_wipe(s->server_sig, sizeof s->server_sig);
#endif
    }
    return st;
}

mailout_status mailout_sasl_step(mailout_sasl *s, const unsigned char *challenge, size_t len,
                                 mailout_sasl_out *out)
{
    return mailout_sasl_state_step(s ? &s->st : NULL, s ? &s->work : NULL, challenge, len, out);
}

mailout_status mailout_sasl_state_finish(const mailout_sasl_state *s)
{
    if (!s || s->mech == 0 || s->step == STEP_FAILED || s->step == STEP_SERVER_FAIL)
        return MAILOUT_E_AUTH;
    if (s->mech == MAILOUT_AUTH_SCRAM_SHA256 && s->step != STEP_2)
        return MAILOUT_E_AUTH;
    return MAILOUT_OK;
}

mailout_status mailout_sasl_finish(const mailout_sasl *s)
{
    return mailout_sasl_state_finish(s ? &s->st : NULL);
}

void mailout_sasl_wipe(mailout_sasl *s)
{
    if (s)
        mailout_crypto_wipe(s, sizeof *s);
}

/* ---- choosing ------------------------------------------------------------ */

unsigned mailout_sasl_pick(unsigned offered, unsigned allowed, int have_password, int have_token,
                           int have_random)
{
    /* strongest first */
    static const unsigned by_password[] = {MAILOUT_AUTH_SCRAM_SHA256, MAILOUT_AUTH_CRAM_MD5, MAILOUT_AUTH_PLAIN,
                                           MAILOUT_AUTH_LOGIN};
    unsigned usable = offered & (allowed == MAILOUT_AUTH_ANY ? MECH_ALL : allowed) & MECH_BUILT;

    if (have_token && (usable & MAILOUT_AUTH_XOAUTH2))
        return MAILOUT_AUTH_XOAUTH2;
    if (!have_password)
        return 0;
    if (!have_random)
        usable &= ~MAILOUT_AUTH_SCRAM_SHA256;
    for (unsigned i = 0; i < MAILOUT_ARRAY_LEN(by_password); i++)
        if (usable & by_password[i])
            return by_password[i];
    return 0;
}

/* In bit order (name i is bit 1 << i), NUL-separated: no pointer table. */
static const char mech_names[] = "PLAIN\0LOGIN\0CRAM-MD5\0XOAUTH2\0SCRAM-SHA-256\0";

unsigned mailout_word_bit(const char *words, const char *tok, size_t len)
{
    unsigned bit = 1;
    for (const char *w = words; *w; w += strlen(w) + 1, bit <<= 1) {
        size_t k = 0;
        while (k < len && w[k] && (tok[k] >= 'a' && tok[k] <= 'z' ? tok[k] - 'a' + 'A' : tok[k]) == w[k])
            k++;
        if (k == len && !w[k])
            return bit;
    }
    return 0;
}

const char *mailout_sasl_name(unsigned mech)
{
    unsigned bit = 1;
    for (const char *w = mech_names; *w; w += strlen(w) + 1, bit <<= 1)
        if (mech == bit)
            return w;
    return NULL;
}

unsigned mailout_sasl_from_name(const char *name, size_t len)
{
    return name ? mailout_word_bit(mech_names, name, len) : 0;
}
