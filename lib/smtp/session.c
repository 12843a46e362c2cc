/*
 * Session replies: greeting, EHLO/HELO, STARTTLS and AUTH. Every rule of
 * SECURITY-RULES 2.1 is decided here: no HELO under a TLS requirement,
 * only a one-line 220 starts TLS, no credentials in plaintext unless the
 * application allowed it, one mechanism and no downgrade after a failure.
 */
#include <string.h>

#include "smtp_internal.h"

static void go_idle(mailout_smtp *s)
{
    s->phase = PH_IDLE;
}

/* AUTH is over (or the session failed): forget everything derived from
 * the secret; the memory goes to the transactions. */
void smtp_auth_end(mailout_smtp *s)
{
    if (s->live != SMTP_LIVE_AUTH)
        return;
    mailout_crypto_wipe(&s->u.a, sizeof s->u.a);
    /* the last response (base64 credentials) is still in the output
     * buffer behind whatever is written next; wipe it once it is sent */
    if (s->out_pos == s->out_len)
        mailout_crypto_wipe(SMTP_OUT(s), s->out_cap);
    s->live = SMTP_LIVE_NONE;
}

static void start_auth(mailout_smtp *s)
{
    const smtp_cfg *c = &s->cfg;
    mailout_status st = MAILOUT_E_AUTH_INSECURE;
    unsigned mech = 0;
    if (s->tls_active || c->allow_plaintext_auth) {
        st = MAILOUT_E_AUTH_UNSUPPORTED;
        /* caps.auth is empty unless AUTH was offered; auth_mechs 0 is
         * MAILOUT_AUTH_ANY to the picker too */
        mech = mailout_sasl_pick(s->caps.auth, c->auth_mechs, c->password != NULL, SMTP_CFG_TOKEN(c) != NULL,
                                 SMTP_CFG_RANDOM(c) != NULL);
    }
    if (!mech) { /* insecure (no TLS, not allowed), or no usable mechanism */
        smtp_fail(s, st, MAILOUT_STAGE_AUTH, NULL);
        return;
    }
    const char *secret = mech == MAILOUT_AUTH_XOAUTH2 ? SMTP_CFG_TOKEN(c) : c->password;
    smtp_auth *a = &s->u.a;
    memset(a, 0, sizeof *a); /* the EHLO scanner's memory until now */
    s->live = SMTP_LIVE_AUTH;
    st = mailout_sasl_state_start(&a->sasl, mech, c->user, secret, SMTP_CFG_RANDOM(c), SMTP_CFG_RANDOM_CTX(c),
                                  &a->out);
    if (st < 0) {
        smtp_fail(s, st, MAILOUT_STAGE_AUTH, NULL);
        return;
    }
    if (a->out.has_response) {
        /* RFC 4954 §4: the initial response may ride on the AUTH line when
         * the line stays within the 512-octet limit; else wait for "334 " */
        size_t resp = a->out.nseg ? (smtp_resp_len(&a->out) + 2) / 3 * 4 : 1; /* base64, or "=" */
        size_t line = 5 + strlen(mailout_sasl_name(mech)) + 1 + resp + 2; /* mech: built in, named */
        if (line <= MAILOUT_COMMAND_MAX)
            a->ir_inline = 1;
        else
            a->ir_pending = 1;
    }
    smtp_push(s, OP_AUTH, 0);
}

/* After a successful EHLO or HELO. */
static void after_hello(mailout_smtp *s, const mailout_reply *r)
{
    if (MAILOUT_ENABLE_STARTTLS && s->cfg.tls == MAILOUT_TLS_REQUIRED && !s->tls_active) {
        if (!(s->caps.caps & MAILOUT_CAP_STARTTLS)) {
            smtp_fail(s, MAILOUT_E_TLS_REQUIRED, MAILOUT_STAGE_EHLO, r);
            return;
        }
        /* STARTTLS ends the group: nothing else is queued until the
         * handshake is done (SECURITY-RULES 2.1.3) */
        smtp_push(s, OP_STARTTLS, 0);
        return;
    }
    if (s->cfg.user && !s->authed) {
        start_auth(s);
        return;
    }
    go_idle(s);
}

static void ehlo_reply(mailout_smtp *s, smtp_op op, const mailout_reply *r)
{
    if (r->code == 250) {
        if (op == OP_EHLO)
            s->caps = s->u.ehlo.acc;
        else
            memset(&s->caps, 0, sizeof s->caps);
        after_hello(s, r);
        return;
    }
    if (op == OP_EHLO && r->code >= 500) { /* (codes end at 559: reply.c) */
        /* Falling back to HELO strips every extension, STARTTLS included:
         * only where no TLS is expected (striptls ExtendedMode). */
        if ((!MAILOUT_ENABLE_STARTTLS || s->cfg.tls == MAILOUT_TLS_NONE) && !s->tls_active) {
            smtp_push(s, OP_HELO, 0);
            return;
        }
        if (MAILOUT_ENABLE_STARTTLS && !s->tls_active) {
            smtp_fail(s, MAILOUT_E_TLS_REQUIRED, MAILOUT_STAGE_EHLO, r);
            return;
        }
    }
    smtp_fail(s, smtp_refusal(r->code), MAILOUT_STAGE_EHLO, r);
}

#if MAILOUT_ENABLE_STARTTLS
static void starttls_reply(mailout_smtp *s, const mailout_reply *r, unsigned lines)
{
    /* only a plain one-line 220 starts TLS; 454, 501, a 2xx "success" or
     * a multi-line 220 leave the connection untrusted (RFC 3207 §4) */
    if (r->code != 220 || lines != 1) {
        smtp_fail(s, MAILOUT_E_TLS_REQUIRED, MAILOUT_STAGE_STARTTLS, r);
        return;
    }
    s->phase = PH_TLS;
    smtp_info(s, "starting TLS");
}
#endif

/* A 334: send the pending initial response or answer the challenge. The
 * answer is computed by smtp_auth_step() once the rest of the read is
 * parsed (its working memory is the receive buffer); the challenge is
 * decoded now, in place (base64 output never overtakes its input).
 * Without HMAC mechanisms the step needs no working memory and runs at
 * once, on the challenge still in the reply's text. */
static void auth_continue(mailout_smtp *s)
{
    smtp_auth *a = &s->u.a;
    if (a->ir_pending) {
        a->ir_pending = 0;
    } else {
#if MAILOUT_REPLY_CAPTURE
        a->chal_ok = !s->rp.cap_over && mailout_b64_decode_block(a->chal, s->rp.cap_len, a->chal, sizeof a->chal,
                                                                 &a->dlen) == MAILOUT_OK;
#endif
        a->step_pending = 1;
    }
    smtp_push(s, OP_AUTH_RESP, 0);
    /* without HMAC mechanisms no step needs working memory: at once */
    if (!MAILOUT_CRYPTO_HMAC && a->step_pending)
        smtp_auth_step(s);
}

#if !MAILOUT_REPLY_CAPTURE
/* 0..63 for a base64 character, 64 for anything else: the digit whose
 * character it is (a short search; challenges are short). */
static unsigned b64_digit(unsigned char c)
{
    unsigned v = 0;
    while (v < 64 && smtp_b64_char(v) != c)
        v++;
    return v;
}

/* Whether @p t is strict base64, exactly what mailout_b64_decode_block()
 * takes (length a multiple of 4, padding only at the end, the bits it
 * drops zero). Without CRAM-MD5 and SCRAM no mechanism reads a
 * challenge's bytes (PLAIN and XOAUTH2 look at its length, LOGIN answers
 * by step count), so it is checked rather than decoded; its decoded
 * length is 0 exactly when @p n is. */
static int b64_strict(const char *t, size_t n)
{
    const unsigned char *u = (const unsigned char *)t;
    size_t pad = 0;
    unsigned v = 0;
    if (n % 4)
        return 0;
    if (n && u[n - 1] == '=')
        pad = u[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++)
        if ((v = b64_digit(u[i])) > 63)
            return 0;
    /* v: the last digit, whose low bits the padding drops */
    return !(v & (pad == 2 ? 15u : pad ? 3u : 0u));
}
#endif

/* The step for the last 334; a challenge we cannot use is cancelled with
 * "*" (RFC 4954 §4). */
void smtp_auth_step(mailout_smtp *s)
{
    smtp_auth *a = &s->u.a;
    mailout_status st = MAILOUT_E_AUTH;
    a->step_pending = 0;
#if MAILOUT_REPLY_CAPTURE
    char *chal = a->chal;
    size_t dlen = a->dlen;
    int ok = a->chal_ok;
#define SMTP_CHAL_SIZE sizeof a->chal
#else
    /* the 334 being handled: the same test as a capture of
     * MAILOUT_SASL_CHALLENGE_MAX bytes. The mechanisms built in only ask
     * whether the challenge is empty (b64_strict). */
    char *chal = s->rp.reply->text;
    size_t dlen = s->rp.text_len;
#define SMTP_CHAL_SIZE sizeof s->rp.reply->text
    int ok = !s->rp.cap_over && b64_strict(chal, dlen);
#if MAILOUT_SASL_CHALLENGE_MAX < MAILOUT_REPLY_TEXT_MAX /* else reply.text is the limit */
    ok = ok && s->rp.text_len <= MAILOUT_SASL_CHALLENGE_MAX;
#endif
#endif
    if (ok) {
        /* (the step empties a->out first) */
        st = mailout_sasl_state_step(&a->sasl, &s->io.work, (const unsigned char *)chal, dlen, &a->out);
        if (MAILOUT_ENABLE_AUTH_SCRAM_SHA256 && a->steps < 255) /* only SCRAM's 235 asks */
            a->steps++;
    }
    memset(chal, 0, SMTP_CHAL_SIZE);
#undef SMTP_CHAL_SIZE
    if (st != MAILOUT_OK) {
        a->cancelled = 1;
        memset(&a->out, 0, sizeof a->out);
    }
}

/* A server may carry SCRAM's server-final message on the 235 itself
 * (RFC 4954 §4 "additional data with success") instead of a last 334:
 * verify it there. Text that is not strict base64 is just text, and then
 * finish() fails unless the signature was verified earlier. */
static void scram_final_in_235(mailout_smtp *s, const mailout_reply *r)
{
#if MAILOUT_REPLY_CAPTURE /* always, with SCRAM */
    smtp_auth *a = &s->u.a;
    unsigned char *dec = (unsigned char *)a->chal; /* in place, as above */
    size_t off = 0, dlen = 0;
    if (s->rp.cap_over)
        return;
    /* the enhanced code in front of the data; without its parser, a
     * server that offers them puts one there (RFC 2034 §3) */
    int esc = MAILOUT_ENABLE_ENHANCEDSTATUSCODES ? r->enh_class != 0
                                                  : (s->caps.caps & MAILOUT_CAP_ENHANCEDSTATUSCODES) != 0;
    if (esc) {
        while (off < s->rp.cap_len && a->chal[off] != ' ')
            off++;
        off++;
    }
    if (off >= s->rp.cap_len)
        return;
    if (mailout_b64_decode_block(a->chal + off, s->rp.cap_len - off, dec, sizeof a->chal, &dlen) == MAILOUT_OK &&
        dlen > 2 && dec[0] == 'v' && dec[1] == '=') {
        /* the response is ignored (auth_reply clears it): kept in the
         * session rather than in a stack frame on the deepest chain */
        mailout_sasl_state_step(&a->sasl, NULL, dec, dlen, &a->out); /* server-final: no working memory */
    }
    memset(a->chal, 0, sizeof a->chal);
#else
    (void)s, (void)r;
#endif
}

static void auth_reply(mailout_smtp *s, const mailout_reply *r)
{
    /* whatever the server answers to "*", this attempt failed; no other
     * mechanism is tried (no silent downgrade) */
    mailout_status st = MAILOUT_E_AUTH;
    if (!s->u.a.cancelled) {
        if (r->code == 334) {
            auth_continue(s);
            return;
        }
        if (r->code == 235) {
            if (MAILOUT_ENABLE_AUTH_SCRAM_SHA256 && s->u.a.sasl.mech == MAILOUT_AUTH_SCRAM_SHA256 &&
                s->u.a.steps == 1)
                scram_final_in_235(s, r);
            st = mailout_sasl_state_finish(&s->u.a.sasl);
            smtp_auth_end(s);
            if (st == MAILOUT_OK) {
                s->authed = 1;
                smtp_info(s, "authenticated");
                go_idle(s);
                return;
            }
            st = MAILOUT_E_AUTH;
        } else {
            st = r->code >= 500 ? MAILOUT_E_AUTH : r->code >= 400 ? MAILOUT_E_AUTH_TEMP : MAILOUT_E_PROTO;
        }
    }
    smtp_fail(s, st, MAILOUT_STAGE_AUTH, r);
}

/* A 5xx greeting leaves the connection healthy: say QUIT as RFC 5321
 * §3.1 asks, then fail with the refusal (smtp_fail; the greeting is in
 * s->failure.reply already). dispatch() arms QUIT's deadline. */
static void quit_then_fail(mailout_smtp *s, mailout_status st)
{
    s->failure.status = st;
    s->failure.stage = MAILOUT_STAGE_GREETING;
    s->quit_then_fail = 1;
    s->phase = PH_QUIT;
    smtp_push(s, OP_QUIT, 0);
}

void smtp_session_reply(mailout_smtp *s, smtp_op op, const mailout_reply *r, unsigned lines)
{
    (void)lines; /* STARTTLS's only */
    switch (op) {
    case OP_GREETING:
        if (r->code == 220)
            smtp_push(s, OP_EHLO, 0);
        else if (r->code >= 500)
            quit_then_fail(s, smtp_refusal(r->code));
        else
            smtp_fail(s, smtp_refusal(r->code), MAILOUT_STAGE_GREETING, r); /* E_PROTO for a 2xx */
        break;
    case OP_EHLO:
    case OP_HELO:
        ehlo_reply(s, op, r);
        break;
#if MAILOUT_ENABLE_STARTTLS
    case OP_STARTTLS:
        starttls_reply(s, r, lines);
        break;
#endif
    default:
        auth_reply(s, r);
        break;
    }
}
