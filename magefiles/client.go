//go:build mage

package main

import (
	"context"

	"github.com/tasker-systems/tasker-build/magefiles/internal/services"
)

// TestIntegration runs tasker-client's API tests against a running orchestration (tasker-core's
// test-client-ci): starts the database, orchestration and the Rust worker, runs the client's ignored tests
// with nextest's client profile (JUnit at target/nextest/client/junit.xml) and always stops the services.
func (Client) TestIntegration(ctx context.Context) error {
	return stackStep(ctx, services.Stack.ClientTests)
}
