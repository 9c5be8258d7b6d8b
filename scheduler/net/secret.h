/* The cluster secret: every connection of the worker pool proves knowledge
 * of it before anything else is read (DESIGN.md, "The worker pool"). The
 * file holds any bytes (ember master writes 64 hex digits); the key used
 * for the HMAC is a hash of its content. Resolution and checks are
 * described in docs/protocol.md ("The secret").
 */
#ifndef EMBER_SCHEDULER_NET_SECRET_H
#define EMBER_SCHEDULER_NET_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/status.h"

/* Bytes of the derived key (crypto_auth_hmacsha256_KEYBYTES). */
#define EM__SECRET_KEY_BYTES 32

/* Largest secret file accepted. */
#define EM__SECRET_MAX_FILE_BYTES 4096

/* A derived key. Plain data: copy it freely; never print it. */
typedef struct em__secret {
    uint8_t key[EM__SECRET_KEY_BYTES]; /* BLAKE2b-256 of the secret bytes */
} em__secret;

/* Initializes libsodium once per process (thread-safe, idempotent).
 * EM_EIO if libsodium cannot start. Every function of net/ that needs it
 * calls this; callers need not. */
em_status em__net_sodium_init(void);

/* Resolves the secret file's path: path if not NULL, else
 * $EMBER_SECRET_FILE if set and not empty, else $HOME/.ember/secret.
 * Writes it to buf (cap bytes). EM_EINVAL when HOME is needed and unset,
 * EM_ELIMIT when the path does not fit. */
em_status em__secret_path(const char *path, char *buf, size_t cap);

/* Loads the secret from the file em__secret_path(path) names. When create
 * is true and the file does not exist, creates it first (and its folder,
 * mode 0700, when that is missing) with 32 random bytes as 64 hex digits
 * and a newline, mode 0600; creation is atomic (the file appears whole or
 * not at all), and when another process creates it at the same time both
 * load the same content. Refuses, with a message naming the path: a file
 * that is missing (EM_ENOENT, suggesting `ember master` or
 * --secret-file), not a regular file, readable or writable by group or
 * others (EM_EINVAL, suggesting chmod 600), empty after trailing
 * whitespace is stripped, or larger than EM__SECRET_MAX_FILE_BYTES. The
 * secret never appears in a message. *out is written only on success. */
em_status em__secret_load(const char *path, bool create, em__secret *out);

/* Derives the key from n secret bytes, as em__secret_load does with a
 * file's content (trailing spaces, tabs, CR and LF are stripped first).
 * EM_EINVAL when nothing is left. */
em_status em__secret_from_bytes(const void *p, size_t n, em__secret *out);

#endif /* EMBER_SCHEDULER_NET_SECRET_H */
