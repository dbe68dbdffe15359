/* Opens its inotify instance from one named function and creates one watch from each of two
 * others, then holds them until stdin closes: the live test of creation stacks
 * (tests/live/stacks_live_test.cpp) tells them apart by name. Built with frame pointers, as the
 * walk needs. usage: stkprobe_c DIR_A DIR_B | stkprobe_c --deep DIR (one watch 100 frames deep) */
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

__attribute__((noinline)) int open_instance_from_gamma(void)
{
	int fd = inotify_init1(IN_CLOEXEC);
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame stays on the stack */
	return fd;
}

__attribute__((noinline)) int add_watch_from_alpha(int fd, const char *dir)
{
	int wd = inotify_add_watch(fd, dir, IN_CREATE);
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame stays on the stack */
	return wd;
}

__attribute__((noinline)) int add_watch_from_beta(int fd, const char *dir)
{
	int wd = inotify_add_watch(fd, dir, IN_DELETE);
	__asm__ volatile("" ::: "memory");
	return wd;
}

/* 100 frames deep, then one watch: deeper than the 64 frames a stack keeps. */
__attribute__((noinline)) int recurse_then_add(int fd, const char *dir, int depth)
{
	int wd = depth ? recurse_then_add(fd, dir, depth - 1) : inotify_add_watch(fd, dir, IN_CREATE);
	__asm__ volatile("" ::: "memory");
	return wd;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int fd = open_instance_from_gamma();
	if (fd < 0)
		return 1;
	if (!strcmp(argv[1], "--deep")) {
		if (recurse_then_add(fd, argv[2], 100) < 0)
			return 1;
	} else if (add_watch_from_alpha(fd, argv[1]) < 0 || add_watch_from_beta(fd, argv[2]) < 0) {
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
