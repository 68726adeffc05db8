// Package client is a Go client of ebb's server (and of ComfyUI's, as far
// as the protocol goes): submit a prompt, follow its events over the
// WebSocket, fetch its history entry and its images.
package client
