// names.go: streams, buckets, subjects, and how a prompt id becomes a key.

package cluster

import (
	"encoding/base64"
	"strings"
)

// Names of what ebb keeps in JetStream.
const (
	StreamPrompts     = "EBB_PROMPTS"
	StreamDLQ         = "EBB_DLQ"
	BucketQueue       = "EBB_QUEUE"
	BucketHistory     = "EBB_HISTORY"
	BucketWorkers     = "EBB_WORKERS"
	BucketFiles       = "EBB_FILES"
	ConsumerRun       = "ebb-run"
	ConsumerFront     = "ebb-front"
	SubjectRun        = "ebb.prompts.run"
	SubjectFront      = "ebb.prompts.front"
	SubjectDLQ        = "ebb.dlq.prompts"
	SubjectEvents     = "ebb.events."
	SubjectInterr     = "ebb.ctl.interrupt"
	SubjectFree       = "ebb.ctl.free"
	HeaderClient      = "Ebb-Client"
	HeaderFinal       = "Ebb-Final"
	HeaderReason      = "Ebb-Reason"
	HeaderSubject     = "Ebb-Subject"
	HeaderWorker      = "Ebb-Worker"
	defaultMaxHistory = 10_000
	defaultAckWait    = 30_000_000_000 // 30s, in nanoseconds (time.Duration)
)

// Key is the KV key (and subject token) of a prompt id: the id itself when
// it is made of letters, digits, '-' and '_' and does not start with '_',
// else '_' and the id in unpadded base64url. It is one-to-one.
func Key(id string) string {
	if id != "" && id[0] != '_' && len(id) <= 200 && strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0 {
		return id
	}
	return "_" + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// IDOf inverts Key.
func IDOf(key string) (string, bool) {
	if !strings.HasPrefix(key, "_") {
		return key, key != ""
	}
	b, err := base64.RawURLEncoding.DecodeString(key[1:])
	return string(b), err == nil
}

// fileName is the object name of an output file.
func fileName(typ, sub, name string) string {
	if sub == "" {
		return typ + "/" + name
	}
	return typ + "/" + sub + "/" + name
}
