// concurrent.go: the concurrency case: many goroutines allocating and freeing at once while Stats is read.

package devicetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
)

func (s suite) concurrent(t *testing.T) {
	d := s.open(t)
	const (
		workers = 16
		held    = 4 // per worker: 16*4*256 KiB = 16 MiB < Capacity
		churn   = 100
		maxSize = 256 << 10
	)
	var barrier1, barrier2, done sync.WaitGroup
	barrier1.Add(workers)
	barrier2.Add(1)
	sums := make([]int64, workers)
	kept := make([][]device.Buffer, workers)
	errs := make(chan error, workers+1)
	stop := make(chan struct{})
	go func() { // read Stats while the workers run
		for {
			select {
			case <-stop:
				return
			default:
				if st := d.Stats(); st.InUse > st.Peak || st.InUse < 0 || st.Peak > Capacity {
					errs <- fmt.Errorf("inconsistent Stats during churn: %+v", st)
					return
				}
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	for w := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			alloc := func() (device.Buffer, error) {
				n := rng.Int64N(maxSize) + 1
				b, err := d.Alloc(context.Background(), n)
				if err == nil && b.Bytes() != n {
					err = fmt.Errorf("Alloc(%d).Bytes() = %d", n, b.Bytes())
				}
				return b, err
			}
			var mine []device.Buffer
			for range held {
				b, err := alloc()
				if err != nil {
					errs <- err
					barrier1.Done()
					return
				}
				mine = append(mine, b)
				sums[w] += b.Bytes()
			}
			barrier1.Done()
			barrier2.Wait()
			for range churn {
				b, err := alloc()
				if err != nil {
					errs <- err
					return
				}
				j := rng.IntN(len(mine))
				if err := d.Free(mine[j]); err != nil {
					errs <- err
					return
				}
				sums[w] += b.Bytes() - mine[j].Bytes()
				mine[j] = b
			}
			kept[w] = mine
		}()
	}
	barrier1.Wait()
	var total int64
	for _, n := range sums {
		total += n
	}
	if st := d.Stats(); st.InUse != total || st.Peak < total {
		t.Errorf("after concurrent allocs: Stats() = %+v, want InUse %d and Peak >= it", st, total)
	}
	barrier2.Done()
	done.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total = 0
	ids := map[uint64]bool{}
	for w := range workers {
		total += sums[w]
		for _, b := range kept[w] {
			if ids[b.ID()] {
				t.Fatalf("ID %d held by two live buffers", b.ID())
			}
			ids[b.ID()] = true
		}
	}
	if st := d.Stats(); st.InUse != total {
		t.Fatalf("after churn: InUse = %d, want %d", st.InUse, total)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, b := range kept[w] {
				if err := d.Free(b); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if st := d.Stats(); st.InUse != 0 || st.Peak > Capacity {
		t.Fatalf("after freeing all: Stats() = %+v, want InUse 0", st)
	}
	d.closeClean()
}
