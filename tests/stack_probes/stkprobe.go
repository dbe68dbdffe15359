// Creates one watch from a named Go function, then holds it until stdin closes: the live test of
// creation stacks symbolises it through .gopclntab, also with the binary stripped.
// usage: stkprobe_go DIR
package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

//go:noinline
func addWatchFromGo(fd int, dir string) int {
	wd, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return wd
}

func main() {
	if len(os.Args) != 2 {
		os.Exit(2)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		os.Exit(1)
	}
	addWatchFromGo(fd, os.Args[1])
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}
