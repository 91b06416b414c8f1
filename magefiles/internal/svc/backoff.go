package svc

import "time"

// Backoff yields waits that start at Min and double up to Max.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the next wait.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.Min
	}
	d := b.next
	b.next = min(2*b.next, b.Max)
	return d
}
