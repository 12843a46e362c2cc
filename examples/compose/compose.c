/* Compose a message with a text body and a file attachment; print it.
 * This is the example in README.md (built and run by the tests). */
#include <stdio.h>
#include <string.h>

#include <mailout/mailout.h>

#define TRY(call) do { if ((st = (call)) != MAILOUT_OK) goto out; } while (0)

int main(int argc, char **argv)
{
    static const char text[] = "Hello,\n\nthe log of device 42 is attached.\n";
    mailout_allocator heap = mailout_heap_allocator();
    mailout_env env = mailout_posix_env(); /* clock, randomness, files */
    mailout_msg *m = NULL;
    mailout_part *root, *body, *log;
    unsigned char buf[256];
    size_t n;
    mailout_status st;

    if (argc != 2)
        return 64;
    TRY(mailout_msg_new(&m, &heap));
    TRY(mailout_msg_set_env(m, &env));
    TRY(mailout_msg_set_from(m, "device42@example.com", "Device 42"));
    TRY(mailout_msg_add_recipient(m, MAILOUT_TO, "support@example.com", NULL));
    TRY(mailout_msg_set_subject(m, "Logs from device 42"));
    TRY(mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    TRY(mailout_part_new(m, root, &body));
    TRY(mailout_part_set_data(body, text, strlen(text))); /* borrowed, not copied */
    TRY(mailout_part_new(m, root, &log));
    TRY(mailout_part_set_file(log, argv[1])); /* read while the message is read */
    TRY(mailout_part_set_disposition(log, MAILOUT_ATTACHMENT));

    /* To send it instead: mailout_send(&client_config, m, &result). */
    TRY(mailout_msg_read_start(m, 0));
    do {
        st = mailout_msg_read(m, buf, sizeof buf, &n);
        fwrite(buf, 1, n, stdout);
    } while (st == MAILOUT_OK);
out:
    if (st != MAILOUT_DONE)
        fprintf(stderr, "compose: %s\n", mailout_strerror(st));
    mailout_msg_free(m);
    return st == MAILOUT_DONE ? 0 : 1;
}
