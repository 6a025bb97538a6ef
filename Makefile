# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Tollgate: clang -target bpf -> bpftool gen skeleton -> user space against the skeletons.
# `make V=1` shows the commands.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

OUT      ?= build
PREFIX   ?= /usr/local
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

FIXBUF_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libfixbuf 2>/dev/null))
PQ_CFLAGS := -isystem $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
		 -Iinclude -Isrc -I$(OUT) -D_GNU_SOURCE $(FIXBUF_CFLAGS) $(PQ_CFLAGS)
CFLAGS   ?= -O2 -g
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS   := -lbpf -lelf -lz -lyaml -lsqlite3 -lpcap -lcrypto -lseccomp -ljson-c -lpq -lmicrohttpd -lpthread $(shell pkg-config --libs libfixbuf 2>/dev/null)
# ncurses: only `tollgate top` (src/cmd_top.c) uses it, so only the binary links it.
CURSES_LIBS := $(shell pkg-config --libs ncurses 2>/dev/null || echo -lncurses)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -D__BPF__ -Wall -Werror \
	      -Iinclude -Ibpf -I$(OUT)

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/lib/*.h) include/tollgate.h
SRC_HDRS  := $(wildcard src/*.h) include/tollgate.h
LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS  := $(patsubst src/%.c,$(OUT)/obj/%.o,$(LIB_SRCS))
SAN_OBJS  := $(patsubst src/%.c,$(OUT)/san/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(OUT)/tests/%,$(BPFT_SRCS))
BENCH_BPF := $(wildcard bench/*.bpf.c)
BENCH_BINS := $(OUT)/bench/prog_cost $(OUT)/bench/flow_harvest $(OUT)/bench/cap_cost \
	      $(OUT)/bench/guard_cost $(OUT)/bench/udp_blast $(OUT)/bench/seccomp_learn \
	      $(OUT)/bench/rr $(OUT)/bench/sys_loop

DEB_PKGS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libyaml-dev libsqlite3-dev \
	    sqlite3 iproute2 ethtool iperf3 tshark iputils-ping procps psmisc util-linux \
	    clang-format cppcheck make gcc pkg-config libpcap-dev libfixbuf-dev python3 \
	    python3-scapy libssl-dev hping3 xdp-tools nftables iptables \
	    libseccomp-dev libjson-c-dev strace libncurses-dev \
	    libpq-dev postgresql libmicrohttpd-dev prometheus bpftrace

.PHONY: all build-tests deps test unit bpf-tests e2e lint format demo bench install clean fuzz \
	fuzz-build
all: $(OUT)/tollgate

# Installs only what is missing; runs `apt-get update` once, and only when needed.
deps:
	$(Q)missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
		|| echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		[ "$$(id -u)" = 0 ] || { echo "deps: run as root to install packages" >&2; exit 1; }; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null || exit 1; \
	fi; \
	echo "deps: all packages present"

$(OUT) $(OUT)/obj $(OUT)/san $(OUT)/tests $(OUT)/bench:
	$(Q)mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.bpf.o: bench/%.bpf.c $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS) $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# The dashboard's assets, compiled in (src/dashboard.c includes the table); its test opens
# it in headless Chromium.
DEB_PKGS += xxd chromium fonts-dejavu-core curl
DASH_ASSETS := $(sort $(wildcard assets/dashboard/*))
$(OUT)/dashboard_assets.h: tools/embed_assets.sh $(DASH_ASSETS) | $(OUT)
	$(call msg,EMBED,$@)
	$(Q)sh tools/embed_assets.sh $@ $(DASH_ASSETS)

$(OUT)/obj/dashboard.o $(OUT)/san/dashboard.o: $(OUT)/dashboard_assets.h

$(OUT)/obj/%.o: src/%.c $(SRC_HDRS) $(SKELS) | $(OUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

$(OUT)/san/%.o: src/%.c $(SRC_HDRS) $(SKELS) | $(OUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -c $< -o $@

# Archives, so that a test links only the modules it uses.
$(OUT)/libtollgate.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/libtollgate-san.a: $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/tollgate: src/main.c $(OUT)/libtollgate.a $(SRC_HDRS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) src/main.c $(OUT)/libtollgate.a $(LDLIBS) $(CURSES_LIBS) -o $@

# Unit tests: user space only, with AddressSanitizer and UBSan.
$(OUT)/tests/%: tests/unit/%.c tests/tap.h $(OUT)/libtollgate-san.a | $(OUT)/tests
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(SANFLAGS) $< $(OUT)/libtollgate-san.a $(LDLIBS) -o $@

# The audit log's test also runs the command line (build/tollgate audit verify).
$(OUT)/tests/test_audit: tests/unit/test_audit.c tests/tap.h $(OUT)/libtollgate-san.a $(OUT)/tollgate | $(OUT)/tests
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(SANFLAGS) $< $(OUT)/libtollgate-san.a $(LDLIBS) -o $@

# The identity history's test also runs the command line (build/tollgate whois).
$(OUT)/tests/test_identity: tests/unit/test_identity.c tests/tap.h $(OUT)/libtollgate-san.a $(OUT)/tollgate | $(OUT)/tests
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(SANFLAGS) $< $(OUT)/libtollgate-san.a $(LDLIBS) -o $@

# BPF tests: the real objects through BPF_PROG_TEST_RUN.
$(OUT)/tests/test_meter: tests/bpf/test_meter.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/tests/test_harvest: tests/bpf/test_harvest.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -lpthread -o $@

$(OUT)/tests/test_flows: tests/bpf/test_flows.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/tests/test_enforce: tests/bpf/test_enforce.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/tests/test_event_ring: tests/bpf/test_event_ring.c tests/tap.h $(SKELS) $(OUT)/ev_emit.skel.h $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

# The signature matcher (bpf/lib/sig.h) in a test-only XDP program of its own.
$(OUT)/tests/test_sig: tests/bpf/test_sig.c tests/tap.h $(OUT)/sig_scan.skel.h | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(LDLIBS) -o $@

# The runtime rule matcher (bpf/lib/rt_match.h) in a test-only raw_tp program of its own.
$(OUT)/tests/test_rt_rules: tests/bpf/test_rt_rules.c tests/tap.h $(SKELS) $(OUT)/rt_rules.skel.h $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

# A helper of tests/e2e/events.sh (not a suite): the event code on a live datapath's pins.
$(OUT)/tests/ev_inject: tests/bpf/ev_inject.c $(SKELS) $(OUT)/ev_emit.skel.h $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

# A helper of tests/e2e/runtime_exits.sh (not a suite): processes that crash, exit, get
# OOM-killed, ptrace and call setresuid on request.
$(OUT)/tests/rt_victim: tests/lib/rt_victim.c | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< -o $@

$(OUT)/tests/test_cgroup: tests/bpf/test_cgroup.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/tests/test_uplink_guard: tests/bpf/test_uplink_guard.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

# Malformed frames (a generated corpus) through every packet program.
$(OUT)/tests/test_malformed: tests/bpf/test_malformed.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

# Billing counters crossing 2^64 in the kernel, harvested into a real store.
$(OUT)/tests/test_counter_wrap: tests/bpf/test_counter_wrap.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/tests/test_police: tests/bpf/test_police.c tests/tap.h $(SKELS) $(OUT)/libtollgate.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -Itests $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/bench/flow_harvest: bench/flow_harvest.c bench/result.h $(OUT)/libtollgate.a | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/bench/prog_cost: bench/prog_cost.c bench/result.h bench/test_run.h $(OUT)/tenant.skel.h $(OUT)/empty_tc.skel.h | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(LDLIBS) -o $@

$(OUT)/bench/cap_cost: bench/cap_cost.c bench/result.h bench/test_run.h $(OUT)/tenant.skel.h $(OUT)/libtollgate.a | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/bench/guard_cost: bench/guard_cost.c bench/result.h bench/test_run.h $(OUT)/empty_xdp.skel.h $(OUT)/libtollgate.a | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/bench/seccomp_learn: bench/seccomp_learn.c bench/result.h $(OUT)/empty_rawtp.skel.h $(OUT)/libtollgate.a | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(OUT)/libtollgate.a $(LDLIBS) -o $@

$(OUT)/empty_rawtp.skel.h: $(OUT)/empty_rawtp.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_rawtp_bpf > $@

$(OUT)/empty_xdp.skel.h: $(OUT)/empty_xdp.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_xdp_bpf > $@

$(OUT)/bench/udp_blast: bench/udp_blast.c | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< -o $@

$(OUT)/bench/rr $(OUT)/bench/sys_loop: $(OUT)/bench/%: bench/%.c | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< -o $@

$(OUT)/empty_tc.skel.h: $(OUT)/empty_tc.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_tc_bpf > $@

# Fuzzing (docs/fuzzing.md): libFuzzer harnesses, built with clang apart from the gcc build.
# The library is compiled again with coverage and sanitizers into its own directory.
# libclang-rt-dev holds libFuzzer and the sanitizer runtimes (clang only recommends it).
DEB_PKGS += libclang-rt-dev
FUZZ_CC      ?= $(CLANG)
FUZZ_SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
FUZZ_CFLAGS  := $(CFLAGS_COMMON) -Itests/fuzz -DFUZZ_LISTS='"$(abspath tests/fuzz/lists)"'
FUZZ_OBJS    := $(patsubst src/%.c,$(OUT)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 600

$(OUT)/fuzz/obj:
	$(Q)mkdir -p $@

$(OUT)/fuzz/obj/%.o: src/%.c $(SRC_HDRS) $(SKELS) | $(OUT)/fuzz/obj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CFLAGS_COMMON) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUT)/fuzz/obj/dashboard.o: $(OUT)/dashboard_assets.h

$(OUT)/fuzz/libtollgate-fuzz.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# bpf/lib/parse.h compiled for this machine, for the capture harness. Headers sit at any
# alignment in a frame (the IP header of an Ethernet frame is 2 mod 4), and BPF reads them
# so: alignment is not the parser's concern.
$(OUT)/fuzz/obj/parse_native.o: tests/fuzz/parse_native.c tests/fuzz/parse_native.h \
				 bpf/lib/parse.h $(OUT)/vmlinux.h | $(OUT)/fuzz/obj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) -std=gnu11 -Wall -Wextra -Werror -Ibpf -Iinclude -I$(OUT) -Itests/fuzz \
		$(FUZZ_SAN) -fno-sanitize=alignment -fsanitize=fuzzer-no-link -c $< -o $@

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(OUT)/fuzz/libtollgate-fuzz.a
	$(call msg,LINK-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer $< \
		$(OUT)/fuzz/libtollgate-fuzz.a $(LDLIBS) -o $@

$(OUT)/fuzz/fuzz_capture: tests/fuzz/fuzz_capture.c tests/fuzz/fuzz.h $(OUT)/fuzz/obj/parse_native.o \
			  $(OUT)/fuzz/libtollgate-fuzz.a
	$(call msg,LINK-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer $< $(OUT)/fuzz/obj/parse_native.o \
		$(OUT)/fuzz/libtollgate-fuzz.a $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# Each harness FUZZ_SECONDS long; new inputs stay in $(OUT)/fuzz/corpus/, crashes in
# $(OUT)/fuzz/artifacts/.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)OUT=$(OUT) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/fuzz_long.sh

build-tests: $(OUT)/tollgate $(UNIT_BINS) $(BPFT_BINS) $(OUT)/tests/ev_inject $(OUT)/tests/rt_victim \
	     $(OUT)/bpfinv_unknown.bpf.o $(OUT)/bpfinv_allowed.bpf.o $(FUZZ_BINS)

test: deps
	$(Q)$(MAKE) --no-print-directory build-tests
	$(Q)tests/run.sh

lint: $(SKELS)
	$(Q)clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --std=c11 -Iinclude -Isrc -D__linux__ --include=tests/cppcheck.h \
		--suppress=missingIncludeSystem \
		$$(git ls-files 'src/*.c' 'tests/*.c' 'bench/*.c' ':!*.bpf.c')

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)demo/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)bench/bench.sh

install: $(OUT)/tollgate
	install -D -m 0755 $(OUT)/tollgate $(DESTDIR)$(PREFIX)/sbin/tollgate
	install -d -m 0755 $(DESTDIR)/etc/tollgate
	[ -e $(DESTDIR)/etc/tollgate/tollgate.yaml ] || \
		install -m 0644 docs/tollgate.example.yaml $(DESTDIR)/etc/tollgate/tollgate.yaml

clean:
	rm -rf $(OUT)
