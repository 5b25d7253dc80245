"""`certgate verify` (SPEC §7) on the demo PKI: every reason code the demo
certificates and the flags can reach, the text and JSON output exactly, the
exit statuses, usage errors, and a policy taken from a config file."""

import json
import re
import subprocess
import unittest

from harness import BINARY, cert_facts, key, pem, scratch

CHECKS = ["chain", "issuer", "depth", "eku", "key", "validity", "revocation", "identity"]
DEV_DN = "CN=APIM Sample DEV Intermediate CA"
# inside every demo certificate's window but the expired and not-yet-valid ones
AT = "2026-02-02T08:00:00Z"
CERT_FIELDS = ["subject", "issuer", "serial", "sha1", "sha256", "not_before", "not_after"]


class Run:
    def __init__(self, argv, r):
        self.argv, self.rc, self.out, self.err = argv, r.returncode, r.stdout, r.stderr

    def __str__(self):
        return f"$ {' '.join(self.argv)}\nexit {self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def verify(*args):
    argv = [BINARY, "verify", *args]
    r = subprocess.run(argv, capture_output=True, encoding="utf-8", errors="strict", timeout=30)
    return Run(argv, r)


def dev(*args):
    """The demo trust: the root, the DEV intermediate as a helper."""
    return ["--ca", pem("root-ca"), "--untrusted", pem("dev-intermediate"), *args]


class VerifyTestCase(unittest.TestCase):
    maxDiff = None

    def json_run(self, *args, rc):
        run = verify("--json", *args)
        self.assertEqual(run.rc, rc, run)
        self.assertEqual(run.err, "", run)
        try:
            doc = json.loads(run.out)
        except ValueError:
            self.fail(f"stdout is not one JSON document\n{run}")
        return doc

    def outcomes(self, doc):
        return {c["check"]: c["outcome"] for c in doc["checks"]}

    def failed(self, doc):
        return [c["check"] for c in doc["checks"] if c["outcome"] == "fail"]

    def assertRejected(self, args, reason, status, failed):
        doc = self.json_run(*args, rc=1)
        self.assertEqual(
            (doc["verdict"], doc["reason"], doc["status"], self.failed(doc)),
            ("rejected", reason, status, failed),
            json.dumps(doc, indent=1),
        )
        self.assertTrue(doc["detail"].strip(), "a rejection carries a sentence")
        return doc

    def assertAccepted(self, args):
        doc = self.json_run(*args, rc=0)
        self.assertEqual(
            (doc["verdict"], doc["reason"], doc["status"], self.failed(doc)),
            ("accepted", None, 200, []),
            json.dumps(doc, indent=1),
        )
        return doc


class VerdictTest(VerifyTestCase):
    """Each demo certificate under flags alone."""

    def test_valid_client_is_accepted(self):
        doc = self.assertAccepted(dev("--at", AT, pem("valid-client")))
        outcomes = self.outcomes(doc)
        self.assertEqual((outcomes["chain"], outcomes["eku"], outcomes["validity"]),
                         ("pass", "pass", "pass"), doc)
        self.assertEqual(outcomes["revocation"], "skipped", doc)
        self.assertEqual(outcomes["identity"], "skipped", doc)

    def test_valid_client_with_its_chain_in_the_file_needs_no_untrusted(self):
        doc = self.assertAccepted(["--ca", pem("root-ca"), pem("valid-client-chain")])
        self.assertEqual(self.outcomes(doc)["chain"], "pass")

    def test_leaf_alone_without_intermediate_is_not_trusted(self):
        self.assertRejected(["--ca", pem("root-ca"), pem("valid-client")],
                            "ClientCertificateNotTrusted", 401, ["chain"])

    def test_expired_client(self):
        self.assertRejected(dev(pem("expired-client")), "ClientCertificateExpired", 401,
                            ["validity"])

    def test_expired_client_at_a_time_inside_its_window_is_accepted(self):
        self.assertAccepted(dev("--at", "2020-06-01T00:00:00Z", pem("expired-client")))

    def test_validity_boundaries(self):
        """notBefore is inclusive, notAfter exclusive; the line agrees with the verdict."""
        self.assertAccepted(dev("--at", "2020-01-01T00:00:00Z", pem("expired-client")))
        self.assertAccepted(dev("--at", "2020-12-31T23:59:59Z", pem("expired-client")))
        self.assertRejected(dev("--at", "2021-01-01T00:00:00Z", pem("expired-client")),
                            "ClientCertificateExpired", 401, ["validity"])
        self.assertRejected(dev("--at", "2019-12-31T23:59:59Z", pem("expired-client")),
                            "ClientCertificateNotYetValid", 401, ["validity"])

    def test_not_yet_valid_client(self):
        self.assertRejected(dev(pem("notyetvalid-client")), "ClientCertificateNotYetValid", 401,
                            ["validity"])

    def test_not_yet_valid_client_at_a_later_time_is_accepted(self):
        self.assertAccepted(dev("--at", "2035-06-01T00:00:00Z", pem("notyetvalid-client")))

    def test_untrusted_client_is_refused_by_the_issuer_pin(self):
        # the TST chain is complete, so only the pin can refuse it
        args = ["--ca", pem("root-ca"), "--issuer", DEV_DN, pem("untrusted-client-chain")]
        doc = self.assertRejected(args, "ClientCertificateNotTrusted", 401, ["issuer"])
        self.assertEqual(self.outcomes(doc)["chain"], "pass")

    def test_untrusted_client_without_a_pin_is_accepted(self):
        self.assertAccepted(["--ca", pem("root-ca"), pem("untrusted-client-chain")])

    def test_issuer_pin_by_ca_file(self):
        pin = ["--issuer", pem("dev-intermediate")]
        self.assertAccepted(dev(*pin, pem("valid-client")))
        self.assertRejected(["--ca", pem("root-ca"), *pin, pem("untrusted-client-chain")],
                            "ClientCertificateNotTrusted", 401, ["issuer"])

    def test_unregistered_client_is_not_on_the_allowlist(self):
        doc = self.assertRejected(dev("--allow-cn", "Valid Client", pem("unregistered-client")),
                                  "ClientCertificateIdentityNotMatched", 403, ["identity"])
        self.assertEqual(self.outcomes(doc)["chain"], "pass")
        self.assertAccepted(dev("--allow-cn", "Valid Client", pem("valid-client")))

    def test_allowlist_by_thumbprint_serial_and_san(self):
        facts = cert_facts("valid-client")
        sha256 = ":".join(facts["sha256"].lower()[i:i + 2] for i in range(0, 64, 2))
        for flag, value in (
            ("--allow-sha1", facts["sha1"]),
            ("--allow-sha256", sha256),
            ("--allow-serial", facts["serial"]),
            ("--allow-san-uri", "spiffe://demo/valid-client"),
            ("--allow-san-email", "valid-client@demo.example"),
        ):
            with self.subTest(flag=flag):
                self.assertAccepted(dev(flag, value, pem("valid-client")))
                self.assertRejected(dev(flag, value, pem("unregistered-client")),
                                    "ClientCertificateIdentityNotMatched", 403, ["identity"])

    def test_revoked_client_with_the_crl(self):
        self.assertRejected(dev("--crl", pem("dev.crl"), pem("revoked-client")),
                            "ClientCertificateRevoked", 401, ["revocation"])

    def test_revoked_client_without_a_crl_is_accepted(self):
        doc = self.assertAccepted(dev(pem("revoked-client")))
        self.assertEqual(self.outcomes(doc)["revocation"], "skipped")

    def test_valid_client_passes_the_crl(self):
        doc = self.assertAccepted(dev("--crl", pem("dev.crl"), pem("valid-client")))
        self.assertEqual(self.outcomes(doc)["revocation"], "pass")

    def test_crl_of_another_issuer_leaves_revocation_unknown(self):
        args = ["--ca", pem("root-ca"), "--crl", pem("dev.crl"), pem("untrusted-client-chain")]
        self.assertRejected(args, "ClientCertificateRevocationUnknown", 401, ["revocation"])

    def test_server_auth_eku_refuses_a_client_certificate(self):
        self.assertRejected(dev("--eku", "serverAuth", pem("valid-client")),
                            "ClientCertificateNotTrusted", 401, ["eku"])

    def test_server_certificate_passes_with_server_auth_only(self):
        self.assertAccepted(["--ca", pem("root-ca"), "--eku", "serverAuth", pem("server")])
        self.assertRejected(["--ca", pem("root-ca"), pem("server")],
                            "ClientCertificateNotTrusted", 401, ["eku"])
        doc = self.assertAccepted(["--ca", pem("root-ca"), "--eku", "none", pem("server")])
        self.assertEqual(self.outcomes(doc)["eku"], "skipped")

    def test_depth_counts_the_intermediate_and_the_anchor(self):
        self.assertAccepted(dev("--depth", "2", pem("valid-client")))
        self.assertRejected(dev("--depth", "1", pem("valid-client")),
                            "ClientCertificateNotTrusted", 401, ["depth"])

    def test_stronger_rsa_minimum_refuses_2048_bit_keys(self):
        self.assertRejected(dev("--min-rsa-bits", "3072", pem("valid-client")),
                            "ClientCertificateNotTrusted", 401, ["key"])

    def test_der_certificate(self):
        der = scratch("verify") / "valid-client.der"
        der.write_bytes(cert_facts("valid-client")["der"])
        self.assertAccepted(dev(str(der)))

    def test_private_key_in_the_file_is_skipped(self):
        both = scratch("verify") / "key-and-cert.pem"
        with open(key("valid-client")) as k, open(pem("valid-client-chain")) as c:
            both.write_text(k.read() + c.read())
        self.assertAccepted(["--ca", pem("root-ca"), str(both)])


class OutputTest(VerifyTestCase):
    """The JSON object and the text lines, field by field."""

    def test_json_shape(self):
        doc = self.json_run(*dev("--at", AT, pem("expired-client")), rc=1)
        self.assertEqual(list(doc), ["verdict", "reason", "status", "detail", "certificate",
                                     "checks"])
        self.assertEqual(list(doc["certificate"]), CERT_FIELDS)
        facts = cert_facts("expired-client")
        self.assertEqual(doc["certificate"], {f: facts[f] for f in CERT_FIELDS})
        self.assertEqual([c["check"] for c in doc["checks"]], CHECKS)
        for c in doc["checks"]:
            self.assertEqual(list(c), ["check", "outcome", "detail"], c)
            self.assertIn(c["outcome"], ("pass", "fail", "skipped"), c)
            self.assertIsInstance(c["detail"], str)
            self.assertTrue(c["detail"], f"every check says why: {c}")
        validity = doc["checks"][CHECKS.index("validity")]
        self.assertEqual(validity, {
            "check": "validity", "outcome": "fail",
            "detail": "certificate 'CN=Expired Client,OU=Demo Clients,O=APIM Sample' expired on "
                      "2021-01-01T00:00:00Z"})
        self.assertEqual((doc["verdict"], doc["reason"], doc["status"]),
                         ("rejected", "ClientCertificateExpired", 401))

    def test_json_accepted_has_null_reason(self):
        run = verify("--json", *dev("--at", AT, pem("valid-client")))
        self.assertEqual(run.rc, 0, run)
        self.assertIn('"reason":null', run.out)
        self.assertEqual(json.loads(run.out)["detail"], "no check failed")
        self.assertTrue(run.out.endswith("}\n"), run)
        self.assertEqual(run.out.count("\n"), 1, "one line")

    def test_text_output(self):
        args = dev("--at", AT, "--allow-cn", "Valid Client", pem("unregistered-client"))
        run = verify(*args)
        doc = self.json_run(*args, rc=1)
        self.assertEqual(run.rc, 1, run)
        self.assertEqual(run.err, "", run)
        lines = run.out.splitlines()
        facts = cert_facts("unregistered-client")
        self.assertEqual(lines[:9], [
            f"certificate {pem('unregistered-client')}",
            f"subject     {facts['subject']}",
            f"issuer      {facts['issuer']}",
            f"serial      {facts['serial']}",
            f"sha1        {facts['sha1']}",
            f"sha256      {facts['sha256']}",
            f"not before  {facts['not_before']}",
            f"not after   {facts['not_after']}",
            "",
        ])
        word = {"pass": "PASS", "fail": "FAIL", "skipped": "SKIP"}
        want = [f"{c['check']:<12}{word[c['outcome']]}  {c['detail']}" for c in doc["checks"]]
        self.assertEqual(lines[9:17], want)
        self.assertTrue(lines[9].startswith("chain       PASS  "), lines[9])
        self.assertTrue(lines[16].startswith("identity    FAIL  "), lines[16])
        self.assertEqual(lines[17:], [
            f"verdict     REJECTED ClientCertificateIdentityNotMatched 403: {doc['detail']}"])

    def test_text_accepted(self):
        run = verify(*dev("--at", AT, pem("valid-client-chain")))
        self.assertEqual(run.rc, 0, run)
        lines = run.out.splitlines()
        self.assertEqual(lines[0], f"certificate {pem('valid-client-chain')} "
                                   "(and 1 more certificate)")
        self.assertEqual([ln[:12].rstrip() for ln in lines[9:17]], CHECKS)
        for ln in lines[9:17]:
            self.assertRegex(ln, r"^[a-z]+ +(PASS|FAIL|SKIP)  \S")
        self.assertEqual(lines[-1], "verdict     ACCEPTED")
        self.assertEqual(len(lines), 18)

    def test_json_escapes_quotes_backslashes_and_keeps_utf8(self):
        d = scratch("verify-escape")
        # openssl -subj reads "\\\\" as one backslash
        subj = '/O=APIM Sample/CN=Quote "q" back\\\\slash Zo\u00eb'
        ext = d / "ext.cnf"
        ext.write_text("extendedKeyUsage = clientAuth\nbasicConstraints = CA:false\n")
        run = subprocess.run(
            ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-utf8",
             "-keyout", str(d / "odd.key"), "-subj", subj, "-out", str(d / "odd.csr")],
            capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        run = subprocess.run(
            ["openssl", "x509", "-req", "-in", str(d / "odd.csr"), "-CA", pem("root-ca"),
             "-CAkey", key("root-ca"), "-set_serial", "4242", "-days", "30",
             "-extfile", str(ext), "-out", str(d / "odd.pem")],
            capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        run = verify("--json", "--ca", pem("root-ca"), str(d / "odd.pem"))
        self.assertEqual(run.rc, 0, run)
        # RFC 2253 escapes " and \ in the DN; JSON escapes both again; UTF-8 stays
        raw = r'"subject":"CN=Quote \\\"q\\\" back\\\\slash Zo' + "\u00eb" + ',O=APIM Sample"'
        self.assertIn(raw, run.out)
        doc = json.loads(run.out)
        self.assertEqual(doc["certificate"]["subject"],
                         'CN=Quote \\"q\\" back\\\\slash Zo\u00eb,O=APIM Sample')
        self.assertEqual(doc["certificate"]["serial"], "1092")


class ConfigPolicyTest(VerifyTestCase):
    """-c FILE --policy NAME: the policy of a config, inheritance included;
    flags add to it; --at and --json still apply."""

    @classmethod
    def setUpClass(cls):
        d = scratch("verify-config")
        cls.path = d / "certgate.yaml"
        cls.path.write_text(
            "listeners:\n"
            "  - {name: web, address: \"127.0.0.1:18080\"}\n"
            "policies:\n"
            "  dev-clients:\n"
            f"    trusted_ca: [\"{pem('root-ca')}\"]\n"
            f"    intermediates: [\"{pem('dev-intermediate')}\"]\n"
            f"    allowed_issuers: [\"{DEV_DN}\"]\n"
            "    max_depth: 3\n"
            "  registered:\n"
            "    inherit: dev-clients\n"
            "    allow: {cn: [Valid Client]}\n"
            "    status: {ClientCertificateIdentityNotMatched: 404}\n"
        )

    def cfg(self, policy, *args):
        return ["-c", str(self.path), "--policy", policy, *args]

    def test_valid_client_is_accepted(self):
        doc = self.assertAccepted(self.cfg("registered", pem("valid-client")))
        outcomes = self.outcomes(doc)
        self.assertEqual((outcomes["issuer"], outcomes["depth"], outcomes["identity"]),
                         ("pass", "pass", "pass"), doc)

    def test_status_comes_from_the_policy(self):
        self.assertRejected(self.cfg("registered", pem("unregistered-client")),
                            "ClientCertificateIdentityNotMatched", 404, ["identity"])
        run = verify(*self.cfg("registered", pem("unregistered-client")))
        self.assertEqual(run.rc, 1, run)
        self.assertRegex(run.out.splitlines()[-1],
                         r"^verdict     REJECTED ClientCertificateIdentityNotMatched 404: \S")

    def test_parent_policy_has_no_allowlist(self):
        self.assertAccepted(self.cfg("dev-clients", pem("unregistered-client")))

    def test_inherited_issuer_pin(self):
        # every check runs: the verdict is the first failure in SPEC order
        self.assertRejected(self.cfg("registered", pem("untrusted-client-chain")),
                            "ClientCertificateNotTrusted", 401, ["issuer", "identity"])

    def test_flags_add_to_the_policy(self):
        self.assertAccepted(self.cfg("registered", "--allow-cn", "Unregistered Client",
                                     pem("unregistered-client")))
        self.assertRejected(self.cfg("registered", "--crl", pem("dev.crl"),
                                     pem("revoked-client")),
                            "ClientCertificateRevoked", 401, ["revocation", "identity"])

    def test_flags_override_scalars(self):
        self.assertRejected(self.cfg("dev-clients", "--depth", "1", pem("valid-client")),
                            "ClientCertificateNotTrusted", 401, ["depth"])

    def test_at_applies(self):
        self.assertRejected(self.cfg("dev-clients", pem("expired-client")),
                            "ClientCertificateExpired", 401, ["validity"])
        self.assertAccepted(self.cfg("dev-clients", "--at", "2020-06-01T00:00:00Z",
                                     pem("expired-client")))

    def test_unknown_policy_is_a_usage_error(self):
        run = verify(*self.cfg("nope", pem("valid-client")))
        self.assertEqual((run.rc, run.out), (2, ""), run)
        self.assertEqual(run.err, f"certgate verify: --policy: no policy 'nope' in "
                                  f"'{self.path}' (defined policies: dev-clients, registered)\n")

    def test_config_error_is_reported_with_its_place(self):
        bad = scratch("verify-bad") / "bad.yaml"
        bad.write_text("listeners:\n  - {name: web, address: \":8080\"}\n"
                       "policies:\n  p: {trusted_ca: nope.pem}\n")
        run = verify("-c", str(bad), "--policy", "p", pem("valid-client"))
        self.assertEqual((run.rc, run.out), (2, ""), run)
        self.assertEqual(run.err, f"certgate verify: {bad}:4:19: cannot open 'nope.pem': "
                                  "No such file or directory\n")


class UsageTest(unittest.TestCase):
    """Exit status 2, nothing on stdout, the reason on stderr."""

    def assertUsage(self, args, message, usage_line=True):
        run = verify(*args)
        self.assertEqual((run.rc, run.out), (2, ""), run)
        lines = run.err.splitlines()
        self.assertEqual(lines[0], f"certgate verify: {message}", run)
        if usage_line:
            self.assertEqual(len(lines), 2, run)
            self.assertTrue(lines[1].startswith("usage: certgate verify "), run)
        else:
            self.assertEqual(len(lines), 1, run)

    def test_missing_ca(self):
        self.assertUsage([pem("valid-client")],
                         "--ca is required without -c (the trusted CA certificates)")

    def test_unknown_flag(self):
        self.assertUsage(["--ca", pem("root-ca"), "--frobnicate", pem("valid-client")],
                         "--frobnicate: unknown flag")

    def test_missing_argument(self):
        self.assertUsage([pem("valid-client"), "--ca"], "--ca: needs a value")

    def test_no_certificate_file(self):
        self.assertUsage(["--ca", pem("root-ca")], "no certificate file given")

    def test_two_certificate_files(self):
        self.assertUsage(["--ca", pem("root-ca"), pem("valid-client"), pem("expired-client")],
                         f"'{pem('expired-client')}': only one certificate file is judged at "
                         "a time")

    def test_repeated_single_flag(self):
        self.assertUsage(["--ca", pem("root-ca"), "--depth", "2", "--depth=3",
                          pem("valid-client")], "--depth: given more than once")

    def test_unreadable_certificate_file(self):
        missing = str(scratch("verify-missing") / "missing.pem")
        self.assertUsage(["--ca", pem("root-ca"), missing],
                         f"cannot open '{missing}': No such file or directory",
                         usage_line=False)

    def test_file_without_a_certificate(self):
        self.assertUsage(["--ca", pem("root-ca"), key("valid-client")],
                         f"no certificate in '{key('valid-client')}' (expected PEM, or one DER "
                         "certificate)", usage_line=False)

    def test_bad_at(self):
        for value in ("2024-02-02 08:00:00", "2024-02-02T08:00:00", "yesterday",
                      "2024-02-02T08:00:00+01:00"):
            with self.subTest(value=value):
                self.assertUsage(["--ca", pem("root-ca"), "--at", value, pem("valid-client")],
                                 "--at: expected a UTC time as 2024-02-02T08:00:00Z, got "
                                 f"'{value}'")
        self.assertUsage(["--ca", pem("root-ca"), "--at", "2024-02-30T08:00:00Z",
                          pem("valid-client")],
                         "--at: '2024-02-30T08:00:00Z' is not a valid date and time")

    def test_bad_numbers_and_eku(self):
        self.assertUsage(["--ca", pem("root-ca"), "--depth", "0", pem("valid-client")],
                         "--depth: expected a whole number from 1 to 2147483647, got '0'")
        self.assertUsage(["--ca", pem("root-ca"), "--min-rsa-bits", "x", pem("valid-client")],
                         "--min-rsa-bits: expected a whole number from 1 to 16384, got 'x'")
        self.assertUsage(["--ca", pem("root-ca"), "--eku", "clientauth", pem("valid-client")],
                         "--eku: invalid value 'clientauth' (valid: clientAuth, serverAuth, "
                         "any, none)")

    def test_switch_with_a_value(self):
        self.assertUsage(["--ca", pem("root-ca"), "--json=yes", pem("valid-client")],
                         "--json: takes no value")

    def test_config_and_policy_go_together(self):
        self.assertUsage(["-c", "x.yaml", pem("valid-client")],
                         "-c: needs --policy NAME (the policy to judge with)")
        self.assertUsage(["--ca", pem("root-ca"), "--policy", "p", pem("valid-client")],
                         "--policy: needs -c FILE (the config that defines it)")

    def test_bad_policy_spec(self):
        for args in (["--allow-sha1", "not-hex"], ["--issuer", "XYZ=nope"],
                     ["--ca", str(scratch("verify-noca") / "none.pem")]):
            with self.subTest(args=args):
                run = verify("--ca", pem("root-ca"), *args, pem("valid-client"))
                self.assertEqual((run.rc, run.out), (2, ""), run)
                self.assertRegex(run.err, r"^certgate verify: \S.*\n$")

    def test_help(self):
        run = verify("--help")
        self.assertEqual((run.rc, run.err), (0, ""), run)
        self.assertTrue(run.out.startswith("usage: certgate verify [--ca roots.pem]..."), run)
        self.assertIn("Exit status: 0 accepted, 1 rejected, 2 usage error.", run.out)


if __name__ == "__main__":
    unittest.main()
