"""`certgate verify` (SPEC §7) against public path-validation corpora.

- x509-limbo (tests/testdata/x509-limbo/limbo.json): every case, default key
  and signature policy. Trust = trusted_certs, --untrusted = the
  intermediates, the leaf alone in the cert file, --at = validation_time (now
  when null), every CRL, --eku clientAuth for CLIENT cases and serverAuth
  (when the case lists it) or any for SERVER cases. limbo's max_chain_depth
  counts intermediates only; certgate's --depth counts the trust anchor as
  well, so --depth = max_chain_depth + 1.
- NIST PKITS 1.0.1 (tests/testdata/nist-pkits): the cases with no
  initial-policy-set / explicit-policy / inhibit inputs, with all their CRLs,
  --eku any, time now (2030-06-01 once the leaves expire at the end of
  2030), trust = the chain's root, --untrusted = the rest but the leaf,
  and --min-rsa-bits 1024 --allow-weak-signatures (the suite is about path
  validation; its DSA certificates are 1024-bit dsaWithSHA1).
- HAProxy's client-auth PKI (tests/testdata/haproxy-ssl-certs): exact
  verdicts, reason codes and exit statuses.

For the corpora, the set of disagreeing case ids (with certgate's verdict for
each) must equal the committed one exactly, so a regression and an
improvement both show. Why each one disagrees is in tests/verify-corpus.md,
which must list every id. After a deliberate change, print the new tables with

    CERTGATE_BINARY=build/certgate python3 tests/e2e/test_verify_corpus.py
"""

import json
import re
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import ASAN, BINARY, scratch

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "tests" / "testdata"
LIMBO = TESTDATA / "x509-limbo" / "limbo.json"
PKITS = TESTDATA / "nist-pkits"
HAPROXY = TESTDATA / "haproxy-ssl-certs"
EXPLANATIONS = REPO / "tests" / "verify-corpus.md"

CHECKS = ("chain", "issuer", "depth", "eku", "key", "validity", "revocation", "identity")
REASONS = {
    "ClientCertificateNotFound",
    "ClientCertificateMalformed",
    "ClientCertificateNotYetValid",
    "ClientCertificateExpired",
    "ClientCertificateNotTrusted",
    "ClientCertificateRevoked",
    "ClientCertificateRevocationUnknown",
    "ClientCertificateIdentityNotMatched",
}
# PKITS inputs that change the initial policy state; cases with any are not run.
PKITS_POLICY_INPUTS = (
    "SetInitialPolicySet",
    "SetInitialExplicitPolicy",
    "SetInitialPolicyMappingInhibit",
    "SetInitialInhibitAnyPolicy",
)
SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")
WORKERS = 4
TIMEOUT = 60 if ASAN else 30

NT = "ClientCertificateNotTrusted"
ACC = "accepted"

# The reasons a check may decide (SPEC §4); a rejection's reason follows its first failed check.
CHECK_REASONS = {
    "chain": {NT},
    "issuer": {NT},
    "depth": {NT},
    "eku": {NT},
    "key": {NT},
    "validity": {"ClientCertificateNotYetValid", "ClientCertificateExpired"},
    "revocation": {"ClientCertificateRevoked", "ClientCertificateRevocationUnknown"},
    "identity": {"ClientCertificateIdentityNotMatched"},
}

# case id -> certgate's verdict ("accepted" or the reason code). The expected
# verdict is the opposite; tests/verify-corpus.md says why.
LIMBO_DISAGREE = {
    # No reference identity: verify has no expected peer name to match.
    "cve::cve-2025-61727": ACC,
    "rfc5280::ca-as-leaf-wrong-san": ACC,
    "rfc5280::nc::nc-forbids-dnsname-wildcard-san": ACC,
    "rfc5280::san::ip-in-dns": ACC,
    "webpki::san::mismatch-apex-subdomain-san": ACC,
    "webpki::san::mismatch-domain-san": ACC,
    "webpki::san::mismatch-subdomain-apex-san": ACC,
    "webpki::san::mismatch-subdomain-san": ACC,
    "webpki::san::no-san": ACC,
    "webpki::san::public-suffix-multi-label-wildcard-san": ACC,
    "webpki::san::public-suffix-private-namespace-wildcard-san": ACC,
    "webpki::san::public-suffix-wildcard-san": ACC,
    "webpki::san::san-wildcard-only": ACC,
    "webpki::san::san-wildcard-only-tld": ACC,
    "webpki::san::unicode-emoji-san": ACC,
    "webpki::san::wildcard-embedded-leftmost-san": ACC,
    "webpki::san::wildcard-embedded-ulabel-san": ACC,
    "webpki::san::wildcard-match-across-labels-san": ACC,
    "webpki::san::wildcard-not-in-leftmost-san": ACC,
    # CA/Browser Forum profile rules, which OpenSSL does not enforce.
    "webpki::aki::root-with-aki-missing-keyidentifier": ACC,
    "webpki::ca-as-leaf": ACC,
    "webpki::cn::case-mismatch": ACC,
    "webpki::cn::ipv4-hex-mismatch": ACC,
    "webpki::cn::ipv4-leading-zeros-mismatch": ACC,
    "webpki::cn::ipv6-non-rfc5952-mismatch": ACC,
    "webpki::cn::ipv6-uncompressed-mismatch": ACC,
    "webpki::cn::ipv6-uppercase-mismatch": ACC,
    "webpki::cn::not-in-san": ACC,
    "webpki::cn::punycode-not-in-san": ACC,
    "webpki::cn::utf8-vs-punycode-mismatch": ACC,
    "webpki::ee-basicconstraints-ca": ACC,
    "webpki::eku::ee-anyeku": ACC,
    "webpki::eku::ee-critical-eku": ACC,
    "webpki::eku::ee-without-eku": ACC,
    "webpki::eku::root-has-eku": ACC,
    "webpki::malformed-aia": ACC,
    "webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences": ACC,
    "webpki::nc::intermediate-permitted-excluded-subtrees-both-null": ACC,
    "webpki::san::san-critical-with-nonempty-subject": ACC,
    "webpki::v1-cert": ACC,
    # Key policy: a minimum size, not the CABF algorithm list; the anchor's key is not judged.
    "webpki::forbidden-dsa-leaf": ACC,
    "webpki::forbidden-dsa-root": ACC,
    "webpki::forbidden-p192-root": ACC,
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": ACC,
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": ACC,
    "webpki::forbidden-weak-rsa-key-in-root": ACC,
    # RFC 5280 profile rules on encodings and extensions, which OpenSSL does not enforce.
    "crl::crlnumber-missing": ACC,
    "rfc5280::aki::intermediate-missing-aki": ACC,
    "rfc5280::aki::leaf-missing-aki": ACC,
    "rfc5280::eku::ee-eku-empty": ACC,
    "rfc5280::leaf-ku-keycertsign": ACC,
    "rfc5280::nc::invalid-dnsname-leading-period": ACC,
    "rfc5280::nc::nc-permits-invalid-dns-san": ACC,
    "rfc5280::nc::nc-permits-invalid-email-san": ACC,
    "rfc5280::nc::not-allowed-in-ee-critical": ACC,
    "rfc5280::nc::not-allowed-in-ee-noncritical": ACC,
    "rfc5280::nc::permitted-dns-match-noncritical": ACC,
    "rfc5280::pc::ica-noncritical-pc": ACC,
    "rfc5280::root-missing-basic-constraints": ACC,
    "rfc5280::root-non-critical-basic-constraints": ACC,
    "rfc5280::san::noncritical-with-empty-subject": ACC,
    "rfc5280::san::underscore-dns": ACC,
    "rfc5280::serial::too-long": ACC,
    "rfc5280::serial::zero": ACC,
    "rfc5280::ski::intermediate-missing-ski": ACC,
    "rfc5280::ski::root-missing-ski": ACC,
    # Path building: anchors must be self-signed; no backtracking past a failed candidate.
    "cve::cve-2024-0567": NT,
    "rfc5280::root-and-intermediate-swapped": NT,
    "rfc5280::nc::nc-forbids-alternate-chain-ica": NT,
    "rfc5280::nc::nc-forbids-same-chain-ica": NT,
    # --depth counts every CA certificate; limbo counts a self-issued one only once.
    "pathlen::max-chain-depth-1-self-issued": NT,
    # notAfter is exclusive, as in OpenSSL; RFC 5280 makes it inclusive.
    "rfc5280::validity::notafter-exact": "ClientCertificateExpired",
    "rfc5280::validity::notafter-fractional": "ClientCertificateExpired",
}

RU = "ClientCertificateRevocationUnknown"

PKITS_DISAGREE = {
    # Certificate policies are not processed (requireExplicitPolicy, mappings, inhibits).
    "4.8.4 Section8DifferentPoliciesTest4": ACC,
    "4.8.5 Section8DifferentPoliciesTest5": ACC,
    "4.8.7 Section8DifferentPoliciesTest7": ACC,
    "4.8.8 Section8DifferentPoliciesTest8": ACC,
    "4.8.9 Section8DifferentPoliciesTest9": ACC,
    "4.8.12 Section8DifferentPoliciesTest12": ACC,
    "4.9.3 Section9InvalidRequireExplicitPolicyTest3": ACC,
    "4.9.5 Section9InvalidRequireExplicitPolicyTest5": ACC,
    "4.9.7 Section9InvalidSelfIssuedrequireExplicitPolicyTest7": ACC,
    "4.9.8 Section9InvalidSelfIssuedrequireExplicitPolicyTest8": ACC,
    "4.10.2 Section10InvalidPolicyMappingTest2Subpart1": ACC,
    "4.10.4 Section10InvalidPolicyMappingTest4": ACC,
    "4.10.7 Section10InvalidMappingFromanyPolicyTest7": ACC,
    "4.10.8 Section10InvalidMappingToanyPolicyTest8": ACC,
    "4.10.10 Section10InvalidPolicyMappingTest10": ACC,
    "4.11.1 Section11InvalidinhibitPolicyMappingTest1": ACC,
    "4.11.3 Section11InvalidinhibitPolicyMappingTest3": ACC,
    "4.11.5 Section11InvalidinhibitPolicyMappingTest5": ACC,
    "4.11.6 Section11InvalidinhibitPolicyMappingTest6": ACC,
    "4.11.8 Section11InvalidSelfIssuedinhibitPolicyMappingTest8": ACC,
    "4.11.9 Section11InvalidSelfIssuedinhibitPolicyMappingTest9": ACC,
    "4.11.10 Section11InvalidSelfIssuedinhibitPolicyMappingTest10": ACC,
    "4.11.11 Section11InvalidSelfIssuedinhibitPolicyMappingTest11": ACC,
    "4.12.1 Section12InvalidinhibitAnyPolicyTest1": ACC,
    "4.12.4 Section12InvalidinhibitAnyPolicyTest4": ACC,
    "4.12.5 Section12InvalidinhibitAnyPolicyTest5": ACC,
    "4.12.6 Section12InvalidinhibitAnyPolicyTest6": ACC,
    "4.12.8 Section12InvalidSelfIssuedinhibitAnyPolicyTest8": ACC,
    "4.12.10 Section12InvalidSelfIssuedinhibitAnyPolicyTest10": ACC,
    # CRLs are applied to the leaf only: a revoked intermediate passes.
    # Delta CRLs are not applied (and one given alone is read as a complete CRL).
    # CRLs signed by another key than the certificate's, indirect or by-reason CRLs:
    # not usable, so the status is unknown and the policy fails closed.
    "4.14.30 Section14ValidcRLIssuerTest30": RU,
    # OpenSSL 3 cannot read a DSA key whose parameters are inherited from its issuer.
    "4.1.5 Section1ValidDSAParameterInheritanceTest5": NT,
}


# --- running certgate verify -------------------------------------------------


class Outcome:
    """One `certgate verify --json` run: verdict is "accepted", a reason code,
    or "error: ..." when the run broke the interface."""

    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.doc = None
        self.verdict = self._judge()

    def _judge(self):
        if ASAN and any(m in self.err for m in SANITIZER_MARKERS):
            return "error: sanitizer report on stderr"
        if self.rc not in (0, 1):
            return f"error: exit status {self.rc}"
        try:
            doc = json.loads(self.out)
        except ValueError:
            return "error: stdout is not one JSON document"
        if not isinstance(doc, dict) or not isinstance(doc.get("checks"), list):
            return "error: stdout is not a JSON object with a checks list"
        self.doc = doc
        if doc.get("verdict") != ("accepted", "rejected")[self.rc]:
            return f"error: verdict {doc.get('verdict')!r} with exit status {self.rc}"
        if self.rc == 0:
            return ACC if doc.get("reason") is None else "error: reason set on acceptance"
        if doc.get("reason") not in REASONS:
            return f"error: unknown reason {doc.get('reason')!r}"
        return doc["reason"]

    def failed_checks(self):
        return [c["check"] for c in self.doc["checks"] if c["outcome"] == "fail"]

    def describe(self):
        text = f"$ {' '.join(self.argv)}\nexit {self.rc}\nstdout: {self.out}"
        return text + (f"\nstderr: {self.err}" if self.err else "")


def first_failed(o):
    failed = o.failed_checks()
    return failed[0] if failed else None


def verify(args):
    argv = [BINARY, "verify", "--json", *args]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Outcome(argv, -1, "", f"no answer within {TIMEOUT}s")
    return Outcome(argv, r.returncode, r.stdout, r.stderr)


def run_all(jobs):
    """jobs: {case id: argv tail} -> {case id: Outcome}, WORKERS at a time."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {cid: pool.submit(verify, args) for cid, args in jobs.items()}
        return {cid: f.result() for cid, f in futures.items()}


# --- the corpora ---------------------------------------------------------------


def limbo_time(value):
    """limbo writes 2024-01-01T00:00:00(.005)+00:00, always UTC; --at takes whole
    seconds with Z. Fractions are floored, the reading limbo recommends."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?\+00:00", value)
    if m is None:
        raise ValueError(f"unexpected validation_time {value!r}")
    return m.group(1) + "Z"


def limbo_jobs():
    """{id: (args, expected verdict "accepted"/"rejected")} for every limbo case."""
    cases = json.loads(LIMBO.read_text())["testcases"]
    base = scratch("limbo")
    jobs = {}
    for n, case in enumerate(cases):
        d = base / str(n)
        d.mkdir()
        (d / "roots.pem").write_text("".join(case["trusted_certs"]))
        (d / "leaf.pem").write_text(case["peer_certificate"])
        args = ["--ca", str(d / "roots.pem")]
        if case["untrusted_intermediates"]:
            (d / "untrusted.pem").write_text("".join(case["untrusted_intermediates"]))
            args += ["--untrusted", str(d / "untrusted.pem")]
        for i, crl in enumerate(case["crls"]):
            (d / f"crl{i}.pem").write_text(crl)
            args += ["--crl", str(d / f"crl{i}.pem")]
        if case["validation_time"] is not None:
            args += ["--at", limbo_time(case["validation_time"])]
        if case["max_chain_depth"] is not None:
            args += ["--depth", str(case["max_chain_depth"] + 1)]
        if case["validation_kind"] == "CLIENT":
            eku = "clientAuth"
        elif "serverAuth" in case["extended_key_usage"]:
            eku = "serverAuth"
        else:
            eku = "any"
        args += ["--eku", eku, str(d / "leaf.pem")]
        expected = ACC if case["expected_result"] == "SUCCESS" else "rejected"
        jobs[case["id"]] = (args, expected)
    return jobs


# PKITS end-entity certificates expire 2030-12-31T08:30:00Z; after that, run
# at a fixed time inside their validity instead of now.
PKITS_EXPIRY = 1924936200
PKITS_LATE_AT = "2030-06-01T00:00:00Z"


def pkits_jobs():
    cases = json.loads((PKITS / "pkits_cases.json").read_text())
    at = ["--at", PKITS_LATE_AT] if time.time() >= PKITS_EXPIRY else []
    jobs = {}
    for case in cases:
        if any(k in case for k in PKITS_POLICY_INPUTS):
            continue
        chain = [str(PKITS / "certs" / f"{name}.crt") for name in case["chain_root_to_leaf"]]
        args = ["--ca", chain[0]]
        for c in chain[1:-1]:
            args += ["--untrusted", c]
        for crl in case["crls"]:
            args += ["--crl", str(PKITS / "crls" / f"{crl}.crl")]
        args += at + ["--eku", "any", "--min-rsa-bits", "1024", "--allow-weak-signatures"]
        args.append(chain[-1])
        jobs[f"{case['test_number']} {case['test']}"] = (
            args,
            ACC if case["should_validate"] else "rejected",
        )
    return jobs


_results = {}


def corpus(name):
    """{id: (expected, Outcome)}, run once per process."""
    if name not in _results:
        jobs = limbo_jobs() if name == "x509-limbo" else pkits_jobs()
        outcomes = run_all({cid: args for cid, (args, _) in jobs.items()})
        _results[name] = {cid: (exp, outcomes[cid]) for cid, (_, exp) in jobs.items()}
    return _results[name]


def disagreements(results):
    """{id: certgate's verdict} for every case certgate decides the other way."""
    out = {}
    for cid, (expected, o) in results.items():
        accepted = o.verdict == ACC
        if accepted != (expected == ACC):
            out[cid] = o.verdict
    return out


class CorpusChecks:
    """Mixed into one unittest.TestCase per corpus."""

    maxDiff = None
    NAME = None
    EXPECTED = None

    @classmethod
    def setUpClass(cls):
        cls.results = corpus(cls.NAME)

    def test_every_run_keeps_the_interface(self):
        """Exit 0/1, one JSON document whose verdict, reason and checks agree."""
        broken = {}
        for cid, (_, o) in self.results.items():
            if o.verdict.startswith("error"):
                broken[cid] = f"{o.verdict}\n{o.describe()}"
                continue
            checks = o.doc["checks"]
            if not all(isinstance(c, dict) for c in checks):
                broken[cid] = f"checks: {checks!r}"
            elif tuple(c.get("check") for c in checks) != CHECKS:
                broken[cid] = f"checks not all there, in order: {checks!r}"
            elif any(c.get("outcome") not in ("pass", "fail", "skipped") for c in checks):
                broken[cid] = f"checks outcome: {checks!r}"
            elif o.rc == 0 and o.failed_checks():
                broken[cid] = f"accepted with a failed check: {o.out}"
            elif o.rc == 1 and o.verdict not in CHECK_REASONS.get(first_failed(o), ()):
                broken[cid] = f"the reason does not follow the first failed check: {o.out}"
        first = "\n\n".join(f"{cid}: {v}" for cid, v in list(broken.items())[:5])
        self.assertEqual(len(broken), 0, f"{len(broken)} broken runs; first ones:\n{first}")

    def test_disagreements_are_exactly_the_committed_ones(self):
        got = disagreements(self.results)
        total = len(self.results)
        sys.stderr.write(f"\n{self.NAME}: {total - len(got)} / {total} agree\n")
        new = {cid: v for cid, v in got.items() if self.EXPECTED.get(cid) != v}
        gone = {cid: v for cid, v in self.EXPECTED.items() if got.get(cid) != v}
        detail = "\n\n".join(self.results[cid][1].describe() for cid in list(new)[:3])
        self.assertEqual(
            (new, gone),
            ({}, {}),
            "(new or changed disagreements, committed ones that no longer hold); update "
            f"the {self.NAME} table here and in tests/verify-corpus.md\n{detail}",
        )

    def test_explanations_list_every_disagreement(self):
        text = EXPLANATIONS.read_text()
        total = len(self.results)
        self.assertIn(f"{self.NAME}: {total - len(self.EXPECTED)} / {total} agree", text)
        missing = [cid for cid in self.EXPECTED if f"`{cid}`" not in text]
        self.assertEqual(missing, [], "ids without an explanation in tests/verify-corpus.md")


class LimboTest(CorpusChecks, unittest.TestCase):
    NAME = "x509-limbo"
    EXPECTED = LIMBO_DISAGREE

    def test_case_count(self):
        self.assertEqual(len(self.results), 208)


class PkitsTest(CorpusChecks, unittest.TestCase):
    NAME = "nist-pkits"
    EXPECTED = PKITS_DISAGREE

    def test_case_count(self):
        self.assertEqual(len(self.results), 214)

    def test_no_certificate_carries_an_eku(self):
        """--eku any is then the same as clientAuth or serverAuth would be."""
        for f in sorted((PKITS / "certs").glob("*.crt")):
            der = f.read_bytes()
            # id-ce-extKeyUsage, 2.5.29.37, as DER: 06 03 55 1d 25
            self.assertNotIn(b"\x06\x03\x55\x1d\x25", der, f.name)


# --- HAProxy ------------------------------------------------------------------------


class HaproxyTest(unittest.TestCase):
    """ca-auth.crt signs client1..3; client.ecdsa.pem comes from another CA.
    The client PEMs carry their private keys, which verify must skip, and
    client1.pem two unrelated expired self-signed certificates after the leaf,
    which must not become part of its chain."""

    maxDiff = None

    def run_verify(self, name, *extra):
        o = verify(["--ca", str(HAPROXY / "ca-auth.crt"), *extra, str(HAPROXY / name)])
        self.assertFalse(o.verdict.startswith("error"), o.describe())
        return o

    def assertVerdict(self, o, rc, reason, failed):
        got = (o.rc, o.doc["verdict"], o.doc["reason"], o.failed_checks())
        verdict = "accepted" if rc == 0 else "rejected"
        self.assertEqual(got, (rc, verdict, reason, failed), o.describe())
        if rc == 1:
            self.assertEqual(o.doc["status"], 401, o.describe())

    def test_good_client_is_accepted(self):
        o = self.run_verify("client1.pem")
        self.assertVerdict(o, 0, None, [])
        outcomes = {c["check"]: c["outcome"] for c in o.doc["checks"]}
        self.assertEqual((outcomes["chain"], outcomes["validity"]), ("pass", "pass"), o.out)

    def test_good_client_is_accepted_with_the_crl(self):
        o = self.run_verify("client1.pem", "--crl", str(HAPROXY / "crl-auth.pem"))
        self.assertVerdict(o, 0, None, [])
        outcomes = {c["check"]: c["outcome"] for c in o.doc["checks"]}
        self.assertEqual(outcomes["revocation"], "pass", o.out)

    def test_expired_client(self):
        o = self.run_verify("client2_expired.pem")
        self.assertVerdict(o, 1, "ClientCertificateExpired", ["validity"])

    def test_revoked_client(self):
        o = self.run_verify("client3_revoked.pem", "--crl", str(HAPROXY / "crl-auth.pem"))
        self.assertVerdict(o, 1, "ClientCertificateRevoked", ["revocation"])

    def test_revoked_client_without_the_crl_is_accepted(self):
        self.assertVerdict(self.run_verify("client3_revoked.pem"), 0, None, [])

    def test_client_of_another_ca_is_not_trusted(self):
        o = self.run_verify("client.ecdsa.pem")
        self.assertVerdict(o, 1, "ClientCertificateNotTrusted", ["chain"])

    def test_text_output_has_the_same_exit_status(self):
        for name, rc in (("client1.pem", 0), ("client2_expired.pem", 1), ("client.ecdsa.pem", 1)):
            argv = [BINARY, "verify", "--ca", str(HAPROXY / "ca-auth.crt"), str(HAPROXY / name)]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, rc, f"{name}: {r.stdout}{r.stderr}")


# --- printing the tables after a deliberate change ------------------------------------


def print_tables():
    for name, expected in (("x509-limbo", LIMBO_DISAGREE), ("nist-pkits", PKITS_DISAGREE)):
        results = corpus(name)
        got = disagreements(results)
        print(f"\n## {name}: {len(results) - len(got)} / {len(results)} agree\n")
        print("| case | certgate | expected | failed checks | committed |")
        print("|---|---|---|---|---|")
        for cid, verdict in sorted(got.items()):
            exp, o = results[cid]
            failed = ", ".join(o.failed_checks()) if o.doc else ""
            mark = "yes" if expected.get(cid) == verdict else "NEW"
            print(f"| `{cid}` | {verdict} | {exp} | {failed} | {mark} |")
        for cid in sorted(set(expected) - set(got)):
            print(f"| `{cid}` | (now agrees) | | | GONE |")


if __name__ == "__main__":
    print_tables()
