/* The cluster secret (scheduler/net/secret.h): creation on first start
 * with modes 0600/0700, loading, path resolution (argument, environment,
 * HOME), and refusal of unsafe, empty or missing files; run in a temporary
 * HOME. The derived key is checked against BLAKE2b computed here. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "em_test.h"
#include "scheduler/net/secret.h"

static char home[4096];

static int setup(void **state)
{
    em_test_tmpdir(home, sizeof(home));
    setenv("HOME", home, 1);
    unsetenv("EMBER_SECRET_FILE");
    return em_test_setup(state);
}

static int teardown(void **state)
{
    em_test_rmtree(home);
    return em_test_teardown(state);
}

#define SECRET_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Writes content to home/name with the given mode; the path goes to buf. */
static void write_file(const char *name, const char *content, mode_t mode,
                       char *buf, size_t cap)
{
    FILE *f;

    snprintf(buf, cap, "%s/%s", home, name);
    f = fopen(buf, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    fclose(f);
    assert_int_equal(chmod(buf, mode), 0);
}

/* The key expected for secret bytes p[0..n): BLAKE2b-256 of them. */
static void expected_key(const char *p, size_t n, uint8_t key[32])
{
    assert_int_equal(sodium_init() < 0, 0);
    crypto_generichash(key, 32, (const uint8_t *)p, n, NULL, 0);
}

static void test_secret_created_on_first_start(void **state)
{
    char path[4200], dir[4200], content[200];
    struct stat sb;
    em__secret k1, k2;
    uint8_t want[32];
    FILE *f;
    size_t n;

    (void)state;
    EM_CHECK(em__secret_load(NULL, true, &k1));
    snprintf(dir, sizeof(dir), "%s/.ember", home);
    snprintf(path, sizeof(path), "%s/.ember/secret", home);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);
    /* 64 hex digits and a newline */
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(content, 1, sizeof(content), f);
    fclose(f);
    assert_int_equal(n, 65);
    assert_int_equal(content[64], '\n');
    for (int i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", content[i]));
    expected_key(content, 64, want);
    assert_memory_equal(k1.key, want, 32);
    /* loading again, with or without create, finds the same secret */
    EM_CHECK(em__secret_load(NULL, false, &k2));
    assert_memory_equal(k2.key, want, 32);
    EM_CHECK(em__secret_load(NULL, true, &k2));
    assert_memory_equal(k2.key, want, 32);
    /* no temporary file is left next to it */
    snprintf(path, sizeof(path), "ls -a '%s/.ember' | wc -l | grep -qx 3",
             home);
    assert_int_equal(system(path), 0);
}

static void test_secret_two_creations_differ(void **state)
{
    char p1[4200], p2[4200];
    em__secret k1, k2;

    (void)state;
    snprintf(p1, sizeof(p1), "%s/a", home);
    snprintf(p2, sizeof(p2), "%s/b", home);
    EM_CHECK(em__secret_load(p1, true, &k1));
    EM_CHECK(em__secret_load(p2, true, &k2));
    assert_true(memcmp(k1.key, k2.key, 32) != 0);
}

static void test_secret_missing_is_refused(void **state)
{
    em__secret k;

    (void)state;
    assert_int_equal(em__secret_load(NULL, false, &k), EM_ENOENT);
    assert_non_null(strstr(em_last_error(), home));
    assert_non_null(strstr(em_last_error(), "/.ember/secret does not exist"));
}

static void test_secret_group_or_world_access_refused(void **state)
{
    static const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0660};
    char path[4200], msg[9000];
    em__secret k;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file("s", "topsecret\n", bad[i], path, sizeof(path));
        assert_int_equal(em__secret_load(path, false, &k), EM_EINVAL);
        snprintf(msg, sizeof(msg),
                 "cluster secret %s is accessible by "
                 "group or others (mode %04o); run: chmod 600 %s",
                 path, (unsigned)bad[i], path);
        assert_string_equal(em_last_error(), msg);
        assert_null(strstr(em_last_error(), "topsecret"));
    }
    /* 0400 is fine */
    write_file("s", "topsecret\n", 0400, path, sizeof(path));
    EM_CHECK(em__secret_load(path, false, &k));
}

static void test_secret_empty_refused(void **state)
{
    static const char *empties[] = {"", "\n", " \t\r\n"};
    char path[4200];
    em__secret k;

    (void)state;
    for (int i = 0; i < 3; i++) {
        write_file("empty", empties[i], 0600, path, sizeof(path));
        assert_int_equal(em__secret_load(path, true, &k), EM_EINVAL);
        assert_non_null(strstr(em_last_error(), path));
        assert_non_null(strstr(em_last_error(), "is empty"));
    }
}

static void test_secret_too_large_or_not_a_file(void **state)
{
    char path[4200], big[EM__SECRET_MAX_FILE_BYTES + 2];
    em__secret k;

    (void)state;
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_file("big", big, 0600, path, sizeof(path));
    assert_int_equal(em__secret_load(path, false, &k), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "larger than 4096 bytes"));
    big[EM__SECRET_MAX_FILE_BYTES] = '\0'; /* exactly the limit: accepted */
    write_file("big", big, 0600, path, sizeof(path));
    EM_CHECK(em__secret_load(path, false, &k));
    snprintf(path, sizeof(path), "%s/dir", home);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(em__secret_load(path, false, &k), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "is not a regular file"));
}

static void test_secret_content_and_whitespace(void **state)
{
    char path[4200];
    em__secret k, kb;
    uint8_t want[32];

    (void)state;
    write_file("s", "echoed secret \r\n", 0600, path, sizeof(path));
    EM_CHECK(em__secret_load(path, false, &k));
    expected_key("echoed secret", 13, want);
    assert_memory_equal(k.key, want, 32);
    EM_CHECK(em__secret_from_bytes("echoed secret", 13, &kb));
    assert_memory_equal(kb.key, want, 32);
    EM_CHECK(em__secret_from_bytes("echoed secreT", 13, &kb));
    assert_true(memcmp(kb.key, want, 32) != 0);
    assert_int_equal(em__secret_from_bytes("\n\n", 2, &kb), EM_EINVAL);
}

static void test_secret_resolution_order(void **state)
{
    char envp[4200], argp[4200], buf[4200];
    em__secret k;
    uint8_t want_env[32], want_arg[32];

    (void)state;
    write_file("env", "from-env", 0600, envp, sizeof(envp));
    write_file("arg", "from-arg", 0600, argp, sizeof(argp));
    expected_key("from-env", 8, want_env);
    expected_key("from-arg", 8, want_arg);
    /* default: HOME */
    EM_CHECK(em__secret_path(NULL, buf, sizeof(buf)));
    assert_true(strlen(buf) > strlen(home));
    assert_string_equal(buf + strlen(home), "/.ember/secret");
    /* the environment variable beats HOME ... */
    setenv("EMBER_SECRET_FILE", envp, 1);
    EM_CHECK(em__secret_load(NULL, false, &k));
    assert_memory_equal(k.key, want_env, 32);
    /* ... and the argument beats both */
    EM_CHECK(em__secret_load(argp, false, &k));
    assert_memory_equal(k.key, want_arg, 32);
    /* an empty variable is ignored */
    setenv("EMBER_SECRET_FILE", "", 1);
    EM_CHECK(em__secret_path(NULL, buf, sizeof(buf)));
    assert_string_equal(buf + strlen(home), "/.ember/secret");
    unsetenv("EMBER_SECRET_FILE");
    /* no HOME, no variable */
    unsetenv("HOME");
    assert_int_equal(em__secret_path(NULL, buf, sizeof(buf)), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "HOME is not set"));
    setenv("HOME", home, 1);
    /* a path that does not fit */
    assert_int_equal(em__secret_path(argp, buf, 4), EM_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SECRET_TEST(test_secret_created_on_first_start),
        SECRET_TEST(test_secret_two_creations_differ),
        SECRET_TEST(test_secret_missing_is_refused),
        SECRET_TEST(test_secret_group_or_world_access_refused),
        SECRET_TEST(test_secret_empty_refused),
        SECRET_TEST(test_secret_too_large_or_not_a_file),
        SECRET_TEST(test_secret_content_and_whitespace),
        SECRET_TEST(test_secret_resolution_order),
    };

    return cmocka_run_group_tests_name("secret", tests, NULL, NULL);
}
