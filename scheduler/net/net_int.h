/* What the files of net/ share and nothing outside net/ may include: the
 * loop's internals (loop.c owns them, conn.c links its objects into them),
 * the log hook, SIGPIPE blocking around socket writes, and address
 * formatting.
 */
#ifndef EMBER_SCHEDULER_NET_NET_INT_H
#define EMBER_SCHEDULER_NET_NET_INT_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

/* A node of a circular doubly-linked list with a sentinel head. */
typedef struct em__lnode {
    struct em__lnode *prev, *next;
} em__lnode;

void em__list_init(em__lnode *head);
void em__list_push(em__lnode *head, em__lnode *n);
void em__list_remove(em__lnode *n);

/* A function posted to the loop. */
typedef struct em__post {
    void (*fn)(void *arg);
    void *arg;
    struct em__post *next;
} em__post;

/* Size of the read buffer all connections of a loop share: reads on one
 * loop happen one at a time, and the bytes are consumed in the read
 * callback. */
#define EM__NET_READ_BYTES 65536

struct em__loop {
    uv_loop_t uv;           /* the libuv loop */
    uv_async_t wake;        /* wakes the loop for posts and stop */
    uv_mutex_t mu;          /* guards the post queue and is_destroying */
    em__post *head, *tail;  /* posted functions, FIFO */
    bool is_destroying;     /* no more posts are accepted */
    atomic_bool stop_asked; /* em__loop_stop was called */
    atomic_bool is_running; /* a thread is inside uv_run */
    bool has_thread;        /* em__loop_start made `thread` */
    uv_thread_t thread;     /* the loop's own thread */
    uv_thread_t runner;     /* the thread running the loop now */
    em__lnode servers;      /* em__server.node */
    em__lnode conns;        /* em__conn.node */
    em__lnode timers;       /* em__timer.node */
    char readbuf[EM__NET_READ_BYTES]; /* see EM__NET_READ_BYTES */
};

/* Closes every server and connection of l (conn.c), for
 * em__loop_destroy. */
void em__net_close_all(struct em__loop *l);

/* Sends one line to the log hook, if one is set (net.h). */
void em__net_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The calling thread's signal mask while SIGPIPE is blocked. */
typedef struct em__sigpipe_guard {
    sigset_t old;     /* the mask to restore */
    bool was_pending; /* a SIGPIPE was pending before: leave it */
} em__sigpipe_guard;

/* Blocks SIGPIPE on the calling thread, so that a write to a closed socket
 * fails with EPIPE instead of killing the process. */
void em__net_sigpipe_block(em__sigpipe_guard *g);

/* Discards a SIGPIPE raised while blocked, then restores the mask. */
void em__net_sigpipe_restore(em__sigpipe_guard *g);

/* Writes "1.2.3.4:80" or "[::1]:80" for sa to buf (cap bytes). */
void em__net_format_addr(const struct sockaddr *sa, char *buf, size_t cap);

#endif /* EMBER_SCHEDULER_NET_NET_INT_H */
