#!/usr/bin/env bash
# Regenerates vectors.json with OpenSSL alone (no Python HMAC, no pyjwt, not the plugin's sign()):
# the session token (HS256 JWT) and X-Webchat-Signature of protocol v1, for the published test
# secret below.  Run: bash make_vectors.sh > vectors.json
# The provider of this channel is its own protocol (docs/webchat.md), so there is no provider's
# SDK to take vectors from: each vector's "provenance" is the documentation of the OpenSSL
# command that signs it (openssl dgst -mac HMAC -macopt key:/hexkey:), and anyone can check a
# vector by running this script with the secret below.
set -euo pipefail
SECRET="webchat-v1-test-vector-secret-0001"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
hmac_bin() { openssl dgst -sha256 -mac HMAC -macopt "$1" -binary; }
vector() {  # name sid account body
  local name=$1 sid=$2 account=$3 body=$4
  local header payload signing sig token fkey_hex frame_sig
  header=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iss":"omnisdk-webchat","aud":"webchat:%s","sid":"%s","iat":1767225600,"exp":4102444800}' "$account" "$sid" | b64url)
  signing="$header.$payload"
  sig=$(printf '%s' "$signing" | hmac_bin "key:$SECRET" | b64url)
  token="$signing.$sig"
  fkey_hex=$(printf 'webchat/v1 frame-key %s' "$sid" | hmac_bin "key:$SECRET" | od -An -tx1 | tr -d ' \n')
  frame_sig=$(printf '%s' "$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$fkey_hex" | sed 's/^.*= //')
  printf '{"name": "%s", "source": "omnisdk-webchat protocol v1 test vectors (docs/webchat.md): signed by OpenSSL %s with make_vectors.sh, independently of the plugin'"'"'s sign()", "provenance": {"url": "https://docs.openssl.org/3.0/man1/openssl-dgst/"}, "licence": "Apache-2.0 (omnisdk)", "settings": {"session_secret": "%s"}, "received_at": "2026-12-03T12:00:00Z", "headers": {"Authorization": "Bearer %s", "X-Webchat-Signature": "v1=%s"}, "body": %s}' \
    "$name" "$(openssl version | cut -d' ' -f2)" "$SECRET" "$token" "$frame_sig" "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
}
echo "["
vector openssl_text_message v_TestVectorSession0001 acme '{"v":1,"type":"message","session":"v_TestVectorSession0001","id":"c_0000000000000001","text":"Hello from the test vectors"}'
echo ","
vector openssl_read_receipt v_TestVectorSession0001 acme '{"v":1,"type":"receipt","session":"v_TestVectorSession0001","id":"c_0000000000000002","message_id":"wco_00000000000000000000000000000001","status":"read"}'
echo "]"
