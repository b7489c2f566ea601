# msglab: System V message queue labs, their autograder, and the suite that tests the grader.
#
#   make grade [LAB=01] [SUBMISSION=labs] [TEST=name] [RESULTS=results.json] [SEED=n]
#   make grade-class CLASS=dir [OUT=dir] [JOBS=n]   grade every submission of a class
#   make test         the self-tests (what CI runs)
#   make skeletons    regenerate labs/ from solutions/ (instructors)
#   make student-release OUT=dir   what students get: no solution, no hidden test
#   make gradescope [OUT=file.zip] [LAB=01,05]   Gradescope's autograder zip
#   make handouts [SITE=dir]   refresh the handouts' tables; the site in build/site
#   make demo LAB=01 [SCENARIO=] [SUBMISSION=dir] [STEP=1] [SPEED=1] [SVG=file]   watch messages move
#   make msgtop [DELAY=ms]   every message queue here, live; s sends, r receives
#   make ipc-bench [SVG=file]   System V queues against pipes, POSIX queues, Unix sockets
#   make screenshots  the README's pictures (docs/screenshots), taken from real runs
#   make bench [LAB=] [COPIES=40] [JOBS=] [CLASS_LAB=01|all]   grading cost vs its floor; class speed
#   make check-style  clang-format and cppcheck on our own C code

CC       ?= cc
CFLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -g
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer
CRITERION = $(shell pkg-config --cflags --libs criterion 2>/dev/null || echo -lcriterion)
PYTHON   ?= python3

LABS      := $(patsubst grader/%/rubric.json,%,$(wildcard grader/*/rubric.json))
HARNESS   := grader/lib/harness.c grader/lib/report.c grader/lib/cases.c grader/lib/harness.h \
	grader/lib/strace_record.c grader/lib/strace_record.h \
	grader/lib/cases.h grader/lib/placeholders.c grader/lib/placeholders.h
# Programs a lab's tests run inside the sandbox (grader/LAB/tools/NAME.c): never sanitized.
LAB_TOOL_SRC := $(wildcard grader/*/tools/*.c)
LAB_TOOLS := $(patsubst grader/%.c,build/grader/%,$(LAB_TOOL_SRC))
ASAN_LAB_TOOLS := $(patsubst grader/%.c,build/asan/grader/%,$(LAB_TOOL_SRC))
TOOLS     := build/bin/msglab-run build/bin/bare-run build/bin/msgflow \
	$(LABS:%=build/grader/%/tests) \
	$(LAB_TOOLS)
ASAN_TOOLS := build/asan/bin/msglab-run \
	$(LABS:%=build/asan/grader/%/tests) $(ASAN_LAB_TOOLS)
# Each tests/kernel/*.c is a suite of its own (model_vs_kernel.c also needs lab 02's model).
KERNEL_TESTS := $(patsubst tests/kernel/%.c,build/asan/tests/kernel/%,$(wildcard tests/kernel/*.c))
SELFTESTS := build/asan/tests/harness $(KERNEL_TESTS) build/tests/misbehave \
	build/asan/tests/strace_record build/tests/no-namespaces build/bin/ipc-bench

# Our own C code (labs/ is generated from solutions/; tests/hostile holds attacks, not ours).
OWN_C = $(shell find grader solutions tests demo -path tests/hostile -prune -o -name '*.[ch]' -print | sort)

GRADE_ARGS = $(if $(LAB),--lab $(LAB)) $(if $(SUBMISSION),--submission $(SUBMISSION)) \
	$(if $(TEST),--test $(TEST)) $(if $(RESULTS),--results-json $(RESULTS)) \
	$(if $(CSV),--csv $(CSV)) $(if $(STUDENT),--student $(STUDENT)) $(if $(SEED),--seed $(SEED)) \
	$(if $(JUNIT),--junit $(JUNIT)) $(if $(AUTOLAB),--autolab)

.PHONY: all deps tools grade grade-class test skeletons handouts bench soak student-release demo msgtop \
	ipc-bench screenshots \
	gradescope check-style clean
.SECONDEXPANSION:

all: tools

deps:
	@sh grader/ensure-deps.sh

# What the packages give comes first; order-only, so that it never makes anything rebuild, and
# no sub-make prints "is up to date" for every tool.
$(TOOLS) $(ASAN_TOOLS) $(SELFTESTS): | deps

tools: $(TOOLS)

grade: tools
	@$(PYTHON) grader/grade.py $(GRADE_ARGS)

# A whole class: one folder, .zip or .tar.gz per student in CLASS.
grade-class: tools
	@test -n "$(CLASS)" || { echo "usage: make grade-class CLASS=dir [OUT=dir] [JOBS=n] [LAB=01,05] [SEED=n]"; exit 2; }
	@$(PYTHON) grader/classgrade.py $(CLASS) $(if $(OUT),--out $(OUT)) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(LAB),--lab $(LAB)) $(if $(SEED),--seed $(SEED))

# The builds in parallel (a minute less on 2 cores), the checks in order.
test:
	@$(MAKE) --no-print-directory -j$$(nproc) tools $(ASAN_TOOLS) $(SELFTESTS)
	@$(PYTHON) tests/run.py $(if $(FULL),--full)

skeletons:
	@$(PYTHON) grader/skeleton.py --write $(if $(FORCE),--force)

# The tables first, then the site: pages, diagrams from real runs, manual pages, ipc-bench.
handouts: tools build/bin/ipc-bench
	@test -f grader/handout_site.py || { echo "make handouts: the handouts' site is made from \
	the instructors' repository; here they are Markdown, in handouts/"; exit 2; }
	@$(PYTHON) grader/handout.py --write
	@$(PYTHON) grader/handout_site.py $(if $(SITE),--out $(SITE))

demo: tools
	@$(PYTHON) demo/demo.py $(if $(LAB),--lab $(LAB)) $(if $(SUBMISSION),--submission $(SUBMISSION)) \
		$(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(STEP),--step) $(if $(SPEED),--speed $(SPEED)) \
		$(if $(SVG),--svg $(SVG))

bench: tools
	@$(PYTHON) grader/bench.py $(if $(LAB),--lab $(LAB)) $(if $(COPIES),--copies $(COPIES)) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(CLASS_LAB),--class-lab $(CLASS_LAB))

soak: tools
	@$(PYTHON) tests/soak.py $(if $(N),-n $(N)) $(if $(PARALLEL),--parallel $(PARALLEL)) \
		$(if $(HOGS),--hogs $(HOGS)) $(if $(BURST),--burst $(BURST)) $(if $(LAB),--labs $(LAB)) \
		$(if $(QUICK),--quick)

# What students get: handouts, skeletons, the grader and its visible tests; no solution.
student-release: tools
	@test -n "$(OUT)" || { echo "usage: make student-release OUT=dir [LAB=01,05] [HIDE=01:test]"; exit 2; }
	@$(PYTHON) grader/release.py $(OUT) $(if $(LAB),--labs $(LAB)) $(if $(HIDE),--hide $(HIDE))

# Gradescope's autograder zip: setup.sh, run_autograder, the grader with every test.
gradescope: tools
	@$(PYTHON) grader/gradescope_bundle.py $(or $(OUT),msglab-gradescope.zip) $(if $(LAB),--labs $(LAB))

check-style:
	clang-format --dry-run --Werror $(OWN_C)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--library=tests/style/criterion.cfg -Igrader/lib -Igrader/02-typed-selection \
		-Igrader/03-nowait \
		--suppress=missingIncludeSystem --inline-suppr $(filter %.c,$(OWN_C))

SANDBOX_SRC := $(wildcard grader/sandbox/*.c grader/sandbox/*.h) $(wildcard grader/lib/strace_record.h)

# Static: a run execs it three times (outside, as the sandbox's PID 1, as the launcher), and a
# static binary starts without the dynamic loader's work.
build/bin/msglab-run: $(SANDBOX_SRC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@.tmp $(filter %.c,$^) && mv $@.tmp $@

# The demos' events from a call record (demo/msgflow.c).
build/bin/msgflow: demo/msgflow.c grader/lib/strace_record.c grader/lib/strace_record.h \
	grader/lib/harness.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@.tmp $(filter %.c,$^) && mv $@.tmp $@

# The live queue viewer (ncurses: Debian's libncurses-dev), for classrooms.
build/bin/msgtop: demo/msgtop.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@.tmp $< -lncurses && mv $@.tmp $@

msgtop: build/bin/msgtop
	@build/bin/msgtop $(if $(DELAY),-d $(DELAY))

# System V queues against pipes, POSIX queues and Unix sockets (demo/ipc-bench.c).
build/bin/ipc-bench: demo/ipc-bench.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@.tmp $< -lrt && mv $@.tmp $@

ipc-bench: build/bin/ipc-bench
	@$(PYTHON) demo/ipc_plot.py $(if $(SVG),--svg $(SVG))

# The README's pictures: the demo, msgtop and the handouts' site, captured from real runs.
screenshots: tools build/bin/msgtop
	@test -f demo/screenshots.py || { echo "make screenshots: only in the instructors' \
	repository"; exit 2; }
	@$(PYTHON) demo/screenshots.py $(if $(OUT),--out $(OUT))

# make bench's floor: a graded run again, bare (grader/bench/bare-run.c says how).
build/bin/bare-run: grader/bench/bare-run.c grader/lib/placeholders.c grader/lib/placeholders.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@.tmp $(filter %.c,$^) && mv $@.tmp $@

build/asan/bin/msglab-run: $(SANDBOX_SRC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -o $@.tmp $(filter %.c,$^) && mv $@.tmp $@

LAB_HEADERS := $(wildcard grader/*/*.h solutions/*/*.h)

$(LAB_TOOLS): build/grader/%: grader/%.c $(LAB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -Igrader/lib -I$(<D)/.. -o $@.tmp $< && mv $@.tmp $@

$(ASAN_LAB_TOOLS): build/asan/grader/%: grader/%.c $(LAB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -Igrader/lib -I$(<D)/.. -o $@.tmp $< && mv $@.tmp $@

build/asan/tests/harness: tests/harness/harness_tests.c $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -Igrader/lib -o $@.tmp $(filter %.c,$^) $(CRITERION) && mv $@.tmp $@

build/asan/tests/kernel/model_vs_kernel: grader/02-typed-selection/model.c \
	grader/02-typed-selection/model.h

# The grader's prediction for lab 03, checked against the kernel.
build/asan/tests/kernel/facts_03: grader/03-nowait/fill_model.c grader/03-nowait/fill_model.h

build/asan/tests/kernel/%: tests/kernel/%.c $(wildcard tests/kernel/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -Igrader/02-typed-selection -Igrader/03-nowait \
		-o $@.tmp $(filter %.c,$^) \
		$(CRITERION) && mv $@.tmp $@

# Docker's default seccomp profile, as far as namespaces go: for the container mode's tests.
build/tests/no-namespaces: tests/container/no-namespaces.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@.tmp $< && mv $@.tmp $@

build/tests/misbehave: tests/harness/misbehave.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@.tmp $< && mv $@.tmp $@

# The strace record parser on real strace output: the test runs strace_scenarios (found next to
# it) under strace. The scenarios are never sanitized: ASan's own clones and threads would
# show up in the record.
build/asan/tests/strace_scenarios: tests/trace/strace_scenarios.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@.tmp $< && mv $@.tmp $@

build/asan/tests/strace_record: tests/trace/strace_record_tests.c grader/lib/strace_record.c \
	grader/lib/strace_record.h grader/lib/harness.h tests/kernel/private_ipc.h \
	build/asan/tests/strace_scenarios
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -Igrader/lib -o $@.tmp $(filter %.c,$^) $(CRITERION) && mv $@.tmp $@

build/grader/%/tests: $$(wildcard grader/%/*.c grader/%/*.h solutions/%/*.h) $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Igrader/lib -Igrader/$* -o $@.tmp $(filter %.c,$^) $(CRITERION) && mv $@.tmp $@

build/asan/grader/%/tests: $$(wildcard grader/%/*.c grader/%/*.h solutions/%/*.h) $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -Igrader/lib -Igrader/$* -o $@.tmp $(filter %.c,$^) $(CRITERION) && mv $@.tmp $@

clean:
	rm -rf build results
