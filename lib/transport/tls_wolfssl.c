/* see mailout/transport.h: TLS client over any mailout_transport, with
 * wolfSSL.
 *
 * Design notes (the "why"):
 *  - wolfSSL talks to the lower transport only through cb_recv/cb_send.
 *    "Would block" becomes WOLFSSL_CBIO_ERR_WANT_READ/WRITE and the
 *    direction is remembered for pollfd()/wait(); lower errors are kept so
 *    the caller gets the mailout status, not wolfSSL's generic one.
 *  - wolfSSL_write() after WANT_WRITE must be repeated with the same bytes:
 *    the record is already encrypted inside wolfSSL. Our contract lets the
 *    caller retry with anything, so after the handshake cb_send never says
 *    WANT_WRITE: bytes the lower cannot take now are parked in obuf, which
 *    has room for a whole record, and flushed first by every later call.
 *    A write is only started with obuf empty. So 0 from send always means
 *    "nothing taken".
 *  - No application byte is written before mailout_tls_handshake() returned
 *    MAILOUT_OK, which includes the IP address and pin checks that wolfSSL
 *    does not do itself. Failures are sticky.
 *  - A lower timeout is a failure too, not "would block": the lower waited
 *    its whole timeout for the peer. Turned into WANT_WRITE, the record
 *    was parked and the next call waited as long again, and so did the
 *    close_notify at close: a peer that stopped reading held the caller
 *    for five or six timeouts. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "internal.h"
#include "transport/transport_internal.h"

#include <mailout/transport.h>

#define TLS_MAX_PLAINTEXT 16384u
/* Record overhead (header, IV, MAC or tag, CBC padding) plus room for the
 * small messages wolfSSL may send while reading (alerts, KeyUpdate). */
#define TLS_OUT_SLACK 2048u

typedef enum tls_state {
    TLS_NEW,         /* configured, nothing sent */
    TLS_HANDSHAKING, /* wolfSSL_connect() in progress */
    TLS_READY,       /* handshake done and verified: application data flows */
    TLS_FAILED,      /* sticky error in tls->error */
    TLS_CLOSED       /* close() was called */
} tls_state;

struct mailout_tls {
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    mailout_transport lower;
    tls_state state;
    mailout_status error;     /* the sticky error in TLS_FAILED */
    mailout_status io_status; /* a lower error seen by a callback during the current call */
    unsigned cur_want;        /* directions the callbacks blocked on during the current call */
    unsigned hs_want, send_want, recv_want; /* ... remembered per operation */
    int verify;
    int ip_literal;
    unsigned char ip[16]; /* the server name as an address, ip_len octets */
    size_t ip_len;
    int has_pin;
    unsigned char pin[32];
    size_t chunk; /* plaintext per wolfSSL_write: one record */
    size_t ocap, ooff, olen;
    unsigned char obuf[]; /* parked output, ocap bytes */
};

/* ------------------------------------------------------------------ */
/* lower transport glue                                                 */
/* ------------------------------------------------------------------ */

/* Write parked bytes. MAILOUT_OK when obuf is empty, MAILOUT_AGAIN when
 * the lower would block, or the lower's error. */
static mailout_status flush_out(mailout_tls *s)
{
    while (s->olen > 0) {
        ptrdiff_t n = s->lower.send(s->lower.ctx, s->obuf + s->ooff, s->olen);
        if (n > 0) {
            size_t k = (size_t)n > s->olen ? s->olen : (size_t)n;
            s->ooff += k;
            s->olen -= k;
            continue;
        }
        if (n == 0) {
            s->cur_want |= MAILOUT_WANT_WRITE;
            return MAILOUT_AGAIN;
        }
        return (mailout_status)n;
    }
    s->ooff = 0;
    return MAILOUT_OK;
}

/* Remember a lower error (a timeout included) for the caller; tell
 * wolfSSL it is fatal. */
static int cb_error(mailout_tls *s, ptrdiff_t n)
{
    s->io_status = (mailout_status)n;
    return n == MAILOUT_E_CLOSED ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_GENERAL;
}

static int cb_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    mailout_tls *s = ctx;
    (void)ssl;
    if (sz <= 0)
        return 0;
    ptrdiff_t n = s->lower.recv(s->lower.ctx, (unsigned char *)buf, (size_t)sz);
    if (n > 0)
        return n > sz ? cb_error(s, MAILOUT_E_INTERNAL) : (int)n;
    if (n == 0) {
        s->cur_want |= MAILOUT_WANT_READ;
        return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    return cb_error(s, n);
}

static int park(mailout_tls *s, const char *buf, int sz)
{
    if (s->ooff > 0 && s->olen > 0)
        memmove(s->obuf, s->obuf + s->ooff, s->olen);
    s->ooff = 0;
    size_t room = s->ocap - s->olen;
    size_t k = (size_t)sz < room ? (size_t)sz : room;
    if (k == 0) {
        /* Only the handshake may legitimately fill obuf (big flights);
         * wolfSSL resumes those by itself. Afterwards a full obuf means
         * the peer keeps making us answer without reading: give up. */
        if (s->state == TLS_READY)
            return cb_error(s, MAILOUT_E_IO);
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    }
    memcpy(s->obuf + s->olen, buf, k);
    s->olen += k;
    return (int)k;
}

static int cb_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    mailout_tls *s = ctx;
    (void)ssl;
    if (sz <= 0)
        return 0;
    mailout_status st = flush_out(s);
    if (st == MAILOUT_OK) {
        ptrdiff_t n = s->lower.send(s->lower.ctx, (const unsigned char *)buf, (size_t)sz);
        if (n > 0)
            return n > sz ? cb_error(s, MAILOUT_E_INTERNAL) : (int)n;
        if (n < 0)
            return cb_error(s, n);
        s->cur_want |= MAILOUT_WANT_WRITE;
    } else if (st != MAILOUT_AGAIN) {
        return cb_error(s, st);
    }
    return park(s, buf, sz);
}

/* ------------------------------------------------------------------ */
/* error mapping                                                        */
/* ------------------------------------------------------------------ */

static mailout_status map_verify_error(int e)
{
    switch (e) {
    case DOMAIN_NAME_MISMATCH:
    case IPADDR_MISMATCH:
        return MAILOUT_E_TLS_HOSTNAME;
    case VERIFY_CERT_ERROR:
    case NO_PEER_CERT:
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
    case ASN_AFTER_DATE_E:
    case ASN_BEFORE_DATE_E:
    case ASN_SIG_CONFIRM_E:
    case ASN_SIG_OID_E:
    case ASN_SIG_HASH_E:
    case ASN_SIG_KEY_E:
    case ASN_CRIT_EXT_E:
    case ASN_NAME_INVALID_E:
    case ASN_PATHLEN_INV_E:
    case ASN_PATHLEN_SIZE_E:
    case ASN_PARSE_E:
    case ASN_ALT_NAME_E:
        return MAILOUT_E_TLS_VERIFY;
    default:
        return MAILOUT_E_TLS_HANDSHAKE;
    }
}

static mailout_status fail(mailout_tls *s, mailout_status st)
{
    s->state = TLS_FAILED;
    s->error = st;
    return st;
}

/* ------------------------------------------------------------------ */
/* post-handshake checks                                                */
/* ------------------------------------------------------------------ */

static int ct_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static mailout_status check_pin(const unsigned char *der, size_t len, const unsigned char pin[32])
{
    const unsigned char *spki;
    size_t spki_len;
    unsigned char digest[WC_SHA256_DIGEST_SIZE];
    if (mailout_cert_spki(der, len, &spki, &spki_len) != MAILOUT_OK || spki_len > UINT32_MAX)
        return MAILOUT_E_TLS_PIN; /* cannot check: fail closed */
    if (wc_Sha256Hash(spki, (word32)spki_len, digest) != 0)
        return MAILOUT_E_TLS;
    return ct_equal(digest, pin, sizeof digest) ? MAILOUT_OK : MAILOUT_E_TLS_PIN;
}

/* What wolfSSL cannot check during the handshake: the IP address of an
 * IP-literal server name, and the key pin. */
static mailout_status check_peer(mailout_tls *s)
{
    int check_ip = s->verify && s->ip_literal;
    if (!check_ip && !s->has_pin)
        return MAILOUT_OK;
    WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(s->ssl);
    if (!chain || wolfSSL_get_chain_count(chain) < 1)
        return MAILOUT_E_TLS_VERIFY;
    const unsigned char *der = wolfSSL_get_chain_cert(chain, 0);
    int der_len = wolfSSL_get_chain_length(chain, 0);
    if (!der || der_len <= 0)
        return MAILOUT_E_TLS_VERIFY;
    /* wolfSSL has verified the chain; the address is ours to match (see
     * certcheck.c for why not wolfSSL_X509_check_ip_asc). */
    if (check_ip && !mailout_cert_has_ip(der, (size_t)der_len, s->ip, s->ip_len))
        return MAILOUT_E_TLS_HOSTNAME;
    return s->has_pin ? check_pin(der, (size_t)der_len, s->pin) : MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* handshake                                                            */
/* ------------------------------------------------------------------ */

static void begin_call(mailout_tls *s)
{
    s->cur_want = 0;
    s->io_status = MAILOUT_OK;
}

mailout_status mailout_tls_handshake(mailout_tls *s)
{
    if (!s)
        return MAILOUT_E_INVAL;
    switch (s->state) {
    case TLS_READY:
        return MAILOUT_OK;
    case TLS_FAILED:
        return s->error;
    case TLS_CLOSED:
        return MAILOUT_E_STATE;
    default:
        break;
    }
    s->state = TLS_HANDSHAKING;
    begin_call(s);
    mailout_status st = flush_out(s);
    if (st != MAILOUT_OK && st != MAILOUT_AGAIN)
        return fail(s, st);

    int r = wolfSSL_connect(s->ssl);
    if (r != WOLFSSL_SUCCESS) {
        int e = wolfSSL_get_error(s->ssl, r);
        if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
            s->hs_want = s->cur_want ? s->cur_want
                                     : (e == WOLFSSL_ERROR_WANT_READ ? MAILOUT_WANT_READ : MAILOUT_WANT_WRITE);
            return MAILOUT_AGAIN;
        }
        if (s->io_status < 0)
            return fail(s, s->io_status);
        return fail(s, map_verify_error(e));
    }
    /* The last flight (Finished) may still be parked. */
    st = flush_out(s);
    if (st == MAILOUT_AGAIN) {
        s->hs_want = MAILOUT_WANT_WRITE;
        return st;
    }
    if (st != MAILOUT_OK)
        return fail(s, st);
    st = check_peer(s);
    if (st != MAILOUT_OK)
        return fail(s, st);
    int max_out = wolfSSL_GetMaxOutputSize(s->ssl);
    if (max_out > 0 && (size_t)max_out < s->chunk)
        s->chunk = (size_t)max_out;
    s->state = TLS_READY;
    return MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* transport callbacks of the session                                   */
/* ------------------------------------------------------------------ */

static mailout_status state_error(const mailout_tls *s)
{
    return s->state == TLS_FAILED ? s->error : MAILOUT_E_STATE;
}

/* A failed wolfSSL_read/write: "would block" (0), or a sticky error. */
static ptrdiff_t io_result(mailout_tls *s, int r, unsigned *want)
{
    int e = wolfSSL_get_error(s->ssl, r);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
        *want = s->cur_want ? s->cur_want : (e == WOLFSSL_ERROR_WANT_READ ? MAILOUT_WANT_READ : MAILOUT_WANT_WRITE);
        return 0;
    }
    if (e == WOLFSSL_ERROR_ZERO_RETURN)
        return fail(s, MAILOUT_E_CLOSED); /* close_notify */
    if (s->io_status < 0)
        return fail(s, s->io_status);
    return fail(s, MAILOUT_E_TLS);
}

static ptrdiff_t tls_send(void *ctx, const unsigned char *buf, size_t len)
{
    mailout_tls *s = ctx;
    if (s->state != TLS_READY)
        return state_error(s);
    if (len == 0)
        return MAILOUT_E_INVAL;
    begin_call(s);
    mailout_status st = flush_out(s);
    if (st == MAILOUT_AGAIN) {
        s->send_want = MAILOUT_WANT_WRITE;
        return 0;
    }
    if (st != MAILOUT_OK)
        return fail(s, st);
    s->send_want = 0;
    size_t n = len < s->chunk ? len : s->chunk;
    int r = wolfSSL_write(s->ssl, buf, (int)n);
    if (r > 0)
        return r;
    return io_result(s, r, &s->send_want);
}

static ptrdiff_t tls_recv(void *ctx, unsigned char *buf, size_t cap)
{
    mailout_tls *s = ctx;
    if (s->state != TLS_READY)
        return state_error(s);
    if (cap == 0)
        return MAILOUT_E_INVAL;
    begin_call(s);
    /* Parked output first (the peer may be waiting for it); if the lower
     * cannot take it now, reading may still make progress. */
    mailout_status st = flush_out(s);
    if (st != MAILOUT_OK && st != MAILOUT_AGAIN)
        return fail(s, st);
    s->recv_want = 0;
    int r = wolfSSL_read(s->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    if (r > 0)
        return r;
    return io_result(s, r, &s->recv_want);
}

/* The directions the lower must become ready in for the caller's @p want
 * to make progress: TLS may need to read to write and vice versa. */
static unsigned lower_directions(const mailout_tls *s, unsigned want)
{
    unsigned w = 0;
    if (s->state == TLS_HANDSHAKING) {
        w = s->hs_want ? s->hs_want : MAILOUT_WANT_READ;
    } else if (s->state == TLS_READY) {
        if (want & MAILOUT_WANT_WRITE)
            w |= s->send_want ? s->send_want : MAILOUT_WANT_WRITE;
        if (want & MAILOUT_WANT_READ)
            w |= s->recv_want ? s->recv_want : MAILOUT_WANT_READ;
    } else {
        w = want;
    }
    if (s->olen > 0)
        w |= MAILOUT_WANT_WRITE;
    return w;
}

static mailout_status tls_wait(void *ctx, unsigned want, uint32_t timeout_ms)
{
    mailout_tls *s = ctx;
    if (s->state == TLS_FAILED || s->state == TLS_CLOSED)
        return state_error(s);
    if (!s->lower.wait)
        return MAILOUT_OK; /* a lower without wait blocks by itself */
    unsigned w = lower_directions(s, want);
    return s->lower.wait(s->lower.ctx, w ? w : MAILOUT_WANT_READ, timeout_ms);
}

static int tls_pollfd(void *ctx, unsigned *want)
{
    mailout_tls *s = ctx;
    if (!s->lower.pollfd)
        return -1;
    unsigned w = lower_directions(s, want ? *want : 0);
    if (want && w)
        *want = w;
    return s->lower.pollfd(s->lower.ctx, want);
}

static void tls_close(void *ctx)
{
    mailout_tls *s = ctx;
    if (s->state == TLS_CLOSED)
        return;
    if (s->state == TLS_READY) {
        /* close_notify, best effort and bounded: never wait for the
         * peer's, and only once what is parked went out (a lower that
         * waits has nothing parked: it never says "would block"); what
         * the lower cannot take of it now is dropped, so a lower that
         * waits waits once. A failed session (a lower timeout included)
         * sends none. */
        begin_call(s);
        if (flush_out(s) == MAILOUT_OK)
            (void)wolfSSL_shutdown(s->ssl);
    }
    s->state = TLS_CLOSED;
    if (s->lower.close)
        s->lower.close(s->lower.ctx);
}

/* ------------------------------------------------------------------ */
/* setup                                                                */
/* ------------------------------------------------------------------ */

static unsigned char mfl_code(unsigned max_fragment)
{
    switch (max_fragment) {
    case 512:
        return WOLFSSL_MFL_2_9;
    case 1024:
        return WOLFSSL_MFL_2_10;
    case 2048:
        return WOLFSSL_MFL_2_11;
    case 4096:
        return WOLFSSL_MFL_2_12;
    default:
        return 0;
    }
}

static int has_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= ' ' || *s == 127)
            return 1;
    }
    return 0;
}

static mailout_status check_config(const mailout_tls_config *cfg, const mailout_transport *lower)
{
    if (!lower->send || !lower->recv)
        return MAILOUT_E_INVAL;
    if (!cfg->server_name || !cfg->server_name[0] || strlen(cfg->server_name) > 253 || has_ctl(cfg->server_name))
        return MAILOUT_E_INVAL;
    if (cfg->max_fragment && !mfl_code(cfg->max_fragment))
        return MAILOUT_E_INVAL;
    if (!cfg->client_cert_file != !cfg->client_key_file)
        return MAILOUT_E_INVAL;
    if ((cfg->ca_pem == NULL) != (cfg->ca_pem_len == 0) || cfg->ca_pem_len > INT_MAX)
        return MAILOUT_E_INVAL;
    return MAILOUT_OK;
}

static mailout_status load_trust(WOLFSSL_CTX *ctx, const mailout_tls_config *cfg)
{
    if (cfg->ca_file && wolfSSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != WOLFSSL_SUCCESS)
        return MAILOUT_E_TLS;
    if (cfg->ca_pem && wolfSSL_CTX_load_verify_buffer(ctx, cfg->ca_pem, (long)cfg->ca_pem_len,
                                                      WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
        return MAILOUT_E_TLS;
    if ((!cfg->ca_file && !cfg->ca_pem) || cfg->system_store) {
        if (wolfSSL_CTX_load_system_CA_certs(ctx) != WOLFSSL_SUCCESS)
            return MAILOUT_E_TLS;
    }
    return MAILOUT_OK;
}

static mailout_status setup_ctx(mailout_tls *s, const mailout_tls_config *cfg)
{
    s->ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    if (!s->ctx)
        return MAILOUT_E_NOMEM;
    /* RFC 8996: nothing older than TLS 1.2. */
    if (wolfSSL_CTX_SetMinVersion(s->ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        return MAILOUT_E_TLS;
    /* Debian's wolfSSL enables OpenSSL-style auto retry: on "would block"
     * during the handshake it calls recv again up to 10 times instead of
     * returning. That spins on a non-blocking lower, multiplies a blocking
     * lower's timeout, and starves our parked output. */
    if (wolfSSL_CTX_clear_mode(s->ctx, SSL_MODE_AUTO_RETRY) != 0)
        return MAILOUT_E_TLS;
    if (s->verify) {
        mailout_status st = load_trust(s->ctx, cfg);
        if (st != MAILOUT_OK)
            return st;
        wolfSSL_CTX_set_verify(s->ctx, WOLFSSL_VERIFY_PEER, NULL);
    } else {
        wolfSSL_CTX_set_verify(s->ctx, WOLFSSL_VERIFY_NONE, NULL);
    }
    if (cfg->client_cert_file) {
        if (wolfSSL_CTX_use_certificate_chain_file(s->ctx, cfg->client_cert_file) != WOLFSSL_SUCCESS ||
            wolfSSL_CTX_use_PrivateKey_file(s->ctx, cfg->client_key_file, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
            return MAILOUT_E_TLS;
    }
    return MAILOUT_OK;
}

/* IP literal as server name? Keeps it for the post-handshake check. */
static int parse_ip(mailout_tls *s, const char *name)
{
    if (inet_pton(AF_INET, name, s->ip) == 1) {
        s->ip_len = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, name, s->ip) == 1) {
        s->ip_len = 16;
        return 1;
    }
    return 0;
}

static mailout_status setup_ssl(mailout_tls *s, const mailout_tls_config *cfg)
{
    s->ssl = wolfSSL_new(s->ctx);
    if (!s->ssl)
        return MAILOUT_E_NOMEM;
    wolfSSL_SSLSetIORecv(s->ssl, cb_recv);
    wolfSSL_SSLSetIOSend(s->ssl, cb_send);
    wolfSSL_SetIOReadCtx(s->ssl, s);
    wolfSSL_SetIOWriteCtx(s->ssl, s);

    const char *name = cfg->server_name;
    s->ip_literal = parse_ip(s, name);
    if (!s->ip_literal) {
        /* Checked by wolfSSL during the handshake, before our Finished. */
        if (s->verify && wolfSSL_check_domain_name(s->ssl, name) != WOLFSSL_SUCCESS)
            return MAILOUT_E_TLS;
        if (wolfSSL_UseSNI(s->ssl, WOLFSSL_SNI_HOST_NAME, name, (unsigned short)strlen(name)) != WOLFSSL_SUCCESS)
            return MAILOUT_E_TLS;
    } /* RFC 6066 §3: no SNI for address literals */
    if (cfg->max_fragment && wolfSSL_UseMaxFragment(s->ssl, mfl_code(cfg->max_fragment)) != WOLFSSL_SUCCESS)
        return MAILOUT_E_TLS;
    return MAILOUT_OK;
}

static void destroy(mailout_tls *s)
{
    if (s->ssl)
        wolfSSL_free(s->ssl);
    if (s->ctx)
        wolfSSL_CTX_free(s->ctx);
    free(s);
    wolfSSL_Cleanup(); /* reference counted; pairs with wolfSSL_Init in new */
}

mailout_status mailout_tls_new(mailout_tls **out, const mailout_tls_config *cfg, const mailout_transport *lower,
                               mailout_transport *t)
{
    if (!out || !cfg || !lower || !t)
        return MAILOUT_E_INVAL;
    mailout_status st = check_config(cfg, lower);
    if (st != MAILOUT_OK)
        return st;

    size_t chunk = cfg->max_fragment ? cfg->max_fragment : TLS_MAX_PLAINTEXT;
    size_t ocap = chunk + TLS_OUT_SLACK;
    mailout_tls *s = calloc(1, sizeof *s + ocap);
    if (!s)
        return MAILOUT_E_NOMEM;
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
        free(s);
        return MAILOUT_E_TLS;
    }
    s->lower = *lower;
    s->state = TLS_NEW;
    s->verify = !cfg->insecure_no_verify;
    s->chunk = chunk;
    s->ocap = ocap;
    if (cfg->pin_sha256) {
        s->has_pin = 1;
        memcpy(s->pin, cfg->pin_sha256, sizeof s->pin);
    }
    st = setup_ctx(s, cfg);
    if (st == MAILOUT_OK)
        st = setup_ssl(s, cfg);
    if (st != MAILOUT_OK) {
        destroy(s);
        return st;
    }
    t->send = tls_send;
    t->recv = tls_recv;
    t->wait = tls_wait;
    t->pollfd = tls_pollfd;
    t->close = tls_close;
    t->ctx = s;
    *out = s;
    return MAILOUT_OK;
}

void mailout_tls_free(mailout_tls *s)
{
    if (s)
        destroy(s);
}
