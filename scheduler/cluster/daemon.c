/* Helpers of the pool's daemons (daemon.h): the signal watcher, atomic
 * file writes and recursive removal.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/err.h"

/* ---- signals ---- */

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

/* The watcher's thread: waits in slices of 100 ms so that stop is seen. */
static void *watch_main(void *arg)
{
    em__sigwatch *w = arg;
    struct timespec slice = {0, 100 * 1000 * 1000};
    sigset_t set;

    stop_signals(&set);
    while (!atomic_load(&w->is_done)) {
        int sig = sigtimedwait(&set, NULL, &slice);

        if (sig > 0) {
            atomic_store(&w->signal, sig);
            em__loop_stop(w->loop);
            break;
        }
    }
    return NULL;
}

em_status em__sigwatch_start(em__sigwatch *w, em__loop *l)
{
    sigset_t set;
    int rc;

    stop_signals(&set);
    w->loop = l;
    atomic_store(&w->is_done, false);
    atomic_store(&w->signal, 0);
    pthread_sigmask(SIG_BLOCK, &set, &w->old_mask);
    if ((rc = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
        pthread_sigmask(SIG_SETMASK, &w->old_mask, NULL);
        return em__err(EM_EIO, "signal thread: %s", strerror(rc));
    }
    return EM_OK;
}

void em__sigwatch_stop(em__sigwatch *w)
{
    atomic_store(&w->is_done, true);
    pthread_join(w->thread, NULL);
    pthread_sigmask(SIG_SETMASK, &w->old_mask, NULL);
}

/* ---- files ---- */

em_status em__daemon_write_file(const char *path, const char *text)
{
    char tmp[4200];
    size_t n = strlen(text);
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return em__err(EM_ELIMIT, "path %s is too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return em__err(EM_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (write(fd, text, n) != (ssize_t)n) {
        int e = errno;

        close(fd);
        unlink(tmp);
        return em__err(EM_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;

        unlink(tmp);
        return em__err(EM_EIO, "cannot rename %s to %s: %s", tmp, path,
                       strerror(e));
    }
    return EM_OK;
}

em_status em__daemon_mkdir(const char *path, unsigned mode)
{
    if (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST)
        return em__err(EM_EIO, "cannot create %s: %s", path,
                       strerror(errno));
    return EM_OK;
}

/* nftw visits children first (FTW_DEPTH); each entry is removed. */
static int remove_entry(const char *p, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    if (remove(p) != 0 && errno != ENOENT) {
        em__err(EM_EIO, "cannot remove %s: %s", p, strerror(errno));
        return 1;
    }
    return 0;
}

em_status em__daemon_rmtree(const char *path)
{
    struct stat st;
    int rc;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? EM_OK
                               : em__err(EM_EIO, "cannot remove %s: %s", path,
                                         strerror(errno));
    rc = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rc == 1)
        return EM_EIO;
    if (rc != 0)
        return em__err(EM_EIO, "cannot remove %s: %s", path,
                       strerror(errno));
    return EM_OK;
}

/* ---- names ---- */

bool em__daemon_is_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 127 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                  ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool em__daemon_is_hash(const char *s)
{
    size_t n = strlen(s);

    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}
