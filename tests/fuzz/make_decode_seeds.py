#!/usr/bin/env python3
"""Writes corpus/decode/: one record of each kind the BPF side emits, packed as
include/inotrace/events.h lays them out, with field values from a real `inotrace trace --json`
run on this machine (inotifywait -r, a failed add, a kernfs watch, rmdir); the instance pointer
is replaced by a made-up one so no kernel address of a real machine is committed."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "decode")
GROUP, SEQ = 0xFFFF888012345678, 1010293442253
TASK = dict(pid=14917, tid=14917, uid=0, cgroup_id=1, comm=b"inotifywait")
UCOUNT = (100001, 192530, 0, 4026531837)
IN_ALL = 0xFFF


def hdr(rtype, size, flags=0, ts=1010293442253 + 500000):
    return struct.pack("<HHIQ", rtype, size, flags, ts)


def task(t=TASK):
    return struct.pack("<IIIIQ16s", t["pid"], t["tid"], t["uid"], 0, t["cgroup_id"], t["comm"])


STACK = (0x7F7650AA6D67, 0x55D0C0DE1234, 0x55D0C0DE10AE, 0x7F76509C424A)  # libc wrapper, callers
TOP_WORD = 0x55D0C0DE1230


def watch(rtype, kind, tail, flags=0, wd=1, ino=10952994, dev=254 << 20, mask=IN_ALL, req=IN_ALL, err=0, reason=0, mnt=0,
          stack=()):
    stack_off = (152 + len(tail) + 7) & ~7
    size = stack_off + 8 * len(stack) if stack else 152 + len(tail)
    body = hdr(rtype, size, flags) + task() + struct.pack("<QQQIiiIIi", GROUP, SEQ, ino, dev, 3, wd, mask, req, err)
    body += struct.pack("<qqII", *UCOUNT) + struct.pack("<BBHi", reason, kind, len(tail), mnt)
    body += struct.pack("<HhIQ", 8 * len(stack), 0, 0, TOP_WORD if stack else 0)
    assert len(body) == 152
    body += tail
    if stack:
        body += b"\0" * (stack_off - len(body)) + struct.pack(f"<{len(stack)}Q", *stack)
    return body


def instance(rtype, err=0, flags=0, stack=()):
    size = 120 + 8 * len(stack)
    body = hdr(rtype, size) + task() + struct.pack("<QQiiIHh", GROUP, SEQ, 3, err, flags, 8 * len(stack), 0)
    body += struct.pack("<qqII", 101, 128, 0, 4026531837) + struct.pack("<Q", TOP_WORD if stack else 0)
    assert len(body) == 120
    return body + struct.pack(f"<{len(stack)}Q", *stack)


def snap_instance():
    body = hdr(17, 104, 0) + struct.pack("<IiQ16s", 14917, 3, GROUP, b"inotifywait") + struct.pack("<qqII", *UCOUNT)
    body += struct.pack("<IIQqq", 0, 2, 0, 1, 128)  # uid, nr_marks, digest, user_instances, max_user_instances
    assert len(body) == 104
    return body


def snap_watch(kind, tail):
    body = hdr(16, 48 + len(tail)) + struct.pack("<QQIiIBBH", GROUP, 10952994, 254 << 20, 1, IN_ALL, kind, 0, len(tail))
    assert len(body) == 48
    return body + tail


SEEDS = {
    "add-user-path": watch(1, 1, b"/tmp/ci-seed/d1/sub dir/\0"),
    "update-user-path": watch(2, 1, b"/tmp/ci-seed/d1/\0", mask=IN_ALL | 0x20000000, req=IN_ALL | 0x20000000),
    "add-failed-enoent": watch(3, 1, b"/nonexistent\0", wd=-1, ino=0, dev=0, mask=0, err=2),
    "add-kernfs": watch(1, 3, b"cgroup\0fs\0", dev=0x1A, ino=1),
    "add-user-cwd": watch(1, 4, b"sub dir\0d1\0ci-seed\0tmp\0", mnt=25),
    "remove-dentry-inode-deleted": watch(4, 2, b"d2\0ci-seed\0tmp\0", reason=2, flags=1 << 2),
    "remove-truncated-mark-gone": watch(4, 2, b"x" * 200, reason=6, flags=3),
    "add-user-path-stack": watch(1, 1, b"/tmp/ci-seed/d1/\0", stack=STACK),
    "instance-create": instance(5),
    "instance-create-stack": instance(5, stack=STACK),
    "instance-destroy": instance(6),
    "init-failed-emfile": instance(7, err=24, flags=0o4000),
    "snap-instance": snap_instance(),
    "snap-watch-dentry": snap_watch(2, b"sub dir\0d1\0ci-seed\0tmp\0"),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} records in {OUT}")
