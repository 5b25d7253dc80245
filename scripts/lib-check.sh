#!/bin/sh
# libcertgate linked alone (static and shared) judges the demo clients as the
# daemon does: exact reason code and exit status for each.
set -eu
build=${1:-build}
pki=$build/lib-check-pki
"$(dirname "$0")/gen-pki.sh" "$pki" >/dev/null
fail=0
for bin in "$build/examples/judge" "$build/examples/judge-shared"; do
    for case in "valid-client ClientCertificateOK 0" \
        "unregistered-client ClientCertificateIdentityNotMatched 1" \
        "expired-client ClientCertificateExpired 1" \
        "notyetvalid-client ClientCertificateNotYetValid 1" \
        "untrusted-client ClientCertificateNotTrusted 1"; do
        set -- $case
        want=$2
        [ "$want" = ClientCertificateOK ] && want=OK
        rc=0
        out=$("$bin" "$pki/root-ca.pem" "$pki/dev-intermediate.pem" "Valid Client" "$pki/$1.pem") || rc=$?
        if [ "${out%% *}" != "$want" ] || [ "$rc" != "$3" ]; then
            echo "lib-check: $bin $1: got '$out' (exit $rc), want $want (exit $3)" >&2
            fail=1
        fi
    done
done
# the shared library names its ABI (SONAME) and programs link against that name
soname=$(readelf -d "$build/libcertgate.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != libcertgate.so.0 ]; then
    echo "lib-check: libcertgate.so has SONAME '$soname', want libcertgate.so.0" >&2
    fail=1
fi
if ! readelf -d "$build/examples/judge-shared" | grep -q 'NEEDED.*\[libcertgate\.so\.0\]'; then
    echo "lib-check: judge-shared does not need libcertgate.so.0" >&2
    fail=1
fi
[ $fail = 0 ] && echo "lib-check: ok (static and shared libcertgate)"
exit $fail
