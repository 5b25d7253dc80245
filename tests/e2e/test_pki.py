"""scripts/gen-pki.sh builds SPEC §8's tree; every other test leans on it."""

import subprocess
import time
import unittest

from harness import REPO, cert_facts, pem, pki


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def ext(name, which):
    return openssl("x509", "-in", pem(name), "-noout", "-ext", which)


class PkiTest(unittest.TestCase):
    def verify(self, name, untrusted="dev-intermediate"):
        r = subprocess.run(
            ["openssl", "verify", "-CAfile", pem("root-ca"), "-untrusted", pem(untrusted),
             "-purpose", "sslclient", pem(name)], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def test_seed_003_names_and_issuers(self):
        expect = {
            "root-ca": ("CN=APIM Sample Root CA", "CN=APIM Sample Root CA"),
            "dev-intermediate": ("CN=APIM Sample DEV Intermediate CA", "CN=APIM Sample Root CA"),
            "tst-intermediate": ("CN=APIM Sample TST Intermediate CA", "CN=APIM Sample Root CA"),
            "valid-client": ("CN=Valid Client,OU=Demo Clients,O=APIM Sample",
                             "CN=APIM Sample DEV Intermediate CA"),
            "unregistered-client": ("CN=Unregistered Client,OU=Demo Clients,O=APIM Sample",
                                    "CN=APIM Sample DEV Intermediate CA"),
            "expired-client": ("CN=Expired Client,OU=Demo Clients,O=APIM Sample",
                               "CN=APIM Sample DEV Intermediate CA"),
            "notyetvalid-client": ("CN=Not Yet Valid Client,OU=Demo Clients,O=APIM Sample",
                                   "CN=APIM Sample DEV Intermediate CA"),
            "revoked-client": ("CN=Revoked Client,OU=Demo Clients,O=APIM Sample",
                               "CN=APIM Sample DEV Intermediate CA"),
            "untrusted-client": ("CN=Untrusted Client,OU=Demo Clients,O=APIM Sample",
                                 "CN=APIM Sample TST Intermediate CA"),
        }
        for name, (subject, issuer) in expect.items():
            f = cert_facts(name)
            self.assertEqual((f["subject"], f["issuer"]), (subject, issuer), name)

    def test_openssl_verdicts_match_the_demo_outcomes(self):
        self.assertEqual(self.verify("valid-client")[0], 0)
        self.assertIn("certificate has expired", self.verify("expired-client")[1])
        self.assertIn("certificate is not yet valid", self.verify("notyetvalid-client")[1])
        self.assertIn("unable to get local issuer certificate",
                      self.verify("untrusted-client")[1])

    def test_validity_windows(self):
        self.assertEqual(cert_facts("expired-client")["not_before"], "2020-01-01T00:00:00Z")
        self.assertEqual(cert_facts("expired-client")["not_after"], "2021-01-01T00:00:00Z")
        self.assertEqual(cert_facts("notyetvalid-client")["not_before"], "2035-01-01T00:00:00Z")

    def test_crl_lists_only_the_revoked_client(self):
        text = openssl("crl", "-in", str(pki() / "dev.crl"), "-noout", "-text")
        self.assertIn("Issuer: CN = APIM Sample DEV Intermediate CA", text)
        serials = [ln.split(":", 1)[1].strip() for ln in text.splitlines()
                   if ln.strip().startswith("Serial Number:")]
        self.assertEqual(serials, [cert_facts("revoked-client")["serial"]])

    def test_clients_are_rsa_2048_client_auth_with_san(self):
        for name in ("valid-client", "untrusted-client", "expired-client"):
            self.assertIn("TLS Web Client Authentication", ext(name, "extendedKeyUsage"))
            self.assertIn(f"URI:spiffe://demo/{name}", ext(name, "subjectAltName"))
            text = openssl("x509", "-in", pem(name), "-noout", "-text")
            self.assertIn("Public-Key: (2048 bit)", text)

    def test_servers_cover_their_names(self):
        self.assertIn("DNS:localhost, IP Address:127.0.0.1", ext("server", "subjectAltName"))
        self.assertIn("DNS:localhost, IP Address:127.0.0.1", ext("server-ec", "subjectAltName"))
        self.assertIn("DNS:other.localhost", ext("other", "subjectAltName"))
        self.assertIn("TLS Web Server Authentication", ext("server", "extendedKeyUsage"))
        text = openssl("x509", "-in", pem("server-ec"), "-noout", "-text")
        self.assertIn("NIST CURVE: P-256", text)

    def test_pkcs12_files_open_with_their_password_files(self):
        for name, cn in (("server", "CN = localhost"), ("gw-client", "CN = certgate Gateway")):
            out = subprocess.run(
                f"openssl pkcs12 -in {pki() / (name + '.p12')} "
                f"-passin file:{pki() / (name + '.p12.pass')} -nokeys -clcerts "
                "| openssl x509 -noout -subject",
                shell=True, capture_output=True, text=True)
            self.assertIn(cn, out.stdout, out.stderr)

    def test_chain_files_are_leaf_then_intermediate(self):
        text = (pki() / "valid-client-chain.pem").read_text()
        leaf = (pki() / "valid-client.pem").read_text()
        inter = (pki() / "dev-intermediate.pem").read_text()
        self.assertEqual(text, leaf + inter)

    def test_second_run_is_a_no_op(self):
        before = (pki() / "root-ca.pem").stat().st_mtime_ns
        t0 = time.monotonic()
        subprocess.run([str(REPO / "scripts" / "gen-pki.sh"), str(pki())], check=True)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual((pki() / "root-ca.pem").stat().st_mtime_ns, before)
