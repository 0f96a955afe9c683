//go:build unix

package main

import "syscall"

// restrictUmask makes every file the server creates (the database and its
// journal included) readable by its owner only.
func restrictUmask() { syscall.Umask(0o077) }
