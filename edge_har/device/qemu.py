"""Programs under QEMU, talking over their serial line on QEMU's standard input and output."""

from __future__ import annotations

import os
import queue
import subprocess
import threading


def first_line(command: list[str], marker: str, timeout_s: float, title: str) -> str:
    """Run `command` until it prints a line holding `marker` (the program then idles; QEMU is stopped)."""
    qemu = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True)
    lines: queue.Queue[str] = queue.Queue()
    output = qemu.stdout
    assert output is not None  # stdout=PIPE

    def forward() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=timeout_s)
            if marker in line:
                return line
    except queue.Empty:
        raise RuntimeError(f"the {title} program printed nothing in {timeout_s:.0f} s under QEMU") from None
    finally:
        qemu.kill()
        qemu.wait()


def exchange(command: list[str], request: bytes, reply_bytes: int, timeout_s: float, title: str) -> bytes:
    """Send `request` to the program's serial line and read `reply_bytes` back."""
    qemu = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert qemu.stdin is not None and qemu.stdout is not None  # both PIPE
    writer = threading.Thread(target=_write_all, args=(qemu.stdin, request), daemon=True)
    writer.start()
    reply = bytearray()
    done = threading.Event()

    def read() -> None:
        assert qemu.stdout is not None
        while len(reply) < reply_bytes:
            chunk = os.read(qemu.stdout.fileno(), reply_bytes - len(reply))
            if not chunk:
                break
            reply.extend(chunk)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    finished = done.wait(timeout_s)
    qemu.kill()
    qemu.wait()
    if not finished or len(reply) < reply_bytes:
        raise RuntimeError(f"the {title} program answered {len(reply)} of {reply_bytes} bytes in {timeout_s:.0f} s")
    return bytes(reply)


def _write_all(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.flush()
    except BrokenPipeError:
        pass
