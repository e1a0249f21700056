# socklab: one Makefile, no configure step.
#
#   make                 build every lesson into ./lessonNN/
#   make lesson02        build one lesson
#   make test            run the bats suite against that build
#   make check           run the suite against sanitizer builds
#   make grade EX=NAME   grade your attempt at exercises/NAME (see the end)
#   make clean           remove all build output
#
# Every lessons/NN-topic/*.c file is one program: lessons/02-echo/client.c
# becomes ./lesson02/client. A new lesson needs no change here.
#
# Variants: VARIANT=release (default) puts programs in ./lessonNN/; any other
# variant (asan, tsan) puts them in build/VARIANT/lessonNN/. Objects always
# live under build/VARIANT/obj/.

.DEFAULT_GOAL := all

VARIANT ?= release
CC      ?= cc

WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wformat=2 \
            -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

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
ALL_CFLAGS  = $(BASE_CFLAGS) $(VARIANT_FLAGS) $(CFLAGS)
ALL_LDFLAGS = $(VARIANT_FLAGS) $(LDFLAGS)
LDLIBS  += -pthread

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

# Test tools: the helpers' unit tests, scriptable peers such as
# tests/tools/peer.c, and the fault-injection library.
UNIT_TEST  := build/$(VARIANT)/tests/common_test
TOOLS      := $(patsubst tests/tools/%.c,build/$(VARIANT)/tools/%,$(wildcard tests/tools/*.c))
FAULT_LIB  := build/fault.so

.PHONY: all test check check-asan check-tsan clean test-tools
all: $(ALL_PROGS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_TEST): $(OBJDIR)/tests/unit/common_test.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

build/$(VARIANT)/tools/%: $(OBJDIR)/tests/tools/%.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# The shim is preloaded into every variant, so it is built once, plainly.
$(FAULT_LIB): tests/fault/fault.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -g $(WARNINGS) -fPIC -shared -o $@ $< -ldl

test-tools: $(UNIT_TEST) $(TOOLS) $(FAULT_LIB)

BATS       ?= bats
BATS_JOBS  ?= 2
BATS_FLAGS ?=
# GNU parallel is what lets bats run files side by side; without it, one job.
bats_jobs = $(if $(shell command -v parallel 2>/dev/null),--jobs $(BATS_JOBS))

define need_bats
	@command -v $(BATS) >/dev/null 2>&1 || { \
	  echo "make: bats is not installed. On Debian or Ubuntu: sudo apt-get install bats"; \
	  echo "      (and GNU parallel to run tests side by side: sudo apt-get install parallel)"; \
	  exit 1; } >&2
endef

test: all test-tools
	$(need_bats)
	SOCKLAB_BIN=$(BINDIR) SOCKLAB_VARIANT=$(VARIANT) $(BATS) $(bats_jobs) $(BATS_FLAGS) tests

# The sanitizer passes build their own variants, then run the suite on them.
# ThreadSanitizer runs only the files tagged "# bats file_tags=tsan".
check: check-asan check-tsan

check-asan:
	$(need_bats)
	$(MAKE) VARIANT=asan all test-tools
	SOCKLAB_BIN=build/asan SOCKLAB_VARIANT=asan $(BATS) $(bats_jobs) $(BATS_FLAGS) tests

check-tsan:
	$(need_bats)
	$(MAKE) VARIANT=tsan all test-tools
	SOCKLAB_BIN=build/tsan SOCKLAB_VARIANT=tsan $(BATS) $(bats_jobs) $(BATS_FLAGS) --filter-tags tsan tests

clean:
	rm -rf build $(patsubst lessons/%,lesson%,$(foreach d,$(LESSON_DIRS),lessons/$(call lesson_num,$(d))))

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)

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
