# shellcheck shell=bash
# lib-testbed.sh: helpers for shell tests that use the local S3 server.
#
#   . scripts/lib-testbed.sh
#   testbed_start            # scripts/s3-server start, then load DIR/env
#   s3_mb mybucket
#   s3_put ./file mybucket/some/key
#   s3_get mybucket/some/key ./copy
#   s3curl -I "$S3_ENDPOINT/mybucket/some/key"     # any signed request
#   n=$(s3_request_count 'PUT /mybucket/')           # requests seen by RGW
#   testbed_stop
#
# DIR is ${S3CSFS_TESTBED:-/tmp/s3csfs-testbed} unless given as argument.
#
# Notes on curl 7.88 (Debian 12) --aws-sigv4 against RGW, handled by s3curl:
#  - curl signs the SHA-256 of the body but sends no x-amz-content-sha256
#    header; RGW then assumes UNSIGNED-PAYLOAD and the signature does not
#    match.  s3curl sends "x-amz-content-sha256: UNSIGNED-PAYLOAD".
#  - curl does not sort or encode the query string when signing: write query
#    parameters already sorted by name, percent-encoded ("/" as %2F, space as
#    %20), and give valueless ones an "=" ("?uploads=", not "?uploads").
#  - curl sorts signed headers as whole "name:value" lines, so a header whose
#    name is a prefix of another one (x-amz-copy-source and
#    x-amz-copy-source-range) breaks the signature.
#  - Uploads must have a known length (-T FILE, --data-binary); chunked
#    uploads (-T -) get 411 MissingContentLength.

S3CSFS_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

testbed_dir() {
    echo "${1:-${S3CSFS_TESTBED:-/tmp/s3csfs-testbed}}"
}

# Start (or reuse) the server and export S3_* from its env file.
testbed_start() {
    local envfile
    envfile=$("$S3CSFS_SCRIPTS_DIR/s3-server" start "$(testbed_dir "${1:-}")") || return 1
    testbed_load "$(dirname "$envfile")"
}

# Export S3_* from DIR/env of a running server.
testbed_load() {
    local envfile
    envfile=$(testbed_dir "${1:-}")/env
    [ -r "$envfile" ] || { echo "lib-testbed: no $envfile" >&2; return 1; }
    # shellcheck source=/dev/null
    . "$envfile"
    export S3_ENDPOINT S3_REGION S3_ACCESS_KEY S3_SECRET_KEY S3_TESTBED
}

testbed_stop() {
    "$S3CSFS_SCRIPTS_DIR/s3-server" stop "$(testbed_dir "${1:-}")"
}

# curl with SigV4 signing for the test bed; extra arguments go to curl.
s3curl() {
    curl -sS --connect-timeout 5 --max-time "${S3CURL_MAX_TIME:-300}" \
        --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
        --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

s3_mb() {
    "$S3CSFS_SCRIPTS_DIR/s3-server" mb "$1" "${S3_TESTBED:-$(testbed_dir)}"
}

# s3_put FILE BUCKET/KEY  (key path segments must already be URL-safe)
s3_put() {
    local code
    code=$(s3curl -o /dev/null -w '%{http_code}' -T "$1" "$S3_ENDPOINT/$2") || return 1
    [ "$code" = 200 ] || { echo "s3_put $2: HTTP $code" >&2; return 1; }
}

# s3_get BUCKET/KEY OUTFILE
s3_get() {
    local code
    code=$(s3curl -o "$2" -w '%{http_code}' "$S3_ENDPOINT/$1") || { rm -f -- "$2"; return 1; }
    [ "$code" = 200 ] || { echo "s3_get $1: HTTP $code" >&2; rm -f -- "$2"; return 1; }
}

# Number of S3 requests RGW has logged so far (optionally only those whose
# request line contains PATTERN, e.g. 'PUT /bucket/' or 'GET /bucket?').
s3_request_count() {
    local log=${S3_TESTBED:-$(testbed_dir)}/radosgw.log
    if [ -n "${1:-}" ]; then
        grep ' beast: ' "$log" | grep -cF -- "\"$1" || true
    else
        grep -c ' beast: ' "$log" || true
    fi
}
