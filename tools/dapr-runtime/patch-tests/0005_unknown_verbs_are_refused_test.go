package http

// package-dir: pkg/api/http

// Reproduces UPSTREAM-0005: service invocation sent a request whose method its HTTP extension does not
// know (QUERY, PURGE) on to the app as a POST. The handler must answer 405 with an Allow header and
// never invoke the app; a known verb still goes through. tools/dapr-runtime/test-patches.sh runs it
// against the pinned module without and with the fix.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"

	"github.com/dapr/dapr/pkg/api/universal"
	"github.com/dapr/dapr/pkg/resiliency"
	"github.com/dapr/dapr/pkg/runtime/compstore"
	daprt "github.com/dapr/dapr/pkg/testing"
)

func TestUnknownVerbsAreRefusedNotSentAsPost(t *testing.T) {
	directMessaging := new(daprt.MockDirectMessaging)
	server := newFakeHTTPServer()
	testAPI := &api{
		directMessaging: directMessaging,
		universal: universal.New(universal.Options{
			CompStore:  compstore.New(),
			Resiliency: resiliency.New(nil),
		}),
	}
	server.StartServer(testAPI.constructDirectMessagingEndpoints(), nil)
	defer server.Shutdown()

	for _, verb := range []string{"QUERY", "PURGE", "NONE"} {
		directMessaging.Calls = nil
		reply := getFakeDirectMessageResponse()
		directMessaging.On("Invoke", mock.Anything, mock.Anything, mock.Anything).Return(reply, nil).Maybe()

		resp := server.DoRequest(verb, "v1.0/invoke/fakeAppID/method/v1/customers", []byte(`{}`), nil)

		assert.Equal(t, 405, resp.StatusCode, verb)
		assert.Contains(t, resp.RawHeader.Get("Allow"), "GET", verb)
		directMessaging.AssertNumberOfCalls(t, "Invoke", 0)
		reply.Close()
	}

	directMessaging.Calls = nil
	reply := getFakeDirectMessageResponse()
	defer reply.Close()
	resp := server.DoRequest("PATCH", "v1.0/invoke/fakeAppID/method/v1/customers", []byte(`{}`), nil)
	assert.Equal(t, 200, resp.StatusCode)
	directMessaging.AssertNumberOfCalls(t, "Invoke", 1)
}
