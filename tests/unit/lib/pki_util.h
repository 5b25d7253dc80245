/* A small PKI built in the test with OpenSSL: certificates with chosen keys, digests, EKUs,
 * SANs and dates, CRLs, and files to load them from. Every failure fails the running test.
 *
 * The Makefile builds each test_*.c under tests/unit alone, so a test includes pki_util.c
 * (which includes this header) rather than linking it. */
#ifndef CERTGATE_TESTS_PKI_UTIL_H
#define CERTGATE_TESTS_PKI_UTIL_H

#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct pki_node {
    X509 *cert;
    EVP_PKEY *key; /* shared with other nodes of the same key spec: never freed by the node */
};

struct pki_opts {
    const char *key;        /* "ec:P-256" (default), "ec:P-192", "rsa:2048", "ec:P-256#ca"... */
    const EVP_MD *md;       /* signature digest; default SHA-256 */
    int ca;                 /* basicConstraints CA:TRUE and keyCertSign, cRLSign */
    const char *eku;        /* extendedKeyUsage value ("clientAuth"); NULL: none */
    const char *ku;         /* keyUsage value; NULL: the default for a CA or a leaf */
    const char *san;        /* subjectAltName value ("DNS:a, URI:b"); NULL: none */
    const char *not_before; /* ASN.1 time; default 20000101000000Z */
    const char *not_after;  /* default 20991231235959Z */
    const char *serial;     /* hex; NULL: the next of a counter */
};

/* A key for <spec>, made once per spec and kept until pki_keys_free. A "#label" suffix
 * ("ec:P-256#dev") gives a distinct key of the same kind. */
EVP_PKEY *pki_key(const char *spec);
void pki_keys_free(void);

/* A certificate for <subject> ("/O=Acme/OU=Clients/CN=Name", most significant first) issued
 * by <issuer> (NULL: self-signed), re-parsed from its DER as a peer would send it. <o> may be
 * NULL for the defaults. */
struct pki_node pki_issue(const char *subject, const struct pki_node *issuer,
                          const struct pki_opts *o);
void pki_node_free(struct pki_node *n);

/* A CRL of <issuer> listing <revoked> (revoked on 20240101000000Z, keyCompromise), with
 * the given lastUpdate and nextUpdate (NULL: no nextUpdate), signed with <signer> (NULL: the
 * issuer's own key). */
X509_CRL *pki_crl(const struct pki_node *issuer, X509 *const *revoked, int n,
                  const char *last_update, const char *next_update, EVP_PKEY *signer);

/* Files under a fresh directory, all removed by pki_dir_remove. */
const char *pki_dir(void);
const char *pki_path(const char *name);
const char *pki_write_certs(const char *name, X509 *const *certs, int n);
const char *pki_write_crl(const char *name, X509_CRL *crl);
const char *pki_write_text(const char *name, const char *text);
void pki_dir_remove(void);

/* <x> (consumed) re-signed by <issuer> with an authorityInfoAccess of <aia>
 * ("OCSP;URI:http://..."). */
X509 *pki_with_aia(X509 *x, const struct pki_node *issuer, const char *aia);

/* ASN.1 time string -> Unix time. */
time_t pki_utc(const char *asn1);

/* RFC 2253 subject of <x>, UTF-8 kept (a static buffer). */
const char *pki_subject(X509 *x);

#endif
