//go:build !unix

package server_test

import "syscall"

// setRecvBuffer leaves the buffer as it is where there is no setsockopt.
func setRecvBuffer(syscall.RawConn, int) error { return nil }
