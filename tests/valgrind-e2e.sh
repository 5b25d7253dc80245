#!/bin/sh
# A representative subset of the e2e suite against certgate under valgrind (`make valgrind`).
#
#     tests/valgrind-e2e.sh [BUILD]        # BUILD holds certgate built without sanitizers
#                                          # (default build-valgrind)
#
# tests/e2e/harness.py has no wrapper hook, so tests/valgrind-certgate is passed as --binary:
# it execs valgrind on $BUILD/certgate with one log per process in $BUILD/vg-logs. Once the
# tests are done, every log must say "ERROR SUMMARY: 0" and lose nothing definitely or
# indirectly; a failing log is printed. Extra -k patterns on the command line after BUILD
# replace the default subset: tests/valgrind-e2e.sh build-valgrind RelayTest
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build-valgrind}
[ $# -gt 0 ] && shift
case $build in /*) ;; *) build=$repo/$build ;; esac
logdir=$build/vg-logs

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind-e2e: valgrind not found (apt-get install valgrind)" >&2
    exit 2
fi
if [ ! -x "$build/certgate" ]; then
    echo "valgrind-e2e: $build/certgate is missing; make valgrind builds it" >&2
    exit 2
fi

# One or two tests per area: TLS client auth and its verdicts, forwarding formats, relaying
# bodies and pooled backend connections, OCSP, backend pools, upstream TLS, the echo backend;
# then the header source, a policy matrix, and reloads (the old config must be freed).
if [ $# -gt 0 ]; then
    patterns="$*"
else
    patterns="
RequireModeTest.test_valid_client_reaches_backend_with_its_certificate
RequireModeTest.test_expired_client_gets_401_expired
RequireModeTest.test_no_certificate_gets_401_not_found
RequireAlertModeTest.test_untrusted_client_gets_unknown_ca_alert
RequestModeTest.test_bypass_route_passes_expired_client_with_failed_verdict
EchoBackendTest.test_echo_reports_method_target_and_identity
ForwardHeadersTest.test_identity_headers_equal_openssl_values
ForwardHeadersTest.test_chunked_request_body_is_forwarded_intact
ForwardConfigTest.test_two_forward_headers_are_both_sent
RelayTest.test_chunked_response_reaches_http11_client_chunked_and_connection_stays
RelayTest.test_stale_pooled_connection_is_retried_for_a_bodiless_request
RelayTest.test_garbage_status_line_gets_502
OcspDaemonTest.test_good_and_revoked_answers
OcspDaemonTest.test_responder_down_is_unknown_and_fails_closed
RetryTest.test_get_to_a_pool_with_a_refused_port_is_retried_on_the_other_server
HealthTest.test_no_healthy_server_gets_503_no_healthy_backend
UpstreamTlsTest.test_pem_identity_reaches_nginx
TimeoutAndWebSocketTest.test_websocket_echo_through_an_mtls_listener
ChainedGatewaysTest.test_auto_reads_every_format_a_gateway_in_front_may_send
ChainedGatewaysTest.test_forged_value_that_is_no_certificate_is_malformed
PolicyMatrixTest.test_require_mode_gives_every_demo_client_its_verdict
FailedReloadTest.test_broken_yaml_and_missing_certificate_change_nothing_and_are_reported
TicketKeysTest.test_key_file_is_read_again_on_reload
WatchTest.test_edited_config_file_applies_within_3s_without_sighup
"
fi
set --
for p in $patterns; do
    set -- "$@" -k "$p"
done

rm -rf "$logdir"
mkdir -p "$logdir"
export CERTGATE_VG_BINARY="$build/certgate" CERTGATE_VG_LOGDIR="$logdir"
# The harness gives slow (ASan) binaries 20 s instead of 10 to start and to stop; valgrind
# needs them too. Its sanitizer check reads stderr, where valgrind writes nothing (--log-file).
export CERTGATE_ASAN=1

python3 "$repo/tests/e2e/run.py" --binary "$repo/tests/valgrind-certgate" --quick "$@"
rc=$?

bad=0
logs=0
for f in "$logdir"/vg-*.log; do
    [ -e "$f" ] || continue
    logs=$((logs + 1))
    if grep -qE 'ERROR SUMMARY: [1-9]|(definitely|indirectly) lost: [1-9]' "$f"; then
        bad=$((bad + 1))
        echo "valgrind-e2e: errors in $f ($(sed -n 's/.*Command: //p' "$f" | head -n 1)):"
        head -n 300 "$f"
    elif ! grep -q 'ERROR SUMMARY' "$f"; then
        # killed before exiting (the harness's timeout): nothing to judge
        echo "valgrind-e2e: warning: $f has no summary (the process was killed)"
    fi
done
echo "valgrind-e2e: $logs valgrind logs in $logdir, $bad with errors; e2e exit status $rc"
[ "$logs" -gt 0 ] || { echo "valgrind-e2e: no valgrind log: did the tests run?" >&2; exit 1; }
[ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]
