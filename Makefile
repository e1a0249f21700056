# socklab: one Makefile, no configure step.
#
#   make                 build every lesson into ./lessonNN/
#   make lesson02        build one lesson
#   make test            the quick tests against that build (under a minute)
#   make check           what make test leaves out: the slow tests, and the
#                        suite under the sanitizers (a few minutes)
#   make grade EX=NAME   grade your attempt at exercises/NAME (see the end)
#   make bench           every server model measured on this machine (under
#                        3 minutes; BENCH=tiny for a quick check that it runs)
#   make clean           remove all build output
#
# Every lessons/NN-topic/*.c file is one program: lessons/02-echo/client.c
# becomes ./lesson02/client. A new lesson needs no change here.
#
# Variants: VARIANT=release (default) puts programs in ./lessonNN/; any other
# variant (asan, tsan) puts them in build/VARIANT/lessonNN/. Objects always
# live under build/VARIANT/obj/.
#
# The build follows its flags: `make CC=clang`, `make WERROR=1` or
# `make CFLAGS=-O0` after an earlier build rebuilds what they change (see
# "Flags" below).

.DEFAULT_GOAL := all

VARIANT ?= release
CC      ?= cc

WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wformat=2 \
            -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

# Threads need -pthread when compiling as well as when linking: it may
# change what the headers declare. On glibc it also defines _REENTRANT,
# which quietly picks an old POSIX level for a file that forgot its
# _POSIX_C_SOURCE, so CI builds once with PTHREAD= (empty) to catch that.
PTHREAD := -pthread

# Each file defines _POSIX_C_SOURCE itself; -std=c11 alone hides POSIX.
BASE_CFLAGS := -std=c11 -g $(WARNINGS) -Icommon

ifeq ($(VARIANT),release)
BINDIR        := .
VARIANT_FLAGS := -O2 -D_FORTIFY_SOURCE=2
else ifeq ($(VARIANT),asan)
BINDIR        := build/asan
VARIANT_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                 -fno-sanitize-recover=all
else ifeq ($(VARIANT),tsan)
BINDIR        := build/tsan
VARIANT_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=thread
else
$(error unknown VARIANT '$(VARIANT)': use release, asan or tsan)
endif

OBJDIR   := build/$(VARIANT)/obj
ALL_CFLAGS  = $(BASE_CFLAGS) $(VARIANT_FLAGS) $(PTHREAD) $(CFLAGS)
ALL_LDFLAGS = $(VARIANT_FLAGS) $(PTHREAD) $(LDFLAGS)

# ---- Flags ----------------------------------------------------------------
#
# make rebuilds a file when one of its prerequisites is newer, and knows
# nothing about flags. So the compiler and flags a variant is built with
# are kept in a file, build/VARIANT/flags, that every object depends on.
# While make reads this Makefile, the file is rewritten if it holds other
# flags than this run's; then it is newer than every object, and everything
# is rebuilt and relinked. `make CC=clang` after `make` rebuilds everything;
# a second `make CC=clang` finds nothing to do. (Headers are followed by the
# compiler itself: -MMD writes each object's list of headers into a .d file
# next to it.)

FLAGS_FILE  := build/$(VARIANT)/flags
BUILD_FLAGS  = $(strip $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LDLIBS))

# $(call write_flags,FILE,TEXT): the shell command that puts TEXT in FILE.
# (A flag may hold a quote: '\'' is a quote inside the shell's quotes.)
write_flags = mkdir -p $(dir $(1)) && printf '%s\n' '$(subst ','\'',$(2))' >$(1)

ifneq ($(shell cat $(FLAGS_FILE) 2>/dev/null),$(BUILD_FLAGS))
$(shell $(call write_flags,$(FLAGS_FILE),$(BUILD_FLAGS)))
endif
# In `make clean all` the file goes while make runs, and is written again.
$(FLAGS_FILE):
	@$(call write_flags,$@,$(BUILD_FLAGS))

# ---- Programs -------------------------------------------------------------

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OBJDIR)/%.o)

LESSON_DIRS := $(sort $(wildcard lessons/[0-9][0-9]-*))
lesson_num   = $(firstword $(subst -, ,$(notdir $(1))))

# lesson_template(dir, NN): programs of one lesson and its phony target.
define lesson_template
LESSON_$(2)_PROGS := $$(patsubst $(1)/%.c,$$(BINDIR)/lesson$(2)/%,$$(wildcard $(1)/*.c))
ALL_PROGS += $$(LESSON_$(2)_PROGS)
.PHONY: lesson$(2)
lesson$(2): $$(LESSON_$(2)_PROGS)
$$(BINDIR)/lesson$(2)/%: $$(OBJDIR)/$(1)/%.o $$(COMMON_OBJ)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(LESSON_DIRS),$(eval $(call lesson_template,$(d),$(call lesson_num,$(d)))))

# Lesson 08's epoll programs are Linux-only: elsewhere `make` leaves them
# out, says so in one line, and builds lesson08/server-poll.
ifneq ($(shell uname -s),Linux)
EPOLL_PROGS := $(addprefix $(BINDIR)/lesson08/,server server-et loadgen)
ALL_PROGS   := $(filter-out $(EPOLL_PROGS),$(ALL_PROGS))
$(info make: lesson08/server, server-et and loadgen use epoll (Linux-only): skipped)
endif

# make bench: lesson08/loadgen against every server model of the course
# (lessons 02-05, 08, 10's handoff, 11's pools when built) and the minimal
# servers tests/bench/min-*.c: connections and messages tables in Markdown,
# build/bench/*.svg when gnuplot is installed. Under 3 minutes on 2 CPUs;
# make bench BENCH=tiny runs everything once, briefly (the smoke test's).
BENCH_PROGS := $(patsubst tests/bench/%.c,build/$(VARIANT)/bench/%,$(wildcard tests/bench/min-*.c))
build/$(VARIANT)/bench/%: $(OBJDIR)/tests/bench/%.o
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench
bench: all $(BENCH_PROGS)
	tests/bench/server-bench $(if $(filter tiny,$(BENCH)),--tiny)

# make bench-echo: lesson08/loadgen against the echo servers of lessons 02
# to 08 and a libevent one (when libevent-dev is installed): Markdown
# tables, and build/bench/idle.svg when gnuplot is installed. A few minutes.
.PHONY: bench-echo
bench-echo: all test-tools
	tests/bench/echo-bench

# Test tools: the helpers' unit tests, scriptable peers such as
# tests/tools/peer.c, and the fault-injection library.
UNIT_TEST  := build/$(VARIANT)/tests/common_test
TOOLS      := $(patsubst tests/tools/%.c,build/$(VARIANT)/tools/%,$(wildcard tests/tools/*.c))
FAULT_LIB  := build/fault.so

.PHONY: all test check check-slow check-asan check-tsan clean test-tools need-test-tools
all: $(ALL_PROGS)

$(OBJDIR)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_TEST): $(OBJDIR)/tests/unit/common_test.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

build/$(VARIANT)/tools/%: $(OBJDIR)/tests/tools/%.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# The shim is preloaded into every variant, so it is built once, plainly.
# It is preloaded into the suite's own commands too (timeout, env), so it is
# built for this machine, by FAULT_CC, whatever CC builds the programs: a
# glibc shim also loads into musl programs; into programs for another CPU
# (run under qemu-user) no shim loads, and the tests that need it skip.
FAULT_CC         ?= cc
FAULT_FLAGS_FILE := build/fault.flags
FAULT_BUILD       = $(strip $(FAULT_CC) -std=c11 -O1 -g $(WARNINGS) -fPIC -shared)
ifneq ($(shell cat $(FAULT_FLAGS_FILE) 2>/dev/null),$(FAULT_BUILD))
$(shell $(call write_flags,$(FAULT_FLAGS_FILE),$(FAULT_BUILD)))
endif
$(FAULT_FLAGS_FILE):
	@$(call write_flags,$@,$(FAULT_BUILD))

$(FAULT_LIB): tests/fault/fault.c $(FAULT_FLAGS_FILE)
	@mkdir -p $(@D)
	$(FAULT_BUILD) -o $@ $< -ldl

test-tools: $(UNIT_TEST) $(TOOLS) $(FAULT_LIB) $(BENCH_PROGS)

# ---- Tests ----------------------------------------------------------------
#
# make test     every test not tagged slow, on the build you just made.
# make check    what make test leaves out, and the sanitizers, one pass
#               after the other:
#   check-slow  the tests tagged "# bats test_tags=slow" (the exhaustive
#               ones: 1 MiB through 1-byte faults, 1000+ connections, long
#               timeouts) on the same build as make test, so that together
#               the two run every test on the build learners use;
#   check-asan  every test, slow ones too, on an AddressSanitizer and
#               UndefinedBehaviorSanitizer build: memory errors and leaks
#               show best under load;
#   check-tsan  the files tagged "# bats file_tags=tsan" (the threaded
#               lessons) on a ThreadSanitizer build.

BATS       ?= bats
# Test files run side by side, two per CPU: most of a test is waiting (for a
# server to start, a timeout to pass), so two per CPU keep the CPUs busy.
# Tests within a file run one after another: starting each test through GNU
# parallel costs more than it saves.
BATS_JOBS  ?= $(shell echo $$((2 * $$(nproc 2>/dev/null || echo 1))))
BATS_FLAGS ?=
# Test files or folders to run, e.g. make test TESTS=tests/02-echo.bats
TESTS      ?= tests
# GNU parallel is what lets bats run files side by side; without it, one job.
bats_jobs = $(if $(shell command -v parallel 2>/dev/null),--jobs $(BATS_JOBS) --no-parallelize-within-files)

# $(call suite,VARIANT,BATS-OPTIONS): run $(TESTS) against that variant's build.
suite = SOCKLAB_BIN=$(if $(filter release,$(1)),.,build/$(1)) SOCKLAB_VARIANT=$(1) \
        $(BATS) $(bats_jobs) $(BATS_FLAGS) $(2) $(TESTS)

# Commands the suite runs, each with the Debian/Ubuntu package it is in.
TEST_TOOLS := $(BATS):bats ss:iproute2 ip:iproute2 ps:procps pgrep:procps \
              sysctl:procps tmux:tmux timeout:coreutils prlimit:util-linux \
              setsid:util-linux nm:binutils strace:strace

# need_test_tools: stop before any test runs if a command is missing, and
# say which package has it.
define need_test_tools
	@missing=; packages=; \
	for t in $(TEST_TOOLS); do \
	  command -v $${t%%:*} >/dev/null 2>&1 && continue; \
	  missing="$$missing\n  $${t%%:*}	(package $${t#*:})"; \
	  case "$$packages " in *" $${t#*:} "*) ;; *) packages="$$packages $${t#*:}" ;; esac; \
	done; \
	if [ -n "$$missing" ]; then \
	  printf '%b\n' "make: the tests need commands that are not installed:$$missing"; \
	  echo "  On Debian or Ubuntu: sudo apt-get install$$packages"; \
	  exit 1; \
	fi >&2; \
	command -v parallel >/dev/null 2>&1 || \
	  echo "make: GNU parallel is not installed, so test files run one at a time (sudo apt-get install parallel)" >&2
endef
# The grade section below checks the same commands.
need_bats = $(need_test_tools)

need-test-tools:
	$(need_test_tools)

test: need-test-tools all test-tools
	$(call suite,$(VARIANT),--filter-tags '!slow')

# Each pass runs even when an earlier one failed; check fails if any did.
check:
	@failed=; \
	for pass in check-slow check-asan check-tsan; do \
	  $(MAKE) --no-print-directory $$pass || failed="$$failed $$pass"; \
	done; \
	[ -z "$$failed" ] || { echo "make check: failed:$$failed" >&2; exit 1; }

check-slow: need-test-tools all test-tools
	$(call suite,$(VARIANT),--filter-tags slow)

check-asan: need-test-tools
	$(MAKE) VARIANT=asan all test-tools
	$(call suite,asan)

check-tsan: need-test-tools
	$(MAKE) VARIANT=tsan all test-tools
	$(call suite,tsan,--filter-tags tsan)

clean:
	rm -rf build $(patsubst lessons/%,lesson%,$(foreach d,$(LESSON_DIRS),lessons/$(call lesson_num,$(d))))

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)

# ---- Fuzzing: make fuzz ---------------------------------------------------
#
#   make fuzz                 each parser's libFuzzer target for FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=30 (default 10), after its regression inputs
#
# Every tests/fuzz/NAME.c is one target, built by clang with the fuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer into build/fuzz/NAME. It
# starts from the committed inputs in tests/fuzz/corpus/NAME/ (what it finds
# on the way goes to build/fuzz/corpus/NAME/, not into the repository) and
# first replays tests/fuzz/regressions/NAME/, inputs that once crashed it. A
# crash stops make fuzz; the input is saved as build/fuzz/crash-NAME-*:
# once fixed, commit it to tests/fuzz/regressions/NAME/. Without libFuzzer
# (another compiler, or clang without its runtime) make fuzz says so and
# succeeds: it has nothing to run.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BUILD    = $(FUZZ_CC) -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Icommon -Ilessons/09-framing

build/fuzz/%: tests/fuzz/%.c common/io.c common/lines.c $(wildcard common/*.h lessons/09-framing/*.h)
	@mkdir -p $(@D)
	$(FUZZ_BUILD) -o $@ $< common/io.c common/lines.c

.PHONY: fuzz
fuzz:
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n); int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c -o /dev/null - >/dev/null 2>&1; then \
	  echo "make fuzz: skipped: $(FUZZ_CC) cannot build libFuzzer targets (on Debian: apt-get install clang libclang-rt-14-dev)"; \
	  exit 0; \
	fi; \
	$(MAKE) --no-print-directory $(addprefix build/fuzz/,$(FUZZ_NAMES)) || exit 1; \
	for t in $(FUZZ_NAMES); do \
	  mkdir -p build/fuzz/corpus/$$t; \
	  if [ -d tests/fuzz/regressions/$$t ]; then \
	    build/fuzz/$$t tests/fuzz/regressions/$$t/* >build/fuzz/$$t.log 2>&1 || \
	      { cat build/fuzz/$$t.log; echo "make fuzz: $$t: a regression input fails again"; exit 1; }; \
	  fi; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/crash-$$t- build/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	    >build/fuzz/$$t.log 2>&1 || \
	    { tail -n 40 build/fuzz/$$t.log; echo "make fuzz: $$t crashed: see build/fuzz/crash-$$t-*"; exit 1; }; \
	  grep -E '^(Done|stat::number_of_executed_units)' build/fuzz/$$t.log | head -n 1; \
	done; \
	echo "make fuzz: no crash in $(words $(FUZZ_NAMES)) targets"

# ---- Exercises: make grade ----------------------------------------------
#
#   make grade                          list the exercises
#   make grade EX=02-upper              build your exercises/02-upper/*.c and
#                                       run that exercise's tests on them
#   make grade EX=02-upper SOLUTION=1   the same for the reference solution
#   make exercises                      build every starter and solution
#
# VARIANT=asan grades a sanitizer build: memory errors and leaks then fail
# the grade too. Every exercises/NN-name/*.c is one program built into
# build/VARIANT/exercises/NN-name/, and every exercises/NN-name/solution/*.c
# into build/VARIANT/exercises/NN-name/solution/, with the lessons' flags and
# common/. An exercise is just its folder: nothing here names one. The
# report is tests/grade-report's: one line per check, colour only on a
# terminal (and never with NO_COLOR set).

EX_DIRS  := $(patsubst %/test.bats,%,$(sort $(wildcard exercises/[0-9][0-9]-*/test.bats)))
EX_NAMES := $(notdir $(EX_DIRS))
EX_BIN   := build/$(VARIANT)/exercises

ex_starters  = $(patsubst exercises/%.c,$(EX_BIN)/%,$(wildcard exercises/$(1)/*.c))
ex_solutions = $(patsubst exercises/%.c,$(EX_BIN)/%,$(wildcard exercises/$(1)/solution/*.c))

$(EX_BIN)/%: $(OBJDIR)/exercises/%.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: exercises grade
exercises: $(foreach e,$(EX_NAMES),$(call ex_starters,$(e)) $(call ex_solutions,$(e)))

# "EX=exercises/02-upper/" (tab completion) names the same exercise.
EX_NAME  := $(notdir $(patsubst %/,%,$(EX)))
EX_WHICH := $(if $(SOLUTION),solution,your version)
EX_PROGS  = $(if $(SOLUTION),$(call ex_solutions,$(EX_NAME)),$(call ex_starters,$(EX_NAME)))

grade:
ifeq ($(EX_NAME),)
	@echo "Exercises (the task is in exercises/NAME/README.md):"
	@$(foreach d,$(EX_DIRS),printf '  %-12s %s\n' '$(notdir $(d))' "$$(sed -n '1s/^# *//p' $(d)/README.md)";)
	@echo "Grade one:  make grade EX=NAME     the reference solution:  make grade EX=NAME SOLUTION=1"
else ifeq ($(filter $(EX_NAME),$(EX_NAMES)),)
	@echo "make grade: no exercise '$(EX_NAME)'. There are: $(EX_NAMES)" >&2; exit 2
else
	$(need_bats)
	@$(MAKE) -s --no-print-directory all test-tools
	@echo "== building $(EX_WHICH) of $(EX_NAME)"
	@$(MAKE) --no-print-directory $(EX_PROGS) || { \
	  echo; \
	  echo "make grade: $(EX_WHICH) of $(EX_NAME) does not compile. The compiler's"; \
	  echo "messages are above: fix the first one, then run make grade EX=$(EX_NAME) again."; \
	  exit 1; } >&2
	@echo "== grading $(EX_WHICH) of $(EX_NAME)"
	@SOCKLAB_BIN=$(BINDIR) SOCKLAB_VARIANT=$(VARIANT) \
	  SOCKLAB_EXERCISE_BIN=$(EX_BIN)/$(EX_NAME)$(if $(SOLUTION),/solution) \
	  $(BATS) --formatter $(CURDIR)/tests/grade-report exercises/$(EX_NAME)/test.bats || { \
	  echo; \
	  echo "Not there yet: each check marked ✗ says what it expected and what came back."; \
	  echo "The task and hints: exercises/$(EX_NAME)/README.md"; \
	  exit 1; }
	@echo "All checks pass.$(if $(SOLUTION),, Well done: now compare with exercises/$(EX_NAME)/solution/.)"
endif
