#!/usr/bin/env python3
"""ptyplay.py CMD... -- PROMPT=ANSWER...: run CMD on a new pseudo-terminal and play the
operator: type each ANSWER (and a newline) once PROMPT has been shown, in order. Every wait
is bounded (60 s in all); prints what the terminal showed and exits with CMD's status.
An answer is typed only after its prompt because a prompt that turns echo off flushes
typed-ahead input (TCSAFLUSH)."""
import os
import pty
import select
import sys
import time

sep = sys.argv.index("--")
argv, answers = sys.argv[1:sep], sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
shown, deadline = b"", time.monotonic() + 60


def read_more():
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([fd], [], [], left)[0]:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the child closed the terminal
        return b""


for a in answers:
    prompt, text = a.split("=", 1)
    while prompt.encode() not in shown:
        chunk = read_more()
        if not chunk:
            sys.stdout.write(shown.decode(errors="replace"))
            sys.exit("ptyplay: %s before the prompt %r"
                     % ("timed out" if chunk is None else "ended", prompt))
        shown += chunk
    shown = shown.replace(prompt.encode(), b"[" + prompt.strip().encode() + b"]", 1)
    os.write(fd, text.encode() + b"\n")
while True:
    chunk = read_more()
    if chunk is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.stdout.write(shown.decode(errors="replace"))
        sys.exit("ptyplay: timed out waiting for the command to end")
    if not chunk:
        break
    shown += chunk
status = os.waitpid(pid, 0)[1]
sys.stdout.write(shown.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
