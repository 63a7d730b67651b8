package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make(latencies, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // reversed: sorted() must sort
	}
	hundred.sorted()
	tests := []struct {
		name string
		l    latencies
		p    float64
		want time.Duration
	}{
		{"none", nil, 50, 0},
		{"one value is every percentile", latencies{7}, 99, 7},
		{"p50 of 1..100 ms", hundred, 50, 50 * time.Millisecond},
		{"p99 of 1..100 ms", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"a tiny p is the minimum", hundred, 0.001, time.Millisecond},
		{"p50 of two is the lower", latencies{1, 2}, 50, 1},
		{"p99 of ten is the maximum", latencies{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
		{"p90 of ten", latencies{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.percentile(tt.p); got != tt.want {
				t.Errorf("got p%v = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}
