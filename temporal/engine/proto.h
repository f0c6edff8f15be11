/*
 * proto: short names for the generated Temporal API types (protobuf-c spells them out in
 * full). Only aliases; the generated headers stay the source of truth.
 */
#ifndef TW_PROTO_H
#define TW_PROTO_H

#include "temporal/api/workflowservice/v1/request_response.pb-c.h"

#define WFS(T) Temporal__Api__Workflowservice__V1__##T
#define WFS_DESC(t) temporal__api__workflowservice__v1__##t##__descriptor
#define PB_INIT(desc, msg) protobuf_c_message_init(&(desc), (msg))

typedef Temporal__Api__Common__V1__Payload pb_payload;
typedef Temporal__Api__Common__V1__Payloads pb_payloads;
typedef Temporal__Api__Common__V1__Payload__MetadataEntry pb_metadata_entry;
typedef Temporal__Api__Common__V1__WorkflowExecution pb_execution;
typedef Temporal__Api__Taskqueue__V1__TaskQueue pb_task_queue;
typedef Temporal__Api__History__V1__History pb_history;
typedef Temporal__Api__History__V1__HistoryEvent pb_event;
typedef Temporal__Api__Command__V1__Command pb_command;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentOptions pb_deployment_options;

#define TQ_KIND_NORMAL TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL
#define EV(name) TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##name
#define CMD(name) TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_##name

#endif
