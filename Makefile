# mqttls — build, install and test.
#
#   make run      install what is missing, build, open mqttls on the built-in lab broker
#   make test     install what is missing (test tools too), build under ASan+UBSan, run every test
#   make          build ./mqttls
#   make install  PREFIX=/usr/local DESTDIR=
#
# Dependencies come from Debian's packages only; "make deps" checks with pkg-config and
# dpkg first and runs apt-get (through sudo when not root) only for what is missing.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share/mqttls
DESTDIR   ?=
CC        ?= cc
FUZZ_CC   ?= clang
PKG_CONFIG ?= pkg-config

PKGS      := ncursesw openssl libmosquitto libpcap libevent libevent_openssl libcjson
# Evaluated when used, so a recursive make after "deps" sees the freshly installed packages.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN      := -Wall -Wextra -Wformat=2 -Wno-missing-field-initializers
WERROR    ?=
OPT       ?= -O2 -g
CPPFLAGS_ALL = -Iinclude -D_GNU_SOURCE -DMQTTLS_DATADIR='"$(DATADIR)"' $(CPPFLAGS)
CFLAGS_ALL   = -std=gnu11 $(OPT) $(WARN) $(WERROR) -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# The engine: everything but the faces (CLI in src/cli, TUI in src/tui).
LIB_SRC   := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*' -not -path 'src/tui/*' 2>/dev/null))
BIN_SRC   := $(sort $(wildcard src/cli/*.c src/tui/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL       := build/rel
ASAN      := build/asan
FUZZ      := build/fuzz

REL_LIB_OBJ  := $(LIB_SRC:%.c=$(REL)/%.o)
REL_BIN_OBJ  := $(BIN_SRC:%.c=$(REL)/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(ASAN)/%.o)
ASAN_BIN_OBJ := $(BIN_SRC:%.c=$(ASAN)/%.o)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ)/%.o)
UNIT_BIN     := $(UNIT_SRC:tests/unit/%.c=$(ASAN)/tests/unit/%)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ)/tests/fuzz/%)

# Quiet by default, as kernel-style builds are; "make V=1" shows every command.
ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all run test test-build fuzz deps deps-test install uninstall clean check-tools

all: mqttls

# ---- release build -------------------------------------------------------------------------
mqttls: $(REL_BIN_OBJ) $(REL)/libmqttls.a
	@echo "  CC $@"
	$(Q)$(CC) $(OPT) -o $@ $(REL_BIN_OBJ) $(REL)/libmqttls.a $(PKG_LIBS) $(LDFLAGS)

$(REL)/libmqttls.a: $(REL_LIB_OBJ)
	@rm -f $@
	@echo "  AR $@"
	$(Q)ar rcs $@ $^

$(REL)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# ---- test build: ASan + UBSan, -Werror ------------------------------------------------------
test-build: $(ASAN)/mqttls $(UNIT_BIN) mqttls

$(ASAN)/mqttls: $(ASAN_BIN_OBJ) $(ASAN)/libmqttls.a
	@echo "  CC $@"
	$(Q)$(CC) $(SAN) -g -o $@ $(ASAN_BIN_OBJ) $(ASAN)/libmqttls.a $(PKG_LIBS) $(LDFLAGS)

$(ASAN)/libmqttls.a: $(ASAN_LIB_OBJ)
	@rm -f $@
	@echo "  AR $@"
	$(Q)ar rcs $@ $^

$(ASAN)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) -std=gnu11 -O1 -g $(WARN) -Werror -MMD -MP $(PKG_CFLAGS) $(SAN) $(CFLAGS) -c -o $@ $<

$(ASAN)/tests/unit/%: tests/unit/%.c $(ASAN)/libmqttls.a
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) -Isrc -std=gnu11 -O1 -g $(WARN) -Werror $(PKG_CFLAGS) $(CMOCKA_CFLAGS) $(SAN) \
		-o $@ $< $(ASAN)/libmqttls.a $(PKG_LIBS) $(CMOCKA_LIBS)

# ---- fuzz harnesses (clang libFuzzer) -------------------------------------------------------
fuzz: $(FUZZ_BIN)

$(FUZZ)/libmqttls.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@echo "  AR $@"
	$(Q)ar rcs $@ $^

$(FUZZ)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(FUZZ_CC) $(CPPFLAGS_ALL) -std=gnu11 -O1 -g -MMD -MP $(PKG_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined $(CFLAGS) -c -o $@ $<

$(FUZZ)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ)/libmqttls.a
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(FUZZ_CC) $(CPPFLAGS_ALL) -Isrc -std=gnu11 -O1 -g $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(FUZZ)/libmqttls.a $(PKG_LIBS)

# ---- the two commands ----------------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory all
	./mqttls

test: deps-test
	@$(MAKE) --no-print-directory test-build fuzz
	@MQTTLS=$(CURDIR)/$(ASAN)/mqttls MQTTLS_REL=$(CURDIR)/mqttls BUILD=$(CURDIR)/$(ASAN) \
		FUZZ_BUILD=$(CURDIR)/$(FUZZ) bash tests/run.sh $(T)

# Packages: "debian-package:pkg-config-module" (libraries) or "debian-package:command" (tools).
# A library's probe must not also be a command's name: libssl, not openssl (the openssl command is
# on every Debian, the headers are not).
RUN_DEPS  := gcc:gcc make:make pkg-config:pkg-config libncurses-dev:ncursesw libssl-dev:libssl \
	libmosquitto-dev:libmosquitto libpcap-dev:libpcap libevent-dev:libevent_openssl \
	libcjson-dev:libcjson mosquitto:mosquitto openssl:openssl iproute2:ip
TEST_DEPS := $(RUN_DEPS) libcmocka-dev:cmocka mosquitto-clients:mosquitto_pub tmux:tmux \
	tcpdump:tcpdump tshark:tshark python3-paho-mqtt:/usr/lib/python3/dist-packages/paho \
	clang:clang procps:pkill acl:setfacl time:/usr/bin/time wireshark-common:editcap \
	g++:g++ strace:strace xxd:xxd

deps:
	@sh tests/deps.sh $(RUN_DEPS)

deps-test:
	@sh tests/deps.sh $(TEST_DEPS)

# ---- install -------------------------------------------------------------------------------
install: mqttls
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 mqttls $(DESTDIR)$(BINDIR)/mqttls
	cp -R labs $(DESTDIR)$(DATADIR)/
	find $(DESTDIR)$(DATADIR)/labs -type d -exec chmod 0755 {} +
	find $(DESTDIR)$(DATADIR)/labs -type f -exec chmod 0644 {} +

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mqttls
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build mqttls

-include $(shell find build -name '*.d' 2>/dev/null)
