/* Drives `ember shell` through a pseudo-terminal, as a user types:
 * expressions and their printed values, tab completion of sc and RDD
 * methods, multi-line input, :help, an error that leaves the shell usable,
 * Ctrl-C during a running job, Ctrl-D, and history kept across sessions.
 * Usage: test_shell EMBER. Waits for output by content, never by time
 * (the 60 s limit only stops a hung shell). The progress bar may be
 * drawn before a job's result, so results are matched at their end.
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16]; /* what the shell printed since the last match */
static size_t nout;
static int failures;

static pid_t start(const char *ember, const char *hist, int *fd)
{
    pid_t pid = forkpty(fd, NULL, NULL, NULL);

    if (pid == 0) {
        setenv("TERM", "xterm", 1);
        execl(ember, "ember", "shell", "--master", "local[2]", "--history",
              hist, (char *)NULL);
        _exit(127);
    }
    nout = 0;
    return pid;
}

/* Reads until `want` appears; the output before it is dropped. */
static int expect(int fd, const char *want, const char *what)
{
    struct pollfd p = {fd, POLLIN, 0};
    char *hit;

    for (;;) {
        out[nout] = '\0';
        if ((hit = strstr(out, want)) != NULL) {
            size_t used = (size_t)(hit - out) + strlen(want);
            memmove(out, out + used, nout - used);
            nout -= used;
            return 1;
        }
        if (poll(&p, 1, 60000) <= 0 || nout + 1 >= sizeof(out)) {
            printf("FAIL %s: no '%s' in:\n%s\n", what, want, out);
            failures++;
            return 0;
        }
        ssize_t n = read(fd, out + nout, sizeof(out) - 1 - nout);
        if (n <= 0) {
            printf("FAIL %s: the shell ended; no '%s' in:\n%s\n", what, want,
                   out);
            failures++;
            return 0;
        }
        nout += (size_t)n;
    }
}

static void type(int fd, const char *s)
{
    size_t n = strlen(s);

    if (write(fd, s, n) != (ssize_t)n)
        perror("write");
}

/* Ends the session with Ctrl-D. A completion first proves that the line
 * editor has the terminal in raw mode: a Ctrl-D typed while the terminal
 * is still in cooked mode would be taken by the terminal driver. */
static int finish(pid_t pid, int fd)
{
    int status = 0;

    type(fd, "sc:versio\t");
    expect(fd, "n", "completion before Ctrl-D");
    type(fd, "\x15\x04"); /* Ctrl-U empties the line, Ctrl-D */
    waitpid(pid, &status, 0);
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
    char hist[] = "/tmp/ember-shell-hist.XXXXXX";
    int fd, hfd;
    pid_t pid;
    FILE *f;
    char line[256];
    int has_history = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: test_shell EMBER\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    hfd = mkstemp(hist);
    close(hfd);
    pid = start(argv[1], hist, &fd);
    expect(fd, "ember> ", "banner and prompt");

    /* expressions print readably */
    type(fd, "1 + 1\n");
    expect(fd, "\r\n2\r\nember> ", "an expression");
    type(fd, "{1, {\"a\", ember.null}, {k = 2}, 2.0}\n");
    expect(fd, "{1, {\"a\", ember.null}, {k = 2}, 2.0}\r\nember> ",
           "nested tables, pairs, ember.null");
    type(fd, "=sc:parallelize({{'a', 1}, {'a', 2}}):reduceByKey(ember.op.add):collect()\n");
    expect(fd, "{{\"a\", 3}}\r\nember> ", "=expr runs a job");

    /* tab completion of sc and RDD methods and of globals */
    type(fd, "sc:paral\t");
    expect(fd, "lelize", "completion of sc:paral");
    type(fd, "({1, 2, 3}, 2):count()\n");
    expect(fd, "3\r\nember> ", "the completed line runs");
    type(fd, "r = sc:parallelize({5, 6})\n");
    expect(fd, "ember> ", "assignment");
    type(fd, "r:colle\t");
    expect(fd, "ct", "completion of an RDD method");
    type(fd, "()\n");
    expect(fd, "{5, 6}\r\nember> ", "r:collect()");
    type(fd, "emb\t");
    expect(fd, "er", "completion of a global");
    type(fd, ".op.ad\t");
    expect(fd, "d", "completion inside a table");
    type(fd, "(40, 2)\n");
    expect(fd, "\r\n42\r\nember> ", "ember.op.add(40, 2)");

    /* multi-line input */
    type(fd, "function twice(x)\n");
    expect(fd, ">> ", "continuation prompt");
    type(fd, "return 2 * x\n");
    expect(fd, ">> ", "still continuing");
    type(fd, "end\n");
    expect(fd, "ember> ", "statement complete");
    type(fd, "sc:range(4):map(twice):collect()\n");
    expect(fd, "{0, 2, 4, 6}\r\nember> ", "a function defined over lines");

    /* :help */
    type(fd, ":help reduceByKey\n");
    expect(fd, "rdd:reduceByKey(f, numPartitions)", ":help topic");
    type(fd, ":help\n");
    expect(fd, ":quit", ":help lists the commands");
    expect(fd, "ember> ", "prompt after help");

    /* errors keep the shell usable */
    type(fd, "error('boom')\n");
    expect(fd, "boom", "an error is shown");
    type(fd, "sc:parallelize({1}):map(function(x) error('in task') end):count()\n");
    expect(fd, "in task", "a task error is shown");
    type(fd, "3 * 3\n");
    expect(fd, "\r\n9\r\nember> ", "usable after errors");

    /* Ctrl-C cancels a running job and returns to the prompt */
    type(fd, "print('job' .. 'started'); sc:range(0, 1000000000, 1, 4):map("
             "function(x) local s = 0 for i = 1, 100 do s = s + i end "
             "return s end):count()\n");
    expect(fd, "jobstarted", "the long job started");
    type(fd, "\x03");
    expect(fd, "interrupted", "Ctrl-C interrupts the job");
    expect(fd, "ember> ", "prompt after Ctrl-C");
    type(fd, "sc:parallelize({1, 2}):map(function(x) return x * 10 end):sum()\n");
    expect(fd, "30\r\nember> ", "jobs run after an interrupt");
    /* Ctrl-C at the prompt drops the line */
    type(fd, "this is not lua");
    type(fd, "\x03");
    expect(fd, "ember> ", "Ctrl-C at the prompt");
    type(fd, "6 * 7\n");
    expect(fd, "\r\n42\r\nember> ", "after Ctrl-C at the prompt");
    if (finish(pid, fd) != 0) {
        printf("FAIL Ctrl-D: non-zero exit\n");
        failures++;
    }

    /* history: kept in the file, and Up recalls the last line */
    f = fopen(hist, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        has_history |= strstr(line, "6 * 7") != NULL || /* libedit's */
                       strstr(line, "6\\040*\\0407") != NULL;
    if (f != NULL)
        fclose(f);
    if (!has_history) {
        printf("FAIL history: '6 * 7' not in the history file\n");
        failures++;
    }
    pid = start(argv[1], hist, &fd);
    expect(fd, "ember> ", "second session");
    type(fd, "\x1b[A\n");
    expect(fd, "\r\n42\r\nember> ", "Up recalls the last line");
    finish(pid, fd);
    unlink(hist);
    printf("test_shell: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
