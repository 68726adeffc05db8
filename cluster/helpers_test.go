package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/cluster"
	"github.com/ebbgraph/ebb/server/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ebbBinary builds cmd/ebb once for the package's tests (with -race when
// the tests have it).
func ebbBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs ebb processes")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ebb-cluster-test-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ebb")
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/ebb")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is an ebb process; its stdout and stderr lines are kept.
type proc struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	added chan struct{} // signalled on every line
	done  chan struct{} // closed when it exited
	err   error
}

// start runs ebb args; the process is killed when the test ends.
func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, added: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd = exec.Command(ebbBinary(t), args...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rd sync.WaitGroup
	rd.Add(1)
	go func() {
		defer rd.Done()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.added <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		rd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", p.name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLine waits for a line containing s and returns it.
func (p *proc) waitLine(s string, within time.Duration) string {
	p.t.Helper()
	deadline := time.After(within)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.added:
		case <-p.done:
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			select {
			case <-p.added:
				continue
			default:
			}
			_ = n
			p.t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, s, p.output())
		case <-deadline:
			p.t.Fatalf("%s did not print %q within %v:\n%s", p.name, s, within, p.output())
		}
	}
}

// stop sends SIGTERM and waits for the exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("%s did not stop on SIGTERM", p.name)
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// freePort is a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serve is an "ebb serve" process with its embedded NATS server.
type serve struct {
	*proc
	URL, NATS string
	dataDir   string
	natsPort  int
}

// startServe starts ebb serve with an embedded NATS server storing under
// dataDir on natsPort (0: a free one), and args.
func startServe(t testing.TB, dataDir string, natsPort int, args ...string) *serve {
	t.Helper()
	if natsPort == 0 {
		natsPort = freePort(t)
	}
	dir := t.TempDir()
	all := append([]string{"serve", "--listen", "127.0.0.1:0", "--nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort),
		"--data-dir", dataDir, "--output-dir", filepath.Join(dir, "out"), "--temp-dir", filepath.Join(dir, "temp"),
		"--input-dir", filepath.Join(dir, "in")}, args...)
	p := start(t, "ebb serve", all...)
	line := p.waitLine("listening on http://", 60*time.Second)
	url := strings.Fields(line[strings.Index(line, "http://"):])[0]
	return &serve{proc: p, URL: url, NATS: fmt.Sprintf("nats://127.0.0.1:%d", natsPort), dataDir: dataDir, natsPort: natsPort}
}

// startWorker starts "ebb worker" on natsURL.
func startWorker(t testing.TB, natsURL, id string, args ...string) *proc {
	t.Helper()
	dir := t.TempDir() // a killed worker leaves its directories: the test removes them
	all := append([]string{"worker", "--nats", natsURL, "--id", id,
		"--output-dir", filepath.Join(dir, "out"), "--temp-dir", filepath.Join(dir, "temp")}, args...)
	p := start(t, "worker "+id, all...)
	p.waitLine("pulling prompts", 60*time.Second)
	return p
}

// js connects the test to NATS.
func js(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	j, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, j
}

// ctx ends with the test or after three minutes.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// workerStats reads a worker's counters from EBB_WORKERS.
func workerStats(t testing.TB, j jetstream.JetStream, id string) cluster.Stats {
	t.Helper()
	kv, err := j.KeyValue(ctx(t), cluster.BucketWorkers)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx(t), cluster.Key(id))
	if err != nil {
		return cluster.Stats{}
	}
	var st cluster.Stats
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFor polls cond (a read of real state, not a timer standing in for
// an event) every 20ms until it holds or within passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sleepWF is a workflow whose TestSleep runs seconds, then saves an image.
func sleepWF(seconds float64, value float64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
  "img": {"class_type": "StubImage", "inputs": {"content": "WHITE", "height": 8, "width": 8, "batch_size": 1}},
  "sleep": {"class_type": "TestSleep", "inputs": {"value": ["img", 0], "seconds": %g}},
  "save": {"class_type": "SaveImage", "inputs": {"images": ["sleep", 0], "filename_prefix": "t%g"}}
}`, seconds, value))
}

// connect returns a client and its WebSocket.
func connect(t testing.TB, url string) (*client.Client, *client.Conn) {
	t.Helper()
	c := client.New(url)
	conn, err := c.Connect(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return c, conn
}

// queueRecord reads a prompt's record in EBB_QUEUE.
func queueRecord(t testing.TB, j jetstream.JetStream, id string) (state, worker string, ok bool) {
	t.Helper()
	kv, err := j.KeyValue(ctx(t), cluster.BucketQueue)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx(t), cluster.Key(id))
	if err != nil {
		return "", "", false
	}
	var r struct {
		State  string `json:"state"`
		Worker string `json:"worker"`
	}
	json.Unmarshal(e.Value(), &r)
	return r.State, r.Worker, true
}

// historyRevisions counts the stored values of a prompt's entry.
func historyRevisions(t testing.TB, j jetstream.JetStream, id string) int {
	t.Helper()
	kv, err := j.KeyValue(ctx(t), cluster.BucketHistory)
	if err != nil {
		t.Fatal(err)
	}
	h, err := kv.History(ctx(t), cluster.Key(id))
	if err != nil {
		return 0
	}
	return len(h)
}
