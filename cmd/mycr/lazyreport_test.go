package main

import "testing"

// TestLazyFlags: --lazy asks for a lazy restore, --no-fallback refuses the
// eager fallback, --record-hot-pages marks the pages faulted on; without
// --lazy both are errors.
func TestLazyFlags(t *testing.T) {
	for _, tc := range []struct {
		args                  []string
		lazy, noFallback, hot bool
		bad                   bool
	}{
		{args: nil},
		{args: []string{"--lazy"}, lazy: true},
		{args: []string{"--lazy", "--no-fallback"}, lazy: true, noFallback: true},
		{args: []string{"--no-fallback"}, bad: true},
		{args: []string{"--record-hot-pages", "--lazy"}, lazy: true, hot: true},
		{args: []string{"--record-hot-pages"}, bad: true},
	} {
		c := verbContext(t, restoreCommand, nil, append(tc.args, "id"))
		lz, err := lazyOpts(c)
		switch {
		case tc.bad:
			if err == nil {
				t.Errorf("%v: accepted", tc.args)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case (lz != nil) != tc.lazy || (lz != nil && (lz.NoFallback != tc.noFallback || lz.RecordHot != tc.hot)):
			t.Errorf("%v: got %+v", tc.args, lz)
		}
	}
}
