/*
 * connect: envconfig -> grpc_config. See connect.h.
 */
#define _GNU_SOURCE
#include "temporal/net/connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

int conn_split_address(const char *address, char *host, size_t hostlen, int *port)
{
    const char *colon;
    size_t hl;
    if (!address || !*address)
        return -1;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':')
            return -1;
        hl = (size_t)(close - address - 1);
        colon = close + 1;
        address++;
    } else {
        colon = strrchr(address, ':');
        if (!colon || memchr(address, ':', (size_t)(colon - address)))
            return -1;
        hl = (size_t)(colon - address);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || p < 1 || p > 65535)
        return -1;
    memcpy(host, address, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int conn_channel_open(const conn_config *cc, grpc_channel **out, char *err, size_t errlen)
{
    char host[256];
    int port;
    *out = NULL;
    if (conn_split_address(cc->address, host, sizeof(host), &port)) {
        snprintf(err, errlen, "TEMPORAL_ADDRESS: expected host:port, got \"%s\"",
                 cc->address ? cc->address : "");
        return -1;
    }
    if (cc->api_key && !cc->tls)
        log_warn("TLS is disabled explicitly: the API key is sent in plaintext to %s",
                 cc->address);
    grpc_header *headers = NULL;
    if (cc->nmeta) {
        headers = calloc(cc->nmeta, sizeof(*headers));
        if (!headers) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < cc->nmeta; i++)
            headers[i] = (grpc_header){cc->meta[i].key, cc->meta[i].value};
    }
    grpc_config g = {
        .host = host,
        .port = port,
        .authority = cc->authority,
        .tls = cc->tls,
        .tls_cfg = {.ca_pem = cc->server_ca, .ca_len = cc->server_ca_len,
                    .cert_pem = cc->client_cert, .cert_len = cc->client_cert_len,
                    .key_pem = cc->client_key, .key_len = cc->client_key_len,
                    .server_name = cc->server_name,
                    .skip_host_verification = cc->disable_host_verification},
        .namespace_name = cc->namespace_name,
        .api_key = cc->api_key,
        .headers = headers,
        .nheaders = cc->nmeta,
    };
    int rc = grpc_channel_new(out, &g, err, errlen);
    free(headers);
    return rc == GRPC_OK ? 0 : -1;
}
