/* Fault injection for tests/c/run.sh (LD_PRELOAD): the first send() of exactly
 * $FERROTLS_TEST_FAIL_SEND_LEN bytes fails with ECONNRESET, as if the peer had reset the
 * connection between our reading its data and our sending the answer. Every other send() is
 * the real one. Built by run.sh; never part of the library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

static int fired;

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    static ssize_t (*real_send)(int, const void *, size_t, int);
    if (real_send == NULL)
        real_send = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
    const char *want = getenv("FERROTLS_TEST_FAIL_SEND_LEN");
    if (!fired && want != NULL && (size_t)strtoul(want, NULL, 10) == len) {
        fired = 1;
        errno = ECONNRESET;
        return -1;
    }
    return real_send(fd, buf, len, flags);
}
