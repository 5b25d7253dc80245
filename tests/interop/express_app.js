// An Express app in the style of seed 001 (App Service + Express middleware):
// a consumer of certgate's forwarded certificate that no one here wrote the
// parsing of. It reads X-ARR-ClientCert (base64 DER, as App Service sends it)
// or X-Client-Certificate (URL-encoded PEM, as Application Gateway's
// {var_client_certificate} sends it), parses it with Node's own
// crypto.X509Certificate, and allows by SHA-1 thumbprint or subject CN.
//
// Environment:
//   PORT    port to listen on (default 0: any free port)
//   HOST    address to listen on (default 127.0.0.1)
//   ALLOWED_CLIENT_CERT_COMMON_NAMES  comma-separated CNs
//   ALLOWED_CLIENT_CERT_THUMBPRINTS   comma-separated SHA-1 thumbprints (hex, any case)
//
// Once listening it prints one line, {"listening": PORT}, on stdout.
'use strict';

const crypto = require('crypto');
const express = require('express');

const app = express();
const port = Number(process.env.PORT || 0);
const host = process.env.HOST || '127.0.0.1';

const allowedCommonNames = new Set(
  (process.env.ALLOWED_CLIENT_CERT_COMMON_NAMES || 'api-client.contoso.com')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)
);
const allowedThumbprints = new Set(
  (process.env.ALLOWED_CLIENT_CERT_THUMBPRINTS || '')
    .split(',')
    .map((value) => value.trim().replace(/:/g, '').toUpperCase())
    .filter(Boolean)
);

// The PEM text of the forwarded certificate and the header it came from, or null.
function forwardedPem(req) {
  const arr = req.header('X-ARR-ClientCert');
  if (arr) {
    // App Service style: base64 DER on one line, wrapped in PEM markers as seed 001 does.
    const pem = ['-----BEGIN CERTIFICATE-----', arr, '-----END CERTIFICATE-----', ''].join('\n');
    return { pem, source: 'X-ARR-ClientCert' };
  }
  const escaped = req.header('X-Client-Certificate');
  if (escaped) {
    // Application Gateway style: the whole PEM percent-encoded as a URI component.
    return { pem: decodeURIComponent(escaped), source: 'X-Client-Certificate' };
  }
  return null;
}

function parseClientCertificate(req) {
  const forwarded = forwardedPem(req);
  if (!forwarded) {
    return null;
  }
  const certificate = new crypto.X509Certificate(forwarded.pem);
  const fingerprint = certificate.fingerprint.replace(/:/g, '').toUpperCase();
  const fingerprint256 = certificate.fingerprint256.replace(/:/g, '').toUpperCase();
  // Node separates the RDNs of .subject with newlines, not commas.
  const commonNameMatch = certificate.subject.match(/(?:^|\n)CN=([^,\n]+)/);
  const commonName = commonNameMatch ? commonNameMatch[1] : null;
  return {
    source: forwarded.source,
    fingerprint,
    fingerprint256,
    commonName,
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    validFrom: certificate.validFrom,
    validTo: certificate.validTo,
    // What the gateway in front said it saw, to compare with what we parsed.
    gateway: {
      verify: req.header('X-Client-Cert-Verify') || null,
      sha1: req.header('X-Client-Cert-SHA1') || null,
      subject: req.header('X-Client-Cert-Subject') || null,
    },
  };
}

function requireKnownClientCertificate(req, res, next) {
  if (req.path === '/health') {
    return next();
  }
  const clientCertificate = parseClientCertificate(req);
  if (!clientCertificate) {
    return res.status(403).json({ error: 'client certificate header missing' });
  }
  if (allowedThumbprints.size > 0 && allowedThumbprints.has(clientCertificate.fingerprint)) {
    req.clientCertificate = { ...clientCertificate, allowedBy: 'thumbprint' };
    return next();
  }
  if (clientCertificate.commonName && allowedCommonNames.has(clientCertificate.commonName)) {
    req.clientCertificate = { ...clientCertificate, allowedBy: 'cn' };
    return next();
  }
  return res.status(403).json({
    error: 'client certificate is not allowlisted',
    fingerprint: clientCertificate.fingerprint,
    commonName: clientCertificate.commonName,
  });
}

app.use(requireKnownClientCertificate);

app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});

app.get('/cert-info', (req, res) => {
  res.json(req.clientCertificate);
});

app.use((error, _req, res, _next) => {
  res.status(500).json({ error: error.message });
});

const server = app.listen(port, host, () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});

// The test runner stops us with SIGTERM: close the listener and exit 0.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
