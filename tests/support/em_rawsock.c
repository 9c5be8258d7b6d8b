/* Raw TCP peers for the protocol tests (em_rawsock.h). */
#include "em_rawsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "em_test.h"
#include "scheduler/net/auth.h"

int em_raw_connect(int port, int timeout_s)
{
    struct sockaddr_in sa;
    struct timeval tv = {timeout_s, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

void em_raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

void em_raw_recv_exact(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = recv(fd, p + got, n - got, 0);

        assert_true(r > 0);
        got += (size_t)r;
    }
}

void em_raw_expect_close(int fd)
{
    uint8_t buf[4096];
    ssize_t r;

    while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
        ;
    assert_true(r == 0 || errno == ECONNRESET);
    close(fd);
}

void em_raw_auth(int fd, const em__secret *key)
{
    uint8_t hello[EM__AUTH_HELLO_BYTES], reply[EM__AUTH_REPLY_BYTES];
    uint8_t result[EM__AUTH_RESULT_BYTES];
    em__auth st;

    em_raw_recv_exact(fd, hello, sizeof(hello));
    assert_int_equal(em__auth_client_reply(&st, key, hello, reply), EM_OK);
    em_raw_send(fd, reply, sizeof(reply));
    em_raw_recv_exact(fd, result, sizeof(result));
    assert_int_equal(em__auth_client_check(&st, result), EM_OK);
}
