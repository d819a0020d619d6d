// Command scheduler is Dapr's scheduler service (actor reminders, jobs), built from the pinned upstream module.
package main

import "github.com/dapr/dapr/cmd/scheduler/app"

func main() {
	app.Run()
}
