/*
 * Internal to the library: letting bytes pass a line filter without it.
 * Not installed.
 */
#ifndef MAILOUT_ENCODE_LINE_INTERNAL_H
#define MAILOUT_ENCODE_LINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/encode.h>

/*
 * The DATA-stream bypass for base64 bodies (msg_reader.c) saves a copy and
 * a scan of every byte, for about 370 bytes of code on a Cortex-M3. Like
 * the base64 pair table it is on by default only where pointers are 64
 * bits (hosts, where throughput is what matters); -DMAILOUT_SMTP_BYPASS=1
 * or =0 decides elsewhere.
 */
#ifndef MAILOUT_SMTP_BYPASS
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MAILOUT_SMTP_BYPASS 1
#else
#define MAILOUT_SMTP_BYPASS 0
#endif
#endif

/*
 * A producer whose output the filter could only copy (base64: no '.', no
 * bare CR or LF, lines far below 998) may write it to the destination
 * itself, skipping a copy and a scan, and then tell the filter what went
 * by. Only allowed when mailout_line_can_pass() says so (nothing pending,
 * not finished, not between a CR and its LF); the bytes must be CRLF lines
 * without a leading '.' and without a NUL or (with MAILOUT_LINE_7BIT) an
 * 8-bit byte, and must not start with LF.
 */
#if MAILOUT_SMTP_BYPASS
int mailout_line_can_pass(const mailout_line *f);
void mailout_line_passed(mailout_line *f, const unsigned char *p, size_t n);
#endif

#endif
