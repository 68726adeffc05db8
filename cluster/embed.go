// embed.go: the embedded NATS server with JetStream.

package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream running in this process.
type Embedded struct {
	ns *natsserver.Server
}

// StartEmbedded starts a NATS server with JetStream storing its files
// under storeDir, listening on listen (host:port; port 0 picks one). The
// host must be a loopback address: the embedded server has no
// authentication, so it never listens beyond this machine.
func StartEmbedded(listen, storeDir string) (*Embedded, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("nats listen address %q: bad port", listen)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("nats listen address %q: the embedded NATS server listens on loopback only (run a NATS cluster and pass --nats URL to reach other machines)", listen)
	}
	if storeDir == "" {
		return nil, errors.New("embedded NATS: no data directory")
	}
	if port == 0 {
		port = -1 // nats-server's "random port"
	}
	opts := &natsserver.Options{
		ServerName: "ebb",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 64 << 20,
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS on %s did not start (is the port in use?)", listen)
	}
	return &Embedded{ns: ns}, nil
}

// URL is the nats:// URL clients connect to.
func (e *Embedded) URL() string { return e.ns.ClientURL() }

// Close shuts the server down and waits for it.
func (e *Embedded) Close() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}
