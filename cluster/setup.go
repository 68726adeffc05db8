// setup.go: connecting, and making the streams, consumers and buckets.

package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebbgraph/ebb/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect connects to NATS at url, failing at once (no retry) when it
// cannot be reached; once connected it reconnects forever.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.Timeout(5*time.Second),
		nats.ReconnectBufSize(64<<20),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// Config is how the JetStream objects are made.
type Config struct {
	// AckWait is how long a worker may go without acking or marking its
	// prompt in progress before it is redelivered (default 30s).
	AckWait time.Duration
	// Replicas of every stream and bucket (default 1; 3 in a cluster).
	Replicas int
	// Memory stores everything in memory instead of files.
	Memory bool
	// MaxHistory bounds EBB_HISTORY: past it, the server purges the oldest
	// entries (default 10,000, as the server's own history).
	MaxHistory int
}

func (c Config) withDefaults() Config {
	if c.AckWait <= 0 {
		c.AckWait = defaultAckWait
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.MaxHistory <= 0 {
		c.MaxHistory = defaultMaxHistory
	}
	return c
}

// Ensure makes the streams, consumers and buckets ebb uses. With update,
// the consumers take cfg's AckWait even if they exist (the server does
// that); without it, existing objects are left as they are (a worker
// does that).
func Ensure(ctx context.Context, js jetstream.JetStream, cfg Config, update bool) error {
	cfg = cfg.withDefaults()
	storage := jetstream.FileStorage
	if cfg.Memory {
		storage = jetstream.MemoryStorage
	}
	streams := []jetstream.StreamConfig{
		{Name: StreamPrompts, Subjects: []string{SubjectRun, SubjectFront}, Retention: jetstream.WorkQueuePolicy,
			Storage: storage, Replicas: cfg.Replicas, Duplicates: 2 * time.Minute},
		{Name: StreamDLQ, Subjects: []string{"ebb.dlq.>"}, Storage: storage, Replicas: cfg.Replicas, MaxAge: 30 * 24 * time.Hour},
	}
	for _, sc := range streams {
		if _, err := js.Stream(ctx, sc.Name); err == nil && !update {
			continue
		}
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
	}
	for _, cc := range []jetstream.ConsumerConfig{
		{Durable: ConsumerRun, FilterSubject: SubjectRun},
		{Durable: ConsumerFront, FilterSubject: SubjectFront},
	} {
		cc.AckPolicy = jetstream.AckExplicitPolicy
		cc.AckWait = cfg.AckWait
		cc.MaxAckPending = 10000
		cc.MaxWaiting = 4096
		if _, err := js.Consumer(ctx, StreamPrompts, cc.Durable); err == nil && !update {
			continue
		}
		if _, err := js.CreateOrUpdateConsumer(ctx, StreamPrompts, cc); err != nil {
			return fmt.Errorf("consumer %s: %w", cc.Durable, err)
		}
	}
	for _, kc := range []jetstream.KeyValueConfig{
		{Bucket: BucketQueue, Description: "ebb: pending and running prompts"},
		{Bucket: BucketHistory, Description: "ebb: finished prompts' history entries"},
		{Bucket: BucketWorkers, Description: "ebb: worker counters"},
	} {
		if _, err := js.KeyValue(ctx, kc.Bucket); err == nil {
			continue
		} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("bucket %s: %w", kc.Bucket, err)
		}
		kc.Storage, kc.Replicas = storage, cfg.Replicas
		if _, err := js.CreateKeyValue(ctx, kc); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return fmt.Errorf("bucket %s: %w", kc.Bucket, err)
		}
	}
	if _, err := js.ObjectStore(ctx, BucketFiles); errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: BucketFiles, Description: "ebb: output files", Storage: storage, Replicas: cfg.Replicas})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return fmt.Errorf("object store %s: %w", BucketFiles, err)
		}
	} else if err != nil {
		return fmt.Errorf("object store %s: %w", BucketFiles, err)
	}
	return nil
}

// record is a queued prompt in EBB_QUEUE.
type record struct {
	Job      *server.Job `json:"job"`
	State    string      `json:"state"` // "pending" or "running"
	Worker   string      `json:"worker,omitempty"`
	Attempts int         `json:"attempts"`
}
