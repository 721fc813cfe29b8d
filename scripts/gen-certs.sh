#!/usr/bin/env bash
# gen-certs.sh: make test certificates for the TLS listeners (ssl, wss).
#
#   scripts/gen-certs.sh [-f] [-d DAYS] [DIR]
#
# Writes into DIR (default: configs/certs, which is where the shipped
# configs/manifold.yaml looks: certs/cert.pem relative to the config file):
#
#   cacert.pem                a test CA (the listeners' cacertfile)
#   cert.pem, key.pem         the server certificate for CN=localhost,
#                             SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   client-cert.pem,          a client certificate CN=device-1, for mTLS
#   client-key.pem            (verify: verify_peer)
#
# Idempotent: when every file is there, still valid for a day and chained to
# cacert.pem, nothing is done (exit 0). Otherwise, or with -f, the whole set
# is generated anew (a new CA too), so the files always belong together.
# Keys are EC P-256, certificates valid DAYS days (default 825).
#
# These are test certificates: never commit the generated keys.
# Needs openssl (Debian: apt-get install openssl).
set -euo pipefail

force=0
days=825
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while getopts "fd:h" opt; do
  case "$opt" in
    f) force=1 ;;
    d) days=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -gt 1 ]; then usage >&2; exit 2; fi
case "$days" in '' | *[!0-9]*) echo "gen-certs: -d wants a number of days, got '$days'" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/configs/certs}

command -v openssl >/dev/null || { echo "gen-certs: openssl not found (apt-get install openssl)" >&2; exit 1; }

files=(cacert.pem cert.pem key.pem client-cert.pem client-key.pem)

# valid: every file present, each certificate good for at least one more day
# and signed by the CA in the same directory.
valid() {
  local f
  for f in "${files[@]}"; do [ -s "$dir/$f" ] || return 1; done
  for f in cacert.pem cert.pem client-cert.pem; do
    openssl x509 -noout -checkend 86400 -in "$dir/$f" >/dev/null 2>&1 || return 1
  done
  openssl verify -CAfile "$dir/cacert.pem" "$dir/cert.pem" "$dir/client-cert.pem" >/dev/null 2>&1
}

if [ "$force" -eq 0 ] && valid; then
  echo "gen-certs: certificates in $dir are valid; nothing to do (-f regenerates)"
  exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.gen-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
umask 077

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 16)"; }

# The CA.
newkey "$tmp/ca-key.pem"
openssl req -x509 -new -key "$tmp/ca-key.pem" -sha256 -days "$days" \
  -subj "/O=Manifold Test/CN=Manifold Test CA" -set_serial "$(serial)" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out "$tmp/cacert.pem"

# sign NAME SUBJECT EXTENSIONS: a key NAME-key and a certificate NAME-cert
# signed by the CA.
sign() {
  newkey "$tmp/$1-key.pem"
  openssl req -new -key "$tmp/$1-key.pem" -subj "$2" -out "$tmp/$1.csr"
  printf '%s\n' "$3" >"$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/cacert.pem" -CAkey "$tmp/ca-key.pem" \
    -set_serial "$(serial)" -days "$days" -sha256 -extfile "$tmp/$1.ext" \
    -out "$tmp/$1-cert.pem" 2>/dev/null
}

sign server "/O=Manifold Test/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

sign client "/O=Manifold Test/CN=device-1" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

openssl verify -CAfile "$tmp/cacert.pem" "$tmp/server-cert.pem" "$tmp/client-cert.pem" >/dev/null

# Certificates are public; keys stay 0600. The CA key is not kept: a new set
# is generated whenever one is needed.
chmod 0644 "$tmp/cacert.pem" "$tmp/server-cert.pem" "$tmp/client-cert.pem"
mv -f "$tmp/cacert.pem" "$dir/cacert.pem"
mv -f "$tmp/server-cert.pem" "$dir/cert.pem"
mv -f "$tmp/server-key.pem" "$dir/key.pem"
mv -f "$tmp/client-cert.pem" "$dir/client-cert.pem"
mv -f "$tmp/client-key.pem" "$dir/client-key.pem"
echo "gen-certs: wrote ${files[*]} to $dir (valid $days days)"
