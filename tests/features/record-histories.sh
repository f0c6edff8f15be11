#!/usr/bin/env bash
# Records replay fixtures from the feature scenarios: runs test_features (the scenarios the
# Makefile enables, or those in TW_FEATURES), whose checks save every workflow history they
# drove as a serialised temporal.api.history.v1.History, and copies them to tests/data/features/
# as AREA_NAME-K.history. Run after `make BUILD=... BUILD/tests/test_features` built everything
# test_features needs (bootstrap, lambda-emu, temporal-server, tw-driver).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
rm -rf "$B/features/histories"
BUILD=$B "$B/tests/test_features"
mkdir -p tests/data/features
cp "$B"/features/histories/*.history tests/data/features/
ls -l tests/data/features
