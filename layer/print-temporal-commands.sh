#!/usr/bin/env bash
# Prints the `temporal` CLI commands that make a stack deployed from layer/template.yaml a
# Worker Deployment Version Temporal invokes: create the deployment (once), create the version
# with the function's published version ARN, the role Temporal assumes and the external id,
# then make it current. Reads the stack's outputs from `aws cloudformation describe-stacks`
# (JSON); prints the commands, runs none of them.
#
# Given a stack name it also asks Lambda which build id the published version runs
# (TEMPORAL_WORKER_BUILD_ID in its configuration) and refuses when it is not the stack's
# BuildId: a deploy that changed only the BuildId parameter publishes no new version (see the
# template), and Temporal would invoke a version that polls as the old build.
#
# Usage: layer/print-temporal-commands.sh STACK_NAME [aws options, e.g. --region eu-west-1]
#        layer/print-temporal-commands.sh - <describe-stacks.json     (no Lambda check)
# Exit status 1 when an output is missing (a stack not made from this template, or not
# finished) or the version runs another build, 2 on a usage mistake.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 STACK_NAME [aws options] | $0 - <describe-stacks.json" >&2; exit 2; }
if [ "$1" = - ]; then
    json=$(cat)
    check=0
else
    command -v aws >/dev/null || { echo "print-temporal-commands: the aws CLI is not on PATH" >&2; exit 2; }
    json=$(aws cloudformation describe-stacks --stack-name "$1" "${@:2}" --output json)
    check=1
fi
# outputs MODE: reads the stack JSON; MODE fields prints the version ARN and the BuildId,
# MODE commands the temporal commands.
outputs() {
    printf '%s' "$json" | python3 -c '
import json, shlex, sys
def fail(msg):
    sys.exit("print-temporal-commands: " + msg)
try:
    stacks = json.load(sys.stdin).get("Stacks") or []
except (ValueError, AttributeError) as e:
    fail("not describe-stacks JSON: %s" % e)
if len(stacks) != 1:
    fail("expected one stack, got %d" % len(stacks))
outs = {o.get("OutputKey"): o.get("OutputValue") for o in stacks[0].get("Outputs") or []}
need = ["TemporalNamespace", "DeploymentName", "BuildId", "FunctionVersionArn",
        "InvocationRoleArn", "ExternalId"]
missing = [k for k in need if not outs.get(k)]
if missing:
    fail("the stack has no output %s (made from layer/template.yaml? status %s)"
         % (", ".join(missing), stacks[0].get("StackStatus", "unknown")))
if sys.argv[1] == "fields":
    print(outs["FunctionVersionArn"])
    print(outs["BuildId"])
    sys.exit(0)
q = {k: shlex.quote(outs[k]) for k in need}
print("# once per Worker Deployment (it fails harmlessly when the deployment exists)")
print("temporal worker deployment create --namespace %(TemporalNamespace)s --name %(DeploymentName)s" % q)
print("temporal worker deployment create-version --namespace %(TemporalNamespace)s \\" % q)
print("    --deployment-name %(DeploymentName)s --build-id %(BuildId)s \\" % q)
print("    --aws-lambda-function-arn %(FunctionVersionArn)s \\" % q)
print("    --aws-lambda-assume-role-arn %(InvocationRoleArn)s \\" % q)
print("    --aws-lambda-assume-role-external-id %(ExternalId)s" % q)
print("# no worker polls before Temporal invokes the function: allow that")
print("temporal worker deployment set-current-version --namespace %(TemporalNamespace)s \\" % q)
print("    --deployment-name %(DeploymentName)s --build-id %(BuildId)s --allow-no-pollers --yes" % q)
' "$1"
}
fields=$(outputs fields)
if [ "$check" = 1 ]; then
    version=$(sed -n 1p <<<"$fields")
    build=$(sed -n 2p <<<"$fields")
    runs=$(aws lambda get-function-configuration --function-name "$version" "${@:2}" \
           --query Environment.Variables.TEMPORAL_WORKER_BUILD_ID --output text) \
        || { echo "print-temporal-commands: aws lambda get-function-configuration failed" >&2; exit 1; }
    if [ "$runs" != "$build" ]; then
        echo "print-temporal-commands: $version runs build $runs, not the stack's BuildId $build:" \
             "the deploy published no new version (only the BuildId changed?); deploy the new" \
             "build's zip with it" >&2
        exit 1
    fi
fi
outputs commands
