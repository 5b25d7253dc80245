/* `certgate decode` (SPEC §7): a forwarded certificate header value, in any format of SPEC §5,
 * back to PEM and a summary an operator can read. */
#ifndef CERTGATE_CLI_DECODE_H
#define CERTGATE_CLI_DECODE_H

/* <argv> holds the arguments after "decode" (borrowed):
 *   [--format auto|base64-der|pem-urlencoded|hex|rfc9440|xfcc] VALUE|-
 * ("-" reads the value from standard input). Prints the PEM of the certificate and of any
 * chain the value carried, then the summary, on stdout. Returns the process exit status:
 * 0 decoded; 1 the value is not a certificate ("certgate decode: <reason>" on stderr);
 * 2 usage error (unknown flag or format, no value, unreadable standard input). */
int cli_decode(int argc, char **argv);

#endif
