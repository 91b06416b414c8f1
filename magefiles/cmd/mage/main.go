// Command mage is `go tool mage`: mage itself, made safe to run several times
// at once in a checkout (see package magewrap).
package main

import (
	"os"

	"github.com/tasker-systems/tasker-build/magefiles/internal/magewrap"
)

func main() {
	os.Exit(magewrap.Run(os.Args[1:]))
}
