/* A backend behind certgate (or IIS ARR, App Service, App Gateway, nginx, Envoy) that reads
 * the forwarded client certificate, in any format of docs/formats.md, and judges it with
 * libcertgate alone. Blocking, one connection at a time, one request per connection: an
 * example, not a server.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude -o backend examples/backend.c \
 *       build/libcertgate.a -lssl -lcrypto
 *   ./backend 3000 root-ca.pem dev-intermediate.pem "Valid Client" [X-ARR-ClientCert]
 *
 * Each request gets JSON: 200 {"cn":"Valid Client","sha1":"7E2D..."} for an accepted
 * certificate, else the reason's status (SPEC §4) with {"error":"<ReasonCode>","detail":"..."}:
 * 401 ClientCertificateNotFound without the header, 400 ClientCertificateMalformed for a
 * value that is not a certificate (or two copies of the header), 401/403 for the policy's
 * verdicts. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <certgate/certgate.h>
#include <certgate/policy.h>

#define HEAD_MAX 32768 /* request line and headers; a PEM header is a few KiB */

/* Read until the blank line that ends the headers. Returns the head's length, -1 when it is
 * cut short or too long, -2 when the peer closed without a byte (a port probe). */
static int read_head(int fd, char *buf, size_t cap)
{
    size_t n = 0;

    while (n + 1 < cap) {
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got <= 0)
            return n == 0 ? -2 : -1;
        n += (size_t)got;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            return (int)n;
    }
    return -1;
}

/* The value of header <name> (OWS trimmed) in <head>, NUL-terminated in place; NULL when
 * absent. *copies counts the lines with that name: a certificate must come in exactly one. */
static char *find_header(char *head, const char *name, int *copies, size_t *len)
{
    size_t nlen = strlen(name);
    char *line = strstr(head, "\r\n"), *found = NULL;

    *copies = 0;
    while (line != NULL && line[2] != '\r') {
        char *start = line + 2, *end = strstr(start, "\r\n");
        if (end == NULL)
            break;
        if ((size_t)(end - start) > nlen && strncasecmp(start, name, nlen) == 0 &&
            start[nlen] == ':') {
            char *v = start + nlen + 1, *e = end;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            (*copies)++;
            found = v;
            *len = (size_t)(e - v);
        }
        line = end;
    }
    return found;
}

/* <s> as a JSON string body: quote, backslash and control bytes escaped. */
static void json_put(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

static const char *phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    default:
        return "Error";
    }
}

static void respond(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, phrase(status), strlen(body));
    /* MSG_NOSIGNAL: a client that went away must not kill the server with SIGPIPE. */
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
        send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
        perror("send");
}

/* Judge one request's head; write the JSON answer into <out> and return the status. */
static int judge(const struct certgate_policy *p, const char *header, char *head, FILE *out)
{
    enum certgate_reason r;
    char err[256], detail[400];
    int copies;
    size_t len = 0;
    char *value = find_header(head, header, &copies, &len);
    X509 *leaf;

    if (value == NULL || copies != 1) {
        r = value == NULL ? CERTGATE_NOT_FOUND : CERTGATE_MALFORMED;
        snprintf(detail, sizeof(detail), value == NULL ? "no %s header" : "%s came more than once",
                 header);
    } else if ((leaf = certgate_decode(value, len, CERTGATE_FMT_AUTO, NULL, NULL, err,
                                       sizeof(err))) == NULL) {
        r = CERTGATE_MALFORMED;
        snprintf(detail, sizeof(detail), "%.100s: %s", header, err);
    } else {
        r = certgate_policy_evaluate(p, leaf, NULL, 0, NULL, detail, sizeof(detail));
        if (r == CERTGATE_OK) {
            struct certgate_identity id;
            if (certgate_identity_from_x509(leaf, &id) == 0) {
                fputs("{\"cn\":\"", out);
                json_put(out, id.cn);
                fprintf(out, "\",\"sha1\":\"%s\"}\n", id.sha1);
                certgate_identity_free(&id);
                X509_free(leaf);
                return 200;
            }
            r = CERTGATE_MALFORMED;
            snprintf(detail, sizeof(detail), "the certificate's fields cannot be read");
        }
        X509_free(leaf);
    }
    fprintf(out, "{\"error\":\"%s\",\"detail\":\"", certgate_reason_code(r));
    json_put(out, detail);
    fputs("\"}\n", out);
    return certgate_reason_status(r);
}

static int listen_on(int port)
{
    struct sockaddr_in a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: backend PORT CA.pem INTERMEDIATE.pem ALLOWED_CN [HEADER]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *ca[] = {argv[2]}, *im[] = {argv[3]}, *cn[] = {argv[4]};
    const char *header = argc == 6 ? argv[5] : "X-ARR-ClientCert";
    struct certgate_policy_spec spec = {0};
    spec.trusted_ca = ca;
    spec.n_trusted_ca = 1;
    spec.intermediates = im;
    spec.n_intermediates = 1;
    spec.allow[CERTGATE_ALLOW_CN] = cn;
    spec.n_allow[CERTGATE_ALLOW_CN] = 1;
    char err[400];
    struct certgate_policy *p = certgate_policy_new(&spec, err, sizeof(err));
    if (p == NULL) {
        fprintf(stderr, "policy: %s\n", err);
        return 2;
    }
    int lfd = port > 0 && port < 65536 ? listen_on(port) : -1;
    if (lfd < 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%s\n", argv[1]);
        certgate_policy_free(p);
        return 2;
    }
    printf("listening on 127.0.0.1:%d, reading %s\n", port, header);
    fflush(stdout);

    static char head[HEAD_MAX];
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int got = read_head(fd, head, sizeof(head)); /* -2: a probe that sent nothing */
        if (got == -1) {
            respond(fd, 400, "{\"error\":\"BadRequest\",\"detail\":\"incomplete request head\"}\n");
        } else if (got >= 0) {
            char *body = NULL;
            size_t body_len = 0;
            FILE *out = open_memstream(&body, &body_len);
            int status = out != NULL ? judge(p, header, head, out) : 500;
            if (out != NULL)
                fclose(out);
            respond(fd, status, body != NULL ? body : "{}\n");
            free(body);
        }
        close(fd);
    }
}
