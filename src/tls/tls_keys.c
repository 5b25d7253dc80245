#include "tls/tls_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

struct tls_keys {
    unsigned char k[TLS_KEYS_MAX][TLS_KEY_LEN]; /* name 0-15, HMAC 16-47, AES 48-79 */
    size_t n;
};

/* Without a file: one random key for the whole process, the same across reloads. */
static struct tls_keys random_keys;
static int random_ok;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;

static void random_init(void)
{
    random_ok = RAND_bytes(random_keys.k[0], TLS_KEY_LEN) == 1;
    random_keys.n = 1;
    ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* One key is 108 base64 characters (80 bytes, one '=' of padding): on one line, or wrapped
 * over several as `openssl rand -base64 80` writes it (64 + 44). */
int tls_keys_read(const char *path, unsigned char keys[][TLS_KEY_LEN], size_t *n, char *err,
                  size_t errlen)
{
    struct stat st;
    char line[512], acc[112];
    size_t have = 0;
    int lineno = 0, start = 0;
    *n = 0;
    /* a regular file of sane size only: a FIFO would block, /dev/zero would never end */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024) {
        snprintf(err, errlen,
                 "ticket key file '%s' cannot be used (missing, not a regular file, or over "
                 "64 KiB)",
                 path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open ticket key file '%s'", path);
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        size_t len = strcspn(line, "\r\n");
        unsigned char out[128];
        lineno++;
        line[len] = '\0';
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (have == 0)
            start = lineno;
        if (have + len > 108)
            goto bad;
        memcpy(acc + have, line, len);
        have += len;
        if (have < 108)
            continue;
        int got = EVP_DecodeBlock(out, (const unsigned char *)acc, 108);
        if (got != 81 || acc[107] != '=' || acc[106] == '=') {
            OPENSSL_cleanse(out, sizeof(out));
            goto bad;
        }
        if (*n == TLS_KEYS_MAX) {
            snprintf(err, errlen, "ticket key file '%s' holds more than %d keys", path,
                     TLS_KEYS_MAX);
            fclose(f);
            return -1;
        }
        memcpy(keys[(*n)++], out, TLS_KEY_LEN);
        OPENSSL_cleanse(out, sizeof(out));
        have = 0;
    }
    fclose(f);
    OPENSSL_cleanse(acc, sizeof(acc));
    if (have) {
        lineno = start;
        f = NULL;
        goto bad;
    }
    if (*n == 0) {
        snprintf(err, errlen, "ticket key file '%s' holds no key", path);
        return -1;
    }
    return 0;
bad:
    if (f)
        fclose(f);
    OPENSSL_cleanse(acc, sizeof(acc));
    snprintf(err, errlen,
             "ticket key file '%s' line %d does not hold the base64 of 80 bytes (make a key "
             "with: openssl rand -base64 80)",
             path, have ? start : lineno);
    return -1;
}

struct tls_keys *tls_keys_new(const char *path, char *err, size_t errlen)
{
    pthread_once(&random_once, random_init);
    if (path == NULL) {
        if (!random_ok) {
            snprintf(err, errlen, "no random ticket key could be made");
            return NULL;
        }
        return &random_keys;
    }
    struct tls_keys *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (tls_keys_read(path, k->k, &k->n, err, errlen) < 0) {
        tls_keys_free(k);
        return NULL;
    }
    return k;
}

void tls_keys_free(struct tls_keys *k)
{
    if (k == NULL || k == &random_keys)
        return;
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

/* RFC 5077's recommended construction, as OpenSSL's own: AES-256-CBC and HMAC-SHA256. */
static int ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    const struct tls_keys *k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ex_index);
    const unsigned char *key = NULL;
    size_t i = 0;
    if (k == NULL)
        return -1;
    if (enc) {
        key = k->k[0];
        memcpy(name, key, 16);
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
            return -1;
    } else {
        for (i = 0; i < k->n && key == NULL; i++)
            if (memcmp(name, k->k[i], 16) == 0)
                key = k->k[i];
        if (key == NULL)
            return 0; /* an unknown key: a full handshake, no error */
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)(key + 16), 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        return -1;
    if (enc)
        return EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key + 48, iv) == 1 ? 1 : -1;
    if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key + 48, iv) != 1)
        return -1;
    return i == 1 ? 1 : 2; /* 2: a ticket under an older key, renew it */
}

int tls_keys_install(SSL_CTX *ctx, const struct tls_keys *k)
{
    pthread_once(&random_once, random_init);
    if (k == NULL || ex_index < 0 || SSL_CTX_set_ex_data(ctx, ex_index, (void *)k) != 1)
        return -1;
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) == 1 ? 0 : -1;
}
