/* The two certificate checks wolfSSL does not do for us, on the DER of the
 * peer's certificate:
 *   - the SubjectPublicKeyInfo, for key pinning;
 *   - iPAddress subjectAltNames, for IP-literal server names (RFC 6125
 *     §6.2.1, RFC 5280 §4.2.1.6). wolfSSL_X509_check_ip_asc() in wolfSSL
 *     5.5.4 compares strings: it misses "::1" against an IPv6 SAN and
 *     accepts a dNSName spelled like the address. Comparing the octets of
 *     the iPAddress entries is exact and small.
 * A minimal DER reader: definite lengths only, every length checked
 * against the enclosing element. */
#include <string.h>

#include "internal.h"
#include "transport/transport_internal.h"

typedef struct der {
    const unsigned char *p, *end;
} der;

typedef struct tlv {
    unsigned char tag;
    const unsigned char *start; /* the element with its header */
    const unsigned char *content;
    size_t len; /* of the content */
} tlv;

/* Read the next element of @p d into @p e. Lengths up to 3 octets
 * (certificates are < 16 MiB). Returns 0, or -1 if malformed or at end. */
static int der_next(der *d, tlv *e)
{
    const unsigned char *p = d->p;
    size_t avail = (size_t)(d->end - p);
    if (avail < 2 || (p[0] & 0x1f) == 0x1f)
        return -1; /* high tag numbers never occur where we look */
    size_t len = p[1], hdr = 2;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 3 || avail < 2 + nb)
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | p[2 + i];
        hdr += nb;
    }
    if (avail - hdr < len)
        return -1;
    e->tag = p[0];
    e->start = p;
    e->content = p + hdr;
    e->len = len;
    d->p = p + hdr + len;
    return 0;
}

static der der_inside(const tlv *e)
{
    der d = {e->content, e->content + e->len};
    return d;
}

/* Position @p d at the fields of tbsCertificate after `subject`, and
 * return SubjectPublicKeyInfo in @p spki. */
static int tbs_to_spki(const unsigned char *cert, size_t len, der *d, tlv *spki)
{
    der top = {cert, cert + len};
    tlv e;
    if (der_next(&top, &e) != 0 || e.tag != 0x30)
        return -1;
    der c = der_inside(&e);
    if (der_next(&c, &e) != 0 || e.tag != 0x30)
        return -1;
    *d = der_inside(&e);
    /* [0] version (optional), serial, signature, issuer, validity, subject */
    if (der_next(d, &e) != 0)
        return -1;
    int left = e.tag == 0xa0 ? 5 : 4;
    while (left-- > 0) {
        if (der_next(d, &e) != 0)
            return -1;
    }
    if (der_next(d, spki) != 0 || spki->tag != 0x30)
        return -1;
    return 0;
}

mailout_status mailout_cert_spki(const unsigned char *cert, size_t len, const unsigned char **spki,
                                 size_t *spki_len)
{
    der d;
    tlv e;
    if (!cert || tbs_to_spki(cert, len, &d, &e) != 0)
        return MAILOUT_E_TLS;
    *spki = e.start;
    *spki_len = (size_t)(e.content + e.len - e.start);
    return MAILOUT_OK;
}

/* In a GeneralNames SEQUENCE: an iPAddress [7] equal to @p ip? */
static int names_have_ip(const tlv *names, const unsigned char *ip, size_t ip_len)
{
    der g = der_inside(names);
    tlv n;
    while (der_next(&g, &n) == 0) {
        if (n.tag == 0x87 && n.len == ip_len && memcmp(n.content, ip, ip_len) == 0)
            return 1;
    }
    return 0;
}

static const unsigned char oid_san[] = {0x55, 0x1d, 0x11}; /* 2.5.29.17 */

/* One Extension: subjectAltName containing the address? */
static int extension_has_ip(const tlv *ext, const unsigned char *ip, size_t ip_len)
{
    der x = der_inside(ext);
    tlv id, v;
    if (der_next(&x, &id) != 0 || id.tag != 0x06 || id.len != sizeof oid_san ||
        memcmp(id.content, oid_san, sizeof oid_san) != 0)
        return 0;
    if (der_next(&x, &v) != 0)
        return 0;
    if (v.tag == 0x01 && der_next(&x, &v) != 0) /* critical BOOLEAN */
        return 0;
    if (v.tag != 0x04)
        return 0;
    der os = der_inside(&v);
    tlv names;
    if (der_next(&os, &names) != 0 || names.tag != 0x30)
        return 0;
    return names_have_ip(&names, ip, ip_len);
}

int mailout_cert_has_ip(const unsigned char *cert, size_t len, const unsigned char *ip, size_t ip_len)
{
    der d;
    tlv e;
    if (!cert || !ip || (ip_len != 4 && ip_len != 16) || tbs_to_spki(cert, len, &d, &e) != 0)
        return 0;
    /* issuerUniqueID [1], subjectUniqueID [2], extensions [3] */
    while (der_next(&d, &e) == 0) {
        if (e.tag != 0xa3)
            continue;
        der w = der_inside(&e);
        tlv seq, ext;
        if (der_next(&w, &seq) != 0 || seq.tag != 0x30)
            return 0;
        der exts = der_inside(&seq);
        while (der_next(&exts, &ext) == 0) {
            if (ext.tag == 0x30 && extension_has_ip(&ext, ip, ip_len))
                return 1;
        }
    }
    return 0;
}
