#!/usr/bin/env python3
"""Watchers for scripts/compare-outputs.sh: a fixed population that exercises every way a target
is named (plain paths, a relative path, a file, a private tmpfs, a tmpfs mounted only in another
mount namespace, a chrooted watcher, a bind mount of a subtree, a pod volume whose pod directory
is gone but whose tmpfs another namespace pins), and a scripted burst of adds and removes.

  compare-population.py hold ROOT      sets up ROOT, starts the watchers, prints "ready", waits
  compare-population.py burst ROOT     adds, removes, deletes a watched dir, closes an instance
"""
import ctypes, os, subprocess, sys, time

libc = ctypes.CDLL(None, use_errno=True)
IN_CREATE, IN_DELETE, IN_MODIFY, IN_ALL = 0x100, 0x200, 0x2, 0xfff


def init():
    fd = libc.inotify_init1(0)
    assert fd >= 0
    return fd


def add(fd, path, mask=IN_CREATE | IN_DELETE):
    wd = libc.inotify_add_watch(fd, path.encode(), mask)
    if wd < 0:
        raise OSError(ctypes.get_errno(), path)
    return wd


def sh(*cmd):
    subprocess.run(cmd, check=True)


def watcher(setup):
    """Forks a child that runs setup() (which adds its watches) and then sleeps; returns once
    the watches are in place."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            setup()
            os.write(w, b"x")
            while True:
                time.sleep(3600)
        finally:
            os._exit(1)
    os.close(w)
    if os.read(r, 1) != b"x":
        raise SystemExit("a watcher failed to set up")
    os.close(r)
    return pid


def hold(root):
    for d in ("a/sub", "b", "t", "jail", "src", "bind", "ns", "pods/dead-pod/volumes/v", "pods/live-pod/volumes/v",
              "mounter/rootfs/var/lib/kubelet/pods/dead-pod/volumes/v"):
        os.makedirs(f"{root}/{d}", exist_ok=True)
    open(f"{root}/file", "w").close()
    sh("mount", "-t", "tmpfs", "tmpfs", f"{root}/t")
    os.makedirs(f"{root}/t/x")
    sh("mount", "-t", "tmpfs", "tmpfs", f"{root}/jail")
    os.makedirs(f"{root}/jail/d")
    sh("mount", "-t", "tmpfs", "tmpfs", f"{root}/src")
    os.makedirs(f"{root}/src/sub/in")
    sh("mount", "--bind", f"{root}/src/sub", f"{root}/bind")
    for pod in ("dead-pod", "live-pod"):
        sh("mount", "-t", "tmpfs", "tmpfs", f"{root}/pods/{pod}/volumes/v")
        open(f"{root}/pods/{pod}/volumes/v/token", "w").close()
    pids = []
    os.chdir(root)
    fds = {}

    def plain():
        fd = init()
        add(fd, f"{root}/a")
        add(fd, f"{root}/a/sub", IN_ALL)
        add(fd, "b")  # relative to the cwd
        add(fd, f"{root}/file", IN_MODIFY)
        add(fd, f"{root}/t/x")
        add(fd, f"{root}/bind/in")
        add(fd, f"{root}/pods/dead-pod/volumes/v")
        add(fd, f"{root}/pods/live-pod/volumes/v")
        fd2 = init()
        add(fd2, "/etc", IN_CREATE)
    pids.append(watcher(plain))

    def jailed():
        fd = init()
        os.chroot(f"{root}/jail")
        os.chdir("/")
        add(fd, "/d")
    pids.append(watcher(jailed))

    # A tmpfs mounted only in a child's private namespace, watched there.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        libc.unshare(0x00020000)  # CLONE_NEWNS
        sh("mount", "--make-rprivate", "/")
        sh("mount", "-t", "tmpfs", "tmpfs", f"{root}/ns")
        os.makedirs(f"{root}/ns/d")
        fd = init()
        add(fd, f"{root}/ns/d")
        # Pin the dead pod's volume here, as kubelet's containerized mounter does (its rootfs
        # holds a copy of the pods tree).
        sh("mount", "--bind", f"{root}/pods/dead-pod/volumes/v",
           f"{root}/mounter/rootfs/var/lib/kubelet/pods/dead-pod/volumes/v")
        os.write(w, b"x")
        while True:
            time.sleep(3600)
    os.close(w)
    os.read(r, 1)
    pids.append(pid)
    time.sleep(0.3)
    # The pod is deleted: its volume unmounted here and its directory removed; the watch stays
    # on the tmpfs the other namespace still mounts.
    sh("umount", "-l", f"{root}/pods/dead-pod/volumes/v")
    sh("rm", "-rf", f"{root}/pods/dead-pod")
    print("ready", " ".join(map(str, pids)), flush=True)
    while True:
        time.sleep(3600)


def burst(root):
    libc.prctl(15, b"itr-burst", 0, 0, 0)  # PR_SET_NAME: the captures keep this comm's events
    os.makedirs(f"{root}/burst/gone", exist_ok=True)
    fd = init()
    wds = [add(fd, f"{root}/burst"), add(fd, f"{root}/burst/gone"), add(fd, f"{root}/a", IN_MODIFY)]
    time.sleep(0.2)
    libc.inotify_rm_watch(fd, wds[0])
    os.rmdir(f"{root}/burst/gone")
    time.sleep(0.2)
    fd2 = init()
    add(fd2, f"{root}/t/x", IN_ALL)
    os.close(fd2)
    time.sleep(0.2)
    os.close(fd)


if __name__ == "__main__":
    {"hold": hold, "burst": burst}[sys.argv[1]](sys.argv[2])
