// Command fileloops fails when the files of one Go package depend on each other in
// a loop (a.go uses a name declared in b.go and b.go one declared in a.go). A
// package whose files form layers can be read bottom-up, one file at a time; a loop
// means two files are one idea split by accident, or a shared piece sits in the
// wrong one. `make lint` runs it: go run ./scripts/fileloops DIR [build flags...].
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fileloops MODULE-DIR [go build flags...]")
		os.Exit(2)
	}
	cfg := &packages.Config{
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:        os.Args[1],
		BuildFlags: os.Args[2:],
	}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fileloops:", err)
		os.Exit(2)
	}
	bad := 0
	for _, p := range pkgs {
		for _, loop := range loops(fileDeps(p)) {
			bad++
			fmt.Printf("%s: files depend on each other in a loop:\n", p.PkgPath)
			for _, e := range loop {
				fmt.Printf("    %s\n", e)
			}
		}
	}
	if bad > 0 {
		fmt.Println("move the shared declarations into a file that uses none of the others")
		os.Exit(1)
	}
}

// deps maps a file to the files whose package-level names it uses, with the names.
type deps map[string]map[string][]string

func fileDeps(p *packages.Package) deps {
	d := deps{}
	if p.TypesInfo == nil {
		return d
	}
	for id, obj := range p.TypesInfo.Uses {
		if obj == nil || obj.Pkg() != p.Types {
			continue
		}
		// package-level names, and methods and fields (declared where their type is)
		if obj.Parent() != p.Types.Scope() && obj.Parent() != nil {
			continue
		}
		from := filepath.Base(p.Fset.Position(id.Pos()).Filename)
		to := filepath.Base(p.Fset.Position(obj.Pos()).Filename)
		if from == to || strings.HasSuffix(from, "_test.go") || strings.HasSuffix(to, "_test.go") {
			continue
		}
		if d[from] == nil {
			d[from] = map[string][]string{}
		}
		if !slices.Contains(d[from][to], id.Name) {
			d[from][to] = append(d[from][to], id.Name)
		}
	}
	return d
}

// loops returns each strongly connected group of files (Tarjan), as its edges.
func loops(d deps) [][]string {
	index, low, on := map[string]int{}, map[string]int{}, map[string]bool{}
	var stack []string
	var out [][]string
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = len(index), len(index)
		stack = append(stack, v)
		on[v] = true
		for w := range d[v] {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		group := map[string]bool{}
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			on[w] = false
			group[w] = true
			if w == v {
				break
			}
		}
		if len(group) < 2 {
			return
		}
		var edges []string
		for a := range group {
			for b, names := range d[a] {
				if group[b] {
					slices.Sort(names)
					edges = append(edges, fmt.Sprintf("%s -> %s (%s)", a, b, strings.Join(names, ", ")))
				}
			}
		}
		slices.Sort(edges)
		out = append(out, edges)
	}
	files := make([]string, 0, len(d))
	for f := range d {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, f := range files {
		if _, seen := index[f]; !seen {
			visit(f)
		}
	}
	return out
}
