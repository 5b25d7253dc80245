/* `certgate verify` (SPEC §7): judge one certificate file under a policy
 * built from flags or taken from a config file, and print every check. */
#ifndef CERTGATE_CLI_VERIFY_H
#define CERTGATE_CLI_VERIFY_H

/* <argv> holds the arguments after "verify" (borrowed). Prints the
 * certificate, each check and the verdict on stdout (text, or one JSON
 * object with --json); usage errors go to stderr. Returns the process exit
 * status: 0 accepted, 1 rejected, 2 usage error (unknown flag, missing value,
 * unreadable certificate file, bad --at, a policy that cannot be built). */
int cli_verify(int argc, char **argv);

#endif
