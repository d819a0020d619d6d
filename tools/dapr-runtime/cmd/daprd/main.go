// Command daprd is Dapr's sidecar runtime, built from the pinned upstream module
// with only the components this service uses (see ../../components).
package main

import (
	"github.com/dapr/dapr/cmd/daprd/app"

	_ "github.com/customer-service/tools/dapr-runtime/components"
)

func main() {
	app.Run()
}
