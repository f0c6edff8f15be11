# One non-recursive Makefile. `make` builds build/bootstrap; `make test` runs every test;
# `make test SAN=1` runs the same tests built with AddressSanitizer + UBSan into build-san/.

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
dep_prefix = $(DEPS_CACHE)/$(1)-$(shell awk '$$1=="$(1)"{print $$3}' deps/versions)
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
ALL_CFLAGS = $(STD) $(WARN) $(OPT) $(DEBUG) $(SANFLAGS) -I. -Iinclude $(DEP_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) -Wl,--gc-sections $(LDFLAGS)
DEP_LIBS = $(CURL_DIR)/lib/libcurl.a $(NGHTTP2_DIR)/lib/libnghttp2.a \
           $(PROTOBUFC_DIR)/lib/libprotobuf-c.a $(MBEDTLS_DIR)/lib/libmbedtls.a \
           $(MBEDTLS_DIR)/lib/libmbedx509.a $(MBEDTLS_DIR)/lib/libmbedcrypto.a \
           $(CJSON_DIR)/lib/libcjson.a
SYS_LIBS = -lpthread -ldl

RUNTIME_SRC = runtime/rt.c runtime/loop.c runtime/log.c
BOOTSTRAP_SRC = bootstrap.c temporal/function.c $(RUNTIME_SRC)
EMU_SRC = local/emu/main.c local/emu/http.c local/emu/env.c local/emu/invoke.c
TEST_BOOTSTRAP_SRC = bootstrap.c tests/support/test_handler.c $(RUNTIME_SRC)
TEST_SUPPORT_SRC = tests/support/harness.c
UNIT_TESTS = test_rt
INTEGRATION_TESTS = test_linkage test_emulator

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all test unit integration deps clean
all: $(BUILD)/bootstrap

deps: $(DEPS_STAMPS)
$(DEPS_STAMPS) &: deps/build.sh deps/versions
	bash deps/build.sh $(DEPS_CACHE)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/bootstrap: $(call obj,$(BOOTSTRAP_SRC))
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS)

$(BUILD)/test-bootstrap: $(call obj,$(TEST_BOOTSTRAP_SRC))
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS)

$(BUILD)/lambda-emu: $(call obj,$(EMU_SRC))
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CJSON_DIR)/lib/libcjson.a -lm

$(BUILD)/tests/test_rt: $(call obj,tests/unit/test_rt.c $(RUNTIME_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS) -lcmocka

$(BUILD)/tests/test_emulator: $(call obj,tests/integration/test_emulator.c $(TEST_SUPPORT_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS) -lcmocka

$(BUILD)/tests/test_linkage: $(call obj,tests/integration/test_linkage.c $(TEST_SUPPORT_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(SYS_LIBS) -lcmocka

TEST_BINS = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS) $(INTEGRATION_TESTS))

test: $(TEST_BINS) $(BUILD)/bootstrap $(BUILD)/test-bootstrap $(BUILD)/lambda-emu
	BUILD=$(BUILD) bash tests/run.sh $(TEST_BINS)

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
