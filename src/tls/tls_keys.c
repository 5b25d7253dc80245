#include "tls/tls_keys.h"

#include <pthread.h>
#include <openssl/rand.h>

/* 80 bytes: 16 name, 32 HMAC secret, 32 AES key, OpenSSL's layout */
static unsigned char keys[80];
static int keys_ok;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void keys_init(void)
{
    keys_ok = RAND_bytes(keys, sizeof(keys)) == 1;
}

int tls_keys_install(SSL_CTX *ctx)
{
    pthread_once(&keys_once, keys_init);
    if (!keys_ok)
        return -1;
    return SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof(keys)) == 1 ? 0 : -1;
}
