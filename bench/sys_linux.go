package main

import "syscall"

// childAttr makes the kernel kill a helper when the bench dies without
// stopping it, so no server is left listening.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
