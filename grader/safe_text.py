"""Text that a submission may have influenced (its output, compiler messages, file names),
made safe to show in a terminal, a web page or a spreadsheet."""


def _escapes():
    """{code point: its visible escape} for printable(), built on first use."""
    table = getattr(_escapes, "table", None)
    if table is None:
        hidden = ([c for c in range(0x20) if c not in (0x09, 0x0a)]  # C0 but tab, newline
                  + list(range(0x7f, 0xa0))  # DEL, C1 (CSI, NEL, ...)
                  + [0x061c, 0x2028, 0x2029, 0xfeff]  # Arabic letter mark, line breaks, BOM
                  + list(range(0x200b, 0x2010))  # zero-width, LRM, RLM
                  + list(range(0x202a, 0x202f))  # bidi embeddings and overrides
                  + list(range(0x2060, 0x2070)))  # invisible operators, bidi isolates
        table = {c: "\\x%02x" % c if c < 0x100 else "\\u%04x" % c for c in hidden}
        table.update({0x00: "\\0", 0x0d: "\\r"})
        # Surrogates: U+DC80-U+DCFF are bytes a path or argument did not decode as UTF-8.
        table.update({c: "\\x%02x" % (c - 0xdc00) if 0xdc80 <= c <= 0xdcff else "\\u%04x" % c
                      for c in range(0xd800, 0xe000)})
        _escapes.table = table
    return table


def printable(text):
    """text as it may be shown in the terminal report, results.json or the CSV, when a
    submission could have influenced it (its output, compiler messages, file names): every
    control character but newline and tab (C0, DEL, C1), every Unicode character that can hide
    or reorder text (zero-width, bidi controls, BOM, line separators) and any surrogate become
    visible escapes (\\x1b, \\0, \\r, \\u202e; \\xHH for a byte that did not decode), so the
    text cannot move the cursor, change colours, hide itself or break a line."""
    return text.translate(_escapes())


def indented(text, prefix):
    """printable(text) with each of its lines after the first indented by prefix, so that no
    line of it can pass for one of the grader's own (which start at most 2 spaces in)."""
    return printable(text).replace("\n", "\n" + prefix)


def read_transcript(path):
    """A file the program's output went into, as text: read as bytes (it may hold anything),
    bytes that are not UTF-8 shown as \\xHH."""
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="backslashreplace")


def lines_of(text):
    """text's lines, each with its newline: split at newlines only, not at the CR, form feeds
    and Unicode separators where str.splitlines() would split."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]
