package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/cluster"
	"github.com/ebbgraph/ebb/server/client"
)

// EBB_HISTORY is bounded: past MaxHistory entries the server purges the
// oldest, in the bucket as in its own history.
func TestHistoryBucketBounded(t *testing.T) {
	bc := startCluster(t, 1, 1, cluster.Config{MaxHistory: 3})
	bc.start()
	c := client.New(bc.URL)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		id := fmt.Sprint("h", i)
		if _, err := c.Submit(ctx, client.Request{Prompt: smallPrompt(0, float64(i)), PromptID: id, NoClientID: true}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		waitFor(t, 20*time.Second, "prompt "+id+" in the history", func() bool {
			_, found, err := c.History(ctx, id)
			return err == nil && found
		})
	}
	hist, err := bc.js.KeyValue(ctx, cluster.BucketHistory)
	if err != nil {
		t.Fatal(err)
	}
	keysNow := func() []string {
		lister, err := hist.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range lister.Keys() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	waitFor(t, 20*time.Second, "three history entries in the bucket", func() bool { return len(keysNow()) == 3 })
	want := []string{cluster.Key("h2"), cluster.Key("h3"), cluster.Key("h4")}
	slices.Sort(want)
	if got := keysNow(); !slices.Equal(got, want) {
		t.Fatalf("bucket keys %v, want %v", got, want)
	}
	waitFor(t, 20*time.Second, "the server's history trimmed too", func() bool {
		_, found, _ := c.History(ctx, "h0")
		return !found
	})
}
