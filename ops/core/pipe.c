/* pipe: each partition's records, one per line (em_val_format), written to
 * the stdin of `/bin/sh -c command`, whose stdout lines are the records of
 * the new partition (PySpark's RDD.pipe). The contract is em_rdd_pipe in
 * include/ember.h.
 *
 * The task writes and reads at the same time through poll() on
 * non-blocking pipe ends, so a command that prints a lot before it has read
 * all of its input cannot deadlock. SIGPIPE is blocked in the task thread
 * only around each write: a command that stops reading early ends the
 * writing, and its exit status alone decides whether the task failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

/* Bytes formatted ahead for the child's stdin, and read from its stdout,
 * per system call. */
#define PIPE_CHUNK (64 * 1024)

/* One running command and the buffers between it and the pipeline. */
typedef struct piped {
    const char *cmd;         /* the command, NUL-terminated, for messages */
    pid_t pid;               /* the child, or -1 before it is started */
    int in_fd;               /* write end of the child's stdin; -1: closed */
    int out_fd;              /* read end of the child's stdout; -1: at EOF */
    const em__part *input;   /* the records to write */
    size_t next;             /* the next record of input to format */
    char *wbuf;              /* formatted lines not yet written (mem.h) */
    size_t woff, wlen, wcap; /* written up to woff, filled up to wlen */
    char *rbuf;              /* a partial output line (mem.h) */
    size_t rlen, rcap;       /* bytes held, bytes allocated */
} piped;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Moves a descriptor to 3 or above, keeping close-on-exec, so that the
 * child's dup2 onto 0 and 1 never lands on one of the pipe ends. */
static int fd_above_stdio(int fd)
{
    int moved;

    if (fd > STDERR_FILENO)
        return fd;
    moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    return moved;
}

/* A pipe whose ends are close-on-exec (so children started by other
 * threads never inherit them) and above the standard descriptors. */
static int make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fds[0] = fd_above_stdio(fds[0]);
    fds[1] = fd_above_stdio(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        close_fd(&fds[0]);
        close_fd(&fds[1]);
        return -1;
    }
    return 0;
}

/* Starts `/bin/sh -c cmd` with in_rd as stdin and out_wr as stdout. Every
 * pipe end is close-on-exec, so the child keeps only 0 and 1 of them. The
 * child starts with no signal blocked and SIGPIPE at its default action. */
static int spawn_sh(const char *cmd, int in_rd, int out_wr, pid_t *pid_out)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, pipe_only;
    pid_t pid;
    int rc;

    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&attr)) != 0)
        goto out_fa;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    rc = posix_spawn_file_actions_adddup2(&fa, in_rd, STDIN_FILENO);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_wr, STDOUT_FILENO);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &pipe_only);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    if (rc == 0)
        *pid_out = pid;
    posix_spawnattr_destroy(&attr);
out_fa:
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Makes the pipes and starts the child; on success pp->pid, pp->in_fd and
 * pp->out_fd are set, the parent's ends non-blocking. */
static em_status start_child(piped *pp)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    int rc;

    if (make_pipe(in) != 0 || make_pipe(out) != 0) {
        rc = errno;
        close_fd(&in[0]);
        close_fd(&in[1]);
        return em__err(EM_EIO, "pipe: cannot make pipes for '%s': %s", pp->cmd,
                       strerror(rc));
    }
    rc = spawn_sh(pp->cmd, in[0], out[1], &pp->pid);
    close_fd(&in[0]);
    close_fd(&out[1]);
    if (rc == 0 && (fcntl(in[1], F_SETFL, O_NONBLOCK) != 0 ||
                    fcntl(out[0], F_SETFL, O_NONBLOCK) != 0))
        rc = errno; /* the child is reaped by the caller's cleanup */
    pp->in_fd = in[1];
    pp->out_fd = out[0];
    if (rc != 0)
        return em__err(EM_EIO, "pipe: cannot run '%s': %s", pp->cmd,
                       strerror(rc));
    return EM_OK;
}

/* write(2) with SIGPIPE blocked in this thread: a closed reader gives
 * EPIPE instead of killing the process. A SIGPIPE the write raised is
 * taken back before the old mask returns (as libpq does); one that was
 * already pending is left alone. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
    sigset_t pipe_only, old, pending;
    bool was_pending;
    ssize_t w;
    int saved;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_only, &old) != 0)
        return -1;
    was_pending =
        sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    w = write(fd, p, n);
    saved = errno;
    if (w < 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return w;
}

/* Formats records into the write buffer until it holds a chunk or the
 * input is exhausted; only called once the buffer is fully written. */
static em_status fill_input(piped *pp)
{
    pp->woff = pp->wlen = 0;
    while (pp->wlen < PIPE_CHUNK && pp->next < pp->input->n) {
        em_val rec = pp->input->recs[pp->next];
        size_t room = pp->wcap - pp->wlen;
        size_t need = em_val_format(rec, pp->wbuf + pp->wlen, room);

        if (need >= room) {
            void *p = pp->wbuf;
            if (need + 1 < need ||
                em__mem_grow(&p, &pp->wcap, pp->wlen + need + 1, 1) != 0)
                return em__oom();
            pp->wbuf = p;
            em_val_format(rec, pp->wbuf + pp->wlen, pp->wcap - pp->wlen);
        }
        pp->wbuf[pp->wlen + need] = '\n'; /* over the terminating NUL */
        pp->wlen += need + 1;
        pp->next++;
    }
    return EM_OK;
}

/* Writes what the child's stdin takes now. A child that closed its stdin
 * ends the writing without an error. */
static em_status write_input(piped *pp)
{
    ssize_t w =
        write_nosigpipe(pp->in_fd, pp->wbuf + pp->woff, pp->wlen - pp->woff);

    if (w >= 0) {
        pp->woff += (size_t)w;
        return EM_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return EM_OK;
    if (errno == EPIPE) {
        close_fd(&pp->in_fd);
        return EM_OK;
    }
    return em__err(EM_EIO, "pipe: writing to '%s': %s", pp->cmd,
                   strerror(errno));
}

/* Pushes one output line as a string in the scratch arena, rewinding the
 * arena once the pipeline has consumed it. */
static em_status push_line(em_task *t, em__sink *out, const char *s, size_t n)
{
    em__arena_mark m = em__arena_mark_get(t->scratch);
    em_val line;
    em_status st = em_str_copy(t->scratch, s, n, &line);

    if (st == EM_OK)
        st = em__sink_push(out, t, line);
    em__arena_rewind(t->scratch, m);
    return st;
}

/* Pushes the complete lines of the read buffer (the first `seen` bytes are
 * known to hold no newline) and keeps the partial last one. */
static em_status push_lines(piped *pp, size_t seen, em_task *t, em__sink *out)
{
    size_t start = 0;
    char *nl;

    while ((nl = memchr(pp->rbuf + seen, '\n', pp->rlen - seen)) != NULL) {
        size_t end = (size_t)(nl - pp->rbuf);
        em_status st = push_line(t, out, pp->rbuf + start, end - start);
        if (st != EM_OK)
            return st;
        start = seen = end + 1;
    }
    if (start > 0)
        memmove(pp->rbuf, pp->rbuf + start, pp->rlen - start);
    pp->rlen -= start;
    return EM_OK;
}

/* Reads what the child's stdout has now and pushes its complete lines; at
 * end of file, a last line without a newline is pushed too. */
static em_status read_output(piped *pp, em_task *t, em__sink *out)
{
    size_t seen = pp->rlen;
    void *p = pp->rbuf;
    ssize_t r;

    if (em__mem_grow(&p, &pp->rcap, pp->rlen + PIPE_CHUNK, 1) != 0)
        return em__oom();
    pp->rbuf = p;
    r = read(pp->out_fd, pp->rbuf + pp->rlen, pp->rcap - pp->rlen);
    if (r > 0) {
        pp->rlen += (size_t)r;
        return push_lines(pp, seen, t, out);
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return EM_OK;
    if (r < 0)
        return em__err(EM_EIO, "pipe: reading from '%s': %s", pp->cmd,
                       strerror(errno));
    close_fd(&pp->out_fd);
    if (pp->rlen == 0)
        return EM_OK;
    pp->rlen = 0; /* the last line, without its newline */
    return push_line(t, out, pp->rbuf, seen);
}

/* Feeds the input and drains the output until the child has closed its
 * stdout and all input is written (or the child stopped reading). */
static em_status exchange(piped *pp, em_task *t, em__sink *out)
{
    em_status st = EM_OK;

    while (st == EM_OK && (pp->in_fd >= 0 || pp->out_fd >= 0)) {
        struct pollfd fds[2];
        nfds_t n = 0;

        if (pp->in_fd >= 0 && pp->woff == pp->wlen &&
            (st = fill_input(pp)) != EM_OK)
            break;
        if (pp->in_fd >= 0 && pp->wlen == 0)
            close_fd(&pp->in_fd); /* all written: the child sees EOF */
        if (pp->in_fd >= 0)
            fds[n++] = (struct pollfd){pp->in_fd, POLLOUT, 0};
        if (pp->out_fd >= 0)
            fds[n++] = (struct pollfd){pp->out_fd, POLLIN, 0};
        if (n == 0)
            break;
        if (poll(fds, n, -1) < 0) {
            if (errno != EINTR)
                st = em__err(EM_EIO, "pipe: poll: %s", strerror(errno));
            continue;
        }
        for (nfds_t i = 0; i < n && st == EM_OK; i++) {
            if (fds[i].revents == 0)
                continue;
            if (fds[i].fd == pp->in_fd)
                st = write_input(pp);
            else if (fds[i].fd == pp->out_fd)
                st = read_output(pp, t, out);
        }
    }
    return st;
}

/* Reaps the child. With is_failing (the task already failed, or the
 * pipeline wants no more records) the child is killed first and its status
 * is not looked at. */
static em_status reap_child(piped *pp, bool is_failing)
{
    int status;

    close_fd(&pp->in_fd);
    close_fd(&pp->out_fd);
    if (pp->pid < 0)
        return EM_OK;
    if (is_failing)
        kill(pp->pid, SIGKILL);
    while (waitpid(pp->pid, &status, 0) < 0) {
        if (errno != EINTR)
            return is_failing ? EM_OK
                              : em__err(EM_EIO, "pipe: waiting for '%s': %s",
                                        pp->cmd, strerror(errno));
    }
    pp->pid = -1;
    if (is_failing)
        return EM_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return em__err(EM_EIO, "pipe: command '%s' exited with status %d",
                       pp->cmd, WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return em__err(EM_EIO,
                       "pipe: command '%s' exited with status %d "
                       "(killed by signal %d, %s)",
                       pp->cmd, 128 + WTERMSIG(status), WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
    return EM_OK;
}

/* Runs the command over one materialized partition. */
static em_status run_command(piped *pp, em_task *t, em__sink *out)
{
    em_status st;

    pp->wbuf = em__mem_alloc(PIPE_CHUNK);
    if (pp->wbuf == NULL)
        return EM_ENOMEM;
    pp->wcap = PIPE_CHUNK;
    st = start_child(pp);
    if (st == EM_OK)
        st = exchange(pp, t, out);
    if (st == EM_OK)
        st = reap_child(pp, false);
    else
        reap_child(pp, true);
    em__mem_free(pp->wbuf, pp->wcap);
    em__mem_free(pp->rbuf, pp->rcap);
    return st;
}

/* arg: the command (a str). */
static em_status pipe_compute(em_rdd *rdd, int part, em_task *t, em__sink *out)
{
    em__arena_mark m = em__arena_mark_get(t->scratch);
    piped pp = {.pid = -1, .in_fd = -1, .out_fd = -1};
    em__part input;
    char *cmd;
    em_status st;

    cmd = em__arena_alloc(t->scratch, (size_t)rdd->arg.len + 1, 1);
    if (cmd == NULL)
        return EM_ENOMEM;
    memcpy(cmd, rdd->arg.u.s, rdd->arg.len);
    cmd[rdd->arg.len] = '\0';
    pp.cmd = cmd;
    if ((st = em__part_init(&input)) != EM_OK)
        goto out_rewind;
    st = em__rdd_materialize(rdd->parents[0], part, t, &input);
    pp.input = &input;
    if (st == EM_OK)
        st = run_command(&pp, t, out);
    em__part_fini(&input);
out_rewind:
    em__arena_rewind(t->scratch, m);
    return st;
}

static const em__rdd_kind pipe_kind = {"pipe", pipe_compute, NULL};

em_rdd *em_rdd_pipe(em_rdd *rdd, const char *command)
{
    em_rdd *r;

    EM__NEED_RDD(rdd);
    if (command == NULL || command[0] == '\0') {
        em__err(EM_EINVAL, "pipe: no command given");
        return NULL;
    }
    r = em__rdd_new(rdd->ctx, &pipe_kind, rdd->nparts, &rdd, 1, EM__DEP_NARROW);
    if (r == NULL ||
        em__rdd_set_arg(r, em_str(command, strlen(command))) != EM_OK)
        return NULL; /* a made node is freed with the context */
    return r;
}
