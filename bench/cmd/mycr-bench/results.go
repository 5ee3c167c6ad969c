package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Series is one measured quantity: samples of one operation by one runtime.
type Series struct {
	Group   string    `json:"group"`
	Op      string    `json:"op"`
	Who     string    `json:"who"`
	SizeMiB int       `json:"size_mib,omitempty"`
	FS      string    `json:"fs,omitempty"`
	Ms      []float64 `json:"ms"`
	Bytes   []int64   `json:"bytes,omitempty"`
	// CriuMs: per run, the time CRIU itself took by its own log (memory
	// section), so that Ms - CriuMs is the runtime's own work around it.
	CriuMs []float64 `json:"criu_ms,omitempty"`
	Errors []string  `json:"errors,omitempty"`
}

type Results struct {
	mu       sync.Mutex
	Started  string             `json:"started"`
	Seconds  float64            `json:"seconds"`
	Machine  map[string]string  `json:"machine"`
	Versions map[string]string  `json:"versions"`
	Settings map[string]string  `json:"settings"`
	Series   []*Series          `json:"series"`
	Phases   []*PhaseSet        `json:"phases,omitempty"`
	Facts    map[string]string  `json:"facts"`
	Skipped  map[string]string  `json:"skipped"`
	Sections map[string]float64 `json:"section_seconds"`
	Merged   []string           `json:"merged,omitempty"` // sections rerun later (merge.go)
}

func newResults() *Results {
	return &Results{Machine: map[string]string{}, Versions: map[string]string{}, Settings: map[string]string{},
		Facts: map[string]string{}, Skipped: map[string]string{}, Sections: map[string]float64{}}
}

// get returns the series, creating it on first use.
func (r *Results) get(group, op, who string, size int, fs string) *Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.lookup(group, op, who, size, fs); s != nil {
		return s
	}
	s := &Series{Group: group, Op: op, Who: who, SizeMiB: size, FS: fs}
	r.Series = append(r.Series, s)
	return s
}

// find returns the series or nil.
func (r *Results) find(group, op, who string, size int, fs string) *Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookup(group, op, who, size, fs)
}

func (r *Results) lookup(group, op, who string, size int, fs string) *Series {
	for _, s := range r.Series {
		if s.Group == group && s.Op == op && s.Who == who && s.SizeMiB == size && s.FS == fs {
			return s
		}
	}
	return nil
}

func (s *Series) add(ms float64)   { s.Ms = append(s.Ms, ms) }
func (s *Series) fail(err error)   { s.Errors = append(s.Errors, err.Error()) }
func (s *Series) addBytes(n int64) { s.Bytes = append(s.Bytes, n) }

// addCriu records CRIU's own time of the run just added (-1 if its log is
// unreadable: JSON has no NaN).
func (s *Series) addCriu(logPath string) {
	v := -1.0
	if t, ok := criuLogPhases(logPath, "")["total"]; ok {
		v = t
	}
	s.CriuMs = append(s.CriuMs, v)
}

// outsideCriu is the median of the runs' wall time minus CRIU's own time.
func (s *Series) outsideCriu() float64 {
	if !s.ok() || len(s.CriuMs) != len(s.Ms) {
		return math.NaN()
	}
	var d []float64
	for i, c := range s.CriuMs {
		if c >= 0 {
			d = append(d, s.Ms[i]-c)
		}
	}
	if len(d) == 0 {
		return math.NaN()
	}
	return median(d)
}
func (s *Series) ok() bool     { return s != nil && len(s.Ms) > 0 }
func (s *Series) med() float64 { return median(s.Ms) }
func (s *Series) medBytes() float64 {
	if s == nil {
		return math.NaN()
	}
	return medianInt(s.Bytes)
}
func (s *Series) spread() (lo, hi float64) { return minMax(s.Ms) }

// PhaseSet is the per-run breakdown of one traced operation.
type PhaseSet struct {
	Op     string               `json:"op"`
	Who    string               `json:"who"`
	Phases map[string][]float64 `json:"phases_ms"`
	Order  []string             `json:"order"`
	Counts map[string][]int     `json:"counts"`
	Tools  map[string]int       `json:"tools_total"` // programs exec'd by CRIU, summed over runs
	Runs   int                  `json:"runs"`
}

func (p *PhaseSet) add(name string, ms float64) {
	if p.Phases == nil {
		p.Phases = map[string][]float64{}
	}
	if _, ok := p.Phases[name]; !ok {
		p.Order = append(p.Order, name)
	}
	p.Phases[name] = append(p.Phases[name], ms)
}

func (p *PhaseSet) count(name string, n int) {
	if p.Counts == nil {
		p.Counts = map[string][]int{}
	}
	p.Counts[name] = append(p.Counts[name], n)
}

func (r *Results) phaseSet(op, who string) *PhaseSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.Phases {
		if p.Op == op && p.Who == who {
			return p
		}
	}
	p := &PhaseSet{Op: op, Who: who, Tools: map[string]int{}}
	r.Phases = append(r.Phases, p)
	return p
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianInt(v []int64) float64 {
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return median(f)
}

func medianInts(v []int) float64 {
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return median(f)
}

func minMax(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// fmtMs prints a duration in ms with sensible precision.
func fmtMs(ms float64) string {
	switch {
	case math.IsNaN(ms):
		return "–"
	case ms >= 1000:
		return fmt.Sprintf("%.0f", ms)
	case ms >= 100:
		return fmt.Sprintf("%.0f", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f", ms)
	default:
		return fmt.Sprintf("%.2f", ms)
	}
}

// cell is "median (min–max)" of a series, or why there is none.
func cell(s *Series) string {
	if s == nil {
		return "–"
	}
	if !s.ok() {
		if len(s.Errors) > 0 {
			return "failed"
		}
		return "–"
	}
	lo, hi := s.spread()
	return fmt.Sprintf("%s (%s–%s)", fmtMs(s.med()), fmtMs(lo), fmtMs(hi))
}

func ratio(a, b *Series) string {
	if !a.ok() || !b.ok() {
		return "–"
	}
	return fmt.Sprintf("%.2f", a.med()/b.med())
}

func fmtBytes(n float64) string {
	switch {
	case math.IsNaN(n):
		return "–"
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
