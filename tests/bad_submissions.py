"""The submissions of check_bad_submissions (tests/run.py): edits to lab 01's solution, kept
out of the student release with the solutions."""

# Submissions that misbehave as badly as they can: each must cost the test, never the grader.
# (name, edits to lab 01's solution as in tests/buggy, the test to run, the status expected)
BAD_SUBMISSIONS = [
    ("hangs", "//@@ replace\n\t\tif (msg.mtype == MSG_END)\n//@@ with\n\t\tif (0)\n//@@ end\n",
     "received_lines", "TIMEOUT"),
    ("crashes", "//@@ replace\n\tint msqid = -1;\n//@@ with\n\tint msqid = *(volatile int *)0;\n"
     "//@@ end\n", "received_lines", "CRASH"),
    ("forks without end", "//@@ replace\n\tint msqid = -1;\n//@@ with\n\tint msqid = -1;\n"
     "\tfor (;;)\n\t\tfork();\n//@@ end\n", "children_waited", "TIMEOUT"),
    ("floods its output", "//@@ replace\n\tint msqid = -1;\n//@@ with\n\tint msqid = -1;\n"
     "\tfor (long i = 0; i < 20000000; i++)\n\t\tputchar('y');\n//@@ end\n",
     "exact_output", "FAIL"),
    ("does not compile", "//@@ replace\n\tint msqid = -1;\n//@@ with\n\tint msqid = -1\n//@@ end\n",
     None, "FAIL"),
]
