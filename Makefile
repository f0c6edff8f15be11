# One non-recursive Makefile. `make` builds build/bootstrap; `make test` runs every test;
# `make test SAN=1` runs the same tests built with AddressSanitizer + UBSan into build-san/.

# The architecture built for: this machine's (x86_64), or `make ARCH=arm64`, cross-built with
# Debian's cross compiler (TRIPLE-gcc) into build-arm64/ from deps cross-built apart
# (DEPS_CACHE/TRIPLE/). The sanitizer build and the tests run on this machine's architecture;
# the tests run the arm64 build under qemu (test_linkage, test_layer).
HOST_ARCH := $(patsubst aarch64,arm64,$(shell uname -m))
ARCH ?= $(HOST_ARCH)
TRIPLE_x86_64 = x86_64-linux-gnu
TRIPLE_arm64 = aarch64-linux-gnu
TRIPLE = $(TRIPLE_$(ARCH))
$(if $(TRIPLE),,$(error ARCH=$(ARCH): x86_64 or arm64))
ifneq ($(ARCH),$(HOST_ARCH))
CROSS = $(TRIPLE)
BUILD ?= build-$(ARCH)
ifeq ($(origin CC),default)
CC = $(CROSS)-gcc
endif
ifeq ($(origin AR),default)
AR = $(CROSS)-ar
endif
$(if $(filter 1,$(SAN)),$(error SAN=1 builds for this machine's architecture only))
endif

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS =
endif

# Pinned third-party libraries, built once into a cache outside the tree (deps/build.sh).
DEPS_CACHE ?= $(or $(TW_DEPS_CACHE),$(HOME)/.cache/tw-deps)
dep_prefix = $(DEPS_CACHE)$(if $(CROSS),/$(CROSS))/$(1)-$(shell awk '$$1=="$(1)"{print $$3}' deps/versions)
CURL_DIR := $(call dep_prefix,curl)
NGHTTP2_DIR := $(call dep_prefix,nghttp2)
PROTOBUFC_DIR := $(call dep_prefix,protobuf-c)
CJSON_DIR := $(call dep_prefix,cjson)
MBEDTLS_DIR := $(call dep_prefix,mbedtls)
DEP_DIRS := $(CURL_DIR) $(NGHTTP2_DIR) $(PROTOBUFC_DIR) $(CJSON_DIR) $(MBEDTLS_DIR)
DEPS_STAMPS := $(addsuffix /.built,$(DEP_DIRS))

CC ?= cc
STD = -std=c11
WARN = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-unused-parameter -Wformat=2
OPT = -O2 -ffunction-sections -fdata-sections
DEBUG = -g
DEP_CFLAGS = $(addprefix -I,$(addsuffix /include,$(DEP_DIRS)))
ALL_CFLAGS = $(STD) $(WARN) $(OPT) $(DEBUG) $(SANFLAGS) -I. -Iinclude -I$(GEN) $(DEP_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) -Wl,--gc-sections $(LDFLAGS)
DEP_LIBS = $(CURL_DIR)/lib/libcurl.a $(NGHTTP2_DIR)/lib/libnghttp2.a \
           $(PROTOBUFC_DIR)/lib/libprotobuf-c.a $(MBEDTLS_DIR)/lib/libmbedtls.a \
           $(MBEDTLS_DIR)/lib/libmbedx509.a $(MBEDTLS_DIR)/lib/libmbedcrypto.a \
           $(CJSON_DIR)/lib/libcjson.a
SYS_LIBS = -lpthread -ldl

# log.c starts the crash reporter's per-thread signal stack, so the two always link together.
LOG_SRC = runtime/log.c runtime/crash.c
RUNTIME_SRC = runtime/rt.c runtime/loop.c $(LOG_SRC)
NET_SRC = temporal/net/grpc.c temporal/net/h2.c temporal/net/grpc_wire.c temporal/net/transport.c \
          temporal/net/connect.c
TOML_SRC = temporal/config/toml.c temporal/config/toml_lex.c temporal/config/toml_tree.c
ENVCONFIG_SRC = temporal/config/envconfig.c temporal/config/envconfig_read.c
CONFIG_SRC = $(ENVCONFIG_SRC) $(TOML_SRC)
TEMPORAL_SRC = $(NET_SRC) $(CONFIG_SRC)
ENGINE_SRC = temporal/engine/wf.c temporal/engine/coro.c temporal/engine/arena.c \
             temporal/engine/payload.c
# The engine beyond the replay driver: history batches, the command tables, the calls code makes.
ENGINE_SRC += temporal/engine/history.c temporal/engine/cmd.c temporal/engine/wf_api.c
ENGINE_SRC += temporal/engine/dispatch.c temporal/engine/cancel.c temporal/engine/signal.c
ENGINE_SRC += temporal/engine/query.c temporal/engine/update.c
# ABI 1.2 (issue 12): child workflows, continue-as-new, markers, local activities, properties.
ENGINE_SRC += temporal/engine/child.c temporal/engine/can.c temporal/engine/marker.c \
              temporal/engine/local.c temporal/engine/props.c
WORKER_LAYER_SRC = temporal/worker/worker.c temporal/worker/wft.c temporal/worker/act.c \
                   temporal/worker/api.c temporal/worker/wfcache.c temporal/worker/wfpoll.c \
                   temporal/worker/la.c temporal/worker/codec.c
# Per-invocation metrics in CloudWatch Embedded Metric Format (temporal/worker/metrics.h).
WORKER_LAYER_SRC += temporal/worker/metrics.c runtime/emf.c

# Temporal's API protos (pinned npm package, cached) and the protobuf-c code made from them.
PROTOS_DIR := $(DEPS_CACHE)/temporal-protos-$(shell awk '$$1=="core-bridge"{print $$2}' deps/protos.version)
GEN = $(BUILD)/gen
PROTO_LIB = $(BUILD)/libtwproto.a
GEN_CFLAGS = -std=c11 -O2 -g -ffunction-sections -fdata-sections $(SANFLAGS) -I$(GEN) \
             -I$(PROTOBUFC_DIR)/include
# Everything a worker needs below the Lambda runtime (the tw_api table in api.c refers to all of
# it, so a test that loads a user library links this).
WORKER_SRC = $(WORKER_LAYER_SRC) $(ENGINE_SRC) temporal/config/settings.c registry/reg.c \
             $(TEMPORAL_SRC) $(LOG_SRC)
BOOTSTRAP_SRC = bootstrap.c function.c check.c $(WORKER_SRC) runtime/rt.c runtime/loop.c
EMU_SRC = local/emu/main.c local/emu/http.c local/emu/env.c local/emu/invoke.c
TEST_BOOTSTRAP_SRC = bootstrap.c tests/support/test_handler.c $(RUNTIME_SRC)
TEST_SUPPORT_SRC = tests/support/harness.c tests/support/tserver.c tests/support/flow.c
UNIT_TESTS = test_rt test_grpc_wire test_grpc test_reg test_toml test_config test_settings test_coro \
             test_wf test_log
INTEGRATION_TESTS = test_linkage test_emulator test_emulator_http test_temporal test_worker \
                    test_serverless test_invocations test_stallproxy test_crash
INTEGRATION_TESTS += test_wf_semantics
INTEGRATION_TESTS += test_contract
INTEGRATION_TESTS += test_chaos
# The stalling TCP proxy for tests that need a misbehaving network (tests/support/stallproxy.h).
STALLPROXY_SRC = tests/support/stallproxy.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all test unit integration deps clean layer demo bench
all: $(BUILD)/bootstrap

# The system packages (and deb-src entries, Go, npm) a fresh Debian machine lacks, installed
# once by deps/system.sh: what the build needs before anything is built, what the tests need
# before a test is compiled. Each stamp is redone when the script changes (a fresh clone: one
# quick check that installs nothing when everything is there).
SYSTEM_BUILD := $(DEPS_CACHE)/system-build.stamp
SYSTEM_TEST := $(DEPS_CACHE)/system-test.stamp
$(SYSTEM_BUILD) $(SYSTEM_TEST): $(DEPS_CACHE)/system-%.stamp: deps/system.sh deps/apt-sources.sh
	@mkdir -p $(dir $@)
	@bash deps/system.sh $*
	@touch $@

deps: $(DEPS_STAMPS)
$(DEPS_STAMPS) &: deps/build.sh deps/versions | $(SYSTEM_BUILD)
	bash deps/build.sh $(DEPS_CACHE) $(CROSS)

$(PROTOS_DIR)/.done: deps/protos.sh deps/protos.version | $(SYSTEM_BUILD)
	bash deps/protos.sh $(DEPS_CACHE) >/dev/null

$(GEN)/.stamp: $(PROTOS_DIR)/.done temporal/gen-protos.sh
	bash temporal/gen-protos.sh $(PROTOS_DIR) $(GEN)
	touch $@

# Generated code is compiled apart: its own flags (-std=c11: a field is named `linux`).
$(PROTO_LIB): $(GEN)/.stamp | $(DEPS_STAMPS)
	@rm -rf $(BUILD)/genobj && mkdir -p $(BUILD)/genobj
	cd $(GEN) && find . -name '*.pb-c.c' | sed 's|^\./||' | \
	    xargs -P $$(nproc) -I{} sh -c 'mkdir -p $(CURDIR)/$(BUILD)/genobj/$$(dirname {}) && \
	    $(CC) $(GEN_CFLAGS) -I$(CURDIR)/$(GEN) -c {} -o $(CURDIR)/$(BUILD)/genobj/{}.o'
	rm -f $@ && find $(BUILD)/genobj -name '*.o' | xargs $(AR) rcs $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMPS) $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
# Tests include cmocka and run nghttpd, debootstrap's root and clang's libFuzzer.
$(BUILD)/obj/tests/%.o: tests/%.c | $(DEPS_STAMPS) $(GEN)/.stamp $(SYSTEM_TEST)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The shipped runtime also runs on glibc 2.26 (provided.al2): see runtime/glibc_compat.c.
COMPAT_SYMS = __libc_start_main dlopen dlsym dlclose dlerror dladdr pthread_create pthread_join \
              pthread_detach pthread_condattr_setclock pthread_key_create pthread_setspecific \
              pthread_once stat fstat
COMPAT_LINK = $(addprefix -Wl$(comma)--wrap=,$(COMPAT_SYMS)) -Wl,--no-as-needed \
              -l:libdl.so.2 -l:libpthread.so.0 -Wl,--as-needed
ifeq ($(SAN),1)
COMPAT_SRC =
COMPAT_LDFLAGS =
else
COMPAT_SRC = runtime/glibc_compat.c
COMPAT_LDFLAGS = $(COMPAT_LINK)
endif
comma := ,

$(BUILD)/bootstrap: $(call obj,$(BOOTSTRAP_SRC) $(COMPAT_SRC)) $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) $(COMPAT_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS)

$(BUILD)/test-bootstrap: $(call obj,$(TEST_BOOTSTRAP_SRC))
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS)

$(BUILD)/lambda-emu: $(call obj,$(EMU_SRC))
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CJSON_DIR)/lib/libcjson.a -lm

# ---- Test programs ----
# A test <name> in UNIT_TESTS or INTEGRATION_TESTS is tests/unit/<name>.c or
# tests/integration/<name>.c linked with the project and support sources in TEST_SRC_<name>;
# the generated protobuf code, the pinned deps and cmocka are always on the link line (the
# linker takes only what is used). Anything else a test needs built first (libraries it loads)
# is a prerequisite line of its own, `$(BUILD)/tests/<name>: ...`. The rules are made by
# test_rule at the end of this file, once every list is known.
TEST_SRC_test_rt = $(RUNTIME_SRC)
TEST_SRC_test_log = $(LOG_SRC)
TEST_SRC_test_grpc = $(TEMPORAL_SRC) $(LOG_SRC)
TEST_SRC_test_grpc_wire = temporal/net/grpc_wire.c
TEST_SRC_test_temporal = $(TEST_SUPPORT_SRC) $(TEMPORAL_SRC) $(LOG_SRC)
TEST_SRC_test_emulator = $(TEST_SUPPORT_SRC) tests/support/emu_fixture.c
TEST_SRC_test_emulator_http = $(TEST_SUPPORT_SRC) tests/support/emu_fixture.c
TEST_SRC_test_stallproxy = $(STALLPROXY_SRC)
TEST_SRC_test_linkage = $(TEST_SUPPORT_SRC)

# The real Temporal server and the Go SDK driver, built from Temporal's Go modules (cached).
TEMPORAL_BINS = $(BUILD)/temporal-server $(BUILD)/tw-driver
$(TEMPORAL_BINS) &: local/temporal/go.mod local/temporal/go.sum local/temporal/build.sh \
                    $(wildcard local/temporal/server/*.go local/temporal/driver/*.go) | $(SYSTEM_BUILD)
	bash local/temporal/build.sh $(DEPS_CACHE) $(BUILD)

# Shared objects the registry tests load (real libraries, each wrong in one way).
FIXTURE_LIBS = $(addprefix $(BUILD)/fixtures/,lib_good.so lib_twice.so lib_empty.so \
               lib_noentry.so lib_newabi.so lib_newminor.so lib_noversioning.so \
               lib_changing_v1.so lib_changing_v2.so lib_missing_activity.so \
               lib_overrun_activity.so lib_crash.so)
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_semantics.so
FIXTURE_LIBS += $(BUILD)/fixtures/lib_contract.so
FIXTURE_LIBS += $(BUILD)/fixtures/lib_chaos.so
FIXTURE_LIBS += $(BUILD)/fixtures/lib_misc.so
FIXTURES = $(FIXTURE_LIBS) $(BUILD)/fixtures/lib_arm64.so $(BUILD)/fixtures/not_elf.so \
           $(BUILD)/fixtures/an_executable $(BUILD)/fixtures/initfini-probe
$(BUILD)/fixtures/%.so: tests/fixtures/%.c include/tw.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -O2 -fPIC -shared -fvisibility=hidden -Iinclude -o $@ $<
$(BUILD)/fixtures/lib_arm64.so: $(BUILD)/fixtures/lib_good.so
	cp $< $@ && printf '\267\000' | dd of=$@ bs=1 seek=18 conv=notrunc status=none
$(BUILD)/fixtures/not_elf.so:
	@mkdir -p $(dir $@)
	echo 'this is not a library' >$@
$(BUILD)/fixtures/an_executable: tests/fixtures/lib_noentry.c
	@mkdir -p $(dir $@)
	printf 'int main(void){return 0;}\n' | $(CC) -x c -no-pie -o $@ -
# Linked as the shipped bootstrap is (unsanitized, in the sanitizer run too): its constructors
# and destructors must run once on this glibc and on an older one (test_linkage).
$(BUILD)/fixtures/initfini-probe: tests/fixtures/initfini_probe.c runtime/glibc_compat.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -O2 $(COMPAT_LINK) -o $@ $^

TEST_SRC_test_toml = $(TOML_SRC)
TEST_SRC_test_config = $(ENVCONFIG_SRC) $(TOML_SRC) tests/support/config_fixture.c
UNIT_TESTS += test_config_values
TEST_SRC_test_config_values = $(ENVCONFIG_SRC) $(TOML_SRC) tests/support/config_fixture.c
TEST_SRC_test_settings = temporal/config/settings.c
TEST_SRC_test_coro = temporal/engine/coro.c
TEST_SRC_test_wf = $(WORKER_SRC) tests/support/harness.c
# Histories built event by event (tests/support/wf_build.c) through lib_wf_semantics.
UNIT_TESTS += test_wf_built test_wf_unreadable
TEST_SRC_test_wf_built = tests/support/wf_build.c $(WORKER_SRC) tests/support/harness.c
TEST_SRC_test_wf_unreadable = tests/support/wf_build.c $(WORKER_SRC) tests/support/harness.c
TEST_SRC_test_reg = $(WORKER_SRC) tests/support/harness.c

# Example libraries, built the way users build theirs (only include/tw.h).
EXAMPLES = $(addprefix $(BUILD)/examples/lib,$(addsuffix .so,hello timers retry heartbeat cart))
# A parent with children that continues as new (examples/family): issue 12's example.
EXAMPLES += $(BUILD)/examples/libfamily.so
$(BUILD)/examples/lib%.so: examples/%/worker.c include/tw.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection \
	    -Iinclude -o $@ $<

# ---- C++ users (issue 14) ----
# A user library in C++ (examples/cxx), built as the SDK's Makefile (layer/sdk/Makefile) builds
# one: the C++ runtime linked in statically with its symbols kept inside, and
# layer/sdk/cxx_compat.c for the glibc symbols it needs that are newer than 2.26. Built for this
# machine's architecture only (deps/system.sh installs no C++ cross compiler; test_sdk
# builds and runs an arm64 one through the SDK's Makefile when g++-aarch64-linux-gnu is there).
CXX_FOR = $(if $(CROSS),$(CROSS)-g++,$(CXX))
CXX_LIB_FLAGS = -std=c++17 -Wall -Wextra -O2 -fPIC -shared -fvisibility=hidden \
                -fvisibility-inlines-hidden -fstack-clash-protection -Iinclude
CXX_LIB_LINK = -static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL -Wl,--no-undefined \
               -Wl,--wrap=pthread_once -Wl,--wrap=__pthread_key_create \
               -Wl,--no-as-needed -l:libpthread.so.0 -Wl,--as-needed
$(BUILD)/examples/cxx_compat.o: layer/sdk/cxx_compat.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -fPIC -fvisibility=hidden -c -o $@ $<
$(BUILD)/examples/libcxx.so: examples/cxx/worker.cpp examples/cxx/twpp.hpp include/tw.h \
                             $(BUILD)/examples/cxx_compat.o
	$(CXX_FOR) $(CXX_LIB_FLAGS) -o $@ $< $(BUILD)/examples/cxx_compat.o $(CXX_LIB_LINK)
# tw.h as C++ and as strict C, the same struct layout in both, the C++ example's linkage
# (tests/integration/test_cxx.c: it runs the compilers itself).
INTEGRATION_TESTS += test_cxx
TEST_SRC_test_cxx = tests/support/harness.c
$(BUILD)/tests/test_cxx: $(BUILD)/examples/libcxx.so
# The C++ example end to end (tests/integration/test_example_cxx.c): under the emulator, the
# real server, the Go driver; and from a Debian bullseye root (glibc 2.31).
INTEGRATION_TESTS += test_example_cxx
TEST_SRC_test_example_cxx = $(TEST_SUPPORT_SRC)
$(BUILD)/tests/test_example_cxx: $(BUILD)/examples/libcxx.so
# The SDK archive's Makefile template, layer/sdk/Makefile (tests/integration/test_sdk.c):
# unpacked from $(LAYERS)'s temporal-lambda-c-sdk.tar.gz (`make layer`), it builds the hello
# and C++ examples, which run end to end, and refuses a library needing a glibc newer than 2.26.
INTEGRATION_TESTS += test_sdk
TEST_SRC_test_sdk = $(TEST_SUPPORT_SRC)

TEST_SRC_test_invocations = $(TEST_SUPPORT_SRC) $(WORKER_SRC)
TEST_SRC_test_serverless = $(TEST_SUPPORT_SRC)
TEST_SRC_test_worker = $(TEST_SUPPORT_SRC)
TEST_SRC_test_wf_semantics = $(TEST_SUPPORT_SRC)
TEST_SRC_test_contract = $(TEST_SUPPORT_SRC) $(STALLPROXY_SRC)
TEST_SRC_test_crash = $(TEST_SUPPORT_SRC)
TEST_SRC_test_chaos = $(TEST_SUPPORT_SRC) $(STALLPROXY_SRC)

# ---- Temporal's feature suite (tests/features/README.md) ----
# A scenario AREA/NAME is tests/features/AREA/NAME/feature.c, built like a user library into
# $(BUILD)/features/AREA/NAME.so; test_features runs each scenario listed in FEATURES through
# the driver's check (`tw-driver feature --name AREA/NAME`), reading the list from
# $(BUILD)/features/enabled. A scenario joins FEATURES once the runtime has what it uses.
FEATURES = activity/basic_no_workflow_timeout activity/heartbeating activity/running_concurrently \
           activity/retry_on_error \
           activity/cancel_try_cancel activity/cancel_wait_cancel activity/cancel_abandon \
           signal/basic signal/activities signal/external signal/prevent_close \
           signal/signal_with_start signal/workflow_to_workflow \
           child_workflow/cancel_abandon child_workflow/cancel_try_cancel \
           child_workflow/cancel_wait_completed child_workflow/cancel_wait_requested
FEATURES += query/successful_query query/timeout_due_to_no_active_workers \
            query/unexpected_arguments query/unexpected_query_type_name \
            query/unexpected_return_type \
            update/activities update/async_accepted update/basic update/basic_async \
            update/client_interceptor update/deduplication update/non_durable_reject \
            update/self update/task_failure update/validation_replay update/worker_restart
# Issue 12's areas, one variable each (so their owners edit different lines).
FEATURES_CHILD = child_workflow/result child_workflow/signal child_workflow/start \
                 child_workflow/handle child_workflow/retry child_workflow/throws_on_execute \
                 child_workflow/throws_on_start child_workflow/throws_on_termination \
                 child_workflow/throws_on_timeout signal/child_workflow
FEATURES_CAN = continue_as_new/continue_as_same continue_as_new/signals_block_continue_as_new \
               continue_as_new/updates_do_not_block_continue_as_new
FEATURES_MARKER = search_attributes/set search_attributes/upsert search_attributes/memo_header \
                  search_attributes/change_version
FEATURES_LOCAL = local_activity/complete_immediately local_activity/serial \
                 local_activity/concurrent local_activity/retry_on_error \
                 local_activity/non_retryable_error_from_activity \
                 local_activity/non_retryable_error_in_options \
                 local_activity/one_success_one_fail local_activity/backoff_with_persistent_timer \
                 local_activity/complete_eventually local_activity/cancel_try_cancel \
                 local_activity/cancel_wait_completed local_activity/cancel_abandon \
                 local_activity/cancel_failing local_activity/shutdown_sends_cancellation \
                 local_activity/complete_after_shutdown
FEATURES_CODEC = data_converter/binary data_converter/json data_converter/empty \
                 data_converter/failure data_converter/codec
FEATURES_MISC = activity/shutdown worker_shutdown/poll_complete_on_shutdown \
                eager_workflow/successful_start
FEATURES += $(FEATURES_CHILD) $(FEATURES_CAN) $(FEATURES_MARKER) $(FEATURES_LOCAL) \
            $(FEATURES_CODEC) $(FEATURES_MISC)
# The payload codec (temporal/worker/codec.c): its walk on messages built in the test.
UNIT_TESTS += test_codec
TEST_SRC_test_codec = temporal/worker/codec.c temporal/engine/arena.c $(LOG_SRC)
# ... and on the data_converter scenarios' recorded histories (tests/data/features/).
UNIT_TESTS += test_codec_replay
TEST_SRC_test_codec_replay = $(WORKER_SRC) tests/support/harness.c
$(BUILD)/tests/test_codec_replay: $(BUILD)/features/data_converter/codec.so \
                                  $(BUILD)/features/data_converter/failure.so
# The codec example (examples/codec: two sources, its own AES-256-GCM) end to end
# (tests/integration/test_example_codec.c), its payloads read by the driver with the same key.
EXAMPLES += $(BUILD)/examples/libcodec.so
$(BUILD)/examples/libcodec.so: examples/codec/worker.c examples/codec/aes256gcm.c \
                               examples/codec/aes256gcm.h include/tw.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection \
	    -Iinclude -o $@ examples/codec/worker.c examples/codec/aes256gcm.c
INTEGRATION_TESTS += test_example_codec
TEST_SRC_test_example_codec = $(TEST_SUPPORT_SRC)
$(BUILD)/tests/test_example_codec: $(BUILD)/examples/libcodec.so
FEATURE_LIBS = $(addprefix $(BUILD)/features/,$(addsuffix .so,$(FEATURES)))
$(BUILD)/features/%.so: tests/features/%/feature.c tests/features/feature.h include/tw.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Wno-unused-parameter -O2 -fPIC -shared -fvisibility=hidden \
	    -fstack-clash-protection -Iinclude -Itests/features -o $@ $<
$(BUILD)/features/enabled: Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' $(FEATURES) >$@
INTEGRATION_TESTS += test_features
TEST_SRC_test_features = $(TEST_SUPPORT_SRC)
$(BUILD)/tests/test_features: $(FEATURE_LIBS) $(BUILD)/features/enabled

# The engine's coroutines, cancellation and signals (tests/unit/test_wf_machines.c) on
# histories built the server's way (tests/support/wf_hist.c), through lib_wf_talk.c.
# Cancellation, signals and failures have their own files (test_wf_cancel.c, test_wf_signals.c,
# test_wf_failures.c), sharing tests/support/wf_answer.c.
UNIT_TESTS += test_wf_machines test_wf_cancel test_wf_signals test_wf_failures
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_talk.so
WF_TALK_SRC = tests/support/wf_hist.c tests/support/wf_shadow.c tests/support/wf_answer.c $(WORKER_SRC) tests/support/harness.c
TEST_SRC_test_wf_machines = $(WF_TALK_SRC)
TEST_SRC_test_wf_cancel = $(WF_TALK_SRC)
TEST_SRC_test_wf_signals = $(WF_TALK_SRC)
TEST_SRC_test_wf_failures = $(WF_TALK_SRC)

# Continue-as-new and the workflow's info (tests/unit/test_wf_can.c) on built histories,
# through lib_wf_can.c.
UNIT_TESTS += test_wf_can
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_can.so
TEST_SRC_test_wf_can = $(WF_TALK_SRC)
$(BUILD)/tests/test_wf_can: $(filter $(BUILD)/features/continue_as_new/%,$(FEATURE_LIBS))
# End to end (tests/integration/test_can_talk.c): lib_wf_can under the emulator, the real
# server, the Go driver; two functions (versions b1, b2) for continue-as-new onto a new version.
INTEGRATION_TESTS += test_can_talk
TEST_SRC_test_can_talk = $(TEST_SUPPORT_SRC)
# The deployment_versioning/ scenarios need two worker versions at once: not in FEATURES
# (test_features serves one function), run by tests/integration/test_versioning.c.
VERSIONING_FEATURES = deployment_versioning/routing_pinned deployment_versioning/routing_auto_upgrade \
                      deployment_versioning/routing_with_override deployment_versioning/routing_with_ramp \
                      deployment_versioning/upgrade_on_continue_as_new
INTEGRATION_TESTS += test_versioning
TEST_SRC_test_versioning = $(TEST_SUPPORT_SRC)
$(BUILD)/tests/test_versioning: $(addprefix $(BUILD)/features/,$(addsuffix .so,$(VERSIONING_FEATURES)))

# End to end (tests/integration/test_wf_talk.c): lib_wf_talk under the emulator, the real
# server, the Go driver.
INTEGRATION_TESTS += test_wf_talk
TEST_SRC_test_wf_talk = $(TEST_SUPPORT_SRC)

# Queries and updates in the engine (tests/unit/test_wf_handlers.c) on built histories and
# histories recorded from the real server (tests/data/handlers-*.history), through
# lib_wf_handlers.c.
UNIT_TESTS += test_wf_handlers
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_handlers.so
TEST_SRC_test_wf_handlers = tests/support/wf_hist.c tests/support/wf_shadow.c $(WORKER_SRC) tests/support/harness.c
# It also replays the histories of the query/ and update/ feature scenarios (tests/data/features/)
# with their libraries.
$(BUILD)/tests/test_wf_handlers: $(filter $(BUILD)/features/query/% $(BUILD)/features/update/%,\
                                          $(FEATURE_LIBS))
# Child workflows in the engine (tests/unit/test_wf_child.c) on built histories, through
# lib_wf_child.c.
UNIT_TESTS += test_wf_child
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_child.so
TEST_SRC_test_wf_child = $(WF_TALK_SRC)
# It also replays the histories of the child_workflow/ feature scenarios (tests/data/features/)
# with their libraries.
$(BUILD)/tests/test_wf_child: $(filter $(BUILD)/features/child_workflow/% \
                                        $(BUILD)/features/signal/child_workflow.so,$(FEATURE_LIBS))
# Side effects, mutable side effects and patches (tests/unit/test_wf_marker.c), search
# attributes, memo and headers (tests/unit/test_wf_props.c) in the engine, on built histories
# and histories recorded from the real server (tests/data/marker-*.history), through
# lib_wf_marker.c.
UNIT_TESTS += test_wf_marker test_wf_props
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_marker.so
TEST_SRC_test_wf_marker = $(WF_TALK_SRC)
TEST_SRC_test_wf_props = $(WF_TALK_SRC)
$(BUILD)/tests/test_wf_marker: $(addprefix $(BUILD)/features/search_attributes/,\
                                 set.so upsert.so memo_header.so change_version.so)
# Local activities in the engine (tests/unit/test_wf_local.c) on built histories, played live on
# a kept run and replayed, through lib_wf_local.c; it also replays the histories of the
# local_activity/ feature scenarios (tests/data/features/) with their libraries.
UNIT_TESTS += test_wf_local
FIXTURE_LIBS += $(BUILD)/fixtures/lib_wf_local.so
TEST_SRC_test_wf_local = $(WF_TALK_SRC)
$(BUILD)/tests/test_wf_local: $(filter $(BUILD)/features/local_activity/%,$(FEATURE_LIBS))
# Local activities at the Lambda deadline end to end (tests/integration/test_local_activity.c):
# lib_wf_local under the emulator, the real server, the Go driver.
INTEGRATION_TESTS += test_local_activity
TEST_SRC_test_local_activity = $(TEST_SUPPORT_SRC)
# Sticky execution in the engine (tests/unit/test_wf_exec.c): runs kept between tasks answer as
# full replays of every recorded history (tests/support/wf_shadow.c, also behind wf_hist.c).
UNIT_TESTS += test_wf_exec
TEST_SRC_test_wf_exec = tests/support/wf_hist.c tests/support/wf_shadow.c $(WORKER_SRC) tests/support/harness.c
$(BUILD)/tests/test_wf_exec: $(filter $(BUILD)/features/query/% $(BUILD)/features/update/%,\
                                       $(FEATURE_LIBS))
# The worker's workflow cache (tests/unit/test_wfcache.c): eviction, held runs, waiting.
UNIT_TESTS += test_wfcache
TEST_SRC_test_wfcache = tests/support/wf_hist.c tests/support/wf_shadow.c $(WORKER_SRC) tests/support/harness.c
# Sticky execution end to end (tests/integration/test_sticky.c): kept runs, the sticky queue
# given back at the stop, evictions, through the emulator, the real server, the Go driver.
INTEGRATION_TESTS += test_sticky
TEST_SRC_test_sticky = $(TEST_SUPPORT_SRC)
# End to end (tests/integration/test_wf_handlers_talk.c): lib_wf_handlers under the emulator,
# the real server, the Go driver's updates and queries.
INTEGRATION_TESTS += test_wf_handlers_talk
TEST_SRC_test_wf_handlers_talk = $(TEST_SUPPORT_SRC)
# The cart example end to end (tests/integration/test_example_cart.c): examples/cart under the
# emulator, the real server, the Go driver.
INTEGRATION_TESTS += test_example_cart
TEST_SRC_test_example_cart = $(TEST_SUPPORT_SRC)
# The family example end to end (tests/integration/test_example_family.c): examples/family under
# the emulator, the real server, the Go driver.
INTEGRATION_TESTS += test_example_family
TEST_SRC_test_example_family = $(TEST_SUPPORT_SRC)
# Async activity completion, dynamic workflows and activities, stop hooks end to end
# (tests/integration/test_async_dynamic.c, test_stop_hooks.c): lib_misc under the emulator, the
# real server, the Go driver completing activities by their task token.
INTEGRATION_TESTS += test_async_dynamic test_stop_hooks
TEST_SRC_test_async_dynamic = $(TEST_SUPPORT_SRC)
TEST_SRC_test_stop_hooks = $(TEST_SUPPORT_SRC)
# `bootstrap --check` (check.h) end to end (tests/integration/test_check.c): the shipped
# bootstrap run by hand against the real server (with --api-key), the emulator answering the
# server's GetFunction for compute configs, the driver making the Worker Deployments.
INTEGRATION_TESTS += test_check
TEST_SRC_test_check = $(TEST_SUPPORT_SRC) $(STALLPROXY_SRC) check.c $(WORKER_SRC)
# Metrics (tests/unit/test_emf.c: the EMF line against the specification; the log's trace id)
# and end to end (tests/integration/test_metrics.c: hello under the emulator, the real server).
UNIT_TESTS += test_emf
TEST_SRC_test_emf = runtime/emf.c temporal/worker/metrics.c temporal/config/settings.c $(LOG_SRC)
INTEGRATION_TESTS += test_metrics
TEST_SRC_test_metrics = $(TEST_SUPPORT_SRC)

TEST_BINS = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS) $(INTEGRATION_TESTS))
TEST_BINS += $(FUZZ_REPLAYS)

# An older glibc to run bootstrap on (Debian bullseye, cached; needs root).
OLDROOT := $(DEPS_CACHE)/bullseye-root
$(OLDROOT)/.done: deps/oldroot.sh | $(SYSTEM_TEST)
	bash deps/oldroot.sh $(DEPS_CACHE) >/dev/null

# The older-glibc test runs the shipped (unsanitized) bootstrap, also in the sanitizer run: it is
# built in the folder of the normal build (build-san -> build, build-x-san -> build-x; another
# sanitizer folder gets a -shipped sibling).
ifeq ($(SAN),1)
SHIPPED_BUILD = $(if $(filter %-san,$(BUILD)),$(patsubst %-san,%,$(BUILD)),$(BUILD)-shipped)
SHIPPED_BOOTSTRAP = $(SHIPPED_BUILD)/bootstrap
shipped_bootstrap:
	$(MAKE) SAN=0 BUILD=$(SHIPPED_BUILD) $(SHIPPED_BOOTSTRAP)
else
SHIPPED_BOOTSTRAP = $(BUILD)/bootstrap
shipped_bootstrap: $(BUILD)/bootstrap
endif
.PHONY: shipped_bootstrap

test: $(TEST_BINS) $(FIXTURES) $(EXAMPLES) $(BUILD)/bootstrap $(BUILD)/test-bootstrap $(BUILD)/lambda-emu $(TEMPORAL_BINS) $(OLDROOT)/.done shipped_bootstrap
	BUILD=$(BUILD) OLDROOT=$(OLDROOT) SHIPPED_BOOTSTRAP=$(SHIPPED_BOOTSTRAP) bash tests/run.sh $(TEST_BINS)

# ---- arm64 (Graviton) ----
# The arm64 build beside this one (build -> build-arm64, build-x -> build-x-arm64; a sanitizer
# run uses its shipped build's), made by a make of its own with the cross compiler named
# outright (a CC given for this build must not reach it): what the layer and the tests need.
# The build machine is x86_64.
ARM64_BUILD = $(or $(SHIPPED_BUILD),$(BUILD))-arm64
ARM64_ARGS = ARCH=arm64 SAN=0 CC=$(TRIPLE_arm64)-gcc AR=$(TRIPLE_arm64)-ar BUILD=$(ARM64_BUILD)
arm64_build: | $(SYSTEM_BUILD)
	$(MAKE) $(ARM64_ARGS) $(addprefix $(ARM64_BUILD)/,bootstrap fixtures/initfini-probe \
	    $(patsubst $(BUILD)/%,%,$(EXAMPLES)))
.PHONY: arm64_build
# `make ARCH=arm64` builds the examples too: nothing else here makes them for arm64.
ifneq ($(CROSS),)
all: $(EXAMPLES)
endif

# What users deploy, per architecture, in $(BUILD): layer-x86_64.zip and layer-arm64.zip
# (bootstrap), function-x86_64.zip and function-arm64.zip (the hello example), and
# temporal-lambda-c-sdk.tar.gz (how to build a library for each). `make ARCH=arm64 layer`
# makes the arm64 ones alone, in build-arm64/.
ifeq ($(ARCH),arm64)
layer: $(BUILD)/bootstrap $(BUILD)/examples/libhello.so | $(SYSTEM_BUILD)
	bash layer/build.sh $(BUILD) arm64=$(BUILD)
else
layer: $(BUILD)/bootstrap $(BUILD)/examples/libhello.so arm64_build | $(SYSTEM_BUILD)
	bash layer/build.sh $(BUILD) x86_64=$(BUILD) arm64=$(ARM64_BUILD)
endif

# The tests run the arm64 build under qemu user-mode emulation (qemu-aarch64-static, invoked
# explicitly) in an arm64 Debian bullseye root (glibc 2.31; deps/oldroot.sh arm64, cached):
# test_linkage checks both builds, test_layer runs hello end to end from both layers (the
# sanitizer run packs and runs its shipped build's).
ARM64_ROOT := $(DEPS_CACHE)/bullseye-arm64-root
$(ARM64_ROOT)/.done: deps/oldroot.sh | $(SYSTEM_TEST)
	bash deps/oldroot.sh $(DEPS_CACHE) arm64 >/dev/null
ifeq ($(SAN),1)
shipped_layers: shipped_bootstrap
	$(MAKE) SAN=0 BUILD=$(SHIPPED_BUILD) layer
else
shipped_layers: layer
endif
.PHONY: shipped_layers
INTEGRATION_TESTS += test_layer
TEST_SRC_test_layer = $(TEST_SUPPORT_SRC)
test: $(BUILD)/tests/test_layer $(ARM64_ROOT)/.done shipped_layers # (arm64_build with the layers)
test: export ARM64_BUILD := $(ARM64_BUILD)
test: export ARM64_ROOT := $(ARM64_ROOT)
test: export LAYERS := $(or $(SHIPPED_BUILD),$(BUILD))
$(if $(and $(filter test,$(MAKECMDGOALS)),$(CROSS)),$(error make test runs on this machine's \
    architecture; it tests the arm64 build itself))

# The deploy template (layer/template.yaml) is linted by cfn-lint, from PyPI, pinned in
# deps/pip.version and installed into a virtualenv in the cache (deps/cfn-lint.sh), and checked
# against the names bootstrap reads and the zips `make layer` makes
# (tests/integration/test_template.c).
CFN_LINT_VENV := $(DEPS_CACHE)/cfn-lint-$(shell awk '$$1=="cfn-lint"{print $$2}' deps/pip.version)
$(CFN_LINT_VENV)/.done: deps/cfn-lint.sh deps/pip.version | $(SYSTEM_TEST)
	bash deps/cfn-lint.sh $(DEPS_CACHE) >/dev/null
INTEGRATION_TESTS += test_template
test: $(BUILD)/tests/test_template $(CFN_LINT_VENV)/.done
test: export CFN_LINT_VENV := $(CFN_LINT_VENV)

# The whole serverless flow on this machine, once: Temporal invokes the hello example. Says
# what it builds in plain lines (the compiler's go to $(BUILD)/demo-build.log).
DEMO_LOG = $(BUILD)/demo-build.log
demo_step = $(MAKE) --no-print-directory $(1) >>$(DEMO_LOG) 2>&1 || \
            { echo "demo: the build failed; the end of $(DEMO_LOG):" >&2; tail -n 25 $(DEMO_LOG) >&2; exit 1; }
demo:
	@mkdir -p $(BUILD) && : >$(DEMO_LOG)
	@echo "== checking the system packages the build needs (installs what is missing)"
	@$(MAKE) --no-print-directory $(SYSTEM_BUILD)
	@echo "== building bootstrap, the Lambda emulator and the hello example"
	@echo "   (the first run also builds the pinned libraries and Temporal's protos: about 2 minutes)"
	@$(call demo_step,$(BUILD)/bootstrap $(BUILD)/lambda-emu $(BUILD)/examples/libhello.so)
	@echo "== building the local Temporal server and the Go SDK driver"
	@echo "   (the first run downloads Temporal's Go modules and compiles them: about 5 minutes)"
	@$(call demo_step,$(TEMPORAL_BINS))
	@BUILD=$(BUILD) bash local/demo.sh

# Benchmarks (never part of `make test`): us against a worker on the official Go SDK run the way
# Temporal's Go Lambda helper runs it (bench/compare.sh: `make bench BENCH_REPS=5`), then billed
# time with and without idle exit (bench/idle-exit.sh).
BENCH_REPS ?= 3
# The peer (bench/peer/, its own Go module), built into the cache like the server.
$(BUILD)/bench-peer: bench/peer/go.mod bench/peer/go.sum bench/peer/build.sh \
                     $(wildcard bench/peer/*.go) | $(SYSTEM_BUILD)
	bash bench/peer/build.sh $(DEPS_CACHE) $(BUILD) >/dev/null
$(BUILD)/bench/libsteps.so: bench/steps/worker.c include/tw.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection \
	    -Iinclude -o $@ $<
# The engine alone on recorded histories (bench/replay.c: events per second, with and without
# the workflow cache; writes $(BUILD)/bench/replay.md). `make test` runs it once with --check
# (tests/unit/test_bench_replay.c), so it cannot rot.
BENCH_REPLAY_LIBS = $(addprefix $(BUILD)/,examples/libhello.so examples/libtimers.so \
                    bench/libsteps.so fixtures/lib_wf_talk.so)
$(BUILD)/bench/replay: $(call obj,bench/replay.c $(WORKER_SRC)) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(PROTO_LIB) $(DEP_LIBS) $(SYS_LIBS)
.PHONY: bench-replay
bench-replay: $(BUILD)/bench/replay $(BENCH_REPLAY_LIBS)
	BUILD=$(BUILD) $(BUILD)/bench/replay
UNIT_TESTS += test_bench_replay
TEST_SRC_test_bench_replay = tests/support/harness.c
$(BUILD)/tests/test_bench_replay: $(BUILD)/bench/replay $(BENCH_REPLAY_LIBS) \
                                 $(BUILD)/fixtures/lib_changing_v2.so
test: $(BUILD)/tests/test_bench_replay # (the test rule's prerequisites were read above)
bench: bench-replay
bench: $(BUILD)/bootstrap $(BUILD)/lambda-emu $(BUILD)/examples/libhello.so $(TEMPORAL_BINS) \
       $(BUILD)/bench-peer $(BUILD)/bench/libsteps.so | $(SYSTEM_BUILD)
	BUILD=$(BUILD) bash bench/compare.sh $(BENCH_REPS)
	BUILD=$(BUILD) bash bench/idle-exit.sh

# Fault injection (tests/integration/test_chaos.c): `make chaos N=2000` runs the chaos run with
# N workflows (default 2000) through tests/chaos/run.sh; `make test` runs it with 300.
.PHONY: chaos
chaos: $(BUILD)/tests/test_chaos $(BUILD)/fixtures/lib_chaos.so $(BUILD)/bootstrap \
       $(BUILD)/lambda-emu $(TEMPORAL_BINS)
	BUILD=$(BUILD) bash tests/chaos/run.sh $(or $(N),2000)

# ---- Fuzzing (tests/fuzz/fuzz.h) ----
# `make fuzz` builds every target in FUZZ_TARGETS with clang, libFuzzer, ASan and UBSan into
# $(FUZZ_BUILD) (the project's sources compiled again; the generated protobuf code and the pinned
# static deps are linked as they are) and runs each for FUZZ_TIME seconds (tests/fuzz/run.sh).
# `make fuzz FUZZ_TIME=600` is the long local run, `make fuzz FUZZ_TARGETS=toml` runs one.
# A target <name> is tests/fuzz/fuzz_<name>.c; FUZZ_SRC_<name> lists the project sources it
# calls, FUZZ_LIBS_<name> (optional) libraries or archives to link before the pinned deps. Its
# seed corpus is tests/fuzz/corpus/<name>/, its dictionary tests/fuzz/<name>.dict (optional),
# the inputs that once broke it tests/fuzz/regressions/<name>/, inputs too slow to seed it with
# tests/fuzz/slow/<name>/. `make test` replays all three through $(BUILD)/tests/replay_<name>
# (tests/fuzz/replay.c, built like the tests).
FUZZ_TARGETS = toml config rt_next grpc_wire emu_http
FUZZ_SRC_toml = $(TOML_SRC)
FUZZ_SRC_config = $(ENVCONFIG_SRC) $(TOML_SRC) temporal/config/settings.c
FUZZ_SRC_rt_next = runtime/rt.c $(LOG_SRC)
FUZZ_SRC_grpc_wire = temporal/net/grpc_wire.c
FUZZ_SRC_emu_http = local/emu/http.c
FUZZ_TIME ?= 30
FUZZ_CC ?= clang
FUZZ_BUILD ?= $(BUILD)/fuzz
# The workflow engine replays histories through the example and fixture workflows, loaded from
# $(BUILD) as the tests load them (tests/fuzz/fuzz_engine.c).
FUZZ_TARGETS += engine
FUZZ_SRC_engine = $(WORKER_SRC) tests/fuzz/engine_script.c tests/fuzz/engine_seeds.c
FUZZ_LIBS_engine = $(PROTO_LIB)
FUZZ_ENGINE_WORKFLOWS = $(addprefix $(BUILD)/,examples/libhello.so examples/libtimers.so \
                        examples/libretry.so fixtures/lib_wf_semantics.so fixtures/lib_changing_v1.so \
                        fixtures/lib_wf_talk.so fixtures/lib_wf_handlers.so fixtures/lib_wf_child.so)
$(FUZZ_BUILD)/fuzz_engine $(BUILD)/tests/replay_engine: $(FUZZ_ENGINE_WORKFLOWS)
# The gRPC channel's HTTP/2 client (grpc.c, h2.c) against a hostile server: tests/fuzz/fuzz_h2.c
# is the transport (in place of temporal/net/transport.c) and serves the input as the server's
# bytes.
FUZZ_TARGETS += h2
FUZZ_SRC_h2 = temporal/net/grpc.c temporal/net/h2.c temporal/net/grpc_wire.c $(LOG_SRC)
FUZZ_LIBS_h2 = $(PROTO_LIB)
# The payload codec's walk (temporal/worker/codec.c) on messages as the server sends them.
FUZZ_TARGETS += codec
FUZZ_SRC_codec = temporal/worker/codec.c temporal/engine/arena.c $(LOG_SRC)
FUZZ_LIBS_codec = $(PROTO_LIB)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(STD) $(WARN) -O1 $(DEBUG) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -I. -Iinclude \
              -I$(GEN) $(DEP_CFLAGS) -MMD -MP $(CFLAGS)
FUZZ_BINS = $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))
FUZZ_REPLAYS = $(addprefix $(BUILD)/tests/replay_,$(FUZZ_TARGETS))
# The test rule above was read before this list existed: its prerequisites are expanded then.
test: $(FUZZ_REPLAYS)
fuzz_obj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

$(FUZZ_BUILD)/obj/%.o: %.c | $(DEPS_STAMPS) $(GEN)/.stamp $(SYSTEM_TEST)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

# One libFuzzer binary and one replay binary per target (instantiated at the end of this file,
# once every FUZZ_SRC_/FUZZ_LIBS_ is known).
define fuzz_rules
$(FUZZ_BUILD)/fuzz_$(1): $(call fuzz_obj,tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1))) $(filter %.a,$(FUZZ_LIBS_$(1)))
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$(filter %.o,$$^) $(FUZZ_LIBS_$(1)) $(DEP_LIBS) $(SYS_LIBS) -lm
$(BUILD)/tests/replay_$(1): $(call obj,tests/fuzz/replay.c tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1))) $(filter %.a,$(FUZZ_LIBS_$(1)))
	@mkdir -p $$(dir $$@)
	$(CC) $(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(FUZZ_LIBS_$(1)) $(DEP_LIBS) $(SYS_LIBS) -lm
endef

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
	bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

clean:
	rm -rf build build-san

$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rules,$(t))))

define test_rule
$(BUILD)/tests/$(1): $(call obj,$(wildcard tests/unit/$(1).c tests/integration/$(1).c) \
                     $(TEST_SRC_$(1))) $(PROTO_LIB)
	@mkdir -p $$(dir $$@)
	$(CC) $(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(PROTO_LIB) $(DEP_LIBS) $(SYS_LIBS) -lcmocka
endef
$(foreach t,$(UNIT_TESTS) $(INTEGRATION_TESTS),$(eval $(call test_rule,$(t))))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
