/* `ember jobs`: the submitted drivers the master remembers, one line
 * each (scheduler/cluster/submit.h). docs/pool.md ("Submitted jobs").
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "scheduler/cluster/submit.h"

static const char help[] =
    "usage: ember jobs [--master ember://H:P] [--secret-file F]\n"
    "\n"
    "Lists the submitted drivers the master remembers, oldest first: id,\n"
    "name, state (submitted, running, finished, failed, killed), worker,\n"
    "start time (local, - before it started), exit status (- unless it\n"
    "finished) and, for a driver that failed or was killed, why.\n"
    "\n"
    "  --master URL     the master (default $EMBER_MASTER when it is an\n"
    "                   ember:// URL)\n"
    "  --secret-file F  the cluster secret (default $EMBER_SECRET_FILE,\n"
    "                   else ~/.ember/secret)\n";

/* The submissions, collected to size the columns. */
typedef struct table {
    em__submit_info *rows;
    size_t n, cap;
    int failed; /* out of memory */
} table;

static void add_row(const em__submit_info *j, void *ud)
{
    table *t = ud;

    if (em__mem_grow((void **)&t->rows, &t->cap, t->n + 1, sizeof(*t->rows)) !=
        0) {
        t->failed = 1;
        return;
    }
    t->rows[t->n++] = *j;
}

/* The row's cells: id, name, state, worker, started, exit. */
static void cells(const em__submit_info *j, char started[32], char code[16],
                  const char *out[6])
{
    time_t t = (time_t)j->started;
    struct tm tm;

    snprintf(started, 32, "-");
    if (j->started > 0 && localtime_r(&t, &tm) != NULL)
        strftime(started, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(code, 16, "-");
    if (j->exit_code >= 0)
        snprintf(code, 16, "%d", j->exit_code);
    out[0] = j->id;
    out[1] = j->name;
    out[2] = j->state;
    out[3] = j->worker[0] ? j->worker : "-";
    out[4] = started;
    out[5] = code;
}

static void print_table(const table *t)
{
    static const char *const head[6] = {"ID",     "NAME",    "STATE",
                                        "WORKER", "STARTED", "EXIT"};
    int width[6];
    char started[32], code[16];
    const char *c[6];

    for (int k = 0; k < 6; k++)
        width[k] = (int)strlen(head[k]);
    for (size_t i = 0; i < t->n; i++) {
        cells(&t->rows[i], started, code, c);
        for (int k = 0; k < 6; k++)
            if ((int)strlen(c[k]) > width[k])
                width[k] = (int)strlen(c[k]);
    }
    printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", width[0], head[0], width[1],
           head[1], width[2], head[2], width[3], head[3], width[4], head[4],
           head[5]);
    for (size_t i = 0; i < t->n; i++) {
        const em__submit_info *j = &t->rows[i];
        bool has_why =
            strcmp(j->state, "failed") == 0 || strcmp(j->state, "killed") == 0;

        cells(j, started, code, c);
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s%s%s\n", width[0], c[0],
               width[1], c[1], width[2], c[2], width[3], c[3], width[4], c[4],
               has_why ? width[5] : 0, c[5], has_why ? "  " : "",
               has_why ? j->message : "");
    }
}

int em__cli_jobs(int argc, char **argv)
{
    static const em__cli_master_cmd cmd = {"ember jobs", help, NULL, NULL};
    table t = {0};
    em__sclient *c;
    em_status st;
    int status;

    if ((c = em__cli_master_connect(&cmd, argc, argv, NULL, NULL, &status)) ==
        NULL)
        return status;
    st = em__submit_jobs(c, add_row, &t);
    em__sclient_close(c);
    if (st == EM_OK && t.failed)
        st = em__oom();
    if (st == EM_OK)
        print_table(&t);
    else
        fprintf(stderr, "ember jobs: %s\n", em_last_error());
    em__mem_free(t.rows, t.cap * sizeof(*t.rows));
    return st == EM_OK ? 0 : 1;
}
