package keyholetest

import "sync"

// Parallel calls f(i) for every i < n at once, released together so that
// they race, and returns the answers in order: how a test fires twenty
// requests at a check-then-act rule.
func Parallel[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}
