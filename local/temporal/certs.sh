#!/usr/bin/env bash
# Test certificates (PEM, EC P-256), made fresh at test time with openssl, valid for 7 days:
#   ca.pem ca-key.pem                        the test CA
#   server.pem server-key.pem                localhost, 127.0.0.1, ::1; serverAuth + clientAuth
#                                            (the server's system workers present it under mTLS)
#   client.pem client-key.pem                CN tw-client, clientAuth          (signed by ca)
#   wrong-host.pem wrong-host-key.pem        only DNS wrong-host.invalid       (signed by ca)
#   other-ca.pem other-ca-key.pem            an unrelated CA, for negative tests
#   other-client.pem other-client-key.pem    CN tw-other-client, clientAuth    (signed by other-ca)
# Usage: local/temporal/certs.sh DIR
set -euo pipefail
dir=${1:?usage: certs.sh DIR}
command -v openssl >/dev/null || { echo "certs.sh: openssl is not installed" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
days=7

ca() { # name subject
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days -sha256 \
        -subj "$2" -keyout "$1-key.pem" -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # name signing-ca subject extensions
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" \
        -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' "$4" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -set_serial "0x$(openssl rand -hex 12)" \
        -days $days -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=tw test CA"
ca other-ca "/CN=tw other CA"
leaf server ca "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth,clientAuth"
leaf client ca "/CN=tw-client" "extendedKeyUsage=clientAuth"
leaf wrong-host ca "/CN=wrong-host.invalid" "subjectAltName=DNS:wrong-host.invalid
extendedKeyUsage=serverAuth,clientAuth"
leaf other-client other-ca "/CN=tw-other-client" "extendedKeyUsage=clientAuth"

openssl verify -CAfile ca.pem server.pem client.pem wrong-host.pem >/dev/null
openssl verify -CAfile other-ca.pem other-client.pem >/dev/null
