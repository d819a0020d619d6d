// Command placement is Dapr's actor placement service, built from the pinned upstream module.
package main

import "github.com/dapr/dapr/cmd/placement/app"

func main() {
	app.Run()
}
