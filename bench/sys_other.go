//go:build !linux

package main

import "syscall"

// childAttr has nothing to add where there is no parent-death signal; the
// helpers still exit when their stdin closes.
func childAttr() *syscall.SysProcAttr { return nil }
