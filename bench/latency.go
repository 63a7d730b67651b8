package main

import (
	"math"
	"slices"
	"time"
)

// latencies are the response times of one timed run, every one of them.
type latencies []time.Duration

// sorted returns the latencies in increasing order, in place.
func (l latencies) sorted() latencies {
	slices.Sort(l)
	return l
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted latencies: the smallest value that at least p % of them do not
// exceed. It is 0 when there are none.
func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(l))))
	return l[min(max(rank, 1), len(l))-1]
}
