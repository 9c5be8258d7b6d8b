/* `ember shell`: the interactive Lua shell (docs/shell.md). Line editing,
 * persistent history and tab completion come from libedit's readline
 * interface; a statement that is not finished continues on the next line;
 * an expression prints its value readably; Ctrl-C cancels the running job
 * (every task's Lua function stops with "interrupted") and Ctrl-D exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <editline/readline.h>

#include "lint.h"

#define PROMPT "ember> "
#define PROMPT2 "    >> "
#define HISTORY_MAX 1000

/* Shell helpers written in Lua: the value printer and the help text. */
static const char shell_lua[] =
    "local M = {}\n"
    "local function key_str(k)\n"
    "  if type(k) == 'string' and k:match('^[%a_][%w_]*$') then return k end\n"
    "  return '[' .. M.show(k, 1) .. ']'\n"
    "end\n"
    "function M.show(v, depth, seen)\n"
    "  depth, seen = depth or 0, seen or {}\n"
    "  local t = type(v)\n"
    "  if t == 'string' then\n"
    "    return depth == 0 and v or string.format('%q', v)\n"
    "  elseif t == 'number' then\n"
    "    if math.type(v) == 'float' and v == math.floor(v) and v == v\n"
    "       and math.abs(v) < 1e16 then return string.format('%.1f', v) end\n"
    "    return tostring(v)\n"
    "  elseif t ~= 'table' or getmetatable(v) ~= nil then\n"
    "    return tostring(v)\n"
    "  end\n"
    "  if seen[v] then return '{...}' end\n"
    "  if depth > 8 then return '{...}' end\n"
    "  seen[v] = true\n"
    "  local parts, n = {}, #v\n"
    "  for i = 1, n do parts[#parts + 1] = M.show(v[i], depth + 1, seen) end\n"
    "  local keys = {}\n"
    "  for k in pairs(v) do\n"
    "    if not (math.type(k) == 'integer' and k >= 1 and k <= n) then\n"
    "      keys[#keys + 1] = k\n"
    "    end\n"
    "  end\n"
    "  table.sort(keys, function(a, b)\n"
    "    if type(a) == type(b) and (type(a) == 'number' or type(a) == 'string')\n"
    "    then return a < b end\n"
    "    return type(a) < type(b)\n"
    "  end)\n"
    "  for i, k in ipairs(keys) do\n"
    "    if i > 200 then parts[#parts + 1] = '...'; break end\n"
    "    parts[#parts + 1] = key_str(k) .. ' = ' .. M.show(v[k], depth + 1, seen)\n"
    "  end\n"
    "  seen[v] = nil\n"
    "  return '{' .. table.concat(parts, ', ') .. '}'\n"
    "end\n"
    "M.help = {\n"
    "  parallelize = 'sc:parallelize(t, numSlices): an RDD of the array t',\n"
    "  range = 'sc:range(start, end, step, numSlices): integers start..end-1',\n"
    "  textFile = 'sc:textFile(path, minPartitions): the lines of files',\n"
    "  wholeTextFiles = 'sc:wholeTextFiles(path, minPartitions): {path, content} per file',\n"
    "  emptyRDD = 'sc:emptyRDD(): an RDD with no partitions',\n"
    "  union = 'rdd:union(other) / sc:union({rdds}): all records of both',\n"
    "  broadcast = 'sc:broadcast(v): a read-only value for every task (b.value)',\n"
    "  accumulator = 'sc:accumulator(v, {zero=f, addInPlace=g}): add-only (a:add(x), a.value)',\n"
    "  setCheckpointDir = 'sc:setCheckpointDir(dir): where checkpoint() saves',\n"
    "  stop = 'sc:stop(): stops the context',\n"
    "  map = 'rdd:map(f): f(x) for every record',\n"
    "  filter = 'rdd:filter(f): the records for which f(x) is true',\n"
    "  flatMap = 'rdd:flatMap(f): every element of the array (or iterator) f(x)',\n"
    "  mapPartitions = 'rdd:mapPartitions(f): f(iterator) -> array or iterator, per partition',\n"
    "  mapPartitionsWithIndex = 'rdd:mapPartitionsWithIndex(f): f(index, iterator), index 0-based',\n"
    "  glom = 'rdd:glom(): one array per partition',\n"
    "  mapValues = 'rdd:mapValues(f): {k, f(v)} for pairs {k, v}',\n"
    "  flatMapValues = 'rdd:flatMapValues(f): {k, w} for each w of f(v)',\n"
    "  keyBy = 'rdd:keyBy(f): {f(x), x}',\n"
    "  keys = 'rdd:keys(): the keys of pairs',\n"
    "  values = 'rdd:values(): the values of pairs',\n"
    "  zip = 'rdd:zip(other): {x, y} of records at the same position',\n"
    "  zipWithIndex = 'rdd:zipWithIndex(): {x, index}, 0-based',\n"
    "  zipWithUniqueId = 'rdd:zipWithUniqueId(): {x, unique id}',\n"
    "  sample = 'rdd:sample(withReplacement, fraction, seed): a random sample',\n"
    "  randomSplit = 'rdd:randomSplit(weights, seed): an array of RDDs',\n"
    "  coalesce = 'rdd:coalesce(numPartitions, shuffle): fewer partitions',\n"
    "  repartition = 'rdd:repartition(numPartitions): exactly n partitions (shuffle)',\n"
    "  pipe = 'rdd:pipe(command): records through a shell command',\n"
    "  partitionBy = 'rdd:partitionBy(numPartitions, partitionFunc): pairs by key',\n"
    "  combineByKey = 'rdd:combineByKey(create, mergeValue, mergeCombiners, numPartitions)',\n"
    "  reduceByKey = 'rdd:reduceByKey(f, numPartitions): f over the values of each key',\n"
    "  foldByKey = 'rdd:foldByKey(zero, f, numPartitions)',\n"
    "  aggregateByKey = 'rdd:aggregateByKey(zero, seqFunc, combFunc, numPartitions)',\n"
    "  groupByKey = 'rdd:groupByKey(numPartitions): {k, {values}}',\n"
    "  groupBy = 'rdd:groupBy(f, numPartitions): {f(x), {records}}',\n"
    "  distinct = 'rdd:distinct(numPartitions): each record once',\n"
    "  sortByKey = 'rdd:sortByKey(ascending, numPartitions, keyfunc)',\n"
    "  sortBy = 'rdd:sortBy(keyfunc, ascending, numPartitions)',\n"
    "  repartitionAndSortWithinPartitions = 'rdd:repartitionAndSortWithinPartitions(n, partitionFunc, ascending, keyfunc)',\n"
    "  cogroup = 'rdd:cogroup(other, numPartitions): {k, {{values}, {others}}}',\n"
    "  groupWith = 'rdd:groupWith(other, ...): cogroup of several',\n"
    "  join = 'rdd:join(other, numPartitions): {k, {v, w}}',\n"
    "  leftOuterJoin = 'rdd:leftOuterJoin(other, numPartitions): w may be ember.null',\n"
    "  rightOuterJoin = 'rdd:rightOuterJoin(other, numPartitions): v may be ember.null',\n"
    "  fullOuterJoin = 'rdd:fullOuterJoin(other, numPartitions): either may be ember.null',\n"
    "  subtract = 'rdd:subtract(other, numPartitions): records not in other',\n"
    "  subtractByKey = 'rdd:subtractByKey(other, numPartitions): pairs whose key is not in other',\n"
    "  intersection = 'rdd:intersection(other): distinct records in both',\n"
    "  cartesian = 'rdd:cartesian(other): every {x, y}',\n"
    "  persist = 'rdd:persist(ember.StorageLevel.MEMORY_AND_DISK): keep after first use',\n"
    "  cache = 'rdd:cache(): persist at MEMORY_ONLY',\n"
    "  unpersist = 'rdd:unpersist(): drop what is kept',\n"
    "  getStorageLevel = 'rdd:getStorageLevel(): the level name',\n"
    "  checkpoint = 'rdd:checkpoint(): save at the next job and cut the lineage',\n"
    "  localCheckpoint = 'rdd:localCheckpoint(): checkpoint in the block store',\n"
    "  isCheckpointed = 'rdd:isCheckpointed()',\n"
    "  getNumPartitions = 'rdd:getNumPartitions()',\n"
    "  id = 'rdd:id(): the RDD id',\n"
    "  setName = 'rdd:setName(name)', name = 'rdd:name()',\n"
    "  toDebugString = 'rdd:toDebugString(): the lineage',\n"
    "  collect = 'rdd:collect(): every record, as an array',\n"
    "  count = 'rdd:count(): the number of records',\n"
    "  first = 'rdd:first(): the first record',\n"
    "  take = 'rdd:take(n): the first n records',\n"
    "  takeOrdered = 'rdd:takeOrdered(n, key): the n smallest',\n"
    "  top = 'rdd:top(n, key): the n largest, largest first',\n"
    "  reduce = 'rdd:reduce(f): f(a, b) over all records',\n"
    "  fold = 'rdd:fold(zero, f)',\n"
    "  aggregate = 'rdd:aggregate(zero, seqOp, combOp)',\n"
    "  treeReduce = 'rdd:treeReduce(f, depth)',\n"
    "  treeAggregate = 'rdd:treeAggregate(zero, seqOp, combOp, depth)',\n"
    "  sum = 'rdd:sum()', mean = 'rdd:mean()',\n"
    "  max = 'rdd:max(key)', min = 'rdd:min(key)',\n"
    "  stats = 'rdd:stats(): count(), mean(), stdev(), ... of the numbers',\n"
    "  variance = 'rdd:variance()', sampleVariance = 'rdd:sampleVariance()',\n"
    "  stdev = 'rdd:stdev()', sampleStdev = 'rdd:sampleStdev()',\n"
    "  histogram = 'rdd:histogram(buckets): {bounds, counts}; buckets a count or the bounds',\n"
    "  countByValue = 'rdd:countByValue(): {[x] = count}',\n"
    "  countByKey = 'rdd:countByKey(): {[k] = count}',\n"
    "  collectAsMap = 'rdd:collectAsMap(): pairs as a table',\n"
    "  lookup = 'rdd:lookup(key): the values of key',\n"
    "  isEmpty = 'rdd:isEmpty()',\n"
    "  takeSample = 'rdd:takeSample(withReplacement, num, seed)',\n"
    "  foreach = 'rdd:foreach(f): f(x) on the executors',\n"
    "  foreachPartition = 'rdd:foreachPartition(f): f(iterator) per partition',\n"
    "  saveAsTextFile = 'rdd:saveAsTextFile(path): one part file per partition',\n"
    "  toLocalIterator = 'rdd:toLocalIterator(): an iterator over the records',\n"
    "}\n"
    "function M.topics()\n"
    "  local names, lines, line = {}, {}, 'Help on:'\n"
    "  for k in pairs(M.help) do names[#names + 1] = k end\n"
    "  table.sort(names)\n"
    "  for _, k in ipairs(names) do\n"
    "    if #line + #k + 1 > 78 then lines[#lines + 1] = line; line = ' ' end\n"
    "    line = line .. ' ' .. k\n"
    "  end\n"
    "  lines[#lines + 1] = line\n"
    "  return table.concat(lines, '\\n')\n"
    "end\n"
    "return M\n";

static const char help_text[] =
    "  :help           this text\n"
    "  :help NAME      what an RDD or sc method does (:help reduceByKey)\n"
    "  :quit           leave (or Ctrl-D)\n"
    "  EXPR or =EXPR   prints the value\n"
    "  sc              the SparkContext; sc:parallelize, sc:textFile, ...\n"
    "  ember           ember.null, ember.op.add ..., ember.StorageLevel\n"
    "Tab completes names and methods; Ctrl-C cancels a running job.\n"
    "docs/shell.md has the tour.\n";

static lua_State *shell_L;              /* for the completion callback */
static volatile sig_atomic_t got_sigint;
static int sigint_pipe[2] = {-1, -1};   /* wakes the line reader */

static void lstop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

/* SIGINT while Lua runs: stop the script and every task's function. */
static void on_sigint_running(int sig)
{
    (void)sig;
    got_sigint = 1;
    em__lua_interrupt_all();
    em__lua_cancel_all(); /* native-only jobs stop too */
    if (shell_L != NULL)
        lua_sethook(shell_L, lstop,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* SIGINT at the prompt: drop the line being typed. The pipe wakes the
 * reader even when the signal comes between two reads. */
static void on_sigint_prompt(int sig)
{
    int saved = errno;

    (void)sig;
    got_sigint = 1;
    if (write(sigint_pipe[1], "x", 1) < 0) {
        /* full: the reader is woken already */
    }
    errno = saved;
}

/* libedit's character reader: a key, or end of input after Ctrl-C. */
static int shell_getc(FILE *f)
{
    struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0},
                          {sigint_pipe[0], POLLIN, 0}};
    unsigned char c;
    char drain[64];

    (void)f;
    for (;;) {
        if (got_sigint)
            return EOF;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return EOF;
        }
        if (p[1].revents) {
            while (read(sigint_pipe[0], drain, sizeof(drain)) > 0) {
            }
            continue;
        }
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n == 1)
            return c;
        if (n < 0 && errno == EINTR)
            continue;
        return EOF;
    }
}

static void set_sigint(void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: reads return EINTR */
}

/* ---- completion ---- */

/* Adds the string keys of the table at idx starting with prefix (after
 * sep) to the candidate table at the top. */
static void add_keys(lua_State *L, int idx, const char *head, size_t hlen,
                     const char *prefix, int out)
{
    size_t plen = strlen(prefix);

    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING &&
            strncmp(lua_tostring(L, -1), prefix, plen) == 0) {
            lua_pushlstring(L, head, hlen);
            lua_pushvalue(L, -2);
            lua_concat(L, 2);
            lua_pushboolean(L, 1);
            lua_rawset(L, out);
        }
    }
}

/* Pushes a table of completions (as keys) for text. */
static int complete_lua(lua_State *L)
{
    const char *text = lua_tostring(L, 1);
    const char *sep = strpbrk(text, ".:"), *last = NULL;
    static const char *const keywords[] = {
        "and", "break", "do", "else", "elseif", "end", "false", "for",
        "function", "goto", "if", "in", "local", "nil", "not", "or",
        "repeat", "return", "then", "true", "until", "while"};
    int out;

    lua_newtable(L);
    out = lua_gettop(L);
    for (const char *p = sep; p; p = strpbrk(p + 1, ".:"))
        last = p;
    if (last == NULL) {
        lua_pushglobaltable(L);
        add_keys(L, out + 1, "", 0, text, out);
        lua_pop(L, 1);
        for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
            if (strncmp(keywords[i], text, strlen(text)) == 0) {
                lua_pushstring(L, keywords[i]);
                lua_pushboolean(L, 1);
                lua_rawset(L, out);
            }
        return 1;
    }
    /* walk the dotted path before the last separator */
    lua_pushglobaltable(L);
    for (const char *p = text; p < last;) {
        const char *q = p;
        while (q < last && *q != '.' && *q != ':')
            q++;
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushlstring(L, p, (size_t)(q - p));
            lua_rawget(L, -2);
        } else if (lua_type(L, -1) == LUA_TUSERDATA) {
            lua_getfield(L, -1, "");
            lua_pop(L, 1);
            lua_pushlstring(L, p, (size_t)(q - p));
            lua_gettable(L, -2);
        } else {
            return 1;
        }
        lua_remove(L, -2);
        p = q + 1;
    }
    if (luaL_testudata(L, -1, EM_LUA_RDD)) {
        lua_getfield(L, LUA_REGISTRYINDEX, "ember.RDD.methods");
        add_keys(L, lua_gettop(L), text, (size_t)(last - text + 1),
                 last + 1, out);
    } else if (luaL_testudata(L, -1, EM_LUA_CTX)) {
        static const char *const attrs[] = {
            "parallelize", "range", "textFile", "wholeTextFiles",
            "emptyRDD", "union", "broadcast", "accumulator",
            "setCheckpointDir", "stop", "defaultParallelism", "master",
            "version"};
        for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
            if (strncmp(attrs[i], last + 1, strlen(last + 1)) == 0) {
                lua_pushlstring(L, text, (size_t)(last - text + 1));
                lua_pushstring(L, attrs[i]);
                lua_concat(L, 2);
                lua_pushboolean(L, 1);
                lua_rawset(L, out);
            }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
        add_keys(L, lua_gettop(L), text, (size_t)(last - text + 1),
                 last + 1, out);
    }
    lua_settop(L, out);
    return 1;
}

static char **complete(const char *text, int start, int end)
{
    lua_State *L = shell_L;
    char **matches;
    size_t n = 0, i = 0;

    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;
    lua_pushcfunction(L, complete_lua);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return NULL;
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        n++;
    }
    if (n == 0) {
        lua_pop(L, 1);
        return NULL;
    }
    matches = calloc(n + 2, sizeof(*matches));
    if (matches == NULL) {
        lua_pop(L, 1);
        return NULL;
    }
    /* matches[0] is the longest common prefix, then the candidates */
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        matches[++i] = strdup(lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    matches[0] = strdup(matches[1]);
    for (i = 2; i <= n && matches[0]; i++) {
        size_t k = 0;
        while (matches[0][k] && matches[0][k] == matches[i][k])
            k++;
        matches[0][k] = '\0';
    }
    return matches;
}

/* ---- evaluation ---- */

/* Compiles line as "return line" (an expression), else as a statement.
 * Returns LUA_OK with the chunk pushed, or the load status with the
 * message pushed. */
static int compile(lua_State *L, const char *code)
{
    const char *expr = code[0] == '=' ? code + 1 : code;
    const char *ret = lua_pushfstring(L, "return %s;", expr);
    int st = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");

    lua_remove(L, -2);
    if (st == LUA_OK || code[0] == '=')
        return st;
    lua_pop(L, 1);
    return luaL_loadbuffer(L, code, strlen(code), "=stdin");
}

/* True when the load error at the top says the input ended too early. */
static bool is_incomplete(lua_State *L)
{
    size_t n;
    const char *msg = lua_tolstring(L, -1, &n);

    return msg != NULL && n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

/* Runs the chunk at the top and prints its results. */
static void run_chunk(lua_State *L, int show)
{
    int base = lua_gettop(L), n;

    lua_pushcfunction(L, em__lua_msgh);
    lua_insert(L, base);
    got_sigint = 0;
    set_sigint(on_sigint_running);
    n = lua_pcall(L, 0, LUA_MULTRET, base);
    set_sigint(on_sigint_prompt);
    lua_sethook(L, NULL, 0, 0);
    em__lua_interrupted = 0;
    if (n != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_settop(L, base - 1);
        return;
    }
    n = lua_gettop(L) - base;
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, show);
        lua_getfield(L, -1, "show");
        lua_pushvalue(L, base + i);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK)
            printf("%s%s", lua_tostring(L, -1), i < n ? "\t" : "\n");
        lua_pop(L, 2);
    }
    fflush(stdout);
    lua_settop(L, base - 1);
}

static void command(lua_State *L, const char *line, int show, bool *quit)
{
    char topic[128];

    if (strncmp(line, ":q", 2) == 0) {
        *quit = true;
        return;
    }
    if (sscanf(line, ":help %127s", topic) == 1) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, show);
        lua_getfield(L, -1, "help");
        if (lua_getfield(L, -1, topic) == LUA_TSTRING)
            printf("%s\n", lua_tostring(L, -1));
        else
            printf("no help for '%s' (:help lists the topics)\n", topic);
        lua_pop(L, 3);
        return;
    }
    if (strncmp(line, ":help", 5) == 0 || strncmp(line, ":h", 2) == 0) {
        fputs(help_text, stdout);
        lua_rawgeti(L, LUA_REGISTRYINDEX, show);
        lua_getfield(L, -1, "topics");
        if (lua_pcall(L, 0, 1, 0) == LUA_OK)
            printf("%s\n", lua_tostring(L, -1));
        lua_pop(L, 2);
        return;
    }
    printf("unknown command '%s' (:help lists them)\n", line);
}

static char *history_file(const char *given)
{
    const char *home = getenv("HOME");
    char *p;

    if (given != NULL)
        return strdup(given);
    if (home == NULL)
        return NULL;
    p = malloc(strlen(home) + sizeof("/.ember_history"));
    if (p != NULL)
        sprintf(p, "%s/.ember_history", home);
    return p;
}

/* Reads one complete chunk (several lines for an unfinished statement);
 * returns NULL at end of input. */
static char *read_chunk(lua_State *L, bool *is_eof)
{
    char *buf = NULL, *line;
    size_t len = 0;

    for (;;) {
        got_sigint = 0;
        line = readline(buf ? PROMPT2 : PROMPT);
        if (line == NULL) {
            if (got_sigint) { /* Ctrl-C: drop what was typed */
                tcflush(STDIN_FILENO, TCIFLUSH);
                printf("\n");
                free(buf);
                buf = NULL;
                len = 0;
                continue;
            }
            *is_eof = true;
            free(buf);
            return NULL;
        }
        if (buf == NULL && (line[0] == ':' || line[0] == '\0'))
            return line;
        {
            size_t n = strlen(line);
            char *nb = realloc(buf, len + n + 2);
            if (nb == NULL) {
                free(line);
                free(buf);
                return NULL;
            }
            buf = nb;
            if (len > 0)
                buf[len++] = '\n';
            memcpy(buf + len, line, n + 1);
            len += n;
        }
        free(line);
        if (compile(L, buf) == LUA_OK || !is_incomplete(L)) {
            lua_pop(L, 1);
            return buf;
        }
        lua_pop(L, 1);
    }
}

int em__lang_shell(const em__lang_opts *o, const char *history_path)
{
    char err[512], *hist, *chunk;
    lua_State *L = em__lua_driver_new(o, err, sizeof(err));
    bool quit = false, is_eof = false;
    int show;

    if (L == NULL) {
        fprintf(stderr, "ember: %s\n", err);
        return 1;
    }
    if (luaL_loadbuffer(L, shell_lua, sizeof(shell_lua) - 1, "=shell") !=
            LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "ember: %s\n", lua_tostring(L, -1));
        em__lua_driver_close(L);
        return 1;
    }
    show = luaL_ref(L, LUA_REGISTRYINDEX);
    shell_L = L;
    hist = history_file(history_path);
    if (pipe(sigint_pipe) == 0) {
        fcntl(sigint_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(sigint_pipe[1], F_SETFL, O_NONBLOCK);
        rl_getc_function = shell_getc;
    }
    using_history();
    stifle_history(HISTORY_MAX);
    if (hist != NULL)
        read_history(hist);
    rl_readline_name = "ember";
    rl_attempted_completion_function = complete;
    rl_completion_append_character = '\0';
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^#~[]";
    set_sigint(on_sigint_prompt);
    lua_getglobal(L, "sc");
    printf("Ember %s shell (Lua 5.4), master %s. :help for help, Ctrl-D to "
           "exit.\n",
           EMBER_VERSION_STRING, (lua_getfield(L, -1, "master"),
                                  lua_tostring(L, -1)));
    lua_pop(L, 2);
    while (!quit && (chunk = read_chunk(L, &is_eof)) != NULL) {
        if (chunk[0] != '\0') {
            add_history(chunk);
            if (hist != NULL)
                write_history(hist);
        }
        if (chunk[0] == ':') {
            command(L, chunk, show, &quit);
        } else if (chunk[0] != '\0') {
            if (compile(L, chunk) != LUA_OK)
                fprintf(stderr, "%s\n", lua_tostring(L, -1)), lua_pop(L, 1);
            else
                run_chunk(L, show);
        }
        free(chunk);
    }
    if (is_eof)
        printf("\n");
    signal(SIGINT, SIG_DFL);
    shell_L = NULL;
    free(hist);
    if (sigint_pipe[0] >= 0) {
        close(sigint_pipe[0]);
        close(sigint_pipe[1]);
        sigint_pipe[0] = sigint_pipe[1] = -1;
    }
    em__lua_driver_close(L);
    return 0;
}
