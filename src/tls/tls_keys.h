/* Session ticket keys: random for the process, or read from a file that several instances
 * share (ticket_keys: FILE) so that they resume each other's sessions behind an L4 load
 * balancer. The file holds one key per line, the base64 of 80 bytes (16 name, 32 HMAC
 * secret, 32 AES key: `openssl rand -base64 80`); '#' lines and blank lines are skipped. The
 * first key encrypts new tickets, every key decrypts: rotate by putting a new line first and
 * reloading, and drop the last line a ticket lifetime later. */
#ifndef CERTGATE_TLS_KEYS_H
#define CERTGATE_TLS_KEYS_H

#include <stddef.h>
#include <openssl/ssl.h>

#define TLS_KEY_LEN  80
#define TLS_KEYS_MAX 8

struct tls_keys;

/* Read a key file into <keys>: 0 with *n >= 1, or -1 with a sentence naming the line in
 * <err> (a line that is not base64 of 80 bytes, more than TLS_KEYS_MAX keys, no key). */
int tls_keys_read(const char *path, unsigned char keys[][TLS_KEY_LEN], size_t *n, char *err,
                  size_t errlen);
/* The keys of one config generation: from <path>, or the process's random key when NULL.
 * NULL with a sentence in <err>. Freed with tls_keys_free; shared read-only by threads. */
struct tls_keys *tls_keys_new(const char *path, char *err, size_t errlen);
void tls_keys_free(struct tls_keys *k);
/* Make <ctx> issue and accept tickets with <k> (which must outlive <ctx>). 0 or -1. */
int tls_keys_install(SSL_CTX *ctx, const struct tls_keys *k);

#endif
