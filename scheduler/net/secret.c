/* The cluster secret (secret.h): where the file is, creating it on first
 * start, the permission checks, and the key derivation. Resolution and
 * checks are described in docs/protocol.md ("The secret").
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "runtime/err.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_rc;

static void sodium_start(void)
{
    sodium_rc = sodium_init();
}

em_status em__net_sodium_init(void)
{
    pthread_once(&sodium_once, sodium_start);
    if (sodium_rc < 0)
        return em__err(EM_EIO, "libsodium failed to initialize");
    return EM_OK;
}

em_status em__secret_path(const char *path, char *buf, size_t cap)
{
    const char *env = getenv("EMBER_SECRET_FILE");
    const char *home = getenv("HOME");
    int n;

    if (path != NULL)
        n = snprintf(buf, cap, "%s", path);
    else if (env != NULL && env[0] != '\0')
        n = snprintf(buf, cap, "%s", env);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(buf, cap, "%s/.ember/secret", home);
    else
        return em__err(EM_EINVAL,
                       "cannot locate the cluster secret: HOME is "
                       "not set (use --secret-file or EMBER_SECRET_FILE)");
    if (n < 0 || (size_t)n >= cap)
        return em__err(EM_ELIMIT, "secret file path is too long");
    return EM_OK;
}

em_status em__secret_from_bytes(const void *p, size_t n, em__secret *out)
{
    const uint8_t *b = p;
    em_status st;

    if ((st = em__net_sodium_init()) != EM_OK)
        return st;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ' ||
                     b[n - 1] == '\t'))
        n--;
    if (n == 0)
        return em__err(EM_EINVAL, "the cluster secret is empty");
    crypto_generichash(out->key, sizeof(out->key), b, n, NULL, 0);
    return EM_OK;
}

/* Writes all n bytes to fd. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates path's folder (one level, mode 0700) when it is missing. */
static em_status make_parent(const char *path)
{
    char dir[4096];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return EM_OK;
    *slash = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return em__err(EM_EIO, "cannot create %s for the cluster secret: %s",
                       dir, strerror(errno));
    return EM_OK;
}

/* Creates the secret file at path unless it exists: a temporary file in the
 * same folder gets the content and is then hard-linked to path, which fails
 * harmlessly when another process won the race. */
static em_status create_secret(const char *path)
{
    uint8_t raw[32];
    char hex[2 * sizeof(raw) + 2], tmp[4200];
    int fd, rc;
    em_status st;

    if ((st = em__net_sodium_init()) != EM_OK || (st = make_parent(path)))
        return st;
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0)
        return em__err(EM_EIO, "cannot create the cluster secret %s: %s", path,
                       strerror(errno));
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    hex[2 * sizeof(raw)] = '\n';
    rc = fchmod(fd, 0600) != 0 || write_all(fd, hex, sizeof(hex) - 1) != 0 ||
                 fsync(fd) != 0
             ? -1
             : 0;
    sodium_memzero(hex, sizeof(hex));
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
        rc = -1;
    if (rc != 0)
        st = em__err(EM_EIO, "cannot create the cluster secret %s: %s", path,
                     strerror(errno));
    unlink(tmp);
    return st;
}

/* Reads the whole file at fd (at most EM__SECRET_MAX_FILE_BYTES + 1). */
static ssize_t read_small(int fd, uint8_t *buf, size_t cap)
{
    size_t n = 0;

    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

/* Checks the opened secret file's type and mode, then derives the key. */
static em_status load_fd(int fd, const char *path, em__secret *out)
{
    uint8_t buf[EM__SECRET_MAX_FILE_BYTES + 1];
    struct stat sb;
    ssize_t n;
    em_status st;

    if (fstat(fd, &sb) != 0)
        return em__err(EM_EIO, "cluster secret %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return em__err(EM_EINVAL, "cluster secret %s is not a regular file",
                       path);
    if ((sb.st_mode & 077) != 0)
        return em__err(EM_EINVAL,
                       "cluster secret %s is accessible by group "
                       "or others (mode %04o); run: chmod 600 %s",
                       path, (unsigned)(sb.st_mode & 07777), path);
    if ((n = read_small(fd, buf, sizeof(buf))) < 0)
        return em__err(EM_EIO, "cluster secret %s: %s", path, strerror(errno));
    if ((size_t)n > EM__SECRET_MAX_FILE_BYTES)
        st = em__err(EM_EINVAL, "cluster secret %s is larger than %d bytes",
                     path, EM__SECRET_MAX_FILE_BYTES);
    else if ((st = em__secret_from_bytes(buf, (size_t)n, out)) != EM_OK)
        st = em__err(EM_EINVAL, "cluster secret %s is empty", path);
    sodium_memzero(buf, sizeof(buf));
    return st;
}

em_status em__secret_load(const char *path, bool create, em__secret *out)
{
    char resolved[4096];
    em_status st;
    int fd;

    if ((st = em__secret_path(path, resolved, sizeof(resolved))) != EM_OK ||
        (st = em__net_sodium_init()) != EM_OK)
        return st;
    fd = open(resolved, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if ((st = create_secret(resolved)) != EM_OK)
            return st;
        fd = open(resolved, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0 && errno == ENOENT)
        return em__err(EM_ENOENT,
                       "cluster secret %s does not exist (ember "
                       "master creates it on first start; or pass "
                       "--secret-file or set EMBER_SECRET_FILE)",
                       resolved);
    if (fd < 0)
        return em__err(EM_EIO, "cluster secret %s: %s", resolved,
                       strerror(errno));
    st = load_fd(fd, resolved, out);
    close(fd);
    return st;
}
