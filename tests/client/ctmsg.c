/* see ctest.h: the message helpers (a separate object: only the tests
 * that need the message layer link it). */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"

void ct_msg_make(ct_msg *fx)
{
    mailout_allocator heap = mailout_heap_allocator();
    mailout_part *p;
    static const char text[] = "Hello.\r\n.dot line\r\n";

    fx->env = testutil_env_init(&fx->envs);
    assert_status(MAILOUT_OK, mailout_msg_new(&fx->m, &heap));
    assert_status(MAILOUT_OK, mailout_msg_set_env(fx->m, &fx->env));
    assert_status(MAILOUT_OK, mailout_msg_set_from(fx->m, "a@x.test", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(fx->m, MAILOUT_TO, "b@y.test", NULL));
    assert_status(MAILOUT_OK, mailout_msg_set_subject(fx->m, "blocking send"));
    assert_status(MAILOUT_OK, mailout_msg_set_date(fx->m, 1795359340, 0));
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(fx->m, "<1@x.test>"));
    assert_status(MAILOUT_OK, mailout_part_new(fx->m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, text, sizeof text - 1));
}

/* The message as the client must put it on the wire after DATA. */
char *ct_msg_wire(mailout_msg *m)
{
    size_t cap = 65536, len = 0, got = 0;
    char *buf = malloc(cap);
    mailout_status r;

    assert_non_null(buf);
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, MAILOUT_READ_SMTP));
    do {
        r = mailout_msg_read(m, (unsigned char *)buf + len, cap - 1 - len, &got);
        len += got;
        assert_true(r == MAILOUT_OK || r == MAILOUT_DONE);
    } while (r == MAILOUT_OK);
    buf[len] = '\0';
    return buf;
}

