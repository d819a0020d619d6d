// Command sentry is Dapr's certificate authority (mTLS identities for every daprd and the control
// plane), built from the pinned upstream module.
package main

import "github.com/dapr/dapr/cmd/sentry/app"

func main() {
	app.Run()
}
