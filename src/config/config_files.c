/* Open and parse every certificate, key, CA and PKCS#12 file the config names,
 * so that `certgate check` reports a bad file before the daemon needs it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "config/config_internal.h"

#define MAX_FILE (16u << 20) /* a PEM bundle bigger than this is a mistake */

static int say(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int say(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The whole file, NUL-terminated; NULL with <msg> set. */
char *cfg_read_file(const char *path, const char *shown, size_t *len, char *msg, size_t n)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t cap = 0, got = 0;

    if (!f) {
        say(msg, n, "cannot open '%s': %s", shown, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        say(msg, n, "cannot open '%s': %s", shown, strerror(EISDIR));
        goto out;
    }
    for (;;) {
        if (got + 1 >= cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > MAX_FILE + 1) {
                say(msg, n, "'%s' is too large (more than %u bytes)", shown, MAX_FILE);
                goto fail;
            }
            nb = realloc(buf, cap);
            if (!nb) {
                say(msg, n, "out of memory reading '%s'", shown);
                goto fail;
            }
            buf = nb;
        }
        size_t r = fread(buf + got, 1, cap - 1 - got, f);
        got += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        say(msg, n, "cannot read '%s': %s", shown, strerror(errno));
        goto fail;
    }
    buf[got] = '\0';
    *len = got;
    goto out;
fail:
    free(buf);
    buf = NULL;
out:
    fclose(f);
    return buf;
}

/* Never prompt on a terminal: encrypted PEM keys are refused. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    *(int *)u = 1;
    return -1;
}

/* The first error queued is the cause; later ones are wrappers ("ASN1 lib"). */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    return r ? r : "unknown error";
}

static X509 *read_leaf(const char *path, const char *shown, char *msg, size_t n)
{
    size_t len;
    char *buf = cfg_read_file(path, shown, &len, msg, n);
    BIO *bio;
    X509 *x = NULL;
    int asked = 0;

    if (!buf)
        return NULL;
    ERR_clear_error();
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio)
        x = PEM_read_bio_X509(bio, NULL, no_password, &asked);
    if (!x) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
            say(msg, n, "no certificate found in '%s'", shown);
        else
            say(msg, n, "cannot read certificate '%s': %s", shown, ssl_reason());
    }
    ERR_clear_error();
    BIO_free(bio);
    free(buf);
    return x;
}

static EVP_PKEY *read_key(const char *path, const char *shown, char *msg, size_t n)
{
    size_t len;
    char *buf = cfg_read_file(path, shown, &len, msg, n);
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;
    int asked = 0;

    if (!buf)
        return NULL;
    /* OpenSSL 3 says only "unsupported" for a file with no key in it */
    if (!strstr(buf, "PRIVATE KEY-----")) {
        say(msg, n, "no private key found in '%s'", shown);
        goto out;
    }
    ERR_clear_error();
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio)
        k = PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked);
    if (!k && asked)
        say(msg, n, "private key '%s' is encrypted; use an unencrypted key or PKCS#12", shown);
    else if (!k)
        say(msg, n, "cannot read private key '%s': %s", shown, ssl_reason());
out:
    ERR_clear_error();
    BIO_free(bio);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return k;
}

int cfg_check_pem_pair(const char *cert, const char *cert_shown, const char *key,
                       const char *key_shown, int *bad_key, char *msg, size_t n)
{
    X509 *x;
    EVP_PKEY *k;
    int rc = 0;

    *bad_key = 0;
    x = read_leaf(cert, cert_shown, msg, n);
    if (!x)
        return -1;
    *bad_key = 1;
    k = read_key(key, key_shown, msg, n);
    if (!k) {
        X509_free(x);
        return -1;
    }
    if (X509_check_private_key(x, k) != 1)
        rc = say(msg, n, "private key '%s' does not match certificate '%s'", key_shown, cert_shown);
    else
        *bad_key = 0;
    ERR_clear_error();
    EVP_PKEY_free(k);
    X509_free(x);
    return rc;
}

int cfg_check_pkcs12(const char *path, const char *shown, const char *pw, int *bad_pw, char *msg,
                     size_t n)
{
    size_t len;
    char *buf = cfg_read_file(path, shown, &len, msg, n);
    const unsigned char *p = (const unsigned char *)buf;
    PKCS12 *p12 = NULL;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    STACK_OF(X509) *ca = NULL;
    int rc = -1;

    *bad_pw = 0;
    if (!buf)
        return -1;
    ERR_clear_error();
    p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (!p12) {
        say(msg, n, "cannot read PKCS#12 '%s': not a PKCS#12 (DER) file", shown);
        goto out;
    }
    if (PKCS12_mac_present(p12)) {
        /* "" and NULL are different passwords to the MAC; try both when none is given */
        if (!pw && PKCS12_verify_mac(p12, "", 0))
            pw = "";
        else if (!pw && PKCS12_verify_mac(p12, NULL, 0))
            pw = NULL;
        else if (!pw) {
            say(msg, n, "PKCS#12 '%s' is protected by a password and none was given", shown);
            goto out;
        } else if (!PKCS12_verify_mac(p12, pw, -1)) {
            *bad_pw = 1;
            say(msg, n, "wrong password for PKCS#12 '%s'", shown);
            goto out;
        }
    }
    if (!PKCS12_parse(p12, pw, &k, &x, &ca)) {
        say(msg, n, "cannot read PKCS#12 '%s': %s", shown, ssl_reason());
        goto out;
    }
    if (!x)
        say(msg, n, "PKCS#12 '%s' holds no certificate", shown);
    else if (!k)
        say(msg, n, "PKCS#12 '%s' holds no private key", shown);
    else if (X509_check_private_key(x, k) != 1)
        say(msg, n, "the private key in PKCS#12 '%s' does not match its certificate", shown);
    else
        rc = 0;
out:
    ERR_clear_error();
    sk_X509_pop_free(ca, X509_free);
    X509_free(x);
    EVP_PKEY_free(k);
    PKCS12_free(p12);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

int cfg_check_cert_file(const char *path, const char *shown, char *msg, size_t n)
{
    size_t len;
    char *buf = cfg_read_file(path, shown, &len, msg, n);
    BIO *bio;
    X509 *x;
    int count = 0, asked = 0, rc = 0;

    if (!buf)
        return -1;
    ERR_clear_error();
    bio = BIO_new_mem_buf(buf, (int)len);
    while (bio && (x = PEM_read_bio_X509(bio, NULL, no_password, &asked)) != NULL) {
        X509_free(x);
        count++;
    }
    if (!bio)
        rc = say(msg, n, "out of memory reading '%s'", shown);
    else if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
        rc = say(msg, n, "cannot read certificate %d in '%s': %s", count + 1, shown, ssl_reason());
    else if (count == 0)
        rc = say(msg, n, "no certificate found in '%s'", shown);
    ERR_clear_error();
    BIO_free(bio);
    free(buf);
    return rc;
}

int cfg_read_password(const char *env, const char *file, const char *file_shown, char **pw,
                      char *msg, size_t n)
{
    size_t len;
    char *buf;

    if (env) {
        const char *v = getenv(env);
        if (!v)
            return say(msg, n, "environment variable '%s' is not set", env);
        *pw = strdup(v);
        return *pw ? 0 : say(msg, n, "out of memory");
    }
    buf = cfg_read_file(file, file_shown, &len, msg, n);
    if (!buf)
        return -1;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    *pw = buf;
    return 0;
}

void config_password_free(char *pw)
{
    if (!pw)
        return;
    OPENSSL_cleanse(pw, strlen(pw));
    free(pw);
}

char *config_cert_password(const struct cfg_cert *c, struct cfg_error *err)
{
    char *pw = NULL;

    if (!c->password_env && !c->password_file)
        return strdup("");
    if (cfg_read_password(c->password_env, c->password_file, c->password_file, &pw, err->msg,
                          sizeof(err->msg)))
        return NULL;
    return pw;
}

int cfg_check_crl_file(const char *path, const char *shown, char *msg, size_t n)
{
    size_t len;
    char *buf = cfg_read_file(path, shown, &len, msg, n);
    BIO *bio;
    X509_CRL *crl;
    int count = 0, rc = 0;

    if (!buf)
        return -1;
    ERR_clear_error();
    bio = BIO_new_mem_buf(buf, (int)len);
    while (bio && (crl = PEM_read_bio_X509_CRL(bio, NULL, no_password, NULL)) != NULL) {
        X509_CRL_free(crl);
        count++;
    }
    if (bio && count == 0) {
        /* a DER CRL */
        const unsigned char *p = (const unsigned char *)buf;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        count = crl != NULL;
        X509_CRL_free(crl);
    }
    if (!bio)
        rc = say(msg, n, "out of memory reading '%s'", shown);
    else if (count == 0)
        rc = say(msg, n, "no CRL found in '%s' (PEM or DER expected)", shown);
    ERR_clear_error();
    BIO_free(bio);
    free(buf);
    return rc;
}
