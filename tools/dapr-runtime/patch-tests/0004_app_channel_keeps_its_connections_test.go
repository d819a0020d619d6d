package channels

// package-dir: pkg/runtime/channels

// Reproduces UPSTREAM-0004: the HTTP app channel allows 1,024 connections to the app but kept only 64
// idle, so every request past 64 in flight opened a connection that was closed when it ended, and the
// next burst opened them all again. Two bursts of 200 concurrent requests through the channel's own
// client: the second must find the first one's connections. tools/dapr-runtime/test-patches.sh runs it
// against the pinned module without and with the fix.

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dapr/dapr/pkg/config"
	"github.com/dapr/dapr/pkg/config/protocol"
)

// burstBarrier holds each request in the app until the whole burst has arrived, so that every request
// of a burst is in flight at once, on a connection of its own.
type burstBarrier struct {
	mu      sync.Mutex
	arrived int
	size    int
	full    chan struct{}
}

func (b *burstBarrier) expect(size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrived, b.size, b.full = 0, size, make(chan struct{})
}

func (b *burstBarrier) wait() {
	b.mu.Lock()
	b.arrived++
	full := b.full
	if b.arrived == b.size {
		close(full)
	}
	b.mu.Unlock()
	<-full
}

func TestAppChannelKeepsTheConnectionsItOpens(t *testing.T) {
	const inFlight = 200
	var opened atomic.Int64
	barrier := &burstBarrier{}
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		barrier.wait()
		w.WriteHeader(http.StatusOK)
	}))
	app.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			opened.Add(1)
		}
	}
	app.Start()
	defer app.Close()

	client := appHTTPClient(config.AppConnectionConfig{Protocol: protocol.HTTPProtocol}, &config.Configuration{}, 4<<10)
	burst := func() {
		barrier.expect(inFlight)
		var requests sync.WaitGroup
		for range inFlight {
			requests.Add(1)
			go func() {
				defer requests.Done()
				resp, err := client.Get(app.URL)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}()
		}
		requests.Wait()
	}

	burst()
	first := opened.Load()
	require.Equal(t, int64(inFlight), first, "a burst of %d requests in flight at once uses %d connections", inFlight, inFlight)
	burst()
	assert.Equal(t, first, opened.Load(), "the second burst opened new connections: the channel had closed the first one's")
}
