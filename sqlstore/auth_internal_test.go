package sqlstore

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/hutong/hutong"
)

// TestHashPool checks the bound on password checks: with every worker busy
// and the queue full, a sign-in is refused at once, and the refusal says
// when to retry; once a worker is free, the waiting checks run.
func TestHashPool(t *testing.T) {
	const workers, queue = 2, 3
	p := newHashPool(workers, queue)
	ctx := context.Background()
	release := make(chan struct{})
	running := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.do(ctx, func() { running <- struct{}{}; <-release })
		}()
	}
	for range workers {
		<-running
	}
	ran := make(chan struct{}, queue)
	for range queue {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.do(ctx, func() { ran <- struct{}{} }); err != nil {
				t.Errorf("a queued check: %v", err)
			}
		}()
	}
	for p.waiting.Load() < queue { // the queued ones have taken their places
		runtime.Gosched()
	}
	err := p.do(ctx, func() { t.Error("ran past a full queue") })
	if hutong.ErrorCode(err) != hutong.EUNAVAILABLE || hutong.ErrorRetryAfter(err) != 1 {
		t.Errorf("past a full queue: got %v, want unavailable, retry after 1 s", err)
	}
	close(release)
	wg.Wait()
	if len(ran) != queue {
		t.Errorf("%d queued checks ran, want %d", len(ran), queue)
	}
	if n := len(p.slots); n != 0 {
		t.Errorf("%d slots still held", n)
	}
}
