package server_test

import (
	"net/http"
	"runtime"
	"testing"

	"github.com/ebbgraph/ebb/server/client"
)

// Close interrupts the running prompt, disconnects every WebSocket client
// and ends every goroutine the server started: the goroutine count comes
// back to what it was before the server started.
func TestCloseEndsGoroutines(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()
	ts := start(t, defaults())
	c, conn := ts.client(t)
	ok(t, run(t, c, conn, small(0.5)))
	for range 3 { // idle clients
		ts.client(t)
	}
	dialSlow(t, ts)
	blk := submit(t, c, client.Request{Prompt: blocker().raw()})
	waitFor(t, conn, executingNode(blk, "sleep"))
	submit(t, c, client.Request{Prompt: small(0.25).raw()}) // stays pending

	ts.stop()
	// The client sees the interrupt, then its socket close.
	var interrupted bool
	for {
		m, err := conn.Next(ctx(t))
		if err != nil {
			break
		}
		interrupted = interrupted || (m.Type == "execution_interrupted" && m.PromptID() == blk)
	}
	if !interrupted {
		t.Error("the running prompt was not interrupted")
	}
	http.DefaultClient.CloseIdleConnections()
	waitGoroutines(t, before)
}
