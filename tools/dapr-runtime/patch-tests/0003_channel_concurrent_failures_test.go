package http

// package-dir: pkg/channel/http

// Reproduces UPSTREAM-0003: with the app channel's middleware pipeline shared by concurrent
// invocations, an invocation whose app request failed (connection refused) could be reported as a
// success (200, no headers, empty body) because another invocation's handler ran in its place.
// tools/dapr-runtime/test-patches.sh runs it against the pinned module without and with the fix.

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dapr/dapr/pkg/config"
	invokev1 "github.com/dapr/dapr/pkg/messaging/v1"
	httpMiddleware "github.com/dapr/dapr/pkg/middleware/http"
	"github.com/dapr/dapr/pkg/runtime/compstore"
)

// refusingTransport fails requests for /down like a stopped app (connection refused) and sends the
// rest to the app, a little slowly, so that invocations overlap.
type refusingTransport struct{ next http.RoundTripper }

func (t refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/down") {
		time.Sleep(time.Millisecond)
		return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	}
	time.Sleep(2 * time.Millisecond)
	return t.next.RoundTrip(r)
}

func TestConcurrentInvocationsReportTheirOwnFailure(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App", "answered")
		_, _ = io.WriteString(w, "from the app")
	}))
	defer app.Close()
	channel := Channel{
		baseAddress: app.URL,
		client:      &http.Client{Transport: refusingTransport{next: http.DefaultTransport}},
		compStore:   compstore.New(),
		tracingSpec: &config.TracingSpec{SamplingRate: "0"},
		middleware:  httpMiddleware.New().BuildPipelineFromSpec("app", nil),
	}

	var (
		mu           sync.Mutex
		falseSuccess int
		lostSuccess  int
	)
	// Rounds of 400 overlapping invocations, half of them to a refusing app, until one goes wrong
	// (one round usually suffices without the fix; all rounds pass with it).
	for round := 0; round < 25 && falseSuccess+lostSuccess == 0; round++ {
		var wg sync.WaitGroup
		for i := range 400 {
			wg.Add(1)
			go func(down bool) {
				defer wg.Done()
				method := "up"
				if down {
					method = "down"
				}
				req := invokev1.NewInvokeMethodRequest(method).WithHTTPExtension(http.MethodPost, "")
				defer req.Close()
				resp, err := channel.InvokeMethod(t.Context(), req, "")
				if resp != nil {
					defer resp.Close()
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case down && err == nil:
					falseSuccess++ // the app was never reached, and the caller would be told 200
				case !down && err != nil:
					lostSuccess++
				case !down:
					if body, _ := resp.RawDataFull(); string(body) != "from the app" {
						lostSuccess++
					}
				}
			}(i%2 == 0)
		}
		wg.Wait()
	}
	require.Zero(t, falseSuccess, "invocations of a refusing app reported as succeeded")
	assert.Zero(t, lostSuccess, "invocations of an answering app reported as failed or without the app's body")
}
