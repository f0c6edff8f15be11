#!/usr/bin/env bash
# Generates protobuf-c code for the Temporal API messages the worker uses: the
# workflowservice request/response file and everything it imports, transitively.
# Usage: temporal/gen-protos.sh PROTO_ROOT OUT_DIR
set -euo pipefail
root=${1:?proto root}
out=${2:?output dir}
# google/protobuf/field_mask.proto is not in the package: Debian's protobuf headers have it.
sysinc=/usr/include
[ -f "$sysinc/google/protobuf/field_mask.proto" ] \
    || { echo "gen-protos: $sysinc/google/protobuf/field_mask.proto missing (install libprotobuf-dev)" >&2; exit 1; }
command -v protoc-c >/dev/null || { echo "gen-protos: protoc-c missing (install protobuf-c-compiler)" >&2; exit 1; }

declare -A seen=()
queue=(temporal/api/workflowservice/v1/request_response.proto)
files=()
while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    [ -n "${seen[$f]:-}" ] && continue
    seen[$f]=1
    files+=("$f")
    if [ -f "$root/$f" ]; then src="$root/$f"; else src="$sysinc/$f"; fi
    while read -r dep; do
        queue+=("$dep")
    done < <(sed -n 's/^import[[:space:]]*\(public[[:space:]]*\)\{0,1\}"\([^"]*\)";.*/\2/p' "$src")
done
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
protoc-c -I"$root" -I"$sysinc" --c_out="$out.tmp" "${files[@]}"
rm -rf "$out"
mv "$out.tmp" "$out"
printf '%s\n' "${files[@]}" >"$out/FILES"
