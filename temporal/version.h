/*
 * version: the name and version this runtime gives itself to Temporal (the gRPC client-name and
 * client-version headers, and the sdk_metadata of every completed workflow task).
 */
#ifndef TW_VERSION_H
#define TW_VERSION_H

#define TW_SDK_NAME "temporal-lambda-c"
#define TW_SDK_VERSION "0.2.0"

#endif
