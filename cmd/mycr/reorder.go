package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// keepOrder lists the verbs whose arguments after the ID are a command line of
// their own (runc's SkipArgReorder): their flags must come before the ID.
var keepOrder = []string{"exec", "ps"}

// reorderFlags moves the flags a verb was given after its arguments in front of
// them, as runc's CLI library does: `mycr update ID --pids-limit 10` works as in
// runc, where urfave/cli v2 would stop reading flags at the ID. A "--" ends the
// flags; what follows stays in place.
func reorderFlags(app *cli.App, args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if f := findFlag(app.Flags, args[i]); f != nil && takesValue(f) && !strings.Contains(args[i], "=") {
			i++
		}
		i++
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil || slices.Contains(keepOrder, cmd.Name) {
		return args
	}
	var flags, operands []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			operands = append(operands, rest[j:]...)
			break
		}
		f := findFlag(cmd.Flags, a)
		if f == nil {
			operands = append(operands, a)
			continue
		}
		flags = append(flags, a)
		if takesValue(f) && !strings.Contains(a, "=") && j+1 < len(rest) {
			j++
			flags = append(flags, rest[j])
		}
	}
	out := append(slices.Clone(args[:i+1]), flags...)
	return append(out, operands...)
}

// findFlag returns the flag arg names ("-a", "--all", "--memory=1m"), if any.
func findFlag(flags []cli.Flag, arg string) cli.Flag {
	if len(arg) < 2 || arg[0] != '-' {
		return nil
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	v, ok := f.(cli.DocGenerationFlag)
	return ok && v.TakesValue()
}
