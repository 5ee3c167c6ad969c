package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// merge replaces in r every section that the run in path measured (its
// section_seconds) with that run's series and settings: one section rerun
// later (a fix, a new variant) without rerunning the whole bench. The report
// names the sections and when they were measured.
func (r *Results) merge(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	o := newResults()
	if err := json.Unmarshal(data, o); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	secs := make([]string, 0, len(o.Sections))
	for sec := range o.Sections {
		secs = append(secs, sec)
	}
	sort.Strings(secs) // the report lists them in a stable order
	for _, sec := range secs {
		took := o.Sections[sec]
		if sec == "cr" {
			return fmt.Errorf("%s: section cr keeps phases outside its series: rerun the whole bench", path)
		}
		group := sec // a section's series carry its name as their group
		kept := r.Series[:0]
		for _, s := range r.Series {
			if s.Group != group {
				kept = append(kept, s)
			}
		}
		r.Series = kept
		for _, s := range o.Series {
			if s.Group == group {
				r.Series = append(r.Series, s)
			}
		}
		r.Sections[sec] = took
		r.Merged = slices.DeleteFunc(r.Merged, func(m string) bool { return strings.HasPrefix(m, sec+" (") })
		r.Merged = append(r.Merged, fmt.Sprintf("%s (%s, %.1f min)", sec, strings.Replace(o.Started, "T", " ", 1), took/60))
	}
	for k, v := range o.Settings {
		r.Settings[k] = v
	}
	return nil
}
